# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The price table the cost estimate reads (module_utils/costs.py), kept by hand.

Source: AWS public on-demand list prices, Linux, shared tenancy, USD, no Savings Plans, Reserved Instances or free
tier. The us-east-1 instance prices match the table Karpenter generates from the AWS Pricing API
(karpenter-provider-aws, pkg/providers/pricing/zz_generated.pricing_aws.go, generated 2026-01-19); the service prices
and the other regions come from the AWS pricing pages. A type we were not sure of in a region is left out rather than
guessed: the estimate reports it as unpriced.

To update: change the numbers below, set PRICES_DATE to the month you checked them, and run
tests/unit/plugins/module_utils/test_cost_estimate.py (its hand calculation uses the us-east-1 numbers, so a change
there has to be made in the test too). docs/costs.md says the same for admins.

Instance specs (vCPU, memory, GPUs) are the same in every region; prices are per region. Most families are priced
linearly in size (an xlarge costs twice a large), so they are kept as the price of their `large` size; GPU types are
not, so they are listed one by one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PRICES_DATE = "2026-11"
PRICES_SOURCE = ("AWS public on-demand list prices (Linux, shared tenancy, USD); us-east-1 instance prices as in "
                 "Karpenter's generated table from the AWS Pricing API")
CURRENCY = "USD"
# AWS bills monthly resources as 730 hours (8760 / 12).
HOURS_PER_MONTH = 730
FALLBACK_REGION = "us-east-1"

# Typical spot price as a fraction of on-demand, by instance category. The Spot Instance Advisor shows 60-70 % savings
# for current c/m/r/t types in the big regions most of the time, GPU types usually less. Spot prices move every hour
# and differ per AZ; check `aws ec2 describe-spot-price-history` for a type before you plan on it.
SPOT_FACTORS = {"c": 0.35, "m": 0.35, "r": 0.35, "t": 0.35, "g": 0.40, "p": 0.40}
DEFAULT_SPOT_FACTOR = 0.40

# Size -> multiple of the `large` size (price and, for non-burstable families, vCPUs: a large has 2).
SIZE_UNITS = {"nano": 0.0625, "micro": 0.125, "small": 0.25, "medium": 0.5, "large": 1, "xlarge": 2, "2xlarge": 4,
              "4xlarge": 8, "8xlarge": 16, "9xlarge": 18, "12xlarge": 24, "16xlarge": 32, "18xlarge": 36, "24xlarge": 48,
              "32xlarge": 64, "48xlarge": 96}
_SIZES_5 = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
_SIZES_C5 = ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge")
_SIZES_6I = _SIZES_5 + ("32xlarge",)
_SIZES_6A = _SIZES_6I + ("48xlarge",)
_SIZES_7I = _SIZES_5 + ("48xlarge",)
_SIZES_7A = ("medium",) + _SIZES_6A
_SIZES_GRAVITON = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_SIZES_BURSTABLE = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge")

# family -> (category, generation, architecture, GiB of memory per vCPU, sizes)
LINEAR_FAMILIES = {
    "m5": ("m", 5, "amd64", 4, _SIZES_5), "m5a": ("m", 5, "amd64", 4, _SIZES_5),
    "m6i": ("m", 6, "amd64", 4, _SIZES_6I), "m6a": ("m", 6, "amd64", 4, _SIZES_6A),
    "m7i": ("m", 7, "amd64", 4, _SIZES_7I), "m7a": ("m", 7, "amd64", 4, _SIZES_7A),
    "m7g": ("m", 7, "arm64", 4, _SIZES_GRAVITON),
    "c5": ("c", 5, "amd64", 2, _SIZES_C5), "c5a": ("c", 5, "amd64", 2, _SIZES_5),
    "c6i": ("c", 6, "amd64", 2, _SIZES_6I), "c6a": ("c", 6, "amd64", 2, _SIZES_6A),
    "c7i": ("c", 7, "amd64", 2, _SIZES_7I), "c7a": ("c", 7, "amd64", 2, _SIZES_7A),
    "c7g": ("c", 7, "arm64", 2, _SIZES_GRAVITON),
    "r5": ("r", 5, "amd64", 8, _SIZES_5), "r5a": ("r", 5, "amd64", 8, _SIZES_5),
    "r6i": ("r", 6, "amd64", 8, _SIZES_6I), "r6a": ("r", 6, "amd64", 8, _SIZES_6A),
    "r7i": ("r", 7, "amd64", 8, _SIZES_7I), "r7a": ("r", 7, "amd64", 8, _SIZES_7A),
    "r7g": ("r", 7, "arm64", 8, _SIZES_GRAVITON),
}
# Burstable families: nano to large all have 2 vCPUs; priced linearly like the others.
BURSTABLE_FAMILIES = {"t3": ("t", 3, "amd64"), "t3a": ("t", 3, "amd64"), "t4g": ("t", 4, "arm64")}
BURSTABLE_SIZES = {"nano": (2, 0.5), "micro": (2, 1), "small": (2, 2), "medium": (2, 4), "large": (2, 8), "xlarge": (4, 16),
                   "2xlarge": (8, 32)}
