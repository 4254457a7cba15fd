# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Cost Explorer's cost allocation tag calls, which moto 5.2.5's `ce` lacks, for hubops.eks.cost_allocation_tags:
ListCostAllocationTags and UpdateCostAllocationTagsStatus. Test infrastructure only (launcher.py calls `install()`).

Behaviour of AWS kept:
- Billing lists a user-defined tag key only once it has seen it on a resource (AWS: on billed usage, up to 24 hours
  after the tag was put on). Here "seen" is immediate: every tag key on a resource of the account that the
  resource groups tagging API knows (any region in use) or on an IAM role. A key activated once stays listed.
- A few AWS-generated keys (`aws:createdBy`, `aws:cloudformation:stack-name`) are listed, Type AWSGenerated, Inactive.
- Keys start Inactive; UpdateCostAllocationTagsStatus sets the status (LastUpdatedDate then), at most 20 entries a
  call; setting the status a key already has is accepted and changes nothing.
- A key billing has not seen makes the whole update fail: ValidationException (HTTP 400) "Failed to update Cost
  Allocation Tag: Tag keys not found: <k1>,<k2>", nothing is changed.
- ListCostAllocationTags filters by Status, TagKeys (1-100), Type and pages with MaxResults (1-1000, default 100) /
  NextToken (InvalidNextTokenException for a token it did not hand out).
- A linked (member) account of an organization has no access at all: both calls answer AccessDeniedException (HTTP
  400) "Failed to list Cost Allocation Tags: Linked account doesn't have access to cost allocation tags." and "Failed
  to update Cost Allocation Tag: Linked account doesn't have access to cost allocation tags." (the messages AWS gives,
  as quoted in hashicorp/terraform-provider-aws#37636 and 2i2c-org/infrastructure#4932).
  Opt in with HUBOPS_EMULATED_CE_LINKED_ACCOUNT=true in the environment of the emulator (read on every request).
"""

from __future__ import annotations

import json
import os
import re

from moto.core.exceptions import JsonRESTError

LINKED_ENV = "HUBOPS_EMULATED_CE_LINKED_ACCOUNT"
AWS_GENERATED = ("aws:createdBy", "aws:cloudformation:stack-name")
MAX_UPDATE = 20
MAX_LIST_KEYS = 100
STATUSES = ("Active", "Inactive")
TYPES = ("AWSGenerated", "UserDefined")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")  # us-east-1, not a partition key such as aws or aws-eusc


class CEError(JsonRESTError):
    def __init__(self, error_type: str, message: str):
        super().__init__(error_type, message)
        self.code = 400


def _linked_account() -> bool:
    return os.environ.get(LINKED_ENV, "").strip().lower() in ("1", "true", "yes")


def _now() -> str:
    from moto.core.utils import utcnow

    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def _regions_in_use(account_id: str) -> list[str]:
    from moto.core.base_backend import BackendDict

    regions = set()
    for backend_dict in list(BackendDict._instances):  # pylint: disable=protected-access
        try:
            if account_id in backend_dict:
                regions.update(r for r in backend_dict[account_id].keys() if REGION.match(r))
        except (TypeError, AttributeError):
            continue
    return sorted(regions)


def _tag_keys(tags) -> list:
    """Keys of a moto tag collection: {key: value}, {key: {"Key", "Value"}} or [{"Key", "Value"}]."""
    if isinstance(tags, dict):
        return list(tags)
    return [t.get("Key") for t in tags or [] if isinstance(t, dict) and t.get("Key")]


def _seen_keys(account_id: str) -> set:
    """The user-defined tag keys on the account's resources (what billing would have seen)."""
    from moto.iam.models import iam_backends
    from moto.resourcegroupstaggingapi.models import resourcegroupstaggingapi_backends

    keys = set()
    for region in _regions_in_use(account_id):
        backend = resourcegroupstaggingapi_backends[account_id][region]
        for resource in backend._get_resources_generator():  # pylint: disable=protected-access
            keys.update(_tag_keys(resource.tags))
    iam = iam_backends[account_id]
    for partition in list(iam.keys()):
        for role in iam[partition].roles.values():
            keys.update(_tag_keys(role.tags))
    return set(k for k in keys if not k.startswith("aws:"))


