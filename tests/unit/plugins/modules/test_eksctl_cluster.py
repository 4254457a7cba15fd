# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""eksctl_cluster runs exactly the eksctl command lines the difference needs (docs/eksctl.md)."""

import json
from unittest.mock import MagicMock

import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import eksctl as E
from ansible_collections.hubops.eks.plugins.modules import eksctl_cluster as M

ADMIN = "arn:aws:iam::123456789012:role/Admin"
OTHER = "arn:aws:iam::123456789012:role/Other"
POLICY = [{"policyARN": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}]
SPEC = {
    "vpc": {"id": "vpc-1", "subnets": {"private": {"us-east-1a": {"id": "subnet-a"}, "us-east-1b": {"id": "subnet-b"}}}},
    "accessConfig": {"authenticationMode": "API", "accessEntries": [{"principalARN": ADMIN, "accessPolicies": POLICY}]},
    "addons": [{"name": "vpc-cni"}, {"name": "coredns"}],
    "managedNodeGroups": [{"name": "core", "instanceType": "t3a.large", "desiredCapacity": 1, "minSize": 1, "maxSize": 2}],
}
VERSION = {"Version": "0.215.0", "EKSServerSupportedVersions": ["1.31", "1.32", "1.33", "1.34"]}


def cluster(version="1.34"):
    return [{"Name": "dandi", "Version": version, "Status": "ACTIVE", "Endpoint": "https://x",
             "Identity": {"Oidc": {"Issuer": "https://oidc/x"}},
             "ResourcesVpcConfig": {"VpcId": "vpc-1", "ClusterSecurityGroupId": "sg-1", "SecurityGroupIds": []}}]


ADDONS = [{"Name": "vpc-cni", "Version": "v1.19.0", "ConfigurationValues": ""}, {"Name": "coredns", "Version": "v1.11.4"}]
ENTRIES = [{"principalARN": ADMIN, "type": "STANDARD", "kubernetesGroups": [], "accessPolicies": POLICY}]
GROUPS = [{"Name": "core", "DesiredCapacity": 1, "MinSize": 1, "MaxSize": 2, "Version": "1.34"}]


class FakeEksctl:
    """Answers `get` commands from a state dict; records everything else."""

    def __init__(self, state):
        self.state = state
        self.calls = []
        self.configs = []

    def __call__(self, argv, environ_update=None):
        self.calls.append(argv)
        args = argv[1:]
        if args[:1] == ["version"]:
            return 0, json.dumps(VERSION), ""
        if args[:1] == ["get"]:
            value = self.state.get(args[1])
            if args[1] == "cluster" and not value:
                return 1, "", "Error: ResourceNotFoundException: No cluster found for name: dandi"
            return 0, json.dumps(value or []), ""
        if "-f" in args:
            with open(args[args.index("-f") + 1], encoding="utf-8") as stream:
                self.configs.append(yaml.safe_load(stream))
        return 0, "", ""


def run(current, check_mode=False, tmp_path=None, **params):
    module = MagicMock()
    module.check_mode = check_mode
    fake = FakeEksctl(current)
    module.run_command.side_effect = fake
    runner = E.Eksctl(module, "eksctl", "us-east-1", {"AWS_REGION": "us-east-1"})
    kubeconfig = str(tmp_path / "kubeconfig") if tmp_path else "/nonexistent/kubeconfig"
    base = dict(name="dandi", region="us-east-1", version="1.34", spec=SPEC, tags={"hubops:deployment": "dandi"},
                state="present", kubeconfig=kubeconfig)
    base.update(params)
    conv, result = M.converge(module, runner, base)
    mutating = [c for c in fake.calls if c[1] not in ("get", "version")]
    return conv, result, mutating, fake


def test_create_when_missing(tmp_path):
    conv, result, mutating, fake = run({}, tmp_path=tmp_path)
    assert conv.changed
    assert len(mutating) == 1
    argv = mutating[0]
    assert argv[:5] == ["eksctl", "create", "cluster", "--kubeconfig", str(tmp_path / "kubeconfig")]
    assert argv[5] == "-f"
    config = fake.configs[0]
    assert config["apiVersion"] == "eksctl.io/v1alpha5" and config["kind"] == "ClusterConfig"
    assert config["metadata"] == {"name": "dandi", "region": "us-east-1", "version": "1.34", "tags": {"hubops:deployment": "dandi"}}
    assert config["addons"] == SPEC["addons"]
    assert result["cluster"] == {}  # check of a fresh run: no describe after a create in this fake
    assert conv.eksctl.commands == ["eksctl create cluster --kubeconfig %s -f <config>" % (tmp_path / "kubeconfig")]


def test_converged_cluster_runs_nothing(tmp_path):
    (tmp_path / "kubeconfig").write_text("x")
    state = {"cluster": cluster(), "addon": ADDONS, "accessentry": ENTRIES, "nodegroup": GROUPS, "podidentityassociation": []}
    conv, result, mutating, _fake = run(state, tmp_path=tmp_path)
    assert not conv.changed and mutating == []
    assert result["cluster"]["oidc_issuer"] == "https://oidc/x"
    assert result["standard_support_end"] == "2026-12-02"


