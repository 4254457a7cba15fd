# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring role's data: kube-prometheus-stack values from the inventory, the dashboards we ship (checked before
they become ConfigMaps), and the hub-side settings that let Prometheus read the hub's metrics."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re

from ansible_collections.hubops.eks.plugins.module_utils.charts import deep_merge, mirror_image
from ansible_collections.hubops.eks.plugins.module_utils.naming import (LABEL_DEPLOYMENT, LABEL_GROUP, LABEL_MANAGED_BY,
                                                                        LABEL_MANAGED_BY_VALUE, LABEL_PROFILE)

DEFAULTS = {
    "enabled": True,
    "namespace": "monitoring",
    "retention": "15d",
    "storage_size": "20Gi",
    "storage_class": "hubops-gp3",
    "scrape_interval": "60s",
    "grafana": {"admin_user": "admin"},
    "storage_usage": True,
}
# The JupyterHub service whose token Prometheus scrapes the hub with (role read:metrics, nothing else).
HUB_METRICS_SERVICE = "hubops-prometheus"
HUB_METRICS_ROLE = "hubops-metrics-reader"
# Secrets in the monitoring namespace (their values never pass through Helm values or task output).
GRAFANA_ADMIN_SECRET = "hubops-grafana-admin"
HUB_TOKEN_SECRET = "hubops-hub-metrics-token"
STORAGE_EXPORTER = "hubops-storage-usage-exporter"
STORAGE_EXPORTER_PORT = 9102
DASHBOARD_LABEL = "grafana_dashboard"
# Labels kube-state-metrics copies onto kube_pod_labels / kube_node_labels / kube_persistentvolumeclaim_labels (it
# drops every label that is not listed). KubeSpawner puts component and hub.jupyter.org/username on user pods and
# claims; the profile adds ours.
POD_LABELS = ("component", "hub.jupyter.org/username", LABEL_GROUP, LABEL_PROFILE)
NODE_LABELS = ("karpenter.sh/nodepool", "karpenter.sh/capacity-type", "node.kubernetes.io/instance-type",
               "eks.amazonaws.com/nodegroup", LABEL_GROUP)
PVC_LABELS = ("component", "hub.jupyter.org/username")
PVC_ANNOTATIONS = ("hubops.io/groups", "hubops.io/home-quota")
# The managed control plane of EKS exposes none of these to the cluster: scraping them only makes targets that are down.
EKS_UNREACHABLE = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")
_QUANTITY = re.compile(r"^([0-9]+)(Gi|Ti)$")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class MonitoringError(ValueError):
    pass


def settings(monitoring):
    """hubops_monitoring with the defaults filled in (grafana merged key by key)."""
    out = copy.deepcopy(DEFAULTS)
    for key, value in (monitoring or {}).items():
        if key == "grafana":
            out["grafana"].update(value or {})
        else:
            out[key] = value
    for key in ("retention", "scrape_interval"):
        if not _DURATION.match(str(out[key])):
            raise MonitoringError("hubops_monitoring.%s: %r is not a Prometheus duration (e.g. 15d, 30s)." % (key, out[key]))
    retention_size(out["storage_size"])
    return out


