# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The cost estimate printed at the end of site.yml (module_utils/costs.py cost_estimate, prices.py): checked against a
hand calculation for the embedded default inventory, and for the cases that change what is counted."""

import copy
import glob
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.hubops.eks.plugins.filter.hubops import FilterModule
from ansible_collections.hubops.eks.plugins.module_utils import prices
from ansible_collections.hubops.eks.plugins.module_utils.costs import CostEstimateError, cost_estimate, pool_candidates

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# inventories/<name> and inventories/examples/<name>, as names relative to inventories/
INVENTORIES = sorted(os.path.relpath(os.path.dirname(os.path.dirname(p)), os.path.join(REPO, "inventories"))
                     for p in glob.glob(os.path.join(REPO, "inventories", "*", "group_vars", "all"))
                     + glob.glob(os.path.join(REPO, "inventories", "examples", "*", "group_vars", "all")))


def load_inventory(name):
    """The hubops_* variables of inventories/<name>/group_vars/all/*.yml, as Ansible merges them (later files win)."""
    inv = {}
    for path in sorted(glob.glob(os.path.join(REPO, "inventories", name, "group_vars", "all", "*.yml"))):
        with open(path) as handle:
            inv.update(yaml.safe_load(handle) or {})
    return inv


def settings_from(inv):
    """The settings site.yml builds for the filter, with the same defaults (roles' defaults/main.yml)."""
    karpenter = inv.get("hubops_karpenter") or {}
    core = inv.get("hubops_core_nodes") or {}
    hub = inv.get("hubops_hub") or {}
    return {
        "deployment": inv["hubops_deployment"],
        "region": inv["hubops_region"],
        "nat_mode": inv.get("hubops_nat_mode", "single"),
        "az_count": inv.get("hubops_az_count", 2),
        "vpc_endpoints": inv.get("hubops_vpc_endpoints", ["s3"]),
        "byo_subnets": bool(inv.get("hubops_byo_subnet_ids")),
        "core_nodes": {"instance_type": core.get("instance_type", "t3a.large"), "count": core.get("count", 2),
                       "volume_size_gb": core.get("volume_size_gb", 50)},
        "hub": {"domain": hub.get("domain", ""), "create_zone": hub.get("create_zone", False), "ingress": hub.get("ingress", {}),
                "db": hub.get("db", {}), "placeholders": hub.get("placeholders", {})},
        "groups": inv.get("hubops_groups", []),
        "nodepools": inv.get("hubops_nodepools", []),
        "pool_defaults": {"ami_alias": karpenter["ami_alias"]} if "ami_alias" in karpenter else {},
        "home_storage": inv.get("hubops_home_storage", "ebs"),
        "storage": inv.get("hubops_storage", {}),
    }


LOCAL = settings_from(load_inventory("local"))

# ---------------------------------------------------------------------------------------------------------------------
# Hand calculation for inventories/local (us-east-1, prices of prices.PRICES_DATE), line by line, from the inventory:
#   hubops_core_nodes {t3a.large, count 2} (volume default 50 GB), hubops_nat_mode single, hubops_az_count 2,
#   hubops_vpc_endpoints [s3], hubops_hub.domain set with ingress nlb (internet-facing), create_zone true,
#   db size default 1Gi; neuro and astro have shared directories, so there is an EFS.
HOURS = 730
HAND = {
    "control_plane": 0.10 * HOURS,                            # EKS standard support, 0.10/h             =  73.00
    "core_nodes": 2 * 0.0752 * HOURS + 2 * 50 * 0.08,         # 2 x t3a.large + 2 x 50 GB gp3 roots      = 117.79
    "nat": 1 * 0.045 * HOURS,                                 # one NAT gateway (single)                 =  32.85
    "load_balancer": 0.0225 * HOURS + 1 * 0.006 * HOURS,      # NLB hour + one NLCU-hour per hour        =  20.81
    "public_ipv4": (1 + 2) * 0.005 * HOURS,                   # NAT EIP + one NLB address per AZ         =  10.95
    "vpc_endpoints": 0.0,                                     # s3 is a free gateway endpoint
    "efs_baseline": 0.0,                                      # nothing stored while idle
    "hub_db_volume": 1 * 0.08,                                # 1 GiB gp3                                =   0.08
    "kms": 1.00,                                              # one customer managed key                 =   1.00
    "route53_zone": 0.50,                                     # the hosted zone hubops creates           =   0.50
}
HAND_TOTAL = sum(HAND.values())                               # = 256.98 USD a month


def test_local_idle_total_is_within_10_percent_of_the_hand_calculation():
    est = cost_estimate(LOCAL)
    assert est["prices_date"] == prices.PRICES_DATE and est["currency"] == "USD"
    assert est["region"] == est["prices_region"] == "us-east-1"
    assert abs(est["idle_monthly_total"] - HAND_TOTAL) / HAND_TOTAL < 0.10
    # it is in fact the same calculation, to the cent
    assert est["idle_monthly_total"] == pytest.approx(HAND_TOTAL, abs=0.05)


def test_local_line_items_match_the_hand_calculation():
    est = cost_estimate(LOCAL)
    assert set(est["idle_monthly"]) == set(HAND)
    for name, usd in HAND.items():
        assert est["idle_monthly"][name] == pytest.approx(usd, abs=0.01), name
    assert est["idle_monthly_total"] == pytest.approx(sum(est["idle_monthly"].values()), abs=0.001)
    assert set(est["idle_monthly_detail"]) == set(est["idle_monthly"])
    assert "empty file system" in est["idle_monthly_detail"]["efs_baseline"]


def test_local_profiles_fit_their_instance_and_spot_is_cheaper():
    est = cost_estimate(LOCAL)
    by_name = dict(("%s/%s" % (p["group"], p["profile"]), p) for p in est["profiles"])
    assert sorted(by_name) == ["astro/standard", "bio/standard", "neuro/gpu", "neuro/large", "neuro/small"]
    priced = [p for p in est["profiles"] if p["instance_type"]]
    assert priced
    for entry in priced:
        spec = prices.instance_spec(entry["instance_type"])
        cpu = float(entry["cpu"])
        memory = float(entry["memory"].rstrip("Gi"))
        assert cpu <= spec["vcpu"] * 0.9 and memory <= spec["memory_gib"] * 0.9 and entry["gpu"] <= spec["gpus"]
        assert entry["on_demand_hourly"] == prices.on_demand_price("us-east-1", entry["instance_type"])
        if entry["spot_hourly"] is not None:
            assert entry["spot_hourly"] < entry["on_demand_hourly"]
            if entry["user_hour_on_demand"] is not None:   # a spot-only pool (astro) has no on-demand user price
                assert entry["user_hour_spot"] < entry["user_hour_on_demand"]
    small = by_name["neuro/small"]
    # pool neuro: categories m, r (generation 5+), sizes xlarge, 2xlarge; 2 CPU + 8Gi needs more than a large
    assert small["instance_type"] == "m5a.xlarge" and small["on_demand_hourly"] == 0.172
    assert small["spot_hourly"] == pytest.approx(0.172 * 0.35, abs=1e-4)
    # bin-packed: (instance + 100 GB root) x max(2 / (4 x 0.9), 8 / (16 x 0.9)) = 0.5556 of the node
    assert small["user_hour_on_demand"] == pytest.approx((0.172 + 100 * 0.08 / 730) * (2 / 3.6), abs=1e-4)
    # the gpu pool is on-demand only: no spot price; a GPU server takes the node's one GPU
    for name, itype in (("neuro/gpu", "g4dn.2xlarge"), ("bio/standard", "g4dn.xlarge")):
        entry = by_name[name]
        assert entry["instance_type"] == itype and entry["capacity"] == ["on-demand"]
        assert entry["spot_hourly"] is None and entry["user_hour_spot"] is None and entry["share"] == 1.0
    # 4 CPU + 16Gi do not fit the 4 vCPU / 16 GiB g4dn.xlarge once the node keeps its share
    assert by_name["neuro/gpu"]["on_demand_hourly"] == 0.752


def test_every_local_profile_can_start():
    est = cost_estimate(LOCAL)
    assert [p["group"] + "/" + p["profile"] for p in est["profiles"] if not p["instance_type"]] == []
    assert not any("cannot start" in line for line in est["report"])


def test_profiles_that_no_instance_of_their_pool_can_hold_are_reported():
    settings = copy.deepcopy(LOCAL)   # the local inventory as it was before the estimate found these two
    settings["groups"][0]["nodepool"]["sizes"] = ["xlarge", "2xlarge"]
    settings["groups"][1]["nodepool"]["instance_types"] = ["c7i.xlarge", "c6i.xlarge"]
    est = cost_estimate(settings)
    by_name = dict(("%s/%s" % (p["group"], p["profile"]), p) for p in est["profiles"])
    # 8 CPU on nodes of at most 8 vCPUs (sizes xlarge, 2xlarge); 8Gi on c6i/c7i.xlarge, which have 8 GiB in all
    for name, largest in (("neuro/large", "2xlarge"), ("astro/standard", ".xlarge")):
        entry = by_name[name]
        assert entry["instance_type"] is None and entry["on_demand_hourly"] is None
        assert "cannot start" in entry["note"] and largest in entry["note"]
    assert any("neuro/large" in line and "cannot start" in line for line in est["report"])


def test_spot_only_pool_has_no_on_demand_user_price():
    settings = copy.deepcopy(LOCAL)
    settings["groups"][1]["nodepool"]["instance_types"] = ["c7i.2xlarge", "c6i.2xlarge"]
    est = cost_estimate(settings)
    astro = [p for p in est["profiles"] if p["group"] == "astro"][0]
    assert astro["instance_type"] == "c6i.2xlarge" and astro["capacity"] == ["spot"]
    assert astro["user_hour_on_demand"] is None and astro["spot_hourly"] == pytest.approx(0.34 * 0.35, abs=1e-4)
    assert astro["users_per_node"] == 1     # 8Gi of the 16 GiB node's 14.4 usable
    assert any("astro/standard" in line and "spot only" in line for line in est["report"])


@pytest.mark.parametrize("mode, az_count, nats", [("none", 2, 0), ("single", 3, 1), ("per_az", 3, 3), ("per_az", 2, 2)])
def test_nat_modes(mode, az_count, nats):
    est = cost_estimate(dict(LOCAL, nat_mode=mode, az_count=az_count))
    assert est["idle_monthly"]["nat"] == pytest.approx(nats * 0.045 * HOURS, abs=0.01)
    # one address per NAT gateway, one per AZ for the internet-facing NLB
    assert est["idle_monthly"]["public_ipv4"] == pytest.approx((nats + az_count) * 0.005 * HOURS, abs=0.01)


def test_own_subnets_make_no_nat_and_no_endpoints():
    est = cost_estimate(dict(LOCAL, byo_subnets=True, vpc_endpoints=["s3", "ecr.api"]))
    assert est["idle_monthly"]["nat"] == 0 and est["idle_monthly"]["vpc_endpoints"] == 0
    assert "hubops_byo_subnet_ids" in est["idle_monthly_detail"]["nat"]


def test_interface_endpoints_are_billed_per_az():
    est = cost_estimate(dict(LOCAL, nat_mode="none", vpc_endpoints=["s3", "ecr.api", "ecr.dkr", "sts"]))
    assert est["idle_monthly"]["vpc_endpoints"] == pytest.approx(3 * 2 * 0.01 * HOURS, abs=0.01)
    assert est["idle_monthly"]["nat"] == 0


def test_load_balancer_by_ingress_mode_and_scheme():
    alb = cost_estimate(dict(LOCAL, hub=dict(LOCAL["hub"], ingress={"mode": "alb"})))
    assert alb["idle_monthly"]["load_balancer"] == pytest.approx((0.0225 + 0.008) * HOURS, abs=0.01)
    internal = cost_estimate(dict(LOCAL, hub=dict(LOCAL["hub"], ingress={"mode": "nlb", "scheme": "internal"})))
    assert internal["idle_monthly"]["public_ipv4"] == pytest.approx(1 * 0.005 * HOURS, abs=0.01)
    none = cost_estimate(dict(LOCAL, hub={"domain": ""}))
    assert none["idle_monthly"]["load_balancer"] == 0 and "route53_zone" not in none["idle_monthly"]
    assert none["idle_monthly"]["public_ipv4"] == pytest.approx(0.005 * HOURS, abs=0.01)


def test_defaults_are_the_roles_defaults():
    est = cost_estimate({"deployment": "x", "region": "us-east-2"})
    # 2 x t3a.large with 50 GB roots (roles/eks_cluster), one NAT gateway (roles/network), no hub domain, no EFS
    assert est["idle_monthly"]["core_nodes"] == pytest.approx(2 * 0.0752 * HOURS + 2 * 50 * 0.08, abs=0.01)
    assert est["idle_monthly"]["nat"] == pytest.approx(0.045 * HOURS, abs=0.01)
    assert est["idle_monthly"]["load_balancer"] == 0
    assert est["idle_monthly"]["hub_db_volume"] == pytest.approx(0.08)
    assert est["profiles"] == [] and "no groups" in " ".join(est["report"])
    assert "no EFS" in est["idle_monthly_detail"]["efs_baseline"]


def test_region_outside_the_table_falls_back_to_us_east_1_with_a_caveat():
    est = cost_estimate(dict(LOCAL, region="ap-south-1"))
    assert est["region"] == "ap-south-1" and est["prices_region"] == "us-east-1"
    assert est["idle_monthly_total"] == cost_estimate(LOCAL)["idle_monthly_total"]
    assert any("ap-south-1 is not in the price table" in a for a in est["assumptions"])
    assert "us-east-1 prices" in est["report"][0]


def test_a_region_in_the_table_uses_its_own_prices():
    est = cost_estimate(dict(LOCAL, region="eu-central-1"))
    assert est["prices_region"] == "eu-central-1"
    assert est["idle_monthly"]["nat"] == pytest.approx(0.052 * HOURS, abs=0.01)
    assert est["idle_monthly"]["core_nodes"] == pytest.approx(2 * 0.0864 * HOURS + 2 * 50 * 0.0952, abs=0.01)
    small = [p for p in est["profiles"] if p["profile"] == "small"][0]
    assert small["instance_type"] == "m5a.xlarge" and small["on_demand_hourly"] == pytest.approx(0.208)


def test_unknown_core_instance_type_is_reported_not_fatal():
    est = cost_estimate(dict(LOCAL, core_nodes={"instance_type": "x9z.huge", "count": 3}))
    assert {"instance_type": "x9z.huge", "where": "hubops_core_nodes.instance_type"} in est["unpriced"]
    # only the three 50 GB roots are counted
    assert est["idle_monthly"]["core_nodes"] == pytest.approx(3 * 50 * 0.08, abs=0.01)
    assert "NOT counted" in est["idle_monthly_detail"]["core_nodes"]
    assert any("Not priced: x9z.huge" in line for line in est["report"])


def test_unknown_pool_instance_types_are_reported_and_the_priced_ones_used():
    settings = copy.deepcopy(LOCAL)
    settings["groups"][1]["nodepool"]["instance_types"] = ["x9z.huge", "c6i.2xlarge"]
    est = cost_estimate(settings)
    astro = [p for p in est["profiles"] if p["group"] == "astro"][0]
    assert astro["instance_type"] == "c6i.2xlarge" and astro["unpriced"] == ["x9z.huge"]
    assert {"instance_type": "x9z.huge", "where": "node pool astro"} in est["unpriced"]
    settings["groups"][1]["nodepool"]["instance_types"] = ["x9z.huge"]
    astro = [p for p in cost_estimate(settings)["profiles"] if p["group"] == "astro"][0]
    assert astro["instance_type"] is None and "cannot be priced" in astro["note"]
    settings["groups"][1]["nodepool"] = {"families": ["m9q"], "capacity": ["spot"]}
    astro = [p for p in cost_estimate(settings)["profiles"] if p["group"] == "astro"][0]
    assert astro["instance_type"] is None and astro["unpriced"] == ["m9q.*"]


def _named_instance_types(inv):
    named = []
    core = (inv.get("hubops_core_nodes") or {}).get("instance_type")
    if core:
        named.append(core)
    for pool in inv.get("hubops_nodepools") or []:
        named.extend(pool.get("instance_types") or [])
    for group in inv.get("hubops_groups") or []:
        named.extend((group.get("nodepool") or {}).get("instance_types") or [])
    return named


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_instance_type_the_inventories_name_is_priced_or_reported(inventory):
    inv = load_inventory(inventory)
    est = cost_estimate(settings_from(inv))
    reported = set(item["instance_type"] for item in est["unpriced"])
    for name in _named_instance_types(inv):
        assert prices.on_demand_price(inv["hubops_region"], name) is not None or name in reported, (inventory, name)


def test_price_overrides_replace_table_prices():
    est = cost_estimate(dict(LOCAL, price_overrides={"instances": {"t3a.large": 0.07}, "services": {"nat_gateway_hour": 0.05},
                                                     "source": "AWS Pricing API"}))
    assert est["idle_monthly"]["core_nodes"] == pytest.approx(2 * 0.07 * HOURS + 8, abs=0.01)
    assert est["idle_monthly"]["nat"] == pytest.approx(0.05 * HOURS, abs=0.01)
    assert est["prices_source"] == "AWS Pricing API"


def test_per_user_home_volumes():
    est = cost_estimate(LOCAL)
    homes = dict((item["what"], item["monthly"]) for item in est["per_user_monthly"])
    assert homes == {"home volume astro 20Gi": 1.6, "home volume bio 100Gi": 8.0, "home volume neuro 50Gi": 4.0,
                     "home volume (no group quota) 10Gi": 0.8}
    efs = cost_estimate(dict(LOCAL, home_storage="efs"))
    assert efs["per_user_monthly"][0]["what"] == "home on EFS"


def test_bad_pools_are_a_problem_not_a_crash():
    settings = copy.deepcopy(LOCAL)
    settings["groups"][2]["nodepool"] = {"shared": "nowhere"}
    est = cost_estimate(settings)
    assert est["problems"] and "nowhere" in est["problems"][0]
    assert all(p["instance_type"] is None for p in est["profiles"])
    assert est["idle_monthly_total"] == pytest.approx(HAND_TOTAL, abs=0.05)


def test_placeholders_are_called_out():
    est = cost_estimate(dict(LOCAL, hub=dict(LOCAL["hub"], placeholders={"replicas": 3})))
    assert any("placeholders" in a for a in est["assumptions"])


def test_pool_candidates_follow_the_nodepool_requirements():
    # default pool: categories c, m, r of generation 5+, amd64
    specs, unpriced = pool_candidates({"name": "p", "capacity": ["spot"]}, "us-east-1")
    assert unpriced == [] and specs
    assert set(s["category"] for s in specs) == {"c", "m", "r"}
    assert all(s["generation"] >= 5 and s["arch"] == "amd64" for s in specs)
    # a GPU pool without families: g and p with that GPU
    specs, _unpriced = pool_candidates({"name": "g", "gpu": {"count": 1, "name": "a10g"}}, "us-east-1")
    assert specs and all(s["family"] == "g5" and s["gpus"] == 1 for s in specs)
    # arm64 only: Graviton families
    specs, _unpriced = pool_candidates({"name": "a", "arch": ["arm64"], "families": ["m"]}, "us-east-1")
    assert specs and all(s["family"] == "m7g" for s in specs)


@pytest.mark.parametrize("name, price", [("m5.24xlarge", 4.608), ("c5.9xlarge", 1.53), ("t3a.micro", 0.0094),
                                         ("m7a.medium", 0.05796), ("r7i.48xlarge", 12.7008), ("c6a.48xlarge", 7.344),
                                         ("g5.12xlarge", 5.672), ("p3.2xlarge", 3.06)])
def test_linear_sizes_give_the_listed_us_east_1_prices(name, price):
    assert prices.on_demand_price("us-east-1", name) == pytest.approx(price, abs=1e-4)


@pytest.mark.parametrize("name, vcpu, memory, gpus", [("m5.xlarge", 4, 16, 0), ("r5.2xlarge", 8, 64, 0), ("c6i.xlarge", 4, 8, 0),
                                                      ("t3a.large", 2, 8, 0), ("t3.small", 2, 2, 0), ("g4dn.xlarge", 4, 16, 1),
                                                      ("p3.8xlarge", 32, 244, 4), ("m7a.medium", 1, 4, 0)])
def test_instance_specs(name, vcpu, memory, gpus):
    spec = prices.instance_spec(name)
    assert (spec["vcpu"], spec["memory_gib"], spec["gpus"]) == (vcpu, memory, gpus)


def test_unknown_types_have_no_price_or_spec():
    assert prices.instance_spec("x9z.huge") is None and prices.on_demand_price("us-east-1", "x9z.huge") is None
    assert prices.on_demand_price("us-east-1", "m5.3xlarge") is None
    # left out of a region where we were not sure of the price
    assert prices.on_demand_price("eu-west-1", "m7i.large") is None


def test_every_region_prices_the_default_core_node_and_a_gpu():
    for region in prices.REGIONS:
        assert prices.on_demand_price(region, "t3a.large"), region
        assert prices.on_demand_price(region, "g4dn.xlarge"), region
        assert set(prices.REGIONS[region]["services"]) == set(prices.REGIONS["us-east-1"]["services"]), region


def test_spot_factors():
    assert prices.spot_factor("m5.xlarge") == 0.35 and prices.spot_factor("g5.xlarge") == 0.40
    assert all(0 < f < 1 for f in prices.SPOT_FACTORS.values())


def test_missing_region_is_an_error_and_the_filter_says_so():
    with pytest.raises(CostEstimateError, match="hubops_region"):
        cost_estimate({"deployment": "x"})
    flt = FilterModule().filters()["cost_estimate"]
    with pytest.raises(AnsibleFilterError, match="hubops_region"):
        flt({"deployment": "x"})
    assert flt(LOCAL)["idle_monthly_total"] == cost_estimate(LOCAL)["idle_monthly_total"]


def test_report_lines():
    est = cost_estimate(LOCAL)
    report = est["report"]
    assert report[0].startswith("Cost estimate, local in us-east-1: 256.9") and "2026" in report[0]
    for name in est["idle_monthly"]:
        assert any(line.strip().startswith(name) for line in report), name
    for profile in ("neuro/small", "neuro/large", "neuro/gpu", "astro/standard", "bio/standard"):
        assert any(profile in line for line in report), profile
    assert all(len(line) < 400 for line in report)
