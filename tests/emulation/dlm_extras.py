# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Amazon Data Lifecycle Manager (DLM), which moto 5.2.5 lacks entirely, for hubops.eks.dlm_policy.
Test infrastructure only (launcher.py calls `install()`).

The REST API of botocore's `dlm` model: CreateLifecyclePolicy (POST /policies), GetLifecyclePolicies (GET /policies,
with its filters), GetLifecyclePolicy (GET /policies/{policyId}), UpdateLifecyclePolicy (PATCH /policies/{policyId}),
DeleteLifecyclePolicy (DELETE /policies/{policyId}/), TagResource / ListTagsForResource / UntagResource
(POST / GET / DELETE /tags/{resourceArn}).

Registration: moto's server picks a backend from the SigV4 credential scope of the request (service `dlm`, so the host
dlm.<region>.amazonaws.com), finds its name through `moto.backend_index.backend_url_patterns`, loads
`moto.<name>.<name>_backends` and builds a Flask app from the backend's URL paths. `install()` adds the pattern, a
`moto.dlm` module holding `dlm_backends`, and the URL paths (`DLMBackend._url_module`). Flask only has to reach
`DLMResponse.dispatch`; the action comes from the botocore model, as for moto's own services.

Behaviour of AWS kept: policy ids `policy-` + 17 hex digits, ARNs `arn:aws:dlm:<region>:<account>:policy/<id>`, state
ENABLED/DISABLED (StatusMessage repeats it), PolicyDetails stored as sent plus the ResourceLocations [CLOUD] AWS reports
for a snapshot policy that did not give them, DateCreated/DateModified, tags. Refused as AWS refuses them
(InvalidRequestException, HTTP 400): a description or role ARN outside the API's patterns, a custom policy without
PolicyDetails, a snapshot policy without resource types, target tags or schedules, more than 4 schedules, a create rule
that is neither an interval (1, 2, 3, 4, 6, 8, 12 or 24 hours, at most one start time HH:MM) nor a cron expression, a
retain rule without a count (1-1000) or an age, tag keys starting with `aws:`. An unknown policy or ARN is
ResourceNotFoundException (HTTP 404). More than 100 policies in a region is LimitExceededException (HTTP 429).
"""

from __future__ import annotations

import copy
import json
import re
import sys
import types
from urllib.parse import unquote

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random

SERVICE = "dlm"
URL_BASES = [r"https?://dlm\.(.+)\.amazonaws\.com"]
DESCRIPTION = re.compile(r"^[0-9A-Za-z _-]{1,500}$")
ROLE_ARN = re.compile(r"^arn:aws(-[a-z]{1,3}){0,2}:iam::\d+:role/.*$")
TIME = re.compile(r"^(0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]$")
INTERVAL_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
RETAIN_UNITS = ("DAYS", "WEEKS", "MONTHS", "YEARS")
POLICY_TYPES = ("EBS_SNAPSHOT_MANAGEMENT", "IMAGE_MANAGEMENT", "EVENT_BASED_POLICY")
STATES = ("ENABLED", "DISABLED")
MAX_POLICIES = 100
MAX_SCHEDULES = 4


class DLMError(JsonRESTError):
    """A DLM error as AWS sends it: the code in X-Amzn-ErrorType and the body's `Code`, the text in `Message`."""

    def __init__(self, error_type: str, message: str, status: int, **fields):
        super().__init__(error_type, message)
        self.code = status
        self.description = json.dumps(dict({"Message": message, "Code": error_type}, **fields))


def invalid(message: str) -> DLMError:
    return DLMError("InvalidRequestException", message, 400)


def not_found(policy_ids: list) -> DLMError:
    return DLMError("ResourceNotFoundException", "Policy not found: %s" % ", ".join(policy_ids), 404,
                    ResourceType="Policy", ResourceIds=list(policy_ids))


def _tag_list(tags, where: str) -> list:
    if not isinstance(tags, list):
        raise invalid("%s must be a list of Key/Value pairs." % where)
    for tag in tags:
        if not isinstance(tag, dict) or not tag.get("Key") or "Value" not in tag:
            raise invalid("%s: every tag needs a Key and a Value." % where)
        if str(tag["Key"]).startswith("aws:"):
            raise invalid("%s: tag keys starting with aws: are reserved." % where)
    return tags


def _check_schedule(schedule: dict, index: int) -> None:
    where = "Schedules[%d]" % index
    rule = schedule.get("CreateRule") or {}
    if rule.get("CronExpression"):
        if rule.get("Interval") or rule.get("Times"):
            raise invalid("%s.CreateRule: give either CronExpression or Interval/IntervalUnit/Times, not both." % where)
    else:
        if rule.get("Interval") not in INTERVAL_HOURS or rule.get("IntervalUnit") != "HOURS":
            raise invalid("%s.CreateRule: Interval must be one of %s with IntervalUnit HOURS, or give a CronExpression."
                          % (where, ", ".join(str(h) for h in INTERVAL_HOURS)))
        times = rule.get("Times") or []
        if len(times) > 1 or any(not TIME.match(str(t)) for t in times):
            raise invalid("%s.CreateRule.Times: at most one start time, as HH:MM (UTC)." % where)
    retain = schedule.get("RetainRule")
    if retain is not None:
        count, interval = retain.get("Count"), retain.get("Interval")
        if count is not None:
            if interval is not None or not 1 <= int(count) <= 1000:
                raise invalid("%s.RetainRule: Count must be 1-1000 and cannot be combined with Interval." % where)
        elif interval is None or int(interval) < 1 or retain.get("IntervalUnit") not in RETAIN_UNITS:
            raise invalid("%s.RetainRule: give a Count, or an Interval with IntervalUnit %s." % (where, "/".join(RETAIN_UNITS)))
    _tag_list(schedule.get("TagsToAdd") or [], where + ".TagsToAdd")


