# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Budgets per group and for the deployment on the emulated AWS: created, re-run changes nothing, a changed budget is
updated in place, a group that drops its budget loses it, teardown removes them all (the cost phase alone: --tags costs)."""

import yaml

from harness import REPO, inventory_with

ACCOUNT = "123456789012"


def _budgets(emulator):
    client = emulator.client("budgets")
    found = {}
    for budget in client.describe_budgets(AccountId=ACCOUNT).get("Budgets") or []:
        name = budget["BudgetName"]
        notes = client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=name)["Notifications"]
        subscribers = set()
        for note in notes:
            subs = client.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName=name, Notification=note)["Subscribers"]
            subscribers.update(s["Address"] for s in subs)
        arn = "arn:aws:budgets::%s:budget/%s" % (ACCOUNT, name)
        tags = dict((t["Key"], t["Value"]) for t in client.list_tags_for_resource(ResourceARN=arn)["ResourceTags"])
        # the cost tags, one of the inventory's hubops_tags, and the one a test puts on by hand
        tags = dict((k, v) for k, v in tags.items() if k in ("hubops:deployment", "hubops:group", "project", "contact"))
        found[name] = {"limit": budget["BudgetLimit"]["Amount"], "filter": budget["CostFilters"]["TagKeyValue"],
                       "thresholds": sorted(n["Threshold"] for n in notes), "subscribers": sorted(subscribers), "tags": tags}
    return found


def test_budgets_converge_update_prune_and_teardown(emulator, tmp_path):
    first = emulator.playbook("site.yml", None, "--tags", "costs")
    assert first.rc == 0, first.output[-4000:]
    budgets = _budgets(emulator)
    assert sorted(budgets) == ["local-budget-astro", "local-budget-neuro", "local-budget-total"]
    assert budgets["local-budget-neuro"] == {"limit": "500.00", "filter": ["user:hubops:group$neuro"], "thresholds": [80.0, 100.0],
                                             "subscribers": ["neuro-ops@example.org"],
                                             "tags": {"hubops:deployment": "local", "hubops:group": "neuro", "project": "hubops-local"}}
    assert budgets["local-budget-total"]["filter"] == ["user:hubops:deployment$local"]
    assert budgets["local-budget-total"]["thresholds"] == [50.0, 80.0, 100.0]
    assert budgets["local-budget-total"]["tags"] == {"hubops:deployment": "local", "project": "hubops-local"}

    again = emulator.playbook("site.yml", None, "--tags", "costs")
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
    assert again.stats["mutating"] == 0, again.stats["mutating_actions"]

    # A budget that lost a tag (made before budgets were tagged, or by hand) gets it back; other tags stay.
    client = emulator.client("budgets")
    neuro_arn = "arn:aws:budgets::%s:budget/local-budget-neuro" % ACCOUNT
    client.untag_resource(ResourceARN=neuro_arn, ResourceTagKeys=["hubops:group"])
    client.tag_resource(ResourceARN=neuro_arn, ResourceTags=[{"Key": "contact", "Value": "pi"}])
    retag = emulator.playbook("site.yml", None, "--tags", "costs")
    assert retag.rc == 0 and retag.recap["changed"] == 1, retag.output[-4000:]
    wanted = {"hubops:deployment": "local", "hubops:group": "neuro", "project": "hubops-local", "contact": "pi"}
    assert _budgets(emulator)["local-budget-neuro"]["tags"] == wanted
    client.untag_resource(ResourceARN=neuro_arn, ResourceTagKeys=["contact"])

    groups = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "groups.yml").read_text())["hubops_groups"]
    for group in groups:
        if group["name"] == "neuro":
            group["budget"] = {"monthly_usd": 700, "thresholds_pct": [90], "notify": ["neuro-ops@example.org", "pi@example.org"]}
        if group["name"] == "astro":
            group.pop("budget")
    changed = emulator.playbook("site.yml", inventory_with(tmp_path, {"hubops_groups": groups}), "--tags", "costs")
    assert changed.rc == 0, changed.output[-4000:]
    after = _budgets(emulator)
    assert sorted(after) == ["local-budget-neuro", "local-budget-total"]
    assert after["local-budget-neuro"] == {"limit": "700.00", "filter": ["user:hubops:group$neuro"], "thresholds": [90.0],
                                           "subscribers": ["neuro-ops@example.org", "pi@example.org"],
                                           "tags": {"hubops:deployment": "local", "hubops:group": "neuro", "project": "hubops-local"}}
    assert after["local-budget-total"] == budgets["local-budget-total"]

    down = emulator.playbook("teardown.yml", None, "--tags", "costs", "-e", "hubops_teardown_confirm=local")
    assert down.rc == 0, down.output[-4000:]
    assert _budgets(emulator) == {}
