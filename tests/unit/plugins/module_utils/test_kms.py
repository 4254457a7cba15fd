# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kms: the deployment key's policy (account root plus EC2 Auto Scaling's service-linked role, which launches the core
nodes) and the IAM statements of the principals that make volumes with the key; the foundations role sets the policy
and a second run has nothing to change (amazon.aws.kms_key compares what KMS returns with what it would send)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from pathlib import Path

import boto3
import moto
import yaml

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.hubops.eks.plugins.filter.kms import FilterModule
from ansible_collections.hubops.eks.plugins.module_utils import kms as KMS

REPO = Path(__file__).resolve().parents[4]
ACCOUNT = "123456789012"
AUTOSCALING = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
GRANT = {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_key_policy_keeps_the_root_and_lets_autoscaling_launch_with_the_key():
    policy = KMS.key_policy(ACCOUNT)
    by_principal = {}
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow" and st["Resource"] == "*"
        by_principal.setdefault(st["Principal"]["AWS"], []).append(st)
    assert sorted(by_principal) == sorted(["arn:aws:iam::123456789012:root", AUTOSCALING])
    assert [st["Action"] for st in by_principal["arn:aws:iam::123456789012:root"]] == ["kms:*"]
    autoscaling = by_principal[AUTOSCALING]
    assert [st["Action"] for st in autoscaling if "Condition" not in st] == [USE]
    assert [(st["Action"], st["Condition"]) for st in autoscaling if "Condition" in st] == [("kms:CreateGrant", GRANT)]
    assert len(set(st["Sid"] for st in policy["Statement"])) == len(policy["Statement"])
    gov = json.dumps(KMS.key_policy(ACCOUNT, "aws-us-gov"))
    assert "arn:aws-us-gov:iam::123456789012:root" in gov and "arn:aws:" not in gov


def test_volume_statements_name_only_the_key():
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    statements = KMS.volume_key_policy(key)["Statement"]
    assert [st["Resource"] for st in statements] == [key, key]
    assert [st["Action"] for st in statements] == [USE, "kms:CreateGrant"]
    assert statements[1]["Condition"] == GRANT and "Condition" not in statements[0]


def test_foundations_sets_the_policy_and_a_second_run_changes_nothing():
    tasks = yaml.safe_load((REPO / "roles" / "foundations" / "tasks" / "present.yml").read_text())
    key_task = [t for t in tasks if "amazon.aws.kms_key" in t][0]["amazon.aws.kms_key"]
    assert "hubops.eks.kms_key_policy(foundations_partition)" in key_task["policy"]
    assert tasks.index([t for t in tasks if "hubops.eks.iam_service_linked_role" in t][0]) < tasks.index(
        [t for t in tasks if "amazon.aws.kms_key" in t][0])
    wanted = FilterModule().filters()["kms_key_policy"](ACCOUNT, "aws")
    with moto.mock_aws():
        boto3.client("iam", region_name="us-east-1").create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
        client = boto3.client("kms", region_name="us-east-1")
        key_id = client.create_key(Policy=json.dumps(wanted))["KeyMetadata"]["KeyId"]
        stored = json.loads(client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert not compare_policies(stored, wanted)  # what amazon.aws.kms_key checks before PutKeyPolicy
    assert compare_policies(stored, KMS.key_policy("210987654321"))


def test_karpenter_controller_may_launch_with_the_key():
    """EC2NodeClasses encrypt root volumes with the deployment key (kmsKeyID) and RunInstances/CreateFleet run as the
    controller: its one managed policy gets the key's statements and still fits IAM's 6,144 characters."""
    from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K

    name, region = "a" * 32, "ap-southeast-2"
    key = "arn:aws-us-gov:kms:ap-southeast-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef"
    upstream = K.controller_policy(name, region, ACCOUNT, "arn:aws:iam::123456789012:role/%s-karpenter-node" % name,
                                   "arn:aws:sqs:ap-southeast-2:123456789012:%s-karpenter" % name,
                                   "arn:aws:iam::123456789012:instance-profile/%s-karpenter-node" % name)
    before = json.dumps(upstream, sort_keys=True)
    doc = FilterModule().filters()["with_volume_key"](upstream, key)
    assert json.dumps(upstream, sort_keys=True) == before  # not changed in place
    assert doc["Statement"][:-2] == upstream["Statement"] and doc["Statement"][-2:] == KMS.volume_key_statements(key)
    assert len({st["Sid"] for st in doc["Statement"]}) == len(doc["Statement"])
    assert len(json.dumps(doc, separators=(",", ":"))) < K.MANAGED_POLICY_MAX_CHARS
    assert KMS.with_volume_key(upstream, "") == upstream
    tasks = yaml.safe_load((REPO / "roles" / "karpenter" / "tasks" / "aws_present.yml").read_text())
    policy = [t for t in tasks if "amazon.aws.iam_managed_policy" in t][0]["amazon.aws.iam_managed_policy"]["policy"]
    assert "| hubops.eks.with_volume_key(karpenter_kms_key_arn) | to_json" in policy
    defaults = yaml.safe_load((REPO / "roles" / "karpenter" / "defaults" / "main.yml").read_text())
    assert "foundations_kms_key_arn" in defaults["karpenter_kms_key_arn"]
