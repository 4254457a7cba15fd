# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Karpenter, as plain functions: the compact pool spec of the inventory -> a NodePool + EC2NodeClass pair
(karpenter.sh/v1, karpenter.k8s.aws/v1), the checks that reject a bad spec before it reaches the API server, the pools
an inventory asks for, and the controller's IAM policies scoped to one cluster.

Used by the karpenter_nodepool module, the inventory_check rules and the karpenter role (through filters). Pure: no
AWS or Kubernetes calls here, so the unit tests cover every branch."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.hubops.eks.plugins.module_utils.naming import DNS_LABEL_RE
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_DEPLOYMENT
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_GROUP
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_MANAGED_BY
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_MANAGED_BY_VALUE
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_POOL
from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_DEPLOYMENT
from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_GROUP
from ansible_collections.hubops.eks.plugins.module_utils.naming import USER_POOL_TAINT
from ansible_collections.hubops.eks.plugins.module_utils.services import dask_pools

NODEPOOL_API = ("karpenter.sh", "v1", "NodePool")
NODECLASS_API = ("karpenter.k8s.aws", "v1", "EC2NodeClass")
NODECLAIM_API = ("karpenter.sh", "v1", "NodeClaim")

CAPACITY_TYPES = ("spot", "on-demand")
ARCHITECTURES = ("amd64", "arm64")
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Current-generation general purpose, compute and memory optimised: what a notebook server usually wants.
DEFAULT_CATEGORIES = ("c", "m", "r")
DEFAULT_MIN_GENERATION = 5
# NVIDIA GPU instances; Karpenter labels them with instance-gpu-manufacturer=nvidia.
GPU_CATEGORIES = ("g", "p")
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}
USER_PURPOSE_LABEL = ("hub.jupyter.org/node-purpose", "user")
# Pinned, not @latest (Karpenter advises against @latest outside pre-production); raise it in the inventory
# (hubops_karpenter.ami_alias) after trying a new AMI on a test deployment.
DEFAULT_AMI_ALIAS = "al2023@v20261020"
DEFAULT_VOLUME_SIZE_GB = 100
DEFAULT_CONSOLIDATE_AFTER = "5m"
DEFAULT_EXPIRE_AFTER = "Never"
ROOT_DEVICE = "/dev/xvda"

DURATION_RE = re.compile(r"^([0-9]+(s|m|h))+$")
QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?([KMGTPE]i|[numkMGTPE])?$")
LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
AMI_ALIAS_RE = re.compile(r"^((al2023|al2|bottlerocket)@(latest|v[0-9]+(\.[0-9]+)*)|windows20(19|22)@latest)$")
ALIAS_FAMILY = {"al2023": "AL2023", "al2": "AL2", "bottlerocket": "Bottlerocket"}
# Label domains Karpenter reserves for itself (its CEL rules reject them in spec.template.metadata.labels).
RESTRICTED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io", "karpenter.sh", "karpenter.k8s.aws")
ALLOWED_RESTRICTED_LABEL_PREFIXES = ("node.kubernetes.io", "node-restriction.kubernetes.io")
# Tags Karpenter sets itself (its CEL rules reject them in spec.tags).
RESTRICTED_TAG_KEYS = ("karpenter.sh/nodepool", "eks:eks-cluster-name", "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass")
RESTRICTED_TAG_PREFIXES = ("kubernetes.io/cluster",)

TAG_POOL = "hubops:pool"
POOL_KEYS = ("name", "group", "capacity", "families", "sizes", "instance_types", "arch", "gpu", "cpu_limit", "memory_limit",
             "gpu_limit", "volume_size_gb", "consolidation", "consolidate_after", "expire_after", "termination_grace_period",
             "weight", "labels", "taints", "tags", "ami_alias", "user", "shared")


class PoolSpecError(ValueError):
    """A pool spec the module will not send to the API server; `problems` holds (field, message, fix) tuples."""

    def __init__(self, problems):
        self.problems = problems
        super(PoolSpecError, self).__init__("; ".join("%s: %s Fix: %s" % p for p in problems))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _str_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def split_families(values):
    """'m', 'r' are instance categories; 'm7i', 'g5', 'c7gn' are families (they carry a generation digit)."""
    categories = [v for v in values if not any(ch.isdigit() for ch in v)]
    families = [v for v in values if any(ch.isdigit() for ch in v)]
    return categories, families


