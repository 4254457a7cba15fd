# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The eksctl stand-in (tests/emulation/bin/eksctl) against the emulated AWS: the docs/eksctl.md contract."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
STANDIN_BIN = REPO / "tests" / "emulation" / "bin"
REGION = "us-east-1"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ACCOUNT = "123456789012"


class Eksctl:
    """Runs the stand-in the way the module does: on PATH, AWS settings in the environment."""

    def __init__(self, emulator, tmp_path: Path):
        self.emulator = emulator
        self.log = tmp_path / "eksctl.log"
        self.env = dict(os.environ)
        for key in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "HUBOPS_EMULATED_KUBECONFIG", "KUBECONFIG"):
            self.env.pop(key, None)
        self.env.update({
            "PATH": f"{STANDIN_BIN}:{Path(sys.executable).parent}:{self.env.get('PATH', '')}",
            "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION, "HUBOPS_EKSCTL_LOG": str(self.log), "HOME": str(tmp_path / "home"),
        })

    def __call__(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["eksctl", *args], env=dict(self.env, **(env or {})), capture_output=True, text=True,
                              check=False, timeout=300)

    def ok(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = self(*args, env=env)
        assert proc.returncode == 0, f"eksctl {' '.join(args)}: rc {proc.returncode}\n{proc.stderr}"
        return proc

    def json(self, *args: str):
        return json.loads(self.ok(*args, "-o", "json").stdout)

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


def make_network(emulator) -> dict:
    """A VPC with two private subnets, as the network role leaves it."""
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for zone, cidr in (("us-east-1a", "10.40.1.0/24"), ("us-east-1b", "10.40.2.0/24"))
    }
    return {"vpc": vpc, "subnets": subnets}


@pytest.fixture
def network(emulator):
    return make_network(emulator)


@pytest.fixture
def eksctl(emulator, tmp_path):
    return Eksctl(emulator, tmp_path)


@pytest.fixture(scope="module")
def shared_network(shared_emulator):
    return make_network(shared_emulator)


@pytest.fixture
def shared_eksctl(shared_emulator, tmp_path):
    """For the tests that must change nothing: one emulator for all of them."""
    return Eksctl(shared_emulator, tmp_path)


