# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the deployment key (foundations role) and of its users (karpenter role); the logic lives in
module_utils/kms.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hubops.eks.plugins.module_utils import kms as _kms


def kms_key_policy(account, partition="aws"):
    return _kms.key_policy(account, partition)


def with_volume_key(policy, key_arn):
    return _kms.with_volume_key(policy, key_arn)


class FilterModule(object):
    def filters(self):
        return {"kms_key_policy": kms_key_policy, "with_volume_key": with_volume_key}