def _registry(backend, account_id: str) -> dict:
    """TagKey -> {TagKey, Type, Status, LastUpdatedDate?, LastUsedDate}: what billing knows, refreshed on each call."""
    registry = backend.__dict__.setdefault("_hubops_cost_allocation_tags", {})
    for key in AWS_GENERATED:
        registry.setdefault(key, {"TagKey": key, "Type": "AWSGenerated", "Status": "Inactive"})
    month = _now()[:8] + "01T00:00:00Z"
    for key in _seen_keys(account_id):
        entry = registry.setdefault(key, {"TagKey": key, "Type": "UserDefined", "Status": "Inactive"})
        entry["LastUsedDate"] = month
    return registry


def install():
    from moto.ce.responses import CostExplorerResponse

    def list_cost_allocation_tags(self):
        if _linked_account():
            raise CEError("AccessDeniedException",
                          "Failed to list Cost Allocation Tags: Linked account doesn't have access to cost allocation tags.")
        params = json.loads(self.body or "{}")
        status, kind, keys = params.get("Status"), params.get("Type"), params.get("TagKeys")
        if status is not None and status not in STATUSES:
            raise CEError("ValidationException", "Status must be one of %s" % ", ".join(STATUSES))
        if kind is not None and kind not in TYPES:
            raise CEError("ValidationException", "Type must be one of %s" % ", ".join(TYPES))
        if keys is not None and not 1 <= len(keys) <= MAX_LIST_KEYS:
            raise CEError("ValidationException", "TagKeys must have between 1 and %d members" % MAX_LIST_KEYS)
        size = params.get("MaxResults") or 100
        if not 1 <= int(size) <= 1000:
            raise CEError("ValidationException", "MaxResults must be between 1 and 1000")
        registry = _registry(self.ce_backend, self.current_account)
        rows = [dict(e) for _key, e in sorted(registry.items())
                if (status is None or e["Status"] == status) and (kind is None or e["Type"] == kind)
                and (keys is None or e["TagKey"] in keys)]
        start = 0
        token = params.get("NextToken")
        if token:
            if not token.startswith("hubops-ce-") or not token[len("hubops-ce-"):].isdigit():
                raise CEError("InvalidNextTokenException", "The pagination token is invalid. Try again without a pagination token.")
            start = int(token[len("hubops-ce-"):])
        page = rows[start:start + int(size)]
        body = {"CostAllocationTags": page}
        if start + int(size) < len(rows):
            body["NextToken"] = "hubops-ce-%d" % (start + int(size))
        return json.dumps(body)

    def update_cost_allocation_tags_status(self):
        if _linked_account():
            raise CEError("AccessDeniedException",
                          "Failed to update Cost Allocation Tag: Linked account doesn't have access to cost allocation tags.")
        entries = json.loads(self.body or "{}").get("CostAllocationTagsStatus") or []
        if not 1 <= len(entries) <= MAX_UPDATE:
            raise CEError("ValidationException", "CostAllocationTagsStatus must have between 1 and %d members" % MAX_UPDATE)
        for entry in entries:
            if entry.get("Status") not in STATUSES or not entry.get("TagKey"):
                raise CEError("ValidationException", "Each entry needs a TagKey and a Status of Active or Inactive")
        registry = _registry(self.ce_backend, self.current_account)
        missing = [e["TagKey"] for e in entries if e["TagKey"] not in registry]
        if missing:
            raise CEError("ValidationException", "Failed to update Cost Allocation Tag: Tag keys not found: %s" % ",".join(missing))
        for entry in entries:
            current = registry[entry["TagKey"]]
            if current["Status"] != entry["Status"]:
                current["Status"] = entry["Status"]
                current["LastUpdatedDate"] = _now()
        return json.dumps({"Errors": []})

    CostExplorerResponse.list_cost_allocation_tags = list_cost_allocation_tags
    CostExplorerResponse.update_cost_allocation_tags_status = update_cost_allocation_tags_status