def _label_domain_restricted(key):
    if "/" not in key:
        return False
    domain = key.split("/", 1)[0]
    if any(domain == p or domain.endswith("." + p) for p in ALLOWED_RESTRICTED_LABEL_PREFIXES):
        return False
    return any(domain == d or domain.endswith("." + d) for d in RESTRICTED_LABEL_DOMAINS)


def validate_pool(pool, where="pool"):
    """Everything wrong with one compact pool spec, as (field, message, fix) tuples; [] when it is good.

    Covers what the schema of the inventory cannot say and what Karpenter's CRD (schema and CEL rules) would
    reject, so a bad spec fails here, naming the inventory field, before any API call."""
    problems = []

    def bad(key, message, fix):
        problems.append(("%s.%s" % (where, key) if key else where, message, fix))

    if not isinstance(pool, dict):
        return [(where, "is not a mapping.", "Write the pool as {name: ..., capacity: [...], ...}.")]
    for key in sorted(set(pool) - set(POOL_KEYS)):
        bad(key, "is not a pool setting.", "Remove it; the pool settings are %s." % ", ".join(POOL_KEYS))
    name = pool.get("name")
    if not isinstance(name, str) or not DNS_LABEL_RE.match(name):
        bad("name", "must be DNS-safe (lowercase letters, digits and '-', starting with a letter, at most 32 characters).",
            "Use a name like neuro or gpu.")
    group = pool.get("group")
    if group is not None and (not isinstance(group, str) or not DNS_LABEL_RE.match(group)):
        bad("group", "must be a DNS-safe group name.", "Use the group's name from hubops_groups.")
    capacity = pool.get("capacity", list(CAPACITY_TYPES))
    if not _str_list(capacity) or not capacity or any(c not in CAPACITY_TYPES for c in capacity) or len(set(capacity)) != len(capacity):
        bad("capacity", "must be a non-empty list of spot and/or on-demand, each once.",
            "Use [spot, on-demand] (spot first, on-demand when spot is short), [spot] or [on-demand].")
    arch = pool.get("arch", ["amd64"])
    if not _str_list(arch) or not arch or any(a not in ARCHITECTURES for a in arch):
        bad("arch", "must be a non-empty list of amd64 and/or arm64.", "Use [amd64], [arm64] or both.")
    explicit = pool.get("instance_types")
    if explicit is not None:
        if not _str_list(explicit) or not explicit or not all(re.match(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", t) for t in explicit):
            bad("instance_types", "must be a non-empty list of EC2 instance types.", "Use e.g. [m7i.xlarge, m6i.xlarge].")
        for key in ("families", "sizes"):
            if pool.get(key):
                bad(key, "cannot be combined with instance_types, which already names the exact types.",
                    "Keep instance_types, or remove it and use families + sizes.")
    for key in ("families", "sizes"):
        value = pool.get(key)
        if value is not None and (not _str_list(value) or not value or not all(re.match(r"^[a-z0-9-]+$", v) for v in value)):
            bad(key, "must be a non-empty list of lowercase names.", "Use e.g. families: [m, r] and sizes: [xlarge, 2xlarge].")
    gpu = pool.get("gpu")
    if gpu is not None:
        if not isinstance(gpu, dict) or not _is_int(gpu.get("count")) or gpu.get("count") < 1:
            bad("gpu", "must be {count: N} with N >= 1, and optionally name (t4, a10g, l4 ...).", "Write gpu: {count: 1, name: a10g}.")
        elif gpu.get("name") is not None and (not isinstance(gpu["name"], str) or not re.match(r"^[a-z0-9-]+$", gpu["name"])):
            bad("gpu.name", "must be a GPU name as Karpenter labels it (lowercase).", "Use e.g. a10g, t4, l4 or a100.")
    for key in ("cpu_limit", "gpu_limit"):
        value = pool.get(key)
        if value is not None and (not _is_int(value) or value < 0):
            bad(key, "must be a whole number >= 0.", "Write e.g. %s: 64." % key)
    if pool.get("gpu_limit") and not gpu:
        bad("gpu_limit", "is set but the pool has no gpu setting, so it would never be used.", "Add gpu: {count: 1} or remove gpu_limit.")
    memory = pool.get("memory_limit")
    if memory is not None and (not isinstance(memory, str) or not QUANTITY_RE.match(memory)):
        bad("memory_limit", "must be a Kubernetes quantity.", "Write e.g. memory_limit: 1024Gi.")
    size = pool.get("volume_size_gb")
    if size is not None and (not _is_int(size) or size < 20 or size > 16384):
        bad("volume_size_gb", "must be a whole number of GiB between 20 and 16384.", "Write e.g. volume_size_gb: 100.")
    policy = pool.get("consolidation")
    if policy is not None and policy not in CONSOLIDATION_POLICIES:
        bad("consolidation", "must be WhenEmpty or WhenEmptyOrUnderutilized.",
            "Use WhenEmpty for notebook servers (moving a running server loses the user's kernel state).")
    for key in ("consolidate_after", "expire_after", "termination_grace_period"):
        value = pool.get(key)
        never_ok = key != "termination_grace_period"
        if value is not None and not (isinstance(value, str) and (DURATION_RE.match(value) or (never_ok and value == "Never"))):
            bad(key, "must be a duration like 30s, 15m or 720h%s." % (", or Never" if never_ok else ""), "Write e.g. %s: 720h." % key)
    expire = pool.get("expire_after", DEFAULT_EXPIRE_AFTER)
    if pool.get("user", True) and isinstance(expire, str) and expire != "Never" and not pool.get("termination_grace_period"):
        bad("expire_after", "is %s without termination_grace_period: expiry ignores karpenter.sh/do-not-disrupt, so Karpenter "
                            "would wait forever to drain a node that runs a user's server." % expire,
            "Add termination_grace_period (e.g. 24h, the longest a server may keep an expired node), or use expire_after: Never.")
    if not isinstance(pool.get("user", True), bool):
        bad("user", "must be true or false.", "Write user: false for pools that do not run users' servers.")
    weight = pool.get("weight")
    if weight is not None and (not _is_int(weight) or not 1 <= weight <= 100):
        bad("weight", "must be a whole number from 1 to 100.", "Higher weights are tried first; write e.g. weight: 10.")
    labels = pool.get("labels") or {}
    if not isinstance(labels, dict):
        bad("labels", "must be a mapping of label keys to values.", "Write e.g. labels: {team: neuro}.")
        labels = {}
    for key, value in sorted(labels.items()):
        if not isinstance(key, str) or not LABEL_KEY_RE.match(key) or not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
            bad("labels.%s" % key, "is not a valid Kubernetes label (key and string value).", "Use e.g. team: neuro (quote numbers).")
        elif _label_domain_restricted(key):
            bad("labels.%s" % key, "uses a domain Karpenter reserves (%s)." % ", ".join(RESTRICTED_LABEL_DOMAINS),
                "Use your own domain, e.g. example.org/%s." % key.split("/", 1)[1])
        elif key in (LABEL_GROUP, LABEL_POOL, USER_PURPOSE_LABEL[0], LABEL_MANAGED_BY, LABEL_DEPLOYMENT):
            bad("labels.%s" % key, "is set by hubops itself.", "Remove it.")
    taints = pool.get("taints") or []
    if not isinstance(taints, list):
        bad("taints", "must be a list of {key, value, effect}.", "Write e.g. taints: [{key: team, value: neuro, effect: NoSchedule}].")
        taints = []
    for index, taint in enumerate(taints):
        if (not isinstance(taint, dict) or not isinstance(taint.get("key"), str) or not LABEL_KEY_RE.match(taint.get("key", ""))
                or taint.get("effect") not in TAINT_EFFECTS or not LABEL_VALUE_RE.match(str(taint.get("value", "")))):
            bad("taints[%d]" % index, "must be {key, value, effect} with effect NoSchedule, PreferNoSchedule or NoExecute.",
                "Write e.g. {key: team, value: neuro, effect: NoSchedule}.")
        elif taint["key"] in (USER_POOL_TAINT["key"], GPU_TAINT["key"]):
            bad("taints[%d]" % index, "uses the key %s, which hubops sets itself (user pools, GPU pools)." % taint["key"],
                "Remove it; pick another key for your own taint.")
    tags = pool.get("tags") or {}
    if not isinstance(tags, dict):
        bad("tags", "must be a mapping of tag keys to string values.", "Write e.g. tags: {cost-center: '1234'}.")
        tags = {}
    for key, value in sorted(tags.items()):
        if not isinstance(key, str) or not isinstance(value, str) or not key or len(key) > 128 or len(value) > 256:
            bad("tags.%s" % key, "must be a string key (at most 128 characters) with a string value (at most 256).",
                "Quote numbers: '1234'.")
        elif key in RESTRICTED_TAG_KEYS or key.startswith(RESTRICTED_TAG_PREFIXES) or key in (TAG_DEPLOYMENT, TAG_GROUP, TAG_POOL):
            bad("tags.%s" % key, "is set by Karpenter or hubops itself.", "Remove it.")
    alias = pool.get("ami_alias")
    if alias is not None and (not isinstance(alias, str) or not AMI_ALIAS_RE.match(alias)):
        bad("ami_alias", "must be <family>@<version>, e.g. al2023@v20261020 (a pinned version; @latest only for tests).",
            "Write ami_alias: al2023@v20261020, or remove it for the collection's pinned default.")
    return problems


def normalise_pool(pool, defaults=None):
    """The spec with every default filled in (after validate_pool found nothing)."""
    spec = dict(defaults or {})
    spec.update(dict((k, v) for k, v in pool.items() if v is not None))
    spec.setdefault("group", None)
    spec.setdefault("user", True)
    spec.setdefault("capacity", list(CAPACITY_TYPES))
    spec.setdefault("arch", ["amd64"])
    spec.setdefault("consolidation", "WhenEmpty")
    spec.setdefault("consolidate_after", DEFAULT_CONSOLIDATE_AFTER)
    spec.setdefault("expire_after", DEFAULT_EXPIRE_AFTER)
    spec.setdefault("volume_size_gb", DEFAULT_VOLUME_SIZE_GB)
    spec.setdefault("ami_alias", DEFAULT_AMI_ALIAS)
    for key in ("labels", "tags"):
        spec[key] = dict(spec.get(key) or {})
    spec["taints"] = list(spec.get("taints") or [])
    spec.pop("shared", None)
    return spec


def _requirement(key, values, operator="In"):
    return {"key": key, "operator": operator, "values": [str(v) for v in values]}


def requirements(spec):
    """The NodePool's scheduling requirements: capacity (spot first, on-demand fallback), arch, instance shape, GPU."""
    reqs = [_requirement("karpenter.sh/capacity-type", spec["capacity"]),
            _requirement("kubernetes.io/arch", spec["arch"])]
    gpu = spec.get("gpu")
    if spec.get("instance_types"):
        reqs.append(_requirement("node.kubernetes.io/instance-type", spec["instance_types"]))
    else:
        categories, families = split_families(spec.get("families") or [])
        if not categories and not families:
            categories = list(GPU_CATEGORIES if gpu else DEFAULT_CATEGORIES)
        if categories:
            reqs.append(_requirement("karpenter.k8s.aws/instance-category", categories))
        if families:
            reqs.append(_requirement("karpenter.k8s.aws/instance-family", families))
        if categories and not families and not gpu:
            # only current generations (c5/m5/r5 and newer): older ones cost more per vCPU
            reqs.append(_requirement("karpenter.k8s.aws/instance-generation", [DEFAULT_MIN_GENERATION - 1], "Gt"))
        if spec.get("sizes"):
            reqs.append(_requirement("karpenter.k8s.aws/instance-size", spec["sizes"]))
    if gpu:
        reqs.append(_requirement("karpenter.k8s.aws/instance-gpu-manufacturer", ["nvidia"]))
        reqs.append(_requirement("karpenter.k8s.aws/instance-gpu-count", [gpu["count"]]))
        if gpu.get("name"):
            reqs.append(_requirement("karpenter.k8s.aws/instance-gpu-name", [gpu["name"]]))
    return reqs


def ownership_labels(deployment):
    """What prune and teardown select on (DESIGN.md section 4)."""
    return {LABEL_MANAGED_BY: LABEL_MANAGED_BY_VALUE, LABEL_DEPLOYMENT: deployment}


def node_labels(spec):
    labels = {LABEL_POOL: spec["name"]}
    if spec.get("user", True):
        labels[USER_PURPOSE_LABEL[0]] = USER_PURPOSE_LABEL[1]
    if spec.get("group"):
        labels[LABEL_GROUP] = spec["group"]
    labels.update(spec.get("labels") or {})
    return labels


def node_taints(spec):
    taints = []
    if spec.get("user", True):
        taints.append(dict(USER_POOL_TAINT))
    if spec.get("gpu"):
        taints.append(dict(GPU_TAINT))
    for taint in spec.get("taints") or []:
        item = {"key": taint["key"], "effect": taint["effect"]}
        if taint.get("value") not in (None, ""):
            item["value"] = str(taint["value"])
        taints.append(item)
    return taints


def nodepool_manifest(spec, ctx):
    """The NodePool (karpenter.sh/v1) of a normalised spec. ctx: deployment (and optionally extra labels)."""
    limits = {}
    if spec.get("cpu_limit") is not None:
        limits["cpu"] = str(spec["cpu_limit"])
    if spec.get("memory_limit") is not None:
        limits["memory"] = spec["memory_limit"]
    if spec.get("gpu_limit") is not None:
        limits[GPU_RESOURCE] = str(spec["gpu_limit"])
    template_spec = {
        "nodeClassRef": {"group": NODECLASS_API[0], "kind": NODECLASS_API[2], "name": spec["name"]},
        "requirements": requirements(spec),
        "expireAfter": spec["expire_after"],
    }
    taints = node_taints(spec)
    if taints:
        template_spec["taints"] = taints
    if spec.get("termination_grace_period"):
        template_spec["terminationGracePeriod"] = spec["termination_grace_period"]
    body = {
        "template": {"metadata": {"labels": node_labels(spec)}, "spec": template_spec},
        "disruption": {"consolidationPolicy": spec["consolidation"], "consolidateAfter": spec["consolidate_after"]},
    }
    if limits:
        body["limits"] = limits
    if spec.get("weight") is not None:
        body["weight"] = spec["weight"]
    return {"apiVersion": "%s/%s" % NODEPOOL_API[:2], "kind": NODEPOOL_API[2],
            "metadata": {"name": spec["name"], "labels": _object_labels(spec, ctx)}, "spec": body}


def _object_labels(spec, ctx):
    labels = ownership_labels(ctx["deployment"])
    if spec.get("group"):
        labels[LABEL_GROUP] = spec["group"]
    return labels


def instance_tags(spec, ctx):
    """Tags Karpenter puts on the instances, volumes and launch templates of the pool (cost allocation)."""
    tags = dict(ctx.get("tags") or {})
    tags.update(spec.get("tags") or {})
    tags[TAG_DEPLOYMENT] = ctx["deployment"]
    tags[TAG_GROUP] = spec.get("group") or "shared"
    tags[TAG_POOL] = spec["name"]
    return dict((k, str(v)) for k, v in tags.items())


def nodeclass_manifest(spec, ctx):
    """The EC2NodeClass (karpenter.k8s.aws/v1). ctx: deployment, cluster_name, instance_profile, kms_key_arn, tags.

    It names the instance profile the karpenter role made (spec.instanceProfile), not the role: Karpenter then never
    creates, tags or deletes instance profiles, so its IAM policy needs none of those rights and no profile of its
    making can outlive a teardown."""
    ebs = {"volumeSize": "%dGi" % spec["volume_size_gb"], "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}
    if ctx.get("kms_key_arn"):
        ebs["kmsKeyID"] = ctx["kms_key_arn"]
    body = {
        "instanceProfile": ctx["instance_profile"],
        "amiSelectorTerms": [{"alias": spec["ami_alias"]}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": ctx["cluster_name"]}}],
        # the cluster security group EKS creates (and tags) lets nodes, the control plane and pods talk
        "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": ctx["cluster_name"]}}],
        # IMDSv2 only, and one hop: pods (not on the host network) cannot reach the node role's credentials
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": 1,
                            "httpTokens": "required"},
        "blockDeviceMappings": [{"deviceName": ROOT_DEVICE, "ebs": ebs}],
        "tags": instance_tags(spec, ctx),
    }
    return {"apiVersion": "%s/%s" % NODECLASS_API[:2], "kind": NODECLASS_API[2],
            "metadata": {"name": spec["name"], "labels": _object_labels(spec, ctx)}, "spec": body}


