# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cost_allocation_tags against an in-memory Cost Explorer that answers like AWS where it matters: billing lists a
user-defined key only once it has seen it (an unseen key in an update fails the whole batch with ValidationException
"Tag keys not found: ..."), 20 entries per update, 100 keys per list, pages; a linked (member) account gets
AccessDeniedException "Linked account doesn't have access to cost allocation tags" on both calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import cost_allocation_tags as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

ACCOUNT = "123456789012"
KEYS = ["hubops:deployment", "hubops:group", "project"]
ARGS = {"tag_keys": KEYS, "region": "us-east-1", "access_key": "testing", "secret_key": "testing"}
LINKED_LIST = "Failed to list Cost Allocation Tags: Linked account doesn't have access to cost allocation tags."
LINKED_UPDATE = "Failed to update Cost Allocation Tag: Linked account doesn't have access to cost allocation tags."


def error(code, message, operation):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class FakeCE(object):
    """Billing's tag registry {key: status}; every call recorded as (method, kwargs)."""

    def __init__(self):
        self.registry = {"aws:createdBy": "Inactive"}
        self.calls = []
        self.linked = False
        self.page_size = 100
        self.forget_on_update = []   # keys billing drops between the read and the update (a race)
        self.refuse = {}             # key -> (code, message) answered in Errors

    def see(self, *keys, **status):
        for key in keys:
            self.registry[key] = status.get("status", "Inactive")

    def writes(self):
        return [c for c in self.calls if c[0] == "update_cost_allocation_tags_status"]

    def list_cost_allocation_tags(self, **kwargs):
        self.calls.append(("list_cost_allocation_tags", copy.deepcopy(kwargs)))
        if self.linked:
            raise error("AccessDeniedException", LINKED_LIST, "ListCostAllocationTags")
        assert 1 <= len(kwargs.get("TagKeys", ["x"])) <= 100
        rows = [{"TagKey": k, "Status": s, "Type": "AWSGenerated" if k.startswith("aws:") else "UserDefined"}
                for k, s in sorted(self.registry.items())]
        rows = [r for r in rows if ("TagKeys" not in kwargs or r["TagKey"] in kwargs["TagKeys"])
                and r["Type"] == kwargs.get("Type", r["Type"])]
        start = int(kwargs.get("NextToken") or 0)
        page = {"CostAllocationTags": rows[start:start + self.page_size]}
        if start + self.page_size < len(rows):
            page["NextToken"] = str(start + self.page_size)
        return page

    def update_cost_allocation_tags_status(self, **kwargs):
        self.calls.append(("update_cost_allocation_tags_status", copy.deepcopy(kwargs)))
        if self.linked:
            raise error("AccessDeniedException", LINKED_UPDATE, "UpdateCostAllocationTagsStatus")
        entries = kwargs["CostAllocationTagsStatus"]
        assert 1 <= len(entries) <= 20
        for key in self.forget_on_update:
            self.registry.pop(key, None)
        missing = [e["TagKey"] for e in entries if e["TagKey"] not in self.registry]
        if missing:
            raise error("ValidationException", "Failed to update Cost Allocation Tag: Tag keys not found: %s" % ",".join(missing),
                        "UpdateCostAllocationTagsStatus")
        errors = []
        for entry in entries:
            if entry["TagKey"] in self.refuse:
                code, message = self.refuse[entry["TagKey"]]
                errors.append({"TagKey": entry["TagKey"], "Code": code, "Message": message})
            else:
                self.registry[entry["TagKey"]] = entry["Status"]
        return {"Errors": errors}


class FakeSTS(object):
    def get_caller_identity(self):
        return {"Account": ACCOUNT, "Arn": "arn:aws:iam::%s:user/ops" % ACCOUNT}


@pytest.fixture
def aws():
    fake = FakeCE()
    clients = {"ce": fake, "sts": FakeSTS()}
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: clients[service]):
        yield fake


