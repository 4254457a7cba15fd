# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""What moto 5.2.5's Budgets lacks and hubops.eks.budget calls: UpdateBudget and the subscriber calls
(DescribeSubscribersForNotification, CreateSubscriber, DeleteSubscriber). Test infrastructure only."""

import json


def install():
    from moto.budgets import models
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.responses import BudgetsResponse

    def _budget(backend, account_id, name):
        if name not in backend.budgets[account_id]:
            raise NotFoundException("Unable to get budget: %s - the budget doesn't exist." % name)
        return backend.budgets[account_id][name]

    def _notification(budget, details):
        for notification in budget.notifications:
            if notification.details == details:
                return notification
        raise NotFoundException("Unable to get notification - the notification doesn't exist.")

    def update_budget(self):
        account_id = self._get_param("AccountId")
        new = self._get_param("NewBudget")
        budget = _budget(self.backend, account_id, new["BudgetName"])
        kept = dict((k, budget.budget[k]) for k in ("TimePeriod",) if k in budget.budget)
        budget.budget = dict(new, **kept)
        budget.budget["LastUpdatedTime"] = models.unix_time()
        return json.dumps({})

    def describe_subscribers_for_notification(self):
        budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
        notification = _notification(budget, self._get_param("Notification"))
        return json.dumps({"Subscribers": list(notification.subscribers or []), "NextToken": None})

    def create_subscriber(self):
        budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
        notification = _notification(budget, self._get_param("Notification"))
        notification.subscribers = list(notification.subscribers or []) + [self._get_param("Subscriber")]
        return json.dumps({})

    def delete_subscriber(self):
        budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
        notification = _notification(budget, self._get_param("Notification"))
        gone = self._get_param("Subscriber")
        notification.subscribers = [s for s in notification.subscribers or [] if s != gone]
        return json.dumps({})

    BudgetsResponse.update_budget = update_budget
    BudgetsResponse.describe_subscribers_for_notification = describe_subscribers_for_notification
    BudgetsResponse.create_subscriber = create_subscriber
    BudgetsResponse.delete_subscriber = delete_subscriber
