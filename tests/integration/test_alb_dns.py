# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops.eks.alb_dns run by ansible-playbook against a private emulated AWS and the Kubernetes API server kit: the
hub's Service reports the DNS name of an NLB (made here with boto3, tagged as the AWS Load Balancer Controller tags
it); the module writes the alias A record and the ownership TXT record, a re-run changes nothing and makes no mutating
call, a recreated load balancer moves the alias, absent removes only ours, a record on the domain that is not ours is
refused without force and taken with it, and records on other names are never touched.

The Service carries a load balancer class and a type annotation that the load-balancer-controller stand-in of
tests/emulation ignores, so this test makes its load balancers itself whether or not the stand-in is running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import harness

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KIT = REPO.parent / "shared" / "k8s"
REGION = "us-east-1"
DOMAIN = "hub.example.org"
OWNER_NAME = "hubops-owner.hub.example.org"
OWNER_TXT = '"heritage=hubops,hubops/owner=albtest,hubops/resource=service/hub/proxy-public"'
CONTROLLER_TAGS = {"elbv2.k8s.aws/cluster": "local", "service.k8s.aws/stack": "hub/proxy-public",
                   "service.k8s.aws/resource": "LoadBalancer"}

pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (BIN / "kubectl").exists(),
                                reason="needs the Kubernetes kit in ../shared/k8s and kubectl (make deps)")


SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: proxy-public
  namespace: hub
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: none-hubops-test
spec:
  type: LoadBalancer
  loadBalancerClass: hubops.test/none
  selector: {component: proxy}
  ports:
    - {name: http, port: 80, targetPort: 8000}
"""


def run_module(emulator, tmp_path: Path, args: dict, *extra: str, fails: bool = False) -> dict:
    return harness.run_module(emulator, tmp_path, "hubops.eks.alb_dns", args, *extra, fails=fails)


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], input=stdin, capture_output=True,
                          text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def report_hostname(kubeconfig: Path, hostname: str) -> None:
    """What the controller does once its load balancer exists: the DNS name into the Service's status."""
    status = {"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}}
    kubectl(kubeconfig, "-n", "hub", "patch", "service", "proxy-public", "--subresource=status", "--type=merge", "-p", json.dumps(status))


def mutating(emulator) -> list[str]:
    return emulator.stats()["mutating_actions"]


def name(value: str) -> str:
    return value.lower().rstrip(".")


class Zone:
    def __init__(self, route53, zone_id: str):
        self.route53 = route53
        self.id = zone_id

    def sets(self) -> list[dict]:
        pages = self.route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=self.id)
        return [r for page in pages for r in page["ResourceRecordSets"]]

    def at(self, record_name: str) -> dict:
        return {r["Type"]: r for r in self.sets() if name(r["Name"]) == record_name}

    def write(self, action: str, rrset: dict) -> None:
        self.route53.change_resource_record_sets(HostedZoneId=self.id, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrset}]})


