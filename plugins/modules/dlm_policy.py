#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dlm_policy
short_description: An Amazon Data Lifecycle Manager policy that snapshots tagged EBS volumes on a schedule
version_added: 0.1.0
description:
  - Converges one Amazon Data Lifecycle Manager (DLM) lifecycle policy of type C(EBS_SNAPSHOT_MANAGEMENT) with one
    schedule - every EBS volume carrying all of O(target_tags) is snapshotted every O(interval_hours) hours from
    O(times) (UTC), and the newest O(retain_count) snapshots of each volume are kept; older ones are deleted by DLM.
  - DLM policies have no name. The policy is the one whose C(Name) tag is O(name); the module sets that tag on the
    policies it creates. Two policies with that tag are an error (the module cannot tell which one is meant).
  - Reads first and changes only what differs (description, state, role, schedule, target tags, tags), so a re-run
    makes no write call. A change updates the policy in place; DLM's update replaces the whole policy details, so
    extra rules added by hand (fast snapshot restore, cross-region copy, sharing, archiving) are removed.
  - O(execution_role_arn) is the role DLM acts as. Create it beforehand, for example with M(amazon.aws.iam_role) -
    name C(<deployment>-dlm), trusting the service principal C(dlm.amazonaws.com), with the AWS managed policy
    C(arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole) attached. A role DLM cannot assume
    makes the policy go to state C(ERROR) without any snapshot being made.
  - Exists because no Ansible module manages DLM.
  - Cost - DLM itself is free; the snapshots it keeps are billed as EBS snapshot storage (incremental, per GB-month).
    O(retain_count) times the daily change of the volumes is roughly what is paid for.
author:
  - hubops.eks contributors (@hubops)
options:
  name:
    description:
      - Value of the C(Name) tag that identifies the policy, C(<deployment>-home-snapshots) by convention.
    type: str
    required: true
  description:
    description:
      - Description of the policy, shown in the EC2 console. DLM accepts 1-500 letters, digits, spaces, C(-) and C(_).
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the policy; C(absent) deletes it. The snapshots it made stay, and stay billed,
        until they are deleted.
    type: str
    choices: [present, absent]
    default: present
  execution_role_arn:
    description:
      - ARN of the IAM role DLM uses to create and delete the snapshots (see the description). Required when
        O(state=present).
    type: str
  target_tags:
    description:
      - The volumes to snapshot - those carrying every one of these tags (key and value), for example the tag
        C(hubops:backup) with the deployment name as its value. Required (at least one tag) when O(state=present).
    type: dict
  interval_hours:
    description: Hours between snapshots.
    type: int
    choices: [1, 2, 3, 4, 6, 8, 12, 24]
    default: 24
  times:
    description:
      - Start time of the schedule, one C(HH:MM) in UTC. Quote it in YAML (V("05:00")); unquoted, YAML 1.1 reads it
        as a number.
    type: list
    elements: str
    default: ["05:00"]
  retain_count:
    description: How many snapshots of each volume to keep (1-1000); DLM deletes the older ones.
    type: int
    default: 7
  copy_tags:
    description: Copy the tags of the volume to its snapshots.
    type: bool
    default: true
  tags_to_add:
    description: Tags added to every snapshot the policy makes (besides the copied ones).
    type: dict
  policy_state:
    description: C(ENABLED) makes snapshots on schedule; C(DISABLED) keeps the policy without running it.
    type: str
    choices: [ENABLED, DISABLED]
    default: ENABLED
  tags:
    description:
      - Tags of the policy itself. The C(Name) tag is the module's (O(name)); a C(Name) here must equal O(name).
      - When omitted, tags other than C(Name) are left as they are.
    type: dict
  purge_tags:
    description: With O(tags) given, remove the tags of the policy that are not in O(tags) (except C(Name) and C(aws:*)).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports C(--check) (no write call; a policy that does not exist yet is reported with placeholder id and ARN) and
    C(--diff).
  - DLM snapshots a volume only when the policy is C(ENABLED) and its role can be assumed; check the policy's state
    in the EC2 console (Lifecycle Manager) after the first run.
