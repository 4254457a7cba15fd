# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iam_service_linked_role against moto's IAM: created once, a re-run changes nothing, check mode creates nothing, a
role made meanwhile (AWS answers InvalidInput "name has been taken") is no failure, a look-alike role is refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import iam_service_linked_role as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

ARGS = {"aws_service_name": "autoscaling.amazonaws.com", "role_name": "AWSServiceRoleForAutoScaling",
        "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
ARN = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


@pytest.fixture
def iam():
    with moto.mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
                mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
                mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: client):
            yield client


def run(check_mode=False):
    with patch_module_args(dict(ARGS, _ansible_check_mode=check_mode)):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            M.main()
    return exc.value.result


def test_creates_the_role_once(iam):
    checked = run(check_mode=True)
    assert checked["changed"] and checked["created"]
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == ARGS["role_name"]]
    first = run()
    assert first["changed"] and first["created"] and first["arn"] == ARN
    assert iam.get_role(RoleName=ARGS["role_name"])["Role"]["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    again = run()
    assert not again["changed"] and not again["created"] and again["arn"] == ARN


def test_a_role_made_meanwhile_is_no_failure(iam):
    real_create = iam.create_service_linked_role

    def racing(**kwargs):
        real_create(**kwargs)
        raise ClientError({"Error": {"Code": "InvalidInput", "Message": "Service role name AWSServiceRoleForAutoScaling has "
                                     "been taken in this account, please try a different suffix."}}, "CreateServiceLinkedRole")

    with mock.patch.object(iam, "create_service_linked_role", racing):
        result = run()
    assert not result.get("failed") and not result["changed"] and result["arn"] == ARN


def test_refuses_a_look_alike_role(iam):
    iam.create_role(RoleName=ARGS["role_name"], AssumeRolePolicyDocument="{}")
    result = run()
    assert result["failed"] and "is not the service-linked role of autoscaling.amazonaws.com" in result["msg"]
