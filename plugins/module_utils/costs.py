# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cost controls as plain functions: the AWS Budgets a deployment's inventory asks for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_DEPLOYMENT
from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_GROUP

DEFAULT_THRESHOLDS = [80, 100]


def budget_prefix(deployment):
    """What every budget name of the deployment starts with (what prune and teardown select on)."""
    return "%s-budget-" % deployment


def budgets(deployment, groups=None, total=None):
    """One budget per group that sets `budget` (filtered by hubops:group) and one for the whole deployment when
    hubops_budget is set (filtered by hubops:deployment), as hubops.eks.budget wants them."""
    out = []
    for group in groups or []:
        spec = (group or {}).get("budget")
        if spec:
            out.append({"name": budget_prefix(deployment) + group["name"], "monthly_usd": float(spec["monthly_usd"]),
                        "tag_key": TAG_GROUP, "tag_value": group["name"],
                        "thresholds_pct": list(spec.get("thresholds_pct") or DEFAULT_THRESHOLDS),
                        "notify": list(spec.get("notify") or [])})
    if total:
        out.append({"name": budget_prefix(deployment) + "total", "monthly_usd": float(total["monthly_usd"]),
                    "tag_key": TAG_DEPLOYMENT, "tag_value": deployment,
                    "thresholds_pct": list(total.get("thresholds_pct") or DEFAULT_THRESHOLDS),
                    "notify": list(total.get("notify") or [])})
    return out
