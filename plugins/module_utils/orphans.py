# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deployment left behind in AWS: the teardown sweep behind hubops.eks.aws_orphans.

The Resource Groups Tagging API finds most of what carries `hubops:deployment=<deployment>`, but it is blind to
some kinds (moto 5.2.5: IAM, EKS, Route53, Budgets, EventBridge rules, Elastic IPs, launch templates, VPC endpoints;
real AWS covers more, not all), it never sees what eksctl and the in-cluster controllers tagged with their own
keys, and it keeps listing resources that are already gone (terminated instances, deleted NAT gateways, KMS keys
pending deletion). So: one tagging query, then
one small lister per blind spot, then a state check per kind that can linger, then dedup by ARN.

Every function takes boto3 clients (or a `client_for(service)` factory) so it can be tested with MagicMock.
A check whose API the endpoint does not implement is recorded in `skipped_checks`, never silently dropped
(not `skipped`: Ansible reads a truthy `skipped` in a module result as "this task was skipped").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

try:
    from botocore.parsers import ResponseParserError
except ImportError:
    ResponseParserError = None  # AnsibleAWSModule reports the missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.hubops.eks.plugins.module_utils.naming import TAG_DEPLOYMENT
from ansible_collections.hubops.eks.plugins.module_utils.naming import is_user_data

# Tags that eksctl and the in-cluster controllers put on what they create (value: the cluster name).
TAG_EKSCTL_CLUSTER = ("alpha.eksctl.io/cluster-name", "eksctl.cluster.k8s.io/v1alpha1/cluster-name")
TAG_LB_CONTROLLER_CLUSTER = "elbv2.k8s.aws/cluster"
TAG_KARPENTER_CLUSTER = "karpenter.k8s.aws/cluster"
TAG_KARPENTER_MANAGED_BY = "karpenter.sh/managed-by"
TAG_KARPENTER_DISCOVERY = "karpenter.sh/discovery"
CLUSTER_TAGS = TAG_EKSCTL_CLUSTER + (TAG_LB_CONTROLLER_CLUSTER, TAG_KARPENTER_CLUSTER, TAG_KARPENTER_MANAGED_BY)

# Error codes an endpoint answers for an API it does not have. A bare HTTP status as the code (moto's 404 for an
# unknown route, its 500 for NotImplementedError) means the body was not an AWS error at all.
NOT_IMPLEMENTED_CODES = (
    "NotImplemented",
    "NotImplementedException",
    "InvalidAction",
    "UnknownOperationException",
    "UnsupportedOperation",
    "UnsupportedOperationException",
)

# EC2 kinds the tagging API keeps reporting after deletion: ARN type -> (describe call, id filter, result key,
# id field, state field, states that mean gone). Missing from the describe answer also means gone.
EC2_STATE_CHECKS = {
    "instance": ("describe_instances", "instance-id", "Reservations", "InstanceId", "State.Name", ("terminated",)),
    "natgateway": ("describe_nat_gateways", "nat-gateway-id", "NatGateways", "NatGatewayId", "State",
                   ("deleted", "deleting")),
    "vpc-endpoint": ("describe_vpc_endpoints", "vpc-endpoint-id", "VpcEndpoints", "VpcEndpointId", "State",
                     ("deleted",)),
    "elastic-ip": ("describe_addresses", "allocation-id", "Addresses", "AllocationId", None, ()),
    "volume": ("describe_volumes", "volume-id", "Volumes", "VolumeId", "State", ("deleted", "deleting")),
    "snapshot": ("describe_snapshots", "snapshot-id", "Snapshots", "SnapshotId", None, ()),
}
KMS_GONE_STATES = ("PendingDeletion", "PendingReplicaDeletion")
EFS_GONE_STATES = ("deleting", "deleted")
INSTANCE_LIVE_STATES = ("pending", "running", "shutting-down", "stopping", "stopped")
# ARN resources without a "type/" part
DEFAULT_RESOURCE_TYPES = {"sqs": "queue", "sns": "topic", "s3": "bucket"}
EC2_FILTER_CHUNK = 100
TAG_BATCH = {"elbv2": 20, "elb": 20}


class AnsibleOrphansError(AnsibleAWSError):
    pass