def retention_size(storage_size):
    """Prometheus' size-based retention for a volume: 85% of it (Prometheus stops writing when the disk is full, and
    compaction needs headroom). 20Gi -> 17GB (Prometheus' GB are GiB)."""
    match = _QUANTITY.match(str(storage_size))
    if not match:
        raise MonitoringError("hubops_monitoring.storage_size: %r must be whole Gi or Ti (e.g. 20Gi)." % (storage_size,))
    gib = int(match.group(1)) * (1024 if match.group(2) == "Ti" else 1)
    if gib < 2:
        raise MonitoringError("hubops_monitoring.storage_size: %r is too small; Prometheus needs at least 2Gi." % (storage_size,))
    return "%dGB" % (gib * 85 // 100)


def _allowlist(kind, names):
    return "%s=[%s]" % (kind, ",".join(names))


def hub_scrape(hub_namespace, token_secret=HUB_TOKEN_SECRET):
    """The ServiceMonitor (chart value prometheus.additionalServiceMonitors) for z2jh's `hub` Service: /hub/metrics
    with the hubops-prometheus service token from a Secret of the monitoring namespace."""
    return {
        "name": "hubops-jupyterhub",
        "namespaceSelector": {"matchNames": [hub_namespace]},
        "selector": {"matchLabels": {"app": "jupyterhub", "component": "hub"}},
        "endpoints": [{"port": "hub", "path": "/hub/metrics", "interval": "60s",
                       "authorization": {"type": "Bearer", "credentials": {"name": token_secret, "key": "token"}}}],
    }


def storage_scrape(storage_namespace):
    """The ServiceMonitor for the storage usage exporter (the report's Prometheus text, served as a file: no content
    type Prometheus 3 accepts, hence the fallback protocol). The report changes every few hours: scraping every 5
    minutes is plenty."""
    return {
        "name": "hubops-storage-usage",
        "namespaceSelector": {"matchNames": [storage_namespace]},
        "selector": {"matchLabels": {"app.kubernetes.io/name": STORAGE_EXPORTER}},
        "fallbackScrapeProtocol": "PrometheusText0.0.4",
        "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "300s", "honorLabels": True}],
    }


def monitoring_values(config):
    """kube-prometheus-stack values for the inventory (no secret in them; hubops_charts values go over them).

    config keys: deployment, monitoring (hubops_monitoring), hub_namespace, storage_namespace, storage_report (bool:
    the storage role makes the usage report), core_nodegroup, image_registries, chart_values."""
    mon = settings(config.get("monitoring"))
    registries = config.get("image_registries") or {}
    core = {"eks.amazonaws.com/nodegroup": config.get("core_nodegroup") or "core"}
    ownership = {LABEL_MANAGED_BY: LABEL_MANAGED_BY_VALUE, LABEL_DEPLOYMENT: config["deployment"]}
    monitors = [hub_scrape(config.get("hub_namespace") or "jupyterhub")]
    if config.get("storage_report") and mon["storage_usage"]:
        monitors.append(storage_scrape(config.get("storage_namespace") or config.get("hub_namespace") or "jupyterhub"))
    values = {
        "commonLabels": dict(ownership),
        # No receiver is configured: alerts show in Prometheus and Grafana; turn it on with hubops_charts values.
        "alertmanager": {"enabled": False},
        "prometheusOperator": {"nodeSelector": dict(core),
                               "admissionWebhooks": {"patch": {"nodeSelector": dict(core)},
                                                     "deployment": {"nodeSelector": dict(core)}}},
        "prometheus": {
            "prometheusSpec": {
                "nodeSelector": dict(core),
                "retention": str(mon["retention"]),
                "retentionSize": retention_size(mon["storage_size"]),
                "scrapeInterval": str(mon["scrape_interval"]),
                "resources": {"requests": {"cpu": "200m", "memory": "1Gi"}, "limits": {"memory": "3Gi"}},
                "storageSpec": {"volumeClaimTemplate": {
                    "metadata": {"labels": dict(ownership)},
                    "spec": {"storageClassName": str(mon["storage_class"]), "accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": str(mon["storage_size"])}}}}},
            },
            "additionalServiceMonitors": monitors,
        },
        "kube-state-metrics": {
            "nodeSelector": dict(core),
            "metricLabelsAllowlist": [_allowlist("pods", POD_LABELS), _allowlist("nodes", NODE_LABELS),
                                      _allowlist("persistentvolumeclaims", PVC_LABELS)],
            "metricAnnotationsAllowList": [_allowlist("persistentvolumeclaims", PVC_ANNOTATIONS)],
        },
        "grafana": {
            "nodeSelector": dict(core),
            # Admin-only by default: a ClusterIP Service reached with kubectl port-forward (README); the login comes
            # from a Secret the role generates, never from these values.
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "adminUser": str(mon["grafana"].get("admin_user") or "admin"),
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "persistence": {"enabled": False},
            "grafana.ini": {"users": {"allow_sign_up": False}, "auth.anonymous": {"enabled": False},
                            "analytics": {"reporting_enabled": False, "check_for_updates": False}},
            "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1"}},
        },
    }
    for component in EKS_UNREACHABLE:
        values[component] = {"enabled": False}
    values = deep_merge(values, registry_values(registries))
    return deep_merge(values, config.get("chart_values") or {})


