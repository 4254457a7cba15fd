# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hub's way in: the AWS Load Balancer Controller's IAM policy (scoped to one cluster) and the z2jh values that
make the proxy an NLB (TLS offload with ACM) or an ALB Ingress.

The controller's upstream policy (install/iam_policy.json of aws-load-balancer-controller) lets it touch every load
balancer and security group tagged `elbv2.k8s.aws/cluster` with *any* value. Here every tag condition names this
cluster, ARNs name the region and account, and what the hub never uses (WAF, Shield, Cognito-on-ALB, IPAM pools,
outposts' customer-owned IPs) is left out; DROPPED_ACTIONS lists them with the reason (a test compares).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

CLUSTER_TAG = "elbv2.k8s.aws/cluster"
MODES = ("nlb", "alb")
# Upstream actions this policy does not grant, and why.
DROPPED_ACTIONS = {
    "cognito-idp:DescribeUserPoolClient": "ALB authentication with Cognito: the hub authenticates itself",
    "waf-regional:GetWebACL": "WAF is not configured by hubops",
    "waf-regional:GetWebACLForResource": "WAF is not configured by hubops",
    "waf-regional:AssociateWebACL": "WAF is not configured by hubops",
    "waf-regional:DisassociateWebACL": "WAF is not configured by hubops",
    "wafv2:GetWebACL": "WAF is not configured by hubops",
    "wafv2:GetWebACLForResource": "WAF is not configured by hubops",
    "wafv2:AssociateWebACL": "WAF is not configured by hubops",
    "wafv2:DisassociateWebACL": "WAF is not configured by hubops",
    "elasticloadbalancing:SetWebAcl": "WAF is not configured by hubops",
    "shield:GetSubscriptionState": "Shield Advanced is not configured by hubops",
    "shield:DescribeProtection": "Shield Advanced is not configured by hubops",
    "shield:CreateProtection": "Shield Advanced is not configured by hubops",
    "shield:DeleteProtection": "Shield Advanced is not configured by hubops",
    "ec2:GetCoipPoolUsage": "customer-owned IP pools exist only on Outposts",
    "ec2:DescribeCoipPools": "customer-owned IP pools exist only on Outposts",
    "ec2:DescribeIpamPools": "IPAM pools for load balancers are not used",
    "elasticloadbalancing:ModifyIpPools": "IPAM pools for load balancers are not used",
    "iam:ListServerCertificates": "certificates come from ACM",
    "iam:GetServerCertificate": "certificates come from ACM",
}

_READ = [
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones", "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetSecurityGroupsForVpc",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTrustStores",
    "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeCapacityReservation",
    "acm:ListCertificates", "acm:DescribeCertificate",
]


def lbc_policy(cluster, region, account, partition="aws"):
    """IAM policy document of the AWS Load Balancer Controller of `cluster`."""
    ec2 = "arn:%s:ec2:%s:%s:" % (partition, region, account)
    elb = "arn:%s:elasticloadbalancing:%s:%s:" % (partition, region, account)
    ours = {"StringEquals": {"aws:ResourceTag/%s" % CLUSTER_TAG: cluster}}
    tagging_ours = {"StringEquals": {"aws:RequestTag/%s" % CLUSTER_TAG: cluster}}
    balancers = [elb + "targetgroup/*/*", elb + "loadbalancer/net/*/*", elb + "loadbalancer/app/*/*"]
    statements = [
        {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
        # Describe/List calls have no resource-level permissions.
        {"Sid": "Read", "Effect": "Allow", "Action": sorted(_READ), "Resource": "*"},
        {"Sid": "CreateSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateSecurityGroup",
         "Resource": [ec2 + "security-group/*", ec2 + "vpc/*"]},
        {"Sid": "TagNewSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": ec2 + "security-group/*",
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup", "aws:RequestTag/%s" % CLUSTER_TAG: cluster}}},
        {"Sid": "TagOwnSecurityGroups", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
         "Resource": ec2 + "security-group/*", "Condition": ours},
        # Rules on the node security groups (targets) as well as its own: those groups carry no controller tag.
        {"Sid": "SecurityGroupRules", "Effect": "Allow", "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
         "Resource": ec2 + "security-group/*"},
        {"Sid": "DeleteOwnSecurityGroups", "Effect": "Allow", "Action": "ec2:DeleteSecurityGroup", "Resource": ec2 + "security-group/*",
         "Condition": ours},
        {"Sid": "CreateBalancers", "Effect": "Allow",
         "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
         "Resource": balancers, "Condition": tagging_ours},
        {"Sid": "TagNewBalancers", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags", "Resource": balancers,
         "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                                        "aws:RequestTag/%s" % CLUSTER_TAG: cluster}}},
        {"Sid": "TagOwnBalancers", "Effect": "Allow", "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Resource": balancers, "Condition": ours},
        {"Sid": "Listeners", "Effect": "Allow",
         "Action": ["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener", "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities"],
         "Resource": [elb + "loadbalancer/net/*/*", elb + "loadbalancer/app/*/*", elb + "listener/net/*/*/*",
                      elb + "listener/app/*/*/*", elb + "listener-rule/net/*/*/*", elb + "listener-rule/app/*/*/*"]},
        {"Sid": "TagListeners", "Effect": "Allow", "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Resource": [elb + "listener/net/*/*/*", elb + "listener/app/*/*/*", elb + "listener-rule/net/*/*/*",
                      elb + "listener-rule/app/*/*/*"]},
        {"Sid": "ManageOwnBalancers", "Effect": "Allow",
         "Action": ["elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation"],
         "Resource": balancers, "Condition": ours},
        {"Sid": "Targets", "Effect": "Allow", "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
         "Resource": elb + "targetgroup/*/*"},
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def granted_actions(policy):
    out = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        out.update([actions] if isinstance(actions, str) else actions)
    return out


def proxy_values(ingress, domain, deployment, tags=None):
    """z2jh values for the hub's public endpoint. ingress: {mode, certificate_arn, source_ranges, scheme, idle_timeout}."""
    ingress = dict(ingress or {})
    mode = ingress.get("mode") or "nlb"
    if mode not in MODES:
        raise ValueError("hubops_hub.ingress.mode is '%s'; use nlb or alb" % mode)
    certificate = ingress.get("certificate_arn")
    ranges = list(ingress.get("source_ranges") or ["0.0.0.0/0"])
    scheme = ingress.get("scheme") or "internet-facing"
    idle = int(ingress.get("idle_timeout") or 3600)
    resource_tags = dict(tags or {})
    resource_tags["hubops:deployment"] = deployment
    tag_text = ",".join("%s=%s" % (k, v) for k, v in sorted(resource_tags.items()))
    if mode == "nlb":
        annotations = {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": scheme,
            "service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp",
            "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": tag_text,
            # NLB TCP idle timeout (350 s by default) is a listener attribute: long enough for websockets with
            # JupyterLab's pings; nothing to raise here.
        }
        service = {"type": "LoadBalancer", "annotations": annotations, "loadBalancerSourceRanges": ranges}
        values = {"proxy": {"service": service}}
        if certificate:
            annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = certificate
            annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "https"
            # TLS on 443 only: an NLB cannot redirect HTTP to HTTPS, so port 80 is not offered at all.
            service["disableHttpPort"] = True
            values["proxy"]["https"] = {"enabled": True, "type": "offload", "hosts": [domain] if domain else []}
        return values
    annotations = {
        "alb.ingress.kubernetes.io/scheme": scheme,
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/inbound-cidrs": ",".join(ranges),
        # Websockets (kernels) idle longer than the ALB's 60 s default.
        "alb.ingress.kubernetes.io/load-balancer-attributes": "idle_timeout.timeout_seconds=%d" % idle,
        "alb.ingress.kubernetes.io/tags": tag_text,
    }
    if certificate:
        annotations["alb.ingress.kubernetes.io/certificate-arn"] = certificate
        annotations["alb.ingress.kubernetes.io/listen-ports"] = '[{"HTTP": 80}, {"HTTPS": 443}]'
        annotations["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
    return {
        "proxy": {"service": {"type": "ClusterIP"}},
        "ingress": {"enabled": True, "ingressClassName": "alb", "annotations": annotations, "hosts": [domain] if domain else [],
                    "pathType": "Prefix"},
    }