def checked_details(details) -> dict:
    """PolicyDetails as DLM keeps them, after the checks it makes."""
    if not isinstance(details, dict):
        raise invalid("PolicyDetails is required for a custom policy.")
    details = copy.deepcopy(details)
    policy_type = details.setdefault("PolicyType", "EBS_SNAPSHOT_MANAGEMENT")
    if policy_type not in POLICY_TYPES:
        raise invalid("PolicyType must be one of %s." % ", ".join(POLICY_TYPES))
    if policy_type == "EVENT_BASED_POLICY":
        return details
    if not details.get("ResourceTypes") or any(t not in ("VOLUME", "INSTANCE") for t in details["ResourceTypes"]):
        raise invalid("PolicyDetails.ResourceTypes: give VOLUME or INSTANCE.")
    if not details.get("TargetTags"):
        raise invalid("PolicyDetails.TargetTags: give at least one target tag.")
    _tag_list(details["TargetTags"], "PolicyDetails.TargetTags")
    schedules = details.get("Schedules") or []
    if not 1 <= len(schedules) <= MAX_SCHEDULES:
        raise invalid("PolicyDetails.Schedules: give 1 to %d schedules." % MAX_SCHEDULES)
    for index, schedule in enumerate(schedules):
        _check_schedule(schedule, index)
    if policy_type == "EBS_SNAPSHOT_MANAGEMENT":
        details.setdefault("ResourceLocations", ["CLOUD"])
    return details


def _check_role(arn) -> None:
    if not ROLE_ARN.match(str(arn or "")):
        raise invalid("ExecutionRoleArn %r is not an IAM role ARN." % arn)


def _check_description(description) -> None:
    if not DESCRIPTION.match(str(description or "")):
        raise invalid("Description must be 1-500 letters, digits, spaces, '-' or '_'.")


def _check_tags(tags) -> dict:
    tags = tags or {}
    if any(str(key).startswith("aws:") for key in tags):
        raise invalid("Tag keys starting with aws: are reserved.")
    return dict(tags)


