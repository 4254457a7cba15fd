# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops.eks.acm_certificate run by ansible-playbook against a private emulated AWS (moto with patch #10: a
DNS-validated certificate is issued only once its validation CNAME is in the Route53 zone): the hub's certificate is
requested, validated in the zone and ISSUED, tagged; a re-run changes nothing and writes nothing; check mode writes
nothing; absent deletes the certificate and its record; a foreign untagged certificate is used but never deleted; a
certificate a load balancer uses is not deleted until the load balancer is gone; a bad zone fails before any write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness

DOMAIN = "hub.example.org"


ARGS = {"deployment": "acmtest", "domain_name": DOMAIN, "zone": "example.org", "tags": {"project": "acmtest"}, "wait_timeout": 60}


def run_module(emulator, tmp_path: Path, args: dict, *extra: str, fails: bool = False) -> dict:
    return harness.run_module(emulator, tmp_path, "hubops.eks.acm_certificate", args, *extra, fails=fails)


def with_(**changes) -> dict:
    args = json.loads(json.dumps(ARGS))
    args.update(changes)
    return args


def mutating(emulator) -> list[str]:
    return emulator.stats()["mutating_actions"]


def zone_with_example_org(emulator) -> str:
    return emulator.client("route53").create_hosted_zone(Name="example.org", CallerReference="acm-test")["HostedZone"]["Id"]


def cnames(emulator, zone_id: str) -> dict:
    found = emulator.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Name"]: [v["Value"] for v in r["ResourceRecords"]] for r in found if r["Type"] == "CNAME"}


def certificates(acm) -> list[str]:
    listed = acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]})["CertificateSummaryList"]
    return sorted(c["CertificateArn"] for c in listed)


def test_certificate_lifecycle(emulator, tmp_path):
    zone_id = zone_with_example_org(emulator)
    acm = emulator.client("acm")

    # --- requested, validated in the zone, issued, tagged -----------------------------------------------------------
    first = run_module(emulator, tmp_path, ARGS)
    assert first["changed"] is True and first["status"] == "ISSUED" and first["requested"] is True
    arn = first["certificate_arn"]
    assert certificates(acm) == [arn]
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert cert["Status"] == "ISSUED" and cert["DomainName"] == DOMAIN and cert["SubjectAlternativeNames"] == [DOMAIN]
    (option,) = cert["DomainValidationOptions"]
    assert option["ValidationMethod"] == "DNS" and option["ValidationStatus"] == "SUCCESS"
    record = option["ResourceRecord"]
    assert cnames(emulator, zone_id) == {record["Name"]: [record["Value"]]}
    assert first["validation_records"] == [{"name": record["Name"], "type": "CNAME", "value": record["Value"]}]
    tags = {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]}
    assert tags == {"hubops:deployment": "acmtest", "hubops:managed-by": "hubops.eks", "project": "acmtest"}
    assert first["not_after"] and first["zone_id"] == zone_id
    stats = emulator.stats()
    assert stats["calls"]["acm"]["RequestCertificate"] == 1
    assert stats["mutating"] == 2, mutating(emulator)  # the request and one Route53 change batch

    # --- a second identical run: nothing changes, nothing is written --------------------------------------------------
    again = run_module(emulator, tmp_path, ARGS)
    assert again["changed"] is False and again["actions"] == []
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert again["certificate_arn"] == arn and again["status"] == "ISSUED" and again["requested"] is True

    # --- check mode: another name would be another certificate; reported, not made -----------------------------------
    preview = run_module(emulator, tmp_path, with_(subject_alternative_names=["www.example.org"]), "--check", "--diff")
    assert preview["changed"] is True and preview["certificate_arn"] == "check-mode-placeholder"
    assert preview["actions"][0] == "request certificate for %s (also www.example.org)" % DOMAIN
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert certificates(acm) == [arn]

    # --- absent: the certificate, then its record; a second absent changes nothing ------------------------------------
    gone = run_module(emulator, tmp_path, with_(state="absent"))
    assert gone["changed"] is True and gone["deleted"] == [arn]
    assert certificates(acm) == [] and cnames(emulator, zone_id) == {}
    assert sorted(mutating(emulator)) == sorted(["acm:DeleteCertificate", "route53:POST /{id}/hostedzone/{id}/rrset"]), mutating(emulator)
    still_gone = run_module(emulator, tmp_path, with_(state="absent"))
    assert still_gone["changed"] is False and emulator.stats()["mutating"] == 0, mutating(emulator)

    # --- present again within the idempotency token's hour: a new certificate, not the deleted one --------------------
    back = run_module(emulator, tmp_path, ARGS)
    assert back["status"] == "ISSUED" and back["certificate_arn"] != arn
    assert certificates(acm) == [back["certificate_arn"]] and cnames(emulator, zone_id) == {record["Name"]: [record["Value"]]}


