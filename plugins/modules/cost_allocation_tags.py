#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cost_allocation_tags
short_description: Activate user-defined cost allocation tags in Cost Explorer, where the account may
version_added: 0.1.0
description:
  - Makes the user-defined tag keys in O(tag_keys) active (O(state=present)) or inactive (O(state=absent)) cost
    allocation tags, so that AWS Budgets, Cost Explorer and the cost and usage reports can filter and group spend by
    them (for example C(hubops:deployment) and C(hubops:group)).
  - Reads the keys' status first (C(ListCostAllocationTags)) and updates only the keys whose status differs
    (C(UpdateCostAllocationTagsStatus)), so a re-run changes nothing.
  - Only the payer (management) account of an AWS Organization, or a standalone account, may do this. In a linked
    (member) account AWS answers C(AccessDeniedException) ("Linked account doesn't have access to cost allocation
    tags"); the module then does not fail but returns RV(payer_account=false) and a RV(msg) naming the keys the
    payer account's administrator must activate.
  - AWS lists a tag key only once it has seen it on billed usage, up to 24 hours after a resource got the tag. Such
    keys cannot be activated yet; the module does not fail for them but returns them in RV(pending). Run it again a
    day later.
  - Activation is account-wide (every deployment in the account shares the keys) and costs nothing.
  - Exists because no Ansible module manages cost allocation tags.
author:
  - hubops.eks contributors (@hubops)
options:
  tag_keys:
    description:
      - The user-defined tag keys (up to 128 characters each); AWS-generated keys (C(aws:*)) are refused.
    type: list
    elements: str
    required: true
  state:
    description: C(present) activates the keys; C(absent) deactivates them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Let budgets and Cost Explorer see the deployment's and the groups' spend
  hubops.eks.cost_allocation_tags:
    tag_keys: ["hubops:deployment", "hubops:group", project]
  register: cost_tags

- name: Say what the payer account must do, or which keys billing has not seen yet
  ansible.builtin.debug:
    msg: "{{ cost_tags.msg }}"
  when: not cost_tags.payer_account or cost_tags.pending | length > 0
"""

RETURN = r"""
payer_account:
  description:
    - False when AWS refused because the account is a linked (member) account; then nothing was read or changed and
      the keys must be activated in the payer (management) account.
  returned: always
  type: bool
  sample: true
statuses:
  description:
    - Status of each key after the run (in check mode, as it would be), C(Active) or C(Inactive); keys billing has
      not seen yet are left out (see RV(pending)). Empty when RV(payer_account=false).
  returned: always
  type: dict
  sample: {"hubops:deployment": "Active", "hubops:group": "Active"}
changed_keys:
  description: The keys whose status was changed (in check mode, would be).
  returned: always
  type: list
  elements: str
  sample: ["hubops:group"]
pending:
  description: Keys AWS has not seen on billed usage yet, so they cannot be activated now (O(state=present) only).
  returned: always
  type: list
  elements: str
  sample: ["owner"]
msg:
  description: What happened, and what the administrator must do when the account or billing did not allow it.
  returned: always
  type: str
  sample: "Activated the cost allocation tags hubops:group; already active: hubops:deployment."
"""

import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

LIST_CHUNK = 100    # ListCostAllocationTags takes at most 100 TagKeys
UPDATE_CHUNK = 20   # UpdateCostAllocationTagsStatus takes at most 20 entries
NOT_FOUND_RE = re.compile(r"Tag keys not found:\s*(.+?)\s*$")
VERBS = {("present", False): "activated", ("present", True): "would activate",
         ("absent", False): "deactivated", ("absent", True): "would deactivate"}
CONSOLE = "Billing and Cost Management console > Cost allocation tags"


def linked_account(error):
    """True for AWS's answer to a linked (member) account: AccessDeniedException, "Linked account doesn't have access"."""
    details = error.response.get("Error") or {}
    return details.get("Code") == "AccessDeniedException" and "linked account" in (details.get("Message") or "").lower()


def keys_not_found(error):
    """The keys of a ValidationException "Failed to update Cost Allocation Tag: Tag keys not found: a,b", else []."""
    details = error.response.get("Error") or {}
    match = NOT_FOUND_RE.search(details.get("Message") or "")
    if details.get("Code") != "ValidationException" or not match:
        return []
    return [k.strip() for k in match.group(1).split(",") if k.strip()]


def chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


class NotPayer(Exception):
    def __init__(self, error):
        super(NotPayer, self).__init__(str(error))
        self.error = error


class CostAllocationTags(object):
    def __init__(self, module):
        self.module = module
        self.client = module.client("ce")

    def statuses(self, keys):
        """{key: Active|Inactive} of the user-defined keys billing knows; unseen keys are missing."""
        found = {}
        for part in chunks(keys, LIST_CHUNK):
            token = None
            while True:
                kwargs = {"TagKeys": part, "Type": "UserDefined"}
                if token:
                    kwargs["NextToken"] = token
                try:
                    page = self.client.list_cost_allocation_tags(**kwargs)
                except botocore.exceptions.ClientError as exc:
                    if linked_account(exc):
                        raise NotPayer(exc)
                    raise
                for tag in page.get("CostAllocationTags") or []:
                    found[tag["TagKey"]] = tag.get("Status")
                token = page.get("NextToken")
                if not token:
                    break
        return found

    def update(self, keys, status):
        """Set keys to status. Returns (keys billing does not know after all, [(key, code, message)] AWS refused)."""
        unknown, refused = [], []
        for part in chunks(keys, UPDATE_CHUNK):
            while part:
                try:
                    answer = self.client.update_cost_allocation_tags_status(
                        CostAllocationTagsStatus=[{"TagKey": k, "Status": status} for k in part])
                except botocore.exceptions.ClientError as exc:
                    if linked_account(exc):
                        raise NotPayer(exc)
                    # billing does not know a key after all: nothing in the batch changed, so send it again without
                    missing = [k for k in keys_not_found(exc) if k in part]
                    if not missing:
                        raise
                    unknown.extend(missing)
                    part = [k for k in part if k not in missing]
                    continue
                refused.extend((e.get("TagKey"), e.get("Code"), e.get("Message")) for e in answer.get("Errors") or [])
                break
        return unknown, refused

    def account(self):
        try:
            return self.module.client("sts").get_caller_identity()["Account"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, KeyError):
            return None


def not_payer_message(account, keys, error):
    who = "account %s" % account if account else "this account"
    return ("Cost allocation tags were NOT activated: %s is a linked (member) account of an AWS Organization, and only "
            "the payer (management) account can activate cost allocation tags (AWS answered: %s). Ask the payer "
            "account's administrator to activate these user-defined tags (%s, or `aws ce "
            "update-cost-allocation-tags-status` there): %s. Until then budgets and Cost Explorer filtered by them show "
            "no spend." % (who, (error.response.get("Error") or {}).get("Message") or "AccessDeniedException", CONSOLE,
                           ", ".join(keys)))


def summary(state, changed, already, pending, check_mode):
    verb = VERBS[(state, check_mode)]
    parts = []
    if changed:
        parts.append("%s the cost allocation tags %s" % (verb, ", ".join(changed)))
    if already:
        parts.append("already %s: %s" % ("active" if state == "present" else "inactive", ", ".join(already)))
    if pending:
        parts.append("NOT activated yet, because AWS billing has not seen them on billed usage (it lists a key up to 24 "
                     "hours after a resource carrying it is billed): %s. Run site.yml again in a day; nothing else is "
                     "needed" % ", ".join(pending))
    text = "; ".join(parts) or "No cost allocation tags to change"
    return text[0].upper() + text[1:] + "."


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            tag_keys=dict(type="list", elements="str", required=True, no_log=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    state = module.params["state"]
    keys = []
    for key in module.params["tag_keys"]:
        if key not in keys:
            keys.append(key)
    bad = [k for k in keys if not k or len(k) > 128 or k.startswith("aws:")]
    if not keys or bad:
        module.fail_json(msg="tag_keys must name 1 or more user-defined tag keys of 1-128 characters, none starting with "
                             "aws: (AWS-generated): %s" % (", ".join(repr(k) for k in bad) or "none given"))
    wanted = "Active" if state == "present" else "Inactive"
    tags = CostAllocationTags(module)
    result = dict(changed=False, payer_account=True, statuses={}, changed_keys=[], pending=[])
    try:
        before = tags.statuses(keys)
        pending = [k for k in keys if k not in before] if state == "present" else []
        to_change = [k for k in keys if k in before and before[k] != wanted]
        already = [k for k in keys if before.get(k) == wanted]
        refused = []
        if to_change and not module.check_mode:
            unknown, refused = tags.update(to_change, wanted)
            if unknown:
                pending.extend(k for k in unknown if state == "present")
                to_change = [k for k in to_change if k not in unknown]
        failed = set(r[0] for r in refused)
        changed_keys = [k for k in to_change if k not in failed]
        after = dict(before)
        after.update(dict((k, wanted) for k in changed_keys))
        result.update(changed=bool(changed_keys), statuses=dict((k, after[k]) for k in keys if k in after),
                      changed_keys=changed_keys, pending=pending,
                      msg=summary(state, changed_keys, already, pending, module.check_mode))
        if module._diff:
            result["diff"] = {"before": dict((k, before.get(k, "not seen by billing yet")) for k in keys),
                              "after": dict((k, after.get(k, "not seen by billing yet")) for k in keys)}
        if refused:
            result["msg"] = "AWS refused to change these cost allocation tags: %s. %s" % (
                "; ".join("%s (%s: %s)" % r for r in refused), result["msg"])
            module.fail_json(**result)
    except NotPayer as exc:
        module.exit_json(changed=False, payer_account=False, statuses={}, changed_keys=[], pending=[],
                         msg=not_payer_message(tags.account(), keys, exc.error))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot read or change the cost allocation tags %s (the caller needs "
                                      "ce:ListCostAllocationTags and ce:UpdateCostAllocationTagsStatus)" % ", ".join(keys))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