def cluster_config(network: dict, name: str = "hub", version: str = "1.33") -> dict:
    """A realistic ClusterConfig, the shape the eks_cluster role renders."""
    return {
        "apiVersion": "eksctl.io/v1alpha5",
        "kind": "ClusterConfig",
        "metadata": {"name": name, "region": REGION, "version": version,
                     "tags": {"hubops:deployment": name, "hubops:managed-by": "hubops.eks"}},
        "vpc": {
            "id": network["vpc"],
            "subnets": {"private": {zone: {"id": sid} for zone, sid in network["subnets"].items()}},
            "clusterEndpoints": {"privateAccess": True, "publicAccess": True},
            "publicAccessCIDRs": ["203.0.113.0/24"],
        },
        "kubernetesNetworkConfig": {"serviceIPv4CIDR": "172.20.0.0/16"},
        "accessConfig": {
            "authenticationMode": "API",
            "accessEntries": [{"principalARN": f"arn:aws:iam::{ACCOUNT}:role/HubAdmin",
                               "accessPolicies": [{"policyARN": ADMIN_POLICY, "accessScope": {"type": "cluster"}}]}],
        },
        "cloudWatch": {"clusterLogging": {"enableTypes": ["api", "audit", "authenticator"], "logRetentionInDays": 30}},
        "addons": [
            {"name": "vpc-cni"},
            {"name": "coredns", "version": "latest"},
            {"name": "kube-proxy"},
            {"name": "eks-pod-identity-agent"},
            {"name": "aws-ebs-csi-driver", "podIdentityAssociations": [
                {"namespace": "kube-system", "serviceAccountName": "ebs-csi-controller-sa",
                 "roleARN": f"arn:aws:iam::{ACCOUNT}:role/{name}-ebs-csi"}]},
        ],
        "iam": {"podIdentityAssociations": [
            {"namespace": "hub", "serviceAccountName": "hub", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/{name}-hub"}]},
        "managedNodeGroups": [{
            "name": "core", "amiFamily": "AmazonLinux2023", "instanceType": "t3a.large",
            "desiredCapacity": 2, "minSize": 2, "maxSize": 2, "privateNetworking": True, "disableIMDSv1": True,
            "volumeSize": 50, "labels": {"hub.jupyter.org/node-purpose": "core"},
            "tags": {"hubops:nodegroup": "core"},
        }],
    }


def write(tmp_path: Path, config: dict, name: str = "cluster.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def subset(config: dict, **sections) -> dict:
    out = {k: config[k] for k in ("apiVersion", "kind", "metadata")}
    out.update(sections)
    return out


def live_stacks(emulator) -> dict:
    cfn = emulator.client("cloudformation")
    return {s["StackName"]: s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}


def dummy_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kit-kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kit",
        "clusters": [{"name": "kit", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0EK"}}],
        "users": [{"name": "kit-admin", "user": {"client-certificate-data": "Q0VSVAo=", "client-key-data": "S0VZCg=="}}],
        "contexts": [{"name": "kit", "context": {"cluster": "kit", "user": "kit-admin"}}],
    }))
    return path


def test_version(shared_eksctl):
    assert shared_eksctl.ok("version").stdout.strip() == "0.215.0"
    info = shared_eksctl.json("version")
    assert info["Version"] == "0.215.0" and info["PreReleaseID"] == "" and isinstance(info["Metadata"], dict)
    assert info["EKSServerSupportedVersions"] == ["1.30", "1.31", "1.32", "1.33", "1.34"]


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["metadata"].update(nmae="typo"), "Additional properties are not allowed ('nmae' was unexpected) at metadata"),
    (lambda c: c.update(apiVersion="eksctl.io/v1alpha4"), "at apiVersion"),
    (lambda c: c["metadata"].pop("region"), "'region' is a required property at metadata"),
    (lambda c: c["managedNodeGroups"][0].update(desiredCapacity="two"), "'two' is not of type 'integer' at managedNodeGroups[0].desiredCapacity"),
    (lambda c: c["managedNodeGroups"][0].update(volumeType="gp9"), "at managedNodeGroups[0].volumeType"),
])
def test_schema_invalid_config_is_refused_and_creates_nothing(shared_emulator, shared_network, shared_eksctl, tmp_path, mutate, message):
    config = cluster_config(shared_network)
    mutate(config)
    path = write(tmp_path, config)
    shared_emulator.reset_stats()
    proc = shared_eksctl("create", "cluster", "-f", path, "--kubeconfig", str(tmp_path / "kubeconfig"))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f'Error: couldn\'t parse config file "{path}": '), proc.stderr
    assert message in proc.stderr
    assert shared_emulator.stats()["mutating"] == 0
    assert not (tmp_path / "kubeconfig").exists()
    assert shared_eksctl.records()[-1]["rc"] == 1 and shared_eksctl.records()[-1]["mutating"] is True


def test_semantic_refusals_create_nothing(shared_emulator, shared_network, shared_eksctl, tmp_path):
    no_subnets = cluster_config(shared_network)
    del no_subnets["vpc"]["subnets"]
    public_only = cluster_config(shared_network)
    public_only["managedNodeGroups"][0]["privateNetworking"] = False
    cases = [
        (no_subnets, 'managed nodegroup "core": no subnets'),
        (public_only, 'managed nodegroup "core": privateNetworking is false but there are no public subnets'),
        (dict(cluster_config(shared_network), metadata=dict(cluster_config(shared_network)["metadata"], name="9lives")), "name must satisfy"),
        (dict(cluster_config(shared_network), metadata=dict(cluster_config(shared_network)["metadata"], version="1.29")), "invalid version"),
    ]
    shared_emulator.reset_stats()
    for config, message in cases:
        proc = shared_eksctl("create", "cluster", "-f", write(tmp_path, config))
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert shared_emulator.stats()["mutating"] == 0


