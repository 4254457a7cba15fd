#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: acm_certificate
short_description: The hub's public TLS certificate from ACM, validated through DNS in its Route53 zone
version_added: 0.1.0
description:
  - Gives the hub's load balancer an ISSUED AWS Certificate Manager certificate for O(domain_name) (plus
    O(subject_alternative_names)) - an existing one when there is a fitting one, else a new one that it requests,
    validates through DNS by writing ACM's validation CNAME records into the Route53 hosted zone O(zone) (or O(zone_id)),
    and waits for.
  - An existing certificate fits when its names are exactly O(domain_name) plus O(subject_alternative_names) and it is
    ISSUED or PENDING_VALIDATION. The deployment's own (tagged C(hubops:deployment=<deployment>)) is preferred, ISSUED
    before pending; else an untagged ISSUED certificate (issued by Amazon or imported) that is valid for more than 30
    more days is used as it is. Certificates of another hubops deployment are never used (they go with their
    deployment's teardown), nor private-CA ones (browsers do not trust them).
  - A new certificate is requested with DNS validation, an idempotency token derived from O(deployment) and the names
    (a retried run within the hour gets the same certificate) and the tags C(hubops:deployment), C(hubops:managed-by)
    and O(tags). Missing or changed tags are added to the deployment's own certificate on later runs; other keys are
    left as they are.
  - Validation records are written (UPSERT, TTL 300) only when the zone does not already hold exactly that record, so a
    re-run makes no write call. ACM uses one record per name and account, shared by every certificate of that name;
    it also renews the certificate through it, so the record stays for as long as the certificate does.
  - With O(certificate_arn) that certificate is used as it is - checked, never tagged, never deleted. When it is
    pending DNS validation and a zone is given, its validation records are written too; then it is waited for.
  - O(state=absent) deletes the certificates for O(domain_name) that carry this deployment's tag (never O(certificate_arn),
    never untagged or other deployments' ones), then their validation records, except those another remaining
    certificate still uses. A certificate a load balancer still uses cannot be deleted; the deletion is retried with
    backoff for up to O(wait_timeout) seconds (teardown deletes the hub's load balancer first); then the module removes the
    records of the certificates that did go and fails, naming the load balancers.
  - Exists because community.aws.acm_certificate only imports certificates.
  - Cost - public ACM certificates are free; the Route53 records are billed with the zone's queries.
author:
  - hubops.eks contributors (@hubops)
options:
  domain_name:
    description:
      - The host name the certificate is for, for example C(hub.example.org) (C(hubops_hub.domain)); C(*.example.org)
        for a wildcard.
      - Required unless O(certificate_arn) is given. With O(certificate_arn), when given, the certificate must cover it.
    type: str
  subject_alternative_names:
    description: More names on the same certificate; each must be inside the zone too.
    type: list
    elements: str
    default: []
  zone:
    description:
      - Name of the public Route53 hosted zone that holds O(domain_name) and receives the validation records, for
        example C(example.org) (C(hubops_hub.route53_zone)).
      - One of O(zone) and O(zone_id) is required unless O(certificate_arn) is given. A zone that is missing, private,
        or does not hold every name is an error before any change.
    type: str
  zone_id:
    description: Id of that hosted zone instead of its name (needed when several public zones have the name).
    type: str
  certificate_arn:
    description:
      - Use this existing certificate (C(hubops_hub.certificate_arn)); it must be in the module's region and ISSUED, or
        PENDING_VALIDATION and then be issued within O(wait_timeout). It is never changed or deleted.
    type: str
  deployment:
    description: The deployment (C(hubops_deployment)); tags the certificates it requests and selects what absent deletes.
    type: str
    required: true
  tags:
    description: Extra tags of the certificates this module requests (C(hubops_tags)).
    type: dict
    default: {}
  wait:
    description:
      - Wait until the certificate is ISSUED (and the validation records are in sync). When false the module returns
        after writing the records, with the current status. It always waits (up to O(wait_timeout)) for ACM to publish
        the validation records of a new certificate, since it has to write them.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, in all, for the validation records, the Route53 change, the certificate (O(state=present)) or
        for load balancers to let go of it (O(state=absent)). On timeout the module fails with the status and the
        validation records; the next run picks the same certificate up.
    type: int
    default: 600
  state:
    description: C(present) ensures an issued certificate; C(absent) deletes the deployment's own ones (see above).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports C(--check) (no write call; a certificate that would be requested is reported with a placeholder ARN and no
    validation records, since ACM makes those) and C(--diff).
  - ACM validates through public DNS. The zone must be the one the parent domain delegates to (its NS records at the
    registrar); otherwise the certificate stays PENDING_VALIDATION and the module times out saying so.
  - ACM certificates are regional; the hub's load balancer needs one in its own region (the module's region).
