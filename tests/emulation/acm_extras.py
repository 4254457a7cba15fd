# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""What moto 5.2.5's ACM does differently from AWS, for hubops.eks.acm_certificate. Test infrastructure only.

- DNS validation. moto issues every DNS-validated certificate MOTO_ACM_VALIDATION_WAIT (60) seconds after the request,
  whether or not the validation records exist. AWS issues it only once public DNS answers the validation CNAME of
  every name. Here a PENDING_VALIDATION certificate becomes ISSUED (checked on every read, as moto does) when every
  validation CNAME is in a public hosted zone of the account in the emulated Route53 with ACM's value, and never
  otherwise; each name's ValidationStatus turns SUCCESS once its own record is there. A certificate requested with
  ValidationMethod EMAIL (the API's default) has no ResourceRecord and is never issued.
- Validation records. moto gives every name the same record name prefix and value. AWS derives both from the name
  and the account: certificates for the same name share the record (so does a wildcard with its apex), other names
  get other records. Here: a hash of account and name.
- A new certificate. AWS answers DescribeCertificate without the ResourceRecord for its first moments (callers poll);
  here the first DescribeCertificate of each requested certificate leaves it out.
- Names. AWS lists DomainName first, then the SubjectAlternativeNames in the order requested; moto in set order.
- Not yet issued. AWS reports no NotBefore, NotAfter, IssuedAt or Serial before issuing; moto reports them at once.
- ListCertificates. AWS answers summaries (DomainName, SubjectAlternativeNameSummaries, Status, Type, KeyAlgorithm,
  InUse, dates...), not descriptions, and without Includes.keyTypes only RSA_2048 certificates; moto answers full
  descriptions (validation records included) of every key type.
- In use. AWS reports the load balancers whose listeners use a certificate in InUseBy and refuses DeleteCertificate
  for it (ResourceInUseException); moto records the elbv2 listeners' ARNs, never forgets them, and deletes anyway.
  Here InUseBy lists the elbv2 load balancers whose listeners hold the certificate, computed on every read (a deleted
  load balancer stops using it), and DeleteCertificate refuses while it is not empty.
- IdempotencyToken. moto answers a 500 (KeyError) when a token of the last hour names a deleted certificate, and
  makes a new certificate for the same token when the tags differ. AWS returns the certificate the token named
  within its hour, whatever the other parameters; for a deleted one we assume it returns that (dead) ARN too, the
  unkind reading, so callers must check what they got.
"""

from __future__ import annotations

import hashlib

VALIDATION_SUFFIX = "acm-validations.aws."
PRE_ISSUE_FIELDS = ("NotBefore", "NotAfter", "IssuedAt", "Serial")
NEVER_ISSUED = ("PENDING_VALIDATION", "FAILED", "VALIDATION_TIMED_OUT")
SUMMARY_FIELDS = ("CertificateArn", "DomainName", "Status", "Type", "KeyAlgorithm", "RenewalEligibility", "NotBefore",
                  "NotAfter", "CreatedAt", "IssuedAt", "ImportedAt", "RevokedAt")
SUMMARY_SANS = 100


def _norm(name):
    return (name or "").strip().rstrip(".").lower()


def _base(name):
    name = _norm(name)
    return name[2:] if name.startswith("*.") else name


def validation_record(account_id, name):
    """The CNAME ACM asks for, for name in account_id: the same for every certificate of that name (and its wildcard)."""
    base = _base(name)
    digest = hashlib.sha256(("%s|%s" % (account_id, base)).encode()).hexdigest()
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[:10])
    return {"Name": "_%s.%s." % (digest[32:64], base), "Type": "CNAME",
            "Value": "_%s.%s.%s" % (digest[:32], letters, VALIDATION_SUFFIX)}


def _arn_parts(arn):
    parts = arn.split(":")
    return parts[4], parts[3]  # account, region


def _record_in_zones(account_id, region, record):
    """Is the CNAME in a public hosted zone of the account (what public DNS would answer)?"""
    from moto.route53.models import route53_backends
    from moto.utilities.utils import get_partition

    name, value = _norm(record["Name"]), _norm(record["Value"])
    for zone in route53_backends[account_id][get_partition(region)].zones.values():
        zone_name = _norm(zone.name)
        if zone.private_zone or not (name == zone_name or name.endswith("." + zone_name)):
            continue
        for rrset in zone.rrsets:
            if rrset.type == "CNAME" and _norm(rrset.name) == name and [_norm(v) for v in rrset.records or []] == [value]:
                return True
    return False


def install():
    from moto.acm import models
    from moto.acm.exceptions import AWSError, AWSValidationException
    from moto.acm.responses import AWSCertificateManagerResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    bundle_class = models.CertBundle
    backend_class = models.AWSCertificateManagerBackend

    def names_of(bundle):
        ordered = getattr(bundle, "_hubops_names", None)
        if ordered:
            return list(ordered)
        names = [bundle.common_name] if bundle.common_name else []
        return names + sorted(n for n in set(bundle.sans) if n != bundle.common_name)

    def dns_validated(bundle):
        return bundle.type == "AMAZON_ISSUED" and getattr(bundle, "_hubops_method", "DNS") == "DNS"

    def in_use_by(bundle):
        from moto.elbv2.models import elbv2_backends

        account_id, region = _arn_parts(bundle.arn)
        # moto records elbv2 listener ARNs in in_use_by and never drops them; AWS names the load balancers, while they exist
        users = [user for user in bundle.in_use_by if ":listener/" not in user]
        for balancer in elbv2_backends[account_id][region].load_balancers.values():
            if any(bundle.arn in (listener.certificates or []) for listener in balancer.listeners.values()):
                users.append(balancer.arn)
        return users

    # -- issuing: only once the validation CNAMEs are in the zone ----------------------------------------------------

    original_check = bundle_class.check

    def check(self):
        if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION":
            account_id, region = _arn_parts(self.arn)
            if dns_validated(self) and all(_record_in_zones(account_id, region, validation_record(account_id, n))
                                           for n in names_of(self)):
                self.status = "ISSUED"
                self._hubops_issued_at = utcnow()
            return  # never by the clock alone (moto's MOTO_ACM_VALIDATION_WAIT)
        original_check(self)

    original_describe = bundle_class.describe

    def describe(self):
        result = original_describe(self)
        cert = result["Certificate"]
        cert["InUseBy"] = in_use_by(self)
        if self.type != "AMAZON_ISSUED":
            return result
        account_id, region = _arn_parts(self.arn)
        names = names_of(self)
        cert["SubjectAlternativeNames"] = names
        options = []
        for name in names:
            option = {"DomainName": name, "ValidationDomain": name}
            if dns_validated(self):
                record = validation_record(account_id, name)
                done = self.status == "ISSUED" or (self.status == "PENDING_VALIDATION" and _record_in_zones(account_id, region, record))
                option.update(ValidationMethod="DNS", ValidationStatus="SUCCESS" if done else self.status, ResourceRecord=record)
            else:
                option.update(ValidationMethod="EMAIL", ValidationStatus="SUCCESS" if self.status == "ISSUED" else self.status,
                              ValidationEmails=["admin@%s" % _base(name)])
            options.append(option)
        cert["DomainValidationOptions"] = options
        if self.status in NEVER_ISSUED:
            for field in PRE_ISSUE_FIELDS:
                cert.pop(field, None)
        elif getattr(self, "_hubops_issued_at", None) is not None:
            cert["IssuedAt"] = models.datetime_to_epoch(self._hubops_issued_at)
        return result

    bundle_class.check = check
    bundle_class.describe = describe

    # -- requests: idempotency tokens as AWS keeps them -------------------------------------------------------------

    original_request = backend_class.request_certificate

    def request_certificate(self, domain_name, idempotency_token, subject_alt_names, tags, cert_authority_arn=None,
                            cert_options=None):
        if idempotency_token is not None:
            arn = self._get_arn_from_idempotency_token(idempotency_token)
            if arn:
                return arn  # even a deleted certificate's (see the module docstring)
        arn = original_request(self, domain_name, None, subject_alt_names, tags, cert_authority_arn, cert_options)
        if idempotency_token is not None:
            self._set_idempotency_token_arn(idempotency_token, arn)
        names = [domain_name]
        for name in subject_alt_names or []:
            if name not in names:
                names.append(name)
        self._certificates[arn]._hubops_names = names
        return arn

    def delete_certificate(self, arn):
        bundle = self.get_certificate(arn)  # ResourceNotFoundException as before
        users = in_use_by(bundle)
        if users:
            raise AWSError("Certificate %s in account %s is in use by %s." % (arn, self.account_id, ", ".join(users)),
                           exception_type="ResourceInUseException")
        del self._certificates[arn]

    backend_class.request_certificate = request_certificate
    backend_class.delete_certificate = delete_certificate

    # -- responses --------------------------------------------------------------------------------------------------

    original_request_response = AWSCertificateManagerResponse.request_certificate

    def request_certificate_response(self):
        answer = original_request_response(self)
        arn = answer.result["CertificateArn"] if hasattr(answer, "result") else None
        bundle = self.acm_backend._certificates.get(arn) if arn else None
        if bundle is not None and not hasattr(bundle, "_hubops_method"):
            bundle._hubops_method = self._get_param("ValidationMethod") or "EMAIL"
        return answer

    def describe_certificate_response(self):
        arn = self._get_param("CertificateArn")
        if arn is None:
            raise AWSValidationException("A required parameter for the specified action is not supplied.")
        bundle = self.acm_backend.describe_certificate(arn)
        result = bundle.describe()
        if bundle.type == "AMAZON_ISSUED" and not getattr(bundle, "_hubops_described", False):
            bundle._hubops_described = True  # ACM takes a moment to publish the records of a new certificate
            for option in result["Certificate"].get("DomainValidationOptions") or []:
                option.pop("ResourceRecord", None)
        return ActionResult(result=result)

    def list_certificates_response(self):
        statuses = self._get_param("CertificateStatuses")
        includes = dict(self._get_param("Includes") or {})
        includes.setdefault("keyTypes", ["RSA_2048"])
        summaries = []
        for bundle in self.acm_backend.list_certificates(statuses, includes):
            cert = bundle.describe()["Certificate"]
            summary = dict((k, cert[k]) for k in SUMMARY_FIELDS if k in cert)
            sans = list(cert.get("SubjectAlternativeNames") or [])
            summary.update(SubjectAlternativeNameSummaries=sans[:SUMMARY_SANS], HasAdditionalSubjectAlternativeNames=len(sans) > SUMMARY_SANS,
                           InUse=bool(cert.get("InUseBy")), Exported=bundle.cert_options.get("Export") == "ENABLED",
                           KeyUsages=[], ExtendedKeyUsages=[])
            summaries.append(summary)
        return ActionResult(result={"CertificateSummaryList": summaries})

    AWSCertificateManagerResponse.request_certificate = request_certificate_response
    AWSCertificateManagerResponse.describe_certificate = describe_certificate_response
    AWSCertificateManagerResponse.list_certificates = list_certificates_response
