# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest.mock import MagicMock

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from ansible_collections.hubops.eks.plugins.module_utils import orphans
from ansible_collections.hubops.eks.plugins.module_utils.orphans import AnsibleOrphansError
from ansible_collections.hubops.eks.plugins.module_utils.orphans import OrphanSweep
from ansible_collections.hubops.eks.plugins.module_utils.orphans import not_implemented_reason
from ansible_collections.hubops.eks.plugins.module_utils.orphans import ownership
from ansible_collections.hubops.eks.plugins.module_utils.orphans import parse_arn
from ansible_collections.hubops.eks.plugins.module_utils.orphans import sweep_orphans

ACCOUNT = "123456789012"
REGION = "us-east-2"
DEP = {"hubops:deployment": "dandi"}


def arn(service, resource, region=REGION, account=ACCOUNT):
    return "arn:aws:%s:%s:%s:%s" % (service, region, account, resource)


def client_error(code, operation="Operation", status=400, message="boom"):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       operation)


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class FakeAWS:
    """One MagicMock client per service. Paginated calls answer `pages[service][operation]` (a result dict or an
    exception); direct calls are set on the client by each test. Everything else is an empty account."""

    def __init__(self):
        self.clients = {}
        self.pages = {}
        sts = self("sts")
        sts.get_caller_identity.return_value = {"Account": ACCOUNT, "Arn": "arn:aws:iam::%s:user/admin" % ACCOUNT}
        self("iam").list_open_id_connect_providers.return_value = {"OpenIDConnectProviderList": []}
        self("ec2").describe_addresses.return_value = {"Addresses": []}
        self("elbv2").describe_tags.return_value = {"TagDescriptions": []}
        self("elb").describe_tags.return_value = {"TagDescriptions": []}

    def __call__(self, service):
        if service not in self.clients:
            client = MagicMock(name=service)
            client.get_paginator.side_effect = lambda operation, _s=service: self._paginator(_s, operation)
            self.clients[service] = client
        return self.clients[service]

    def _paginator(self, service, operation):
        answer = self.pages.get(service, {}).get(operation, {})
        paginator = MagicMock(name="%s.%s" % (service, operation))
        build = paginator.paginate.return_value.build_full_result
        if isinstance(answer, Exception):
            build.side_effect = answer
        else:
            build.return_value = answer
        return paginator

    def page(self, service, operation, result):
        self.pages.setdefault(service, {})[operation] = result

    def tagged(self, *mappings):
        self.page("resourcegroupstaggingapi", "get_resources",
                  {"ResourceTagMappingList": [{"ResourceARN": a, "Tags": tag_list(t)} for a, t in mappings]})

    def sweep(self, deployment="dandi", cluster_name="dandi", name_prefix="dandi-"):
        return sweep_orphans(self, deployment, cluster_name, name_prefix, REGION)


@pytest.fixture
def aws():
    return FakeAWS()


def arns(entries):
    return sorted(e["arn"] for e in entries)


# --- pure helpers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (arn("ec2", "vpc/vpc-1"), ("ec2", "vpc", "vpc-1")),
        ("arn:aws:iam::%s:role/service-role/dandi-node" % ACCOUNT, ("iam", "role", "dandi-node")),
        (arn("sqs", "dandi-interruption"), ("sqs", "queue", "dandi-interruption")),
        (arn("logs", "log-group:/aws/eks/dandi/cluster:*"), ("logs", "log-group", "/aws/eks/dandi/cluster")),
        (arn("elasticloadbalancing", "loadbalancer/net/k8s-hub/0a1b"), ("elasticloadbalancing", "loadbalancer",
                                                                        "net/k8s-hub/0a1b")),
        (arn("backup", "backup-vault:dandi"), ("backup", "backup-vault", "dandi")),
        (arn("backup", "recovery-point:1a2b"), ("backup", "recovery-point", "1a2b")),
        ("arn:aws:ec2:%s::snapshot/snap-1" % REGION, ("ec2", "snapshot", "snap-1")),
        ("arn:aws:route53:::hostedzone/Z123", ("route53", "hostedzone", "Z123")),
        ("not-an-arn", ("", "", "not-an-arn")),
    ],
)
def test_parse_arn(value, expected):
    assert parse_arn(value) == expected


