# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""EKS APIs that moto 5.2.5 lacks: add-ons, access entries, pod identity associations, version upgrades.

Test infrastructure only (launcher.py calls `install()` from `_apply_patches()`).

Routing: moto's server builds the EKS Flask app from `moto.eks.urls.url_paths` on the first EKS request it gets, so
`install()` adds the missing URL patterns there (it must run before that first request). Flask only has to reach
`EKSResponse.dispatch`; the action itself is then found from the botocore service model, and the snake_case method
of that name is called on `EKSResponse`, where `install()` puts the methods of `HubopsEKSResponse` below.

State: per account and region, on moto's `EKSBackend` objects, in `backend.hubops_eks` (cluster name ->
`ClusterExtras`), dropped with the cluster. Like the rest of moto, everything is ACTIVE at once and every update is
Successful at once. Response shapes, ARNs and errors follow real EKS.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import re
import string

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.eks import urls as eks_urls
from moto.eks.exceptions import InvalidParameterException, InvalidRequestException, ResourceInUseException, ResourceNotFoundException
from moto.eks.models import EKSBackend
from moto.eks.responses import EKSResponse
from moto.moto_api._internal import mock_random as random

KUBERNETES_MINORS = range(28, 36)  # 1.28 .. 1.35: what the add-on catalogue knows
RELEASE_DATE = "20261101"  # AMI release of the emulated EKS-optimized AMIs (same as launcher.py's SSM parameters)
DEFAULT_PAGE = 100
AUTH_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")  # in the only order EKS lets a cluster move through them
ACCESS_ENTRY_TYPES = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX")
RESOLVE_CONFLICTS = ("OVERWRITE", "NONE", "PRESERVE")
ACCESS_POLICIES = ("AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSAutoNodePolicy", "AmazonEKSBlockStoragePolicy",
                   "AmazonEKSClusterAdminPolicy", "AmazonEKSComputePolicy", "AmazonEKSEditPolicy", "AmazonEKSLoadBalancingPolicy",
                   "AmazonEKSNetworkingPolicy", "AmazonEKSViewPolicy")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]+$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):(?P<kind>role|user)/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$")
_ROOT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):root$")
_MINOR = re.compile(r"^1\.(\d+)$")


def _kube_proxy_versions() -> list:
    return [(f"v1.{m}.{patch}-eksbuild.{build}", m, m) for m in KUBERNETES_MINORS for patch, build in ((3, 2), (8, 5))]


# name -> type, owner, service account + recommended policies (Pod Identity), versions as (version, first minor, last minor)
ADDONS = {
    "vpc-cni": {
        "type": "networking", "owner": "aws", "serviceAccount": "aws-node",
        "policies": ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"],
        "versions": [("v1.18.6-eksbuild.1", 28, 32), ("v1.19.2-eksbuild.1", 28, 35), ("v1.19.6-eksbuild.7", 29, 35),
                     ("v1.20.4-eksbuild.2", 30, 35)],
    },
    "coredns": {
        "type": "networking", "owner": "aws", "serviceAccount": None, "policies": [],
        "versions": [("v1.10.1-eksbuild.18", 28, 29), ("v1.11.1-eksbuild.13", 29, 30), ("v1.11.3-eksbuild.2", 29, 31),
                     ("v1.11.4-eksbuild.14", 30, 33), ("v1.12.1-eksbuild.2", 31, 35), ("v1.12.4-eksbuild.1", 32, 35)],
    },
    "kube-proxy": {"type": "networking", "owner": "aws", "serviceAccount": None, "policies": [], "versions": _kube_proxy_versions()},
    "eks-pod-identity-agent": {
        "type": "security", "owner": "aws", "serviceAccount": None, "policies": [],
        "versions": [("v1.3.4-eksbuild.1", 28, 35), ("v1.3.8-eksbuild.2", 28, 35)],
    },
    "aws-ebs-csi-driver": {
        "type": "storage", "owner": "aws", "serviceAccount": "ebs-csi-controller-sa",
        "policies": ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"],
        "versions": [("v1.35.0-eksbuild.2", 28, 34), ("v1.41.0-eksbuild.1", 28, 35), ("v1.48.0-eksbuild.2", 29, 35)],
    },
    "aws-efs-csi-driver": {
        "type": "storage", "owner": "aws", "serviceAccount": "efs-csi-controller-sa",
        "policies": ["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"],
        "versions": [("v2.0.9-eksbuild.1", 28, 34), ("v2.1.8-eksbuild.1", 28, 35), ("v2.1.11-eksbuild.1", 29, 35)],
    },
    "metrics-server": {
        "type": "observability", "owner": "community", "serviceAccount": None, "policies": [],
        "versions": [("v0.7.2-eksbuild.3", 28, 35), ("v0.8.0-eksbuild.2", 29, 35)],
    },
}

# UpdateClusterConfig: request member -> (update type, update param type, cluster attribute)
CLUSTER_CONFIG_UPDATES = {
    "logging": ("LoggingUpdate", "ClusterLogging", "logging"),
    "accessConfig": ("AccessConfigUpdate", "AuthenticationMode", "access_config"),
    "kubernetesNetworkConfig": ("AutoModeUpdate", "KubernetesNetworkConfig", "kubernetes_network_config"),
    "computeConfig": ("AutoModeUpdate", "ComputeConfig", "compute_config"),
    "storageConfig": ("AutoModeUpdate", "StorageConfig", "storage_config"),
    "remoteNetworkConfig": ("RemoteNetworkConfigUpdate", "RemoteNetworkConfig", "remote_network_config"),
    "upgradePolicy": ("UpgradePolicyUpdate", "UpgradePolicy", "upgrade_policy"),
    "zonalShiftConfig": ("ZonalShiftConfigUpdate", "ZonalShiftConfig", "zonal_shift_config"),
    "deletionProtection": ("DeletionProtectionUpdate", "DeletionProtection", "deletion_protection"),
}

