#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_recovery_points
short_description: Empty an AWS Backup vault of its recovery points
version_added: 0.2.0
description:
  - With O(state=absent), deletes every recovery point in an AWS Backup vault and waits until none is left, so the
    vault itself can then be deleted (AWS refuses to delete a vault that holds recovery points).
  - Used by teardown when user data is to be deleted (C(hubops_teardown_delete_data)); recovery points are user data.
  - A missing vault is not an error (nothing to delete).
  - Exists because no Ansible module deletes recovery points.
author:
  - hubops.eks contributors (@hubops)
options:
  backup_vault_name:
    description: The vault.
    type: str
    required: true
  state:
    description: Only C(absent) (no recovery point left) is supported.
    type: str
    choices: [absent]
    default: absent
  wait_timeout:
    description: Seconds to wait for the deletions to finish (recovery points of EFS and EBS go through DELETING).
    type: int
    default: 900
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Empty the deployment's vault before deleting it
  hubops.eks.backup_recovery_points:
    backup_vault_name: dandi-backup
    state: absent
"""

RETURN = r"""
deleted:
  description: ARNs of the recovery points deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
remaining:
  description: Recovery points still in the vault when the module returned (none unless check mode).
  returned: always
  type: int
"""

import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

# AWS answers DescribeBackupVault / ListRecoveryPointsByBackupVault for a missing vault with either of these.
MISSING = ("ResourceNotFoundException", "AccessDeniedException")


def recovery_points(client, vault):
    """Recovery points of a vault; None when the vault does not exist."""
    points, token = [], None
    while True:
        kwargs = {"BackupVaultName": vault}
        if token:
            kwargs["NextToken"] = token
        try:
            page = client.list_recovery_points_by_backup_vault(**kwargs)
        except is_boto3_error_code(MISSING):
            return None
        points.extend(page.get("RecoveryPoints") or [])
        token = page.get("NextToken")
        if not token:
            return points


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            backup_vault_name=dict(type="str", required=True),
            state=dict(type="str", choices=["absent"], default="absent"),
            wait_timeout=dict(type="int", default=900),
        ),
        supports_check_mode=True,
    )
    vault = module.params["backup_vault_name"]
    client = module.client("backup")
    try:
        points = recovery_points(client, vault)
        if points is None:
            module.exit_json(changed=False, deleted=[], remaining=0)
        todo = [p["RecoveryPointArn"] for p in points if p.get("Status") != "DELETING"]
        if module.check_mode:
            module.exit_json(changed=bool(todo), deleted=todo, remaining=len(points))
        for arn in todo:
            try:
                client.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
            except is_boto3_error_code("ResourceNotFoundException"):
                pass
        deadline = time.time() + module.params["wait_timeout"]
        left = recovery_points(client, vault) or []
        while left and time.time() < deadline:
            time.sleep(5)
            left = recovery_points(client, vault) or []
        if left:
            module.fail_json(msg="%d recovery points of vault %s are still there after %d s; re-run teardown to wait longer"
                             % (len(left), vault, module.params["wait_timeout"]), deleted=todo, remaining=len(left))
        module.exit_json(changed=bool(todo), deleted=todo, remaining=0)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
        module.fail_json_aws(exc, msg="Could not empty backup vault %s" % vault)


if __name__ == "__main__":
    main()
