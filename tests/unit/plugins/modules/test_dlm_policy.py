# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dlm_policy against an in-memory DLM that answers like AWS where it matters (the policy is found through the Name
tag of GetLifecyclePolicies' summaries; GetLifecyclePolicy adds defaults such as ResourceLocations [CLOUD]; the update
replaces the policy details whole): create, no-op re-run, update on a retain change, tags, absent, check mode, diff,
and the errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import dlm_policy as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::%s:role/dandi-dlm" % ACCOUNT
ARGS = {"name": "dandi-home-snapshots", "description": "hubops dandi home volume snapshots", "execution_role_arn": ROLE,
        "target_tags": {"hubops:backup": "dandi"}, "tags_to_add": {"hubops:deployment": "dandi"},
        "tags": {"hubops:deployment": "dandi"}, "region": REGION, "access_key": "testing", "secret_key": "testing"}
READ_PREFIXES = ("get_", "list_")


def error(code, message, operation, status=400):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class FakeDLM(object):
    """Lifecycle policies keyed by id; every call recorded as (method, kwargs)."""

    def __init__(self):
        self.policies = {}
        self.calls = []
        self.ids = itertools.count(1)
        self.empty_is_not_found = False

    def record(self, method, kwargs):
        self.calls.append((method, copy.deepcopy(kwargs)))

    def writes(self):
        return [c for c in self.calls if not c[0].startswith(READ_PREFIXES)]

    def policy(self, policy_id):
        if policy_id not in self.policies:
            raise error("ResourceNotFoundException", "Policy not found", "GetLifecyclePolicy", 404)
        return self.policies[policy_id]

    def by_arn(self, arn):
        for policy in self.policies.values():
            if policy["PolicyArn"] == arn:
                return policy
        raise error("ResourceNotFoundException", "Resource not found", "TagResource", 404)

    def only(self):
        assert len(self.policies) == 1, sorted(self.policies)
        return list(self.policies.values())[0]

    @staticmethod
    def stored_details(details):
        details = copy.deepcopy(details)
        details.setdefault("ResourceLocations", ["CLOUD"])  # what AWS reports when it was not sent
        return details

    def get_lifecycle_policies(self, **kwargs):
        self.record("get_lifecycle_policies", kwargs)
        if not self.policies and self.empty_is_not_found:
            raise error("ResourceNotFoundException", "Policies not found", "GetLifecyclePolicies", 404)
        return {"Policies": [{"PolicyId": p["PolicyId"], "Description": p["Description"], "State": p["State"],
                              "Tags": dict(p["Tags"]), "PolicyType": p["PolicyDetails"]["PolicyType"], "DefaultPolicy": False}
                             for p in self.policies.values()]}

    def get_lifecycle_policy(self, PolicyId):
        self.record("get_lifecycle_policy", {"PolicyId": PolicyId})
        return {"Policy": copy.deepcopy(self.policy(PolicyId))}

    def create_lifecycle_policy(self, **kwargs):
        self.record("create_lifecycle_policy", kwargs)
        policy_id = "policy-%017x" % next(self.ids)
        self.policies[policy_id] = {"PolicyId": policy_id, "Description": kwargs["Description"], "State": kwargs["State"],
                                    "StatusMessage": kwargs["State"], "ExecutionRoleArn": kwargs["ExecutionRoleArn"],
                                    "PolicyDetails": self.stored_details(kwargs["PolicyDetails"]), "Tags": dict(kwargs.get("Tags") or {}),
                                    "PolicyArn": "arn:aws:dlm:%s:%s:policy/%s" % (REGION, ACCOUNT, policy_id), "DefaultPolicy": False}
        return {"PolicyId": policy_id}

    def update_lifecycle_policy(self, **kwargs):
        self.record("update_lifecycle_policy", kwargs)
        policy = self.policy(kwargs["PolicyId"])
        for key in ("Description", "State", "ExecutionRoleArn"):
            if key in kwargs:
                policy[key] = kwargs[key]
        if "PolicyDetails" in kwargs:
            policy["PolicyDetails"] = self.stored_details(kwargs["PolicyDetails"])
        return {}

    def delete_lifecycle_policy(self, PolicyId):
        self.record("delete_lifecycle_policy", {"PolicyId": PolicyId})
        self.policy(PolicyId)
        del self.policies[PolicyId]
        return {}

    def tag_resource(self, ResourceArn, Tags):
        self.record("tag_resource", {"ResourceArn": ResourceArn, "Tags": Tags})
        self.by_arn(ResourceArn)["Tags"].update(Tags)
        return {}

    def untag_resource(self, ResourceArn, TagKeys):
        self.record("untag_resource", {"ResourceArn": ResourceArn, "TagKeys": TagKeys})
        tags = self.by_arn(ResourceArn)["Tags"]
        for key in TagKeys:
            tags.pop(key, None)
        return {}


