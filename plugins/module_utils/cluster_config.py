# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The eksctl ClusterConfig body (everything but apiVersion/kind/metadata) for a deployment. Pure: the eks_cluster
role calls it through the cluster_spec filter, tests validate its output against eksctl's schema."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hubops.eks.plugins.module_utils.kms import volume_key_policy

ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Add-ons that call AWS APIs get their permissions through EKS Pod Identity (eksctl creates the roles).
ADDON_IDENTITIES = {
    "vpc-cni": ("kube-system", "aws-node", ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]),
    "aws-ebs-csi-driver": ("kube-system", "ebs-csi-controller-sa", ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]),
    "aws-efs-csi-driver": ("kube-system", "efs-csi-controller-sa", ["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"]),
}
# Add-ons that create volumes encrypted with the deployment's key.
VOLUME_KEY_ADDONS = ("aws-ebs-csi-driver",)


def principal_arn(arn):
    """An assumed-role session ARN (what sts:GetCallerIdentity says) as the IAM role ARN access entries need."""
    match = re.match(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$", arn or "")
    if match:
        return "arn:%s:iam::%s:role/%s" % match.groups()
    return arn


def _by_az(subnets):
    """{az: {id}} from [{az or availability_zone, id}] (network role facts or ec2_vpc_subnet_info results)."""
    return dict((s.get("az") or s.get("availability_zone"), {"id": s["id"]}) for s in subnets)


def cluster_spec(vpc_id, private_subnets, public_subnets, admin_arns, public_access_cidrs, service_cidr, kms_key_arn,
                 log_types, log_retention_days, addons, core, tags, access_entries=None, pod_identity_associations=None):
    """private_subnets / public_subnets: [{"az": ..., "id": ...}]; core: {instance_type, count, volume_size_gb}.

    access_entries / pod_identity_associations: what later roles add (Karpenter's EC2_LINUX node role entry, the
    controllers' pod identities), in eksctl's field names."""
    admins = []
    for arn in admin_arns or []:
        arn = principal_arn(arn)
        if arn not in admins:
            admins.append(arn)
    spec = {
        "vpc": {
            "id": vpc_id,
            "subnets": {"private": _by_az(private_subnets)},
            "clusterEndpoints": {"privateAccess": True, "publicAccess": True},
            "publicAccessCIDRs": list(public_access_cidrs),
        },
        "kubernetesNetworkConfig": {"serviceIPv4CIDR": service_cidr},
        "accessConfig": {
            "authenticationMode": "API",
            "bootstrapClusterCreatorAdminPermissions": False,
            "accessEntries": [{"principalARN": arn, "accessPolicies": [{"policyARN": ADMIN_POLICY, "accessScope": {"type": "cluster"}}]}
                              for arn in admins],
        },
        "cloudWatch": {"clusterLogging": {"enableTypes": list(log_types), "logRetentionInDays": int(log_retention_days)}},
        "addons": [],
        "managedNodeGroups": [{
            "name": "core",
            "amiFamily": "AmazonLinux2023",
            "instanceType": core["instance_type"],
            "desiredCapacity": int(core["count"]),
            "minSize": int(core["count"]),
            "maxSize": int(core["count"]) + 1,
            "volumeSize": int(core["volume_size_gb"]),
            "volumeType": "gp3",
            "volumeEncrypted": True,
            "privateNetworking": True,
            "disableIMDSv1": True,
            "disablePodIMDS": True,
            "labels": {"hubops.io/node-purpose": "core"},
            "tags": dict(tags or {}),
        }],
    }
    if public_subnets:
        spec["vpc"]["subnets"]["public"] = _by_az(public_subnets)
    if kms_key_arn:
        spec["secretsEncryption"] = {"keyARN": kms_key_arn}
        spec["managedNodeGroups"][0]["volumeKmsKeyID"] = kms_key_arn
    spec["accessConfig"]["accessEntries"] += [dict(e) for e in access_entries or []]
    if pod_identity_associations:
        spec["iam"] = {"podIdentityAssociations": [dict(a) for a in pod_identity_associations]}
    for name in addons:
        addon = {"name": name}
        if name in ADDON_IDENTITIES:
            namespace, account, policies = ADDON_IDENTITIES[name]
            addon["podIdentityAssociations"] = [{"namespace": namespace, "serviceAccountName": account, "permissionPolicyARNs": policies}]
            # AmazonEBSCSIDriverPolicy does not cover a customer-managed key: home volumes (StorageClass kmsKeyId)
            # need it named in an inline policy of the driver's role.
            if name in VOLUME_KEY_ADDONS and kms_key_arn:
                addon["podIdentityAssociations"][0]["permissionPolicy"] = volume_key_policy(kms_key_arn)
        spec["addons"].append(addon)
    return spec
