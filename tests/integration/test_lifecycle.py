# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""site.yml / teardown.yml on the emulated AWS, counted through the proxy."""

import signal
import subprocess

from harness import REPO

TEARDOWN_CONFIRM = ("-e", "hubops_teardown_confirm=local")
# Faults are injected in AWS calls: the charts that only talk to Kubernetes (monitoring, dask-gateway) add minutes and
# no AWS call, so the throttling test turns them off.
AWS_ONLY = ("-e", '{"hubops_monitoring": {"enabled": false}, "hubops_dask_gateway": {"enabled": false}}')


def _deployment_vpcs(emulator):
    ec2 = emulator.client("ec2")
    return ec2.describe_vpcs(Filters=[{"Name": "tag:hubops:deployment", "Values": ["local"]}])["Vpcs"]


def test_check_mode_on_empty_account_changes_nothing(emulator):
    run = emulator.playbook("site.yml", None, "--check")
    assert run.rc == 0, run.output[-4000:]
    assert run.stats["mutating"] == 0, run.stats["mutating_actions"]
    assert "Would create VPC local-vpc (10.40.0.0/16)" in run.output
    assert _deployment_vpcs(emulator) == []


def test_converge_rerun_and_teardown(emulator):
    first = emulator.playbook("site.yml")
    assert first.rc == 0, first.output[-4000:]
    assert first.recap["changed"] > 0
    assert first.stats["mutating"] > 0
    assert "vpc_id" in first.output and "vpc-" in first.output
    assert "Cost estimate, local in us-east-1:" in first.output and "neuro/small (2 CPU, 8Gi): m5a.xlarge" in first.output

    assert any(argv[:2] == ["create", "cluster"] for argv in emulator.eksctl_mutations())
    second = emulator.playbook("site.yml")
    assert second.rc == 0, second.output[-4000:]
    assert emulator.eksctl_mutations() == []
    assert second.recap["changed"] == 0, second.output[-4000:]
    # a no-op run makes no mutating AWS call at all, and is cheaper than the first: fewer AWS calls, less time (no
    # tighter time ratio: under `pytest -n 2` the two runs share the machine with different neighbours)
    assert second.stats["mutating"] == 0, second.stats["mutating_actions"]
    assert second.stats["read"] < first.stats["read"] + first.stats["mutating"], (first.stats["read"], second.stats["read"])
    assert second.seconds < first.seconds, (first.seconds, second.seconds)

    check = emulator.playbook("site.yml", None, "--check", "--diff")
    assert check.rc == 0 and check.recap["changed"] == 0, check.output[-4000:]
    assert check.stats["mutating"] == 0

    refused = emulator.playbook("teardown.yml")
    assert refused.rc != 0
    assert "hubops_teardown_confirm" in refused.output
    assert refused.stats["mutating"] == 0 and refused.stats["read"] == 0
    assert len(_deployment_vpcs(emulator)) == 1

    down = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM)
    assert down.rc == 0, down.output[-4000:]
    assert "nothing left but kept user data" in down.output
    assert _deployment_vpcs(emulator) == []
    assert emulator.client("eks").list_clusters()["clusters"] == []
    # the kept user data (EFS, hub database snapshot) is encrypted with the key: it stays until the data goes
    key = emulator.client("kms").describe_key(KeyId="alias/hubops/local")["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    assert "KMS key alias/hubops/local kept" in down.output

    again = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM)
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
    assert again.stats["mutating"] == 0, again.stats["mutating_actions"]


def test_converges_and_tears_down_under_throttling(emulator):
    emulator.faults(rate=0.10, seed=11, max_consecutive=2)
    up = emulator.playbook("site.yml", None, *AWS_ONLY)
    assert up.rc == 0, up.output[-4000:]
    assert up.stats["faults"] > 0
    again = emulator.playbook("site.yml", None, *AWS_ONLY)
    assert again.rc == 0 and again.recap["changed"] == 0, again.output[-4000:]
    down = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM, *AWS_ONLY)
    assert down.rc == 0, down.output[-4000:]
    assert down.stats["faults"] > 0
    assert _deployment_vpcs(emulator) == []


def test_run_killed_before_the_nat_resumes_without_duplicates(emulator):
    cmd = emulator.playbook_cmd("site.yml", REPO / "inventories" / "local")
    proc = subprocess.Popen(cmd, cwd=REPO, env=emulator.env(), stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    emulator.kill_on("CreateNatGateway", proc.pid)
    proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    ec2 = emulator.client("ec2")
    assert len(_deployment_vpcs(emulator)) == 1
    assert ec2.describe_nat_gateways()["NatGateways"] == []

    # the resumed run needs only the network to show what the kill did (the rest of site.yml is proven above)
    resumed = emulator.playbook("site.yml", None, "--tags", "network")
    assert resumed.rc == 0, resumed.output[-4000:]
    vpcs = _deployment_vpcs(emulator)
    assert len(vpcs) == 1
    vpc_filter = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
    assert len(ec2.describe_subnets(Filters=vpc_filter)["Subnets"]) == 4
    nats = [n for n in ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] if n["State"] != "deleted"]
    assert len(nats) == 1
    assert len(ec2.describe_addresses()["Addresses"]) == 1
    assert len(ec2.describe_internet_gateways()["InternetGateways"]) == 1

    down = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM)
    assert down.rc == 0, down.output[-4000:]