# The registries the chart's images come from, by values path (the chart splits registry and repository).
CHART_REGISTRIES = (
    (("prometheusOperator", "image", "registry"), "quay.io"),
    (("prometheusOperator", "prometheusConfigReloader", "image", "registry"), "quay.io"),
    (("prometheusOperator", "admissionWebhooks", "patch", "image", "registry"), "ghcr.io"),
    (("prometheus", "prometheusSpec", "image", "registry"), "quay.io"),
    (("kube-state-metrics", "image", "registry"), "registry.k8s.io"),
    (("prometheus-node-exporter", "image", "registry"), "quay.io"),
    (("grafana", "image", "registry"), "docker.io"),
    (("grafana", "sidecar", "image", "registry"), "quay.io"),
)


def registry_values(registries):
    """Values pointing each image registry of the chart at its mirror (hubops_image_registries); {} without mirrors."""
    out = {}
    for path, upstream in CHART_REGISTRIES:
        mirrored = mirror_image(upstream + "/x", registries)
        if mirrored == upstream + "/x":
            continue
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = mirrored[:-2]
    return out


def hub_metrics_values(namespace, service=HUB_METRICS_SERVICE):
    """z2jh values that let Prometheus (pods of the monitoring namespace) read /hub/metrics: a JupyterHub service
    whose token z2jh generates and keeps in the hub's Secret, a role with read:metrics only, and a network policy rule
    for Prometheus' pods. The metrics stay authenticated (the hub is public behind the proxy)."""
    return {
        "hub": {
            "services": {service: {"display": False}},
            "loadRoles": {HUB_METRICS_ROLE: {"description": "Prometheus reads the hub's metrics (hubops monitoring)",
                                             "scopes": ["read:metrics"], "services": [service]}},
            "networkPolicy": {"ingress": [{
                "ports": [{"port": "http"}],
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                          "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
            }]},
        }
    }


def hub_token_key(service=HUB_METRICS_SERVICE):
    """Key of the service's token in z2jh's `hub` Secret."""
    return "hub.services.%s.apiToken" % service