class DLMBackend(BaseBackend):
    """Lifecycle policies of one account and region."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.policies: dict[str, dict] = {}
        self.tags: dict[str, dict] = {}

    @property
    def _url_module(self):  # moto derives it from the module name otherwise
        return types.SimpleNamespace(url_bases=URL_BASES, url_paths=URL_PATHS)

    def _arn(self, policy_id: str) -> str:
        return "arn:%s:dlm:%s:%s:policy/%s" % (self.partition, self.region_name, self.account_id, policy_id)

    def get(self, policy_id: str) -> dict:
        if policy_id not in self.policies:
            raise not_found([policy_id])
        return self.policies[policy_id]

    def by_arn(self, arn: str) -> dict:
        for policy in self.policies.values():
            if policy["PolicyArn"] == arn:
                return policy
        raise DLMError("ResourceNotFoundException", "Resource not found: %s" % arn, 404, ResourceType="Policy")

    def create(self, body: dict) -> str:
        _check_role(body.get("ExecutionRoleArn"))
        _check_description(body.get("Description"))
        if body.get("State") not in STATES:
            raise invalid("State must be ENABLED or DISABLED.")
        if body.get("DefaultPolicy"):
            raise invalid("Default policies are not emulated; create a custom policy (PolicyDetails).")
        details = checked_details(body.get("PolicyDetails"))
        tags = _check_tags(body.get("Tags"))
        if len(self.policies) >= MAX_POLICIES:
            raise DLMError("LimitExceededException", "The maximum of %d lifecycle policies is reached." % MAX_POLICIES, 429,
                           ResourceType="Policy")
        policy_id = "policy-%s" % mock_random.get_random_hex(17)
        now = unix_time()
        self.policies[policy_id] = {"PolicyId": policy_id, "Description": body["Description"], "State": body["State"],
                                    "StatusMessage": body["State"], "ExecutionRoleArn": body["ExecutionRoleArn"],
                                    "DateCreated": now, "DateModified": now, "PolicyDetails": details,
                                    "PolicyArn": self._arn(policy_id), "DefaultPolicy": False}
        self.tags[policy_id] = tags
        return policy_id

    def update(self, policy_id: str, body: dict) -> None:
        policy = self.get(policy_id)
        if "ExecutionRoleArn" in body:
            _check_role(body["ExecutionRoleArn"])
        if "Description" in body:
            _check_description(body["Description"])
        if "State" in body and body["State"] not in STATES:
            raise invalid("State must be ENABLED or DISABLED.")
        details = checked_details(body["PolicyDetails"]) if "PolicyDetails" in body else None
        for key in ("ExecutionRoleArn", "Description", "State"):
            if key in body:
                policy[key] = body[key]
        if details is not None:
            policy["PolicyDetails"] = details
        policy["StatusMessage"] = policy["State"]
        policy["DateModified"] = unix_time()

    def delete(self, policy_id: str) -> None:
        self.get(policy_id)
        del self.policies[policy_id]
        self.tags.pop(policy_id, None)

    def view(self, policy_id: str) -> dict:
        policy = copy.deepcopy(self.get(policy_id))
        if self.tags.get(policy_id):
            policy["Tags"] = dict(self.tags[policy_id])
        return policy

    def summaries(self, policy_ids, state, resource_types, target_tags, tags_to_add, default_type) -> list:
        if policy_ids:
            missing = [p for p in policy_ids if p not in self.policies]
            if missing:
                raise not_found(missing)
        found = []
        for policy_id in sorted(self.policies, key=lambda p: self.policies[p]["DateCreated"]):
            policy = self.policies[policy_id]
            details = policy["PolicyDetails"]
            targets = set("%s=%s" % (t["Key"], t["Value"]) for t in details.get("TargetTags") or [])
            added = set("%s=%s" % (t["Key"], t["Value"]) for s in details.get("Schedules") or [] for t in s.get("TagsToAdd") or [])
            if ((policy_ids and policy_id not in policy_ids) or (state and policy["State"] != state) or default_type
                    or (resource_types and not set(resource_types) & set(details.get("ResourceTypes") or []))
                    or (target_tags and not set(target_tags) & targets) or (tags_to_add and not set(tags_to_add) & added)):
                continue
            summary = {"PolicyId": policy_id, "Description": policy["Description"], "State": policy["State"],
                       "PolicyType": details.get("PolicyType"), "DefaultPolicy": False}
            if self.tags.get(policy_id):
                summary["Tags"] = dict(self.tags[policy_id])
            found.append(summary)
        return found


class DLMResponse(BaseResponse):
    """The DLM actions; dispatch finds them through botocore's model (service `dlm`)."""

    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    @property
    def backend(self) -> DLMBackend:
        return dlm_backends[self.current_account][self.region]

    def _body(self) -> dict:
        return json.loads(self.body) if self.body else {}

    def _uri(self, name: str) -> str:
        return unquote(self.uri_match.get(name) or "")

    def _query(self, name: str) -> list:
        value = self.querystring.get(name) if name in self.querystring else []
        return value if isinstance(value, list) else []

    @staticmethod
    def _json(payload: dict):
        return json.dumps(payload), {"Content-Type": "application/json"}

    def create_lifecycle_policy(self):
        return self._json({"PolicyId": self.backend.create(self._body())})

    def get_lifecycle_policies(self):
        state = (self._query("state") or [None])[0]
        default_type = (self._query("defaultPolicyType") or [None])[0]
        policies = self.backend.summaries(self._query("policyIds"), state, self._query("resourceTypes"), self._query("targetTags"),
                                          self._query("tagsToAdd"), default_type)
        return self._json({"Policies": policies})

    def get_lifecycle_policy(self):
        return self._json({"Policy": self.backend.view(self._uri("policyId"))})

    def update_lifecycle_policy(self):
        self.backend.update(self._uri("policyId"), self._body())
        return self._json({})

    def delete_lifecycle_policy(self):
        self.backend.delete(self._uri("policyId"))
        return self._json({})

    def list_tags_for_resource(self):
        policy = self.backend.by_arn(self._uri("resourceArn"))
        return self._json({"Tags": dict(self.backend.tags.get(policy["PolicyId"]) or {})})

    def tag_resource(self):
        policy = self.backend.by_arn(self._uri("resourceArn"))
        tags = _check_tags(self._body().get("Tags"))
        if not tags:
            raise invalid("Tags: give at least one tag.")
        self.backend.tags.setdefault(policy["PolicyId"], {}).update(tags)
        return self._json({})

    def untag_resource(self):
        policy = self.backend.by_arn(self._uri("resourceArn"))
        current = self.backend.tags.setdefault(policy["PolicyId"], {})
        for key in self._query("tagKeys"):
            current.pop(key, None)
        return self._json({})


URL_PATHS = {
    "{0}/policies/?$": DLMResponse.dispatch,
    "{0}/policies/(?P<policyId>[^/]+)/$": DLMResponse.dispatch,
    "{0}/tags/(?P<resourceArn>.+)$": DLMResponse.dispatch,
}

dlm_backends = BackendDict(DLMBackend, SERVICE)


def install() -> None:
    from moto import backend_index

    if not any(name == SERVICE for name, _pattern in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append((SERVICE, re.compile(URL_BASES[0])))
    module = types.ModuleType("moto.%s" % SERVICE)
    module.dlm_backends = dlm_backends
    sys.modules.setdefault("moto.%s" % SERVICE, module)