def run(aws, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
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


def test_activates_inactive_keys_and_a_rerun_changes_nothing(aws):
    aws.see(*KEYS)
    result = ok(aws)
    assert result["changed"] is True and result["payer_account"] is True
    assert result["changed_keys"] == KEYS and result["pending"] == []
    assert result["statuses"] == dict((k, "Active") for k in KEYS)
    assert aws.writes() == [("update_cost_allocation_tags_status",
                             {"CostAllocationTagsStatus": [{"TagKey": k, "Status": "Active"} for k in KEYS]})]
    assert result["msg"].startswith("Activated the cost allocation tags hubops:deployment, hubops:group, project")
    again = ok(aws)
    assert again["changed"] is False and again["changed_keys"] == [] and aws.writes() == []
    assert again["msg"] == "Already active: hubops:deployment, hubops:group, project."


def test_reads_only_user_defined_keys_it_was_given(aws):
    aws.see(*KEYS)
    ok(aws)
    reads = [c[1] for c in aws.calls if c[0] == "list_cost_allocation_tags"]
    assert reads == [{"TagKeys": KEYS, "Type": "UserDefined"}]


def test_only_the_inactive_keys_are_sent(aws):
    aws.see("hubops:deployment", status="Active")
    aws.see("hubops:group", "project")
    result = ok(aws)
    assert result["changed_keys"] == ["hubops:group", "project"]
    sent = aws.writes()[0][1]["CostAllocationTagsStatus"]
    assert sent == [{"TagKey": "hubops:group", "Status": "Active"}, {"TagKey": "project", "Status": "Active"}]
    assert "already active: hubops:deployment" in result["msg"]


def test_keys_billing_has_not_seen_are_pending_not_sent_and_not_a_failure(aws):
    aws.see("hubops:deployment")
    result = ok(aws)
    assert result["changed_keys"] == ["hubops:deployment"]
    assert result["pending"] == ["hubops:group", "project"]
    assert result["statuses"] == {"hubops:deployment": "Active"}
    assert aws.writes()[0][1]["CostAllocationTagsStatus"] == [{"TagKey": "hubops:deployment", "Status": "Active"}]
    assert "NOT activated yet" in result["msg"] and "hubops:group, project" in result["msg"] and "24" in result["msg"]


def test_nothing_seen_yet_changes_nothing(aws):
    result = ok(aws)
    assert result["changed"] is False and result["pending"] == KEYS and aws.writes() == []


def test_a_key_billing_forgets_before_the_update_is_retried_without_it(aws):
    aws.see(*KEYS)
    aws.forget_on_update = ["project"]
    result = ok(aws)
    assert [len(c[1]["CostAllocationTagsStatus"]) for c in aws.writes()] == [3, 2]
    assert result["changed_keys"] == ["hubops:deployment", "hubops:group"] and result["pending"] == ["project"]
    assert aws.registry["hubops:group"] == "Active"


def test_linked_account_does_not_fail_and_names_the_keys_for_the_payer_account(aws):
    aws.linked = True
    result = ok(aws)
    assert result["changed"] is False and result["payer_account"] is False
    assert result["statuses"] == {} and result["pending"] == [] and aws.writes() == []
    msg = result["msg"]
    assert "account %s is a linked (member) account" % ACCOUNT in msg
    assert "payer (management) account" in msg and "hubops:deployment, hubops:group, project" in msg
    assert "Linked account doesn't have access to cost allocation tags" in msg


def test_linked_account_answer_on_the_update_is_handled_the_same(aws):
    aws.see(*KEYS)
    real_update = aws.update_cost_allocation_tags_status

    def update(**kwargs):
        aws.linked = True
        return real_update(**kwargs)

    aws.update_cost_allocation_tags_status = update
    result = ok(aws)
    assert result["payer_account"] is False and result["changed"] is False
    assert "Failed to update Cost Allocation Tag" in result["msg"]


def test_other_access_denied_fails_with_the_permissions_needed(aws):
    def denied(**kwargs):
        raise error("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
                    "ce:ListCostAllocationTags", "ListCostAllocationTags")

    aws.list_cost_allocation_tags = denied
    result = run(aws)
    assert result["failed"] is True
    assert "ce:ListCostAllocationTags and ce:UpdateCostAllocationTagsStatus" in result["msg"]


def test_refused_keys_fail_naming_them_after_the_others_are_activated(aws):
    aws.see(*KEYS)
    aws.refuse = {"project": ("LimitExceeded", "Too many active cost allocation tags")}
    result = run(aws)
    assert result["failed"] is True
    assert "project (LimitExceeded: Too many active cost allocation tags)" in result["msg"]
    assert result["changed_keys"] == ["hubops:deployment", "hubops:group"]
    assert aws.registry["project"] == "Inactive"


def test_check_mode_reads_and_reports_but_writes_nothing(aws):
    aws.see(*KEYS)
    aws.see("hubops:deployment", status="Active")
    result = ok(aws, check_mode=True, diff=True)
    assert result["changed"] is True and result["changed_keys"] == ["hubops:group", "project"]
    assert aws.writes() == [] and aws.registry["project"] == "Inactive"
    assert result["msg"].startswith("Would activate the cost allocation tags hubops:group, project")
    assert result["diff"]["before"] == {"hubops:deployment": "Active", "hubops:group": "Inactive", "project": "Inactive"}
    assert result["diff"]["after"] == dict((k, "Active") for k in KEYS)


def test_diff_shows_unseen_keys(aws):
    aws.see("hubops:deployment")
    result = ok(aws, diff=True)
    assert result["diff"]["before"]["project"] == "not seen by billing yet"
    assert result["diff"]["after"] == {"hubops:deployment": "Active", "hubops:group": "not seen by billing yet",
                                       "project": "not seen by billing yet"}


def test_absent_deactivates_only_active_keys_and_ignores_unseen_ones(aws):
    aws.see("hubops:deployment", "hubops:group", status="Active")
    result = ok(aws, state="absent")
    assert result["changed_keys"] == ["hubops:deployment", "hubops:group"] and result["pending"] == []
    assert aws.registry["hubops:deployment"] == "Inactive"
    assert result["msg"].startswith("Deactivated the cost allocation tags")
    assert ok(aws, state="absent")["changed"] is False


def test_many_keys_are_read_100_and_written_20_at_a_time_over_pages(aws):
    keys = ["team-%03d" % i for i in range(130)]
    aws.see(*keys)
    aws.page_size = 30
    result = ok(aws, tag_keys=keys)
    reads = [c[1] for c in aws.calls if c[0] == "list_cost_allocation_tags"]
    assert [len(r["TagKeys"]) for r in reads if "NextToken" not in r] == [100, 30]
    assert any("NextToken" in r for r in reads)
    assert [len(c[1]["CostAllocationTagsStatus"]) for c in aws.writes()] == [20] * 6 + [10]
    assert result["changed_keys"] == keys


def test_duplicate_keys_are_sent_once(aws):
    aws.see(*KEYS)
    result = ok(aws, tag_keys=KEYS + ["project"])
    assert result["changed_keys"] == KEYS


@pytest.mark.parametrize("keys", [["aws:createdBy"], ["x" * 129], [""], []])
def test_aws_generated_empty_or_long_keys_are_refused_before_any_call(aws, keys):
    result = run(aws, tag_keys=keys)
    assert result["failed"] is True and "user-defined tag keys" in result["msg"]
    assert aws.calls == []
