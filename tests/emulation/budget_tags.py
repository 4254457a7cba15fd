# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""AWS Budgets tagging, which moto 5.2.5's `budgets` lacks, for hubops.eks.budget: CreateBudget's ResourceTags,
TagResource, UntagResource and ListTagsForResource (budgets_extras.py adds the other missing calls and must be
installed first: this wraps its delete). Test infrastructure only (launcher.py calls `install()`).

Behaviour of AWS kept (AWS Budgets API reference, "Tagging AWS Budgets resources"):
- A budget's ARN is arn:<partition>:budgets::<account>:budget/<name>; the tagging calls take it as ResourceARN.
- CreateBudget takes ResourceTags ([{"Key", "Value"}], at most 200); tagging a budget that does not exist answers
  NotFoundException; TagResource overwrites the value of a key the budget already has.
- Keys starting with "aws:" are reserved: InvalidParameterException.
- Deleting a budget deletes its tags (a budget made again with the same name starts untagged).
"""

from __future__ import annotations

import json

from moto.core.exceptions import JsonRESTError

MAX_TAGS = 200


class BudgetsTagError(JsonRESTError):
    def __init__(self, error_type: str, message: str):
        super().__init__(error_type, message)
        self.code = 400


def budget_arn(partition: str, account_id: str, name: str) -> str:
    return "arn:%s:budgets::%s:budget/%s" % (partition, account_id, name)


def _tags_of(backend) -> dict:
    if not hasattr(backend, "hubops_tags"):
        backend.hubops_tags = {}
    return backend.hubops_tags


def _check_tags(tags) -> None:
    if len(tags) > MAX_TAGS:
        raise BudgetsTagError("InvalidParameterException", "ResourceTags must have at most %d members" % MAX_TAGS)
    for tag in tags:
        if not tag.get("Key") or tag.get("Value") is None:
            raise BudgetsTagError("InvalidParameterException", "Each tag needs a Key and a Value")
        if tag["Key"].lower().startswith("aws:"):
            raise BudgetsTagError("InvalidParameterException", "Tag keys starting with aws: are reserved: %s" % tag["Key"])


def install() -> None:
    from moto.budgets.responses import BudgetsResponse

    original_create = BudgetsResponse.create_budget
    original_delete = BudgetsResponse.delete_budget

    def _arn_budget(self, arn):
        """The name of the account's budget this ARN names, or NotFoundException."""
        prefix = budget_arn(self.partition, self.current_account, "")
        name = arn[len(prefix):] if arn and arn.startswith(prefix) else ""
        known = [b["BudgetName"] for b in self.backend.describe_budgets(account_id=self.current_account)]
        if not name or name not in known:
            raise BudgetsTagError("NotFoundException", "Unable to find resource %s" % arn)
        return name

    def create_budget(self):
        tags = self._get_param("ResourceTags") or []
        _check_tags(tags)
        body = original_create(self)
        if tags:
            name = self._get_param("Budget")["BudgetName"]
            arn = budget_arn(self.partition, self._get_param("AccountId"), name)
            _tags_of(self.backend)[arn] = dict((t["Key"], t["Value"]) for t in tags)
        return body

    def delete_budget(self):
        body = original_delete(self)
        arn = budget_arn(self.partition, self._get_param("AccountId"), self._get_param("BudgetName"))
        _tags_of(self.backend).pop(arn, None)
        return body

    def tag_resource(self):
        arn = self._get_param("ResourceARN")
        self._arn_budget(arn)
        tags = self._get_param("ResourceTags") or []
        _check_tags(tags)
        current = _tags_of(self.backend).setdefault(arn, {})
        merged = dict(current, **dict((t["Key"], t["Value"]) for t in tags))
        if len(merged) > MAX_TAGS:
            raise BudgetsTagError("ServiceQuotaExceededException", "A budget can have at most %d tags" % MAX_TAGS)
        current.update(merged)
        return json.dumps({})

    def untag_resource(self):
        arn = self._get_param("ResourceARN")
        self._arn_budget(arn)
        current = _tags_of(self.backend).get(arn, {})
        for key in self._get_param("ResourceTagKeys") or []:
            current.pop(key, None)
        return json.dumps({})

    def list_tags_for_resource(self):
        arn = self._get_param("ResourceARN")
        self._arn_budget(arn)
        tags = _tags_of(self.backend).get(arn, {})
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})

    BudgetsResponse._arn_budget = _arn_budget  # pylint: disable=protected-access
    BudgetsResponse.create_budget = create_budget
    BudgetsResponse.delete_budget = delete_budget
    BudgetsResponse.tag_resource = tag_resource
    BudgetsResponse.untag_resource = untag_resource
    BudgetsResponse.list_tags_for_resource = list_tags_for_resource
