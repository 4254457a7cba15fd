# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The dashboards we ship load in Grafana: each file is a dashboard (title, uid, panels with a Prometheus datasource
and targets whose expressions parse as PromQL), uids are unique, every label the queries group by is one that
kube-state-metrics is told to export; and the checks catch what they are for."""

import copy
import json
import re
from pathlib import Path

import promql_parser
import pytest

from ansible_collections.hubops.eks.plugins.module_utils import monitoring as M

REPO = Path(__file__).resolve().parents[3]
DASHBOARDS = REPO / "roles" / "monitoring" / "files" / "dashboards"
FILES = sorted(DASHBOARDS.glob("*.json"))
# Grafana's built-in variables, replaced before Prometheus sees the query: stand-ins that keep the PromQL valid.
BUILTINS = {"$__rate_interval": "5m", "$__interval": "5m", "$__range": "7d"}


def load(path):
    return json.loads(path.read_text())


def promql(expr):
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", r"\1", expr)  # $group inside a regex matcher -> group


def test_the_four_dashboards_the_issue_asks_for_are_there():
    titles = sorted(load(p)["title"] for p in FILES)
    assert titles == ["hubops / Compute per user and group", "hubops / Node-hours by pool and capacity type",
                      "hubops / Storage per user and group", "hubops / Users and logins"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_dashboard_is_grafana_json_with_queries_that_parse(path):
    dashboard = load(path)
    assert M.check_dashboard(path.name, dashboard) == []
    assert dashboard["id"] is None and dashboard["uid"].startswith("hubops-")
    panels = [p for p in dashboard["panels"] if p["type"] not in ("row", "text")]
    assert panels
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            promql_parser.parse(promql(target["expr"]))  # raises on a syntax error
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"


def test_dashboard_uids_are_unique_and_become_one_configmap_each():
    uids = [load(p)["uid"] for p in FILES]
    assert len(set(uids)) == len(uids)
    maps = M.dashboard_configmaps(str(DASHBOARDS), "monitoring", "local")
    assert len(maps) == len(FILES)
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "hubops"
        ((name, text),) = cm["data"].items()
        assert json.loads(text) == load(DASHBOARDS / name)


def test_queries_group_only_by_labels_kube_state_metrics_exports():
    """label_<x> in a query must come from the allow-lists the values give kube-state-metrics (else the panel is empty)."""
    exported = set()
    for names in (M.POD_LABELS, M.NODE_LABELS, M.PVC_LABELS):
        exported |= {"label_" + re.sub(r"[^A-Za-z0-9]", "_", n) for n in names}
    exported |= {"annotation_" + re.sub(r"[^A-Za-z0-9]", "_", n) for n in M.PVC_ANNOTATIONS}
    used = set()
    for path in FILES:
        for panel in load(path)["panels"]:
            for target in panel.get("targets", []):
                used |= set(re.findall(r"\b((?:label|annotation)_[a-z0-9_]+)", target["expr"]))
    assert used and used <= exported, used - exported
    # The pod labels the hub's profiles put on user servers are among them.
    assert {"label_hubops_io_group", "label_hubops_io_profile", "label_hub_jupyter_org_username"} <= used


def _good():
    return load(DASHBOARDS / "users.json")


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d.pop("uid"), "no uid"),
    (lambda d: d.update(title=""), "no title"),
    (lambda d: d.update(panels=[]), "no panels"),
    (lambda d: d["panels"][0].pop("datasource"), "datasource must be"),
    (lambda d: d["panels"][0].update(targets=[]), "no targets"),
    (lambda d: d["panels"][0]["targets"][0].update(expr=""), "a target without expr"),
    (lambda d: d["panels"][0]["targets"][0].update(expr="sum(rate(x[5m])"), "unclosed"),
    (lambda d: d["panels"][1].update(id=d["panels"][0]["id"]), "id missing or repeated"),
    (lambda d: d["panels"][0]["targets"][0].update(expr="up{job=~\"$nothere\"}"), "no templating variable"),
], ids=["uid", "title", "panels", "datasource", "targets", "expr", "brackets", "panel-id", "variable"])
def test_the_check_fails_on_a_broken_dashboard(breakage, message):
    dashboard = copy.deepcopy(_good())
    breakage(dashboard)
    assert any(message in problem for problem in M.check_dashboard("users.json", dashboard)), message


def test_a_repeated_uid_or_invalid_json_fails_the_role(tmp_path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(_good()))
    with pytest.raises(M.MonitoringError, match="uid 'hubops-users' is also a.json's"):
        M.load_dashboards(str(tmp_path))
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(M.MonitoringError, match="b.json: not JSON"):
        M.load_dashboards(str(tmp_path))


def test_promql_parser_rejects_what_grafana_would_show_as_an_error():
    with pytest.raises(Exception):
        promql_parser.parse(promql("sum by (label_hubops_io_group (kube_pod_labels)"))
