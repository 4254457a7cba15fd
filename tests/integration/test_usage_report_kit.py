# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""roles/storage/files/usage_report.py against the real kube-apiserver of the test kit: the first run creates the
ConfigMap with the kit's admin client certificate (from its kubeconfig), the second replaces it with a ServiceAccount
token bound to a Role that allows only get, create and update on configmaps (what the CronJob's ServiceAccount needs)."""

import base64
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness import REPO

BIN = Path(sys.executable).parent
KIT = REPO.parent / "shared" / "k8s"
SCRIPT = REPO / "roles" / "storage" / "files" / "usage_report.py"
NAMESPACE = "hubops-usage"
CONFIGMAP = "hubops-storage-usage"
NOW = 1767225600  # 2026-01-01T00:00:00Z
LABELS = {"app.kubernetes.io/managed-by": "hubops", "app.kubernetes.io/component": "usage-report"}

pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (BIN / "kubectl").exists(),
                                reason="needs the Kubernetes kit in ../shared/k8s and kubectl in the venv (make deps)")


def load_script():
    spec = importlib.util.spec_from_file_location("hubops_usage_report_kit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kubectl(kubeconfig, *args, stdin=None):
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], input=stdin, capture_output=True,
                          text=True, check=False, timeout=30, env=dict(os.environ, KUBECACHEDIR=str(kubeconfig.parent / "kube-cache")))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def api_flags(kubeconfig, workdir):
    """usage_report.py flags reaching the API server of kubeconfig's current context with its credentials: a client
    certificate or a token, inline (*-data) or in files."""
    doc = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))

    def named(kind, name):
        return next(item[kind[:-1]] for item in doc[kind] if item["name"] == name)

    context = named("contexts", doc.get("current-context") or doc["contexts"][0]["name"])
    cluster, user = named("clusters", context["cluster"]), named("users", context["user"]) or {}

    def file_of(key, inline, path_key):
        if inline in key:
            target = workdir / path_key
            target.write_bytes(base64.b64decode(key[inline]))
            target.chmod(0o600)
            return str(target)
        return key.get(path_key)

    flags = ["--api-server", cluster["server"]]
    ca_file = file_of(cluster, "certificate-authority-data", "certificate-authority")
    if ca_file:
        flags += ["--ca-file", ca_file]
    if cluster.get("insecure-skip-tls-verify"):
        flags.append("--insecure-skip-tls-verify")
    cert = file_of(user, "client-certificate-data", "client-certificate")
    if cert:
        flags += ["--client-cert", cert, "--client-key", file_of(user, "client-key-data", "client-key")]
    if user.get("token"):
        (workdir / "token").write_text(user["token"], encoding="utf-8")
        flags += ["--token-file", str(workdir / "token")]
    elif user.get("tokenFile"):
        flags += ["--token-file", user["tokenFile"]]
    assert cert or "--token-file" in flags, "kubeconfig user has neither a client certificate nor a token: %s" % sorted(user)
    return flags


def run_report(tree, flags):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--homes", str(tree / "homes"), "--shared", str(tree / "shared"),
                           "--group-map", str(tree / "groups.json"), "--now", str(NOW), "--configmap", "%s/%s" % (NAMESPACE, CONFIGMAP),
                           *flags], capture_output=True, text=True, check=False, timeout=30, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def put(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"k" * size)


