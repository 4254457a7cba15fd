# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may use the deployment's customer-managed KMS key (roles/foundations) for EBS volumes, and how.

The key policy keeps AWS's default (the account root, so IAM policies decide for the account's own principals) and
adds EC2 Auto Scaling's service-linked role: the core managed node group's instances are launched by Auto Scaling,
which uses that role, and a service-linked role's permissions cannot be extended by IAM (AWS: "Required AWS KMS key
policy for use with encrypted volumes"). Principals that launch volumes themselves, the EBS CSI driver (home
directories) and the Karpenter controller (RunInstances/CreateFleet with an encrypted root volume), get
`volume_key_statements` in their IAM policies instead."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
# What EC2 needs from a principal that creates or attaches a volume encrypted with the key.
CRYPTO_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def _grant_condition():
    """EC2 keeps using the key for an attached volume through a grant; only grants for AWS resources are allowed."""
    return {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def autoscaling_role_arn(account, partition="aws"):
    return "arn:%s:iam::%s:%s" % (partition, account, AUTOSCALING_ROLE)


def key_policy(account, partition="aws"):
    """The key policy: AWS's default statement (account root), plus EC2 Auto Scaling's service-linked role."""
    root = "arn:%s:iam::%s:root" % (partition, account)
    autoscaling = autoscaling_role_arn(account, partition)
    return {"Version": "2012-10-17", "Id": "hubops-key-policy", "Statement": [
        {"Sid": "EnableIAMUserPermissions", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowAutoScalingUseOfTheKey", "Effect": "Allow", "Principal": {"AWS": autoscaling},
         "Action": list(CRYPTO_ACTIONS), "Resource": "*"},
        {"Sid": "AllowAutoScalingAttachmentOfPersistentResources", "Effect": "Allow", "Principal": {"AWS": autoscaling},
         "Action": "kms:CreateGrant", "Resource": "*", "Condition": _grant_condition()},
    ]}


def volume_key_statements(key_arn):
    """IAM statements that let a principal create, attach and launch with EBS volumes encrypted with key_arn."""
    return [
        {"Sid": "AllowEBSVolumeKeyUse", "Effect": "Allow", "Resource": key_arn, "Action": list(CRYPTO_ACTIONS)},
        {"Sid": "AllowEBSVolumeKeyGrants", "Effect": "Allow", "Resource": key_arn, "Action": "kms:CreateGrant",
         "Condition": _grant_condition()},
    ]


def volume_key_policy(key_arn):
    """volume_key_statements as a policy document (the EBS CSI driver's inline policy)."""
    return {"Version": "2012-10-17", "Statement": volume_key_statements(key_arn)}


def with_volume_key(policy, key_arn):
    """policy (an IAM policy document) plus volume_key_statements(key_arn); unchanged without a key. The Karpenter
    controller's: RunInstances/CreateFleet with an EC2NodeClass whose root volume names the key (kmsKeyID) run as the
    controller, which then needs the key (GenerateDataKeyWithoutPlaintext, CreateGrant for the instance), or every
    launch fails. Karpenter's own policy leaves this to the user."""
    out = copy.deepcopy(policy)
    if key_arn:
        out["Statement"] = list(out.get("Statement") or []) + volume_key_statements(key_arn)
    return out
