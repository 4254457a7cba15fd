# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
from ansible_collections.hubops.eks.plugins.module_utils import costs


def test_one_budget_per_group_with_budget_and_one_for_the_deployment():
    groups = [{"name": "neuro", "budget": {"monthly_usd": 500, "notify": ["a@example.org"]}},
              {"name": "astro"},
              {"name": "bio", "budget": {"monthly_usd": 50, "thresholds_pct": [90], "notify": ["arn:aws:sns:us-east-1:123456789012:t"]}}]
    out = costs.budgets("dandi", groups, {"monthly_usd": 2000})
    assert [b["name"] for b in out] == ["dandi-budget-neuro", "dandi-budget-bio", "dandi-budget-total"]
    assert out[0] == {"name": "dandi-budget-neuro", "monthly_usd": 500.0, "tag_key": "hubops:group", "tag_value": "neuro",
                      "thresholds_pct": [80, 100], "notify": ["a@example.org"], "tags": {"hubops:group": "neuro"}}
    assert out[1]["thresholds_pct"] == [90]
    assert out[2]["tag_key"] == "hubops:deployment" and out[2]["tag_value"] == "dandi" and out[2]["notify"] == []
    assert out[2]["tags"] == {}  # the deployment's own tags come from the role (budget's tags option)
    assert all(b["name"].startswith(costs.budget_prefix("dandi")) for b in out)


def test_no_budgets_without_budget_settings():
    assert costs.budgets("dandi", [{"name": "neuro"}], None) == []
    assert costs.budgets("dandi") == []
