#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: karpenter_interruption_queue
short_description: Karpenter's interruption queue (SQS, SSE on) and the EventBridge rules that feed it
version_added: 0.1.0
description:
  - Creates or converges the SQS queue Karpenter reads interruption events from (5-minute retention, SQS-managed
    server-side encryption, a policy that lets only EventBridge send and denies plain HTTP), and one EventBridge rule
    per event kind (spot interruption warning, rebalance recommendation, instance state change, AWS Health scheduled
    change, capacity reservation interruption) targeting it.
  - Queue and rules carry O(tags). Reads first and changes only what differs, so a re-run changes nothing.
  - O(state=absent) removes the rules' targets, the rules and the queue.
  - Exists because community.aws.sqs_queue cannot turn on SQS-managed encryption and amazon.aws.cloudwatchevent_rule
    cannot tag rules (untagged rules escape cost allocation and the teardown sweep).
author:
  - hubops.eks contributors (@hubops)
options:
  name:
    description: Queue name; the rules are named O(name) plus C(-<kind>).
    type: str
    required: true
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
  tags:
    description: Tags of the queue and the rules.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Interruption queue and rules of the dandi cluster
  hubops.eks.karpenter_interruption_queue:
    name: hubops-dandi-karpenter
    tags: {"hubops:deployment": dandi}
"""

RETURN = r"""
queue_url:
  description: URL of the queue (empty when absent).
  returned: always
  type: str
queue_arn:
  description: ARN of the queue (empty when absent).
  returned: always
  type: str
  sample: arn:aws:sqs:us-east-2:123456789012:hubops-dandi-karpenter
queue_name:
  description: Name of the queue; the Karpenter chart's C(settings.interruptionQueue).
  returned: always
  type: str
rules:
  description: The EventBridge rules, by kind.
  returned: always
  type: dict
  sample: {"spot": "arn:aws:events:us-east-2:123456789012:rule/hubops-dandi-karpenter-spot"}
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
"""

import json

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

RETENTION_SECONDS = "300"
TARGET_ID = "KarpenterInterruptionQueueTarget"
RULES = K.INTERRUPTION_RULES
queue_policy = K.queue_policy


def _json(text):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


class Interruption(object):
    def __init__(self, module):
        self.module = module
        self.sqs = module.client("sqs")
        self.events = module.client("events")
        self.name = module.params["name"]
        self.tags = dict((k, str(v)) for k, v in (module.params["tags"] or {}).items())
        self.actions = []

    def act(self, what, call, **kwargs):
        self.actions.append(what)
        if not self.module.check_mode:
            return call(**kwargs)
        return None

    def queue_arn_for(self):
        sts_account = self.module.client("sts").get_caller_identity()["Account"]
        partition = "aws-cn" if self.module.region.startswith("cn-") else "aws"
        return "arn:%s:sqs:%s:%s:%s" % (partition, self.module.region, sts_account, self.name)

    def queue_url(self):
        try:
            return self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        except is_boto3_error_code("AWS.SimpleQueueService.NonExistentQueue"):
            return None
        except is_boto3_error_code("QueueDoesNotExist"):
            return None

    def rule_name(self, kind):
        return "%s-%s" % (self.name, kind)

    def present(self):
        url = self.queue_url()
        if url is None:
            arn = self.queue_arn_for()
            attributes = {"MessageRetentionPeriod": RETENTION_SECONDS, "SqsManagedSseEnabled": "true",
                          "Policy": json.dumps(queue_policy(arn), sort_keys=True)}
            created = self.act("create queue %s" % self.name, self.sqs.create_queue, QueueName=self.name,
                               Attributes=attributes, tags=self.tags)
            url = created["QueueUrl"] if created else ""
        else:
            current = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            arn = current["QueueArn"]
            wanted = {"MessageRetentionPeriod": RETENTION_SECONDS, "SqsManagedSseEnabled": "true",
                      "Policy": json.dumps(queue_policy(arn), sort_keys=True)}
            differs = dict((k, v) for k, v in wanted.items()
                           if (_json(current.get(k)) != _json(v) if k == "Policy" else str(current.get(k, "")).lower() != v))
            if differs:
                self.act("set queue attributes %s" % ", ".join(sorted(differs)), self.sqs.set_queue_attributes,
                         QueueUrl=url, Attributes=differs)
            have = self.sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
            add = dict((k, v) for k, v in self.tags.items() if have.get(k) != v)
            if add:
                self.act("tag queue", self.sqs.tag_queue, QueueUrl=url, Tags=add)
        rules = {}
        for kind in sorted(RULES):
            rules[kind] = self.rule_present(kind, RULES[kind], arn)
        return {"queue_url": url, "queue_arn": arn, "queue_name": self.name, "rules": rules}

    def describe_rule(self, name):
        try:
            return self.events.describe_rule(Name=name)
        except is_boto3_error_code("ResourceNotFoundException"):
            return None

    def rule_present(self, kind, pattern, queue_arn):
        name = self.rule_name(kind)
        current = self.describe_rule(name)
        description = "Karpenter interruption events (%s) for queue %s" % (kind, self.name)
        if current is None or _json(current.get("EventPattern")) != pattern or current.get("State") != "ENABLED":
            kwargs = {"Name": name, "EventPattern": json.dumps(pattern), "State": "ENABLED", "Description": description}
            if current is None:
                kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]
            result = self.act("%s rule %s" % ("create" if current is None else "update", name), self.events.put_rule, **kwargs)
            arn = (result or {}).get("RuleArn") or (current or {}).get("Arn", "")
        else:
            arn = current["Arn"]
        if current is not None:
            have = dict((t["Key"], t["Value"]) for t in self.events.list_tags_for_resource(ResourceARN=arn).get("Tags") or [])
            add = [{"Key": k, "Value": v} for k, v in sorted(self.tags.items()) if have.get(k) != v]
            if add:
                self.act("tag rule %s" % name, self.events.tag_resource, ResourceARN=arn, Tags=add)
            targets = self.events.list_targets_by_rule(Rule=name).get("Targets") or []
        else:
            targets = []
        if [(t["Id"], t["Arn"]) for t in targets] != [(TARGET_ID, queue_arn)]:
            extra = [t["Id"] for t in targets if t["Id"] != TARGET_ID]
            if extra:
                self.act("remove foreign targets of rule %s" % name, self.events.remove_targets, Rule=name, Ids=extra)
            self.act("target rule %s at the queue" % name, self.events.put_targets, Rule=name,
                     Targets=[{"Id": TARGET_ID, "Arn": queue_arn}])
        return arn

    def absent(self):
        for kind in sorted(RULES):
            name = self.rule_name(kind)
            if self.describe_rule(name) is None:
                continue
            ids = [t["Id"] for t in self.events.list_targets_by_rule(Rule=name).get("Targets") or []]
            if ids:
                self.act("remove targets of rule %s" % name, self.events.remove_targets, Rule=name, Ids=ids)
            self.act("delete rule %s" % name, self.events.delete_rule, Name=name)
        url = self.queue_url()
        if url:
            self.act("delete queue %s" % self.name, self.sqs.delete_queue, QueueUrl=url)
        return {"queue_url": "", "queue_arn": "", "queue_name": self.name, "rules": {}}


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    interruption = Interruption(module)
    try:
        result = interruption.present() if module.params["state"] == "present" else interruption.absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge the interruption queue %s" % module.params["name"])
    module.exit_json(changed=bool(interruption.actions), actions=interruption.actions, **result)


if __name__ == "__main__":
    main()