CLUSTER = "(?P<name>[^/]+)"
EXTRA_URL_PATHS = (
    "{0}/clusters/" + CLUSTER + "/addons$",
    "{0}/clusters/" + CLUSTER + "/addons/(?P<addonName>[^/]+)$",
    "{0}/clusters/" + CLUSTER + "/addons/(?P<addonName>[^/]+)/update$",
    "{0}/addons/supported-versions$",
    "{0}/addons/configuration-schemas$",
    "{0}/clusters/" + CLUSTER + "/access-entries$",
    # The principal ARN arrives %2F-encoded, Flask sees it decoded: `.+` also covers .../access-policies[/<policy ARN>].
    "{0}/clusters/" + CLUSTER + "/access-entries/(?P<principalArn>.+)$",
    "{0}/access-policies$",
    "{0}/clusters/" + CLUSTER + "/pod-identity-associations$",
    "{0}/clusters/" + CLUSTER + "/pod-identity-associations/(?P<associationId>[^/]+)$",
    "{0}/clusters/" + CLUSTER + "/updates$",
    "{0}/clusters/" + CLUSTER + "/updates/(?P<updateId>[^/]+)$",
    "{0}/clusters/" + CLUSTER + "/node-groups/(?P<nodegroupName>[^/]+)/update-version$",
)

ORIGINALS: dict = {}


class ClusterExtras:
    """What moto does not keep about one cluster."""

    def __init__(self) -> None:
        self.addons: dict = {}  # addon name -> Addon
        self.access_entries: dict = {}  # principal ARN -> AccessEntry
        self.access_policies: dict = {}  # principal ARN -> {policy ARN -> AssociatedAccessPolicy}
        self.associations: dict = {}  # association id -> PodIdentityAssociation
        self.updates: list = []  # {"update": Update, "nodegroup": name or None, "addon": name or None}, oldest first


# ------------------------------------------------------------------------------------------------------ helpers
def _error(exc_class, message: str, **fields):
    return exc_class(message=message, **{k: v for k, v in fields.items() if v is not None})


def _store(backend) -> dict:
    store = getattr(backend, "hubops_eks", None)
    if store is None:
        store = backend.hubops_eks = {}
    return store


def _cluster(backend, name: str):
    cluster = backend.clusters.get(name)
    if cluster is None:
        raise _error(ResourceNotFoundException, f"No cluster found for name: {name}.", clusterName=name)
    return cluster


def _extras(backend, name: str) -> ClusterExtras:
    _cluster(backend, name)
    return _store(backend).setdefault(name, ClusterExtras())


def _arn(backend, resource: str) -> str:
    return f"arn:{backend.partition}:eks:{backend.region_name}:{backend.account_id}:{resource}"


def _minor(version) -> int | None:
    match = _MINOR.match(str(version or ""))
    return int(match.group(1)) if match else None