"""

EXAMPLES = r"""
- name: The hub's certificate, validated in the example.org zone
  hubops.eks.acm_certificate:
    deployment: dandi
    domain_name: hub.example.org
    zone: example.org
    tags: {project: dandi}
  register: hub_certificate

- name: An existing certificate, checked and used as it is
  hubops.eks.acm_certificate:
    deployment: dandi
    domain_name: hub.example.org
    certificate_arn: arn:aws:acm:us-east-2:123456789012:certificate/0b3c7a5e-1111-2222-3333-444455556666

- name: Teardown - the deployment's own certificates for the name, and their validation records
  hubops.eks.acm_certificate:
    deployment: dandi
    domain_name: hub.example.org
    zone: example.org
    state: absent
"""

RETURN = r"""
certificate_arn:
  description: ARN of the certificate (a placeholder in check mode when one would be requested).
  returned: when state=present
  type: str
  sample: arn:aws:acm:us-east-2:123456789012:certificate/0b3c7a5e-1111-2222-3333-444455556666
status:
  description: Its ACM status, ISSUED unless O(wait=false) or check mode; null in check mode when it would be requested.
  returned: when state=present
  type: str
  sample: ISSUED
domain_name:
  description: Its primary name.
  returned: when state=present
  type: str
  sample: hub.example.org
subject_alternative_names:
  description: All its names, the primary one first (as ACM lists them).
  returned: when state=present
  type: list
  elements: str
  sample: [hub.example.org]
validation_records:
  description: The DNS validation records ACM asks for (one per name, shared by a wildcard and its apex).
  returned: when state=present
  type: list
  elements: dict
  contains:
    name:
      description: Record name.
      type: str
      sample: _3f1a9c0e4b7d2a6c8e5f1b0d9a7c3e2f.hub.example.org.
    type:
      description: Record type.
      type: str
      sample: CNAME
    value:
      description: Record value.
      type: str
      sample: _7c2e9f4a1b3d5c6e8f0a2b4c6d8e0f1a.mhbtsbpdnt.acm-validations.aws.
requested:
  description:
    - True when the certificate is the deployment's own (requested by this module, tagged C(hubops:deployment)), which
      O(state=absent) deletes; false for an existing untagged certificate or O(certificate_arn), which are only used.
  returned: when state=present
  type: bool
not_after:
  description: End of its validity (ISO 8601); null until it is issued. ACM renews its own certificates before that.
  returned: when state=present
  type: str
  sample: "2027-12-01T23:59:59+00:00"
zone_id:
  description: Id of the hosted zone of the validation records, when a zone was given.
  returned: when a zone was given
  type: str
  sample: /hostedzone/Z0123456789ABCDEFGHIJ
deleted:
  description: ARNs of the certificates deleted (in check mode, that would be).
  returned: when state=absent
  type: list
  elements: str
actions:
  description: The changes made (in check mode, that would be made).
  returned: always
  type: list
  elements: str
  sample: ["request certificate for hub.example.org", "write validation record _3f1a.hub.example.org. in zone example.org."]
"""

import hashlib
import time
from datetime import datetime, timedelta, timezone

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_DEPLOYMENT, deployment_tags

PLACEHOLDER = "check-mode-placeholder"
USABLE = ("ISSUED", "PENDING_VALIDATION")
DEAD = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
RENEWAL_MARGIN = timedelta(days=30)
RECORD_TTL = 300
RECORD_WAIT = 120  # seconds ACM may take to publish the validation records of a new certificate
DELAYS = (1, 2, 3, 5, 8, 10, 15)  # seconds between polls; the last repeats
IN_USE_DELAYS = (5, 10, 20, 30)


def normal(name):
    return (name or "").strip().rstrip(".").lower()


def base_name(name):
    """A wildcard is validated with its apex's record."""
    name = normal(name)
    return name[2:] if name.startswith("*.") else name