# ------------------------------------------------------------------------------------------------------ dashboards
def check_dashboard(name, dashboard):
    """Problems that would make Grafana drop or misdraw a dashboard we ship; [] when it is fine."""
    problems = []
    if not isinstance(dashboard, dict):
        return ["%s: not a JSON object" % name]
    for key in ("title", "uid"):
        if not isinstance(dashboard.get(key), str) or not dashboard.get(key):
            problems.append("%s: no %s" % (name, key))
    if isinstance(dashboard.get("uid"), str) and not _UID.match(dashboard["uid"]):
        problems.append("%s: uid %r must be 1-40 letters, digits, '-' or '_'" % (name, dashboard["uid"]))
    if dashboard.get("id") is not None:
        problems.append("%s: id must be null (Grafana assigns it)" % name)
    if not isinstance(dashboard.get("schemaVersion"), int):
        problems.append("%s: no integer schemaVersion" % name)
    panels = dashboard.get("panels")
    if not isinstance(panels, list) or not panels:
        return problems + ["%s: no panels" % name]
    seen_ids = set()
    for index, panel in enumerate(panels):
        where = "%s panel %s" % (name, panel.get("title") or index) if isinstance(panel, dict) else "%s panel %d" % (name, index)
        if not isinstance(panel, dict):
            problems.append("%s: not an object" % where)
            continue
        if panel.get("id") in seen_ids or not isinstance(panel.get("id"), int):
            problems.append("%s: id missing or repeated" % where)
        seen_ids.add(panel.get("id"))
        if not isinstance(panel.get("gridPos"), dict) or not all(k in panel["gridPos"] for k in ("h", "w", "x", "y")):
            problems.append("%s: gridPos needs h, w, x, y" % where)
        if panel.get("type") in ("row", "text"):
            continue
        if not panel.get("title"):
            problems.append("%s: no title" % where)
        source = panel.get("datasource")
        if not isinstance(source, dict) or source.get("type") != "prometheus" or not source.get("uid"):
            problems.append("%s: datasource must be {type: prometheus, uid: ...}" % where)
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.append("%s: no targets" % where)
            continue
        refs = set()
        for target in targets:
            if not isinstance(target, dict) or not str(target.get("expr") or "").strip():
                problems.append("%s: a target without expr" % where)
                continue
            if target.get("refId") in refs or not target.get("refId"):
                problems.append("%s: refId missing or repeated" % where)
            refs.add(target.get("refId"))
            problems.extend("%s: %s" % (where, p) for p in check_expr(target["expr"]))
    variables = [v.get("name") for v in (dashboard.get("templating") or {}).get("list") or [] if isinstance(v, dict)]
    text = json.dumps(panels)
    for used in sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))):
        if used not in variables and not used.startswith("__"):
            problems.append("%s: uses $%s, which is no templating variable" % (name, used))
    return problems


def check_expr(expr):
    """Cheap PromQL sanity: balanced brackets and quotes (Prometheus itself is not here to parse it)."""
    problems = []
    stack = []
    pairs = {")": "(", "]": "[", "}": "{"}
    quoted = None
    for char in expr:
        if quoted:
            if char == quoted:
                quoted = None
            continue
        if char in "\"'`":
            quoted = char
        elif char in "([{":
            stack.append(char)
        elif char in ")]}":
            if not stack or stack.pop() != pairs[char]:
                return ["unbalanced %r in %s" % (char, expr)]
    if quoted or stack:
        problems.append("unclosed %r in %s" % (quoted or stack[-1], expr))
    return problems


def load_dashboards(directory):
    """{file name: dashboard} of every *.json in `directory`, failing on a dashboard that does not check out or on a
    uid two files share."""
    out, problems, uids = {}, [], {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as handle:
            try:
                dashboard = json.load(handle)
            except ValueError as exc:
                problems.append("%s: not JSON (%s)" % (name, exc))
                continue
        problems.extend(check_dashboard(name, dashboard))
        uid = dashboard.get("uid") if isinstance(dashboard, dict) else None
        if uid in uids:
            problems.append("%s: uid %r is also %s's" % (name, uid, uids[uid]))
        uids[uid] = name
        out[name] = dashboard
    if not out and not problems:
        problems.append("%s: no dashboards" % directory)
    if problems:
        raise MonitoringError("; ".join(problems))
    return out


def dashboard_configmaps(directory, namespace, deployment):
    """One ConfigMap per dashboard, labelled for the Grafana sidecar; the JSON is written compact and key-sorted so a
    re-run compares equal."""
    out = []
    for name, dashboard in sorted(load_dashboards(directory).items()):
        out.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "hubops-dashboard-%s" % dashboard["uid"].lower().replace("_", "-"),
                "namespace": namespace,
                "labels": {DASHBOARD_LABEL: "1", LABEL_MANAGED_BY: LABEL_MANAGED_BY_VALUE, LABEL_DEPLOYMENT: deployment,
                           "app.kubernetes.io/component": "dashboard"},
            },
            "data": {name: json.dumps(dashboard, sort_keys=True, separators=(",", ":"))},
        })
    return out