# GPU types: (vCPU, memory GiB, GPUs, GPU name as Karpenter labels it).
GPU_TYPES = {
    "g4dn.xlarge": (4, 16, 1, "t4"), "g4dn.2xlarge": (8, 32, 1, "t4"), "g4dn.4xlarge": (16, 64, 1, "t4"),
    "g4dn.8xlarge": (32, 128, 1, "t4"), "g4dn.16xlarge": (64, 256, 1, "t4"), "g4dn.12xlarge": (48, 192, 4, "t4"),
    "g5.xlarge": (4, 16, 1, "a10g"), "g5.2xlarge": (8, 32, 1, "a10g"), "g5.4xlarge": (16, 64, 1, "a10g"),
    "g5.8xlarge": (32, 128, 1, "a10g"), "g5.16xlarge": (64, 256, 1, "a10g"), "g5.12xlarge": (48, 192, 4, "a10g"),
    "g5.24xlarge": (96, 384, 4, "a10g"), "g5.48xlarge": (192, 768, 8, "a10g"),
    "g6.xlarge": (4, 16, 1, "l4"), "g6.2xlarge": (8, 32, 1, "l4"), "g6.4xlarge": (16, 64, 1, "l4"),
    "g6.8xlarge": (32, 128, 1, "l4"), "g6.16xlarge": (64, 256, 1, "l4"), "g6.12xlarge": (48, 192, 4, "l4"),
    "p3.2xlarge": (8, 61, 1, "v100"), "p3.8xlarge": (32, 244, 4, "v100"), "p3.16xlarge": (64, 488, 8, "v100"),
}

# Service prices: hourly ones per hour, storage per GB-month. LCU: one (N)LCU-hour.
_US_SERVICES = {
    "eks_cluster_hour": 0.10,            # standard support; extended support is 0.60
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,
    "nlb_hour": 0.0225,
    "nlb_lcu_hour": 0.006,
    "alb_hour": 0.0225,
    "alb_lcu_hour": 0.008,
    "ebs_gp3_gb_month": 0.08,
    "ebs_snapshot_gb_month": 0.05,
    "efs_standard_gb_month": 0.30,
    "public_ipv4_hour": 0.005,
    "kms_key_month": 1.00,
    "vpc_interface_endpoint_hour": 0.01,  # per endpoint per AZ
    "route53_zone_month": 0.50,
}
# Price of the `large` size per family (us-east-1, us-east-2 and us-west-2 price these alike).
_US_LARGE = {
    "m5": 0.096, "m5a": 0.086, "m6i": 0.096, "m6a": 0.0864, "m7i": 0.1008, "m7a": 0.11592, "m7g": 0.0816,
    "c5": 0.085, "c5a": 0.077, "c6i": 0.085, "c6a": 0.0765, "c7i": 0.08925, "c7a": 0.10264, "c7g": 0.0725,
    "r5": 0.126, "r5a": 0.113, "r6i": 0.126, "r6a": 0.1134, "r7i": 0.1323, "r7a": 0.15215, "r7g": 0.1071,
    "t3": 0.0832, "t3a": 0.0752, "t4g": 0.0672,
}
_US_GPU = {
    "g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176, "g4dn.16xlarge": 4.352,
    "g4dn.12xlarge": 3.912,
    "g5.xlarge": 1.006, "g5.2xlarge": 1.212, "g5.4xlarge": 1.624, "g5.8xlarge": 2.448, "g5.16xlarge": 4.096,
    "g5.12xlarge": 5.672, "g5.24xlarge": 8.144, "g5.48xlarge": 16.288,
    "g6.xlarge": 0.8048, "g6.2xlarge": 0.9776, "g6.4xlarge": 1.3232, "g6.8xlarge": 2.0144, "g6.16xlarge": 3.3968,
    "g6.12xlarge": 4.6016,
    "p3.2xlarge": 3.06, "p3.8xlarge": 12.24, "p3.16xlarge": 24.48,
}

