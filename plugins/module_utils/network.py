# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a deployment's VPC CIDR is cut into subnets. Pure functions, shared by the network role (through the
subnet_plan filter) and by inventory_check (which refuses a plan that cannot hold a cluster)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# Private subnets hold the nodes and, with the VPC CNI, every pod's IP: they get the big blocks.
MIN_PRIVATE_ADDRESSES = 1024
MIN_PUBLIC_ADDRESSES = 16
MAX_AZ_COUNT = 6


class SubnetPlanError(ValueError):
    pass


def _blocks_for(az_count):
    """Smallest power of two with room for one private block per AZ plus one block for all public subnets."""
    blocks = 1
    while blocks < az_count + 1:
        blocks *= 2
    return blocks


def subnet_plan(vpc_cidr, az_count):
    """Split vpc_cidr into one private and one public subnet per AZ index.

    The VPC is cut into N equal blocks (N = next power of two >= az_count + 1); AZ i gets private block i,
    and the last block is cut into N public subnets. A /16 over 2 AZs gives two /18 private and /20 public subnets.
    """
    try:
        network = ipaddress.ip_network(vpc_cidr, strict=True)
    except ValueError as exc:
        raise SubnetPlanError("%s is not a valid network CIDR (%s)" % (vpc_cidr, exc))
    if network.version != 4:
        raise SubnetPlanError("%s is not an IPv4 CIDR" % vpc_cidr)
    if not 1 <= az_count <= MAX_AZ_COUNT:
        raise SubnetPlanError("az_count must be between 1 and %d" % MAX_AZ_COUNT)
    blocks = _blocks_for(az_count)
    bits = blocks.bit_length() - 1
    if network.prefixlen + bits * 2 > 28:
        raise SubnetPlanError("%s is too small to split over %d AZs" % (vpc_cidr, az_count))
    quarters = list(network.subnets(prefixlen_diff=bits))
    publics = list(quarters[-1].subnets(prefixlen_diff=bits))
    plan = []
    for index in range(az_count):
        plan.append({"index": index, "private_cidr": str(quarters[index]), "public_cidr": str(publics[index])})
    private_size = quarters[0].num_addresses
    public_size = publics[0].num_addresses
    if private_size < MIN_PRIVATE_ADDRESSES:
        raise SubnetPlanError(
            "%s over %d AZs gives private subnets of %d addresses; pods need at least %d per AZ (use a /%d or larger)"
            % (vpc_cidr, az_count, private_size, MIN_PRIVATE_ADDRESSES, 32 - (MIN_PRIVATE_ADDRESSES * blocks).bit_length() + 1)
        )
    if public_size < MIN_PUBLIC_ADDRESSES:
        raise SubnetPlanError("%s over %d AZs leaves public subnets of %d addresses" % (vpc_cidr, az_count, public_size))
    return plan


def overlaps(cidr_a, cidr_b):
    return ipaddress.ip_network(cidr_a, strict=False).overlaps(ipaddress.ip_network(cidr_b, strict=False))


def is_private_range(cidr):
    """RFC 1918 or the carrier-grade NAT range EKS also accepts for VPCs."""
    net = ipaddress.ip_network(cidr, strict=False)
    allowed = [ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]
    return any(net.subnet_of(a) for a in allowed)


def private_route_tables(deployment, plan, nat_mode, private_subnet_ids, nat_gateway_ids):
    """The private route tables: one shared (single/none) or one per AZ (per_az), each with its NAT if any."""
    nat_gateway_ids = [n for n in (nat_gateway_ids or []) if n]
    if nat_mode == "per_az":
        return [
            {"name": "%s-private-%s" % (deployment, entry["az"]), "subnets": [private_subnet_ids[entry["index"]]],
             "nat": nat_gateway_ids[entry["index"]] if entry["index"] < len(nat_gateway_ids) else None}
            for entry in plan
        ]
    nat = nat_gateway_ids[0] if nat_mode == "single" and nat_gateway_ids else None
    return [{"name": "%s-private" % deployment, "subnets": list(private_subnet_ids), "nat": nat}]


def subnet_specs(deployment, cluster_name, plan, base_tags):
    """Desired subnets (public then private, in plan order) with their full tag sets."""
    specs = []
    cluster_tag = "kubernetes.io/cluster/%s" % cluster_name
    for tier in ("public", "private"):
        for entry in plan:
            tags = dict(base_tags)
            tags.update({"Name": "%s-%s-%s" % (deployment, tier, entry["az"]), "hubops:subnet-tier": tier, cluster_tag: "shared"})
            if tier == "public":
                tags["kubernetes.io/role/elb"] = "1"
            else:
                tags["kubernetes.io/role/internal-elb"] = "1"
                tags["karpenter.sh/discovery"] = cluster_name
            specs.append({"tier": tier, "index": entry["index"], "az": entry["az"], "cidr": entry["%s_cidr" % tier], "tags": tags})
    return specs


def subnets_out_of_sync(specs, existing):
    """The specs whose subnet is missing, or differs in AZ or tags (ec2_vpc_subnet purges tags, so compare exactly).

    `existing` is ec2_vpc_subnet_info's `subnets`. Lets a no-op run read all subnets once instead of calling
    ec2_vpc_subnet (several describe calls) per subnet.
    """
    by_cidr = dict((s.get("cidr_block"), s) for s in existing or [])
    out = []
    for spec in specs:
        current = by_cidr.get(spec["cidr"])
        if current is None or current.get("availability_zone") != spec["az"] or (current.get("tags") or {}) != spec["tags"]:
            out.append(spec)
    return out