class OrphansErrorHandler(AWSErrorHandler):
    """amazon.aws's handler, plus botocore's ResponseParserError (an endpoint answering HTML, as moto does for
    an action it lacks), which is neither a ClientError nor a BotoCoreError."""

    _CUSTOM_EXCEPTION = AnsibleOrphansError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(
            ["NoSuchEntity", "NotFoundException", "ResourceNotFoundException",
             "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"]
        )

    @classmethod
    def common_error_handler(cls, description):
        aws_wrapper = super(OrphansErrorHandler, cls).common_error_handler(description)

        def wrapper(func):
            wrapped = aws_wrapper(func)

            @functools.wraps(func)
            def handler(*args, **kwargs):
                try:
                    return wrapped(*args, **kwargs)
                except Exception as e:  # pylint: disable=broad-except
                    if ResponseParserError is not None and isinstance(e, ResponseParserError):
                        raise cls._CUSTOM_EXCEPTION(message="Failed to %s" % description, exception=e)
                    raise

            return handler

        return wrapper


def not_implemented_reason(exception):
    """Why an error means "this endpoint does not serve that API" (a string), or None for a real failure."""
    inner = getattr(exception, "exception", None) or exception
    if ResponseParserError is not None and isinstance(inner, ResponseParserError):
        return "the endpoint answered with something that is not an AWS response (not implemented there)"
    response = getattr(inner, "response", None)
    if not isinstance(response, dict):
        return None
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in NOT_IMPLEMENTED_CODES:
        return "the endpoint does not implement it (%s)" % code
    if code.isdigit():
        return "the endpoint does not implement it (HTTP %s without an AWS error body)" % (status or code)
    return None


def tags_to_dict(tags):
    """boto3 tag lists (Key/Value, key/value, TagKey/TagValue) or plain dicts -> dict."""
    if not tags:
        return {}
    if isinstance(tags, dict):
        return dict(tags)
    if "TagKey" in tags[0]:
        return boto3_tag_list_to_ansible_dict(tags, "TagKey", "TagValue")
    return boto3_tag_list_to_ansible_dict(tags)


