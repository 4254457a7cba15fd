# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The cluster phase through eksctl: upgrades one minor at a time, downgrades refused early, admins follow the inventory."""

from harness import inventory_with

ADMIN = "arn:aws:iam::123456789012:role/hubops-local-admin"
EXTRA = "arn:aws:iam::123456789012:role/research-admin"
TEARDOWN_CONFIRM = ("-e", "hubops_teardown_confirm=local")
# The phases this test is about (the cluster needs the network and the key); the charts after it are proven elsewhere
# and would only add minutes to each of the six runs.
CLUSTER_TAGS = ("--tags", "network,foundations,cluster")


def _site(emulator, tmp_path, **overrides):
    run = emulator.playbook("site.yml", inventory_with(tmp_path / str(len(list(tmp_path.iterdir()))), overrides), *CLUSTER_TAGS)
    return run, emulator.eksctl_mutations()


def _version(emulator):
    return emulator.client("eks").describe_cluster(name="local")["cluster"]["version"]


def test_upgrades_downgrade_and_admins(emulator, tmp_path):
    run, _created = _site(emulator, tmp_path, hubops_k8s_version="1.31")
    assert run.rc == 0, run.output[-4000:]
    assert _version(emulator) == "1.31"

    run, mutations = _site(emulator, tmp_path, hubops_k8s_version="1.32")
    assert run.rc == 0, run.output[-4000:]
    upgrades = [argv[argv.index("--version") + 1] for argv in mutations if argv[:2] == ["upgrade", "cluster"]]
    assert upgrades == ["1.32"]
    assert _version(emulator) == "1.32"
    assert [argv[:2] for argv in mutations] == [["upgrade", "cluster"], ["update", "addon"], ["upgrade", "nodegroup"]]

    run, mutations = _site(emulator, tmp_path, hubops_k8s_version="1.34")
    assert run.rc == 0, run.output[-4000:]
    upgrades = [argv[argv.index("--version") + 1] for argv in mutations if argv[:2] == ["upgrade", "cluster"]]
    assert upgrades == ["1.33", "1.34"]
    assert _version(emulator) == "1.34"

    run, mutations = _site(emulator, tmp_path, hubops_k8s_version="1.33")
    assert run.rc != 0
    assert "cannot downgrade" in run.output and "hubops_k8s_version" in run.output
    assert run.stats["mutating"] == 0 and mutations == []
    assert _version(emulator) == "1.34"

    run, mutations = _site(emulator, tmp_path, hubops_k8s_version="1.34", hubops_cluster_admin_arns=[ADMIN, EXTRA])
    assert run.rc == 0, run.output[-4000:]
    assert [argv[:2] for argv in mutations] == [["create", "accessentry"]]
    entries = emulator.client("eks").list_access_entries(clusterName="local")["accessEntries"]
    assert EXTRA in entries and ADMIN in entries

    run, mutations = _site(emulator, tmp_path, hubops_k8s_version="1.34", hubops_cluster_admin_arns=[ADMIN])
    assert run.rc == 0, run.output[-4000:]
    assert mutations == [["delete", "accessentry", "--cluster", "local", "--region", "us-east-1", "--principal-arn", EXTRA]]
    entries = emulator.client("eks").list_access_entries(clusterName="local")["accessEntries"]
    assert EXTRA not in entries and ADMIN in entries

    down = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM)
    assert down.rc == 0, down.output[-4000:]
    assert emulator.client("eks").list_clusters()["clusters"] == []
    # no storage ran, so no user data: the key protects nothing and goes too (the sweep found it a leftover before)
    assert emulator.client("kms").describe_key(KeyId="alias/hubops/local")["KeyMetadata"]["KeyState"] == "PendingDeletion"
