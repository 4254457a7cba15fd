# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names, tags and labels shared by every role and module: one place, so cost allocation,
Karpenter discovery and the teardown sweep all see the same thing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

TAG_DEPLOYMENT = "hubops:deployment"
TAG_GROUP = "hubops:group"
TAG_MANAGED_BY = "hubops:managed-by"
MANAGED_BY = "hubops.eks"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_MANAGED_BY_VALUE = "hubops"
LABEL_DEPLOYMENT = "hubops.io/deployment"
LABEL_GROUP = "hubops.io/group"
LABEL_PROFILE = "hubops.io/profile"
LABEL_POOL = "hubops.io/pool"
USER_POOL_TAINT = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}

DNS_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")

# Resource types whose loss loses somebody's work: kept by teardown unless hubops_teardown_delete_data is true.
USER_DATA_RESOURCE_TYPES = (
    "elasticfilesystem:file-system",
    "elasticfilesystem:access-point",
    "ec2:volume",
    "ec2:snapshot",
    "backup:backup-vault",
    "backup:recovery-point",
    "cognito-idp:userpool",   # the hub's Cognito login: its users' accounts
)


def deployment_tags(deployment, extra=None, name=None, group=None):
    """Tags every AWS resource of a deployment carries (hubops_tags first, ours win)."""
    tags = dict(extra or {})
    tags[TAG_DEPLOYMENT] = deployment
    tags[TAG_MANAGED_BY] = MANAGED_BY
    if group:
        tags[TAG_GROUP] = group
    if name:
        tags["Name"] = name
    return tags


def resource_name(deployment, *parts):
    """`<deployment>-<part>-<part>`: the prefix every name of a deployment shares."""
    return "-".join([deployment] + [str(p) for p in parts if p not in (None, "")])


def cluster_name(deployment):
    """The EKS cluster (and the Karpenter discovery / kubernetes.io/cluster tag value) of a deployment."""
    return deployment


def kms_alias(deployment):
    return "alias/hubops/%s" % deployment


def is_user_data(resource_type):
    """True for resource types teardown keeps by default (file systems, home volumes, snapshots, backups)."""
    return resource_type in USER_DATA_RESOURCE_TYPES
