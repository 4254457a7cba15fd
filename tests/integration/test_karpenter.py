# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Karpenter on the emulated AWS + the k8s kit: the pools every inventory asks for are accepted by a real API server
with Karpenter's CRDs (schema and CEL rules checked by the server), one group's change touches one NodePool, a group
that leaves the inventory loses its pool, and teardown waits for NodeClaims and removes what Karpenter left in EC2."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from harness import REPO, inventory_with

BIN = Path(sys.executable).parent
KIT = REPO.parent / "shared" / "k8s"
CHARTS = REPO.parent / "shared" / "reference" / "charts"
TEARDOWN_CONFIRM = ("-e", "hubops_teardown_confirm=local")
# The phases Karpenter needs (its IAM and queue come with the cluster); the hub, storage, monitoring and services are
# proven by their own tests and would only add minutes to each run here. Teardown always runs whole.
KARPENTER_TAGS = ("--tags", "network,foundations,cluster,karpenter")

pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (BIN / "kubectl").exists(),
                                reason="needs the Kubernetes kit in ../shared/k8s and kubectl in the venv (make deps)")


def kubectl(kubeconfig, *args, stdin=None, check=True):
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], input=stdin,
                          capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def objects(kubeconfig, kind):
    out = kubectl(kubeconfig, "get", kind, "-o", "json").stdout
    return {item["metadata"]["name"]: item for item in json.loads(out)["items"]}


def inventory_vars(path: Path) -> dict:
    data = {}
    for file in sorted((path / "group_vars" / "all").glob("*.yml")):
        data.update(yaml.safe_load(file.read_text()) or {})
    return data


def all_inventories():
    found = [p for p in sorted((REPO / "inventories").glob("*")) if (p / "group_vars" / "all").is_dir()]
    found += [p for p in sorted((REPO / "inventories" / "examples").glob("*")) if (p / "group_vars" / "all").is_dir()]
    return found


@pytest.fixture(scope="module")
def kit_with_crds(tmp_path_factory):
    state = tmp_path_factory.mktemp("kit")
    subprocess.run([sys.executable, str(REPO / "tests" / "emulation" / "k8s_kit.py"), "start", str(state)], check=True,
                   capture_output=True)
    kubeconfig = state / "kubeconfig"
    rendered = subprocess.run([str(BIN / "helm"), "template", "karpenter-crd", str(CHARTS / "karpenter-crd")], check=True,
                              capture_output=True, text=True).stdout
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=rendered)
    # `kubectl wait --for=condition` fails at once (instead of waiting) while a new CRD has no conditions yet.
    deadline = time.monotonic() + 60
    while True:
        states = [kubectl(kubeconfig, "get", "crd", name, "-o", 'jsonpath={.status.conditions[?(@.type=="Established")].status}',
                          check=False).stdout for name in ("nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws")]
        if states == ["True", "True"]:
            break
        assert time.monotonic() < deadline, "Karpenter CRDs not Established after 60 s: %s" % states
        time.sleep(0.5)
    yield kubeconfig
    subprocess.run([sys.executable, str(REPO / "tests" / "emulation" / "k8s_kit.py"), "stop", str(state)], check=False,
                   capture_output=True)