def parse_arn(arn):
    """ARN -> (service, type, id). `type` is what naming.USER_DATA_RESOURCE_TYPES uses after `<service>:`."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "", "", arn
    service, resource = parts[2], parts[5]
    cuts = [i for i in (resource.find("/"), resource.find(":")) if i > 0]
    if not cuts:
        return service, DEFAULT_RESOURCE_TYPES.get(service, ""), resource
    cut = min(cuts)
    rtype, rid = resource[:cut], resource[cut + 1:]
    if rtype == "log-group" and rid.endswith(":*"):
        rid = rid[:-2]
    if service == "iam":  # roles, policies, instance profiles live under a path; the name is what you delete by
        rid = rid.rsplit("/", 1)[-1]
    return service, rtype, rid


def ownership(tags, deployment, cluster_name):
    """Why these tags make a resource ours (`tag key=value`), or None.

    Ours: the deployment tag, or a cluster tag of eksctl, the load balancer controller or Karpenter with our
    cluster's name, or `kubernetes.io/cluster/<cluster>=owned` ("shared" marks somebody else's resource that the
    cluster merely uses, such as a BYO subnet).
    """
    tags = tags or {}
    if tags.get(TAG_DEPLOYMENT) == deployment:
        return "tag %s=%s" % (TAG_DEPLOYMENT, deployment)
    for key in CLUSTER_TAGS:
        if tags.get(key) == cluster_name:
            return "tag %s=%s" % (key, cluster_name)
    k8s_key = "kubernetes.io/cluster/%s" % cluster_name
    if tags.get(k8s_key) == "owned":
        return "tag %s=owned" % k8s_key
    return None


def claimed_elsewhere(tags, deployment, cluster_name):
    """True when tags say the resource belongs to another deployment or cluster (a name match is then a
    coincidence, e.g. `dandi-` also prefixes everything of `dandi-dev`)."""
    tags = tags or {}
    if TAG_DEPLOYMENT in tags and tags[TAG_DEPLOYMENT] != deployment:
        return True
    return any(key in tags and tags[key] != cluster_name for key in TAG_EKSCTL_CLUSTER)


class OrphanSweep:
    """Collects what a deployment left behind, deduplicated by ARN, and what could not be checked."""

    def __init__(self, deployment, cluster_name, name_prefix, region=None, account_id=None, partition="aws"):
        self.deployment = deployment
        self.cluster_name = cluster_name
        self.name_prefix = name_prefix
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self._resources = {}
        self.skipped_checks = []

    def arn(self, service, resource, region=True):
        return "arn:%s:%s:%s:%s:%s" % (self.partition, service, self.region if region else "", self.account_id,
                                       resource)

    def owned(self, tags):
        return ownership(tags, self.deployment, self.cluster_name)

    def add(self, arn, tags=None, match=None, state_known=False):
        """Record a resource; a second sighting of the same ARN merges tags and keeps the first reason."""
        tags = tags_to_dict(tags)
        record = self._resources.get(arn)
        if record is None:
            service, rtype, rid = parse_arn(arn)
            record = {
                "arn": arn,
                "service": service,
                "type": rtype,
                "id": rid,
                "tags": {},
                "match": match or self.owned(tags) or "listed",
                "user_data": is_user_data("%s:%s" % (service, rtype)),
                "_state_known": False,
            }
            self._resources[arn] = record
        record["tags"].update(tags)
        record["_state_known"] = record["_state_known"] or state_known
        return record

    def discard(self, arn):
        self._resources.pop(arn, None)

    def pending_state(self, service, rtype):
        """Resources of a kind whose state nobody has looked at yet (found by the tagging API only)."""
        return [r for r in self._resources.values()
                if r["service"] == service and r["type"] == rtype and not r["_state_known"]]

    def skip(self, check, reason):
        self.skipped_checks.append({"check": check, "service": check.split(":", 1)[0], "reason": reason})

    def result(self):
        resources = []
        for arn in sorted(self._resources):
            record = dict(self._resources[arn])
            record.pop("_state_known")
            resources.append(record)
        # The deployment's KMS key stays while data it encrypts is kept (roles/foundations): then it counts with the
        # data; once no user data is left, an enabled key is a leftover like anything else.
        if any(r["user_data"] for r in resources):
            for record in resources:
                if record["service"] == "kms" and record["type"] == "key":
                    record["user_data"] = True
        leftovers = [r for r in resources if not r["user_data"]]
        user_data = [r for r in resources if r["user_data"]]
        return {
            "resources": resources,
            "leftovers": leftovers,
            "user_data": user_data,
            "skipped_checks": list(self.skipped_checks),
            "counts": {"leftovers": len(leftovers), "user_data": len(user_data)},
        }


def _run_check(sweep, check, func, *args):
    """Run one lister; an API the endpoint lacks becomes a `skipped_checks` entry, any other failure propagates."""
    try:
        func(*args)
    except AnsibleOrphansError as e:
        reason = not_implemented_reason(e)
        if reason is None:
            raise
        sweep.skip(check, "%s: %s" % (e.message, reason))


def _paginate(client, operation, result_key, **kwargs):
    return client.get_paginator(operation).paginate(**kwargs).build_full_result().get(result_key, [])


def _chunks(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------------------------------------------
# Listing calls (one per API, error handler + retry, as in amazon.aws module_utils/iam.py)


@OrphansErrorHandler.common_error_handler("identify the AWS account")
@AWSRetry.jittered_backoff()
def caller_identity(client):
    return client.get_caller_identity()


@OrphansErrorHandler.common_error_handler("list tagged resources (resourcegroupstaggingapi GetResources)")
@AWSRetry.jittered_backoff()
def get_tagged_resources(client, tag_filters):
    return _paginate(client, "get_resources", "ResourceTagMappingList", TagFilters=tag_filters)


@OrphansErrorHandler.common_error_handler("list IAM roles")
@AWSRetry.jittered_backoff()
def list_iam_roles(client):
    return _paginate(client, "list_roles", "Roles")


@OrphansErrorHandler.common_error_handler("list IAM customer managed policies")
@AWSRetry.jittered_backoff()
def list_iam_policies(client):
    return _paginate(client, "list_policies", "Policies", Scope="Local")


@OrphansErrorHandler.common_error_handler("list IAM instance profiles")
@AWSRetry.jittered_backoff()
def list_iam_instance_profiles(client):
    return _paginate(client, "list_instance_profiles", "InstanceProfiles")


@OrphansErrorHandler.common_error_handler("list IAM OIDC providers")
@AWSRetry.jittered_backoff()
def list_oidc_providers(client):
    return client.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])


@OrphansErrorHandler.list_error_handler("list tags of an IAM resource")
@AWSRetry.jittered_backoff()
def list_iam_tags(client, kind, name):
    """Tags of an IAM role / policy / instance-profile / OIDC provider; None when it is already gone."""
    operation, key = {
        "role": ("list_role_tags", "RoleName"),
        "policy": ("list_policy_tags", "PolicyArn"),
        "instance-profile": ("list_instance_profile_tags", "InstanceProfileName"),
        "oidc-provider": ("list_open_id_connect_provider_tags", "OpenIDConnectProviderArn"),
    }[kind]
    return tags_to_dict(_paginate(client, operation, "Tags", **{key: name}))


@OrphansErrorHandler.common_error_handler("list EKS clusters")
@AWSRetry.jittered_backoff()
def list_eks_clusters(client):
    return _paginate(client, "list_clusters", "clusters")


@OrphansErrorHandler.list_error_handler("describe an EKS cluster")
@AWSRetry.jittered_backoff()
def describe_eks_cluster(client, name):
    return client.describe_cluster(name=name)["cluster"]


@OrphansErrorHandler.common_error_handler("list Route53 hosted zones")
@AWSRetry.jittered_backoff()
def list_hosted_zones(client):
    return _paginate(client, "list_hosted_zones", "HostedZones")


@OrphansErrorHandler.list_error_handler("list tags of a Route53 hosted zone")
@AWSRetry.jittered_backoff()
def list_hosted_zone_tags(client, zone_id):
    """One GET per zone (ListTagsForResources would batch 10, but it is a POST, which read-only auditing and the
    test proxy count as a write)."""
    try:
        found = client.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)
    except is_boto3_error_code("NoSuchHostedZone"):
        return None
    return tags_to_dict(found.get("ResourceTagSet", {}).get("Tags"))


@OrphansErrorHandler.common_error_handler("list EventBridge rules")
@AWSRetry.jittered_backoff()
def list_event_rules(client, name_prefix):
    return _paginate(client, "list_rules", "Rules", NamePrefix=name_prefix)


@OrphansErrorHandler.list_error_handler("list tags of an EventBridge rule")
@AWSRetry.jittered_backoff()
def list_event_rule_tags(client, arn):
    return tags_to_dict(client.list_tags_for_resource(ResourceARN=arn).get("Tags"))


@OrphansErrorHandler.common_error_handler("list AWS Budgets")
@AWSRetry.jittered_backoff()
def list_budgets(client, account_id):
    return _paginate(client, "describe_budgets", "Budgets", AccountId=account_id)


@OrphansErrorHandler.common_error_handler("list CloudFormation stacks")
@AWSRetry.jittered_backoff()
def list_stacks(client):
    return _paginate(client, "describe_stacks", "Stacks")


@OrphansErrorHandler.list_error_handler("describe a CloudFormation stack")
@AWSRetry.jittered_backoff()
def describe_stack(client, stack_id):
    try:
        stacks = client.describe_stacks(StackName=stack_id).get("Stacks", [])
    except is_boto3_error_code("ValidationError"):  # "Stack with id ... does not exist"
        return None
    return stacks[0] if stacks else None


@OrphansErrorHandler.common_error_handler("list CloudWatch log groups")
@AWSRetry.jittered_backoff()
def list_log_groups(client, prefix):
    return _paginate(client, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)


@OrphansErrorHandler.common_error_handler("list SQS queues")
@AWSRetry.jittered_backoff()
def list_queues(client, prefix):
    return _paginate(client, "list_queues", "QueueUrls", QueueNamePrefix=prefix)


@OrphansErrorHandler.list_error_handler("list tags of an SQS queue")
@AWSRetry.jittered_backoff()
def list_queue_tags(client, url):
    return tags_to_dict(client.list_queue_tags(QueueUrl=url).get("Tags"))


@OrphansErrorHandler.common_error_handler("describe EC2 resources")
@AWSRetry.jittered_backoff()
def describe_ec2(client, operation, result_key, filters, **kwargs):
    """One EC2 Describe* call with filters (NAT gateways spell the parameter `Filter`)."""
    kwargs["Filter" if operation == "describe_nat_gateways" else "Filters"] = filters
    if operation == "describe_addresses":  # not paginated
        items = client.describe_addresses(**kwargs).get(result_key, [])
    else:
        items = _paginate(client, operation, result_key, **kwargs)
    if result_key == "Reservations":
        return [dict(i, OwnerId=r.get("OwnerId")) for r in items for i in r.get("Instances", [])]
    return items


@OrphansErrorHandler.common_error_handler("list load balancers")
@AWSRetry.jittered_backoff()
def list_load_balancers(client, operation, result_key):
    return _paginate(client, operation, result_key)


@OrphansErrorHandler.common_error_handler("list tags of load balancers / target groups")
@AWSRetry.jittered_backoff()
def describe_elb_tags(client, names_or_arns, classic=False):
    """{ARN or classic name: tags} for up to 20 load balancers (elbv2) or classic load balancers (elb)."""
    if classic:
        found = client.describe_tags(LoadBalancerNames=names_or_arns)["TagDescriptions"]
        return dict((d["LoadBalancerName"], tags_to_dict(d.get("Tags"))) for d in found)
    found = client.describe_tags(ResourceArns=names_or_arns)["TagDescriptions"]
    return dict((d["ResourceArn"], tags_to_dict(d.get("Tags"))) for d in found)


@OrphansErrorHandler.list_error_handler("describe a KMS key")
@AWSRetry.jittered_backoff()
def describe_kms_key(client, key_id):
    return client.describe_key(KeyId=key_id)["KeyMetadata"]


@OrphansErrorHandler.list_error_handler("describe an EFS resource")
@AWSRetry.jittered_backoff()
def describe_efs(client, rtype, rid):
    try:
        if rtype == "file-system":
            found = client.describe_file_systems(FileSystemId=rid).get("FileSystems", [])
        else:
            found = client.describe_access_points(AccessPointId=rid).get("AccessPoints", [])
    except is_boto3_error_code(["FileSystemNotFound", "AccessPointNotFound"]):
        return None
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------------------------
# Checks: each adds what it finds to the sweep


def check_tagged(client, sweep):
    """Everything the Resource Groups Tagging API reports with our deployment tag (state checked later)."""
    for mapping in get_tagged_resources(client, [{"Key": TAG_DEPLOYMENT, "Values": [sweep.deployment]}]):
        sweep.add(mapping["ResourceARN"], mapping.get("Tags"), match="tag %s=%s" % (TAG_DEPLOYMENT, sweep.deployment))


def iam_name_matches(sweep, name):
    """Only these get their tags fetched (one call each): `<name_prefix>*`, or names holding the cluster name
    (eksctl-<cluster>-..., KarpenterNodeRole-<cluster>, Karpenter's <cluster>_<hash> instance profiles)."""
    lowered = name.lower()
    return lowered.startswith(sweep.name_prefix.lower()) or sweep.cluster_name.lower() in lowered


def check_iam(client, sweep, kind):
    listers = {
        "role": (list_iam_roles, "RoleName"),
        "policy": (list_iam_policies, "PolicyName"),
        "instance-profile": (list_iam_instance_profiles, "InstanceProfileName"),
    }
    lister, name_key = listers[kind]
    for item in lister(client):
        if not iam_name_matches(sweep, item[name_key]):
            continue
        tags = list_iam_tags(client, kind, item["Arn"] if kind == "policy" else item[name_key])
        if tags is not None and sweep.owned(tags):
            sweep.add(item["Arn"], tags, state_known=True)


def check_oidc_providers(client, sweep):
    """All OIDC providers (an account has few; their URL says nothing once the cluster is gone)."""
    for provider in list_oidc_providers(client):
        tags = list_iam_tags(client, "oidc-provider", provider["Arn"])
        if tags is not None and sweep.owned(tags):
            sweep.add(provider["Arn"], tags, state_known=True)


def check_eks_clusters(client, sweep):
    for name in list_eks_clusters(client):
        cluster = describe_eks_cluster(client, name)
        if cluster is None:
            continue
        tags = cluster.get("tags") or {}
        match = "name %s" % name if name == sweep.cluster_name else sweep.owned(tags)
        if match:
            sweep.add(cluster["arn"], tags, match=match, state_known=True)


def check_hosted_zones(client, sweep):
    """Only zones carrying our deployment tag: a zone we merely write records into is the admin's."""
    for zone in list_hosted_zones(client):
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        tags = list_hosted_zone_tags(client, zone_id)
        if tags and tags.get(TAG_DEPLOYMENT) == sweep.deployment:
            sweep.add("arn:%s:route53:::hostedzone/%s" % (sweep.partition, zone_id), tags, state_known=True)


def _named(sweep, tags):
    """A resource found by our name prefix: ours by its tags, or untagged, but not when tagged for someone else."""
    match = sweep.owned(tags)
    if match:
        return match
    if claimed_elsewhere(tags, sweep.deployment, sweep.cluster_name):
        return None
    return "name %s* (no %s tag)" % (sweep.name_prefix, TAG_DEPLOYMENT)


def check_event_rules(client, sweep):
    for rule in list_event_rules(client, sweep.name_prefix):
        tags = list_event_rule_tags(client, rule["Arn"])
        if tags is None:
            continue
        match = _named(sweep, tags)
        if match:
            sweep.add(rule["Arn"], tags, match=match, state_known=True)


def check_budgets(client, sweep):
    """Budgets by name: `<name_prefix>*` (the Budgets tagging API is not used, so a budget of a deployment whose
    name extends ours, `dandi-dev-*` for `dandi`, would match too)."""
    for budget in list_budgets(client, sweep.account_id):
        name = budget["BudgetName"]
        if name.startswith(sweep.name_prefix):
            sweep.add("arn:%s:budgets::%s:budget/%s" % (sweep.partition, sweep.account_id, name),
                      match="name %s*" % sweep.name_prefix, state_known=True)


@OrphansErrorHandler.common_error_handler("list Cognito user pools")
@AWSRetry.jittered_backoff()
def list_user_pools(client):
    return _paginate(client, "list_user_pools", "UserPools", MaxResults=60)


@OrphansErrorHandler.list_error_handler("describe a Cognito user pool")
@AWSRetry.jittered_backoff()
def describe_user_pool(client, pool_id):
    return client.describe_user_pool(UserPoolId=pool_id).get("UserPool")


def check_user_pools(client, sweep):
    """Cognito user pools named `<name_prefix>*` that carry our tag (the hub's login, auth type cognito)."""
    for summary in list_user_pools(client):
        if not summary.get("Name", "").startswith(sweep.name_prefix):
            continue
        pool = describe_user_pool(client, summary["Id"])
        if pool is None:
            continue
        tags = pool.get("UserPoolTags") or {}
        match = _named(sweep, tags)
        if match:
            arn = pool.get("Arn") or sweep.arn("cognito-idp", "userpool/%s" % summary["Id"])
            sweep.add(arn, tags, match=match, state_known=True)


def check_stacks(client, sweep):
    """Stacks tagged ours, and eksctl's `eksctl-<cluster>-*` (DescribeStacks omits DELETE_COMPLETE ones)."""
    eksctl_prefix = "eksctl-%s-" % sweep.cluster_name
    for stack in list_stacks(client):
        if stack.get("StackStatus") == "DELETE_COMPLETE":
            continue
        tags = tags_to_dict(stack.get("Tags"))
        match = sweep.owned(tags)
        eksctl_named = stack["StackName"].startswith(eksctl_prefix)
        if not match and eksctl_named and not claimed_elsewhere(tags, sweep.deployment, sweep.cluster_name):
            match = "name %s*" % eksctl_prefix
        if match:
            sweep.add(stack["StackId"], tags, match=match, state_known=True)


def check_control_plane_logs(client, sweep):
    """EKS writes `/aws/eks/<cluster>/cluster` and eksctl does not delete it."""
    name = "/aws/eks/%s/cluster" % sweep.cluster_name
    for group in list_log_groups(client, name):
        if group["logGroupName"] != name:
            continue
        arn = group.get("logGroupArn") or group["arn"]
        if arn.endswith(":*"):
            arn = arn[:-2]
        sweep.add(arn, match="name %s" % name, state_known=True)


def check_queues(client, sweep):
    for url in list_queues(client, sweep.name_prefix):
        account_id, name = url.rstrip("/").split("/")[-2:]
        tags = list_queue_tags(client, url)
        if tags is None:
            continue
        match = _named(sweep, tags)
        if match:
            sweep.add("arn:%s:sqs:%s:%s:%s" % (sweep.partition, sweep.region, account_id, name), tags,
                      match=match, state_known=True)


def check_launch_templates(client, sweep):
    """Karpenter's launch templates (tagged karpenter.k8s.aws/cluster), and ours."""
    filters = [{"Name": "tag-key", "Values": [TAG_KARPENTER_CLUSTER, TAG_DEPLOYMENT]}]
    for template in describe_ec2(client, "describe_launch_templates", "LaunchTemplates", filters):
        tags = tags_to_dict(template.get("Tags"))
        match = sweep.owned(tags)
        if match:
            sweep.add(sweep.arn("ec2", "launch-template/%s" % template["LaunchTemplateId"]), tags, match=match,
                      state_known=True)


def check_instances(client, sweep):
    """Instances not terminated that are ours, Karpenter's nodes (karpenter.sh/discovery=<cluster>) included."""
    k8s_key = "kubernetes.io/cluster/%s" % sweep.cluster_name
    filters = [
        {"Name": "tag-key", "Values": [TAG_DEPLOYMENT, TAG_KARPENTER_DISCOVERY, k8s_key]},
        {"Name": "instance-state-name", "Values": list(INSTANCE_LIVE_STATES)},
    ]
    for instance in describe_ec2(client, "describe_instances", "Reservations", filters):
        tags = tags_to_dict(instance.get("Tags"))
        match = sweep.owned(tags)
        if not match and tags.get(TAG_KARPENTER_DISCOVERY) == sweep.cluster_name:
            match = "tag %s=%s" % (TAG_KARPENTER_DISCOVERY, sweep.cluster_name)
        if match:
            arn = "arn:%s:ec2:%s:%s:instance/%s" % (sweep.partition, sweep.region,
                                                    instance.get("OwnerId") or sweep.account_id,
                                                    instance["InstanceId"])
            sweep.add(arn, tags, match=match, state_known=True)


def check_security_groups(client, sweep):
    """Security groups of the load balancer controller and of the in-tree service controller."""
    keys = [TAG_LB_CONTROLLER_CLUSTER, "kubernetes.io/cluster/%s" % sweep.cluster_name]
    filters = [{"Name": "tag-key", "Values": keys}]
    for group in describe_ec2(client, "describe_security_groups", "SecurityGroups", filters):
        tags = tags_to_dict(group.get("Tags"))
        match = sweep.owned(tags)
        if match:
            arn = "arn:%s:ec2:%s:%s:security-group/%s" % (sweep.partition, sweep.region,
                                                          group.get("OwnerId") or sweep.account_id, group["GroupId"])
            sweep.add(arn, tags, match=match, state_known=True)


def check_elastic_ips(client, sweep):
    """Allocated Elastic IPs with our tag (a NAT gateway's EIP outlives the gateway, and bills)."""
    filters = [{"Name": "tag-key", "Values": [TAG_DEPLOYMENT]}]
    for address in describe_ec2(client, "describe_addresses", "Addresses", filters):
        tags = tags_to_dict(address.get("Tags"))
        if sweep.owned(tags) and address.get("AllocationId"):
            sweep.add(sweep.arn("ec2", "elastic-ip/%s" % address["AllocationId"]), tags, state_known=True)


def check_elbv2(client, sweep, kind):
    """Load balancers or target groups carrying the controllers' tags (or ours)."""
    operation, result_key, arn_key = {
        "loadbalancer": ("describe_load_balancers", "LoadBalancers", "LoadBalancerArn"),
        "targetgroup": ("describe_target_groups", "TargetGroups", "TargetGroupArn"),
    }[kind]
    arns = [item[arn_key] for item in list_load_balancers(client, operation, result_key)]
    for batch in _chunks(arns, TAG_BATCH["elbv2"]):
        for arn, tags in describe_elb_tags(client, batch).items():
            match = sweep.owned(tags)
            if match:
                sweep.add(arn, tags, match=match, state_known=True)


def check_classic_elbs(client, sweep):
    """Classic load balancers of the in-tree service controller (a Service the LB controller did not claim)."""
    found = list_load_balancers(client, "describe_load_balancers", "LoadBalancerDescriptions")
    names = [lb["LoadBalancerName"] for lb in found]
    for batch in _chunks(names, TAG_BATCH["elb"]):
        for name, tags in describe_elb_tags(client, batch, classic=True).items():
            match = sweep.owned(tags)
            if match:
                sweep.add(sweep.arn("elasticloadbalancing", "loadbalancer/%s" % name), tags, match=match,
                          state_known=True)


# ---------------------------------------------------------------------------------------------------------------
# Gone but still listed: the tagging API reports deleted resources for a while (and KMS keys until deleted)


def _dig(item, path):
    for key in path.split("."):
        item = (item or {}).get(key)
    return item


def drop_gone_ec2(client, sweep, rtype):
    pending = sweep.pending_state("ec2", rtype)
    if not pending:
        return
    operation, id_filter, result_key, id_key, state_path, gone_states = EC2_STATE_CHECKS[rtype]
    alive = set()
    extra = {"OwnerIds": ["self"]} if rtype == "snapshot" else {}
    for batch in _chunks([r["id"] for r in pending], EC2_FILTER_CHUNK):
        filters = [{"Name": id_filter, "Values": batch}]
        for item in describe_ec2(client, operation, result_key, filters, **extra):
            state = str(_dig(item, state_path) or "").lower() if state_path else ""
            if state not in gone_states:
                alive.add(item[id_key])
    for record in pending:
        if record["id"] not in alive:
            sweep.discard(record["arn"])


def drop_gone_kms_keys(client, sweep):
    """A key pending deletion is gone as far as teardown is concerned (DESIGN.md §2)."""
    for record in sweep.pending_state("kms", "key"):
        key = describe_kms_key(client, record["arn"])
        if key is None or key.get("KeyState") in KMS_GONE_STATES:
            sweep.discard(record["arn"])


def drop_gone_stacks(client, sweep):
    for record in sweep.pending_state("cloudformation", "stack"):
        stack = describe_stack(client, record["arn"])
        if stack is None or stack.get("StackStatus") == "DELETE_COMPLETE":
            sweep.discard(record["arn"])


def drop_gone_efs(client, sweep, rtype):
    for record in sweep.pending_state("elasticfilesystem", rtype):
        found = describe_efs(client, rtype, record["id"])
        if found is None or str(found.get("LifeCycleState", "")).lower() in EFS_GONE_STATES:
            sweep.discard(record["arn"])


# ---------------------------------------------------------------------------------------------------------------


def sweep_orphans(client_for, deployment, cluster_name, name_prefix, region, only=None):
    """Run every check (or only those named in `only`) against `client_for(service)` clients; return the module's
    result dict."""
    identity = caller_identity(client_for("sts"))
    sweep = OrphanSweep(deployment, cluster_name, name_prefix, region=region, account_id=identity["Account"],
                        partition=identity["Arn"].split(":")[1])

    def run_check(sweep, name, *args):  # pylint: disable=redefined-outer-name
        if only and name.split(" ")[0] not in only:
            return
        _run_check(sweep, name, *args)

    run_check(sweep, "tagging", check_tagged, client_for("resourcegroupstaggingapi"), sweep)
    iam = client_for("iam")
    for kind in ("role", "policy", "instance-profile"):
        run_check(sweep, "iam:%s" % kind, check_iam, iam, sweep, kind)
    run_check(sweep, "iam:oidc-provider", check_oidc_providers, iam, sweep)
    run_check(sweep, "eks:cluster", check_eks_clusters, client_for("eks"), sweep)
    run_check(sweep, "route53:hostedzone", check_hosted_zones, client_for("route53"), sweep)
    run_check(sweep, "events:rule", check_event_rules, client_for("events"), sweep)
    run_check(sweep, "budgets:budget", check_budgets, client_for("budgets"), sweep)
    run_check(sweep, "cognito-idp:userpool", check_user_pools, client_for("cognito-idp"), sweep)
    run_check(sweep, "cloudformation:stack", check_stacks, client_for("cloudformation"), sweep)
    run_check(sweep, "logs:log-group", check_control_plane_logs, client_for("logs"), sweep)
    run_check(sweep, "sqs:queue", check_queues, client_for("sqs"), sweep)
    ec2 = client_for("ec2")
    run_check(sweep, "ec2:launch-template", check_launch_templates, ec2, sweep)
    run_check(sweep, "ec2:instance", check_instances, ec2, sweep)
    run_check(sweep, "ec2:security-group", check_security_groups, ec2, sweep)
    run_check(sweep, "ec2:elastic-ip", check_elastic_ips, ec2, sweep)
    elbv2 = client_for("elbv2")
    for kind in ("loadbalancer", "targetgroup"):
        run_check(sweep, "elasticloadbalancing:%s" % kind, check_elbv2, elbv2, sweep, kind)
    run_check(sweep, "elb:loadbalancer", check_classic_elbs, client_for("elb"), sweep)

    # State checks only for kinds present, so an account without them costs no client and no call.
    for rtype in EC2_STATE_CHECKS:
        if sweep.pending_state("ec2", rtype):
            run_check(sweep, "ec2:%s state" % rtype, drop_gone_ec2, ec2, sweep, rtype)
    if sweep.pending_state("kms", "key"):
        run_check(sweep, "kms:key state", drop_gone_kms_keys, client_for("kms"), sweep)
    if sweep.pending_state("cloudformation", "stack"):
        run_check(sweep, "cloudformation:stack state", drop_gone_stacks, client_for("cloudformation"), sweep)
    for rtype in ("file-system", "access-point"):
        if sweep.pending_state("elasticfilesystem", rtype):
            run_check(sweep, "elasticfilesystem:%s state" % rtype, drop_gone_efs, client_for("efs"), sweep, rtype)
    return sweep.result()