@pytest.mark.parametrize(
    "tags, expected",
    [
        (DEP, "tag hubops:deployment=dandi"),
        ({"hubops:deployment": "dandi-dev"}, None),
        ({"alpha.eksctl.io/cluster-name": "dandi"}, "tag alpha.eksctl.io/cluster-name=dandi"),
        ({"elbv2.k8s.aws/cluster": "dandi"}, "tag elbv2.k8s.aws/cluster=dandi"),
        ({"karpenter.k8s.aws/cluster": "dandi"}, "tag karpenter.k8s.aws/cluster=dandi"),
        ({"kubernetes.io/cluster/dandi": "owned"}, "tag kubernetes.io/cluster/dandi=owned"),
        ({"kubernetes.io/cluster/dandi": "shared"}, None),  # a BYO subnet the cluster only uses
        ({"elbv2.k8s.aws/cluster": "other"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_ownership(tags, expected):
    assert ownership(tags, "dandi", "dandi") == expected


@pytest.mark.parametrize(
    "resource, user_data",
    [
        (arn("elasticfilesystem", "file-system/fs-1"), True),
        (arn("elasticfilesystem", "access-point/fsap-1"), True),
        (arn("ec2", "volume/vol-1"), True),
        (arn("ec2", "snapshot/snap-1"), True),
        (arn("backup", "backup-vault:dandi"), True),
        (arn("backup", "recovery-point:1a2b"), True),
        (arn("ec2", "vpc/vpc-1"), False),
        (arn("kms", "key/k-1"), False),
        ("arn:aws:iam::%s:role/dandi-node" % ACCOUNT, False),
    ],
)
def test_classification(resource, user_data):
    sweep = OrphanSweep("dandi", "dandi", "dandi-", REGION, ACCOUNT)
    assert sweep.add(resource, DEP)["user_data"] is user_data


def test_not_implemented_reason():
    assert "HTTP 404" in not_implemented_reason(client_error("404", status=404))
    assert "HTTP 500" in not_implemented_reason(client_error("500", status=500))
    assert "NotImplemented" in not_implemented_reason(client_error("NotImplemented", status=501))
    assert "not an AWS response" in not_implemented_reason(ResponseParserError("invalid XML received"))
    wrapped = AnsibleOrphansError(message="Failed to x", exception=client_error("404", status=404))
    assert not_implemented_reason(wrapped)
    # Real answers are real failures (or "gone"), never "not implemented".
    assert not_implemented_reason(client_error("NoSuchEntity", status=404)) is None
    assert not_implemented_reason(client_error("AccessDenied", status=403)) is None
    assert not_implemented_reason(ValueError("x")) is None


# --- the sweep ---------------------------------------------------------------------------------------------------


def test_empty_account(aws):
    result = aws.sweep()
    assert result == {"resources": [], "leftovers": [], "user_data": [], "skipped_checks": [],
                      "counts": {"leftovers": 0, "user_data": 0}}
    # nothing listed, so no state check ran and their clients were never made
    assert "kms" not in aws.clients and "efs" not in aws.clients


def test_tagging_api_query(aws):
    pagers = []
    original = aws._paginator

    def spy(service, operation):
        pager = original(service, operation)
        pagers.append((service, operation, pager))
        return pager

    aws._paginator = spy
    aws.sweep(deployment="neuro", cluster_name="neuro-eks", name_prefix="neuro-")
    calls = dict(((s, o), p.paginate.call_args.kwargs) for s, o, p in pagers)
    assert calls[("resourcegroupstaggingapi", "get_resources")] == {
        "TagFilters": [{"Key": "hubops:deployment", "Values": ["neuro"]}]}
    assert calls[("events", "list_rules")] == {"NamePrefix": "neuro-"}
    assert calls[("sqs", "list_queues")] == {"QueueNamePrefix": "neuro-"}
    assert calls[("logs", "describe_log_groups")] == {"logGroupNamePrefix": "/aws/eks/neuro-eks/cluster"}
    assert calls[("iam", "list_policies")] == {"Scope": "Local"}
    assert calls[("budgets", "describe_budgets")] == {"AccountId": ACCOUNT}


def test_classifies_leftovers_and_user_data(aws):
    vpc, fs, ap = arn("ec2", "vpc/vpc-1"), arn("elasticfilesystem", "file-system/fs-1"), \
        arn("elasticfilesystem", "access-point/fsap-1")
    aws.tagged((vpc, DEP), (fs, DEP), (ap, DEP))
    aws("efs").describe_file_systems.return_value = {"FileSystems": [{"LifeCycleState": "available"}]}
    aws("efs").describe_access_points.return_value = {"AccessPoints": [{"LifeCycleState": "available"}]}

    result = aws.sweep()

    assert arns(result["leftovers"]) == [vpc]
    assert arns(result["user_data"]) == sorted([fs, ap])
    assert result["counts"] == {"leftovers": 1, "user_data": 2}
    assert result["leftovers"][0] == {"arn": vpc, "service": "ec2", "type": "vpc", "id": "vpc-1", "tags": DEP,
                                      "match": "tag hubops:deployment=dandi", "user_data": False}


def test_kms_key_pending_deletion_is_gone(aws):
    pending, disabled, enabled = arn("kms", "key/k-pending"), arn("kms", "key/k-disabled"), arn("kms", "key/k-on")
    replica, vanished = arn("kms", "key/k-replica"), arn("kms", "key/k-vanished")
    aws.tagged((pending, DEP), (disabled, DEP), (enabled, DEP), (replica, DEP), (vanished, DEP))
    states = {pending: "PendingDeletion", disabled: "Disabled", enabled: "Enabled", replica: "PendingReplicaDeletion"}

    def describe_key(KeyId):
        if KeyId == vanished:
            raise client_error("NotFoundException", "DescribeKey")
        return {"KeyMetadata": {"KeyId": KeyId, "KeyState": states[KeyId]}}

    aws("kms").describe_key.side_effect = describe_key

    result = aws.sweep()

    # Disabled is not pending deletion: the key still exists and still costs.
    assert arns(result["leftovers"]) == sorted([disabled, enabled])


def test_kms_key_kept_with_user_data_only(aws):
    key, volume = arn("kms", "key/k-on"), arn("ec2", "volume/vol-home")
    aws.tagged((key, DEP), (volume, DEP))
    aws("kms").describe_key.return_value = {"KeyMetadata": {"KeyId": "k-on", "KeyState": "Enabled"}}
    aws.page("ec2", "describe_volumes", {"Volumes": [{"VolumeId": "vol-home", "State": "available"}]})
    kept = aws.sweep()
    assert arns(kept["leftovers"]) == [] and arns(kept["user_data"]) == sorted([key, volume])


def test_kms_key_without_user_data_is_a_leftover(aws):
    key = arn("kms", "key/k-on")
    aws.tagged((key, DEP))
    aws("kms").describe_key.return_value = {"KeyMetadata": {"KeyId": "k-on", "KeyState": "Enabled"}}
    assert arns(aws.sweep()["leftovers"]) == [key]


def test_deleted_ec2_resources_are_gone(aws):
    nat_gone, nat_deleting, nat_up = (arn("ec2", "natgateway/nat-%s" % n) for n in ("gone", "deleting", "up"))
    i_term, i_up = arn("ec2", "instance/i-term"), arn("ec2", "instance/i-up")
    vpce, eip = arn("ec2", "vpc-endpoint/vpce-1"), arn("ec2", "elastic-ip/eipalloc-released")
    aws.tagged(*[(a, DEP) for a in (nat_gone, nat_deleting, nat_up, i_term, i_up, vpce, eip)])
    aws.page("ec2", "describe_nat_gateways", {"NatGateways": [
        {"NatGatewayId": "nat-gone", "State": "deleted"},
        {"NatGatewayId": "nat-deleting", "State": "deleting"},
        {"NatGatewayId": "nat-up", "State": "available"},
    ]})
    aws.page("ec2", "describe_instances", {"Reservations": [{"OwnerId": ACCOUNT, "Instances": [
        {"InstanceId": "i-term", "State": {"Name": "terminated"}},
        {"InstanceId": "i-up", "State": {"Name": "running"}},
    ]}]})
    aws.page("ec2", "describe_vpc_endpoints", {"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "State": "Deleted"}]})
    # released EIPs are simply not described any more (the default answer: no addresses)

    result = aws.sweep()

    assert arns(result["leftovers"]) == sorted([nat_up, i_up])
    nat_calls = [c for c in aws("ec2").get_paginator.call_args_list if c.args == ("describe_nat_gateways",)]
    assert len(nat_calls) == 1  # one batched describe for the three NAT gateways


def test_ec2_state_check_uses_id_filters(aws):
    aws.tagged((arn("ec2", "natgateway/nat-1"), DEP), (arn("ec2", "instance/i-1"), DEP))
    pagers = []
    original = aws._paginator

    def spy(service, operation):
        pager = original(service, operation)
        pagers.append((service, operation, pager))
        return pager

    aws._paginator = spy
    aws.sweep()
    kwargs = {(s, o): p.paginate.call_args.kwargs for s, o, p in pagers}
    assert kwargs[("ec2", "describe_nat_gateways")] == {"Filter": [{"Name": "nat-gateway-id", "Values": ["nat-1"]}]}
    instance_calls = [p.paginate.call_args.kwargs for s, o, p in pagers if o == "describe_instances"]
    assert {"Filters": [{"Name": "instance-id", "Values": ["i-1"]}]} in instance_calls


def test_stack_delete_complete_is_gone(aws):
    gone, alive = arn("cloudformation", "stack/dandi-a/1"), arn("cloudformation", "stack/dandi-b/2")
    vanished = arn("cloudformation", "stack/dandi-c/3")
    aws.tagged((gone, DEP), (alive, DEP), (vanished, DEP))

    def describe_stacks(StackName):
        if StackName == vanished:
            raise client_error("ValidationError", "DescribeStacks", message="Stack with id x does not exist")
        status = "DELETE_COMPLETE" if StackName == gone else "CREATE_COMPLETE"
        return {"Stacks": [{"StackId": StackName, "StackStatus": status}]}

    aws("cloudformation").describe_stacks.side_effect = describe_stacks
    assert arns(aws.sweep()["leftovers"]) == [alive]


def test_dedup_by_arn_merges_tags(aws):
    role = "arn:aws:iam::%s:role/dandi-node" % ACCOUNT
    aws.tagged((role, DEP))
    aws.page("iam", "list_roles", {"Roles": [{"RoleName": "dandi-node", "Arn": role}]})
    aws.page("iam", "list_role_tags", {"Tags": tag_list(dict(DEP, Name="dandi-node"))})

    result = aws.sweep()

    assert len(result["resources"]) == 1
    assert result["resources"][0]["tags"] == {"hubops:deployment": "dandi", "Name": "dandi-node"}
    assert result["resources"][0]["match"] == "tag hubops:deployment=dandi"


def test_iam_tags_fetched_only_for_matching_names(aws):
    aws.page("iam", "list_roles", {"Roles": [
        {"RoleName": "dandi-hub", "Arn": "arn:aws:iam::%s:role/dandi-hub" % ACCOUNT},
        {"RoleName": "eksctl-dandi-cluster-ServiceRole-X", "Arn": "arn:aws:iam::%s:role/eksctl-x" % ACCOUNT},
        {"RoleName": "KarpenterNodeRole-dandi", "Arn": "arn:aws:iam::%s:role/KarpenterNodeRole-dandi" % ACCOUNT},
        {"RoleName": "unrelated", "Arn": "arn:aws:iam::%s:role/unrelated" % ACCOUNT},
    ]})
    fetched = []
    tags_by_role = {
        "dandi-hub": DEP,
        "eksctl-dandi-cluster-ServiceRole-X": {"alpha.eksctl.io/cluster-name": "dandi"},
        "KarpenterNodeRole-dandi": {"hubops:deployment": "dandi-dev"},  # contains "dandi", but is dandi-dev's
    }

    def paginator(service, operation):
        pager = FakeAWS._paginator(aws, service, operation)
        if operation == "list_role_tags":
            def build(**kwargs):
                fetched.append(kwargs["RoleName"])
                result = MagicMock()
                result.build_full_result.return_value = {"Tags": tag_list(tags_by_role[kwargs["RoleName"]])}
                return result
            pager.paginate.side_effect = build
        return pager

    aws._paginator = paginator
    result = aws.sweep()

    assert fetched == ["dandi-hub", "eksctl-dandi-cluster-ServiceRole-X", "KarpenterNodeRole-dandi"]
    assert [r["id"] for r in result["leftovers"]] == ["dandi-hub", "eksctl-x"]


def test_iam_resource_gone_between_list_and_tags(aws):
    aws.page("iam", "list_roles", {"Roles": [{"RoleName": "dandi-hub", "Arn": "arn:aws:iam::1:role/dandi-hub"}]})
    aws.page("iam", "list_role_tags", client_error("NoSuchEntity", "ListRoleTags", status=404))
    result = aws.sweep()
    assert result["resources"] == [] and result["skipped_checks"] == []


def test_eks_cluster_by_name_and_by_tag(aws):
    aws.page("eks", "list_clusters", {"clusters": ["dandi", "tagged", "other"]})
    clusters = {
        "dandi": {"arn": arn("eks", "cluster/dandi"), "tags": {}},
        "tagged": {"arn": arn("eks", "cluster/tagged"), "tags": DEP},
        "other": {"arn": arn("eks", "cluster/other"), "tags": {"hubops:deployment": "other"}},
    }
    aws("eks").describe_cluster.side_effect = lambda name: {"cluster": clusters[name]}
    result = aws.sweep()
    assert [(r["id"], r["match"]) for r in result["leftovers"]] == [("dandi", "name dandi"),
                                                                    ("tagged", "tag hubops:deployment=dandi")]


def test_named_resources_not_claimed_elsewhere(aws):
    base = "https://sqs.%s.amazonaws.com/%s/" % (REGION, ACCOUNT)
    aws.page("sqs", "list_queues", {"QueueUrls": [base + "dandi-ours", base + "dandi-untagged", base + "dandi-dev-q"]})
    queue_tags = {"dandi-ours": DEP, "dandi-untagged": {}, "dandi-dev-q": {"hubops:deployment": "dandi-dev"}}
    aws("sqs").list_queue_tags.side_effect = lambda QueueUrl: {"Tags": queue_tags[QueueUrl.rsplit("/", 1)[-1]]}

    result = aws.sweep()

    assert [(r["id"], r["match"]) for r in result["leftovers"]] == [
        ("dandi-ours", "tag hubops:deployment=dandi"),
        ("dandi-untagged", "name dandi-* (no hubops:deployment tag)"),
    ]
    assert result["leftovers"][0]["arn"] == arn("sqs", "dandi-ours")


def test_eksctl_stacks_and_budgets_by_name(aws):
    aws.page("cloudformation", "describe_stacks", {"Stacks": [
        {"StackName": "eksctl-dandi-cluster", "StackId": arn("cloudformation", "stack/eksctl-dandi-cluster/1"),
         "StackStatus": "CREATE_COMPLETE", "Tags": []},
        {"StackName": "eksctl-dandi-dev-cluster", "StackId": arn("cloudformation", "stack/eksctl-dandi-dev/2"),
         "StackStatus": "CREATE_COMPLETE", "Tags": tag_list({"alpha.eksctl.io/cluster-name": "dandi-dev"})},
        {"StackName": "eksctl-dandi-nodegroup-core", "StackId": arn("cloudformation", "stack/eksctl-dandi-ng/3"),
         "StackStatus": "DELETE_COMPLETE", "Tags": []},
    ]})
    aws.page("budgets", "describe_budgets", {"Budgets": [{"BudgetName": "dandi-neuro"}, {"BudgetName": "other"}]})

    result = aws.sweep()

    assert arns(result["leftovers"]) == sorted([
        arn("cloudformation", "stack/eksctl-dandi-cluster/1"),
        "arn:aws:budgets::%s:budget/dandi-neuro" % ACCOUNT,
    ])


def test_controller_resources(aws):
    lb, tg = arn("elasticloadbalancing", "loadbalancer/net/k8s-hub/1"), \
        arn("elasticloadbalancing", "targetgroup/k8s-hub/2")
    aws.page("elbv2", "describe_load_balancers", {"LoadBalancers": [{"LoadBalancerArn": lb}]})
    aws.page("elbv2", "describe_target_groups", {"TargetGroups": [{"TargetGroupArn": tg}]})
    aws("elbv2").describe_tags.side_effect = lambda ResourceArns: {"TagDescriptions": [
        {"ResourceArn": a, "Tags": tag_list({"elbv2.k8s.aws/cluster": "dandi"})} for a in ResourceArns]}
    aws.page("elb", "describe_load_balancers", {"LoadBalancerDescriptions": [{"LoadBalancerName": "a1b2"}]})
    aws("elb").describe_tags.return_value = {"TagDescriptions": [
        {"LoadBalancerName": "a1b2", "Tags": tag_list({"kubernetes.io/cluster/dandi": "owned"})}]}
    aws.page("ec2", "describe_security_groups", {"SecurityGroups": [
        {"GroupId": "sg-lb", "OwnerId": ACCOUNT, "Tags": tag_list({"elbv2.k8s.aws/cluster": "dandi"})},
        {"GroupId": "sg-shared", "OwnerId": ACCOUNT, "Tags": tag_list({"kubernetes.io/cluster/dandi": "shared"})},
    ]})
    aws.page("ec2", "describe_launch_templates", {"LaunchTemplates": [
        {"LaunchTemplateId": "lt-1", "Tags": tag_list({"karpenter.k8s.aws/cluster": "dandi"})}]})
    aws.page("ec2", "describe_instances", {"Reservations": [{"OwnerId": ACCOUNT, "Instances": [
        {"InstanceId": "i-node", "State": {"Name": "running"}, "Tags": tag_list({"karpenter.sh/discovery": "dandi"})},
    ]}]})

    result = aws.sweep()

    assert arns(result["leftovers"]) == sorted([
        lb, tg, arn("elasticloadbalancing", "loadbalancer/a1b2"), arn("ec2", "security-group/sg-lb"),
        arn("ec2", "launch-template/lt-1"), arn("ec2", "instance/i-node"),
    ])


def test_unimplemented_services_are_skipped_not_silent(aws):
    aws.page("iam", "list_instance_profiles", {"InstanceProfiles": [
        {"InstanceProfileName": "dandi-node", "Arn": "arn:aws:iam::1:instance-profile/dandi-node"}]})
    aws.page("iam", "list_instance_profile_tags", ResponseParserError("invalid XML received"))
    aws.page("budgets", "describe_budgets", client_error("500", "DescribeBudgets", status=500))
    aws.page("eks", "list_clusters", client_error("404", "ListClusters", status=404))
    vpc = arn("ec2", "vpc/vpc-1")
    aws.tagged((vpc, DEP))

    result = aws.sweep()

    assert [s["check"] for s in result["skipped_checks"]] == ["iam:instance-profile", "eks:cluster", "budgets:budget"]
    assert all(s["reason"] for s in result["skipped_checks"])
    assert result["skipped_checks"][1]["service"] == "eks"
    assert "list EKS clusters" in result["skipped_checks"][1]["reason"]
    assert "HTTP 404" in result["skipped_checks"][1]["reason"]
    # the other checks still ran
    assert arns(result["leftovers"]) == [vpc]


def test_unimplemented_state_check_keeps_the_resource(aws):
    key = arn("kms", "key/k-1")
    aws.tagged((key, DEP))
    aws("kms").describe_key.side_effect = client_error("500", "DescribeKey", status=500)
    result = aws.sweep()
    assert arns(result["leftovers"]) == [key]
    assert [s["check"] for s in result["skipped_checks"]] == ["kms:key state"]


def test_real_errors_fail(aws):
    aws.page("iam", "list_roles", client_error("AccessDenied", "ListRoles", status=403))
    with pytest.raises(AnsibleOrphansError) as excinfo:
        aws.sweep()
    assert "list IAM roles" in str(excinfo.value)


def test_arns_use_partition_and_account(aws):
    aws("sts").get_caller_identity.return_value = {"Account": "210987654321",
                                                   "Arn": "arn:aws-us-gov:iam::210987654321:user/admin"}
    aws.page("budgets", "describe_budgets", {"Budgets": [{"BudgetName": "dandi-all"}]})
    result = aws.sweep()
    assert arns(result["leftovers"]) == ["arn:aws-us-gov:budgets::210987654321:budget/dandi-all"]
    assert orphans.parse_arn(result["leftovers"][0]["arn"])[1] == "budget"


def test_cognito_user_pools_by_name_and_tag(aws):
    listed = [{"Id": "us-east-2_ours", "Name": "dandi-hub"}, {"Id": "us-east-2_dev", "Name": "dandi-dev-hub"},
              {"Id": "us-east-2_else", "Name": "other-hub"}]
    aws.page("cognito-idp", "list_user_pools", {"UserPools": listed})
    pools = {
        "us-east-2_ours": {"Arn": arn("cognito-idp", "userpool/us-east-2_ours"), "UserPoolTags": {"hubops:deployment": "dandi"}},
        "us-east-2_dev": {"Arn": arn("cognito-idp", "userpool/us-east-2_dev"), "UserPoolTags": {"hubops:deployment": "dandi-dev"}},
    }
    aws("cognito-idp").describe_user_pool.side_effect = lambda UserPoolId: {"UserPool": pools[UserPoolId]}

    result = aws.sweep()

    # the pool holds the users' accounts: kept user data, not a leftover (teardown deletes it only with the data)
    assert arns(result["leftovers"]) == []
    assert arns(result["user_data"]) == [arn("cognito-idp", "userpool/us-east-2_ours")]
    assert aws.pages["cognito-idp"]["list_user_pools"]