@pytest.mark.parametrize("inventory", all_inventories(), ids=lambda p: p.relative_to(REPO / "inventories").as_posix())
def test_every_inventory_pool_is_accepted_by_the_api_server(kit_with_crds, inventory):
    """Server-side dry-run apply: the API server runs the CRDs' OpenAPI schema and CEL rules on what we build."""
    sys.path.insert(0, str(REPO / "tests"))
    from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K  # pylint: disable=import-outside-toplevel

    data = inventory_vars(inventory)
    pools = K.pools_from_inventory(data.get("hubops_groups") or [], data.get("hubops_nodepools") or [],
                                   {"ami_alias": (data.get("hubops_karpenter") or {}).get("ami_alias", K.DEFAULT_AMI_ALIAS)})
    if not pools:  # the sample inventory's groups are commented; build its documented default pool instead
        pools = K.pools_from_inventory([{"name": "example"}], [])
    ctx = {"deployment": data.get("hubops_deployment", "example"), "cluster_name": data.get("hubops_deployment", "example"),
           "instance_profile": "example-karpenter-node", "tags": data.get("hubops_tags") or {},
           "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"}
    docs = [doc for pool in pools for doc in K.pool_manifests(pool, ctx)]
    proc = kubectl(kit_with_crds, "apply", "--server-side", "--dry-run=server", "--field-manager=hubops-test", "-f", "-",
                   stdin=yaml.safe_dump_all(docs), check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("serverside-applied") == len(docs), proc.stdout


def test_the_server_still_rejects_what_our_checks_reject(kit_with_crds):
    """The other way round: a spec our validation refuses is refused by the CRD too (so the checks are not stricter
    than Karpenter for no reason, and the server really is checking)."""
    sys.path.insert(0, str(REPO / "tests"))
    from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K  # pylint: disable=import-outside-toplevel

    ctx = {"deployment": "local", "cluster_name": "local", "instance_profile": "p", "kms_key_arn": "", "tags": {}}
    nodepool, nodeclass = K.pool_manifests({"name": "bad"}, ctx)
    nodepool["spec"]["template"]["metadata"]["labels"]["karpenter.sh/custom"] = "x"
    assert K.validate_pool({"name": "bad", "labels": {"karpenter.sh/custom": "x"}})
    nodeclass["spec"]["tags"]["karpenter.sh/nodepool"] = "x"
    assert K.validate_pool({"name": "bad", "tags": {"karpenter.sh/nodepool": "x"}})
    for doc in (nodepool, nodeclass):
        proc = kubectl(kit_with_crds, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(doc), check=False)
        assert proc.returncode != 0, doc["kind"]
        assert "karpenter" in proc.stderr.lower() or "invalid" in proc.stderr.lower(), proc.stderr


def _groups_with(overrides):
    data = inventory_vars(REPO / "inventories" / "local")
    groups = [dict(g) for g in data["hubops_groups"]]
    return overrides(groups)


def test_one_group_change_touches_one_pool_and_a_removed_group_loses_its_pool(emulator, tmp_path):
    first = emulator.playbook("site.yml", None, *KARPENTER_TAGS)
    assert first.rc == 0, first.output[-4000:]
    kubeconfig = emulator.cluster_kubeconfig
    before = objects(kubeconfig, "nodepools")
    # (neuro-dask, astro-dask: the dask-gateway worker pools of the groups with a dask block, in the same plan)
    assert sorted(before) == ["astro", "astro-dask", "gpu", "neuro", "neuro-dask"]
    releases = subprocess.run([str(BIN / "helm"), "--kubeconfig", str(kubeconfig), "list", "-n", "kube-system", "-o", "json"],
                              capture_output=True, text=True, check=True).stdout
    # (kube-system also holds the load balancer controller of the ingress_dns role)
    assert {"karpenter", "karpenter-crd"} <= {r["name"] for r in json.loads(releases)}

    def raise_neuro(groups):
        neuro = next(g for g in groups if g["name"] == "neuro")
        neuro["nodepool"] = dict(neuro["nodepool"], cpu_limit=128)
        return groups

    changed = emulator.playbook("site.yml", inventory_with(tmp_path / "a", {"hubops_groups": _groups_with(raise_neuro)}), *KARPENTER_TAGS)
    assert changed.rc == 0, changed.output[-4000:]
    assert changed.recap["changed"] == 1, changed.output[-4000:]
    after = objects(kubeconfig, "nodepools")
    assert after["neuro"]["spec"]["limits"]["cpu"] == "128"
    touched = [n for n in before if before[n]["metadata"]["resourceVersion"] != after[n]["metadata"]["resourceVersion"]]
    assert touched == ["neuro"]
    classes = objects(kubeconfig, "ec2nodeclasses")

    def drop_astro(groups):
        return [g for g in raise_neuro(groups) if g["name"] != "astro"]

    removed = emulator.playbook("site.yml", inventory_with(tmp_path / "b", {"hubops_groups": _groups_with(drop_astro)}), *KARPENTER_TAGS)
    assert removed.rc == 0, removed.output[-4000:]
    assert sorted(objects(kubeconfig, "nodepools")) == ["gpu", "neuro", "neuro-dask"]
    remaining = objects(kubeconfig, "ec2nodeclasses")
    assert sorted(remaining) == ["gpu", "neuro", "neuro-dask"]
    assert all(remaining[n]["metadata"]["resourceVersion"] == classes[n]["metadata"]["resourceVersion"] for n in remaining)


def _nodeclaim(pool_uid):
    return {
        "apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
        "metadata": {"name": "neuro-abcde", "labels": {"karpenter.sh/nodepool": "neuro"},
                     "finalizers": ["karpenter.sh/termination"],
                     "ownerReferences": [{"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "name": "neuro", "uid": pool_uid,
                                          "blockOwnerDeletion": True}]},
        "spec": {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "neuro"},
                 "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]},
    }


def test_teardown_waits_for_nodeclaims_and_removes_what_karpenter_left(emulator):
    up = emulator.playbook("site.yml", None, *KARPENTER_TAGS)
    assert up.rc == 0, up.output[-4000:]
    kubeconfig = emulator.cluster_kubeconfig
    pool_uid = objects(kubeconfig, "nodepools")["neuro"]["metadata"]["uid"]
    kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(_nodeclaim(pool_uid)))

    # What a Karpenter controller leaves in EC2 when it dies mid-way: a launch template and a running node.
    ec2 = emulator.client("ec2")
    karpenter_tags = [{"Key": "karpenter.k8s.aws/cluster", "Value": "local"}, {"Key": "kubernetes.io/cluster/local", "Value": "owned"},
                      {"Key": "karpenter.sh/nodepool", "Value": "neuro"}, {"Key": "eks:eks-cluster-name", "Value": "local"}]
    template = ec2.create_launch_template(LaunchTemplateName="karpenter.k8s.aws/123456", LaunchTemplateData={"InstanceType": "m7i.large"},
                                          TagSpecifications=[{"ResourceType": "launch-template", "Tags": karpenter_tags}])
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m7i.large",
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": karpenter_tags}])["Instances"][0]

    # The "controller": finishes terminating the node 8 s into the teardown, then drops the finalizer.
    released = {}

    def controller():
        deadline = time.time() + 300
        while time.time() < deadline:
            pools = kubectl(kubeconfig, "get", "nodepool", "neuro", "-o", "name", check=False)
            if pools.returncode != 0:  # the pool is being deleted (or gone): the teardown is waiting on us now
                time.sleep(8)
                released["at"] = time.time()
                kubectl(kubeconfig, "patch", "nodeclaim", "neuro-abcde", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
                return
            time.sleep(0.5)

    thread = threading.Thread(target=controller, daemon=True)
    thread.start()
    down = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM)
    thread.join(timeout=30)
    assert down.rc == 0, down.output[-4000:]
    assert "at" in released, "teardown never deleted the pool"
    assert "nothing left but kept user data" in down.output
    templates = ec2.describe_launch_templates(Filters=[{"Name": "tag:karpenter.k8s.aws/cluster", "Values": ["local"]}])["LaunchTemplates"]
    assert templates == [], template
    state = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("shutting-down", "terminated")
    sqs, events = emulator.client("sqs"), emulator.client("events")
    assert not sqs.list_queues(QueueNamePrefix="local-karpenter").get("QueueUrls")
    assert events.list_rules(NamePrefix="local-karpenter")["Rules"] == []
    iam = emulator.client("iam")
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if "karpenter" in r["RoleName"]] == []
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"] if "karpenter" in p["PolicyName"]] == []