def test_create_get_upgrade_delete(emulator, network, eksctl, tmp_path):
    config = cluster_config(network)
    path = write(tmp_path, config)
    emulated = dummy_kubeconfig(tmp_path)
    kubeconfig = tmp_path / "out" / "kubeconfig"
    proc = eksctl.ok("create", "cluster", "-f", path, "--kubeconfig", str(kubeconfig), env={"HUBOPS_EMULATED_KUBECONFIG": str(emulated)})
    assert '[ℹ]  creating EKS cluster "hub" in "us-east-1" region' in proc.stderr
    assert '[✔]  EKS cluster "hub" in "us-east-1" region is ready' in proc.stderr

    # CloudFormation: the stacks real eksctl makes, tagged like eksctl tags them
    stacks = live_stacks(emulator)
    assert {"eksctl-hub-cluster", "eksctl-hub-nodegroup-core"} <= set(stacks)
    cfn = emulator.client("cloudformation")
    cluster_stack = cfn.describe_stacks(StackName="eksctl-hub-cluster")["Stacks"][0]
    tags = {t["Key"]: t["Value"] for t in cluster_stack["Tags"]}
    assert tags["alpha.eksctl.io/cluster-name"] == "hub" and tags["eksctl.cluster.k8s.io/v1alpha1/cluster-name"] == "hub"
    assert tags["hubops:deployment"] == "hub"
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.describe_stack_resources(StackName="eksctl-hub-cluster")["StackResources"]}
    iam = emulator.client("iam")
    role = iam.get_role(RoleName=resources["ServiceRole"])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == ["eks.amazonaws.com"]
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]}
    assert "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" in attached
    group = emulator.client("ec2").describe_security_groups(GroupIds=[resources["ControlPlaneSecurityGroup"]])["SecurityGroups"][0]
    assert group["VpcId"] == network["vpc"]

    # EKS: what CreateCluster was given
    eks = emulator.client("eks")
    cluster = eks.describe_cluster(name="hub")["cluster"]
    assert cluster["version"] == "1.33" and cluster["roleArn"] == role["Arn"]
    assert sorted(cluster["resourcesVpcConfig"]["subnetIds"]) == sorted(network["subnets"].values())
    assert cluster["resourcesVpcConfig"]["endpointPrivateAccess"] is True
    assert cluster["resourcesVpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert cluster["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "172.20.0.0/16"
    assert cluster["tags"]["hubops:deployment"] == "hub" and cluster["tags"]["alpha.eksctl.io/cluster-name"] == "hub"
    enabled = [e for e in cluster["logging"]["clusterLogging"] if e["enabled"]]
    assert enabled[0]["types"] == ["api", "audit", "authenticator"]
    logs = emulator.client("logs").describe_log_groups(logGroupNamePrefix="/aws/eks/hub/cluster")["logGroups"]
    assert logs[0]["retentionInDays"] == 30

    # managed node group: role, IMDSv2-only launch template, sizes
    node_resources = {r["ResourceType"]: r["PhysicalResourceId"]
                      for r in cfn.describe_stack_resources(StackName="eksctl-hub-nodegroup-core")["StackResources"]}
    node_policies = {p["PolicyArn"].rsplit("/", 1)[-1] for p in iam.list_attached_role_policies(
        RoleName=node_resources["AWS::IAM::Role"])["AttachedPolicies"]}
    assert {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore"} <= node_policies
    nodegroup = eks.describe_nodegroup(clusterName="hub", nodegroupName="core")["nodegroup"]
    assert nodegroup["instanceTypes"] == ["t3a.large"] and nodegroup["amiType"] == "AL2023_x86_64_STANDARD"
    assert nodegroup["scalingConfig"] == {"minSize": 2, "maxSize": 2, "desiredSize": 2}
    assert nodegroup["labels"]["hub.jupyter.org/node-purpose"] == "core"
    template = emulator.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=nodegroup["launchTemplate"]["id"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert template["MetadataOptions"]["HttpTokens"] == "required"

    # kubeconfig from HUBOPS_EMULATED_KUBECONFIG
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    written = yaml.safe_load(kubeconfig.read_text())
    assert written["current-context"] == "hub.us-east-1.eksctl.io"
    assert written["clusters"] == [{"name": "hub.us-east-1.eksctl.io",
                                    "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0EK"}}]
    assert written["users"] == [{"name": "eksctl@hub.us-east-1.eksctl.io",
                                 "user": {"client-certificate-data": "Q0VSVAo=", "client-key-data": "S0VZCg=="}}]
    assert written["contexts"] == [{"name": "hub.us-east-1.eksctl.io",
                                    "context": {"cluster": "hub.us-east-1.eksctl.io", "user": "eksctl@hub.us-east-1.eksctl.io"}}]

    # get: the -o json shapes of docs/eksctl.md
    where = ["--cluster", "hub", "--region", REGION]
    got = eksctl.json("get", "cluster", "--name", "hub", "--region", REGION)
    assert len(got) == 1
    assert {"Name", "Arn", "Version", "Status", "Endpoint", "RoleArn", "ResourcesVpcConfig", "Identity", "AccessConfig",
            "KubernetesNetworkConfig", "Logging", "EncryptionConfig", "Tags"} <= set(got[0])
    assert got[0]["Name"] == "hub" and got[0]["Version"] == "1.33" and got[0]["Status"] == "ACTIVE"
    assert got[0]["ResourcesVpcConfig"]["SecurityGroupIds"] == [resources["ControlPlaneSecurityGroup"]]
    assert got[0]["Identity"]["Oidc"]["Issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert got[0]["Tags"]["hubops:deployment"] == "hub"
    assert got[0]["KubernetesNetworkConfig"]["ServiceIpv4Cidr"] == "172.20.0.0/16"

    addons = {a["Name"]: a for a in eksctl.json("get", "addon", *where)}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"}
    for addon in addons.values():
        assert set(addon) >= {"Name", "Version", "NewerVersion", "IAMRole", "Status", "ConfigurationValues", "PodIdentityAssociations"}
        assert addon["Version"].startswith("v")
    assert len(addons["aws-ebs-csi-driver"]["PodIdentityAssociations"]) == 1

    entries = {e["principalARN"]: e for e in eksctl.json("get", "accessentry", *where)}
    admin = entries[f"arn:aws:iam::{ACCOUNT}:role/HubAdmin"]
    assert admin["type"] == "STANDARD"
    assert admin["accessPolicies"] == [{"policyARN": ADMIN_POLICY, "accessScope": {"type": "cluster"}}]

    groups = eksctl.json("get", "nodegroup", *where)
    assert groups == [{
        "StackName": "eksctl-hub-nodegroup-core", "Cluster": "hub", "Name": "core", "Status": "ACTIVE", "MaxSize": 2, "MinSize": 2,
        "DesiredCapacity": 2, "InstanceType": "t3a.large", "ImageID": "AL2023_x86_64_STANDARD",
        "CreationTime": groups[0]["CreationTime"], "NodeInstanceRoleARN": nodegroup["nodeRole"],
        "AutoScalingGroupName": groups[0]["AutoScalingGroupName"], "Version": "1.33", "Type": "managed"}]

    pods = {(p["Namespace"], p["ServiceAccountName"]): p for p in eksctl.json("get", "podidentityassociation", *where)}
    hub = pods[("hub", "hub")]
    assert hub["RoleARN"] == f"arn:aws:iam::{ACCOUNT}:role/hub-hub" and hub["AssociationID"] and hub["AssociationARN"]
    assert ("kube-system", "ebs-csi-controller-sa") in pods

    # create again: refused like eksctl, nothing changed
    emulator.reset_stats()
    proc = eksctl("create", "cluster", "-f", path)
    assert proc.returncode == 1
    assert 'Error: creating CloudFormation stack "eksctl-hub-cluster": AlreadyExistsException' in proc.stderr
    assert emulator.stats()["mutating"] == 0

    # upgrade: one minor at a time, never backwards
    proc = eksctl("upgrade", "cluster", "--name", "hub", "--region", REGION, "--version", "1.35", "--approve")
    assert proc.returncode == 1
    assert ('Error: upgrading more than one version at a time is not supported. Found upgrade from "1.33" to "1.35". '
            'Please upgrade to "1.34" instead') in proc.stderr
    proc = eksctl("upgrade", "cluster", "--name", "hub", "--region", REGION, "--version", "1.32", "--approve")
    assert proc.returncode == 1 and "cannot upgrade to a lower version" in proc.stderr
    assert eks.describe_cluster(name="hub")["cluster"]["version"] == "1.33"
    eksctl.ok("upgrade", "cluster", "--name", "hub", "--region", REGION, "--version", "1.34", "--approve")
    assert eksctl.json("get", "cluster", "--name", "hub", "--region", REGION)[0]["Version"] == "1.34"

    # the kubeconfig without the emulated API server: EKS endpoint + `aws eks get-token`
    plain = tmp_path / "plain-kubeconfig"
    eksctl.ok("utils", "write-kubeconfig", "--cluster", "hub", "--region", REGION, "--kubeconfig", str(plain))
    written = yaml.safe_load(plain.read_text())
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    assert written["clusters"][0]["cluster"]["server"] == cluster["endpoint"].rstrip("/")
    assert written["clusters"][0]["cluster"]["certificate-authority-data"] == cluster["certificateAuthority"]["data"]
    user_exec = written["users"][0]["user"]["exec"]
    assert user_exec["command"] == "aws"
    assert user_exec["args"][:2] == ["eks", "get-token"] and "hub" in user_exec["args"] and REGION in user_exec["args"]

    # delete: no cluster, no live eksctl stacks; the control-plane log group stays, like with eksctl
    eksctl.ok("delete", "cluster", "--name", "hub", "--region", REGION, "--wait")
    assert eks.list_clusters()["clusters"] == []
    assert not [s for s in live_stacks(emulator) if s.startswith("eksctl-")]
    for name in ("eksctl-hub-cluster", "eksctl-hub-nodegroup-core"):
        statuses = {s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name}
        assert statuses == {"DELETE_COMPLETE"}
    assert emulator.client("logs").describe_log_groups(logGroupNamePrefix="/aws/eks/hub/cluster")["logGroups"]

    proc = eksctl("get", "cluster", "--name", "hub", "--region", REGION, "-o", "json")
    assert proc.returncode == 1 and "ResourceNotFoundException: No cluster found for name: hub" in proc.stderr
    proc = eksctl("delete", "cluster", "--name", "hub", "--region", REGION, "--wait")
    assert proc.returncode == 1 and "ResourceNotFoundException" in proc.stderr

    mutating = [r["argv"][:2] for r in eksctl.records() if r["mutating"] and r["rc"] == 0]
    assert mutating == [["create", "cluster"], ["upgrade", "cluster"], ["utils", "write-kubeconfig"], ["delete", "cluster"]]


def test_day2_commands(emulator, network, eksctl, tmp_path):
    """The writes of docs/eksctl.md on a running cluster, each with a config holding only what is to change."""
    full = cluster_config(network, name="day2")
    base = subset(full, vpc=full["vpc"], accessConfig={"authenticationMode": "API"})
    eksctl.ok("create", "cluster", "-f", write(tmp_path, base), "--write-kubeconfig=false")
    assert not (tmp_path / "home" / ".kube" / "config").exists()
    where = ["--cluster", "day2", "--region", REGION]
    assert eksctl.json("get", "addon", *where) == []
    assert eksctl.json("get", "nodegroup", *where) == []

    eksctl.ok("create", "addon", "-f", write(tmp_path, subset(full, addons=full["addons"][:2]), "addons.yaml"))
    assert sorted(a["Name"] for a in eksctl.json("get", "addon", *where)) == ["coredns", "vpc-cni"]
    pinned = subset(full, addons=[{"name": "coredns", "configurationValues": json.dumps({"replicaCount": 3})}])
    eksctl.ok("update", "addon", "-f", write(tmp_path, pinned, "update.yaml"))
    coredns = next(a for a in eksctl.json("get", "addon", *where) if a["Name"] == "coredns")
    assert json.loads(coredns["ConfigurationValues"]) == {"replicaCount": 3}

    entries = [{"principalARN": f"arn:aws:iam::{ACCOUNT}:role/Viewer",
                "accessPolicies": [{"policyARN": VIEW_POLICY, "accessScope": {"type": "namespace", "namespaces": ["hub"]}}]}]
    eksctl.ok("create", "accessentry", "-f", write(tmp_path, subset(full, accessConfig={"accessEntries": entries}), "ae.yaml"))
    viewer = next(e for e in eksctl.json("get", "accessentry", *where) if e["principalARN"].endswith("role/Viewer"))
    assert viewer["accessPolicies"] == [{"policyARN": VIEW_POLICY, "accessScope": {"type": "namespace", "namespaces": ["hub"]}}]
    eksctl.ok("delete", "accessentry", *where, "--principal-arn", f"arn:aws:iam::{ACCOUNT}:role/Viewer")
    assert not [e for e in eksctl.json("get", "accessentry", *where) if e["principalARN"].endswith("role/Viewer")]

    pia = subset(full, iam={"podIdentityAssociations": full["iam"]["podIdentityAssociations"]})
    eksctl.ok("create", "podidentityassociation", "-f", write(tmp_path, pia, "pia.yaml"))
    moved = subset(full, iam={"podIdentityAssociations": [dict(full["iam"]["podIdentityAssociations"][0],
                                                               roleARN=f"arn:aws:iam::{ACCOUNT}:role/day2-hub-v2")]})
    eksctl.ok("update", "podidentityassociation", "-f", write(tmp_path, moved, "pia2.yaml"))
    assert [p["RoleARN"] for p in eksctl.json("get", "podidentityassociation", *where)] == [f"arn:aws:iam::{ACCOUNT}:role/day2-hub-v2"]
    eksctl.ok("delete", "podidentityassociation", *where, "--namespace", "hub", "--service-account-name", "hub")
    assert eksctl.json("get", "podidentityassociation", *where) == []

    user_group = dict(full["managedNodeGroups"][0], name="user", minSize=0, desiredCapacity=0, maxSize=4,
                      taints=[{"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}])
    groups = full["managedNodeGroups"] + [user_group]
    ng_config = write(tmp_path, subset(full, vpc=full["vpc"], managedNodeGroups=groups), "ng.yaml")
    eksctl.ok("create", "nodegroup", "-f", ng_config, "--include", "user")
    assert [g["Name"] for g in eksctl.json("get", "nodegroup", *where)] == ["user"]
    assert set(live_stacks(emulator)) == {"eksctl-day2-cluster", "eksctl-day2-nodegroup-user"}
    taints = emulator.client("eks").describe_nodegroup(clusterName="day2", nodegroupName="user")["nodegroup"]["taints"]
    assert taints == [{"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NO_SCHEDULE"}]

    eksctl.ok("scale", "nodegroup", *where, "--name", "user", "--nodes", "1", "--nodes-min", "1", "--nodes-max", "6")
    user = eksctl.json("get", "nodegroup", *where)[0]
    assert (user["DesiredCapacity"], user["MinSize"], user["MaxSize"]) == (1, 1, 6)
    proc = eksctl("scale", "nodegroup", *where, "--name", "user", "--nodes", "9")
    assert proc.returncode == 1 and "within range" in proc.stderr

    proc = eksctl.ok("create", "nodegroup", "-f", ng_config, "--include", "user")
    assert "1 existing nodegroup(s) (user) will be excluded" in proc.stderr

    upgrade = dict(base, metadata=dict(base["metadata"], version="1.34"))
    eksctl.ok("upgrade", "cluster", "-f", write(tmp_path, upgrade, "upgrade.yaml"), "--approve")
    eksctl.ok("upgrade", "nodegroup", *where, "--name", "user", "--kubernetes-version", "1.34", "--wait")
    assert eksctl.json("get", "nodegroup", *where)[0]["Version"] == "1.34"
    before = {a["Name"]: a["Version"] for a in eksctl.json("get", "addon", *where)}
    eksctl.ok("update", "addon", "-f", write(tmp_path, subset(full, addons=[{"name": "vpc-cni", "version": "latest"}]), "latest.yaml"))
    after = {a["Name"]: a for a in eksctl.json("get", "addon", *where)}
    assert after["coredns"]["Version"] == before["coredns"]
    default = [v["addonVersion"] for v in emulator.client("eks").describe_addon_versions(
        addonName="vpc-cni", kubernetesVersion="1.34")["addons"][0]["addonVersions"]
        if any(c["defaultVersion"] for c in v["compatibilities"] if c["clusterVersion"] == "1.34")]
    assert [after["vpc-cni"]["Version"]] == default

    eksctl.ok("delete", "cluster", "--name", "day2", "--region", REGION, "--wait")
    assert not live_stacks(emulator)
    assert emulator.client("eks").list_clusters()["clusters"] == []