"""

EXAMPLES = r"""
- name: The role DLM acts as
  amazon.aws.iam_role:
    name: dandi-dlm
    assume_role_policy_document: >-
      {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Principal": {"Service": "dlm.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    managed_policies:
      - arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole
  register: dlm_role

- name: Daily snapshots of the home volumes at 05:00 UTC, the last 7 kept
  hubops.eks.dlm_policy:
    name: dandi-home-snapshots
    description: hubops dandi home volume snapshots
    execution_role_arn: "{{ dlm_role.iam_role.arn }}"
    target_tags:
      "hubops:backup": dandi
    retain_count: 7
    tags_to_add:
      "hubops:deployment": dandi
    tags:
      "hubops:deployment": dandi

- name: Remove the policy (the snapshots stay)
  hubops.eks.dlm_policy:
    name: dandi-home-snapshots
    description: hubops dandi home volume snapshots
    state: absent
"""

RETURN = r"""
policy:
  description:
    - The policy after the change (in check mode, as it would be). With O(state=absent), the policy that was (or
      would be) deleted. Empty when there is no policy.
  returned: always
  type: dict
  contains:
    policy_id:
      description: Id of the policy (a placeholder in check mode when it does not exist yet).
      type: str
      sample: policy-0123456789abcdef0
    policy_arn:
      description: ARN of the policy (a placeholder in check mode when it does not exist yet).
      type: str
      sample: arn:aws:dlm:us-east-1:123456789012:policy/policy-0123456789abcdef0
    state:
      description: C(ENABLED), C(DISABLED), or C(ERROR) when DLM cannot run it (usually its role).
      type: str
      sample: ENABLED
    description:
      description: Description of the policy.
      type: str
      sample: hubops dandi home volume snapshots
    policy_details:
      description: The policy details as DLM reports them, with snake_case keys.
      type: dict
      sample:
        policy_type: EBS_SNAPSHOT_MANAGEMENT
        resource_types: [VOLUME]
        target_tags: [{key: "hubops:backup", value: dandi}]
        schedules:
          - name: hubops snapshots
            copy_tags: true
            create_rule: {interval: 24, interval_unit: HOURS, times: ["05:00"]}
            retain_rule: {count: 7}
    tags:
      description: Tags of the policy, C(Name) included.
      type: dict
      sample: {"Name": "dandi-home-snapshots", "hubops:deployment": "dandi"}
"""

import copy
import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

PLACEHOLDER = "check-mode-placeholder"
SCHEDULE_NAME = "hubops snapshots"
DESCRIPTION_RE = re.compile(r"^[0-9A-Za-z _-]{1,500}$")
ROLE_ARN_RE = re.compile(r"^arn:aws(-[a-z]{1,3}){0,2}:iam::\d{12}:role/.+$")
TIME_RE = re.compile(r"^(0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]$")
# Rules of a schedule that the module does not set: present (by hand), they are a difference to remove.
UNMANAGED_SCHEDULE_RULES = ("FastRestoreRule", "CrossRegionCopyRules", "ShareRules", "DeprecateRule", "ArchiveRule", "VariableTags")


def validate(params):
    """Every problem of the parameters, before any AWS call (one message per problem)."""
    errors = []
    if not DESCRIPTION_RE.match(params["description"] or ""):
        errors.append("description %r: DLM accepts 1-500 letters, digits, spaces, '-' and '_' only." % params["description"])
    if not params["name"] or len(params["name"]) > 256:
        errors.append("name: give 1-256 characters (it is the value of the policy's Name tag).")
    tags = params["tags"] or {}
    if "Name" in tags and tags["Name"] != params["name"]:
        errors.append("tags: Name is set from name (%s); remove Name from tags or make it equal." % params["name"])
    if params["state"] != "present":
        return errors
    if not ROLE_ARN_RE.match(params["execution_role_arn"] or ""):
        errors.append("execution_role_arn %r: give the ARN of an IAM role (arn:aws:iam::<account>:role/<name>)." % params["execution_role_arn"])
    if not params["target_tags"]:
        errors.append("target_tags: give at least one tag (key: value) that the volumes to snapshot carry.")
    if len(params["times"]) != 1 or not TIME_RE.match(params["times"][0]):
        errors.append("times %r: give one start time as a quoted \"HH:MM\" (UTC), for example [\"05:00\"]." % (params["times"],))
    if not 1 <= params["retain_count"] <= 1000:
        errors.append("retain_count %d: DLM keeps 1 to 1000 snapshots per volume." % params["retain_count"])
    for option in ("target_tags", "tags_to_add", "tags"):
        reserved = sorted(k for k in (params[option] or {}) if str(k).startswith("aws:"))
        if reserved:
            errors.append("%s: keys starting with aws: are reserved by AWS (%s)." % (option, ", ".join(reserved)))
    return errors


def _tag_list(tags):
    return [{"Key": key, "Value": str(value)} for key, value in sorted((tags or {}).items())]


def wanted_details(params):
    """The PolicyDetails the parameters ask for."""
    schedule = {
        "Name": SCHEDULE_NAME,
        "CopyTags": params["copy_tags"],
        "CreateRule": {"Interval": params["interval_hours"], "IntervalUnit": "HOURS", "Times": list(params["times"])},
        "RetainRule": {"Count": params["retain_count"]},
    }
    if params["tags_to_add"]:
        schedule["TagsToAdd"] = _tag_list(params["tags_to_add"])
    return {"PolicyType": "EBS_SNAPSHOT_MANAGEMENT", "ResourceTypes": ["VOLUME"], "ResourceLocations": ["CLOUD"],
            "TargetTags": _tag_list(params["target_tags"]), "Schedules": [schedule]}


def _pairs(tags):
    return sorted((t.get("Key"), t.get("Value")) for t in tags or [])


def _schedule_view(schedule):
    create = schedule.get("CreateRule") or {}
    retain = schedule.get("RetainRule") or {}
    return {
        "name": schedule.get("Name"),
        "copy_tags": bool(schedule.get("CopyTags", False)),
        "tags_to_add": _pairs(schedule.get("TagsToAdd")),
        "create": (create.get("Interval"), create.get("IntervalUnit"), list(create.get("Times") or []),
                   create.get("CronExpression"), create.get("Location") or "CLOUD"),
        "retain": (retain.get("Count"), retain.get("Interval"), retain.get("IntervalUnit")),
        "other_rules": sorted(key for key in UNMANAGED_SCHEDULE_RULES if schedule.get(key)),
    }


def details_view(details):
    """What the module manages in PolicyDetails, in a form where AWS's defaults and ordering do not count."""
    details = details or {}
    return {
        "policy_type": details.get("PolicyType") or "EBS_SNAPSHOT_MANAGEMENT",
        "resource_types": sorted(details.get("ResourceTypes") or []),
        "resource_locations": sorted(details.get("ResourceLocations") or ["CLOUD"]),
        "target_tags": _pairs(details.get("TargetTags")),
        "schedules": [_schedule_view(s) for s in details.get("Schedules") or []],
    }


def policy_differences(current, params, details):
    """The settings of the current policy (GetLifecyclePolicy's Policy) that differ from the wanted ones."""
    found = []
    if current.get("Description") != params["description"]:
        found.append("description")
    if current.get("State") != params["policy_state"]:
        found.append("state %s" % params["policy_state"])
    if current.get("ExecutionRoleArn") != params["execution_role_arn"]:
        found.append("execution role")
    have, want = details_view(current.get("PolicyDetails")), details_view(details)
    for key in sorted(want):
        if have[key] != want[key]:
            found.append(key.replace("_", " "))
    return found


def wanted_tags(params):
    tags = dict((k, str(v)) for k, v in (params["tags"] or {}).items())
    tags["Name"] = params["name"]
    return tags


def public(policy):
    """The returned form of a GetLifecyclePolicy Policy."""
    if not policy:
        return {}
    return {
        "policy_id": policy.get("PolicyId"),
        "policy_arn": policy.get("PolicyArn"),
        "state": policy.get("State"),
        "description": policy.get("Description"),
        "policy_details": camel_dict_to_snake_dict(policy.get("PolicyDetails") or {}),
        "tags": dict(policy.get("Tags") or {}),
    }


class DLMPolicy(object):
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.changed = False

    def act(self, method, **kwargs):
        """Make a change, except in check mode."""
        self.changed = True
        if self.module.check_mode:
            return {}
        return getattr(self.client, method)(**kwargs)

    def find(self):
        """The policy tagged Name=<name> (GetLifecyclePolicy's Policy), or None."""
        try:
            summaries = self.client.get_lifecycle_policies().get("Policies") or []
        except is_boto3_error_code("ResourceNotFoundException"):  # what DLM may answer when a region has no policy
            summaries = []
        mine = [s for s in summaries if (s.get("Tags") or {}).get("Name") == self.params["name"] and not s.get("DefaultPolicy")]
        if len(mine) > 1:
            self.module.fail_json(msg="%d DLM policies are tagged Name=%s (%s); delete or re-tag all but one, then run again."
                                  % (len(mine), self.params["name"], ", ".join(sorted(s["PolicyId"] for s in mine))))
        if not mine:
            return None
        return self.client.get_lifecycle_policy(PolicyId=mine[0]["PolicyId"])["Policy"]

    def read(self, policy_id):
        return self.client.get_lifecycle_policy(PolicyId=policy_id)["Policy"]

    def create(self):
        details = wanted_details(self.params)
        tags = wanted_tags(self.params)
        answer = self.act("create_lifecycle_policy", ExecutionRoleArn=self.params["execution_role_arn"],
                          Description=self.params["description"], State=self.params["policy_state"],
                          PolicyDetails=details, Tags=tags)
        if self.module.check_mode:
            return {"PolicyId": PLACEHOLDER, "PolicyArn": PLACEHOLDER, "State": self.params["policy_state"],
                    "Description": self.params["description"], "PolicyDetails": details, "Tags": tags}
        return self.read(answer["PolicyId"])

    def update(self, current):
        details = wanted_details(self.params)
        after = copy.deepcopy(current)
        if policy_differences(current, self.params, details):
            self.act("update_lifecycle_policy", PolicyId=current["PolicyId"], ExecutionRoleArn=self.params["execution_role_arn"],
                     State=self.params["policy_state"], Description=self.params["description"], PolicyDetails=details)
            after.update(Description=self.params["description"], State=self.params["policy_state"], PolicyDetails=details,
                         ExecutionRoleArn=self.params["execution_role_arn"])
        current_tags = dict(current.get("Tags") or {})
        purge = self.params["purge_tags"] and self.params["tags"] is not None
        to_set, to_unset = compare_aws_tags(current_tags, wanted_tags(self.params), purge_tags=purge)
        if to_unset:
            self.act("untag_resource", ResourceArn=current["PolicyArn"], TagKeys=to_unset)
        if to_set:
            self.act("tag_resource", ResourceArn=current["PolicyArn"], Tags=to_set)
        after["Tags"] = dict((k, v) for k, v in current_tags.items() if k not in to_unset)
        after["Tags"].update(to_set)
        if self.changed and not self.module.check_mode:
            return self.read(current["PolicyId"])
        return after

    def delete(self, current):
        self.act("delete_lifecycle_policy", PolicyId=current["PolicyId"])
        return current


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            description=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            execution_role_arn=dict(type="str"),
            target_tags=dict(type="dict"),
            interval_hours=dict(type="int", default=24, choices=[1, 2, 3, 4, 6, 8, 12, 24]),
            times=dict(type="list", elements="str", default=["05:00"]),
            retain_count=dict(type="int", default=7),
            copy_tags=dict(type="bool", default=True),
            tags_to_add=dict(type="dict"),
            policy_state=dict(type="str", default="ENABLED", choices=["ENABLED", "DISABLED"]),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["execution_role_arn", "target_tags"])],
        supports_check_mode=True,
    )
    errors = validate(module.params)
    if errors:
        module.fail_json(msg=" ".join(errors))
    policy = DLMPolicy(module, module.client("dlm"))
    name = module.params["name"]
    try:
        current = policy.find()
        if module.params["state"] == "present":
            after = policy.update(current) if current else policy.create()
        else:
            after = policy.delete(current) if current else None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge the DLM policy tagged Name=%s" % name)
    result = dict(changed=policy.changed, policy=public(after))
    if module._diff:
        result["diff"] = dict(before=public(current), after=public(after) if module.params["state"] == "present" else {})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
