# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The counting proxy classifies requests the way the no-op-run assertion needs, and injects faults as configured."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "emulation"))

import proxy  # noqa: E402  pylint: disable=wrong-import-position,import-error

AUTH = "AWS4-HMAC-SHA256 Credential=testing/20261123/us-east-1/%s/aws4_request, SignedHeaders=host, Signature=x"


@pytest.mark.parametrize("service,headers,path,method,body,expected", [
    ("ec2", {"Content-Type": "application/x-www-form-urlencoded"}, "/", "POST", b"Action=DescribeVpcs&Version=2016", ("DescribeVpcs", "ec2")),
    ("iam", {"Content-Type": "application/x-www-form-urlencoded"}, "/", "POST", b"Action=CreateRole", ("CreateRole", "query")),
    ("kms", {"X-Amz-Target": "TrentService.ScheduleKeyDeletion"}, "/", "POST", b"{}", ("ScheduleKeyDeletion", "json")),
    ("eks", {}, "/clusters/local", "GET", b"", ("GET /clusters/local", "rest-json")),
    ("route53", {}, "/2013-04-01/hostedzone/Z123", "POST", b"", ("POST /{id}/hostedzone/{id}", "rest-xml")),
])
def test_classify(service, headers, path, method, body, expected):
    headers = dict(headers, Authorization=AUTH % service)
    got_service, action, protocol = proxy.classify(headers, path, method, body)
    assert (got_service, action, protocol) == (service, expected[0], expected[1])


@pytest.mark.parametrize("action,read", [
    ("DescribeVpcs", True), ("ListAliases", True), ("GetParameter", True), ("GET /clusters", True),
    ("CreateVpc", False), ("TagResource", False), ("ModifyVpcAttribute", False), ("POST /clusters", False),
    ("AssociateRouteTable", False), ("ScheduleKeyDeletion", False),
])
def test_is_read(action, read):
    assert proxy.is_read(action) is read


def test_faults_are_seeded_and_capped():
    def sequence():
        state = proxy.ProxyState()
        state.configure_faults({"rate": 0.5, "seed": 3, "max_consecutive": 2})
        return [state.decide_fault() for _draw in range(200)]

    first, second = sequence(), sequence()
    assert first == second                      # repeatable
    assert 60 < sum(1 for f in first if f) < 120
    run = longest = 0
    for fault in first:
        run = run + 1 if fault else 0
        longest = max(longest, run)
    assert longest <= 2                         # never more than max_consecutive in a row


@pytest.mark.parametrize("protocol,status,code", [
    ("ec2", 503, b"RequestLimitExceeded"), ("query", 400, b"Throttling"), ("json", 400, b"ThrottlingException"),
    ("rest-json", 429, b"ThrottlingException"),
])
def test_throttle_errors_look_like_aws(protocol, status, code):
    got_status, headers, body = proxy.error_response(protocol, "throttle")
    assert got_status == status and code in body
    if protocol == "json":
        assert json.loads(body)["__type"] == "ThrottlingException"
