# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
import ipaddress

import pytest

from ansible_collections.hubops.eks.plugins.module_utils import network


@pytest.mark.parametrize("cidr,azs,private_prefix,public_prefix", [
    ("10.40.0.0/16", 2, 18, 20),
    ("10.40.0.0/16", 3, 18, 20),
    ("10.40.0.0/16", 4, 19, 22),
    ("10.40.0.0/16", 6, 19, 22),
    ("192.168.0.0/20", 2, 22, 24),
])
def test_subnet_plan_sizes_and_no_overlap(cidr, azs, private_prefix, public_prefix):
    plan = network.subnet_plan(cidr, azs)
    assert [p["index"] for p in plan] == list(range(azs))
    nets = [ipaddress.ip_network(p[k]) for p in plan for k in ("private_cidr", "public_cidr")]
    assert {n.prefixlen for n in nets} == {private_prefix, public_prefix}
    vpc = ipaddress.ip_network(cidr)
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


@pytest.mark.parametrize("cidr,azs,needle", [
    ("10.40.0.0/24", 2, "use a /20 or larger"),
    ("10.40.0.1/16", 2, "not a valid network CIDR"),
    ("fd00::/56", 2, "not an IPv4 CIDR"),
    ("10.40.0.0/16", 7, "between 1 and 6"),
])
def test_subnet_plan_refuses(cidr, azs, needle):
    with pytest.raises(network.SubnetPlanError, match=needle):
        network.subnet_plan(cidr, azs)


PLAN = [{"index": 0, "az": "us-east-1a"}, {"index": 1, "az": "us-east-1b"}]


def test_private_route_tables_single_shares_one_nat():
    tables = network.private_route_tables("d", PLAN, "single", ["s-0", "s-1"], ["nat-0"])
    assert tables == [{"name": "d-private", "subnets": ["s-0", "s-1"], "nat": "nat-0"}]


def test_private_route_tables_per_az_pairs_subnet_and_nat():
    tables = network.private_route_tables("d", PLAN, "per_az", ["s-0", "s-1"], ["nat-0", "nat-1"])
    assert tables == [
        {"name": "d-private-us-east-1a", "subnets": ["s-0"], "nat": "nat-0"},
        {"name": "d-private-us-east-1b", "subnets": ["s-1"], "nat": "nat-1"},
    ]


def test_private_route_tables_none_has_no_default_route():
    assert network.private_route_tables("d", PLAN, "none", ["s-0", "s-1"], [])[0]["nat"] is None


def test_private_route_tables_check_mode_without_nat_ids():
    tables = network.private_route_tables("d", PLAN, "per_az", ["s-0", "s-1"], ["", ""])
    assert [t["nat"] for t in tables] == [None, None]


def _specs():
    plan = network.subnet_plan("10.40.0.0/16", 2)
    for entry, az in zip(plan, ("us-east-1a", "us-east-1b")):
        entry["az"] = az
    return network.subnet_specs("d", "c", plan, {"hubops:deployment": "d"})


def test_subnet_specs_tags():
    specs = _specs()
    public = [s for s in specs if s["tier"] == "public"]
    private = [s for s in specs if s["tier"] == "private"]
    assert len(public) == len(private) == 2
    assert all(s["tags"]["kubernetes.io/role/elb"] == "1" and "karpenter.sh/discovery" not in s["tags"] for s in public)
    assert all(s["tags"]["karpenter.sh/discovery"] == "c" and s["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(s["tags"]["kubernetes.io/cluster/c"] == "shared" and s["tags"]["hubops:deployment"] == "d" for s in specs)
    assert private[0]["tags"]["Name"] == "d-private-us-east-1a"


def test_subnets_out_of_sync_detects_missing_moved_and_retagged():
    specs = _specs()
    existing = [{"cidr_block": s["cidr"], "availability_zone": s["az"], "tags": dict(s["tags"]), "id": "x"} for s in specs]
    assert network.subnets_out_of_sync(specs, existing) == []
    existing[0]["tags"]["extra"] = "1"           # purged tag set: extra tags are drift
    existing[1]["availability_zone"] = "us-east-1c"
    del existing[2]
    drifted = network.subnets_out_of_sync(specs, existing)
    assert [s["cidr"] for s in drifted] == [specs[0]["cidr"], specs[1]["cidr"], specs[2]["cidr"]]
