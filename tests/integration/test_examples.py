# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Each example inventory (inventories/examples/<name>) through its whole lifecycle on the emulated AWS + the
Kubernetes kit: preflight passes, site.yml converges, a second run changes nothing, teardown.yml leaves nothing but
the kept user data, and teardown.yml with hubops_teardown_delete_data=true leaves nothing at all.

The examples describe real deployments (real domains, chart repositories, registries, accounts). This test adapts
them the way inventories/local adapts itself, from the outside and never in the example's files: extra vars point
at the emulator (endpoint, dummy credentials, its account, the eksctl stand-in), at the reference charts
(../shared/reference/charts, every hubops_charts entry of the example replaced by a local path), carry the kit-only
chart values (no nodes on the kit) and stand-ins for the vault_* secrets; what a real account already has (the
Route53 zone, an imported certificate) is made in the emulator first.

`pytest tests/integration` (make test) runs the `dandi` lifecycle; HUBOPS_EXAMPLES=all (make test-examples) runs
every example, HUBOPS_EXAMPLES=opensarlab,restricted the ones named."""

import datetime
import json
import os
import subprocess
import sys

import pytest
import yaml

from harness import REPO

from ansible_collections.hubops.eks.plugins.module_utils import hub as H  # noqa: E402  (tests/conftest.py makes it importable)

BIN = os.path.dirname(sys.executable)
EXAMPLES_DIR = REPO / "inventories" / "examples"
CHARTS = REPO.parent / "shared" / "reference" / "charts"
KIT = REPO.parent / "shared" / "k8s"
EMULATED_ACCOUNT = "123456789012"
ALL = sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / "group_vars" / "all").is_dir())
DEFAULT = ("dandi",)


def selected():
    wanted = os.environ.get("HUBOPS_EXAMPLES", "").strip()
    if not wanted:
        return list(DEFAULT)
    if wanted == "all":
        return ALL
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ALL))
    assert not unknown, "HUBOPS_EXAMPLES names %s; the examples are %s" % (unknown, ALL)
    return names


pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (CHARTS / "jupyterhub").is_dir(),
                                reason="needs the Kubernetes kit in ../shared/k8s and the reference charts")

# Kit-only chart values, the same inventories/local sets: the kit has no nodes and runs no controller pods.
KIT_CHART_VALUES = {
    "jupyterhub": {"prePuller": {"hook": {"enabled": False}}},
    "aws-load-balancer-controller": {"enableServiceMutatorWebhook": False},
    "kube-prometheus-stack": {"prometheusOperator": {"admissionWebhooks": {"enabled": False}}},
}


def example_vars(name):
    """The example's variables as Ansible merges group_vars/all/*.yml (later files replace earlier keys)."""
    merged = {}
    for path in sorted((EXAMPLES_DIR / name / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def vault_stand_ins(name):
    listed = EXAMPLES_DIR / name / "group_vars" / "all" / "vault.yml.example"
    keys = (yaml.safe_load(listed.read_text()) or {}) if listed.exists() else {}
    return {key: "stand-in-%s-0f9e" % key[len("vault_"):].replace("_", "-") for key in keys}


def self_signed_certificate(domain):
    """(certificate PEM, key PEM) for `domain`: what a site imports into ACM from its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def prepare_account(emulator, inv):
    """What the example's real account already has: the Route53 zone it names (unless hubops creates it) and the
    certificate it names (imported here, its ARN replacing the example's). Returns the hub overrides."""
    hub = inv.get("hubops_hub") or {}
    overrides = {}
    if hub.get("route53_zone") and not hub.get("create_zone"):
        emulator.client("route53").create_hosted_zone(Name=hub["route53_zone"], CallerReference="example-" + hub["route53_zone"])
    if hub.get("certificate_arn"):
        cert, key = self_signed_certificate(hub["domain"])
        acm = emulator.client("acm", region=inv["hubops_region"])
        overrides["certificate_arn"] = acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
    return overrides


def emulator_extra_vars(name, inv, hub_overrides):
    """Extra vars that put the example on the emulator and the kit (they replace whole top-level variables, so the
    example's hubops_hub and hubops_charts are passed back whole, with the test's changes merged in)."""
    charts = {}
    for key in sorted(set(inv.get("hubops_charts") or {}) | set(KIT_CHART_VALUES)):
        given = (inv.get("hubops_charts") or {}).get(key) or {}
        assert (CHARTS / key).is_dir(), "no reference chart for %s under %s" % (key, CHARTS)
        values = H.deep_merge(given.get("values") or {}, KIT_CHART_VALUES.get(key, {}))
        charts[key] = {"path": str(CHARTS / key), "values": values}
    hub = H.deep_merge(inv.get("hubops_hub") or {}, dict(hub_overrides, wait_ready=False))
    extra = {
        "hubops_aws_account_id": EMULATED_ACCOUNT,
        "hubops_aws_access_key": "testing",
        "hubops_aws_secret_key": "testing",
        "hubops_eksctl_path": str(REPO / "tests" / "emulation" / "bin" / "eksctl"),
        "hubops_charts_dir": str(CHARTS),
        "hubops_charts": charts,
        "hubops_hub": hub,
    }
    extra.update(vault_stand_ins(name))
    return extra


def kubectl_json(kubeconfig, *args):
    proc = subprocess.run([os.path.join(BIN, "kubectl"), "--kubeconfig", str(kubeconfig), "get", *args, "-o", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def deployment_leftovers(emulator, deployment, region):
    """What still carries the deployment's tag in the services the teardown deletes from (independent of the sweep)."""
    tag = [{"Name": "tag:hubops:deployment", "Values": [deployment]}]
    ec2 = emulator.client("ec2", region=region)
    left = [v["VpcId"] for v in ec2.describe_vpcs(Filters=tag)["Vpcs"]]
    left += [v["VolumeId"] for v in ec2.describe_volumes(Filters=tag)["Volumes"]]
    left += [s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=tag)["Snapshots"]]
    left += emulator.client("eks", region=region).list_clusters()["clusters"]
    efs = emulator.client("efs", region=region)
    left += [f["FileSystemId"] for f in efs.describe_file_systems()["FileSystems"]
             if {"Key": "hubops:deployment", "Value": deployment} in f.get("Tags", [])]
    return left


@pytest.mark.parametrize("name", selected())
def test_example_lifecycle(emulator, tmp_path, monkeypatch, name):
    inv = example_vars(name)
    deployment, region = inv["hubops_deployment"], inv["hubops_region"]
    # The load balancer controller stand-in, started with the kit at the first playbook run, serves one region (the
    # real controller runs in the cluster's): the example's.
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    inventory = EXAMPLES_DIR / name
    extra_file = tmp_path / "emulator-vars.json"
    extra_file.write_text(json.dumps(emulator_extra_vars(name, inv, prepare_account(emulator, inv))))
    extra = ("-e", "@%s" % extra_file)
    confirm = ("-e", "hubops_teardown_confirm=%s" % deployment)

    checked = emulator.playbook("playbooks/preflight.yml", inventory, *extra)
    assert checked.rc == 0, checked.output[-4000:]
    assert checked.stats["mutating"] == 0, checked.stats["mutating_actions"]

    first = emulator.playbook("site.yml", inventory, *extra)
    assert first.rc == 0, first.output[-6000:]
    assert first.recap["changed"] > 0 and first.recap["failed"] == 0
    # the Karpenter pools on the kit are the ones the example asks for
    pools = {item["metadata"]["name"] for item in kubectl_json(emulator.kubeconfig, "nodepools.karpenter.sh")["items"]
             if item["metadata"].get("labels", {}).get("hubops.io/deployment") == deployment}
    wanted = {g.get("nodepool", {}).get("name") or g["name"] for g in inv.get("hubops_groups") or []
              if "shared" not in (g.get("nodepool") or {})} | {p["name"] for p in inv.get("hubops_nodepools") or []}
    if (inv.get("hubops_dask_gateway") or {}).get("enabled"):
        wanted |= {"%s-dask" % g["name"] for g in inv.get("hubops_groups") or [] if g.get("dask")}
    assert pools == wanted
    namespace = (inv.get("hubops_hub") or {}).get("namespace", "jupyterhub")
    assert kubectl_json(emulator.kubeconfig, "deployment", "hub", "-n", namespace)["metadata"]["name"] == "hub"

    second = emulator.playbook("site.yml", inventory, *extra)
    assert second.rc == 0, second.output[-4000:]
    assert second.recap["changed"] == 0, second.output[-6000:]
    assert second.stats["mutating"] == 0, second.stats["mutating_actions"]

    down = emulator.playbook("teardown.yml", inventory, *extra, *confirm)
    assert down.rc == 0, down.output[-6000:]
    assert "Teardown of %s complete: nothing left but kept user data." % deployment in down.output
    assert emulator.client("eks", region=region).list_clusters()["clusters"] == []
    assert "Kept " in down.output   # the homes, shared directories and backups stay by default

    gone = emulator.playbook("teardown.yml", inventory, *extra, *confirm, "-e", "hubops_teardown_delete_data=true")
    assert gone.rc == 0, gone.output[-6000:]
    assert "Teardown of %s complete: nothing left but kept user data." % deployment in gone.output
    assert "Kept " not in gone.output
    assert deployment_leftovers(emulator, deployment, region) == []
    print("\n%s: preflight %.0f s, site.yml %.0f s, re-run %.0f s, teardown %.0f s, teardown with data %.0f s"
          % (name, checked.seconds, first.seconds, second.seconds, down.seconds, gone.seconds))
