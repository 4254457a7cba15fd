# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The ClusterConfig the eks_cluster role renders, for every inventory in the repo, validates against eksctl's schema."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import cluster_config as C
from ansible_collections.hubops.eks.plugins.module_utils import eksctl as E

REPO = Path(__file__).resolve().parents[4]
SCHEMA = REPO.parent / "shared" / "reference" / "eksctl" / "schema.json"
INVENTORIES = sorted(p for p in (REPO / "inventories").glob("**/group_vars/all") if p.is_dir())


def inventory_vars(group_vars):
    merged = {}
    for path in sorted(group_vars.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def render(inv):
    deployment = inv["hubops_deployment"]
    azs = ["%sa" % inv["hubops_region"], "%sb" % inv["hubops_region"]]
    core = dict({"instance_type": "t3a.large", "count": 2, "volume_size_gb": 50}, **(inv.get("hubops_core_nodes") or {}))
    spec = C.cluster_spec(
        "vpc-0123456789abcdef0",
        [{"az": az, "id": "subnet-0%016d" % i} for i, az in enumerate(azs)],
        [{"az": az, "id": "subnet-1%016d" % i} for i, az in enumerate(azs)],
        list(inv.get("hubops_cluster_admin_arns") or []) + ["arn:aws:sts::123456789012:assumed-role/Admin/session"],
        inv.get("hubops_public_access_cidrs") or ["0.0.0.0/0"], inv.get("hubops_k8s_service_cidr") or "172.20.0.0/16",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ["api", "audit", "authenticator"], inv.get("hubops_log_retention_days") or 30,
        ["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver", "aws-efs-csi-driver"],
        core, {"hubops:deployment": deployment})
    return E.render_config(deployment, inv["hubops_region"], inv.get("hubops_k8s_version") or "1.34", spec, {"hubops:deployment": deployment})


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA.exists():
        pytest.skip("eksctl schema not found at %s (../shared missing)" % SCHEMA)
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("group_vars", INVENTORIES, ids=[str(p.relative_to(REPO)) for p in INVENTORIES])
def test_rendered_config_validates(group_vars, validator):
    config = render(inventory_vars(group_vars))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.path))
    assert not errors, ["%s: %s" % (list(e.path), e.message) for e in errors]


def test_schema_catches_a_bad_config(validator):
    config = render(inventory_vars(INVENTORIES[0]))
    config["managedNodeGroups"][0]["desiredCapacity"] = "two"
    assert list(validator.iter_errors(config))


def test_admins_deduplicated_and_sessions_become_roles():
    spec = C.cluster_spec("vpc-1", [{"az": "a", "id": "s"}], [], ["arn:aws:iam::123456789012:role/Admin", "arn:aws:sts::123456789012:assumed-role/Admin/x"],
                          ["0.0.0.0/0"], "172.20.0.0/16", "", ["api"], 30, ["coredns"], {"instance_type": "t3a.large", "count": 2, "volume_size_gb": 50}, {})
    assert [e["principalARN"] for e in spec["accessConfig"]["accessEntries"]] == ["arn:aws:iam::123456789012:role/Admin"]
    assert "secretsEncryption" not in spec
    group = spec["managedNodeGroups"][0]
    assert group["disableIMDSv1"] is True and group["disablePodIMDS"] is True and group["privateNetworking"] is True


def test_later_roles_add_entries_and_pod_identities(validator):
    node = {"principalARN": "arn:aws:iam::123456789012:role/local-karpenter-node", "type": "EC2_LINUX"}
    assoc = {"namespace": "karpenter", "serviceAccountName": "karpenter", "roleARN": "arn:aws:iam::123456789012:role/local-karpenter"}
    spec = C.cluster_spec("vpc-1", [{"az": "a", "id": "subnet-1"}], [], ["arn:aws:iam::123456789012:role/Admin"], ["0.0.0.0/0"],
                          "172.20.0.0/16", "", ["api"], 30, ["coredns"], {"instance_type": "t3a.large", "count": 2, "volume_size_gb": 50},
                          {}, [node], [assoc])
    assert spec["accessConfig"]["accessEntries"][-1] == node
    assert spec["iam"] == {"podIdentityAssociations": [assoc]}
    assert not list(validator.iter_errors(E.render_config("local", "us-east-1", "1.34", spec)))


def test_ebs_csi_driver_may_use_the_deployment_key(validator):
    """Home volumes are created by the EBS CSI driver with kmsKeyId = the deployment's key; AmazonEBSCSIDriverPolicy
    does not cover a customer-managed key, so the driver's pod identity carries an inline policy for it."""
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    addons = ["vpc-cni", "aws-ebs-csi-driver", "aws-efs-csi-driver"]
    core = {"instance_type": "t3a.large", "count": 2, "volume_size_gb": 50}
    spec = C.cluster_spec("vpc-1", [{"az": "a", "id": "subnet-1"}], [], [], ["0.0.0.0/0"], "172.20.0.0/16", key, ["api"], 30,
                          addons, core, {})
    by_name = dict((a["name"], a["podIdentityAssociations"][0]) for a in spec["addons"])
    ebs = by_name["aws-ebs-csi-driver"]
    assert ebs["permissionPolicyARNs"] == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
    statements = ebs["permissionPolicy"]["Statement"]
    assert all(st["Resource"] == key and st["Effect"] == "Allow" for st in statements)
    grant = [st for st in statements if st["Action"] == "kms:CreateGrant"]
    assert grant and grant[0]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    use = set(a for st in statements if st is not grant[0] for a in st["Action"])
    assert use == {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}
    assert "permissionPolicy" not in by_name["vpc-cni"] and "permissionPolicy" not in by_name["aws-efs-csi-driver"]
    assert not list(validator.iter_errors(E.render_config("local", "us-east-1", "1.34", spec)))
    no_key = C.cluster_spec("vpc-1", [{"az": "a", "id": "subnet-1"}], [], [], ["0.0.0.0/0"], "172.20.0.0/16", "", ["api"], 30,
                            addons, core, {})
    assert all("permissionPolicy" not in a["podIdentityAssociations"][0] for a in no_key["addons"])
