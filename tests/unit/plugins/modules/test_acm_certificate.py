# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""acm_certificate against an in-memory ACM and Route53 that behave like AWS where it matters (a DNS-validated
certificate is issued only once its validation CNAMEs are in the zone; ACM publishes the records a moment after the
request; Route53 changes are PENDING before INSYNC; a certificate a load balancer uses cannot be deleted; an idempotency
token names its first certificate for an hour, deleted or not), with a fake clock: request, validation and wait, reuse,
a given ARN, absent, the errors before any change, the timeout message, check mode and the no-op re-run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import itertools
from datetime import datetime, timedelta, timezone
from unittest import mock

import botocore.session
import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import acm_certificate as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

REGION = "us-east-1"
ACCOUNT = "123456789012"
ACM_MODEL = botocore.session.get_session().get_service_model("acm")
DOMAIN = "hub.example.org"
ARGS = {"deployment": "dandi", "domain_name": DOMAIN, "zone": "example.org", "tags": {"project": "dandi"},
        "region": REGION, "access_key": "testing", "secret_key": "testing"}
READ_PREFIXES = ("describe_", "list_", "get_")
OURS = {"hubops:deployment": "dandi", "hubops:managed-by": "hubops.eks", "project": "dandi"}


def error(code, message, operation):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


def record_for(name):
    base = name[2:] if name.startswith("*.") else name
    digest = hashlib.sha256(base.encode()).hexdigest()
    return {"Name": "_%s.%s." % (digest[:32], base), "Type": "CNAME", "Value": "_%s.abcdefghij.acm-validations.aws." % digest[32:]}


class Paginator(object):
    def __init__(self, answer):
        self.answer = answer

    def paginate(self, **kwargs):
        self.kwargs = kwargs
        return self

    def build_full_result(self):
        return self.answer(**self.kwargs)


