# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""kube-prometheus-stack values from the inventory: merged over the chart's own values.yaml (and its subcharts') they
are sane: every key we set is one the chart knows (a typo would be silently ignored by Helm), retention and the volume
follow the inventory, Grafana's login comes from a Secret and no password is in the values, the hub and storage
scrapes point where the jupyterhub and storage roles put things; the kit-only webhook switch is in inventories/local
only; the hub side gives Prometheus a read:metrics token."""

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import hub as H
from ansible_collections.hubops.eks.plugins.module_utils import monitoring as M

REPO = Path(__file__).resolve().parents[3]
CHART = REPO.parent / "shared" / "reference" / "charts" / "kube-prometheus-stack"
SUBCHARTS = {"grafana": "grafana", "kube-state-metrics": "kube-state-metrics", "prometheus-node-exporter": "prometheus-node-exporter"}
# Keys whose chart default is an empty map or list: anything below them is free-form (Kubernetes objects, ini files).
FREE_FORM = ("nodeSelector", "storageSpec", "grafana.ini", "commonLabels", "additionalServiceMonitors", "resources",
             "metricLabelsAllowlist", "metricAnnotationsAllowList")

needs_chart = pytest.mark.skipif(not (CHART / "values.yaml").exists(), reason="needs ../shared/reference/charts")


def local_inventory():
    inv = {}
    for path in sorted((REPO / "inventories" / "local" / "group_vars" / "all").glob("*.yml")):
        inv.update(yaml.safe_load(path.read_text()) or {})
    return inv


def config(**overrides):
    inv = local_inventory()
    out = {"deployment": "local", "monitoring": inv.get("hubops_monitoring"), "hub_namespace": "jupyterhub",
           "storage_namespace": "jupyterhub", "storage_report": True, "core_nodegroup": "core", "image_registries": {},
           "chart_values": inv["hubops_charts"]["kube-prometheus-stack"]["values"]}
    out.update(overrides)
    return out


def chart_defaults():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for key, folder in SUBCHARTS.items():
        sub = yaml.safe_load((CHART / "charts" / folder / "values.yaml").read_text())
        values[key] = H.deep_merge(sub, values.get(key) or {})
    return values


def unknown_keys(ours, theirs, path=""):
    """Paths of `ours` the chart's values do not have (below a free-form key anything goes)."""
    missing = []
    for key, value in ours.items():
        where = "%s.%s" % (path, key) if path else key
        if key in FREE_FORM:
            continue
        if not isinstance(theirs, dict) or key not in theirs:
            missing.append(where)
        elif isinstance(value, dict) and isinstance(theirs[key], dict) and theirs[key]:
            missing.extend(unknown_keys(value, theirs[key], where))
    return missing


@needs_chart
def test_every_key_we_set_is_one_the_chart_knows():
    assert unknown_keys(M.monitoring_values(config()), chart_defaults()) == []


@needs_chart
def test_the_key_check_catches_a_typo():
    values = M.monitoring_values(config())
    values["prometheus"]["prometheusSpec"]["retension"] = "15d"
    values["grafana"]["admin"]["existingSecrets"] = "x"
    assert unknown_keys(values, chart_defaults()) == ["prometheus.prometheusSpec.retension", "grafana.admin.existingSecrets"]