def test_upgrade_one_minor_at_a_time_then_addons_then_nodes(tmp_path):
    (tmp_path / "kubeconfig").write_text("x")
    groups = [dict(GROUPS[0], Version="1.32")]
    state = {"cluster": cluster("1.32"), "addon": ADDONS, "accessentry": ENTRIES, "nodegroup": groups}
    _conv, _result, mutating, fake = run(state, tmp_path=tmp_path)
    assert mutating[0] == ["eksctl", "upgrade", "cluster", "--name", "dandi", "--region", "us-east-1", "--version", "1.33", "--approve"]
    assert mutating[1] == ["eksctl", "upgrade", "cluster", "--name", "dandi", "--region", "us-east-1", "--version", "1.34", "--approve"]
    assert mutating[2][:3] == ["eksctl", "update", "addon"]
    assert [a["version"] for a in fake.configs[0]["addons"]] == ["latest", "latest"]
    assert mutating[3] == ["eksctl", "upgrade", "nodegroup", "--cluster", "dandi", "--region", "us-east-1",
                           "--name", "core", "--kubernetes-version", "1.34", "--wait"]
    assert len(mutating) == 4


def test_downgrade_refused():
    with pytest.raises(E.EksctlError, match="cannot downgrade"):
        run({"cluster": cluster("1.34")}, version="1.33")


def test_access_entries_add_and_remove_exactly(tmp_path):
    (tmp_path / "kubeconfig").write_text("x")
    node_role = {"principalARN": "arn:aws:iam::123456789012:role/node", "type": "EC2_LINUX"}
    entries = ENTRIES + [{"principalARN": OTHER, "type": "STANDARD", "accessPolicies": POLICY}, node_role]
    spec = dict(SPEC, accessConfig={"authenticationMode": "API", "accessEntries": [
        {"principalARN": ADMIN, "accessPolicies": POLICY}, {"principalARN": "arn:aws:iam::123456789012:role/New", "accessPolicies": POLICY}]})
    state = {"cluster": cluster(), "addon": ADDONS, "accessentry": entries, "nodegroup": GROUPS}
    _conv, _result, mutating, fake = run(state, tmp_path=tmp_path, spec=spec)
    assert mutating[0] == ["eksctl", "delete", "accessentry", "--cluster", "dandi", "--region", "us-east-1", "--principal-arn", OTHER]
    assert mutating[1][:3] == ["eksctl", "create", "accessentry"]
    assert [e["principalARN"] for e in fake.configs[0]["accessConfig"]["accessEntries"]] == ["arn:aws:iam::123456789012:role/New"]
    assert len(mutating) == 2


def test_missing_addon_and_scaled_nodegroup(tmp_path):
    (tmp_path / "kubeconfig").write_text("x")
    spec = dict(SPEC, managedNodeGroups=[dict(SPEC["managedNodeGroups"][0], desiredCapacity=2)])
    state = {"cluster": cluster(), "addon": ADDONS[:1], "accessentry": ENTRIES, "nodegroup": GROUPS}
    _conv, _result, mutating, fake = run(state, tmp_path=tmp_path, spec=spec)
    assert mutating[0][:3] == ["eksctl", "create", "addon"]
    assert [a["name"] for a in fake.configs[0]["addons"]] == ["coredns"]
    assert mutating[1] == ["eksctl", "scale", "nodegroup", "--cluster", "dandi", "--region", "us-east-1", "--name", "core",
                           "--nodes", "2", "--nodes-min", "1", "--nodes-max", "2"]


def test_pod_identity_create_update_delete(tmp_path):
    (tmp_path / "kubeconfig").write_text("x")
    spec = dict(SPEC, iam={"podIdentityAssociations": [
        {"namespace": "karpenter", "serviceAccountName": "karpenter", "roleARN": "arn:aws:iam::1:role/k"},
        {"namespace": "kube-system", "serviceAccountName": "lbc", "roleARN": "arn:aws:iam::1:role/new"}]})
    current = [{"Namespace": "kube-system", "ServiceAccountName": "lbc", "RoleARN": "arn:aws:iam::1:role/old"},
               {"Namespace": "gone", "ServiceAccountName": "sa", "RoleARN": "arn:aws:iam::1:role/x"}]
    state = {"cluster": cluster(), "addon": ADDONS, "accessentry": ENTRIES, "nodegroup": GROUPS, "podidentityassociation": current}
    _conv, _result, mutating, _fake = run(state, tmp_path=tmp_path, spec=spec)
    assert mutating[0] == ["eksctl", "delete", "podidentityassociation", "--cluster", "dandi", "--region", "us-east-1",
                           "--namespace", "gone", "--service-account-name", "sa"]
    assert mutating[1][:3] == ["eksctl", "create", "podidentityassociation"]
    assert mutating[2][:3] == ["eksctl", "update", "podidentityassociation"]


def test_delete(tmp_path):
    _conv, result, mutating, _fake = run({"cluster": cluster()}, tmp_path=tmp_path, state="absent")
    assert mutating == [["eksctl", "delete", "cluster", "--name", "dandi", "--region", "us-east-1", "--wait"]]
    assert result["cluster"] == {}


def test_check_mode_runs_no_mutating_command(tmp_path):
    conv, _result, mutating, _fake = run({}, check_mode=True, tmp_path=tmp_path)
    assert conv.changed and mutating == []
    assert conv.eksctl.commands == ["eksctl create cluster --kubeconfig %s -f <config>" % (tmp_path / "kubeconfig")]


@pytest.mark.parametrize("text,ok", [("0.215.0", True), ("0.199.9", False), ("1.0.0", False)])
def test_version_gate(text, ok):
    version = E.parse_eksctl_version(text)
    if ok:
        E.check_eksctl_version(version)
    else:
        with pytest.raises(E.EksctlError, match="not supported"):
            E.check_eksctl_version(version)


def test_default_version_is_newest_covered_by_both():
    assert E.default_version(["1.31", "1.32", "1.33", "1.34", "1.36"]) == "1.34"


def test_environment_passes_credentials_and_endpoint():
    env = M.eksctl_environment({"access_key": "a", "secret_key": "b", "endpoint_url": "http://127.0.0.1:4566", "profile": None}, "us-east-1")
    assert env == {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a",
                   "AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