class Clock(object):
    """time.monotonic / time.sleep of the module; `on_sleep` hooks let the world move on while it waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []
        self.on_sleep = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds
        for hook in list(self.on_sleep):
            hook(self.now)

    def waited(self):
        return sum(self.sleeps)


class FakeAWS(object):
    """One recorder for both clients, so a test sees every call in order."""

    def __init__(self):
        self.calls = []

    def record(self, method, kwargs):
        self.calls.append((method, copy.deepcopy(kwargs)))

    def writes(self):
        return [c for c in self.calls if not c[0].startswith(READ_PREFIXES)]


class FakeRoute53(object):
    def __init__(self, aws):
        self.aws = aws
        self.zones = {}
        self.ids = itertools.count(1)
        self.changes = {}
        self.polls_until_insync = 2

    def add_zone(self, name, private=False):
        zone_id = "/hostedzone/Z%04d" % next(self.ids)
        self.zones[zone_id] = {"Id": zone_id, "Name": name.rstrip(".") + ".", "Config": {"PrivateZone": private}, "records": {}}
        return zone_id

    def put(self, zone_id, name, value, ttl=300):
        self.zones[zone_id]["records"][(name, "CNAME")] = {"Name": name, "Type": "CNAME", "TTL": ttl, "ResourceRecords": [{"Value": value}]}

    def holds(self, record):
        for zone in self.zones.values():
            if zone["Config"]["PrivateZone"]:
                continue
            rrset = zone["records"].get((record["Name"], "CNAME"))
            if rrset and rrset["ResourceRecords"] == [{"Value": record["Value"]}]:
                return True
        return False

    def zone(self, zone_id):
        if zone_id not in self.zones:
            raise error("NoSuchHostedZone", "No hosted zone found with ID: %s" % zone_id, "GetHostedZone")
        return self.zones[zone_id]

    @staticmethod
    def public(zone):
        return dict((k, v) for k, v in zone.items() if k != "records")

    def list_hosted_zones_by_name(self, DNSName, MaxItems):
        self.aws.record("list_hosted_zones_by_name", {"DNSName": DNSName})
        wanted = DNSName.rstrip(".") + "."
        # AWS lists from DNSName on, in order, so other names follow; the module must match exactly.
        found = sorted((z for z in self.zones.values() if z["Name"] >= wanted), key=lambda z: z["Name"])
        return {"HostedZones": [self.public(z) for z in found], "IsTruncated": False}

    def get_hosted_zone(self, Id):
        self.aws.record("get_hosted_zone", {"Id": Id})
        zone_id = Id if Id.startswith("/hostedzone/") else "/hostedzone/" + Id
        return {"HostedZone": self.public(self.zone(zone_id))}

    def list_resource_record_sets(self, HostedZoneId, StartRecordName, StartRecordType, MaxItems):
        self.aws.record("list_resource_record_sets", {"HostedZoneId": HostedZoneId, "StartRecordName": StartRecordName})
        records = sorted(self.zone(HostedZoneId)["records"].values(), key=lambda r: (r["Name"], r["Type"]))
        later = [r for r in records if (r["Name"], r["Type"]) >= (StartRecordName, StartRecordType)]
        return {"ResourceRecordSets": copy.deepcopy(later[:int(MaxItems)]), "IsTruncated": len(later) > int(MaxItems)}

    def change_resource_record_sets(self, HostedZoneId, ChangeBatch):
        self.aws.record("change_resource_record_sets", {"HostedZoneId": HostedZoneId, "ChangeBatch": ChangeBatch})
        zone = self.zone(HostedZoneId)
        for change in ChangeBatch["Changes"]:
            rrset = change["ResourceRecordSet"]
            assert rrset["Name"].rstrip(".").endswith(zone["Name"].rstrip(".")), (rrset["Name"], zone["Name"])
            key = (rrset["Name"], rrset["Type"])
            if change["Action"] == "UPSERT":
                zone["records"][key] = copy.deepcopy(rrset)
            elif change["Action"] == "DELETE":
                if zone["records"].get(key) != rrset:
                    raise error("InvalidChangeBatch", "Tried to delete resource record set %s but it was not found" % rrset["Name"],
                                "ChangeResourceRecordSets")
                del zone["records"][key]
            else:
                raise AssertionError(change["Action"])
        change_id = "/change/C%04d" % next(self.ids)
        self.changes[change_id] = self.polls_until_insync
        return {"ChangeInfo": {"Id": change_id, "Status": "PENDING" if self.polls_until_insync else "INSYNC"}}

    def get_change(self, Id):
        self.aws.record("get_change", {"Id": Id})
        self.changes[Id] -= 1
        return {"ChangeInfo": {"Id": Id, "Status": "INSYNC" if self.changes[Id] <= 0 else "PENDING"}}


class FakeACM(object):
    def __init__(self, aws, route53):
        self.meta = mock.Mock(service_model=ACM_MODEL)
        self.aws = aws
        self.route53 = route53
        self.certs = {}
        self.tokens = {}
        self.ids = itertools.count(1)
        self.publish_after = 1  # DescribeCertificate calls that answer without the ResourceRecord
        self.issues = True  # False: DNS never answers (a zone that is not delegated)
        self.in_use = {}  # arn -> load balancer ARNs

    def get_paginator(self, operation):
        return Paginator(getattr(self, "_page_" + operation))

    def cert(self, arn, operation="DescribeCertificate"):
        if arn not in self.certs:
            raise error("ResourceNotFoundException", "Certificate with arn %s not found in account %s" % (arn, ACCOUNT), operation)
        return self.certs[arn]

    def add(self, names, status="PENDING_VALIDATION", tags=None, not_after_days=365, cert_type="AMAZON_ISSUED", method="DNS",
            fresh=False):
        arn = "arn:aws:acm:%s:%s:certificate/c%04d" % (REGION, ACCOUNT, next(self.ids))
        cert = {"CertificateArn": arn, "DomainName": names[0], "SubjectAlternativeNames": list(names), "Status": status,
                "Type": cert_type, "KeyAlgorithm": "RSA_2048", "InUseBy": [],
                "CreatedAt": datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=next(self.ids))}
        if cert_type != "IMPORTED":
            cert["DomainValidationOptions"] = [
                dict({"DomainName": n, "ValidationDomain": n, "ValidationMethod": method, "ValidationStatus": status},
                     **({"ResourceRecord": record_for(n)} if method == "DNS" else {})) for n in names]
        self.certs[arn] = {"cert": cert, "tags": dict(tags or {}), "described": 0 if fresh else self.publish_after,
                           "not_after_days": not_after_days}
        if status == "ISSUED":
            self.issue(self.certs[arn])
        return arn

    def issue(self, entry):
        cert = entry["cert"]
        cert["Status"] = "ISSUED"
        cert["NotAfter"] = datetime.now(timezone.utc) + timedelta(days=entry["not_after_days"])
        for option in cert.get("DomainValidationOptions") or []:
            option["ValidationStatus"] = "SUCCESS"

    # -- API ----------------------------------------------------------------------------------------------------------

    def request_certificate(self, **kwargs):
        self.aws.record("request_certificate", kwargs)
        assert kwargs["ValidationMethod"] == "DNS"
        token = kwargs.get("IdempotencyToken")
        assert token and len(token) <= 32 and token.isalnum()
        if token in self.tokens:
            return {"CertificateArn": self.tokens[token]}  # within the hour: the first certificate, even if deleted
        arn = self.add([kwargs["DomainName"]] + list(kwargs.get("SubjectAlternativeNames") or []),
                       tags=dict((t["Key"], t["Value"]) for t in kwargs.get("Tags") or []), fresh=True)
        self.tokens[token] = arn
        return {"CertificateArn": arn}

    def describe_certificate(self, CertificateArn):
        self.aws.record("describe_certificate", {"CertificateArn": CertificateArn})
        entry = self.cert(CertificateArn)
        cert = entry["cert"]
        if cert["Status"] == "PENDING_VALIDATION" and self.issues and entry["described"] >= self.publish_after:
            options = cert["DomainValidationOptions"]
            for option in options:
                if option["ValidationMethod"] == "DNS" and self.route53.holds(option["ResourceRecord"]):
                    option["ValidationStatus"] = "SUCCESS"
            if all(o["ValidationStatus"] == "SUCCESS" for o in options):
                self.issue(entry)
        answer = copy.deepcopy(cert)
        answer["InUseBy"] = list(self.in_use.get(CertificateArn, []))
        if entry["described"] < self.publish_after:
            for option in answer.get("DomainValidationOptions") or []:
                option.pop("ResourceRecord", None)
        entry["described"] += 1
        return {"Certificate": answer}

    def _page_list_certificates(self, Includes, CertificateStatuses=None):
        self.aws.record("list_certificates", {"CertificateStatuses": CertificateStatuses, "Includes": Includes})
        summaries = []
        for entry in self.certs.values():
            cert = entry["cert"]
            if CertificateStatuses and cert["Status"] not in CertificateStatuses:
                continue
            if cert["KeyAlgorithm"] not in Includes["keyTypes"]:
                continue
            summary = dict((k, cert[k]) for k in ("CertificateArn", "DomainName", "Status", "Type", "KeyAlgorithm", "NotAfter", "CreatedAt")
                           if k in cert)
            summary.update(SubjectAlternativeNameSummaries=list(cert["SubjectAlternativeNames"]), HasAdditionalSubjectAlternativeNames=False,
                           InUse=bool(self.in_use.get(cert["CertificateArn"])))
            summaries.append(summary)
        return {"CertificateSummaryList": summaries}

    def list_tags_for_certificate(self, CertificateArn):
        self.aws.record("list_tags_for_certificate", {"CertificateArn": CertificateArn})
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(self.cert(CertificateArn)["tags"].items())]}

    def add_tags_to_certificate(self, CertificateArn, Tags):
        self.aws.record("add_tags_to_certificate", {"CertificateArn": CertificateArn, "Tags": Tags})
        self.cert(CertificateArn)["tags"].update((t["Key"], t["Value"]) for t in Tags)

    def delete_certificate(self, CertificateArn):
        self.aws.record("delete_certificate", {"CertificateArn": CertificateArn})
        self.cert(CertificateArn, "DeleteCertificate")
        if self.in_use.get(CertificateArn):
            raise error("ResourceInUseException", "Certificate %s in account %s is in use." % (CertificateArn, ACCOUNT), "DeleteCertificate")
        del self.certs[CertificateArn]


class World(object):
    def __init__(self):
        self.aws = FakeAWS()
        self.route53 = FakeRoute53(self.aws)
        self.acm = FakeACM(self.aws, self.route53)
        self.clock = Clock()
        self.zone_id = self.route53.add_zone("example.org")

    def writes(self):
        return self.aws.writes()

    def only_cert(self):
        assert len(self.acm.certs) == 1, sorted(self.acm.certs)
        return list(self.acm.certs.values())[0]

    def zone_records(self, zone_id=None):
        return self.route53.zones[zone_id or self.zone_id]["records"]


@pytest.fixture
def world():
    fake = World()
    clients = {"acm": fake.acm, "route53": fake.route53}
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: clients[service]), \
            mock.patch.object(M, "time", fake.clock):
        yield fake


def run(world, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
    args = dict((k, v) for k, v in args.items() if v is not None)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    world.aws.calls = []
    world.clock.sleeps = []
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            M.main()
    return exc.value.result


def ok(world, **changes):
    result = run(world, **changes)
    assert not result.get("failed"), result
    return result


def failed(world, **changes):
    result = run(world, **changes)
    assert result.get("failed"), result
    return result


# --------------------------------------------------------------------------------------------------------------------
# request, validate, wait; the re-run


def test_request_writes_the_validation_record_and_waits_until_issued(world):
    result = ok(world)
    entry = world.only_cert()
    arn = entry["cert"]["CertificateArn"]
    record = record_for(DOMAIN)
    assert [c[0] for c in world.writes()] == ["request_certificate", "change_resource_record_sets"]
    assert world.writes()[0][1] == {
        "DomainName": DOMAIN, "ValidationMethod": "DNS", "IdempotencyToken": M.idempotency_token("dandi", [DOMAIN]),
        "Tags": [{"Key": "hubops:deployment", "Value": "dandi"}, {"Key": "hubops:managed-by", "Value": "hubops.eks"},
                 {"Key": "project", "Value": "dandi"}]}
    assert world.writes()[1][1]["HostedZoneId"] == world.zone_id
    assert world.writes()[1][1]["ChangeBatch"]["Changes"] == [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": 300,
                                                   "ResourceRecords": [{"Value": record["Value"]}]}}]
    # the record was published after a moment, the change was PENDING twice, then the certificate was issued
    assert [c[0] for c in world.aws.calls].count("get_change") == 2
    assert world.clock.sleeps and world.clock.waited() < 60
    assert entry["tags"] == OURS
    assert result["changed"] is True
    assert result["actions"] == ["request certificate for %s" % DOMAIN, "write validation record %s in zone example.org" % record["Name"]]
    assert result["certificate_arn"] == arn and result["status"] == "ISSUED" and result["requested"] is True
    assert result["domain_name"] == DOMAIN and result["subject_alternative_names"] == [DOMAIN]
    assert result["validation_records"] == [{"name": record["Name"], "type": "CNAME", "value": record["Value"]}]
    assert result["not_after"] == entry["cert"]["NotAfter"].isoformat()
    assert result["zone_id"] == world.zone_id


def test_second_run_is_unchanged_and_writes_nothing(world):
    first = ok(world)
    again = ok(world)
    assert again["changed"] is False and again["actions"] == []
    assert world.writes() == []
    assert world.clock.sleeps == []
    for key in ("certificate_arn", "status", "validation_records", "requested", "not_after", "zone_id"):
        assert again[key] == first[key]
    assert sorted(set(c[0] for c in world.aws.calls)) == ["describe_certificate", "list_certificates", "list_hosted_zones_by_name",
                                                          "list_resource_record_sets", "list_tags_for_certificate"]


def test_list_asks_for_every_key_type_and_only_usable_statuses(world):
    ok(world)
    ok(world)
    ((_method, listed),) = [c for c in world.aws.calls if c[0] == "list_certificates"]
    assert listed["CertificateStatuses"] == ["ISSUED", "PENDING_VALIDATION"]
    assert "EC_prime256v1" in listed["Includes"]["keyTypes"] and "RSA_2048" in listed["Includes"]["keyTypes"]


def test_alternative_names_wildcard_shares_the_apex_record(world):
    sans = ["*.hub.example.org", "API.example.org", DOMAIN]
    result = ok(world, subject_alternative_names=sans)
    request = world.writes()[0][1]
    assert request["DomainName"] == DOMAIN and request["SubjectAlternativeNames"] == ["*.hub.example.org", "api.example.org"]
    changes = world.writes()[1][1]["ChangeBatch"]["Changes"]
    assert sorted(c["ResourceRecordSet"]["Name"] for c in changes) == sorted([record_for(DOMAIN)["Name"], record_for("api.example.org")["Name"]])
    assert result["status"] == "ISSUED" and len(result["validation_records"]) == 2
    assert ok(world, subject_alternative_names=sans)["changed"] is False and world.writes() == []
    # another set of names is another certificate
    ok(world, subject_alternative_names=["api.example.org"])
    assert [c[0] for c in world.writes()] == ["request_certificate"]  # its records are in the zone already


def test_a_record_already_in_the_zone_is_not_written_again(world):
    record = record_for(DOMAIN)
    world.route53.put(world.zone_id, record["Name"], record["Value"])
    ok(world)
    assert [c[0] for c in world.writes()] == ["request_certificate"]


def test_a_wrong_value_under_the_record_name_is_replaced(world):
    record = record_for(DOMAIN)
    world.route53.put(world.zone_id, record["Name"], "_stale.acm-validations.aws.")
    result = ok(world)
    assert [c[0] for c in world.writes()] == ["request_certificate", "change_resource_record_sets"]
    assert world.zone_records()[(record["Name"], "CNAME")]["ResourceRecords"] == [{"Value": record["Value"]}]
    assert result["status"] == "ISSUED"


def test_wait_false_returns_after_writing_the_records(world):
    result = ok(world, wait=False)
    assert [c[0] for c in world.writes()] == ["request_certificate", "change_resource_record_sets"]
    assert "get_change" not in [c[0] for c in world.aws.calls]
    assert result["status"] == "PENDING_VALIDATION" and result["not_after"] is None
    assert ok(world)["status"] == "ISSUED" and world.writes() == []


def test_a_token_that_names_a_deleted_certificate_is_replaced_by_a_fresh_one(world):
    first = ok(world)
    del world.acm.certs[first["certificate_arn"]]  # deleted by hand within the token's hour
    again = ok(world)
    requests = [c[1] for c in world.writes() if c[0] == "request_certificate"]
    assert len(requests) == 2 and requests[1]["IdempotencyToken"] == M.idempotency_token("dandi", [DOMAIN], salt=first["certificate_arn"])
    assert again["certificate_arn"] != first["certificate_arn"] and again["status"] == "ISSUED"
    assert again["actions"] == ["request certificate for %s" % DOMAIN]  # the record is still in the zone


# --------------------------------------------------------------------------------------------------------------------
# reuse


def test_our_pending_certificate_is_reused_and_validated(world):
    arn = world.acm.add([DOMAIN], tags=OURS)
    result = ok(world)
    assert [c[0] for c in world.writes()] == ["change_resource_record_sets"]
    assert result["certificate_arn"] == arn and result["requested"] is True and result["status"] == "ISSUED"


def test_ours_wins_over_a_foreign_issued_one_and_missing_tags_are_added(world):
    world.acm.add([DOMAIN], status="ISSUED")
    arn = world.acm.add([DOMAIN], status="ISSUED", tags={"hubops:deployment": "dandi", "project": "old", "keep": "me"})
    result = ok(world)
    assert result["certificate_arn"] == arn and result["requested"] is True
    assert world.writes()[0] == ("add_tags_to_certificate", {"CertificateArn": arn, "Tags": [
        {"Key": "hubops:managed-by", "Value": "hubops.eks"}, {"Key": "project", "Value": "dandi"}]})
    assert world.acm.certs[arn]["tags"] == dict(OURS, keep="me")
    # its validation record was missing: put back (ACM renews through it)
    assert [c[0] for c in world.writes()] == ["add_tags_to_certificate", "change_resource_record_sets"]
    assert ok(world)["changed"] is False and world.writes() == []


def test_a_foreign_issued_certificate_is_used_as_it_is(world):
    arn = world.acm.add([DOMAIN], status="ISSUED")
    result = ok(world)
    assert result["changed"] is False and world.writes() == []
    assert result["certificate_arn"] == arn and result["requested"] is False and result["status"] == "ISSUED"
    assert world.acm.certs[arn]["tags"] == {}


def test_certificates_that_do_not_fit_are_not_reused(world):
    unfit = [
        world.acm.add([DOMAIN], status="ISSUED", not_after_days=20),  # expires within 30 days
        world.acm.add([DOMAIN], status="ISSUED", tags={"hubops:deployment": "other"}),  # another deployment's
        world.acm.add([DOMAIN]),  # someone else's, pending
        world.acm.add([DOMAIN, "www.example.org"], status="ISSUED"),  # other names
        world.acm.add([DOMAIN], status="ISSUED", cert_type="PRIVATE"),  # private CA
        world.acm.add([DOMAIN], status="FAILED", tags=OURS),  # ours, failed
    ]
    result = ok(world)
    assert result["certificate_arn"] not in unfit and result["requested"] is True
    assert [c[0] for c in world.writes()][0] == "request_certificate"


# --------------------------------------------------------------------------------------------------------------------
# a given certificate


def test_a_given_issued_certificate_is_only_checked(world):
    arn = world.acm.add(["*.example.org", "example.org"], status="ISSUED")
    result = ok(world, certificate_arn=arn, zone=None)
    assert result["changed"] is False and world.writes() == []
    assert result["certificate_arn"] == arn and result["requested"] is False and result["status"] == "ISSUED"
    assert [c[0] for c in world.aws.calls] == ["describe_certificate"]


def test_a_given_pending_certificate_is_validated_in_the_zone_and_waited_for(world):
    arn = world.acm.add([DOMAIN])
    result = ok(world, certificate_arn=arn)
    assert [c[0] for c in world.writes()] == ["change_resource_record_sets"]
    assert result["status"] == "ISSUED" and result["requested"] is False
    assert world.acm.certs[arn]["tags"] == {}


def test_given_certificate_errors(world):
    missing = "arn:aws:acm:%s:%s:certificate/nope" % (REGION, ACCOUNT)
    result = failed(world, certificate_arn=missing)
    assert "certificate_arn %s: no such certificate in %s" % (missing, REGION) in result["msg"]
    assert "hubops_hub.certificate_arn" in result["msg"]
    other = world.acm.add(["www.example.org"], status="ISSUED")
    assert "is for www.example.org, not %s (domain_name)" % DOMAIN in failed(world, certificate_arn=other)["msg"]
    dead = world.acm.add([DOMAIN], status="EXPIRED")
    world.acm.certs[dead]["cert"]["Status"] = "EXPIRED"
    assert "is EXPIRED; a load balancer cannot use it" in failed(world, certificate_arn=dead)["msg"]
    assert world.writes() == []


def test_absent_never_deletes_a_given_certificate(world):
    arn = world.acm.add([DOMAIN], status="ISSUED", tags=OURS)
    result = ok(world, state="absent", certificate_arn=arn)
    assert result["changed"] is False and result["deleted"] == [] and arn in world.acm.certs
    assert ok(world, state="absent", certificate_arn=arn, domain_name=None, zone=None)["deleted"] == []


# --------------------------------------------------------------------------------------------------------------------
# errors before any change


@pytest.mark.parametrize("changes, expected", [
    ({"zone": "nope.org"}, "zone nope.org: no Route53 hosted zone of that name in this account"),
    ({"zone": None, "zone_id": "Z9999"}, "zone_id Z9999: no such Route53 hosted zone in this account"),
    ({"zone": None}, "zone (hubops_hub.route53_zone) or zone_id is required to request a certificate for %s" % DOMAIN),
    ({"domain_name": "hub.other.org"}, "domain_name / subject_alternative_names: hub.other.org is not inside zone example.org"),
    ({"subject_alternative_names": ["www.example.org", "x.example.net", "*.example.com"]},
     "x.example.net, *.example.com are not inside zone example.org"),
])
def test_bad_zone_or_names_fail_before_any_change(world, changes, expected):
    result = failed(world, **changes)
    assert expected in result["msg"]
    assert world.writes() == [] and world.acm.certs == {}


def test_a_private_or_ambiguous_zone_is_refused(world):
    world.route53.zones.clear()
    world.route53.add_zone("example.org", private=True)
    assert "zone example.org is only a private hosted zone" in failed(world)["msg"]
    world.route53.add_zone("example.org")
    world.route53.add_zone("example.org")
    assert "2 public hosted zones have that name" in failed(world)["msg"]
    assert world.writes() == []


def test_zone_by_id(world):
    result = ok(world, zone=None, zone_id=world.zone_id.split("/")[-1])
    assert result["status"] == "ISSUED" and result["zone_id"] == world.zone_id


# --------------------------------------------------------------------------------------------------------------------
# waiting and its limits


def test_timeout_names_the_status_the_records_and_the_fix(world):
    world.acm.issues = False  # the zone is not the delegated one: ACM never sees the record
    result = failed(world, wait_timeout=60)
    record = record_for(DOMAIN)
    assert world.clock.waited() <= 60
    msg = result["msg"]
    assert "is still PENDING_VALIDATION after 60 s (wait_timeout)" in msg
    assert "%s CNAME %s (%s: PENDING_VALIDATION, in zone example.org)" % (record["Name"], record["Value"], DOMAIN) in msg
    assert "dig NS example.org" in msg and "run again" in msg
    assert result["actions"] == ["request certificate for %s" % DOMAIN, "write validation record %s in zone example.org" % record["Name"]]
    # the next run picks the same certificate up and writes nothing
    world.acm.issues = True
    again = ok(world)
    assert again["status"] == "ISSUED" and world.writes() == [] and len(world.acm.certs) == 1


def test_records_never_published_is_a_clear_failure(world):
    world.acm.publish_after = 10 ** 6
    msg = failed(world)["msg"]
    assert "ACM has not published the DNS validation records of" in msg and "after 120 s" in msg
    assert world.clock.waited() <= 120


def test_a_failed_certificate_stops_the_wait_at_once(world):
    def fail_it(_now):
        for entry in world.acm.certs.values():
            entry["cert"]["Status"] = "FAILED"
            entry["cert"]["FailureReason"] = "CAA_ERROR"

    world.acm.issues = False
    world.clock.on_sleep.append(fail_it)
    msg = failed(world)["msg"]
    assert "is FAILED (CAA_ERROR); a load balancer cannot use it" in msg and "state=absent" in msg
    assert world.clock.waited() < 60


# --------------------------------------------------------------------------------------------------------------------
# check mode and diff


def test_check_mode_reports_the_request_and_writes_nothing(world):
    result = run(world, check_mode=True, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is True and world.writes() == []
    assert result["actions"] == ["request certificate for %s" % DOMAIN, "write the validation records of %s in zone example.org" % DOMAIN]
    assert result["certificate_arn"] == M.PLACEHOLDER and result["status"] is None and result["validation_records"] == []
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["tags"] == OURS and result["diff"]["after"]["domain_name"] == DOMAIN


def test_check_mode_on_a_pending_certificate_reports_the_record(world):
    arn = world.acm.add([DOMAIN], tags=OURS)
    result = run(world, check_mode=True, diff=True)
    assert result["changed"] is True and world.writes() == []
    assert result["actions"] == ["write validation record %s in zone example.org" % record_for(DOMAIN)["Name"]]
    assert result["certificate_arn"] == arn and result["status"] == "PENDING_VALIDATION"
    assert result["diff"]["before"]["status"] == "PENDING_VALIDATION" and result["diff"]["after"]["status"] == "ISSUED"
    assert world.clock.waited() < 10  # only the short wait for ACM to publish the record; never for ISSUED


def test_check_mode_absent(world):
    ok(world)
    result = run(world, check_mode=True, state="absent")
    assert result["changed"] is True and world.writes() == [] and len(world.acm.certs) == 1
    assert [a.split(" ")[0] for a in result["actions"]] == ["delete", "delete"]


# --------------------------------------------------------------------------------------------------------------------
# absent


def test_absent_deletes_our_certificate_and_its_record(world):
    arn = ok(world)["certificate_arn"]
    result = ok(world, state="absent")
    record = record_for(DOMAIN)
    assert result["changed"] is True and result["deleted"] == [arn]
    assert result["actions"] == ["delete certificate %s (%s)" % (arn, DOMAIN),
                                 "delete validation record %s from zone example.org" % record["Name"]]
    assert [c[0] for c in world.writes()] == ["delete_certificate", "change_resource_record_sets"]
    assert world.writes()[1][1]["ChangeBatch"]["Changes"] == [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["Value"]}]}}]
    assert world.acm.certs == {} and world.zone_records() == {}
    again = ok(world, state="absent")
    assert again["changed"] is False and world.writes() == []


def test_absent_deletes_only_ours_and_keeps_records_others_still_use(world):
    ours = ok(world)["certificate_arn"]
    stale_ours = world.acm.add([DOMAIN, "www.example.org"], status="VALIDATION_TIMED_OUT", tags=OURS)
    foreign = world.acm.add([DOMAIN], status="ISSUED")
    other_deployment = world.acm.add([DOMAIN], status="ISSUED", tags={"hubops:deployment": "other"})
    other_domain = world.acm.add(["api.example.org"], status="ISSUED", tags=OURS)
    for name in ("www.example.org",):
        world.route53.put(world.zone_id, record_for(name)["Name"], record_for(name)["Value"])
    result = ok(world, state="absent")
    assert sorted(result["deleted"]) == sorted([ours, stale_ours])
    assert sorted(world.acm.certs) == sorted([foreign, other_deployment, other_domain])
    # hub's record is still used by the foreign and the other deployment's certificates; www's by nobody
    assert sorted(n for n, _t in world.zone_records()) == [record_for(DOMAIN)["Name"]]
    assert result["actions"][-1] == "delete validation record %s from zone example.org" % record_for("www.example.org")["Name"]


def test_absent_waits_for_the_load_balancer_to_let_go(world):
    arn = ok(world)["certificate_arn"]
    balancer = "arn:aws:elasticloadbalancing:%s:%s:loadbalancer/net/hub/0123" % (REGION, ACCOUNT)
    world.acm.in_use[arn] = [balancer]
    start = world.clock.now

    def balancer_gone(now):
        if now - start >= 30:
            world.acm.in_use.pop(arn, None)

    world.clock.on_sleep.append(balancer_gone)
    result = ok(world, state="absent")
    assert result["deleted"] == [arn] and world.acm.certs == {}
    assert [c[0] for c in world.writes()].count("delete_certificate") >= 3
    assert world.clock.sleeps[:3] == [5, 10, 20]


def test_absent_in_use_too_long_fails_naming_the_load_balancer(world):
    arn = ok(world)["certificate_arn"]
    balancer = "arn:aws:elasticloadbalancing:%s:%s:loadbalancer/net/hub/0123" % (REGION, ACCOUNT)
    world.acm.in_use[arn] = [balancer]
    result = failed(world, state="absent", wait_timeout=100)
    assert "is still in use by %s after 100 s (wait_timeout)" % balancer in result["msg"]
    assert "Delete the hub's load balancer first" in result["msg"]
    assert world.clock.waited() <= 100 and arn in world.acm.certs
    assert world.zone_records() != {}  # the record goes only with the certificate


def test_absent_without_the_zone_deletes_the_certificate_and_warns(world):
    ok(world)
    world.route53.zones.clear()
    result = ok(world, state="absent")
    assert [c[0] for c in world.writes()] == ["delete_certificate"]
    assert result["changed"] is True and world.acm.certs == {}


def test_absent_removes_the_records_of_what_went_even_when_another_certificate_stays(world):
    kept = ok(world)["certificate_arn"]
    went = world.acm.add([DOMAIN, "www.example.org"], status="ISSUED", tags=OURS)
    www = record_for("www.example.org")
    world.route53.put(world.zone_id, www["Name"], www["Value"])
    balancer = "arn:aws:elasticloadbalancing:%s:%s:loadbalancer/net/hub/0123" % (REGION, ACCOUNT)
    world.acm.in_use[kept] = [balancer]
    result = failed(world, state="absent", wait_timeout=10)
    assert "Certificate %s (%s) is still in use by %s" % (kept, DOMAIN, balancer) in result["msg"]
    assert sorted(world.acm.certs) == [kept] and went not in world.acm.certs
    # www's record went with its certificate; hub's stays for the certificate that is still there
    assert sorted(n for n, _t in world.zone_records()) == [record_for(DOMAIN)["Name"]]
    assert result["actions"][-1] == "delete validation record %s from zone example.org" % www["Name"]