@pytest.fixture
def aws():
    fake = FakeDLM()
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: fake):
        yield fake


def run(aws, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
    args = dict((k, v) for k, v in args.items() if v is not None)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    aws.calls = []
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            M.main()
    return exc.value.result


def ok(aws, **changes):
    result = run(aws, **changes)
    assert not result.get("failed"), result
    return result


# --------------------------------------------------------------------------------------------------------------------
# create and re-run


def test_create_makes_one_snapshot_policy_tagged_with_its_name(aws):
    result = ok(aws)
    assert result["changed"] is True
    assert [c[0] for c in aws.writes()] == ["create_lifecycle_policy"]
    sent = aws.writes()[0][1]
    assert sent["ExecutionRoleArn"] == ROLE and sent["State"] == "ENABLED" and sent["Description"] == ARGS["description"]
    assert sent["Tags"] == {"Name": "dandi-home-snapshots", "hubops:deployment": "dandi"}
    assert sent["PolicyDetails"] == {
        "PolicyType": "EBS_SNAPSHOT_MANAGEMENT", "ResourceTypes": ["VOLUME"], "ResourceLocations": ["CLOUD"],
        "TargetTags": [{"Key": "hubops:backup", "Value": "dandi"}],
        "Schedules": [{"Name": M.SCHEDULE_NAME, "CopyTags": True,
                       "CreateRule": {"Interval": 24, "IntervalUnit": "HOURS", "Times": ["05:00"]},
                       "RetainRule": {"Count": 7}, "TagsToAdd": [{"Key": "hubops:deployment", "Value": "dandi"}]}],
    }
    policy = result["policy"]
    stored = aws.only()
    assert policy["policy_id"] == stored["PolicyId"] and policy["policy_arn"] == stored["PolicyArn"]
    assert policy["state"] == "ENABLED" and policy["tags"]["Name"] == "dandi-home-snapshots"
    assert policy["policy_details"]["schedules"][0]["retain_rule"] == {"count": 7}


def test_second_run_is_unchanged_and_writes_nothing(aws):
    ok(aws)
    result = ok(aws)
    assert result["changed"] is False
    assert aws.writes() == []
    assert result["policy"]["policy_id"] == aws.only()["PolicyId"]


def test_aws_defaults_and_ordering_are_not_a_change(aws):
    ok(aws, target_tags={"hubops:backup": "dandi", "team": "neuro"})
    stored = aws.only()["PolicyDetails"]
    stored["TargetTags"].reverse()
    stored["PolicyLanguage"] = "STANDARD"
    stored["Schedules"][0]["CreateRule"]["Location"] = "CLOUD"
    assert ok(aws, target_tags={"hubops:backup": "dandi", "team": "neuro"})["changed"] is False
    assert aws.writes() == []


def test_no_policy_answered_as_not_found_is_created(aws):
    aws.empty_is_not_found = True
    assert ok(aws)["changed"] is True
    assert [c[0] for c in aws.writes()] == ["create_lifecycle_policy"]


# --------------------------------------------------------------------------------------------------------------------
# updates


def test_retain_change_updates_the_policy_in_place(aws):
    policy_id = ok(aws)["policy"]["policy_id"]
    result = ok(aws, retain_count=14)
    assert result["changed"] is True
    assert [c[0] for c in aws.writes()] == ["update_lifecycle_policy"]
    sent = aws.writes()[0][1]
    assert sent["PolicyId"] == policy_id
    assert sent["PolicyDetails"]["Schedules"][0]["RetainRule"] == {"Count": 14}
    assert sent["ExecutionRoleArn"] == ROLE and sent["State"] == "ENABLED" and sent["Description"] == ARGS["description"]
    assert result["policy"]["policy_id"] == policy_id
    assert result["policy"]["policy_details"]["schedules"][0]["retain_rule"] == {"count": 14}
    assert ok(aws, retain_count=14)["changed"] is False


@pytest.mark.parametrize("changes", [
    {"interval_hours": 12}, {"times": ["03:30"]}, {"copy_tags": False}, {"tags_to_add": {"kind": "home"}},
    {"target_tags": {"hubops:backup": "other"}}, {"policy_state": "DISABLED"}, {"description": "another text"},
    {"execution_role_arn": "arn:aws:iam::%s:role/other" % ACCOUNT},
])
def test_each_setting_is_converged(aws, changes):
    ok(aws)
    assert ok(aws, **changes)["changed"] is True
    assert [c[0] for c in aws.writes()] == ["update_lifecycle_policy"]
    assert ok(aws, **changes)["changed"] is False


def test_rules_added_by_hand_are_removed(aws):
    ok(aws)
    aws.only()["PolicyDetails"]["Schedules"][0]["FastRestoreRule"] = {"Count": 1, "AvailabilityZones": ["us-east-1a"]}
    assert ok(aws)["changed"] is True
    assert "FastRestoreRule" not in aws.only()["PolicyDetails"]["Schedules"][0]


def test_tags_changed_purged_and_left_alone_when_omitted(aws):
    ok(aws)
    arn = aws.only()["PolicyArn"]
    aws.only()["Tags"]["extra"] = "x"
    result = ok(aws, tags={"hubops:deployment": "dandi2"})
    assert aws.writes() == [("untag_resource", {"ResourceArn": arn, "TagKeys": ["extra"]}),
                            ("tag_resource", {"ResourceArn": arn, "Tags": {"hubops:deployment": "dandi2"}})]
    assert result["policy"]["tags"] == {"Name": "dandi-home-snapshots", "hubops:deployment": "dandi2"}
    aws.only()["Tags"]["extra"] = "x"
    assert ok(aws, tags=None)["changed"] is False
    assert ok(aws, tags={"hubops:deployment": "dandi2"}, purge_tags=False)["changed"] is False
    assert aws.only()["Tags"]["extra"] == "x"


# --------------------------------------------------------------------------------------------------------------------
# absent


def test_absent_deletes_the_policy_and_then_changes_nothing(aws):
    policy_id = ok(aws)["policy"]["policy_id"]
    result = ok(aws, state="absent", execution_role_arn=None, target_tags=None)
    assert result["changed"] is True
    assert aws.writes() == [("delete_lifecycle_policy", {"PolicyId": policy_id})]
    assert result["policy"]["policy_id"] == policy_id
    assert aws.policies == {}
    again = ok(aws, state="absent", execution_role_arn=None, target_tags=None)
    assert again["changed"] is False and again["policy"] == {}
    assert aws.writes() == []


def test_other_policies_are_not_touched(aws):
    ok(aws, name="other")
    ok(aws)
    assert len(aws.policies) == 2
    ok(aws, state="absent")
    assert [p["Tags"]["Name"] for p in aws.policies.values()] == ["other"]


# --------------------------------------------------------------------------------------------------------------------
# check mode and diff


def test_check_mode_on_nothing_writes_nothing_and_reports_placeholders(aws):
    result = ok(aws, check_mode=True, diff=True)
    assert result["changed"] is True
    assert aws.writes() == [] and aws.policies == {}
    assert result["policy"]["policy_id"] == M.PLACEHOLDER
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["policy_details"]["schedules"][0]["retain_rule"] == {"count": 7}


def test_check_mode_on_a_change_writes_nothing_and_shows_the_diff(aws):
    ok(aws)
    before = copy.deepcopy(aws.only())
    result = ok(aws, check_mode=True, diff=True, retain_count=30, tags={"hubops:deployment": "x"})
    assert result["changed"] is True
    assert aws.writes() == []
    assert aws.only() == before
    assert result["diff"]["before"]["policy_details"]["schedules"][0]["retain_rule"] == {"count": 7}
    assert result["diff"]["after"]["policy_details"]["schedules"][0]["retain_rule"] == {"count": 30}
    assert result["diff"]["after"]["tags"] == {"Name": "dandi-home-snapshots", "hubops:deployment": "x"}


def test_check_mode_absent_writes_nothing(aws):
    ok(aws)
    result = ok(aws, check_mode=True, state="absent")
    assert result["changed"] is True
    assert aws.writes() == [] and len(aws.policies) == 1


# --------------------------------------------------------------------------------------------------------------------
# errors


def test_two_policies_with_the_name_fail_naming_both(aws):
    ok(aws)
    ok(aws, name="twin")
    for policy in aws.policies.values():
        policy["Tags"]["Name"] = "dandi-home-snapshots"
    result = run(aws)
    assert result["failed"] and "2 DLM policies are tagged Name=dandi-home-snapshots" in result["msg"]
    assert all(policy_id in result["msg"] for policy_id in aws.policies)
    assert aws.writes() == []


@pytest.mark.parametrize("changes, message", [
    ({"description": "home: daily"}, "description 'home: daily'"),
    ({"execution_role_arn": "dandi-dlm"}, "execution_role_arn 'dandi-dlm'"),
    ({"times": ["5:00"]}, "times"),
    ({"times": ["05:00", "17:00"]}, "times"),
    ({"retain_count": 0}, "retain_count 0"),
    ({"target_tags": {}}, "target_tags: give at least one tag"),
    ({"tags": {"Name": "other"}}, "tags: Name is set from name"),
    ({"tags_to_add": {"aws:x": "y"}}, "tags_to_add: keys starting with aws:"),
])
def test_bad_parameters_fail_before_any_call(aws, changes, message):
    result = run(aws, **changes)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert aws.calls == []


def test_aws_errors_name_the_policy(aws):
    aws.create_lifecycle_policy = mock.Mock(side_effect=error("InvalidRequestException", "bad role", "CreateLifecyclePolicy"))
    result = run(aws)
    assert result["failed"] and "Name=dandi-home-snapshots" in result["msg"] and "bad role" in result["msg"]