def test_hub_dns_follows_the_load_balancer(emulator, tmp_path):
    kubeconfig = emulator.kubeconfig
    if kubeconfig is None:
        pytest.skip("the emulator has no Kubernetes kit")
    route53, ec2, elbv2 = emulator.client("route53"), emulator.client("ec2"), emulator.client("elbv2")

    zone = Zone(route53, route53.create_hosted_zone(Name="example.org", CallerReference="alb-dns-test")["HostedZone"]["Id"].split("/")[-1])
    www = {"Name": "www.example.org", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.80"}]}
    mx = {"Name": DOMAIN, "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mail.example.org"}]}
    zone.write("CREATE", www)
    zone.write("CREATE", mx)
    untouched = {"www": zone.at("www.example.org"), "mx": zone.at(DOMAIN)["MX"]}

    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.%d.0/24" % i, AvailabilityZone="%s%s" % (REGION, az))["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]

    def nlb(lb_name: str) -> dict:
        made = elbv2.create_load_balancer(Name=lb_name, Subnets=subnets, Type="network", Scheme="internet-facing",
                                          Tags=[{"Key": k, "Value": v} for k, v in CONTROLLER_TAGS.items()])["LoadBalancers"][0]
        return elbv2.describe_load_balancers(LoadBalancerArns=[made["LoadBalancerArn"]])["LoadBalancers"][0]

    lb = nlb("k8s-hub-proxypub-aaaa")
    kubectl(kubeconfig, "create", "namespace", "hub")
    kubectl(kubeconfig, "apply", "-f", "-", stdin=SERVICE)
    report_hostname(kubeconfig, lb["DNSName"])

    args = {"kubeconfig": str(kubeconfig), "namespace": "hub", "service": "proxy-public", "domain": DOMAIN, "zone": "example.org",
            "owner": "albtest", "wait_timeout": 60}

    def assert_alias_to(target: dict) -> None:
        records = zone.at(DOMAIN)
        alias = records["A"]["AliasTarget"]
        assert (alias["HostedZoneId"], name(alias["DNSName"]), alias["EvaluateTargetHealth"]) == (
            target["CanonicalHostedZoneId"], name(target["DNSName"]), True)
        assert "AAAA" not in records  # the NLB is ipv4 only
        (txt,) = zone.at(OWNER_NAME).values()
        assert txt["Type"] == "TXT" and txt["ResourceRecords"] == [{"Value": OWNER_TXT}]

    # --- created: alias A to the NLB (its canonical hosted zone), the ownership TXT ----------------------------------
    first = run_module(emulator, tmp_path, args)
    assert first["changed"] is True
    assert_alias_to(lb)
    assert (first["hostname"], first["load_balancer_arn"], first["load_balancer_name"], first["dns_name"]) == (
        lb["DNSName"], lb["LoadBalancerArn"], "k8s-hub-proxypub-aaaa", lb["DNSName"])
    assert first["canonical_hosted_zone_id"] == lb["CanonicalHostedZoneId"] and first["zone_id"] == zone.id
    assert [(r["name"], r["type"]) for r in first["records"]] == [(DOMAIN, "A"), (DOMAIN, "MX"), (OWNER_NAME, "TXT")]
    assert first["resolves"] is False and "%s does not resolve (yet)" % DOMAIN in first["resolves_msg"]
    assert "does not resolve either" in first["resolves_msg"]
    writes = mutating(emulator)
    assert len(writes) == 1 and writes[0].startswith("route53:POST") and writes[0].endswith("/rrset"), writes

    # --- re-run: nothing to do, nothing written; check mode agrees ---------------------------------------------------
    again = run_module(emulator, tmp_path, args)
    assert again["changed"] is False and again["actions"] == []
    assert mutating(emulator) == []
    checked = run_module(emulator, tmp_path, args, "--check", "--diff")
    assert checked["changed"] is False and mutating(emulator) == []

    # --- the Service is recreated, the controller makes a new NLB: the next run moves the alias -----------------------
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    moved_to = nlb("k8s-hub-proxypub-bbbb")
    assert moved_to["DNSName"] != lb["DNSName"]
    report_hostname(kubeconfig, moved_to["DNSName"])
    preview = run_module(emulator, tmp_path, args, "--check", "--diff")
    assert preview["changed"] is True and mutating(emulator) == []
    assert_alias_to(lb)  # check mode left the alias where it was
    moved = run_module(emulator, tmp_path, args)
    assert moved["changed"] is True and moved["load_balancer_name"] == "k8s-hub-proxypub-bbbb"
    assert moved["actions"] == ["UPSERT %s A alias -> %s (zone %s)" % (DOMAIN, name(moved_to["DNSName"]), moved_to["CanonicalHostedZoneId"])]
    assert_alias_to(moved_to)
    assert len(mutating(emulator)) == 1
    assert run_module(emulator, tmp_path, args)["changed"] is False and mutating(emulator) == []

    # --- absent: only our records go ---------------------------------------------------------------------------------
    absent_args = {"domain": DOMAIN, "zone": "example.org", "owner": "albtest", "state": "absent"}
    gone = run_module(emulator, tmp_path, absent_args)
    assert gone["changed"] is True
    assert zone.at(OWNER_NAME) == {} and sorted(zone.at(DOMAIN)) == ["MX"]
    assert run_module(emulator, tmp_path, absent_args)["changed"] is False and mutating(emulator) == []

    # --- a record on the domain that is not ours: refused without force, taken with it -------------------------------
    foreign = {"Name": DOMAIN, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "198.51.100.7"}]}
    zone.write("CREATE", foreign)
    refused = run_module(emulator, tmp_path, args, fails=True)
    assert refused["msg"].startswith("Refusing to change DNS: %s already has records albtest does not own: %s A 198.51.100.7; "
                                     "there is no ownership record %s (TXT). Nothing was changed." % (DOMAIN, DOMAIN, OWNER_NAME))
    assert "force: true" in refused["msg"]
    assert mutating(emulator) == []
    assert zone.at(DOMAIN)["A"]["ResourceRecords"] == [{"Value": "198.51.100.7"}]
    taken = run_module(emulator, tmp_path, dict(args, force=True))
    assert taken["changed"] is True
    assert_alias_to(moved_to)
    assert run_module(emulator, tmp_path, args)["changed"] is False  # ours now: no force needed

    # --- and absent again; nothing else in the zone was ever touched -------------------------------------------------
    assert run_module(emulator, tmp_path, absent_args)["changed"] is True
    assert zone.at(OWNER_NAME) == {} and sorted(zone.at(DOMAIN)) == ["MX"]
    assert zone.at("www.example.org") == untouched["www"] and zone.at(DOMAIN)["MX"] == untouched["mx"]
    assert sorted(r["Type"] for r in zone.sets()) == ["A", "MX", "NS", "SOA"]
