# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""z2jh chart values from the inventory, as plain functions (the jupyterhub role calls them through filters).

Three outputs, kept apart so no secret ever reaches Helm values, `helm get values` or Ansible's output:

- `hub_secrets(settings)`: the secret environment of the hub pod (OAuth client, LDAP bind password, DANDI token)
  and the user image pull secrets, each a Kubernetes Secret the role writes with no_log;
- `hub_custom(settings)`: the `custom.hubops` value the hub's own Python (roles/jupyterhub/files/hubops_hub) reads:
  groups with resolved pools and profiles, the image allow-list, non-secret auth settings;
- `hub_values(settings)`: the whole values dict, which refers to the secrets by name only and carries their
  checksum so a changed secret restarts the hub.

`settings` is one dict the role assembles from hubops_* variables (see roles/jupyterhub/defaults/main.yml):
deployment, groups, nodepools, image_allowlist, image_registries, hub (hubops_hub), files ({name: text} of
hubops_hub/*.py), pool_defaults, core_nodegroup, cognito (the cognito_user_pool result, auth type cognito),
ingress (None for no public endpoint, else {mode, certificate_arn, source_ranges, scheme}), tags, storage (the
storage plan's hub part, module_utils/storage.py `hub_storage`; None leaves the chart's home storage), dask
(hubops_dask_gateway; when enabled, the hub registers the dask-gateway service, module_utils/services.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os

from ansible_collections.hubops.eks.plugins.module_utils.charts import deep_merge, mirror_image
from ansible_collections.hubops.eks.plugins.module_utils.ingress import proxy_values
from ansible_collections.hubops.eks.plugins.module_utils.karpenter import pools_from_inventory
from ansible_collections.hubops.eks.plugins.module_utils.monitoring import hub_metrics_values
from ansible_collections.hubops.eks.plugins.module_utils import services as _services
from ansible_collections.hubops.eks.plugins.module_utils.storage import singleuser_storage
from ansible_collections.hubops.eks.plugins.module_utils.naming import LABEL_DEPLOYMENT, LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE

HUB_DIR = "/usr/local/etc/jupyterhub"
FILES_DIR = HUB_DIR + "/hubops_hub"
AUTH_SECRET = "hubops-hub-auth"
PULL_SECRET = "hubops-user-pull"
# What a group without profiles gets: one modest server on its pool (with the pool's GPUs on a GPU pool).
DEFAULT_PROFILE = {"name": "standard", "display_name": "Standard", "cpu": 2, "memory": "8Gi"}
# docker-stacks tags each build with its package versions; this one exists upstream (notebook 7.5, JupyterLab 4.5).
DEFAULT_IMAGE = "quay.io/jupyter/scipy-notebook:notebook-7.5.0"
# Nodes are bought on demand: Karpenter needs ~1 min for a node, a large image several more to pull.
DEFAULT_START_TIMEOUT = 900
DEFAULT_CULLING = {"enabled": True, "timeout": 3600, "every": 600, "max_age": 0}
DEFAULT_DB = {"size": "1Gi", "storage_class": "hubops-gp3", "snapshot_on_upgrade": True}
# Every image the z2jh 4.x chart runs: values path -> upstream repository (the tag stays the chart's).
CHART_IMAGES = (
    (("hub", "image"), "quay.io/jupyterhub/k8s-hub"),
    (("proxy", "chp", "image"), "quay.io/jupyterhub/configurable-http-proxy"),
    (("proxy", "traefik", "image"), "docker.io/library/traefik"),   # the chart writes it "traefik"
    (("proxy", "secretSync", "image"), "quay.io/jupyterhub/k8s-secret-sync"),
    (("singleuser", "networkTools", "image"), "quay.io/jupyterhub/k8s-network-tools"),
    (("scheduling", "userScheduler", "image"), "registry.k8s.io/kube-scheduler"),
    (("scheduling", "userPlaceholder", "image"), "registry.k8s.io/pause"),
    (("prePuller", "hook", "image"), "quay.io/jupyterhub/k8s-image-awaiter"),
    (("prePuller", "pause", "image"), "registry.k8s.io/pause"),
)
# Secret environment variable of the hub pod per auth setting (read by hubops_hub/auth.py and dandi.py).
ENV_CLIENT_ID = "HUBOPS_OAUTH_CLIENT_ID"
ENV_CLIENT_SECRET = "HUBOPS_OAUTH_CLIENT_SECRET"
ENV_LDAP_PASSWORD = "HUBOPS_LDAP_BIND_PASSWORD"
ENV_DANDI_TOKEN = "DANDI_API_TOKEN"
MEMBER_KEY = {"github": "github_teams", "dandi": "github_teams", "cognito": "cognito_groups", "oidc": "oidc_groups",
              "ldap": "ldap_groups", "dummy": None}
# Non-secret auth settings passed through to the hub as they are.
AUTH_PASSTHROUGH = ("admins", "allowed_users", "allowed_organizations", "scope", "username_claim", "authorize_url",
                    "token_url", "userdata_url", "groups_claim", "server_address", "server_port", "use_ssl",
                    "start_tls", "ca_bundle", "bind_dn", "user_search_base", "user_attribute", "allowed_groups", "logout_url")
HUB_EXTRA_CONFIG = """\
# hubops.eks: authentication and per-group profiles (roles/jupyterhub/files/hubops_hub, mounted beside this file).
import sys

sys.path.insert(0, "%s")
from hubops_hub.auth import configure_auth  # noqa: E402
from hubops_hub.profiles import make_profile_list  # noqa: E402
from hubops_hub.storage import make_pre_spawn_hook  # noqa: E402

configure_auth(c, get_config("custom.hubops"))  # noqa: F821
c.KubeSpawner.profile_list = make_profile_list(get_config("custom.hubops"))  # noqa: F821
if get_config("custom.hubops").get("storage"):  # noqa: F821
    c.KubeSpawner.pre_spawn_hook = make_pre_spawn_hook(get_config("custom.hubops"))  # noqa: F821
""" % HUB_DIR


class HubValuesError(ValueError):
    pass


def auth_type(hub):
    """The effective authenticator: github with a dandi_api block is the DANDI registered-user check."""
    auth = (hub or {}).get("auth") or {}
    kind = auth.get("type") or "dummy"
    if kind == "github" and auth.get("dandi_api"):
        return "dandi"
    return kind


def _pool_gpus(pools_by_name, name):
    pool = pools_by_name.get(name) or {}
    return int(((pool.get("gpu") or {}).get("count")) or 0)


def user_image(ref, registries):
    """A user image through the hubops_image_registries mirrors, like the chart's images. Inventories may write Docker
    Hub images short ("jupyter/base-notebook", "python:3"): they match a docker.io mirror as docker.io/... would;
    an image no mirror matches stays as written."""
    if not registries:
        return ref
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        full = "docker.io/library/" + ref
    elif "." not in first and ":" not in first and first != "localhost":
        full = "docker.io/" + ref
    else:
        full = ref
    mirrored = mirror_image(full, registries)
    return ref if mirrored == full else mirrored


def hub_custom(settings):
    """The `custom.hubops` value: groups with their profiles resolved to pool names, the allow-list, auth settings.
    Profile images go through the image mirrors (hubops_image_registries), as the singleuser default does."""
    groups = settings.get("groups") or []
    shared = settings.get("nodepools") or []
    pools = {p["name"]: p for p in pools_from_inventory(groups, shared, settings.get("pool_defaults"))}
    hub = settings.get("hub") or {}
    kind = auth_type(hub)
    registries = settings.get("image_registries") or {}
    default_image = user_image(hub.get("default_image") or DEFAULT_IMAGE, registries)
    out_groups = []
    for group in groups:
        own = group.get("nodepool") or {}
        group_pool = own.get("shared") or own.get("name") or group["name"]
        profiles = group.get("profiles") or [dict(DEFAULT_PROFILE, gpu=_pool_gpus(pools, group_pool))]
        out_profiles = []
        for profile in profiles:
            pool = profile.get("nodepool") or group_pool
            entry = {
                "name": profile["name"],
                "display_name": profile.get("display_name") or profile["name"],
                "cpu": profile.get("cpu", DEFAULT_PROFILE["cpu"]),
                "memory": str(profile.get("memory", DEFAULT_PROFILE["memory"])),
                "gpu": int(profile.get("gpu") or 0),
                "images": [user_image(i, registries) for i in profile.get("images") or []] or [default_image],
                "allow_custom_image": bool(profile.get("allow_custom_image", False)),
                "nodepool": pool,
                "default": bool(profile.get("default", False)),
            }
            if profile.get("description"):
                entry["description"] = profile["description"]
            out_profiles.append(entry)
        members = {k: list(v) for k, v in sorted((group.get("members") or {}).items()) if v}
        out_groups.append({"name": group["name"], "display_name": group.get("display_name") or group["name"],
                           "members": members, "profiles": out_profiles})
    return {
        "deployment": settings["deployment"],
        "auth_type": kind,
        "auth": auth_settings(settings),
        "image_allowlist": list(settings.get("image_allowlist") or []),
        "groups": out_groups,
        "storage": settings.get("storage") or None,
    }


def auth_settings(settings):
    """Non-secret authenticator settings for hubops_hub/auth.py (secrets go to the hub's environment instead)."""
    hub = settings.get("hub") or {}
    auth = hub.get("auth") or {}
    kind = auth_type(hub)
    out = {"type": kind}
    for key in AUTH_PASSTHROUGH:
        if auth.get(key) not in (None, [], ""):
            out[key] = copy.deepcopy(auth[key])
    if hub.get("domain"):
        out["oauth_callback_url"] = "https://%s/hub/oauth_callback" % hub["domain"]
    member_key = MEMBER_KEY.get(kind)
    if member_key:
        union = []
        for group in settings.get("groups") or []:
            for name in (group.get("members") or {}).get(member_key) or []:
                if name not in union:
                    union.append(name)
        out["all_member_groups"] = union
    if kind == "dandi":
        dandi = auth.get("dandi_api") or {}
        if dandi.get("url"):
            out["dandi_api_url"] = dandi["url"]
        if dandi.get("register_url"):
            out["dandi_register_url"] = dandi["register_url"]
    if kind == "cognito":
        cognito = settings.get("cognito") or {}
        for key in ("authorize_url", "token_url", "userdata_url", "logout_url"):
            if cognito.get(key):
                out[key] = cognito[key]
        out.setdefault("username_claim", "username")
        out["groups_claim"] = "cognito:groups"
    return out


def hub_files(directory):
    """{file name: text} of the hub-side Python in `directory` (roles/jupyterhub/files/hubops_hub), for hub.extraFiles."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name)) as handle:
                out[name] = handle.read()
    return out


def cognito_groups(groups):
    """The Cognito groups the inventory's members.cognito_groups name, for hubops.eks.cognito_user_pool."""
    wanted = {}
    for group in groups or []:
        for name in (group.get("members") or {}).get("cognito_groups") or []:
            wanted.setdefault(name, []).append(group["name"])
    return [{"name": name, "description": "hubops: members use the servers of %s" % ", ".join(users)}
            for name, users in sorted(wanted.items())]


def hub_secrets(settings):
    """{"auth": {ENV: value}, "pull": dockerconfigjson text or None, "checksum": sha256 of both}."""
    hub = settings.get("hub") or {}
    auth = hub.get("auth") or {}
    kind = auth_type(hub)
    env = {}
    if kind in ("github", "dandi", "oidc"):
        env[ENV_CLIENT_ID] = auth.get("client_id") or ""
        env[ENV_CLIENT_SECRET] = auth.get("client_secret") or ""
    elif kind == "cognito":
        cognito = settings.get("cognito") or {}
        env[ENV_CLIENT_ID] = cognito.get("client_id") or auth.get("client_id") or ""
        env[ENV_CLIENT_SECRET] = cognito.get("client_secret") or auth.get("client_secret") or ""
    elif kind == "ldap":
        env[ENV_LDAP_PASSWORD] = auth.get("bind_password") or ""
    if kind == "dandi":
        env[ENV_DANDI_TOKEN] = (auth.get("dandi_api") or {}).get("token") or ""
    missing = sorted(k for k, v in env.items() if not v)
    if missing:
        raise HubValuesError("hubops_hub.auth: no value for %s (auth type %s); set it from a vault_* variable."
                             % (", ".join(missing), kind))
    pull = None
    registries = hub.get("image_pull_secrets") or []
    if registries:
        auths = {}
        for entry in registries:
            auths[entry["registry"]] = {"username": entry["username"], "password": entry["password"]}
        pull = json.dumps({"auths": auths}, sort_keys=True)
    digest = hashlib.sha256(json.dumps({"auth": env, "pull": pull}, sort_keys=True).encode("utf-8")).hexdigest()
    return {"auth": env, "pull": pull, "checksum": digest}


def _set(tree, path, value):
    node = tree
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _split_image(ref):
    """quay.io/jupyter/scipy-notebook:2025-10-20 -> (name, tag); a digest stays in the name, tag None."""
    if "@" in ref:
        return ref, None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
        return name, tag
    return ref, "latest"


def _network_egress(hub):
    rules = []
    for service in (hub.get("network") or {}).get("allow_services") or []:
        peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": service["namespace"]}}}
        if service.get("pod_labels"):
            peer["podSelector"] = {"matchLabels": dict(service["pod_labels"])}
        rule = {"to": [peer]}
        if service.get("ports"):
            rule["ports"] = [{"port": int(p), "protocol": "TCP"} for p in service["ports"]]
        rules.append(rule)
    return rules


def hub_values(settings):
    """The z2jh values for the inventory (merged by Helm over the chart's defaults); no secret in them."""
    deployment = settings["deployment"]
    hub = settings.get("hub") or {}
    registries = settings.get("image_registries") or {}
    core = {"eks.amazonaws.com/nodegroup": settings.get("core_nodegroup") or "core"}
    culling = dict(DEFAULT_CULLING, **(hub.get("culling") or {}))
    db = dict(DEFAULT_DB, **(hub.get("db") or {}))
    secrets = hub_secrets(settings)
    placeholders = int((hub.get("placeholders") or {}).get("replicas") or 0)
    files = settings.get("files") or {}
    ownership = {LABEL_MANAGED_BY: LABEL_MANAGED_BY_VALUE, LABEL_DEPLOYMENT: deployment}
    image_name, image_tag = _split_image(user_image(hub.get("default_image") or DEFAULT_IMAGE, registries))

    extra_env = {}
    for env_name in sorted(secrets["auth"]):
        extra_env[env_name] = {"valueFrom": {"secretKeyRef": {"name": AUTH_SECRET, "key": env_name}}}

    values = {
        "hub": {
            "nodeSelector": dict(core),
            "labels": dict(ownership),
            # A changed secret (rotated OAuth secret, new pull credentials) restarts the hub, which reads them at start.
            "annotations": {"hubops.io/secrets-checksum": secrets["checksum"]},
            "extraFiles": dict(("hubops-%s" % name[:-3].strip("_").replace("_", "-"),
                                {"mountPath": "%s/%s" % (FILES_DIR, name), "stringData": text})
                               for name, text in sorted(files.items())),
            "extraConfig": {"10-hubops": HUB_EXTRA_CONFIG},
            "extraEnv": extra_env,
            "db": {"type": "sqlite-pvc",
                   "pvc": {"storage": str(db["size"]), "storageClassName": db["storage_class"],
                           "annotations": {"hubops.io/backup": "snapshot-before-chart-upgrade"}}},
            "networkPolicy": {"enabled": True},
            "config": {"JupyterHub": {"admin_access": False}},
        },
        "proxy": {
            "chp": {"nodeSelector": dict(core)},
            "traefik": {"nodeSelector": dict(core)},
            # Without an ingress (no domain) the hub is reached by port-forward; see proxy_values() for NLB / ALB.
            "service": {"type": "ClusterIP"},
        },
        "singleuser": {
            "image": {"name": image_name, "tag": image_tag},
            "startTimeout": int(hub.get("start_timeout") or DEFAULT_START_TIMEOUT),
            "uid": 1000,
            "fsGid": 100,
            "allowPrivilegeEscalation": False,
            "extraLabels": dict(ownership),
            "extraPodConfig": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}},
            "cloudMetadata": {"blockWithIptables": True},
            "networkPolicy": {
                "enabled": True,
                # Internet yes, the instance metadata service (node IAM role) no, private addresses only for DNS,
                # in-cluster services only those hubops_hub.network.allow_services lists.
                "egressAllowRules": {"cloudMetadataServer": False, "dnsPortsCloudMetadataServer": False,
                                     "dnsPortsKubeSystemNamespace": True, "dnsPortsPrivateIPs": True,
                                     "nonPrivateIPs": True, "privateIPs": False},
                "egress": _network_egress(hub),
            },
        },
        "scheduling": {
            "userScheduler": {"enabled": True, "nodeSelector": dict(core)},
            "podPriority": {"enabled": placeholders > 0},
            "userPlaceholder": {"enabled": placeholders > 0, "replicas": placeholders},
            # Core pods are pinned to the core node group above; user pods to their Karpenter pool by the profile.
            "corePods": {"nodeAffinity": {"matchNodePurpose": "ignore"}},
            "userPods": {"nodeAffinity": {"matchNodePurpose": "ignore"}},
        },
        "cull": {"enabled": bool(culling["enabled"]), "timeout": int(culling["timeout"]), "every": int(culling["every"]),
                 "maxAge": int(culling["max_age"]), "users": False, "adminUsers": True},
        "custom": {"hubops": hub_custom(settings)},
    }
    # dask-gateway (module_utils/services.py): the hub service, its token from hub.existingSecret, the notebooks'
    # environment, and the servers' egress to the gateway's proxy (appended: deep_merge replaces lists).
    values = deep_merge(values, _services.hub_values(settings.get("dask")))
    rule = _services.hub_egress_rule(settings.get("dask"))
    if rule and rule not in values["singleuser"]["networkPolicy"]["egress"]:
        values["singleuser"]["networkPolicy"]["egress"].append(rule)
    # Monitoring (module_utils/monitoring.py): a service token with read:metrics only, and Prometheus let in.
    if settings.get("metrics"):
        metrics = hub_metrics_values(settings["metrics"]["namespace"])
        ingress = metrics["hub"]["networkPolicy"].pop("ingress")
        values = deep_merge(values, metrics)
        policy = values["hub"]["networkPolicy"]
        policy["ingress"] = list(policy.get("ingress") or []) + ingress  # appended: deep_merge replaces lists
    if settings.get("ingress") is not None:
        values = deep_merge(values, proxy_values(settings["ingress"], hub.get("domain"), deployment, settings.get("tags")))
    home = singleuser_storage(settings.get("storage"))
    if home:
        values["singleuser"]["storage"] = home
    if secrets["pull"]:
        values["singleuser"]["image"]["pullSecrets"] = [PULL_SECRET]
    if not image_tag:
        values["singleuser"]["image"].pop("tag")
    if registries:
        for path, upstream in CHART_IMAGES:
            mirrored = mirror_image(upstream, registries)
            if mirrored != upstream:
                _set(values, path + ("name",), mirrored)
    return deep_merge(values, settings.get("chart_values") or {})
