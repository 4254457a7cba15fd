# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services beside the hub, as plain functions: dask-gateway (its chart values, the hub's side of its JupyterHub
auth, the spot-only worker pool of each dask group) and the optional charts of hubops_services.

Secrets never pass through here: the gateway's JupyterHub API token lives in two Kubernetes Secrets the services role
writes with no_log (TOKEN_SECRET in the gateway's namespace, read by the chart through apiTokenFromSecretName;
HUB_SERVICES_SECRET in the hub's namespace, mounted by z2jh as hub.existingSecret). Values only name them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.hubops.eks.plugins.module_utils.charts import deep_merge
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_GROUP

RELEASE = "dask-gateway"
DEFAULT_NAMESPACE = "dask-gateway"
# The chart names its objects <prefix>-<fullname>; fullname is the release name when it contains the chart name.
TRAEFIK_SERVICE = "traefik-" + RELEASE
TRAEFIK_PORT = 80
# The port traefik listens on in its pod (web and, with traefik.service.ports.tcp.port: web, scheduler TCP too):
# what a NetworkPolicy egress rule of the user servers has to allow.
TRAEFIK_POD_PORT = 8000
SERVICE_NAME = "dask-gateway"
PREFIX = "/services/" + SERVICE_NAME
TOKEN_SECRET = "hubops-dask-gateway-token"
TOKEN_KEY = "jupyterhub-api-token"
HUB_SERVICES_SECRET = "hubops-hub-services"
HUB_TOKEN_KEY = "hub.services.%s.apiToken" % SERVICE_NAME
DASK_TAINT = {"key": "hubops.io/dask", "value": "true", "effect": "NoSchedule"}
POOL_SUFFIX = "-dask"
DEFAULT_IDLE_TIMEOUT = 1800
DEFAULT_LIMITS = {"max_cores": 16, "max_memory": "64Gi", "max_clusters": 2, "max_workers": 16}
CONFIG_KEY = "50-hubops"


class ServicesError(ValueError):
    pass


def dask_settings(dask):
    """hubops_dask_gateway with every default filled in."""
    dask = dict(dask or {})
    out = {
        "enabled": bool(dask.get("enabled", False)),
        "namespace": dask.get("namespace") or DEFAULT_NAMESPACE,
        "worker_image": dask.get("worker_image") or None,
        "idle_timeout": dask.get("idle_timeout", DEFAULT_IDLE_TIMEOUT),
        "consolidate_after": dask.get("consolidate_after") or "1m",
        "ami_alias": dask.get("ami_alias") or None,
    }
    return out


def dask_groups(groups):
    """[{name, members, limits}] of the groups with a dask block, in inventory order."""
    out = []
    for group in groups or []:
        group = group or {}
        if group.get("dask") is None:
            continue
        limits = dict(DEFAULT_LIMITS)
        limits.update(dict((k, v) for k, v in (group.get("dask") or {}).items() if v is not None))
        out.append({"name": group["name"], "members": copy.deepcopy(group.get("members") or {}),
                    "pool": pool_name(group["name"]),
                    "limits": {"max_cores": limits["max_cores"], "max_memory": str(limits["max_memory"]),
                               "max_clusters": int(limits["max_clusters"]), "max_workers": int(limits["max_workers"])},
                    "instance_types": list(limits.get("instance_types") or [])})
    return out


def pool_name(group):
    return group + POOL_SUFFIX


def dask_pools(groups, dask):
    """The compact Karpenter pool spec of every dask group's worker pool (none when dask-gateway is off): spot only,
    tainted so that only dask pods (which tolerate it) land there, labelled with the group for cost allocation."""
    settings = dask_settings(dask)
    if not settings["enabled"]:
        return []
    pools = []
    for group in dask_groups(groups):
        spec = {"name": group["pool"], "group": group["name"], "user": False, "capacity": ["spot"],
                "taints": [dict(DASK_TAINT)], "consolidation": "WhenEmpty",
                "consolidate_after": settings["consolidate_after"]}
        if group["instance_types"]:
            spec["instance_types"] = group["instance_types"]
        if settings["ami_alias"]:
            spec["ami_alias"] = settings["ami_alias"]
        pools.append(spec)
    return pools


def gateway_config(groups, dask):
    """What roles/services/files/dask_gateway_config.py reads (JSON in the extraConfig): the dask groups with their
    members and limits, where their pods go, and the cluster idle timeout."""
    settings = dask_settings(dask)
    return {
        "groups": dask_groups(groups),
        "idle_timeout": int(settings["idle_timeout"]),
        "group_label": LABEL_GROUP,
        "pool_label": "hubops.io/pool",
        "taint": dict(DASK_TAINT),
    }


def _split_image(ref):
    if "@" in ref:
        return ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        return tuple(ref.rsplit(":", 1))
    return ref, "latest"


def gateway_values(settings):
    """dask-gateway chart values. settings: groups, dask (hubops_dask_gateway), hub_namespace, config_text
    (roles/services/files/dask_gateway_config.py), core_nodegroup, chart_values (merged last)."""
    dask = dask_settings(settings.get("dask"))
    core = {"eks.amazonaws.com/nodegroup": settings.get("core_nodegroup") or "core"}
    config = gateway_config(settings.get("groups"), settings.get("dask"))
    text = settings.get("config_text") or ""
    if "def configure(" not in text:
        raise ServicesError("dask-gateway: the gateway configuration code (config_text) has no configure(c, settings).")
    hub_ns = settings.get("hub_namespace") or "jupyterhub"
    values = {
        "gateway": {
            "prefix": PREFIX,
            "nodeSelector": dict(core),
            "auth": {
                "type": "jupyterhub",
                "jupyterhub": {
                    # the token is never a value: the chart mounts it from the Secret the services role writes
                    "apiTokenFromSecretName": TOKEN_SECRET,
                    "apiTokenFromSecretKey": TOKEN_KEY,
                    "apiUrl": "http://hub.%s:8081/hub/api" % hub_ns,
                },
            },
            "extraConfig": {CONFIG_KEY: "%s\n\nconfigure(c, json.loads(%r))  # noqa: F821\n"
                                        % (text.rstrip("\n"), json.dumps(config, sort_keys=True))},
        },
        "controller": {"nodeSelector": dict(core)},
        "traefik": {
            "nodeSelector": dict(core),
            # reached in the cluster only (the notebooks, and the hub's proxy for dashboards under /services/dask-gateway)
            "service": {"type": "ClusterIP"},
        },
    }
    if dask["worker_image"]:
        name, tag = _split_image(dask["worker_image"])
        image = {"name": name}
        if tag:
            image["tag"] = tag
        values["gateway"]["backend"] = {"image": image}
    return deep_merge(values, settings.get("chart_values") or {})


def gateway_address(namespace):
    return "http://%s.%s:%d%s" % (TRAEFIK_SERVICE, namespace, TRAEFIK_PORT, PREFIX)


def hub_values(dask):
    """The z2jh values dask-gateway needs (merged into the hub's by module_utils/hub.py): the hub service (its token
    from hub.existingSecret), hub API access from the gateway's namespace, and the notebooks' environment, so that
    dask_gateway.Gateway() works with no arguments. {} when dask-gateway is off."""
    settings = dask_settings(dask)
    if not settings["enabled"]:
        return {}
    namespace = settings["namespace"]
    proxy = "http://%s.%s:%d" % (TRAEFIK_SERVICE, namespace, TRAEFIK_PORT)
    return {
        "hub": {
            "existingSecret": HUB_SERVICES_SECRET,
            "services": {SERVICE_NAME: {"display": False, "url": proxy}},
            # the gateway's API pod (label hub.jupyter.org/network-access-hub) checks users' tokens with the hub
            "networkPolicy": {"interNamespaceAccessLabels": "accept"},
        },
        "singleuser": {
            "extraEnv": {
                "DASK_GATEWAY__ADDRESS": gateway_address(namespace),
                "DASK_GATEWAY__PROXY_ADDRESS": "gateway://%s.%s:%d" % (TRAEFIK_SERVICE, namespace, TRAEFIK_PORT),
                "DASK_GATEWAY__PUBLIC_ADDRESS": PREFIX + "/",
                "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
            },
        },
    }


def hub_egress_rule(dask):
    """The user servers' NetworkPolicy egress rule to the gateway's proxy (None when dask-gateway is off)."""
    settings = dask_settings(dask)
    if not settings["enabled"]:
        return None
    return {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": settings["namespace"]}}}],
            "ports": [{"port": TRAEFIK_POD_PORT, "protocol": "TCP"}]}