def inside(name, zone):
    name, zone = base_name(name), normal(zone)
    return name == zone or name.endswith("." + zone)


def covers(names, host):
    """Does a certificate with these names serve host (exact, or a wildcard one label deep)?"""
    host = normal(host)
    parent = host.split(".", 1)[1] if "." in host else None
    for name in (normal(n) for n in names):
        if name == host or (name.startswith("*.") and parent is not None and name[2:] == parent):
            return True
    return False


def wanted_names(domain_name, sans):
    names = [normal(domain_name)]
    for name in sans or []:
        if normal(name) and normal(name) not in names:
            names.append(normal(name))
    return names


def cert_names(cert):
    return set(normal(n) for n in (cert.get("SubjectAlternativeNames") or []) + [cert.get("DomainName")] if n)


def idempotency_token(deployment, names, salt=""):
    """ACM's token: 1-32 word characters. Same deployment and names, same token (within ACM's hour, same certificate)."""
    seed = "|".join([deployment] + sorted(names) + [salt])
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def dns_validated(cert):
    return all(o.get("ValidationMethod", "DNS") == "DNS" for o in cert.get("DomainValidationOptions") or [])


def records_published(cert):
    options = cert.get("DomainValidationOptions") or []
    return bool(options) and all(o.get("ResourceRecord") for o in options)


def validation_records(cert):
    """The distinct validation records of a certificate, each with the names it validates and their status."""
    records = []
    for option in cert.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if not record:
            continue
        for known in records:
            if normal(known["name"]) == normal(record["Name"]) and normal(known["value"]) == normal(record["Value"]):
                known["domains"].append(option.get("DomainName"))
                break
        else:
            records.append({"name": record["Name"], "type": record.get("Type", "CNAME"), "value": record["Value"],
                            "domains": [option.get("DomainName")], "status": option.get("ValidationStatus")})
    return records


def public_record(record):
    return {"name": record["name"], "type": record["type"], "value": record["value"]}


def _iso(value):
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _now():
    return datetime.now(timezone.utc)


def _code(exc):
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")