def merged_spec(pool, defaults):
    """The spec as it will be built: defaults under the pool's own keys (validated as one, so a bad default fails too)."""
    merged = dict(defaults or {})
    merged.update(dict((k, v) for k, v in (pool or {}).items() if v is not None) if isinstance(pool, dict) else {})
    return merged if isinstance(pool, dict) else pool


def pool_manifests(pool, ctx, defaults=None, where="pool"):
    """(NodePool, EC2NodeClass) for one compact spec; PoolSpecError names every bad field."""
    pool = merged_spec(pool, defaults)
    problems = validate_pool(pool, where)
    if problems:
        raise PoolSpecError(problems)
    spec = normalise_pool(pool, defaults)
    return nodepool_manifest(spec, ctx), nodeclass_manifest(spec, ctx)


def pools_from_inventory(groups, shared_pools, defaults=None, dask=None):
    """The pool specs an inventory asks for: every hubops_nodepools entry (shared, no group label) and one pool per
    group (named after it) unless the group's nodepool says `shared: <pool>`, plus, with dask (hubops_dask_gateway)
    enabled, the spot-only `<group>-dask` worker pool of each group with a dask block (module_utils/services.py).
    No system/default pool: the core managed node group runs the system pods. Raises PoolSpecError on duplicate names
    or a shared reference to nothing."""
    defaults = dict(defaults or {})
    pools, problems, names = [], [], {}
    for index, pool in enumerate(shared_pools or []):
        spec = merged_spec(dict(pool or {}), defaults)
        spec.setdefault("group", None)
        where = "hubops_nodepools[%d]" % index
        problems.extend(validate_pool(spec, where))
        name = spec.get("name")
        if name in names:
            problems.append((where + ".name", "is '%s', which %s already uses." % (name, names[name]), "Give every pool its own name."))
        names[name] = where
        pools.append(spec)
    for index, group in enumerate(groups or []):
        group = group or {}
        own = dict(group.get("nodepool") or {})
        where = "hubops_groups[%d].nodepool" % index
        shared = own.pop("shared", None)
        if shared is not None:
            if own:
                problems.append((where, "sets shared: %s together with its own settings (%s)." % (shared, ", ".join(sorted(own))),
                                 "Either share a hubops_nodepools pool (shared: <name> alone) or describe the group's own pool."))
            if shared not in [p.get("name") for p in shared_pools or []]:
                problems.append((where + ".shared", "refers to pool '%s', which hubops_nodepools does not define." % shared,
                                 "Add {name: %s, ...} to hubops_nodepools, or remove shared." % shared))
            continue
        spec = merged_spec(own, defaults)
        spec.setdefault("name", group.get("name"))
        spec["group"] = group.get("name")
        problems.extend(validate_pool(spec, where))
        name = spec.get("name")
        if name in names:
            problems.append((where + ".name", "would be named '%s', which %s already uses." % (name, names[name]),
                             "Give the pool another name (nodepool: {name: ...}) or share it with shared: %s." % name))
        names[name] = where
        pools.append(spec)
    dask_index = dict((g.get("name"), i) for i, g in enumerate(groups or []) if isinstance(g, dict))
    for own in dask_pools(groups, dask):
        spec = merged_spec(own, defaults)
        where = "hubops_groups[%d].dask" % dask_index.get(spec["group"], 0)
        problems.extend(validate_pool(spec, where))
        name = spec.get("name")
        if name in names:
            problems.append((where, "needs the worker pool '%s', a name %s already uses." % (name, names[name]),
                             "Rename that pool or the group."))
        names[name] = where
        pools.append(spec)
    if problems:
        raise PoolSpecError(problems)
    return [normalise_pool(p, defaults) for p in pools]


