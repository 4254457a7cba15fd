# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""dask-gateway beside the hub on the emulated AWS + the k8s kit, with inventories/local: the release installs from
the local chart, the hub registers its service with the token mounted from a Secret (never in values or output), the
groups' <group>-dask pools are spot only and tainted, a re-run changes nothing, teardown's step removes the release,
its namespace and the token Secrets, and turning the gateway off prunes its pools."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO

BIN = Path(sys.executable).parent
KIT = REPO.parent / "shared" / "k8s"
CHARTS = REPO.parent / "shared" / "reference" / "charts"
TEARDOWN_CONFIRM = ("-e", "hubops_teardown_confirm=local")
NS = "dask-gateway"
HUB_NS = "jupyterhub"
# network + cluster: eks_cluster (which needs the VPC facts) publishes the endpoint the later roles need to act on the
# cluster at all; foundations: the KMS key the Karpenter controller policy names (without it the policy would change)
TAGS = "network,foundations,cluster,karpenter,hub,services"

pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (BIN / "kubectl").exists() or not (CHARTS / "dask-gateway").is_dir(),
                                reason="needs the Kubernetes kit in ../shared/k8s, the reference charts and kubectl (make deps)")


def get(kubeconfig, *args):
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "get", *args, "-o", "json"],
                          capture_output=True, text=True, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def helm(kubeconfig, *args):
    proc = subprocess.run([str(BIN / "helm"), "--kubeconfig", str(kubeconfig), *args, "-o", "json"], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout)


def secret(kubeconfig, namespace, name):
    found = get(kubeconfig, "secret", name, "-n", namespace)
    return {k: base64.b64decode(v).decode() for k, v in found["data"].items()} if found else None


def dask_pools(kubeconfig):
    return {p["metadata"]["name"]: p for p in get(kubeconfig, "nodepools")["items"] if p["metadata"]["name"].endswith("-dask")}


def test_dask_gateway_installs_beside_the_hub_converges_and_goes(emulator):
    first = emulator.playbook("site.yml", None, "-v")
    assert first.rc == 0, first.output[-4000:]
    kubeconfig = emulator.cluster_kubeconfig

    releases = helm(kubeconfig, "list", "-n", NS)
    assert [(r["name"], r["chart"]) for r in releases] == [("dask-gateway", "dask-gateway-2026.3.0")]

    token = secret(kubeconfig, NS, "hubops-dask-gateway-token")["jupyterhub-api-token"]
    assert len(token) == 64
    assert secret(kubeconfig, HUB_NS, "hubops-hub-services") == {"hub.services.dask-gateway.apiToken": token}
    hub_values = helm(kubeconfig, "get", "values", "jupyterhub", "-n", HUB_NS)
    gateway_values = helm(kubeconfig, "get", "values", "dask-gateway", "-n", NS)
    for text in (first.output, json.dumps(hub_values), json.dumps(gateway_values)):
        assert token not in text

    # the hub registers the service and mounts its token; notebooks get the gateway's address
    # (beside the monitoring role's hubops-prometheus service)
    assert hub_values["hub"]["services"]["dask-gateway"] == {"display": False, "url": "http://traefik-dask-gateway.dask-gateway:80"}
    assert hub_values["hub"]["existingSecret"] == "hubops-hub-services"
    hub_pod = get(kubeconfig, "deployment", "hub", "-n", HUB_NS)["spec"]["template"]["spec"]
    assert {"name": "existing-secret", "secret": {"secretName": "hubops-hub-services", "defaultMode": 420}} in hub_pod["volumes"]
    assert hub_values["singleuser"]["extraEnv"]["DASK_GATEWAY__ADDRESS"] == "http://traefik-dask-gateway.dask-gateway:80/services/dask-gateway"
    # ... and the gateway reads the same token from its own namespace, and the hub's API across namespaces
    api = get(kubeconfig, "deployment", "api-dask-gateway", "-n", NS)["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("valueFrom") for e in api["env"]}
    assert env["JUPYTERHUB_API_TOKEN"] == {"secretKeyRef": {"name": "hubops-dask-gateway-token", "key": "jupyterhub-api-token"}}
    assert gateway_values["gateway"]["auth"]["jupyterhub"]["apiUrl"] == "http://hub.jupyterhub:8081/hub/api"
    traefik = get(kubeconfig, "service", "traefik-dask-gateway", "-n", NS)["spec"]
    assert traefik["type"] == "ClusterIP" and [(p["port"], p["targetPort"]) for p in traefik["ports"]] == [(80, 8000)]
    config = get(kubeconfig, "configmap", "api-dask-gateway", "-n", NS)["data"]["dask_gateway_config.py"]
    compile(config, "dask_gateway_config.py", "exec")
    assert "configure(c, json.loads(" in config and '"neuro-dask"' in config

    pools = dask_pools(kubeconfig)
    assert sorted(pools) == ["astro-dask", "neuro-dask"]
    for name, pool in pools.items():
        template = pool["spec"]["template"]
        capacity = [r for r in template["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type"]
        assert capacity == [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}], name
        assert template["spec"]["taints"] == [{"key": "hubops.io/dask", "value": "true", "effect": "NoSchedule"}], name
        assert template["metadata"]["labels"]["hubops.io/group"] == name[:-len("-dask")]

    # A re-run of what this role touches changes nothing (test_hub's full re-run covers the rest of site.yml).
    again = emulator.playbook("site.yml", None, "-v", "--tags", TAGS)
    assert "install | Install or upgrade dask-gateway" in again.output and "cluster_present | One NodePool" in again.output
    # the tagged roles really ran against the cluster (without the network and cluster facts they only say what they would do)
    assert "Would install" not in again.output and "Would create EKS cluster" not in again.output
    assert again.rc == 0 and again.recap["changed"] == 0, [line for line in again.output.splitlines() if line.startswith(("TASK", "changed"))]
    assert token not in again.output
    assert secret(kubeconfig, NS, "hubops-dask-gateway-token")["jupyterhub-api-token"] == token
    assert len(helm(kubeconfig, "history", "dask-gateway", "-n", NS)) == 1

    # Teardown's services step (before the hub goes): release, namespace, the hub's copy of the token.
    # --skip-tags always: without the rest of teardown, its final sweep would rightly fail on everything else.
    down = emulator.playbook("teardown.yml", None, "-v", "--tags", "services", "--skip-tags", "always", *TEARDOWN_CONFIRM)
    assert down.rc == 0, down.output[-4000:]
    assert token not in down.output
    assert helm(kubeconfig, "list", "-n", NS, "-a") == []
    namespace = get(kubeconfig, "namespace", NS)
    assert namespace is None or namespace["status"]["phase"] == "Terminating"
    assert get(kubeconfig, "secret", "hubops-hub-services", "-n", HUB_NS) is None
    # (the pools carry the deployment's labels, which teardown's karpenter step deletes every pool by: test_karpenter)
    assert all(p["metadata"]["labels"]["hubops.io/deployment"] == "local" for p in pools.values())

    # Turning dask-gateway off prunes the worker pools and drops the hub's service.
    off = emulator.playbook("site.yml", None, "--tags", TAGS, "-e", json.dumps({"hubops_dask_gateway": {"enabled": False}}))
    assert off.rc == 0, off.output[-4000:]
    assert dask_pools(kubeconfig) == {}
    assert "dask-gateway" not in helm(kubeconfig, "get", "values", "jupyterhub", "-n", HUB_NS)["hub"].get("services", {})
    print("site.yml %.0f s, re-run %.0f s, teardown step %.0f s, off %.0f s" % (first.seconds, again.seconds, down.seconds, off.seconds))