class Certificates(object):
    def __init__(self, module, acm, route53):
        self.module = module
        self.acm = acm
        self.route53 = route53
        self.params = module.params
        self.actions = []
        self.before = None
        self.after = None
        self.deadline = time.monotonic() + max(0, self.params["wait_timeout"])
        self._tags = {}

    # ---- plumbing -------------------------------------------------------------------------------------------------

    def act(self, what, client, method, **kwargs):
        """Record a change and, outside check mode, make it."""
        self.actions.append(what)
        if self.module.check_mode:
            return {}
        return getattr(client, method)(**kwargs)

    def sleep(self, delays, attempt, until):
        """Sleep the attempt-th delay (never past `until`); False when `until` has passed."""
        left = until - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delays[min(attempt, len(delays) - 1)], left))
        return True

    def fail(self, msg):
        self.module.fail_json(msg=msg, actions=self.actions)

    # ---- reads ----------------------------------------------------------------------------------------------------

    def key_types(self):
        # Without Includes.keyTypes, ListCertificates answers only RSA_2048 certificates.
        return list(self.acm.meta.service_model.shape_for("KeyAlgorithm").enum)

    def list_certificates(self, statuses=None):
        kwargs = {"Includes": {"keyTypes": self.key_types()}}
        if statuses:
            kwargs["CertificateStatuses"] = list(statuses)
        return self.acm.get_paginator("list_certificates").paginate(**kwargs).build_full_result().get("CertificateSummaryList") or []

    def describe(self, arn):
        try:
            return self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        except botocore.exceptions.ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise

    def tags_of(self, arn):
        if arn in self._tags:
            return dict(self._tags[arn])
        try:
            tags = self.acm.list_tags_for_certificate(CertificateArn=arn).get("Tags") or []
        except botocore.exceptions.ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return {}
            raise
        self._tags[arn] = dict((t["Key"], t.get("Value", "")) for t in tags)
        return dict(self._tags[arn])

    def find_zone(self, required):
        """The public hosted zone named by zone / zone_id, or None when neither is given. Fails (before any change) when it is
        missing or private, unless not required (absent), where a missing zone just means no records to remove."""
        params = self.params
        if params["zone_id"]:
            zone_id = params["zone_id"]
            try:
                zone = self.route53.get_hosted_zone(Id=zone_id)["HostedZone"]
            except botocore.exceptions.ClientError as exc:
                if _code(exc) not in ("NoSuchHostedZone", "InvalidInput"):
                    raise
                if not required:
                    self.module.warn("zone_id %s: no such Route53 hosted zone; no validation records to remove." % zone_id)
                    return None
                self.fail("zone_id %s: no such Route53 hosted zone in this account. Give the id of the public zone that holds %s "
                          "(aws route53 list-hosted-zones), or its name as zone (hubops_hub.route53_zone)."
                          % (zone_id, params["domain_name"] or "the certificate's names"))
            if (zone.get("Config") or {}).get("PrivateZone"):
                self.fail("zone_id %s (%s) is a private hosted zone; ACM validates through public DNS. Give the public zone "
                          "that holds %s." % (zone_id, zone.get("Name"), params["domain_name"]))
            return zone
        if not params["zone"]:
            return None
        name = normal(params["zone"])
        answer = self.route53.list_hosted_zones_by_name(DNSName=name, MaxItems="100")
        matches = [z for z in answer.get("HostedZones") or [] if normal(z.get("Name")) == name]
        public = [z for z in matches if not (z.get("Config") or {}).get("PrivateZone")]
        if len(public) > 1:
            self.fail("zone %s: %d public hosted zones have that name (%s). Set zone_id to the one the parent domain delegates "
                      "to (its NS records at the registrar)." % (name, len(public), ", ".join(sorted(z["Id"] for z in public))))
        if public:
            return public[0]
        if not required:
            self.module.warn("zone %s: no public Route53 hosted zone of that name; no validation records to remove." % name)
            return None
        if matches:
            self.fail("zone %s is only a private hosted zone (%s); ACM validates through public DNS. Create the public zone "
                      "and delegate the domain to it, or give its id as zone_id." % (name, ", ".join(z["Id"] for z in matches)))
        self.fail("zone %s: no Route53 hosted zone of that name in this account (aws route53 list-hosted-zones). Set zone "
                  "(hubops_hub.route53_zone) to the public zone that holds %s, or create that zone and delegate the domain to it."
                  % (name, params["domain_name"] or "the certificate's names"))

    def check_inside(self, zone, names, what):
        outside = [n for n in names if not inside(n, zone["Name"])]
        if outside:
            self.fail("%s %s %s not inside zone %s, and a name's validation record must go in the zone that holds it. Set zone "
                      "(hubops_hub.route53_zone) to the zone of %s, or drop %s from %s."
                      % (what, ", ".join(outside), "is" if len(outside) == 1 else "are", normal(zone["Name"]),
                         "that name" if len(outside) == 1 else "those names", "it" if len(outside) == 1 else "them", what))

    def zone_record(self, zone, name):
        """The CNAME record set of that name in the zone, or None."""
        answer = self.route53.list_resource_record_sets(HostedZoneId=zone["Id"], StartRecordName=name, StartRecordType="CNAME",
                                                        MaxItems="1")
        for rrset in answer.get("ResourceRecordSets") or []:
            if normal(rrset.get("Name")) == normal(name) and rrset.get("Type") == "CNAME":
                return rrset
        return None

    @staticmethod
    def holds(rrset, record):
        values = [normal(r.get("Value")) for r in (rrset or {}).get("ResourceRecords") or []]
        return values == [normal(record["value"])]

    # ---- present --------------------------------------------------------------------------------------------------

    def present(self):
        params = self.params
        if params["certificate_arn"]:
            return self.given(params["certificate_arn"])
        names = wanted_names(params["domain_name"], params["subject_alternative_names"])
        zone = self.find_zone(required=True)
        self.check_inside(zone, names, "domain_name / subject_alternative_names:")
        cert, ours = self.choose(names)
        self.after = {"domain_name": names[0], "subject_alternative_names": names, "status": "ISSUED"}
        if cert is None:
            self.before = {}
            cert = self.request(names)
            if cert is None:  # check mode
                self.after.update(certificate_arn=PLACEHOLDER, tags=self.wanted_tags(), zone=normal(zone["Name"]))
                self.actions.append("write the validation records of %s in zone %s" % (", ".join(names), normal(zone["Name"])))
                return self.result(None, True, zone, names=names)
            ours = True
        else:
            self.before = self.view(cert, self.tags_of(cert["CertificateArn"]) if ours else None)
            self.after.update(certificate_arn=cert["CertificateArn"])
            if ours:
                self.converge_tags(cert)
        if ours:  # someone else's issued certificate is used as it is; its records are its owner's business
            self.after["tags"] = dict(self.before.get("tags") or {}, **self.wanted_tags())
            cert = self.converge_records(cert, zone)
        if params["wait"] and not self.module.check_mode:
            cert = self.wait_issued(cert, zone)
        return self.result(cert, ours, zone)

    def wanted_tags(self):
        tags = dict((str(k), str(v)) for k, v in (self.params["tags"] or {}).items())
        return deployment_tags(self.params["deployment"], tags)

    def choose(self, names):
        """(certificate, ours) to use for exactly these names, or (None, False)."""
        deployment = self.params["deployment"]
        ours, foreign = [], []
        for summary in self.list_certificates(USABLE):
            if normal(summary.get("DomainName")) != names[0] or summary.get("Type") == "PRIVATE":
                continue
            cert = self.describe(summary["CertificateArn"])
            if cert is None or cert_names(cert) != set(names) or cert.get("Status") not in USABLE or cert.get("Type") == "PRIVATE":
                continue
            owner = self.tags_of(cert["CertificateArn"]).get(TAG_DEPLOYMENT)
            if owner == deployment:
                ours.append(cert)
            elif owner is None and cert["Status"] == "ISSUED" and cert.get("NotAfter") and cert["NotAfter"] - _now() > RENEWAL_MARGIN:
                foreign.append(cert)

        def rank(cert):  # issued first, then the newest
            return (cert["Status"] == "ISSUED", _iso(cert.get("NotAfter")) or "", _iso(cert.get("CreatedAt")) or "", cert["CertificateArn"])

        if ours:
            return sorted(ours, key=rank)[-1], True
        if foreign:
            return sorted(foreign, key=rank)[-1], False
        return None, False

    def request(self, names):
        params = self.params
        tags = [{"Key": k, "Value": v} for k, v in sorted(self.wanted_tags().items())]
        request = {"DomainName": names[0], "ValidationMethod": "DNS", "Tags": tags,
                   "IdempotencyToken": idempotency_token(params["deployment"], names)}
        if names[1:]:
            request["SubjectAlternativeNames"] = names[1:]
        what = "request certificate for %s" % names[0]
        if names[1:]:
            what += " (also %s)" % ", ".join(names[1:])
        answer = self.act(what, self.acm, "request_certificate", **request)
        if self.module.check_mode:
            return None
        arn = answer["CertificateArn"]
        cert = self.describe(arn)
        if cert is None or cert_names(cert) != set(names) or cert.get("Status") not in USABLE:
            # Within its hour, ACM answers a token with the certificate it made for it first - also when that one has been
            # deleted or has failed since. Ask once more with a token of this attempt's own.
            request["IdempotencyToken"] = idempotency_token(params["deployment"], names, salt=arn)
            arn = self.acm.request_certificate(**request)["CertificateArn"]
            cert = self.describe(arn)
            if cert is None or cert_names(cert) != set(names):
                self.fail("ACM answered RequestCertificate for %s with %s, which %s. Run again in an hour (when ACM forgets the "
                          "idempotency token), or request the certificate by hand and give it as certificate_arn."
                          % (", ".join(names), arn, "does not exist" if cert is None else "has other names"))
        return cert

    def converge_tags(self, cert):
        current = self.tags_of(cert["CertificateArn"])
        missing = dict((k, v) for k, v in self.wanted_tags().items() if current.get(k) != v)
        if missing:
            self.act("tag certificate %s (%s)" % (cert["CertificateArn"], ", ".join(sorted(missing))), self.acm, "add_tags_to_certificate",
                     CertificateArn=cert["CertificateArn"], Tags=[{"Key": k, "Value": v} for k, v in sorted(missing.items())])

    def wait_for_records(self, cert):
        """ACM publishes the validation records of a new certificate after a moment: poll (briefly) until it has."""
        until = min(self.deadline, time.monotonic() + RECORD_WAIT)
        attempt = 0
        while not records_published(cert):
            if not self.sleep(DELAYS, attempt, until):
                self.fail("ACM has not published the DNS validation records of %s (%s) after %d s. Run again (the certificate is "
                          "reused), or raise wait_timeout." % (cert["CertificateArn"], cert.get("DomainName"),
                                                               min(RECORD_WAIT, self.params["wait_timeout"])))
            attempt += 1
            cert = self.describe(cert["CertificateArn"]) or cert
        return cert

    def converge_records(self, cert, zone):
        """UPSERT the validation records the zone lacks (none when it holds them all); wait for the change to be INSYNC."""
        if cert.get("Status") != "PENDING_VALIDATION" and not records_published(cert):
            return cert  # issued, and ACM does not show its records (imported, or e-mail validated): nothing to keep
        if not dns_validated(cert):
            self.module.warn("Certificate %s is validated by e-mail, not DNS: no records written; approve the e-mails ACM sent."
                             % cert["CertificateArn"])
            return cert
        cert = self.wait_for_records(cert)
        changes = []
        for record in validation_records(cert):
            if not self.holds(self.zone_record(zone, record["name"]), record):
                changes.append({"Action": "UPSERT", "ResourceRecordSet": {"Name": record["name"], "Type": record["type"], "TTL": RECORD_TTL,
                                                                          "ResourceRecords": [{"Value": record["value"]}]}})
                self.actions.append("write validation record %s in zone %s" % (record["name"], normal(zone["Name"])))
        if not changes or self.module.check_mode:
            return cert
        answer = self.route53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={
            "Comment": "hubops.eks acm_certificate %s (%s)" % (cert.get("DomainName"), self.params["deployment"]), "Changes": changes})
        if self.params["wait"]:
            self.wait_insync(answer.get("ChangeInfo") or {})
        return cert

    def wait_insync(self, change):
        attempt = 0
        while change.get("Status", "INSYNC") != "INSYNC":
            if not self.sleep(DELAYS, attempt, self.deadline):
                self.fail("Route53 change %s (the validation records) is still %s after %d s (wait_timeout). Route53 usually "
                          "syncs within a minute; run again." % (change.get("Id"), change.get("Status"), self.params["wait_timeout"]))
            attempt += 1
            change = self.route53.get_change(Id=change["Id"])["ChangeInfo"]

    def wait_issued(self, cert, zone):
        attempt = 0
        while cert.get("Status") != "ISSUED":
            status = cert.get("Status")
            if status in DEAD:
                self.fail("Certificate %s (%s) is %s%s; a load balancer cannot use it. %s"
                          % (cert["CertificateArn"], cert.get("DomainName"), status,
                             " (%s)" % cert["FailureReason"] if cert.get("FailureReason") else "",
                             "Delete it (state=absent) and run again to request a new one." if self.params["certificate_arn"] is None
                             else "Renew or replace it and fix certificate_arn (hubops_hub.certificate_arn)."))
            if not self.sleep(DELAYS, attempt, self.deadline):
                self.fail(self.timeout_message(cert, zone))
            attempt += 1
            cert = self.describe(cert["CertificateArn"]) or cert
        return cert

    def timeout_message(self, cert, zone):
        lines = []
        for record in validation_records(cert):
            where = ""
            if zone is not None:
                present = self.holds(self.zone_record(zone, record["name"]), record)
                where = ", %s zone %s" % ("in" if present else "NOT in", normal(zone["Name"]))
            lines.append("%s %s %s (%s: %s%s)"
                         % (record["name"], record["type"], record["value"], ", ".join(record["domains"]), record["status"], where))
        msg = ("Certificate %s (%s) is still %s after %d s (wait_timeout). Validation records: %s. ACM issues it once public DNS "
               "answers every record: check that the zone's name servers are the ones the parent domain delegates to "
               "(dig NS %s), then run again - the same certificate is picked up - or raise wait_timeout."
               % (cert["CertificateArn"], cert.get("DomainName"), cert.get("Status"), self.params["wait_timeout"],
                  "; ".join(lines) or "none published", normal(zone["Name"]) if zone else base_name(cert.get("DomainName"))))
        return msg

    def given(self, arn):
        params = self.params
        cert = self.describe(arn)
        if cert is None:
            self.fail("certificate_arn %s: no such certificate in %s for this account. ACM certificates are regional: the load "
                      "balancer needs one in its own region. Fix hubops_hub.certificate_arn, or leave it out to have one requested."
                      % (arn, self.module.region))
        names = sorted(cert_names(cert))
        if params["domain_name"] and not covers(names, params["domain_name"]):
            self.fail("certificate_arn %s is for %s, not %s (domain_name); browsers would refuse it. Give a certificate that "
                      "covers %s, or leave certificate_arn out to have one requested."
                      % (arn, ", ".join(names), params["domain_name"], params["domain_name"]))
        status = cert.get("Status")
        zone = None
        if status == "PENDING_VALIDATION" and (params["zone"] or params["zone_id"]):
            zone = self.find_zone(required=True)
            self.check_inside(zone, names, "the names of certificate_arn")
        self.before = self.view(cert, None)
        self.after = dict(self.before, status="ISSUED")
        if status == "ISSUED":
            return self.result(cert, False, zone)
        if status != "PENDING_VALIDATION":
            self.fail("certificate_arn %s (%s) is %s%s; a load balancer cannot use it. Renew or replace it and fix "
                      "hubops_hub.certificate_arn, or leave it out to have one requested."
                      % (arn, cert.get("DomainName"), status, " (%s)" % cert["FailureReason"] if cert.get("FailureReason") else ""))
        if zone is not None:
            cert = self.converge_records(cert, zone)
        if params["wait"] and not self.module.check_mode:
            cert = self.wait_issued(cert, zone)
        return self.result(cert, False, zone)

    def view(self, cert, tags):
        view = {"certificate_arn": cert["CertificateArn"], "domain_name": normal(cert.get("DomainName")),
                "subject_alternative_names": [normal(n) for n in cert.get("SubjectAlternativeNames") or []],
                "status": cert.get("Status")}
        if tags is not None:
            view["tags"] = tags
        return view

    def result(self, cert, requested, zone, names=None):
        if cert is None:
            result = dict(certificate_arn=PLACEHOLDER, status=None, domain_name=names[0], subject_alternative_names=names,
                          validation_records=[], requested=requested, not_after=None)
        else:
            result = dict(certificate_arn=cert["CertificateArn"], status=cert.get("Status"), domain_name=cert.get("DomainName"),
                          subject_alternative_names=list(cert.get("SubjectAlternativeNames") or [cert.get("DomainName")]),
                          validation_records=[public_record(r) for r in validation_records(cert)], requested=requested,
                          not_after=_iso(cert.get("NotAfter")) if cert.get("Status") == "ISSUED" else None)
        if zone is not None:
            result["zone_id"] = zone["Id"]
        return result

    # ---- absent ---------------------------------------------------------------------------------------------------

    def absent(self):
        params = self.params
        if not params["domain_name"]:
            return {"deleted": []}  # only certificate_arn: used, never deleted
        names = wanted_names(params["domain_name"], params["subject_alternative_names"])
        zone = self.find_zone(required=False)
        if zone is not None:
            self.check_inside(zone, names, "domain_name / subject_alternative_names:")
        everything = self.list_certificates()
        ours = []
        for summary in everything:
            arn = summary["CertificateArn"]
            if normal(summary.get("DomainName")) != names[0] or arn == params["certificate_arn"]:
                continue
            if self.tags_of(arn).get(TAG_DEPLOYMENT) != params["deployment"]:
                continue
            cert = self.describe(arn)
            if cert is not None:
                ours.append(cert)
        if not ours:
            return {"deleted": []}
        self.before = {"certificates": [c["CertificateArn"] for c in ours]}
        self.after = {"certificates": []}
        deleted, refusals = [], []
        for cert in ours:
            refusal = self.delete(cert)
            if refusal:
                refusals.append(refusal)
            else:
                deleted.append(cert)
        # The records of the certificates that went, even when another one could not go (the next run would no longer
        # know them); a certificate that stays, ours or anyone's, keeps the records it validates through.
        records = []
        for cert in deleted:
            for record in validation_records(cert):
                if all(normal(r["name"]) != normal(record["name"]) for r in records):
                    records.append(record)
        if zone is not None and records:
            gone = set(c["CertificateArn"] for c in deleted)
            still_used = self.records_in_use([s for s in everything if s["CertificateArn"] not in gone], records)
            self.delete_records(zone, [r for r in records if normal(r["name"]) not in still_used])
        if refusals:
            self.fail(" ".join(refusals))
        return {"deleted": [c["CertificateArn"] for c in deleted]}

    def delete(self, cert):
        """Delete it, waiting (up to the deadline) while a load balancer uses it; the refusal's message when it stays."""
        arn = cert["CertificateArn"]
        self.actions.append("delete certificate %s (%s)" % (arn, cert.get("DomainName")))
        if self.module.check_mode:
            return None
        attempt = 0
        while True:
            try:
                self.acm.delete_certificate(CertificateArn=arn)
                return None
            except botocore.exceptions.ClientError as exc:
                code = _code(exc)
                if code == "ResourceNotFoundException":
                    return None
                if code != "ResourceInUseException":
                    raise
            if not self.sleep(IN_USE_DELAYS, attempt, self.deadline):
                users = (self.describe(arn) or {}).get("InUseBy") or []
                return ("Certificate %s (%s) is still in use by %s after %d s (wait_timeout), so ACM refuses to delete it. Delete "
                        "the hub's load balancer first (teardown removes the Services of type LoadBalancer before this step; "
                        "kubectl get svc -A shows what is left), or detach the certificate from those listeners, then run again."
                        % (arn, cert.get("DomainName"), ", ".join(users) or "a load balancer", self.params["wait_timeout"]))
            attempt += 1

    def records_in_use(self, remaining, records):
        """Names of the records that a remaining certificate (of anyone) also validates through."""
        wanted = set(base_name(d) for r in records for d in r["domains"])
        used = set()
        for summary in remaining:
            if summary.get("Type") == "IMPORTED":
                continue
            listed = summary.get("SubjectAlternativeNameSummaries")
            names = [summary.get("DomainName")] + list(listed or [])
            if listed is not None and not summary.get("HasAdditionalSubjectAlternativeNames") \
                    and not wanted.intersection(base_name(n) for n in names):
                continue
            cert = self.describe(summary["CertificateArn"])
            for record in validation_records(cert or {}):
                used.add(normal(record["name"]))
        return used

    def delete_records(self, zone, records):
        changes = []
        for record in records:
            rrset = self.zone_record(zone, record["name"])
            if not self.holds(rrset, record):
                continue  # gone already, or someone else's value: not ours to remove
            changes.append({"Action": "DELETE", "ResourceRecordSet": dict((k, rrset[k]) for k in ("Name", "Type", "TTL", "ResourceRecords")
                                                                          if k in rrset)})
            self.actions.append("delete validation record %s from zone %s" % (record["name"], normal(zone["Name"])))
        if changes and not self.module.check_mode:
            self.route53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={
                "Comment": "hubops.eks acm_certificate absent (%s)" % self.params["deployment"], "Changes": changes})


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            domain_name=dict(type="str"),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            zone=dict(type="str"),
            zone_id=dict(type="str"),
            certificate_arn=dict(type="str"),
            deployment=dict(type="str", required=True),
            tags=dict(type="dict", default={}),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[("zone", "zone_id")],
        required_one_of=[("domain_name", "certificate_arn")],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present" and not params["certificate_arn"] and not (params["zone"] or params["zone_id"]):
        module.fail_json(msg="zone (hubops_hub.route53_zone) or zone_id is required to request a certificate for %s: its DNS "
                             "validation records go there. Or give an existing certificate as certificate_arn." % params["domain_name"])
    if params["subject_alternative_names"] and not params["domain_name"]:
        module.fail_json(msg="subject_alternative_names needs domain_name (the certificate's primary name).")
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds.")
    if not module.region:
        module.fail_json(msg="No AWS region: set region (hubops_region) or AWS_REGION; the certificate must be in the load balancer's region.")
    certificates = Certificates(module, module.client("acm"), module.client("route53"))
    try:
        if params["state"] == "present":
            result = certificates.present()
        else:
            result = certificates.absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge the ACM certificate of %s (actions so far: %s)"
                             % (params["domain_name"] or params["certificate_arn"], "; ".join(certificates.actions) or "none"))
    result.update(changed=bool(certificates.actions), actions=certificates.actions)
    if module._diff:
        result["diff"] = {"before": certificates.before or {}, "after": certificates.after or {}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