def test_a_foreign_certificate_is_used_but_never_deleted(emulator, tmp_path):
    zone_id = zone_with_example_org(emulator)
    acm = emulator.client("acm")
    route53 = emulator.client("route53")
    foreign = acm.request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    options = acm.describe_certificate(CertificateArn=foreign)["Certificate"]["DomainValidationOptions"]
    while "ResourceRecord" not in options[0]:  # ACM publishes it after a moment
        options = acm.describe_certificate(CertificateArn=foreign)["Certificate"]["DomainValidationOptions"]
    record = options[0]["ResourceRecord"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["Value"]}]}}]})
    assert acm.describe_certificate(CertificateArn=foreign)["Certificate"]["Status"] == "ISSUED"

    used = run_module(emulator, tmp_path, ARGS)
    assert used["changed"] is False and used["certificate_arn"] == foreign and used["requested"] is False
    assert used["status"] == "ISSUED"
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert acm.list_tags_for_certificate(CertificateArn=foreign)["Tags"] == []

    kept = run_module(emulator, tmp_path, with_(state="absent"))
    assert kept["changed"] is False and kept["deleted"] == []
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert certificates(acm) == [foreign] and cnames(emulator, zone_id) == {record["Name"]: [record["Value"]]}


def test_a_certificate_in_use_is_deleted_once_the_load_balancer_is_gone(emulator, tmp_path):
    zone_id = zone_with_example_org(emulator)
    arn = run_module(emulator, tmp_path, ARGS)["certificate_arn"]
    ec2, elbv2 = emulator.client("ec2"), emulator.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.%d.0/24" % i, AvailabilityZone="us-east-1" + z)["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    balancer = elbv2.create_load_balancer(Name="hub", Subnets=subnets, Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(Name="hub", Protocol="TCP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=balancer, Protocol="TLS", Port=443, Certificates=[{"CertificateArn": arn}],
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])

    refused = run_module(emulator, tmp_path, with_(state="absent", wait_timeout=3), fails=True)
    assert "is still in use by %s after 3 s (wait_timeout)" % balancer in refused["msg"]
    assert certificates(emulator.client("acm")) == [arn] and cnames(emulator, zone_id) != {}

    elbv2.delete_load_balancer(LoadBalancerArn=balancer)
    gone = run_module(emulator, tmp_path, with_(state="absent", wait_timeout=3))
    assert gone["deleted"] == [arn] and certificates(emulator.client("acm")) == [] and cnames(emulator, zone_id) == {}


@pytest.mark.parametrize("changes, expected", [
    ({"zone": "missing.org"}, "zone missing.org: no Route53 hosted zone of that name in this account"),
    ({"domain_name": "hub.example.net"}, "hub.example.net is not inside zone example.org"),
])
def test_a_bad_zone_fails_before_any_write(emulator, tmp_path, changes, expected):
    zone_with_example_org(emulator)
    failed = run_module(emulator, tmp_path, with_(**changes), fails=True)
    assert expected in failed["msg"]
    assert emulator.stats()["mutating"] == 0, mutating(emulator)
    assert certificates(emulator.client("acm")) == []