def _version_key(version: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _addon_versions(name: str, kubernetes_version: str | None = None) -> list:
    """Versions of an add-on (newest first), only those compatible with kubernetes_version when given."""
    minor = _minor(kubernetes_version)
    found = [v for v, first, last in ADDONS[name]["versions"] if kubernetes_version is None or (minor is not None and first <= minor <= last)]
    return sorted(found, key=_version_key, reverse=True)


def _compatible_minors(name: str, version: str) -> list:
    return [m for v, first, last in ADDONS[name]["versions"] if v == version for m in range(first, last + 1)]


def _default_addon_version(name: str, kubernetes_version: str) -> str | None:
    """Like EKS, the default is not always the newest: the second newest when there are several."""
    versions = _addon_versions(name, kubernetes_version)
    if not versions:
        return None
    return versions[1] if len(versions) > 1 else versions[0]


def _check_addon(name: str, version: str | None, cluster) -> str:
    """Return the add-on version to install (the default when not given), or raise as EKS does."""
    if name not in ADDONS or not _addon_versions(name, cluster.version):
        raise _error(InvalidParameterException, f"Addon {name} specified is not supported in {cluster.version} kubernetes version",
                     clusterName=cluster.name, addonName=name)
    if not version:
        return _default_addon_version(name, cluster.version)
    if version not in _addon_versions(name, cluster.version):
        raise _error(InvalidParameterException, f"Addon version specified is not supported for {name} in {cluster.version} kubernetes version",
                     clusterName=cluster.name, addonName=name)
    return version


def _check_role_arn(arn, member: str) -> None:
    if not isinstance(arn, str) or not _ROLE_ARN.match(arn):
        raise _error(InvalidParameterException, f"The {member} parameter format is not valid: {arn}")


def _check_configuration(values) -> None:
    text = (values or "").strip()
    if text.startswith(("{", "[")):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise _error(InvalidParameterException, f"ConfigurationValue provided in request is not supported: Json schema validation failed: {exc}")
        if not isinstance(parsed, dict):
            raise _error(InvalidParameterException, "ConfigurationValue provided in request is not supported: Json schema validation failed: not an object")


def _check_k8s_names(namespace, service_account=None) -> None:
    if not isinstance(namespace, str) or not _LABEL.match(namespace):
        raise _error(InvalidParameterException, f"The namespace parameter format is not valid: {namespace}")
    if service_account is not None and not _SUBDOMAIN.match(str(service_account)):
        raise _error(InvalidParameterException, f"The serviceAccount parameter format is not valid: {service_account}")


def _principal(arn) -> tuple[str, str, str]:
    """(kind, account, name) of an IAM principal ARN, as it appears in the access entry ARN."""
    match = _PRINCIPAL_ARN.match(arn or "")
    if match:
        return match.group("kind"), match.group("account"), match.group("name")
    match = _ROOT_ARN.match(arn or "")
    if match:
        return "root", match.group("account"), "root"
    raise _error(InvalidParameterException, f"The principalArn parameter format is not valid: {arn}")


def _new_update(update_type: str, params: list) -> dict:
    return {"id": str(random.uuid4()), "status": "Successful", "type": update_type, "params": params, "createdAt": utcnow(), "errors": []}


def _param(param_type: str, value) -> dict:
    if isinstance(value, bool):
        value = str(value).lower()
    elif not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    return {"type": param_type, "value": value}


def _record(extras: ClusterExtras, update: dict, nodegroup: str | None = None, addon: str | None = None) -> dict:
    extras.updates.append({"update": update, "nodegroup": nodegroup, "addon": addon})
    return update


def _new_association(backend, cluster_name: str, namespace: str, service_account: str, role_arn: str, **extra) -> dict:
    association_id = "a-" + "".join(random.choice(string.ascii_lowercase + string.digits) for _i in range(17))
    now = utcnow()
    association = {
        "clusterName": cluster_name, "namespace": namespace, "serviceAccount": service_account, "roleArn": role_arn,
        "associationArn": _arn(backend, f"podidentityassociation/{cluster_name}/{association_id}"), "associationId": association_id,
        "tags": extra.get("tags") or {}, "createdAt": now, "modifiedAt": now, "ownerArn": extra.get("ownerArn"),
        "disableSessionTags": bool(extra.get("disableSessionTags")), "targetRoleArn": extra.get("targetRoleArn"),
        "externalId": str(random.uuid4()) if extra.get("targetRoleArn") else None, "policy": extra.get("policy"),
    }
    return association


def _find_association(extras: ClusterExtras, namespace: str, service_account: str) -> dict | None:
    return next((a for a in extras.associations.values() if (a["namespace"], a["serviceAccount"]) == (namespace, service_account)), None)


def _sync_addon_associations(backend, extras: ClusterExtras, addon: dict, wanted: list) -> list:
    """Make the add-on own exactly the `wanted` [{serviceAccount, roleArn}]; return their ARNs. Validates first."""
    namespace = (addon.get("namespaceConfig") or {}).get("namespace") or "kube-system"
    seen = set()
    for item in wanted:
        if not isinstance(item, dict):
            raise _error(InvalidParameterException, "podIdentityAssociations must be a list of {serviceAccount, roleArn}")
        _check_k8s_names(namespace, item.get("serviceAccount") or "")
        _check_role_arn(item.get("roleArn"), "roleArn")
        if item["serviceAccount"] in seen:
            raise _error(InvalidParameterException, f"Duplicate service account {item['serviceAccount']} in podIdentityAssociations",
                         clusterName=addon["clusterName"], addonName=addon["addonName"])
        seen.add(item["serviceAccount"])
        current = _find_association(extras, namespace, item["serviceAccount"])
        if current is not None and current.get("ownerArn") != addon["addonArn"]:
            raise _error(ResourceInUseException, f"Association already exists: {current['associationId']}",
                         clusterName=addon["clusterName"], addonName=addon["addonName"])
    owned = {a["serviceAccount"]: a for a in extras.associations.values() if a.get("ownerArn") == addon["addonArn"]}
    for account, association in owned.items():
        if account not in seen:
            del extras.associations[association["associationId"]]
    arns = []
    for item in wanted:
        association = owned.get(item["serviceAccount"])
        if association is None:
            association = _new_association(backend, addon["clusterName"], namespace, item["serviceAccount"], item["roleArn"],
                                           ownerArn=addon["addonArn"])
            extras.associations[association["associationId"]] = association
        elif association["roleArn"] != item["roleArn"]:
            association.update(roleArn=item["roleArn"], modifiedAt=utcnow())
        arns.append(association["associationArn"])
    return arns


def _new_access_entry(backend, cluster_name: str, principal_arn: str, entry_type: str, username, groups, tags) -> dict:
    kind, account, name = _principal(principal_arn)
    if not username:
        if entry_type in ("EC2_LINUX", "EC2_WINDOWS", "EC2"):
            username = "system:node:{{EC2PrivateDNSName}}"
        elif entry_type != "STANDARD":
            username = "system:node:{{SessionName}}"
        elif kind == "role":
            username = f"arn:{backend.partition}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}"
        else:
            username = principal_arn
    now = utcnow()
    return {
        "clusterName": cluster_name, "principalArn": principal_arn, "kubernetesGroups": list(groups or []),
        "accessEntryArn": _arn(backend, f"access-entry/{cluster_name}/{kind}/{account}/{name}/{random.uuid4()}"),
        "createdAt": now, "modifiedAt": now, "tags": tags or {}, "username": username, "type": entry_type,
    }


def _tags_of(resource) -> dict:
    return resource["tags"] if isinstance(resource, dict) else resource.tags


def _tagged_resource(backend, arn: str):
    """An add-on, access entry, association, nodegroup or Fargate profile by ARN (moto only tags clusters)."""
    for extras in _store(backend).values():
        for resource in list(extras.addons.values()) + list(extras.access_entries.values()) + list(extras.associations.values()):
            if arn in (resource.get("addonArn"), resource.get("accessEntryArn"), resource.get("associationArn")):
                return resource
    for cluster in backend.clusters.values():
        for resource in list(cluster.nodegroups.values()) + list(cluster.fargate_profiles.values()):
            if arn in (getattr(resource, "arn", None), getattr(resource, "fargate_profile_arn", None)):
                return resource
    return None


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))["k"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise _error(InvalidParameterException, "The nextToken provided is invalid") from exc


# ------------------------------------------------------------------------------------------------ backend patches
def _backend_create_nodegroup(self, *args, **kwargs):
    """Real EKS: a nodegroup without `version` runs the cluster's version (moto: always 1.19)."""
    cluster = self.clusters.get(kwargs.get("cluster_name"))
    if not kwargs.get("version") and kwargs.get("release_version"):
        kwargs["version"] = ".".join(kwargs["release_version"].split(".")[:2])
    if cluster is not None and not kwargs.get("version"):
        kwargs["version"] = cluster.version
    if kwargs.get("version") and not kwargs.get("release_version"):
        kwargs["release_version"] = f"{kwargs['version']}.0-{RELEASE_DATE}"
    return ORIGINALS["create_nodegroup"](self, *args, **kwargs)


def _backend_update_nodegroup_config(self, *args, **kwargs):
    update = ORIGINALS["update_nodegroup_config"](self, *args, **kwargs)
    _record(_extras(self, kwargs["cluster_name"]), update, nodegroup=kwargs["nodegroup_name"])
    return update


def _backend_delete_cluster(self, name: str):
    """Real EKS refuses while nodegroups (moto checks) or Fargate profiles remain; it drops the cluster's extras."""
    cluster = self.clusters.get(name)
    if cluster is not None and not cluster.nodegroups and cluster.fargate_profiles:
        raise _error(ResourceInUseException, "Cluster has fargate profiles attached", clusterName=name)
    result = ORIGINALS["delete_cluster"](self, name)
    _store(self).pop(name, None)
    return result


def _backend_tag_resource(self, resource_arn: str, tags: dict) -> None:
    resource = _tagged_resource(self, resource_arn)
    if resource is None:
        return ORIGINALS["tag_resource"](self, resource_arn, tags)
    _tags_of(resource).update(tags or {})
    return None


def _backend_untag_resource(self, resource_arn: str, tag_keys) -> None:
    resource = _tagged_resource(self, resource_arn)
    if resource is None:
        return ORIGINALS["untag_resource"](self, resource_arn, tag_keys)
    for key in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
        _tags_of(resource).pop(key, None)
    return None


def _backend_list_tags_for_resource(self, resource_arn: str) -> dict:
    resource = _tagged_resource(self, resource_arn)
    if resource is None:
        return ORIGINALS["list_tags_for_resource"](self, resource_arn)
    return _tags_of(resource)


BACKEND_PATCHES = {
    "create_nodegroup": _backend_create_nodegroup,
    "update_nodegroup_config": _backend_update_nodegroup_config,
    "delete_cluster": _backend_delete_cluster,
    "tag_resource": _backend_tag_resource,
    "untag_resource": _backend_untag_resource,
    "list_tags_for_resource": _backend_list_tags_for_resource,
}


# ------------------------------------------------------------------------------------------------ response methods
class HubopsEKSResponse(EKSResponse):
    """The missing EKS actions; install() copies these methods onto moto's EKSResponse."""

    # ------------------------------------------------------------------------------------------ shared
    def _hubops_page(self, keyed: list) -> tuple[list, str | None]:
        """Page [(sort key, item)] by maxResults/nextToken; the token names the first key of the next page."""
        max_results = self._get_int_param("maxResults", DEFAULT_PAGE)
        if not 1 <= max_results <= 100:
            raise _error(InvalidParameterException, "maxResults must be between 1 and 100")
        keyed = sorted(keyed, key=lambda pair: pair[0])
        token = self._get_param("nextToken")
        start = 0
        if token:
            after = _decode_token(token)
            start = next((i for i, (key, _item) in enumerate(keyed) if key >= after), len(keyed))
        page = keyed[start:start + max_results]
        rest = keyed[start + max_results:]
        return [item for _key, item in page], (_encode_token(rest[0][0]) if rest else None)

    def _hubops_query_list(self, name: str) -> list:
        value = self.querystring.get(name)
        return list(value) if isinstance(value, list) else []

    def _hubops_addon(self, extras: ClusterExtras, cluster_name: str, addon_name: str) -> dict:
        addon = extras.addons.get(addon_name)
        if addon is None:
            raise _error(ResourceNotFoundException, f"No addon: {addon_name} found in cluster: {cluster_name}",
                         clusterName=cluster_name, addonName=addon_name)
        return addon

    def _hubops_api_auth(self, cluster_name: str) -> ClusterExtras:
        """Access entries need authenticationMode API or API_AND_CONFIG_MAP."""
        cluster = _cluster(self.eks_backend, cluster_name)
        if _access_config(cluster)["authenticationMode"] == "CONFIG_MAP":
            raise _error(InvalidRequestException, "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] "
                         "to perform this operation.", clusterName=cluster_name)
        return _extras(self.eks_backend, cluster_name)

    def _hubops_entry(self, extras: ClusterExtras, principal_arn: str) -> dict:
        entry = extras.access_entries.get(principal_arn)
        if entry is None:
            raise _error(ResourceNotFoundException, "The specified principalArn could not be found. You can view your available access "
                         "entries with 'list-access-entries'.")
        return entry

    def _hubops_association(self, extras: ClusterExtras, cluster_name: str, association_id: str) -> dict:
        association = extras.associations.get(association_id)
        if association is None:
            raise _error(ResourceNotFoundException, f"Pod Identity Association {association_id} not found in cluster {cluster_name}",
                         clusterName=cluster_name)
        return association

    # ------------------------------------------------------------------------------------------ clusters
    def create_cluster(self) -> ActionResult:
        """moto's CreateCluster, plus accessConfig (moto drops it) and the creator's access entry."""
        access = self._get_param("accessConfig") or {}
        mode = access.get("authenticationMode") or "CONFIG_MAP"
        bootstrap = access.get("bootstrapClusterCreatorAdminPermissions")
        bootstrap = True if bootstrap is None else bool(bootstrap)
        if mode not in AUTH_MODES:
            raise _error(InvalidParameterException, f"Unsupported authentication mode: {mode}")
        if mode == "CONFIG_MAP" and not bootstrap:
            raise _error(InvalidParameterException, "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode "
                         "is set to CONFIG_MAP")
        result = ORIGINALS["EKSResponse.create_cluster"](self)
        backend = self.eks_backend
        name = self._get_param("name")
        cluster = backend.clusters[name]
        cluster.access_config = {"authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": bootstrap}
        _store(backend).pop(name, None)
        if bootstrap and mode != "CONFIG_MAP":
            # Real EKS uses the caller's identity; the emulator has none to speak of, so the account root stands in.
            principal = f"arn:{backend.partition}:iam::{backend.account_id}:root"
            extras = _extras(backend, name)
            extras.access_entries[principal] = _new_access_entry(backend, name, principal, "STANDARD", None, [], {})
            now = utcnow()
            extras.access_policies[principal] = {CLUSTER_ADMIN_POLICY: {
                "policyArn": CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster", "namespaces": []}, "associatedAt": now, "modifiedAt": now}}
        return result

    def update_cluster_config(self) -> ActionResult:
        """Real EKS answers an `update` (moto answers the cluster, which serializes to nothing) and merges VPC settings."""
        name = self._get_param("name")
        backend = self.eks_backend
        cluster = _cluster(backend, name)
        changes = {member: self._get_param(member) for member in ["resourcesVpcConfig", *CLUSTER_CONFIG_UPDATES]}
        changes = {member: value for member, value in changes.items() if value is not None}
        vpc = changes.get("resourcesVpcConfig")
        vpc_type = "VpcConfigUpdate" if vpc and ({"subnetIds", "securityGroupIds"} & set(vpc)) else "EndpointAccessUpdate"
        types = {vpc_type if member == "resourcesVpcConfig" else CLUSTER_CONFIG_UPDATES[member][0] for member in changes}
        if not types:
            raise _error(InvalidParameterException, "No changes needed", clusterName=name)
        if len(types) > 1:
            raise _error(InvalidParameterException, "Only one type of update can be allowed.", clusterName=name)
        params = []
        if vpc is not None:
            merged = dict(cluster.resources_vpc_config or {})
            merged.update(vpc)
            cluster.resources_vpc_config = merged
            for member, param_type in (("subnetIds", "Subnets"), ("securityGroupIds", "SecurityGroups"), ("endpointPublicAccess",
                                       "EndpointPublicAccess"), ("endpointPrivateAccess", "EndpointPrivateAccess"),
                                       ("publicAccessCidrs", "PublicAccessCidrs")):
                if member in vpc:
                    params.append(_param(param_type, vpc[member]))
        for member, value in changes.items():
            if member == "resourcesVpcConfig":
                continue
            param_type, attribute = CLUSTER_CONFIG_UPDATES[member][1:]
            if member == "accessConfig":
                value = _updated_access_config(cluster, value)
                params.append(_param(param_type, value["authenticationMode"]))
            elif member == "logging":
                params.append(_param(param_type, value.get("clusterLogging", [])))
            else:
                params.append(_param(param_type, value))
            if member == "kubernetesNetworkConfig":
                value = dict(cluster.kubernetes_network_config or {}, **value)
            setattr(cluster, attribute, value)
        if self._get_param("clientRequestToken"):
            cluster.client_request_token = self._get_param("clientRequestToken")
        update = _record(_extras(backend, name), _new_update(types.pop(), params))
        return ActionResult({"update": update})

    def update_cluster_version(self) -> ActionResult:
        name = self._get_param("name")
        backend = self.eks_backend
        cluster = _cluster(backend, name)
        target = str(self._get_param("version") or "")
        current, wanted = _minor(cluster.version), _minor(target)
        if current is None or wanted is None or wanted != current + 1 or wanted > KUBERNETES_MINORS[-1]:
            raise _error(InvalidParameterException, f"Unsupported Kubernetes minor version update from {cluster.version} to {target}",
                         clusterName=name)
        cluster.version = target
        update = _new_update("VersionUpdate", [_param("Version", target), _param("PlatformVersion", cluster.platformVersion)])
        return ActionResult({"update": _record(_extras(backend, name), update)})

    def update_nodegroup_version(self) -> ActionResult:
        cluster_name = self._get_param("name")
        nodegroup_name = self._get_param("nodegroupName")
        backend = self.eks_backend
        cluster = _cluster(backend, cluster_name)
        nodegroup = cluster.nodegroups.get(nodegroup_name)
        if nodegroup is None:
            raise _error(ResourceNotFoundException, f"No node group found for name: {nodegroup_name}.",
                         clusterName=cluster_name, nodegroupName=nodegroup_name)
        release = self._get_param("releaseVersion")
        version = self._get_param("version")
        if not version and release:
            version = ".".join(release.split(".")[:2])
        version = version or cluster.version
        if _minor(version) is None or _minor(version) > _minor(cluster.version):
            raise _error(InvalidParameterException, f"Requested Nodegroup Kubernetes Version {version} is not supported with Cluster "
                         f"Kubernetes Version {cluster.version}", clusterName=cluster_name, nodegroupName=nodegroup_name)
        if _minor(nodegroup.version) is not None and _minor(version) < _minor(nodegroup.version):
            raise _error(InvalidParameterException, f"Requested Nodegroup Kubernetes Version {version} is lower than the current "
                         f"Nodegroup Kubernetes Version {nodegroup.version}", clusterName=cluster_name, nodegroupName=nodegroup_name)
        template = self._get_param("launchTemplate")
        if template and not nodegroup.launch_template:
            raise _error(InvalidParameterException, "A launch template can only be specified for a node group created with one",
                         clusterName=cluster_name, nodegroupName=nodegroup_name)
        nodegroup.version = version
        nodegroup.release_version = release or f"{version}.0-{RELEASE_DATE}"
        params = [_param("Version", version), _param("ReleaseVersion", nodegroup.release_version)]
        if template:
            nodegroup.launch_template.update(template)
            params += [_param("LaunchTemplateName", nodegroup.launch_template.get("name", "")),
                       _param("LaunchTemplateVersion", str(nodegroup.launch_template.get("version", "")))]
        nodegroup.modified_at = utcnow()
        update = _new_update("VersionUpdate", params)
        return ActionResult({"update": _record(_extras(backend, cluster_name), update, nodegroup=nodegroup_name)})

    def _hubops_update_scope(self) -> tuple[ClusterExtras, str | None, str | None]:
        name = self._get_param("name")
        backend = self.eks_backend
        cluster = _cluster(backend, name)
        extras = _extras(backend, name)
        nodegroup, addon = self._get_param("nodegroupName"), self._get_param("addonName")
        if nodegroup and nodegroup not in cluster.nodegroups:
            raise _error(ResourceNotFoundException, f"No node group found for name: {nodegroup}.", clusterName=name, nodegroupName=nodegroup)
        if addon:
            self._hubops_addon(extras, name, addon)
        return extras, nodegroup or None, addon or None

    def describe_update(self) -> ActionResult:
        extras, nodegroup, addon = self._hubops_update_scope()
        update_id = self._get_param("updateId")
        for record in extras.updates:
            if record["update"]["id"] == update_id and (record["nodegroup"], record["addon"]) == (nodegroup, addon):
                return ActionResult({"update": record["update"]})
        raise _error(ResourceNotFoundException, f"No update found for ID: {update_id}", clusterName=self._get_param("name"),
                     nodegroupName=nodegroup, addonName=addon)

    def list_updates(self) -> ActionResult:
        extras, nodegroup, addon = self._hubops_update_scope()
        keyed = [(f"{i:08d}", r["update"]["id"]) for i, r in enumerate(extras.updates) if (r["nodegroup"], r["addon"]) == (nodegroup, addon)]
        ids, token = self._hubops_page(keyed)
        return ActionResult({"updateIds": ids, "nextToken": token})

    # ------------------------------------------------------------------------------------------ add-ons
    def create_addon(self) -> ActionResult:
        backend = self.eks_backend
        cluster_name = self._get_param("name")
        cluster = _cluster(backend, cluster_name)
        extras = _extras(backend, cluster_name)
        name = self._get_param("addonName")
        if name in extras.addons:
            raise _error(ResourceInUseException, "Addon already exists.", clusterName=cluster_name, addonName=name)
        version = _check_addon(name, self._get_param("addonVersion"), cluster)
        resolve = self._get_param("resolveConflicts")
        if resolve is not None and resolve not in RESOLVE_CONFLICTS:
            raise _error(InvalidParameterException, f"Invalid resolveConflicts value: {resolve}", clusterName=cluster_name, addonName=name)
        role = self._get_param("serviceAccountRoleArn")
        if role:
            _check_role_arn(role, "serviceAccountRoleArn")
        configuration = self._get_param("configurationValues")
        _check_configuration(configuration)
        now = utcnow()
        addon = {
            "addonName": name, "clusterName": cluster_name, "status": "ACTIVE", "addonVersion": version, "health": {"issues": []},
            "addonArn": _arn(backend, f"addon/{cluster_name}/{name}/{random.uuid4()}"), "createdAt": now, "modifiedAt": now,
            "serviceAccountRoleArn": role or None, "tags": self._get_param("tags") or {}, "publisher": "eks", "owner": ADDONS[name]["owner"],
            "configurationValues": configuration or None, "podIdentityAssociations": [],
        }
        namespace = (self._get_param("namespaceConfig") or {}).get("namespace")
        if namespace:
            _check_k8s_names(namespace)
            addon["namespaceConfig"] = {"namespace": namespace}
        addon["podIdentityAssociations"] = _sync_addon_associations(backend, extras, addon, self._get_param("podIdentityAssociations") or [])
        extras.addons[name] = addon
        return ActionResult({"addon": addon})

    def describe_addon(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = _extras(self.eks_backend, cluster_name)
        return ActionResult({"addon": self._hubops_addon(extras, cluster_name, self._get_param("addonName"))})

    def list_addons(self) -> ActionResult:
        extras = _extras(self.eks_backend, self._get_param("name"))
        names, token = self._hubops_page([(name, name) for name in extras.addons])
        return ActionResult({"addons": names, "nextToken": token})

    def update_addon(self) -> ActionResult:
        backend = self.eks_backend
        cluster_name = self._get_param("name")
        cluster = _cluster(backend, cluster_name)
        extras = _extras(backend, cluster_name)
        addon = self._hubops_addon(extras, cluster_name, self._get_param("addonName"))
        name = addon["addonName"]
        version = self._get_param("addonVersion")
        if version is not None:
            version = _check_addon(name, version, cluster)
        role = self._get_param("serviceAccountRoleArn")
        if role:
            _check_role_arn(role, "serviceAccountRoleArn")
        resolve = self._get_param("resolveConflicts")
        if resolve is not None and resolve not in RESOLVE_CONFLICTS:
            raise _error(InvalidParameterException, f"Invalid resolveConflicts value: {resolve}", clusterName=cluster_name, addonName=name)
        configuration = self._get_param("configurationValues")
        _check_configuration(configuration)
        identities = self._get_param("podIdentityAssociations")
        params = []
        if identities is not None:  # validated (and applied) before anything else changes
            addon["podIdentityAssociations"] = _sync_addon_associations(backend, extras, addon, identities)
            params.append(_param("PodIdentityAssociations", addon["podIdentityAssociations"]))
        if version is not None:
            addon["addonVersion"] = version
            params.append(_param("AddonVersion", version))
        if role is not None:
            addon["serviceAccountRoleArn"] = role or None
            params.append(_param("ServiceAccountRoleArn", role))
        if resolve is not None:
            params.append(_param("ResolveConflicts", resolve))
        if configuration is not None:
            addon["configurationValues"] = configuration or None
            params.append(_param("ConfigurationValues", configuration))
        addon["modifiedAt"] = utcnow()
        update = _record(extras, _new_update("AddonUpdate", params), addon=name)
        return ActionResult({"update": update})

    def delete_addon(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = _extras(self.eks_backend, cluster_name)
        addon = self._hubops_addon(extras, cluster_name, self._get_param("addonName"))
        del extras.addons[addon["addonName"]]
        for association_id in [i for i, a in extras.associations.items() if a.get("ownerArn") == addon["addonArn"]]:
            del extras.associations[association_id]
        extras.updates = [r for r in extras.updates if r["addon"] != addon["addonName"]]
        return ActionResult({"addon": dict(addon, status="DELETING", modifiedAt=utcnow())})

    def describe_addon_versions(self) -> ActionResult:
        kubernetes_version = self._get_param("kubernetesVersion")
        wanted_name = self._get_param("addonName")
        types, publishers, owners = (self._hubops_query_list(n) for n in ("types", "publishers", "owners"))
        keyed = []
        for name, spec in ADDONS.items():
            if (wanted_name and name != wanted_name) or (types and spec["type"] not in types) or (publishers and "eks" not in publishers) \
                    or (owners and spec["owner"] not in owners):
                continue
            versions = _addon_versions(name, kubernetes_version)
            if not versions:
                continue
            infos = []
            for version in versions:
                minors = [m for m in _compatible_minors(name, version) if kubernetes_version is None or f"1.{m}" == kubernetes_version]
                infos.append({
                    "addonVersion": version, "architecture": ["amd64", "arm64"], "computeTypes": ["ec2", "auto"],
                    "compatibilities": [{"clusterVersion": f"1.{m}", "platformVersions": ["*"],
                                         "defaultVersion": _default_addon_version(name, f"1.{m}") == version} for m in sorted(minors, reverse=True)],
                    "requiresConfiguration": False, "requiresIamPermissions": bool(spec["policies"]),
                })
            keyed.append((name, {"addonName": name, "type": spec["type"], "addonVersions": infos, "publisher": "eks", "owner": spec["owner"],
                                 "defaultNamespace": "kube-system"}))
        addons, token = self._hubops_page(keyed)
        return ActionResult({"addons": addons, "nextToken": token})

    def describe_addon_configuration(self) -> ActionResult:
        name = self._get_param("addonName")
        version = self._get_param("addonVersion")
        if name not in ADDONS or version not in _addon_versions(name):
            raise _error(InvalidParameterException, f"Addon {name} with version {version} is not supported", addonName=name)
        spec = ADDONS[name]
        schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": True, "properties": {}}
        result = {"addonName": name, "addonVersion": version, "configurationSchema": json.dumps(schema)}
        if spec["serviceAccount"]:
            result["podIdentityConfiguration"] = [{"serviceAccount": spec["serviceAccount"], "recommendedManagedPolicies": spec["policies"]}]
        return ActionResult(result)

    # ------------------------------------------------------------------------------------------ access entries
    def create_access_entry(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = self._hubops_api_auth(cluster_name)
        principal_arn = self._get_param("principalArn")
        kind = _principal(principal_arn)[0]
        entry_type = self._get_param("type") or "STANDARD"
        if entry_type not in ACCESS_ENTRY_TYPES:
            raise _error(InvalidParameterException, f"The type value provided is invalid: {entry_type}. Valid values are: "
                         + ", ".join(ACCESS_ENTRY_TYPES))
        groups = self._get_param("kubernetesGroups") or []
        username = self._get_param("username")
        if entry_type != "STANDARD":
            if kind != "role":
                raise _error(InvalidParameterException, f"The principalArn must be an IAM role for access entries of type {entry_type}")
            if groups or username:
                raise _error(InvalidParameterException, f"kubernetesGroups and username cannot be specified for access entries of type {entry_type}")
        if principal_arn in extras.access_entries:
            raise _error(ResourceInUseException, "The specified access entry resource is already in use on this cluster.",
                         clusterName=cluster_name)
        entry = _new_access_entry(self.eks_backend, cluster_name, principal_arn, entry_type, username, groups, self._get_param("tags"))
        extras.access_entries[principal_arn] = entry
        extras.access_policies[principal_arn] = {}
        return ActionResult({"accessEntry": entry})

    def describe_access_entry(self) -> ActionResult:
        extras = self._hubops_api_auth(self._get_param("name"))
        return ActionResult({"accessEntry": self._hubops_entry(extras, self._get_param("principalArn"))})

    def list_access_entries(self) -> ActionResult:
        extras = self._hubops_api_auth(self._get_param("name"))
        policy = self._get_param("associatedPolicyArn")
        arns = [arn for arn in extras.access_entries if not policy or policy in extras.access_policies.get(arn, {})]
        entries, token = self._hubops_page([(arn, arn) for arn in arns])
        return ActionResult({"accessEntries": entries, "nextToken": token})

    def update_access_entry(self) -> ActionResult:
        extras = self._hubops_api_auth(self._get_param("name"))
        entry = self._hubops_entry(extras, self._get_param("principalArn"))
        groups, username = self._get_param("kubernetesGroups"), self._get_param("username")
        if entry["type"] != "STANDARD" and (groups or username):
            raise _error(InvalidParameterException, f"kubernetesGroups and username cannot be specified for access entries of type {entry['type']}")
        if groups is not None:
            entry["kubernetesGroups"] = list(groups)
        if username:
            entry["username"] = username
        entry["modifiedAt"] = utcnow()
        return ActionResult({"accessEntry": entry})

    def delete_access_entry(self) -> EmptyResult:
        extras = self._hubops_api_auth(self._get_param("name"))
        principal_arn = self._get_param("principalArn")
        self._hubops_entry(extras, principal_arn)
        del extras.access_entries[principal_arn]
        extras.access_policies.pop(principal_arn, None)
        return EmptyResult()

    def associate_access_policy(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = self._hubops_api_auth(cluster_name)
        principal_arn = self._get_param("principalArn")
        entry = self._hubops_entry(extras, principal_arn)
        policy_arn = self._get_param("policyArn")
        if policy_arn not in [f"arn:aws:eks::aws:cluster-access-policy/{name}" for name in ACCESS_POLICIES]:
            raise _error(InvalidParameterException, f"The policyArn parameter format is not valid or the policy does not exist: {policy_arn}")
        if entry["type"] != "STANDARD":
            raise _error(InvalidParameterException, f"Access policies cannot be associated with access entries of type {entry['type']}")
        scope = self._get_param("accessScope") or {}
        scope_type, namespaces = scope.get("type"), list(scope.get("namespaces") or [])
        if scope_type not in ("cluster", "namespace"):
            raise _error(InvalidParameterException, f"The accessScope type is not valid: {scope_type}. Valid values are: cluster, namespace")
        if scope_type == "namespace" and not namespaces:
            raise _error(InvalidParameterException, "The accessScope namespaces must be specified when the accessScope type is namespace")
        if scope_type == "cluster" and namespaces:
            raise _error(InvalidParameterException, "The accessScope namespaces cannot be specified when the accessScope type is cluster")
        now = utcnow()
        policies = extras.access_policies.setdefault(principal_arn, {})
        associated = policies.get(policy_arn) or {"policyArn": policy_arn, "associatedAt": now}
        associated.update(accessScope={"type": scope_type, "namespaces": namespaces}, modifiedAt=now)
        policies[policy_arn] = associated
        return ActionResult({"clusterName": cluster_name, "principalArn": principal_arn, "associatedAccessPolicy": associated})

    def disassociate_access_policy(self) -> EmptyResult:
        extras = self._hubops_api_auth(self._get_param("name"))
        principal_arn = self._get_param("principalArn")
        self._hubops_entry(extras, principal_arn)
        policy_arn = self._get_param("policyArn")
        if extras.access_policies.get(principal_arn, {}).pop(policy_arn, None) is None:
            raise _error(ResourceNotFoundException, f"The specified policy {policy_arn} is not associated with the access entry")
        return EmptyResult()

    def list_associated_access_policies(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = self._hubops_api_auth(cluster_name)
        principal_arn = self._get_param("principalArn")
        self._hubops_entry(extras, principal_arn)
        policies, token = self._hubops_page(list(extras.access_policies.get(principal_arn, {}).items()))
        return ActionResult({"clusterName": cluster_name, "principalArn": principal_arn, "associatedAccessPolicies": policies, "nextToken": token})

    def list_access_policies(self) -> ActionResult:
        policies, token = self._hubops_page([(name, {"name": name, "arn": f"arn:aws:eks::aws:cluster-access-policy/{name}"})
                                             for name in ACCESS_POLICIES])
        return ActionResult({"accessPolicies": policies, "nextToken": token})

    # ------------------------------------------------------------------------------------------ pod identity
    def create_pod_identity_association(self) -> ActionResult:
        cluster_name = self._get_param("name")
        backend = self.eks_backend
        extras = _extras(backend, cluster_name)
        namespace, account, role = self._get_param("namespace"), self._get_param("serviceAccount"), self._get_param("roleArn")
        _check_k8s_names(namespace, account or "")
        _check_role_arn(role, "roleArn")
        target = self._get_param("targetRoleArn")
        if target:
            _check_role_arn(target, "targetRoleArn")
        current = _find_association(extras, namespace, account)
        if current is not None:
            raise _error(ResourceInUseException, f"Association already exists: {current['associationId']}", clusterName=cluster_name)
        association = _new_association(backend, cluster_name, namespace, account, role, tags=self._get_param("tags"), targetRoleArn=target,
                                       disableSessionTags=self._get_param("disableSessionTags"), policy=self._get_param("policy"))
        extras.associations[association["associationId"]] = association
        return ActionResult({"association": association})

    def describe_pod_identity_association(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = _extras(self.eks_backend, cluster_name)
        return ActionResult({"association": self._hubops_association(extras, cluster_name, self._get_param("associationId"))})

    def list_pod_identity_associations(self) -> ActionResult:
        extras = _extras(self.eks_backend, self._get_param("name"))
        namespace, account = self._get_param("namespace"), self._get_param("serviceAccount")
        keyed = []
        for association in extras.associations.values():
            if (namespace and association["namespace"] != namespace) or (account and association["serviceAccount"] != account):
                continue
            summary = {k: association.get(k) for k in ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId", "ownerArn")}
            keyed.append((association["associationId"], summary))
        associations, token = self._hubops_page(keyed)
        return ActionResult({"associations": associations, "nextToken": token})

    def update_pod_identity_association(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = _extras(self.eks_backend, cluster_name)
        association = self._hubops_association(extras, cluster_name, self._get_param("associationId"))
        role, target = self._get_param("roleArn"), self._get_param("targetRoleArn")
        if role:
            _check_role_arn(role, "roleArn")
            association["roleArn"] = role
        if target is not None:
            if target:
                _check_role_arn(target, "targetRoleArn")
            association["targetRoleArn"] = target or None
            association["externalId"] = (association.get("externalId") or str(random.uuid4())) if target else None
        if self._get_param("disableSessionTags") is not None:
            association["disableSessionTags"] = bool(self._get_param("disableSessionTags"))
        if self._get_param("policy") is not None:
            association["policy"] = self._get_param("policy") or None
        association["modifiedAt"] = utcnow()
        return ActionResult({"association": association})

    def delete_pod_identity_association(self) -> ActionResult:
        cluster_name = self._get_param("name")
        extras = _extras(self.eks_backend, cluster_name)
        association = self._hubops_association(extras, cluster_name, self._get_param("associationId"))
        del extras.associations[association["associationId"]]
        for addon in extras.addons.values():  # an add-on no longer lists an association deleted directly
            if association["associationArn"] in addon["podIdentityAssociations"]:
                addon["podIdentityAssociations"].remove(association["associationArn"])
        return ActionResult({"association": association})


def _access_config(cluster) -> dict:
    config = getattr(cluster, "access_config", None)
    if config is None:  # a cluster created before install(): what EKS assumes for a cluster created without accessConfig
        config = cluster.access_config = {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
    return config


def _updated_access_config(cluster, requested: dict) -> dict:
    current = _access_config(cluster)
    mode = (requested or {}).get("authenticationMode")
    if mode not in AUTH_MODES or AUTH_MODES.index(mode) <= AUTH_MODES.index(current["authenticationMode"]):
        raise _error(InvalidParameterException, f"Unsupported authentication mode update from {current['authenticationMode']} to {mode}",
                     clusterName=cluster.name)
    return dict(current, authenticationMode=mode)


def install() -> None:
    """Add the missing routes and actions to moto's EKS (idempotent). Call before moto serves its first EKS request."""
    if ORIGINALS:
        return
    for pattern in EXTRA_URL_PATHS:
        eks_urls.url_paths.setdefault(pattern, eks_urls.response.dispatch)
    for name, method in vars(HubopsEKSResponse).items():
        if inspect.isfunction(method) and not name.startswith("__"):
            if hasattr(EKSResponse, name):
                ORIGINALS[f"EKSResponse.{name}"] = getattr(EKSResponse, name)
            setattr(EKSResponse, name, method)
    for name, method in BACKEND_PATCHES.items():
        ORIGINALS[name] = getattr(EKSBackend, name)
        setattr(EKSBackend, name, method)