REGIONS = {
    "us-east-1": {"name": "US East (N. Virginia)", "services": dict(_US_SERVICES), "large": dict(_US_LARGE), "types": dict(_US_GPU)},
    "us-east-2": {"name": "US East (Ohio)", "services": dict(_US_SERVICES), "large": dict(_US_LARGE),
                  "types": dict((k, v) for k, v in _US_GPU.items() if not k.startswith("p3."))},
    "us-west-2": {"name": "US West (Oregon)", "services": dict(_US_SERVICES), "large": dict(_US_LARGE), "types": dict(_US_GPU)},
    "eu-west-1": {
        "name": "Europe (Ireland)",
        "services": dict(_US_SERVICES, nat_gateway_hour=0.048, nat_gateway_gb=0.048, nlb_hour=0.0252, alb_hour=0.0252,
                         ebs_gp3_gb_month=0.088, efs_standard_gb_month=0.33, vpc_interface_endpoint_hour=0.011),
        "large": {"m5": 0.107, "m5a": 0.096, "m6i": 0.107, "c5": 0.096, "c6i": 0.096, "r5": 0.141, "r6i": 0.141,
                  "t3": 0.0912, "t3a": 0.0816},
        "types": {"g4dn.xlarge": 0.587, "g5.xlarge": 1.123, "p3.2xlarge": 3.305},
    },
    "eu-central-1": {
        "name": "Europe (Frankfurt)",
        "services": dict(_US_SERVICES, nat_gateway_hour=0.052, nat_gateway_gb=0.052, nlb_hour=0.027, alb_hour=0.027,
                         ebs_gp3_gb_month=0.0952, ebs_snapshot_gb_month=0.054, efs_standard_gb_month=0.36,
                         vpc_interface_endpoint_hour=0.012),
        "large": {"m5": 0.115, "m5a": 0.104, "m6i": 0.115, "c5": 0.097, "c6i": 0.097, "r5": 0.152, "r6i": 0.152,
                  "t3": 0.096, "t3a": 0.0864},
        "types": {"g4dn.xlarge": 0.658, "g5.xlarge": 1.258, "p3.2xlarge": 3.823},
    },
}


def split_type(instance_type):
    """'m5a.xlarge' -> ('m5a', 'xlarge'); (type, '') when it has no dot."""
    family, _dot, size = str(instance_type).partition(".")
    return family, size


def family_category(family):
    """Karpenter's instance-category: the letters before the generation digit ('g4dn' -> 'g', 'm7i-flex' -> 'm')."""
    out = ""
    for ch in family:
        if ch.isdigit():
            break
        out += ch
    return out


def family_generation(family):
    """Karpenter's instance-generation: the digits after the category ('g4dn' -> 4); None without one."""
    digits = ""
    for ch in family[len(family_category(family)):]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def instance_spec(instance_type):
    """{type, family, size, category, generation, arch, vcpu, memory_gib, gpus, gpu_name} of a type the table knows,
    else None. The same in every region."""
    family, size = split_type(instance_type)
    spec = {"type": instance_type, "family": family, "size": size, "category": family_category(family),
            "generation": family_generation(family), "arch": "amd64", "gpus": 0, "gpu_name": None}
    if instance_type in GPU_TYPES:
        vcpu, memory, gpus, gpu_name = GPU_TYPES[instance_type]
        spec.update(vcpu=vcpu, memory_gib=memory, gpus=gpus, gpu_name=gpu_name)
        return spec
    if family in LINEAR_FAMILIES and size in LINEAR_FAMILIES[family][4]:
        arch, per_vcpu = LINEAR_FAMILIES[family][2], LINEAR_FAMILIES[family][3]
        vcpu = int(2 * SIZE_UNITS[size])
        spec.update(arch=arch, vcpu=vcpu, memory_gib=vcpu * per_vcpu)
        return spec
    if family in BURSTABLE_FAMILIES and size in BURSTABLE_SIZES:
        vcpu, memory = BURSTABLE_SIZES[size]
        spec.update(arch=BURSTABLE_FAMILIES[family][2], vcpu=vcpu, memory_gib=memory)
        return spec
    return None


def known_types():
    """Every instance type the table has a spec for, sorted."""
    names = set(GPU_TYPES)
    for family, entry in LINEAR_FAMILIES.items():
        names.update("%s.%s" % (family, size) for size in entry[4])
    for family in BURSTABLE_FAMILIES:
        names.update("%s.%s" % (family, size) for size in BURSTABLE_SIZES)
    return sorted(names)


def region_table(region):
    """(the region whose prices are used, its table): the region itself when the table has it, else FALLBACK_REGION."""
    if region in REGIONS:
        return region, REGIONS[region]
    return FALLBACK_REGION, REGIONS[FALLBACK_REGION]


def service_price(region, key):
    """A service price (see _US_SERVICES for the keys) in the region, or in FALLBACK_REGION for a region not in the table."""
    return region_table(region)[1]["services"][key]


def on_demand_price(region, instance_type):
    """On-demand USD per hour of the type in the region (FALLBACK_REGION for a region not in the table); None when the
    table does not price it there."""
    table = region_table(region)[1]
    if instance_type in table["types"]:
        return table["types"][instance_type]
    family, size = split_type(instance_type)
    if family in table["large"] and instance_spec(instance_type) is not None:
        return round(table["large"][family] * SIZE_UNITS[size], 6)
    return None


def spot_factor(instance_type):
    """Typical spot price as a fraction of on-demand for the type's category."""
    return SPOT_FACTORS.get(family_category(split_type(instance_type)[0]), DEFAULT_SPOT_FACTOR)


def priced_types(region):
    """{type: spec with on_demand} of every type the table prices in the region."""
    out = {}
    for name in known_types():
        price = on_demand_price(region, name)
        if price is not None:
            spec = instance_spec(name)
            spec["on_demand"] = price
            out[name] = spec
    return out