def group_pool_names(groups):
    """group name -> the pool its servers run on by default (its own, or the shared one it names)."""
    result = {}
    for group in groups or []:
        own = (group or {}).get("nodepool") or {}
        result[group.get("name")] = own.get("shared") or own.get("name") or group.get("name")
    return result


# -------------------------------------------------------------------------------------------------------------------
# Controller IAM: the six policies of Karpenter's getting-started CloudFormation template, scoped to one cluster.

def _ec2(partition, region, what, account="*"):
    return "arn:%s:ec2:%s:%s:%s" % (partition, region, account, what)


def controller_policies(cluster, region, account, node_role_arn, queue_arn, instance_profile_arn, partition="aws"):
    """policy suffix -> IAM policy document for the Karpenter controller of `cluster`.

    Resources are scoped as upstream scopes them (cluster tags on launch templates and instances; the one node role for
    PassRole; the one queue; the one cluster). `*` stays only where AWS has no resource-level permission (Describe*,
    pricing, ListInstanceProfiles) or upstream pins it with a condition (zonal shift). Upstream's instance-profile
    create/tag/add-role/remove-role/delete rights are left out: our EC2NodeClasses name the profile the role made.
    GetInstanceProfile is scoped to that one profile."""
    owned = "aws:ResourceTag/kubernetes.io/cluster/%s" % cluster
    request_owned = "aws:RequestTag/kubernetes.io/cluster/%s" % cluster
    fleet_things = [_ec2(partition, region, k + "/*") for k in
                    ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    node_lifecycle = [
        {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
         "Resource": ["arn:%s:ec2:%s::image/*" % (partition, region), "arn:%s:ec2:%s::snapshot/*" % (partition, region)]
         + [_ec2(partition, region, k + "/*") for k in ("security-group", "subnet", "capacity-reservation", "placement-group")],
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"]},
        {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow",
         "Resource": _ec2(partition, region, "launch-template/*"), "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Condition": {"StringEquals": {owned: "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow", "Resource": fleet_things,
         "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Condition": {"StringEquals": {request_owned: "owned", "aws:RequestTag/eks:eks-cluster-name": cluster},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow", "Resource": fleet_things, "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {request_owned: "owned", "aws:RequestTag/eks:eks-cluster-name": cluster,
                                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Resource": _ec2(partition, region, "instance/*"),
         "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {owned: "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                       "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
        {"Sid": "AllowScopedDeletion", "Effect": "Allow",
         "Resource": [_ec2(partition, region, "instance/*"), _ec2(partition, region, "launch-template/*")],
         "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Condition": {"StringEquals": {owned: "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
    ]
    iam_integration = [
        {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Resource": node_role_arn, "Action": "iam:PassRole",
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
    ]
    cluster_arn = "arn:%s:eks:%s:%s:cluster/%s" % (partition, region, account, cluster)
    eks_integration = [{"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Resource": cluster_arn,
                        "Action": "eks:DescribeCluster"}]
    interruption = [{"Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": queue_arn,
                     "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]}]
    zonal_shift = [{"Sid": "AllowZonalShiftStatusReadOnly", "Effect": "Allow", "Resource": "*",
                    "Action": ["arc-zonal-shift:GetManagedResource"],
                    "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}}}]
    discovery = [
        {"Sid": "AllowRegionalReadActions", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        {"Sid": "AllowSSMReadActions", "Effect": "Allow", "Resource": "arn:%s:ssm:%s::parameter/aws/service/*" % (partition, region),
         "Action": "ssm:GetParameter"},
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Resource": "*", "Action": "iam:ListInstanceProfiles"},
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": instance_profile_arn, "Action": "iam:GetInstanceProfile"},
    ]
    docs = {"node-lifecycle": node_lifecycle, "iam-integration": iam_integration, "eks-integration": eks_integration,
            "interruption": interruption, "resource-discovery": discovery, "zonal-shift": zonal_shift}
    return dict((name, {"Version": "2012-10-17", "Statement": copy.deepcopy(statements)}) for name, statements in docs.items())


MANAGED_POLICY_MAX_CHARS = 6144


def controller_policy(cluster, region, account, node_role_arn, queue_arn, instance_profile_arn, partition="aws"):
    """The six parts of controller_policies() as one managed policy document (one policy to create, attach and read
    back on every run instead of six). About 5,000 characters for the longest names, under IAM's 6,144."""
    parts = controller_policies(cluster, region, account, node_role_arn, queue_arn, instance_profile_arn, partition)
    return {"Version": "2012-10-17", "Statement": [st for name in sorted(parts) for st in parts[name]["Statement"]]}


# EventBridge rules that feed the interruption queue: kind (rule name suffix) -> event pattern. The same five as
# upstream's getting-started CloudFormation template.
INTERRUPTION_RULES = {
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity": {"source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
}


def queue_policy(queue_arn):
    """Only EventBridge (and SQS itself) may send; nothing over plain HTTP."""
    return {"Version": "2012-10-17", "Id": "EC2InterruptionPolicy", "Statement": [
        {"Sid": "AllowEventBridge", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
         "Action": "sqs:SendMessage", "Resource": queue_arn},
        {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}
