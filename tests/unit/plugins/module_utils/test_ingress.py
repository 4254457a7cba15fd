# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The load balancer controller's policy against upstream's, and the proxy values for NLB and ALB."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import jsonschema
import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import hub as H
from ansible_collections.hubops.eks.plugins.module_utils import ingress as IN

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
REFERENCE = os.path.abspath(os.path.join(REPO, "..", "shared", "reference"))
UPSTREAM = os.path.join(REFERENCE, "aws-load-balancer-controller", "iam_policy.json")
SCHEMA = os.path.join(REFERENCE, "zero-to-jupyterhub-k8s", "values.schema.yaml")
CHART_VALUES = os.path.join(REFERENCE, "charts", "jupyterhub", "values.yaml")

needs_reference = pytest.mark.skipif(not os.path.isfile(UPSTREAM), reason="../shared/reference is not beside the repo")
POLICY = IN.lbc_policy("dandi", "us-east-2", "123456789012")


@needs_reference
def test_grants_upstream_actions_minus_the_dropped_ones():
    with open(UPSTREAM) as handle:
        upstream = IN.granted_actions(json.load(handle))
    ours = IN.granted_actions(POLICY)
    assert ours <= upstream, ours - upstream
    assert upstream - ours == set(IN.DROPPED_ACTIONS)


def test_every_tag_condition_names_the_cluster():
    text = json.dumps(POLICY)
    assert '"Null"' not in text
    for statement in POLICY["Statement"]:
        for condition in (statement.get("Condition") or {}).values():
            for key, value in condition.items():
                if key.endswith("/elbv2.k8s.aws/cluster"):
                    assert value == "dandi"


def test_mutating_statements_name_region_and_account():
    for statement in POLICY["Statement"]:
        if statement["Sid"] in ("ServiceLinkedRole", "Read"):
            continue
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all(":us-east-2:123456789012:" in r for r in resources), statement["Sid"]


def test_deletes_need_our_cluster_tag():
    for statement in POLICY["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(a.endswith(("DeleteLoadBalancer", "DeleteTargetGroup", "DeleteSecurityGroup")) for a in actions):
            assert statement["Condition"]["StringEquals"]["aws:ResourceTag/elbv2.k8s.aws/cluster"] == "dandi"


def test_nlb_offloads_tls_on_443_only():
    values = IN.proxy_values({"certificate_arn": "arn:aws:acm:us-east-2:1:certificate/x", "source_ranges": ["192.0.2.0/24"]},
                             "hub.example.org", "dandi", {"project": "dandi"})
    service = values["proxy"]["service"]
    assert service["type"] == "LoadBalancer" and service["disableHttpPort"] is True
    assert service["loadBalancerSourceRanges"] == ["192.0.2.0/24"]
    notes = service["annotations"]
    assert notes["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert notes["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert notes["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert notes["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == "arn:aws:acm:us-east-2:1:certificate/x"
    assert notes["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"] == "hubops:deployment=dandi,project=dandi"
    assert values["proxy"]["https"] == {"enabled": True, "type": "offload", "hosts": ["hub.example.org"]}


def test_alb_redirects_and_keeps_websockets():
    values = IN.proxy_values({"mode": "alb", "certificate_arn": "arn:c"}, "hub.example.org", "dandi")
    assert values["proxy"]["service"] == {"type": "ClusterIP"}
    ingress = values["ingress"]
    assert ingress["enabled"] and ingress["ingressClassName"] == "alb" and ingress["hosts"] == ["hub.example.org"]
    notes = ingress["annotations"]
    assert notes["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert notes["alb.ingress.kubernetes.io/load-balancer-attributes"] == "idle_timeout.timeout_seconds=3600"
    assert notes["alb.ingress.kubernetes.io/inbound-cidrs"] == "0.0.0.0/0"


def test_unknown_mode():
    with pytest.raises(ValueError, match="nlb or alb"):
        IN.proxy_values({"mode": "clb"}, "hub.example.org", "dandi")


@needs_reference
@pytest.mark.parametrize("mode", ["nlb", "alb"])
def test_hub_values_with_an_endpoint_validate_against_the_chart_schema(mode):
    settings = {"deployment": "dandi", "hub": {"domain": "hub.example.org", "auth": {"type": "dummy", "allow_dummy": True}},
                "groups": [{"name": "neuro"}], "ingress": {"mode": mode, "certificate_arn": "arn:aws:acm:us-east-2:1:certificate/x"}}
    values = H.hub_values(settings)
    with open(CHART_VALUES) as handle:
        merged = H.deep_merge(yaml.safe_load(handle), values)
    with open(SCHEMA) as handle:
        jsonschema.validate(merged, yaml.safe_load(handle))
    assert (values["proxy"]["service"]["type"] == "LoadBalancer") is (mode == "nlb")
