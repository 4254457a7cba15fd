# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""dask-gateway as data: the chart values (validated against the chart's own schema, no token in them), the hub's
side of its login (validated against z2jh's schema), the spot-only worker pools in Karpenter's plan, and the inventory
rules for hubops_dask_gateway, hubops_groups[].dask and hubops_services."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import jsonschema
import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import hub as H
from ansible_collections.hubops.eks.plugins.module_utils import inventory_schema as S
from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K
from ansible_collections.hubops.eks.plugins.module_utils import services as SV

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
REFERENCE = os.path.abspath(os.path.join(REPO, "..", "shared", "reference"))
CHART = os.path.join(REFERENCE, "charts", "dask-gateway")
Z2JH_CHART = os.path.join(REFERENCE, "charts", "jupyterhub")
Z2JH_SCHEMA = os.path.join(REFERENCE, "zero-to-jupyterhub-k8s", "values.schema.yaml")
CONFIG_FILE = os.path.join(REPO, "roles", "services", "files", "dask_gateway_config.py")
LOCAL = os.path.join(REPO, "inventories", "local", "group_vars", "all")

needs_chart = pytest.mark.skipif(not os.path.isfile(os.path.join(CHART, "values.schema.yaml")),
                                 reason="../shared/reference/charts/dask-gateway is not beside the repo")

GROUPS = [
    {"name": "neuro", "members": {"cognito_groups": ["neuro"], "users": ["alice"]},
     "dask": {"max_cores": 32, "max_memory": "128Gi", "max_clusters": 3, "max_workers": 20, "instance_types": ["m7i.2xlarge"]}},
    {"name": "astro", "members": {"cognito_groups": ["astro"]}, "dask": {}},
    {"name": "bio", "members": {"users": ["bob"]}},
]
ON = {"enabled": True, "namespace": "dask", "worker_image": "quay.io/org/worker:2026.3.0", "idle_timeout": 600}


def settings(**extra):
    with open(CONFIG_FILE) as handle:
        out = {"groups": GROUPS, "dask": ON, "hub_namespace": "hub", "config_text": handle.read()}
    out.update(extra)
    return out


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def chart_merged(values):
    return SV.deep_merge(load(os.path.join(CHART, "values.yaml")), values)


# --- chart values ------------------------------------------------------------------------------------------------

def test_gateway_values_use_jupyterhub_auth_and_name_the_token_secret_only():
    values = SV.gateway_values(settings())
    auth = values["gateway"]["auth"]
    assert auth["type"] == "jupyterhub"
    assert auth["jupyterhub"] == {"apiTokenFromSecretName": "hubops-dask-gateway-token",
                                  "apiTokenFromSecretKey": "jupyterhub-api-token", "apiUrl": "http://hub.hub:8081/hub/api"}
    assert "apiToken" not in auth["jupyterhub"]
    assert values["gateway"]["prefix"] == "/services/dask-gateway"
    assert values["gateway"]["backend"]["image"] == {"name": "quay.io/org/worker", "tag": "2026.3.0"}
    assert values["traefik"]["service"]["type"] == "ClusterIP"
    for part in ("gateway", "controller", "traefik"):
        assert values[part]["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "core"}


def test_gateway_config_carries_only_dask_groups_with_their_limits():
    code = SV.gateway_values(settings())["gateway"]["extraConfig"][SV.CONFIG_KEY]
    config = json.loads(code.rsplit("json.loads(", 1)[1].rsplit("))", 1)[0].strip("'"))
    assert [g["name"] for g in config["groups"]] == ["neuro", "astro"]
    assert config["groups"][0]["limits"] == {"max_cores": 32, "max_memory": "128Gi", "max_clusters": 3, "max_workers": 20}
    assert config["groups"][1]["limits"] == SV.DEFAULT_LIMITS
    assert config["groups"][0]["pool"] == "neuro-dask"
    assert config["idle_timeout"] == 600
    assert code.startswith(open(CONFIG_FILE).read().rstrip("\n"))


def test_chart_values_from_the_inventory_are_merged_last():
    values = SV.gateway_values(settings(chart_values={"gateway": {"loglevel": "DEBUG", "prefix": "/other"}}))
    assert values["gateway"]["loglevel"] == "DEBUG" and values["gateway"]["prefix"] == "/other"
    assert values["gateway"]["auth"]["type"] == "jupyterhub"


def test_a_missing_configuration_code_is_refused():
    with pytest.raises(SV.ServicesError, match="configure"):
        SV.gateway_values(settings(config_text="print('hello')"))


def test_worker_image_without_tag_means_latest_and_default_keeps_the_charts():
    values = SV.gateway_values(settings(dask=dict(ON, worker_image="quay.io/org/worker")))
    assert values["gateway"]["backend"]["image"] == {"name": "quay.io/org/worker", "tag": "latest"}
    assert "backend" not in SV.gateway_values(settings(dask={"enabled": True}))["gateway"]


@needs_chart
def test_merged_values_validate_against_the_charts_schema():
    jsonschema.validate(chart_merged(SV.gateway_values(settings())), load(os.path.join(CHART, "values.schema.yaml")))


@needs_chart
def test_the_chart_schema_check_can_fail():
    bad = SV.gateway_values(settings(chart_values={"gateway": {"auth": {"type": "github"}}, "traefik": {"nosuchkey": 1}}))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(chart_merged(bad), load(os.path.join(CHART, "values.schema.yaml")))


# --- the hub's side ----------------------------------------------------------------------------------------------

def hub_settings(dask):
    hub = {"auth": {"type": "dummy", "allow_dummy": True}, "network": {"allow_services": [{"namespace": "dask", "ports": [8000]}]}}
    return {"deployment": "local", "groups": GROUPS, "hub": hub, "files": {"profiles.py": "# code"}, "dask": dask}


def test_hub_registers_the_service_with_the_token_from_its_existing_secret():
    values = H.hub_values(hub_settings(ON))
    assert values["hub"]["services"] == {"dask-gateway": {"display": False, "url": "http://traefik-dask-gateway.dask:80"}}
    assert values["hub"]["existingSecret"] == "hubops-hub-services"
    assert values["hub"]["networkPolicy"] == {"enabled": True, "interNamespaceAccessLabels": "accept"}
    assert "apiToken" not in json.dumps(values)
    env = values["singleuser"]["extraEnv"]
    assert env == {"DASK_GATEWAY__ADDRESS": "http://traefik-dask-gateway.dask:80/services/dask-gateway",
                   "DASK_GATEWAY__PROXY_ADDRESS": "gateway://traefik-dask-gateway.dask:80",
                   "DASK_GATEWAY__PUBLIC_ADDRESS": "/services/dask-gateway/", "DASK_GATEWAY__AUTH__TYPE": "jupyterhub"}
    # the inventory's own allow_services rule is the same rule: it is not listed twice
    assert values["singleuser"]["networkPolicy"]["egress"] == [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dask"}}}],
         "ports": [{"port": 8000, "protocol": "TCP"}]}]


def test_hub_without_dask_gateway_has_none_of_it():
    for dask in (None, {}, {"enabled": False, "namespace": "dask"}):
        values = H.hub_values(hub_settings(dask))
        assert "services" not in values["hub"] and "existingSecret" not in values["hub"]
        assert "extraEnv" not in values["singleuser"]


@pytest.mark.skipif(not os.path.isfile(Z2JH_SCHEMA), reason="z2jh schema not beside the repo")
def test_hub_values_with_dask_validate_against_the_z2jh_schema():
    merged = H.deep_merge(load(os.path.join(Z2JH_CHART, "values.yaml")), H.hub_values(hub_settings(ON)))
    jsonschema.validate(merged, load(Z2JH_SCHEMA))


# --- worker pools ------------------------------------------------------------------------------------------------

def test_each_dask_group_gets_a_spot_only_tainted_pool():
    pools = dict((p["name"], p) for p in K.pools_from_inventory(GROUPS, [], {"ami_alias": "al2023@v20261020"}, ON))
    assert sorted(pools) == ["astro", "astro-dask", "bio", "neuro", "neuro-dask"]
    ctx = {"deployment": "local", "cluster_name": "local", "instance_profile": "p", "tags": {}}
    pool, _nodeclass = K.pool_manifests(pools["neuro-dask"], ctx)
    spec = pool["spec"]["template"]
    assert {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]} in spec["spec"]["requirements"]
    assert {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m7i.2xlarge"]} in spec["spec"]["requirements"]
    assert spec["spec"]["taints"] == [{"key": "hubops.io/dask", "value": "true", "effect": "NoSchedule"}]
    assert spec["metadata"]["labels"] == {"hubops.io/pool": "neuro-dask", "hubops.io/group": "neuro"}
    assert pool["metadata"]["labels"]["hubops.io/group"] == "neuro"


def test_no_dask_pools_while_the_gateway_is_off():
    for dask in (None, {"enabled": False}):
        assert [p["name"] for p in K.pools_from_inventory(GROUPS, [], None, dask)] == ["neuro", "astro", "bio"]


def test_a_dask_pool_name_clash_names_the_field():
    with pytest.raises(K.PoolSpecError) as exc:
        K.pools_from_inventory(GROUPS, [{"name": "astro-dask"}], None, ON)
    assert exc.value.problems[0][0] == "hubops_groups[1].dask"


# --- inventory ---------------------------------------------------------------------------------------------------

def inventory(**extra):
    inv = {"hubops_deployment": "x", "hubops_region": "us-east-1", "hubops_groups": json.loads(json.dumps(GROUPS)),
           "hubops_dask_gateway": {"enabled": True}}
    inv.update(extra)
    return inv


def fields(problems):
    return [p["field"] for p in problems]


def test_a_good_dask_inventory_passes():
    errors, warnings = S.validate(inventory(hubops_services=[{"name": "viewer", "namespace": "tools",
                                                              "chart": {"repo": "https://charts.example.org", "version": "1.2.3"},
                                                              "values": {"replicas": 1}}]))
    assert (errors, warnings) == ([], [])


@pytest.mark.parametrize("change, field", [
    (lambda inv: inv["hubops_groups"][0]["dask"].update(max_memory="lots"), "hubops_groups[0].dask.max_memory"),
    (lambda inv: inv["hubops_groups"][0]["dask"].update(max_workers=0), "hubops_groups[0].dask.max_workers"),
    (lambda inv: inv["hubops_groups"][0]["dask"].update(max_cpus=4), "hubops_groups[0].dask.max_cpus"),
    (lambda inv: inv["hubops_dask_gateway"].update(idle_timeout="soon"), "hubops_dask_gateway.idle_timeout"),
    (lambda inv: inv["hubops_dask_gateway"].update(namespace="Dask_Gateway"), "hubops_dask_gateway.namespace"),
    (lambda inv: [g.pop("dask", None) for g in inv["hubops_groups"]], "hubops_dask_gateway.enabled"),
    (lambda inv: inv.update(hubops_services=[{"name": "dask-gateway", "chart": {"path": "/c"}}]), "hubops_services[0].name"),
    (lambda inv: inv.update(hubops_services=[{"name": "a", "chart": {"repo": "https://c.example.org"}}]), "hubops_services[0].chart"),
    (lambda inv: inv.update(hubops_services=[{"name": "a"}]), "hubops_services[0].chart"),
    (lambda inv: inv["hubops_groups"][1].update(name="a-very-long-group-name-of-thirty"), "hubops_groups[1].dask.name"),
])
def test_a_bad_dask_inventory_names_the_field(change, field):
    inv = inventory()
    change(inv)
    errors, _warnings = S.validate(inv)
    assert field in fields(errors), errors
    assert all(p["fix"] for p in errors)


def test_a_dask_block_without_the_gateway_warns():
    errors, warnings = S.validate(inventory(hubops_dask_gateway={"enabled": False}))
    assert errors == []
    assert fields(warnings) == ["hubops_groups[0].dask", "hubops_groups[1].dask"]


def test_the_local_inventory_enables_dask_for_a_group():
    inv = {}
    for name in sorted(os.listdir(LOCAL)):
        if name.endswith(".yml"):
            inv.update(load(os.path.join(LOCAL, name)) or {})
    assert inv["hubops_dask_gateway"]["enabled"] is True
    assert [g["name"] for g in inv["hubops_groups"] if "dask" in g]
    pools = K.pools_from_inventory(inv["hubops_groups"], inv.get("hubops_nodepools"), None, inv["hubops_dask_gateway"])
    assert any(p["name"].endswith("-dask") and p["capacity"] == ["spot"] for p in pools)