@needs_chart
def test_merged_over_the_chart_the_values_are_sane():
    merged = H.deep_merge(chart_defaults(), M.monitoring_values(config()))
    spec = merged["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d" and spec["retentionSize"] == "17GB"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "hubops-gp3" and claim["resources"]["requests"]["storage"] == "20Gi"
    assert spec["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "core"}
    # Grafana: login from our Secret, no password anywhere in what we give Helm, no public Service.
    grafana = merged["grafana"]
    assert grafana["admin"]["existingSecret"] == M.GRAFANA_ADMIN_SECRET
    assert "adminPassword" not in M.monitoring_values(config())["grafana"]
    assert grafana["service"]["type"] == "ClusterIP" and grafana["ingress"]["enabled"] is False
    assert grafana["sidecar"]["dashboards"]["enabled"] and grafana["sidecar"]["dashboards"]["label"] == M.DASHBOARD_LABEL
    # The hub's Service (z2jh: labels app=jupyterhub, component=hub, port "hub") with the token from a Secret.
    monitors = {m["name"]: m for m in merged["prometheus"]["additionalServiceMonitors"]}
    hub = monitors["hubops-jupyterhub"]
    assert hub["namespaceSelector"] == {"matchNames": ["jupyterhub"]}
    assert hub["endpoints"][0]["path"] == "/hub/metrics" and hub["endpoints"][0]["port"] == "hub"
    assert hub["endpoints"][0]["authorization"]["credentials"] == {"name": M.HUB_TOKEN_SECRET, "key": "token"}
    assert monitors["hubops-storage-usage"]["fallbackScrapeProtocol"] == "PrometheusText0.0.4"
    for component in M.EKS_UNREACHABLE:
        assert merged[component]["enabled"] is False
    assert any(entry.startswith("pods=[") and "hubops.io/group" in entry for entry in merged["kube-state-metrics"]["metricLabelsAllowlist"])
    # The inventory's hubops_charts values go last: on the kit the webhooks are off.
    assert merged["prometheusOperator"]["admissionWebhooks"]["enabled"] is False


@needs_chart
def test_the_product_keeps_the_admission_webhooks_and_the_kit_switch_lives_in_inventories_local_only():
    merged = H.deep_merge(chart_defaults(), M.monitoring_values(config(chart_values={})))
    assert merged["prometheusOperator"]["admissionWebhooks"]["enabled"] is True
    code = [p for folder in ("roles", "plugins") for p in (REPO / folder).rglob("*")
            if p.suffix in (".yml", ".yaml", ".j2", ".py", ".json") and "admissionWebhooks" in p.read_text()]
    assert code and all('"enabled"' not in p.read_text().split("admissionWebhooks")[1][:60] for p in code), code
    hub = (REPO / "inventories" / "local" / "group_vars" / "all" / "hub.yml").read_text()
    assert "# Kit-only: no operator pod" in hub


def test_retention_storage_and_grafana_follow_the_inventory():
    values = M.monitoring_values(config(monitoring={"retention": "30d", "storage_size": "100Gi", "storage_class": "fast",
                                                    "grafana": {"admin_user": "ops"}}, chart_values={}))
    spec = values["prometheus"]["prometheusSpec"]
    assert (spec["retention"], spec["retentionSize"]) == ("30d", "85GB")
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "fast"
    assert values["grafana"]["adminUser"] == "ops"


def test_no_storage_scrape_without_the_usage_report():
    values = M.monitoring_values(config(storage_report=False))
    assert [m["name"] for m in values["prometheus"]["additionalServiceMonitors"]] == ["hubops-jupyterhub"]


@pytest.mark.parametrize("monitoring, field", [
    ({"retention": "15 days"}, "hubops_monitoring.retention"),
    ({"storage_size": "500Mi"}, "hubops_monitoring.storage_size"),
    ({"storage_size": "1Gi"}, "too small"),
    ({"scrape_interval": "often"}, "hubops_monitoring.scrape_interval"),
])
def test_bad_settings_name_the_field(monitoring, field):
    with pytest.raises(M.MonitoringError, match=field):
        M.monitoring_values(config(monitoring=monitoring))


def test_registry_mirrors_reach_every_image_of_the_chart():
    values = M.monitoring_values(config(image_registries={"quay.io": "mirror.example.org/quay", "docker.io": "mirror.example.org/hub",
                                                          "registry.k8s.io": "mirror.example.org/k8s", "ghcr.io": "mirror.example.org/ghcr"}))
    assert values["prometheus"]["prometheusSpec"]["image"]["registry"] == "mirror.example.org/quay"
    assert values["grafana"]["image"]["registry"] == "mirror.example.org/hub"
    assert values["kube-state-metrics"]["image"]["registry"] == "mirror.example.org/k8s"
    assert values["prometheusOperator"]["admissionWebhooks"]["patch"]["image"]["registry"] == "mirror.example.org/ghcr"
    assert "image" not in M.monitoring_values(config())["grafana"]


def test_the_hub_gives_prometheus_a_read_metrics_token_and_keeps_its_other_ingress_rules():
    settings = {"deployment": "local", "hub": {"auth": {"type": "dummy"}}, "groups": [{"name": "g"}], "metrics": {"namespace": "monitoring"},
                "chart_values": {}}
    values = H.hub_values(copy.deepcopy(settings))
    hub = values["hub"]
    assert hub["services"][M.HUB_METRICS_SERVICE] == {"display": False}
    assert hub["loadRoles"][M.HUB_METRICS_ROLE]["scopes"] == ["read:metrics"]
    assert hub["loadRoles"][M.HUB_METRICS_ROLE]["services"] == [M.HUB_METRICS_SERVICE]
    assert "authenticatePrometheus" not in hub   # metrics stay behind the token: the hub is public behind the proxy
    rule = hub["networkPolicy"]["ingress"][-1]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    settings["metrics"] = {}
    assert "services" not in H.hub_values(settings)["hub"] or M.HUB_METRICS_SERVICE not in H.hub_values(settings)["hub"]["services"]


def test_the_roles_names_match_the_values_builder():
    names = yaml.safe_load((REPO / "roles" / "monitoring" / "vars" / "main.yml").read_text())
    assert names["__monitoring_grafana_secret"] == M.GRAFANA_ADMIN_SECRET
    assert names["__monitoring_token_secret"] == M.HUB_TOKEN_SECRET
    assert names["__monitoring_hub_token_key"] == M.hub_token_key()
    assert names["__monitoring_exporter"] == M.STORAGE_EXPORTER and names["__monitoring_exporter_port"] == M.STORAGE_EXPORTER_PORT
    crds = sorted(p.name[len("crd-"):-len(".yaml")] for p in (CHART / "charts" / "crds" / "crds").glob("crd-*.yaml"))
    if crds:
        assert sorted(names["__monitoring_crds"]) == crds