def service_account_flags(kubeconfig, workdir, admin_flags):
    """A ServiceAccount allowed get/create/update on configmaps in the namespace, and flags using its token."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "usage-report", "namespace": NAMESPACE},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "update"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "usage-report", "namespace": NAMESPACE},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "usage-report"},
               "subjects": [{"kind": "ServiceAccount", "name": "usage-report", "namespace": NAMESPACE}]}
    kubectl(kubeconfig, "create", "serviceaccount", "usage-report", "-n", NAMESPACE)
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [role, binding]}))
    (workdir / "sa-token").write_text(kubectl(kubeconfig, "create", "token", "usage-report", "-n", NAMESPACE, "--duration", "10m").strip())
    keep = []
    for index, flag in enumerate(admin_flags):  # the server and its CA, not the admin's certificate
        if flag in ("--api-server", "--ca-file"):
            keep += admin_flags[index:index + 2]
    return keep + ["--token-file", str(workdir / "sa-token")]


def test_usage_report_creates_then_replaces_its_configmap(emulator, tmp_path):
    started = time.monotonic()
    kubeconfig = emulator.kubeconfig
    if kubeconfig is None:
        pytest.skip("the emulator runs no Kubernetes kit")
    tree = tmp_path / "tree"
    put(tree / "homes" / "alice" / "thesis.tex", 3000)
    put(tree / "homes" / "alice" / "data" / "run1.csv", 12000)
    put(tree / "homes" / "bob" / "notes.md", 10)
    put(tree / "shared" / "neuro" / "atlas.nii", 50000)
    put(tree / "shared" / "neuro" / "scratch" / "tmp.bin", 700)
    (tree / "groups.json").write_text(json.dumps({"neuro": ["alice", "bob"]}))
    workdir = tmp_path / "credentials"
    workdir.mkdir(mode=0o700)
    flags = api_flags(kubeconfig, workdir)
    kubectl(kubeconfig, "create", "namespace", NAMESPACE)

    out = run_report(tree, flags)
    assert "ConfigMap %s/%s created" % (NAMESPACE, CONFIGMAP) in out, out
    first = json.loads(kubectl(kubeconfig, "get", "configmap", CONFIGMAP, "-n", NAMESPACE, "-o", "json"))
    assert first["metadata"]["labels"] == LABELS
    assert sorted(first["data"]) == ["usage.json", "usage.prom"]
    report = json.loads(first["data"]["usage.json"])
    script = load_script()
    expected = script.build_report(str(tree / "homes"), str(tree / "shared"), {"neuro": ["alice", "bob"]}, NOW)
    assert report == expected
    assert report["generated_at"] == "2026-01-01T00:00:00Z" and report["truncated"] is False
    assert (report["users"]["alice"]["files"], report["users"]["alice"]["apparent_bytes"]) == (2, 15000)
    assert (report["users"]["bob"]["files"], report["users"]["bob"]["apparent_bytes"]) == (1, 10)
    assert (report["groups"]["neuro"]["files"], report["groups"]["neuro"]["apparent_bytes"]) == (2, 50700)
    assert report["groups"]["neuro"]["home_bytes"] == report["users"]["alice"]["bytes"] + report["users"]["bob"]["bytes"]
    assert report["totals"]["files"] == 5 and report["totals"]["apparent_bytes"] == 65710
    assert 'hubops_storage_files{kind="shared",group="neuro"} 2' in first["data"]["usage.prom"].splitlines()

    # again, changed tree, as the CronJob's ServiceAccount with only get/create/update on configmaps
    put(tree / "homes" / "carol" / "hello.py", 42)
    put(tree / "shared" / "neuro" / "atlas-v2.nii", 1000)
    out = run_report(tree, service_account_flags(kubeconfig, workdir, flags))
    assert "ConfigMap %s/%s replaced" % (NAMESPACE, CONFIGMAP) in out, out
    second = json.loads(kubectl(kubeconfig, "get", "configmap", CONFIGMAP, "-n", NAMESPACE, "-o", "json"))
    assert second["metadata"]["uid"] == first["metadata"]["uid"]  # replaced, not deleted and created again
    assert second["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    assert second["metadata"]["labels"] == LABELS
    report = json.loads(second["data"]["usage.json"])
    assert sorted(report["users"]) == ["alice", "bob", "carol"] and report["users"]["carol"]["apparent_bytes"] == 42
    assert report["groups"]["neuro"]["files"] == 3 and report["totals"]["files"] == 7
    assert report == script.build_report(str(tree / "homes"), str(tree / "shared"), {"neuro": ["alice", "bob"]}, NOW)
    assert time.monotonic() - started < 60
