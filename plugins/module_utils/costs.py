# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cost controls as plain functions: the AWS Budgets a deployment's inventory asks for, and the cost estimate printed
at the end of site.yml (prices from module_utils/prices.py; docs/costs.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hubops.eks.plugins.module_utils import hub as _hub
from ansible_collections.hubops.eks.plugins.module_utils import karpenter as _karpenter
from ansible_collections.hubops.eks.plugins.module_utils import prices as _prices
from ansible_collections.hubops.eks.plugins.module_utils import storage as _storage
from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_DEPLOYMENT
from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_GROUP

DEFAULT_THRESHOLDS = [80, 100]


def budget_prefix(deployment):
    """What every budget name of the deployment starts with (what prune and teardown select on)."""
    return "%s-budget-" % deployment


def budgets(deployment, groups=None, total=None):
    """One budget per group that sets `budget` (filtered by hubops:group) and one for the whole deployment when
    hubops_budget is set (filtered by hubops:deployment), as hubops.eks.budget wants them."""
    out = []
    for group in groups or []:
        spec = (group or {}).get("budget")
        if spec:
            out.append({"name": budget_prefix(deployment) + group["name"], "monthly_usd": float(spec["monthly_usd"]),
                        "tag_key": TAG_GROUP, "tag_value": group["name"],
                        "thresholds_pct": list(spec.get("thresholds_pct") or DEFAULT_THRESHOLDS),
                        "notify": list(spec.get("notify") or []), "tags": {TAG_GROUP: group["name"]}})
    if total:
        out.append({"name": budget_prefix(deployment) + "total", "monthly_usd": float(total["monthly_usd"]),
                    "tag_key": TAG_DEPLOYMENT, "tag_value": deployment,
                    "thresholds_pct": list(total.get("thresholds_pct") or DEFAULT_THRESHOLDS),
                    "notify": list(total.get("notify") or []), "tags": {}})
    return out


# -------------------------------------------------------------------------------------------------------------------
# The cost estimate printed at the end of site.yml (docs/costs.md): what the deployment costs idle, per month, and what
# each profile's server costs per hour, from the price table in module_utils/prices.py.

# What the roles build when the inventory leaves these out (roles/eks_cluster and roles/network defaults).
CORE_NODE_DEFAULTS = {"instance_type": "t3a.large", "count": 2, "volume_size_gb": 50}
DEFAULT_NAT_MODE = "single"
DEFAULT_AZ_COUNT = 2
DEFAULT_VPC_ENDPOINTS = ("s3",)
# Gateway endpoints are free; every other endpoint is an interface endpoint, billed per hour in each AZ.
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
# Share of a node's vCPUs and memory taken by the kubelet's reservation, the OS and the DaemonSets (VPC CNI, kube-proxy,
# EBS and EFS CSI nodes, pod identity agent): EKS reserves ~6-9 % of memory on 16-64 GiB nodes, the DaemonSets add more.
NODE_OVERHEAD = 0.10
# Load balancers bill (N)LCU-hours on top of the hourly charge; one per hour is counted as the floor of an idle hub.
LB_MIN_LCU = 1
GIB = 1 << 30


class CostEstimateError(ValueError):
    """Settings the estimate cannot work from (no region)."""


def _truthy(value):
    """A flag as Ansible may pass it (bool, or a string like 'False' from an older templating)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def _money(value):
    return round(float(value), 2)


def _fmt(value):
    """An hourly price as printed: 2 decimals from 1 USD up, 4 below."""
    return ("%.2f" % value) if abs(value) >= 1 else ("%.4f" % value)


def _rate(value):
    """A unit price as the price table writes it, with at least 2 decimals: 0.10, 0.0752, 1.00."""
    text = "%g" % value
    return text if len(text.partition(".")[2]) >= 2 else "%.2f" % value


def _parse_cpu(value):
    text = str(value).strip()
    cores = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    if cores <= 0:
        raise ValueError("cpu %r must be more than 0" % (value,))
    return cores


def _instance_price(region, instance_type, overrides):
    if instance_type in overrides:
        return float(overrides[instance_type])
    return _prices.on_demand_price(region, instance_type)


def _priced_types(region, overrides):
    table = _prices.priced_types(region)
    for name, price in overrides.items():
        spec = _prices.instance_spec(name)
        if spec is not None:
            spec["on_demand"] = float(price)
            table[name] = spec
    return table


def pool_candidates(pool, region, overrides=None):
    """(priced specs of the instance types the pool's NodePool requirements allow, names it allows that the table does
    not price). Mirrors karpenter.requirements(): instance_types, else categories/families (default c, m, r of
    generation 5+, or g, p for GPU pools) and sizes; arch; GPU count and name."""
    table = _priced_types(region, overrides or {})
    arch = pool.get("arch") or ["amd64"]
    gpu = pool.get("gpu") or None
    unpriced = []
    if pool.get("instance_types"):
        names = list(pool["instance_types"])
        unpriced = [n for n in names if n not in table]
        specs = [table[n] for n in names if n in table]
    else:
        categories, families = _karpenter.split_families(pool.get("families") or [])
        if not categories and not families:
            categories = list(_karpenter.GPU_CATEGORIES if gpu else _karpenter.DEFAULT_CATEGORIES)
        known_families = set(s["family"] for s in table.values())
        unpriced = ["%s.*" % f for f in families if f not in known_families]
        min_generation = _karpenter.DEFAULT_MIN_GENERATION if categories and not families and not gpu else None
        sizes = pool.get("sizes") or []
        specs = [s for s in table.values()
                 if (not categories or s["category"] in categories) and (not families or s["family"] in families)
                 and (min_generation is None or (s["generation"] or 0) >= min_generation)
                 and (not sizes or s["size"] in sizes)]
    specs = [s for s in specs if s["arch"] in arch]
    if gpu:
        specs = [s for s in specs if s["gpus"] == int(gpu.get("count") or 0)
                 and (not gpu.get("name") or s["gpu_name"] == gpu["name"])]
    return sorted(specs, key=lambda s: (s["on_demand"], s["vcpu"], s["type"])), unpriced


def _fits(spec, cpu, memory_gib, gpus):
    usable = 1 - NODE_OVERHEAD
    return cpu <= spec["vcpu"] * usable + 1e-9 and memory_gib <= spec["memory_gib"] * usable + 1e-9 and gpus <= spec["gpus"]


def _share(spec, cpu, memory_gib, gpus):
    """The largest fraction of the node's allocatable CPU, memory or GPUs the server takes."""
    usable = 1 - NODE_OVERHEAD
    parts = [cpu / (spec["vcpu"] * usable), memory_gib / (spec["memory_gib"] * usable)]
    if gpus:
        parts.append(float(gpus) / spec["gpus"])
    return max(parts)


def _users_per_node(spec, cpu, memory_gib, gpus):
    usable = 1 - NODE_OVERHEAD
    counts = [int(spec["vcpu"] * usable / cpu + 1e-9), int(spec["memory_gib"] * usable / memory_gib + 1e-9)]
    if gpus:
        counts.append(spec["gpus"] // gpus)
    return min(counts)


def _profile_cost(group, profile, pool, region, services, overrides):
    entry = {"group": group, "profile": profile.get("name"), "pool": (pool or {}).get("name"), "cpu": profile.get("cpu"),
             "memory": str(profile.get("memory")), "gpu": int(profile.get("gpu") or 0), "instance_type": None,
             "capacity": list((pool or {}).get("capacity") or []), "on_demand_hourly": None, "spot_hourly": None,
             "share": None, "users_per_node": None, "user_hour_on_demand": None, "user_hour_spot": None, "unpriced": [],
             "note": ""}
    if pool is None:
        entry["note"] = "its node pool is not defined, so it cannot be priced."
        return entry
    try:
        cpu = _parse_cpu(profile.get("cpu"))
        memory_gib = _storage.parse_quantity(profile.get("memory")) / float(GIB)
    except (TypeError, ValueError) as exc:
        entry["note"] = "cannot be priced: %s" % exc
        return entry
    candidates, unpriced = pool_candidates(pool, region, overrides)
    entry["unpriced"] = unpriced
    gpus = entry["gpu"]
    fitting = [s for s in candidates if _fits(s, cpu, memory_gib, gpus)]
    if not fitting:
        if candidates:
            largest = max(candidates, key=lambda s: (s["vcpu"], s["memory_gib"], s["gpus"]))
            entry["note"] = ("no instance type of pool %s fits %s CPU, %s memory%s with %d %% kept for the node itself (the largest, "
                             "%s, has %s vCPUs, %s GiB%s): the server cannot start. Allow larger sizes in the pool or shrink "
                             "the profile." % (pool["name"], profile.get("cpu"), profile.get("memory"),
                                               ", %d GPU" % gpus if gpus else "", NODE_OVERHEAD * 100, largest["type"],
                                               largest["vcpu"], largest["memory_gib"],
                                               ", %d GPU" % largest["gpus"] if largest["gpus"] else ""))
        else:
            entry["note"] = ("the price table (%s) has no instance type pool %s allows%s, so it cannot be priced."
                             % (_prices.PRICES_DATE, pool["name"], " (unpriced: %s)" % ", ".join(unpriced) if unpriced else ""))
        return entry
    chosen = fitting[0]
    share = _share(chosen, cpu, memory_gib, gpus)
    root_hourly = int(pool.get("volume_size_gb") or _karpenter.DEFAULT_VOLUME_SIZE_GB) * services["ebs_gp3_gb_month"] / _prices.HOURS_PER_MONTH
    on_demand = chosen["on_demand"]
    spot = on_demand * _prices.spot_factor(chosen["type"])
    entry.update(instance_type=chosen["type"], on_demand_hourly=round(on_demand, 4), share=round(share, 3),
                 users_per_node=_users_per_node(chosen, cpu, memory_gib, gpus))
    if "on-demand" in entry["capacity"]:
        entry["user_hour_on_demand"] = round((on_demand + root_hourly) * share, 4)
    if "spot" in entry["capacity"]:
        entry["spot_hourly"] = round(spot, 4)
        entry["user_hour_spot"] = round((spot + root_hourly) * share, 4)
    return entry


def _group_profiles(group, pools):
    own = group.get("nodepool") or {}
    group_pool = own.get("shared") or own.get("name") or group.get("name")
    profiles = group.get("profiles")
    if not profiles:
        gpus = int((((pools.get(group_pool) or {}).get("gpu")) or {}).get("count") or 0)
        profiles = [dict(_hub.DEFAULT_PROFILE, gpu=gpus)]
    out = []
    for profile in profiles:
        profile = dict(profile or {})
        profile.setdefault("cpu", _hub.DEFAULT_PROFILE["cpu"])
        profile.setdefault("memory", _hub.DEFAULT_PROFILE["memory"])
        out.append((profile, profile.get("nodepool") or group_pool))
    return out


def _efs_used(settings):
    if (settings.get("home_storage") or "ebs") == "efs":
        return True
    return any(((g or {}).get("storage") or {}).get("shared_dir", True) for g in settings.get("groups") or [])


def cost_estimate(settings):
    """What the deployment costs idle (USD per month) and what each profile's server costs per hour, from the price
    table (module_utils/prices.py). settings: deployment, region, nat_mode, az_count, vpc_endpoints, byo_subnets (bool),
    core_nodes {instance_type, count, volume_size_gb}, hub (hubops_hub), groups, nodepools, pool_defaults,
    home_storage, storage (hubops_storage), and optionally price_overrides {instances: {type: USD/h}, services: {key:
    price}, source} (e.g. from the AWS Pricing API). Keys left out get the roles' defaults. Pure: no AWS calls."""
    settings = settings or {}
    region = settings.get("region")
    if not region:
        raise CostEstimateError("hubops_region is not set; the estimate needs it to pick prices.")
    prices_region, table = _prices.region_table(region)
    overrides = settings.get("price_overrides") or {}
    instance_overrides = dict(overrides.get("instances") or {})
    services = dict(table["services"], **(overrides.get("services") or {}))
    hours = _prices.HOURS_PER_MONTH
    gp3 = services["ebs_gp3_gb_month"]
    hub = settings.get("hub") or {}
    idle, detail, unpriced = {}, {}, []
    assumptions = ["%d hours a month; on-demand list prices of %s (%s%s), without Savings Plans, Reserved Instances, credits "
                   "or free tier." % (hours, _prices.PRICES_DATE, _prices.PRICES_SOURCE,
                                      "; overridden: %s" % overrides.get("source", "given prices") if overrides else "")]
    if prices_region != region:
        assumptions.append("hubops_region %s is not in the price table; %s prices are used instead (most other regions cost "
                           "5-30 %% more): treat the numbers as a lower bound." % (region, prices_region))

    idle["control_plane"] = hours * services["eks_cluster_hour"]
    detail["control_plane"] = "EKS control plane: %d h x %s (standard support)" % (hours, _rate(services["eks_cluster_hour"]))

    core = dict(CORE_NODE_DEFAULTS)
    core.update(dict((k, v) for k, v in (settings.get("core_nodes") or {}).items() if v not in (None, "")))
    count, volume, core_type = int(core["count"]), int(core["volume_size_gb"]), str(core["instance_type"])
    core_price = _instance_price(prices_region, core_type, instance_overrides)
    idle["core_nodes"] = count * volume * gp3 + count * hours * (core_price or 0)
    if core_price is None:
        unpriced.append({"instance_type": core_type, "where": "hubops_core_nodes.instance_type"})
        detail["core_nodes"] = ("%d x %s (not in the price table: instances NOT counted) + %d x %d GB gp3 root x %s"
                                % (count, core_type, count, volume, _rate(gp3)))
    else:
        detail["core_nodes"] = ("%d x %s x %d h x %s + %d x %d GB gp3 root x %s"
                                % (count, core_type, hours, _rate(core_price), count, volume, _rate(gp3)))

    byo = _truthy(settings.get("byo_subnets"))
    az_count = int(settings.get("az_count") or DEFAULT_AZ_COUNT)
    nat_mode = settings.get("nat_mode") or DEFAULT_NAT_MODE
    nats = 0 if byo or nat_mode == "none" else (az_count if nat_mode == "per_az" else 1)
    idle["nat"] = nats * hours * services["nat_gateway_hour"]
    if byo:
        detail["nat"] = "own subnets (hubops_byo_subnet_ids): hubops makes no NAT gateway; yours are billed to you as before"
    else:
        detail["nat"] = ("%d NAT gateway%s (nat_mode %s, %d AZs) x %d h x %s; data processed (%s per GB) not counted"
                         % (nats, "" if nats == 1 else "s", nat_mode, az_count, hours, _rate(services["nat_gateway_hour"]),
                            _rate(services["nat_gateway_gb"])))

    lb_ips = 0
    if hub.get("domain"):
        ingress = hub.get("ingress") or {}
        mode = ingress.get("mode") or "nlb"
        scheme = ingress.get("scheme") or "internet-facing"
        lb_hour, lcu_hour = services["%s_hour" % mode], services["%s_lcu_hour" % mode]
        idle["load_balancer"] = hours * (lb_hour + LB_MIN_LCU * lcu_hour)
        detail["load_balancer"] = ("%s (%s) x %d h x (%s + %d LCU x %s)"
                                   % (mode.upper(), scheme, hours, _rate(lb_hour), LB_MIN_LCU, _rate(lcu_hour)))
        lb_ips = az_count if scheme == "internet-facing" else 0
    else:
        idle["load_balancer"] = 0.0
        detail["load_balancer"] = "no hubops_hub.domain: no load balancer (the hub is reached by port-forward)"

    ips = nats + lb_ips
    idle["public_ipv4"] = ips * hours * services["public_ipv4_hour"]
    detail["public_ipv4"] = ("%d public IPv4 address%s (%d NAT, %d load balancer) x %d h x %s"
                             % (ips, "" if ips == 1 else "es", nats, lb_ips, hours, _rate(services["public_ipv4_hour"])))

    endpoints = settings.get("vpc_endpoints")
    endpoints = list(DEFAULT_VPC_ENDPOINTS if endpoints is None else endpoints)
    interface = [] if byo else [e for e in endpoints if e not in GATEWAY_ENDPOINTS]
    idle["vpc_endpoints"] = len(interface) * az_count * hours * services["vpc_interface_endpoint_hour"]
    detail["vpc_endpoints"] = ("%d interface endpoint%s x %d AZs x %d h x %s%s"
                               % (len(interface), "" if len(interface) == 1 else "s", az_count, hours,
                                  _rate(services["vpc_interface_endpoint_hour"]),
                                  " (%s)" % ", ".join(interface) if interface else "; gateway endpoints (s3) are free"))

    idle["efs_baseline"] = 0.0
    if _efs_used(settings):
        detail["efs_baseline"] = ("EFS bills the data stored (%s per GB-month), so an empty file system costs ~0; user files "
                                  "are counted per user below" % _rate(services["efs_standard_gb_month"]))
    else:
        detail["efs_baseline"] = "no EFS (no group has a shared directory and homes are on EBS)"

    db = dict(_hub.DEFAULT_DB, **(hub.get("db") or {}))
    try:
        db_gib = _storage.parse_quantity(db["size"]) / float(GIB)
    except ValueError:
        db_gib = 1.0
        assumptions.append("hubops_hub.db.size %r is not a quantity; 1 GiB counted." % (db["size"],))
    idle["hub_db_volume"] = db_gib * gp3
    detail["hub_db_volume"] = "hub database volume %g GB gp3 x %s" % (db_gib, _rate(gp3))

    idle["kms"] = services["kms_key_month"]
    detail["kms"] = "1 KMS key x %s (each of its first two yearly rotations adds as much)" % _rate(services["kms_key_month"])
    if _truthy(hub.get("create_zone")):
        idle["route53_zone"] = services["route53_zone_month"]
        detail["route53_zone"] = "1 hosted zone hubops creates x %s (queries not counted)" % _rate(services["route53_zone_month"])

    idle = dict((k, _money(v)) for k, v in idle.items())
    total = _money(sum(idle.values()))

    problems = []
    groups = [g for g in settings.get("groups") or [] if isinstance(g, dict)]
    try:
        specs = _karpenter.pools_from_inventory(groups, settings.get("nodepools") or [], settings.get("pool_defaults"))
        pools = dict((p["name"], p) for p in specs)
    except _karpenter.PoolSpecError as exc:
        pools = {}
        problems.append("node pools: %s" % exc)
    profiles = []
    for group in groups:
        for profile, pool_name in _group_profiles(group, pools):
            entry = _profile_cost(group.get("name"), profile, pools.get(pool_name), prices_region, services, instance_overrides)
            profiles.append(entry)
            for name in entry["unpriced"]:
                item = {"instance_type": name, "where": "node pool %s" % entry["pool"]}
                if item not in unpriced:
                    unpriced.append(item)

    per_user = []
    home_storage = settings.get("home_storage") or "ebs"
    storage = _storage.settings_with_defaults(settings.get("storage"))
    if home_storage == "ebs":
        quotas = _storage.group_quotas(groups)
        rows = sorted(quotas.items()) + [("(no group quota)", str(storage["default_home_quota"]))]
        for name, quota in rows:
            try:
                gib = _storage.parse_quantity(quota) / float(GIB)
            except ValueError:
                continue
            per_user.append({"what": "home volume %s %s" % (name, quota), "monthly": _money(gib * gp3),
                             "detail": "%g GB gp3 x %s, from the user's first login until the volume is deleted" % (gib, _rate(gp3))})
    else:
        per_user.append({"what": "home on EFS", "monthly": None,
                         "detail": "%s per GB stored per month" % _rate(services["efs_standard_gb_month"])})

    assumptions += [
        "Idle: no user server running. Karpenter removes empty user nodes (WhenEmpty, after 5 minutes), so user pools cost "
        "nothing idle; the core nodes (on-demand) always run.",
        "Load balancer: hourly charge plus %d (N)LCU-hour per hour; public IPv4: one per NAT gateway and, for an "
        "internet-facing load balancer, one per AZ." % LB_MIN_LCU,
        "Profiles: %d %% of each node's vCPUs and memory is kept for the kubelet, the OS and the DaemonSets; the instance "
        "shown is the cheapest priced type of the profile's pool that fits the rest (Karpenter picks the cheapest that "
        "fits too, and may pick a bigger node when several servers start at once)." % (NODE_OVERHEAD * 100),
        "Per user-hour: (instance + root volume) x the largest share of the node's allocatable CPU, memory or GPUs the "
        "server takes, i.e. a server's cost on a node full of servers; a server alone on its node costs the whole node.",
        "Spot: typical price = on-demand x %s (c, m, r, t) or %s (g, p); real spot prices change hourly, by AZ."
        % (_prices.SPOT_FACTORS["m"], _prices.SPOT_FACTORS["g"]),
        "Not counted: data transfer and NAT data processing, EFS storage and throughput, growth of home volumes, EBS "
        "snapshots and AWS Backup storage, CloudWatch control-plane logs, Route53 queries, Cognito beyond its free tier, "
        "EKS extended support (0.60 per hour instead of 0.10 for a Kubernetes version past standard support), taxes. "
        "See docs/costs.md.",
    ]
    placeholders = int((hub.get("placeholders") or {}).get("replicas") or 0)
    if placeholders:
        assumptions.append("hubops_hub.placeholders.replicas is %d: placeholder pods keep user nodes running, which the idle "
                           "total does not count." % placeholders)
    estimate = {
        "deployment": settings.get("deployment"),
        "prices_date": _prices.PRICES_DATE,
        "prices_source": overrides.get("source") if overrides else "table",
        "region": region,
        "prices_region": prices_region,
        "currency": _prices.CURRENCY,
        "idle_monthly": idle,
        "idle_monthly_detail": detail,
        "idle_monthly_total": total,
        "profiles": profiles,
        "per_user_monthly": per_user,
        "usage_rates": {"nat_per_gb": services["nat_gateway_gb"], "efs_per_gb_month": services["efs_standard_gb_month"],
                        "ebs_gp3_per_gb_month": gp3, "ebs_snapshot_per_gb_month": services["ebs_snapshot_gb_month"]},
        "unpriced": unpriced,
        "problems": problems,
        "assumptions": assumptions,
    }
    estimate["report"] = cost_report(estimate)
    return estimate


def _profile_line(entry):
    gpu = ", %d GPU" % entry["gpu"] if entry["gpu"] else ""
    head = "  %s/%s (%s CPU, %s%s)" % (entry["group"], entry["profile"], entry["cpu"], entry["memory"], gpu)
    if not entry["instance_type"]:
        return "%s: %s" % (head, entry["note"])
    prices, packed = [], []
    if "on-demand" in entry["capacity"]:
        prices.append("on-demand %s/h" % _fmt(entry["on_demand_hourly"]))
        packed.append("%s on-demand" % _fmt(entry["user_hour_on_demand"]))
    else:
        prices.append("spot only (on-demand would be %s/h)" % _fmt(entry["on_demand_hourly"]))
    if entry["spot_hourly"] is not None:
        prices.append("spot ~%s/h" % _fmt(entry["spot_hourly"]))
        packed.append("%s spot" % _fmt(entry["user_hour_spot"]))
    return "%s: %s, %s; bin-packed %s per user-hour" % (head, entry["instance_type"], ", ".join(prices), " / ".join(packed))


def cost_report(estimate):
    """The estimate as lines of text, as site.yml prints it."""
    lines = ["Cost estimate, %s in %s: %s %s a month idle (prices of %s%s; docs/costs.md)"
             % (estimate.get("deployment") or "deployment", estimate["region"], _fmt(estimate["idle_monthly_total"]),
                estimate["currency"], estimate["prices_date"],
                "" if estimate["prices_region"] == estimate["region"] else ", %s prices" % estimate["prices_region"])]
    for name, usd in estimate["idle_monthly"].items():
        lines.append("  %-14s %8.2f  %s" % (name, usd, estimate["idle_monthly_detail"][name]))
    lines.append("Per server, USD per hour of the node it needs (and per user-hour when servers share nodes):")
    for entry in estimate["profiles"]:
        lines.append(_profile_line(entry))
    if not estimate["profiles"]:
        lines.append("  (no groups in hubops_groups, so no profiles)")
    for item in estimate["per_user_monthly"]:
        if item["monthly"] is None:
            lines.append("Per user: %s, %s" % (item["what"], item["detail"]))
        else:
            lines.append("Per user: %s = %.2f a month" % (item["what"], item["monthly"]))
    for item in estimate["unpriced"]:
        lines.append("Not priced: %s (%s), not in the price table of %s" % (item["instance_type"], item["where"], estimate["prices_date"]))
    for problem in estimate["problems"]:
        lines.append("Problem: %s" % problem)
    lines.extend("Assumes: %s" % text for text in estimate["assumptions"][1:])
    return lines
