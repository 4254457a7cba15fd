#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: budget
short_description: Monthly AWS cost budgets filtered by cost-allocation tag, with alert notifications
version_added: 0.1.0
description:
  - Converges a set of AWS Budgets (type COST, unit USD) whose names start with O(name_prefix), one per entry of
    O(budgets), each filtered by one cost-allocation tag (for example C(hubops:group=neuro)) and alerting its
    subscribers (e-mail addresses or SNS topic ARNs) when actual spend passes each threshold percentage.
  - Reads first and changes only what differs (limit, filter, notifications, subscribers, tags), so a re-run changes
    nothing.
  - Tags the budgets (O(tags), then each budget's own O(budgets[].tags)); tags it does not set are left alone.
  - With O(prune=true) (or O(state=absent) and no O(budgets)), budgets named O(name_prefix)* that are not wanted are
    deleted.
  - Exists because no Ansible module manages AWS Budgets.
  - A tag filter only sees spend once the tag is activated as a cost-allocation tag in the payer account.
author:
  - hubops.eks contributors (@hubops)
options:
  name_prefix:
    description: Prefix every budget name of the deployment shares (C(<deployment>-)); what prune and absent select on.
    type: str
    required: true
  budgets:
    description: The wanted budgets.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Budget name; must start with O(name_prefix).
        type: str
        required: true
      monthly_usd:
        description: Monthly limit in USD.
        type: float
        required: true
      tag_key:
        description: Cost-allocation tag the spend is filtered by.
        type: str
        required: true
      tag_value:
        description: Its value.
        type: str
        required: true
      thresholds_pct:
        description: Alert when actual spend passes these percentages of the limit.
        type: list
        elements: int
        default: [80, 100]
      notify:
        description: E-mail addresses or SNS topic ARNs alerted.
        type: list
        elements: str
        default: []
      tags:
        description: Tags of this budget, over O(tags).
        type: dict
        default: {}
  tags:
    description: Tags every budget gets (for example C(hubops:deployment)).
    type: dict
    default: {}
  prune:
    description: Delete budgets named O(name_prefix)* that are not in O(budgets).
    type: bool
    default: false
  state:
    description: C(present) converges O(budgets); C(absent) deletes them (all of O(name_prefix)* when O(budgets) is empty).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A budget for the neuro group's tagged spend, alerting at 80 and 100 percent
  hubops.eks.budget:
    name_prefix: dandi-
    prune: true
    tags: {"hubops:deployment": dandi}
    budgets:
      - {name: dandi-neuro, tags: {"hubops:group": neuro}, monthly_usd: 1000, tag_key: "hubops:group", tag_value: neuro,
         thresholds_pct: [80, 100], notify: [ops@example.org]}
"""

RETURN = r"""
budgets:
  description: What happened to each budget, by name (created, updated, unchanged, deleted).
  returned: always
  type: dict
  sample: {"dandi-neuro": "created"}
actions:
  description: The changes made (in check mode, that would be made).
  returned: always
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule


def _money(value):
    return "%.2f" % float(value)


def notification(pct):
    return {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": float(pct),
            "ThresholdType": "PERCENTAGE"}


def subscriber(address):
    return {"SubscriptionType": "SNS" if address.startswith("arn:") else "EMAIL", "Address": address}


def _notification_key(item):
    return (item.get("NotificationType"), item.get("ComparisonOperator"), float(item.get("Threshold", 0)),
            item.get("ThresholdType", "PERCENTAGE"))


class Budgets(object):
    def __init__(self, module):
        self.module = module
        self.client = module.client("budgets")
        identity = module.client("sts").get_caller_identity()
        self.account = identity["Account"]
        self.partition = identity["Arn"].split(":")[1]  # aws, aws-cn, aws-us-gov
        self.actions = []
        self.results = {}

    def act(self, what, call, account=True, **kwargs):
        self.actions.append(what)
        if not self.module.check_mode:
            if account:
                kwargs["AccountId"] = self.account
            call(**kwargs)

    def arn(self, name):
        return "arn:%s:budgets::%s:budget/%s" % (self.partition, self.account, name)

    def converge_tags(self, name, wanted):
        """Add or correct the wanted tags of an existing budget; other tags stay."""
        if not wanted:
            return
        arn = self.arn(name)
        have = dict((t["Key"], t["Value"]) for t in self.client.list_tags_for_resource(ResourceARN=arn).get("ResourceTags") or [])
        missing = dict((k, v) for k, v in wanted.items() if have.get(k) != v)
        if missing:
            self.act("tag budget %s (%s)" % (name, ", ".join(sorted(missing))), self.client.tag_resource, account=False,
                     ResourceARN=arn, ResourceTags=[{"Key": k, "Value": v} for k, v in sorted(missing.items())])

    def existing(self):
        names, token = [], None
        while True:
            kwargs = {"AccountId": self.account}
            if token:
                kwargs["NextToken"] = token
            page = self.client.describe_budgets(**kwargs)
            names.extend(b["BudgetName"] for b in page.get("Budgets") or [])
            token = page.get("NextToken")
            if not token:
                return names

    def describe(self, name):
        try:
            return self.client.describe_budget(AccountId=self.account, BudgetName=name)["Budget"]
        except is_boto3_error_code("NotFoundException"):
            return None

    def body(self, spec):
        return {"BudgetName": spec["name"], "BudgetType": "COST", "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": _money(spec["monthly_usd"]), "Unit": "USD"},
                "CostFilters": {"TagKeyValue": ["user:%s$%s" % (spec["tag_key"], spec["tag_value"])]}}

    def converge(self, spec, tags):
        name = spec["name"]
        wanted = self.body(spec)
        wanted_tags = dict(tags, **(spec.get("tags") or {}))
        current = self.describe(name)
        wanted_notes = dict((_notification_key(notification(p)), notification(p)) for p in spec["thresholds_pct"])
        subscribers = [subscriber(a) for a in spec["notify"]]
        if current is None:
            with_subs = [{"Notification": n, "Subscribers": subscribers} for n in wanted_notes.values()] if subscribers else []
            self.act("create budget %s (%s USD/month)" % (name, wanted["BudgetLimit"]["Amount"]), self.client.create_budget,
                     Budget=wanted, NotificationsWithSubscribers=with_subs,
                     ResourceTags=[{"Key": k, "Value": v} for k, v in sorted(wanted_tags.items())])
            return "created"
        before = len(self.actions)
        limit = (current.get("BudgetLimit") or {}).get("Amount")
        if (limit is None or _money(limit) != wanted["BudgetLimit"]["Amount"] or current.get("CostFilters") != wanted["CostFilters"]
                or current.get("TimeUnit") != "MONTHLY"):
            self.act("update budget %s" % name, self.client.update_budget, NewBudget=wanted)
        self.converge_tags(name, wanted_tags)
        notes = self.client.describe_notifications_for_budget(AccountId=self.account, BudgetName=name).get("Notifications") or []
        have = dict((_notification_key(n), n) for n in notes)
        for key, note in sorted(have.items()):
            if key not in wanted_notes or not subscribers:
                self.act("delete %s%% alert of %s" % (note["Threshold"], name), self.client.delete_notification,
                         BudgetName=name, Notification=note)
        if subscribers:
            for key, note in sorted(wanted_notes.items()):
                if key not in have:
                    self.act("add %s%% alert to %s" % (note["Threshold"], name), self.client.create_notification,
                             BudgetName=name, Notification=note, Subscribers=subscribers)
                    continue
                current_subs = self.client.describe_subscribers_for_notification(
                    AccountId=self.account, BudgetName=name, Notification=have[key]).get("Subscribers") or []
                got = set((s["SubscriptionType"], s["Address"]) for s in current_subs)
                want = set((s["SubscriptionType"], s["Address"]) for s in subscribers)
                for kind, address in sorted(want - got):
                    self.act("subscribe %s to %s" % (address, name), self.client.create_subscriber, BudgetName=name,
                             Notification=have[key], Subscriber={"SubscriptionType": kind, "Address": address})
                for kind, address in sorted(got - want):
                    self.act("unsubscribe %s from %s" % (address, name), self.client.delete_subscriber, BudgetName=name,
                             Notification=have[key], Subscriber={"SubscriptionType": kind, "Address": address})
        return "updated" if len(self.actions) > before else "unchanged"

    def delete(self, name):
        self.act("delete budget %s" % name, self.client.delete_budget, BudgetName=name)
        return "deleted"


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            name_prefix=dict(type="str", required=True),
            budgets=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                monthly_usd=dict(type="float", required=True),
                tag_key=dict(type="str", required=True, no_log=False),
                tag_value=dict(type="str", required=True),
                thresholds_pct=dict(type="list", elements="int", default=[80, 100]),
                notify=dict(type="list", elements="str", default=[]),
                tags=dict(type="dict", default={}),
            )),
            tags=dict(type="dict", default={}),
            prune=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    prefix = params["name_prefix"]
    bad = [b["name"] for b in params["budgets"] if not b["name"].startswith(prefix)]
    if bad:
        module.fail_json(msg="budgets[].name must start with name_prefix %s (so teardown finds them): %s" % (prefix, ", ".join(bad)))
    for spec in params["budgets"]:
        if spec["monthly_usd"] <= 0 or any(p <= 0 for p in spec["thresholds_pct"]):
            module.fail_json(msg="budget %s: monthly_usd and every thresholds_pct must be above 0." % spec["name"])
    budgets = Budgets(module)
    try:
        existing = [n for n in budgets.existing() if n.startswith(prefix)]
        wanted = [b["name"] for b in params["budgets"]]
        if params["state"] == "present":
            for spec in params["budgets"]:
                budgets.results[spec["name"]] = budgets.converge(spec, params["tags"])
            if params["prune"]:
                for name in sorted(set(existing) - set(wanted)):
                    budgets.results[name] = budgets.delete(name)
        else:
            for name in sorted(set(existing) & set(wanted or existing)):
                budgets.results[name] = budgets.delete(name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge the budgets %s*" % prefix)
    module.exit_json(changed=bool(budgets.actions), budgets=budgets.results, actions=budgets.actions)


if __name__ == "__main__":
    main()
