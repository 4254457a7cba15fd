#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: aws_orphans
short_description: List what a hubops deployment left behind in AWS
version_added: 0.1.0
description:
  - Lists every AWS resource that still belongs to a deployment, so that C(teardown.yml) can fail on anything left
    that is not user data, and so that an admin can see what a deployment still costs.
  - A resource belongs to the deployment when it carries the tag C(hubops:deployment=<deployment>), or a cluster tag
    of eksctl (C(alpha.eksctl.io/cluster-name)), the AWS Load Balancer Controller (C(elbv2.k8s.aws/cluster)) or
    Karpenter (C(karpenter.k8s.aws/cluster), C(karpenter.sh/managed-by)) whose value is O(cluster_name), or
    C(kubernetes.io/cluster/<cluster_name>=owned). A value of C(shared) marks somebody else's resource (a BYO
    subnet) and is not reported.
  - Starts with one Resource Groups Tagging API query for the deployment tag, then lists explicitly where that API
    is blind or where other tools tag on their own terms.
    IAM roles, customer managed policies and instance profiles (tags are fetched, one call each, only for names that
    start with O(name_prefix) or contain O(cluster_name); one named otherwise is found only where the tagging API
    covers IAM);
    IAM OIDC providers; EKS clusters (the one named O(cluster_name) always counts);
    Route53 hosted zones tagged with the deployment tag; EventBridge rules and SQS queues named O(name_prefix)*;
    AWS Budgets named O(name_prefix)*; Cognito user pools named O(name_prefix)* and tagged ours (or untagged);
    CloudFormation stacks tagged ours or named C(eksctl-<cluster_name>-*);
    the EKS control-plane log group C(/aws/eks/<cluster_name>/cluster);
    EC2 launch templates, instances (not terminated; also C(karpenter.sh/discovery=<cluster_name>)), security groups
    and Elastic IPs; ELBv2 load balancers and target groups and classic load balancers.
  - A resource found by name only (EventBridge rule, SQS queue, eksctl stack) is reported unless its tags say it
    belongs to another deployment or cluster. Budgets are matched by name alone, so a deployment whose name extends
    this one (C(dandi-dev) for C(dandi)) shares the budget prefix; give such deployments an explicit O(name_prefix).
  - Drops what is listed but already gone. KMS keys pending deletion, NAT gateways deleted or deleting, instances
    terminated, VPC endpoints deleted, volumes deleted or deleting, CloudFormation stacks C(DELETE_COMPLETE), EFS file
    systems and access points deleting or deleted, and anything the service no longer knows.
  - Resources are deduplicated by ARN and split into user data (EFS file systems and access points, EBS volumes and
    snapshots, AWS Backup vaults and recovery points; kept by teardown unless asked) and leftovers (everything else).
  - When the endpoint does not implement an API one of these checks needs (some emulators), that check is reported in
    RV(skipped_checks) with the reason, never silently ignored. Any other AWS error fails the module.
  - Read-only. Never changes anything, so it runs the same in check mode.
author: hubops.eks contributors (@hubops)
options:
  deployment:
    description:
      - The deployment name, the value of the C(hubops:deployment) tag (C(hubops_deployment) in the inventory).
    type: str
    required: true
  cluster_name:
    description:
      - The EKS cluster of the deployment, for the tags of eksctl and the in-cluster controllers.
      - Defaults to O(deployment).
    type: str
  name_prefix:
    description:
      - The prefix of the deployment's resource names, for the checks that go by name.
      - Defaults to C(<deployment>-).
    type: str
  checks:
    description:
      - Run only these checks (their names as in RV(skipped_checks), e.g. C(ec2:launch-template), C(ec2:instance));
        default all. The karpenter role uses it to find Karpenter's launch templates and instances at teardown.
    type: list
    elements: str
notes:
  - Needs read access only, for C(tag:GetResources), C(sts:GetCallerIdentity), and the C(List*)/C(Describe*) calls
    of IAM, EKS, Route53, EventBridge, Budgets, Cognito, CloudFormation, CloudWatch Logs, SQS, EC2, Elastic Load
    Balancing, KMS and EFS.
  - Makes about 25 calls, plus one per IAM role, policy or instance profile whose name matches, per OIDC provider,
    EKS cluster and Route53 hosted zone, per EventBridge rule and SQS queue named O(name_prefix)*, per 20 load
    balancers or target groups, and per KMS key, CloudFormation stack and EFS resource the tagging API reports.
  - The Resource Groups Tagging API and regional listings cover the configured region only; IAM, Route53 and Budgets
    are global.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: List what the deployment left behind
  hubops.eks.aws_orphans:
    deployment: dandi
    region: us-east-2
  register: orphans

- name: Fail on leftovers that are not user data
  ansible.builtin.assert:
    that: orphans.counts.leftovers == 0
    fail_msg: "Still in AWS: {{ orphans.leftovers | map(attribute='arn') | list }}"
    quiet: true

- name: Sweep a deployment whose cluster is named differently, against an emulated AWS
  hubops.eks.aws_orphans:
    deployment: dandi
    cluster_name: dandi-hub
    name_prefix: dandi-
    endpoint_url: http://127.0.0.1:4566
    region: us-east-1
"""

RETURN = r"""
resources:
  description: Every resource of the deployment still in AWS, leftovers and user data, sorted by ARN.
  returned: always
  type: list
  elements: dict
  contains:
    arn:
      description: The ARN.
      type: str
      sample: arn:aws:ec2:us-east-2:123456789012:vpc/vpc-0a1b2c3d4e5f67890
    service:
      description: The service part of the ARN.
      type: str
      sample: ec2
    type:
      description: The resource type of the ARN (C(queue) for SQS, C(topic) for SNS, whose ARNs have none).
      type: str
      sample: vpc
    id:
      description: The resource ID or name (for IAM, the name without its path; for log groups, the group name).
      type: str
      sample: vpc-0a1b2c3d4e5f67890
    tags:
      description: The tags seen, as a dict (empty where the listing does not return tags, as for budgets).
      type: dict
      sample: {"hubops:deployment": "dandi", "Name": "dandi-vpc"}
    match:
      description: Why the resource counts as the deployment's (C(tag key=value) or C(name <pattern>)).
      type: str
      sample: tag hubops:deployment=dandi
    user_data:
      description: Whether it is user data (kept by teardown unless C(hubops_teardown_delete_data) is true).
      type: bool
      sample: false
leftovers:
  description: The entries of RV(resources) that are not user data. Teardown fails while this is not empty.
  returned: always
  type: list
  elements: dict
  sample: [{"arn": "arn:aws:iam::123456789012:role/dandi-karpenter-node", "service": "iam", "type": "role",
            "id": "dandi-karpenter-node", "tags": {"hubops:deployment": "dandi"},
            "match": "tag hubops:deployment=dandi", "user_data": false}]
user_data:
  description: The entries of RV(resources) that are user data.
  returned: always
  type: list
  elements: dict
  sample: [{"arn": "arn:aws:elasticfilesystem:us-east-2:123456789012:file-system/fs-0123456789abcdef0",
            "service": "elasticfilesystem", "type": "file-system", "id": "fs-0123456789abcdef0",
            "tags": {"hubops:deployment": "dandi"}, "match": "tag hubops:deployment=dandi", "user_data": true}]
skipped_checks:
  description:
    - Checks that could not run because the endpoint does not implement an API they need.
    - Not called C(skipped), which Ansible would read as "this task was skipped" whenever it is not empty.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: The check, as C(<service>:<resource type>), with C( state) appended for the gone-or-not checks.
      type: str
      sample: iam:instance-profile
    service:
      description: The service of the check.
      type: str
      sample: iam
    reason:
      description: What failed and why.
      type: str
      sample: >-
        Failed to list tags of an IAM resource: the endpoint answered with something that is not an AWS response
        (not implemented there)
counts:
  description: How many leftovers and user data resources were found.
  returned: always
  type: dict
  contains:
    leftovers:
      description: Length of RV(leftovers).
      type: int
      sample: 0
    user_data:
      description: Length of RV(user_data).
      type: int
      sample: 2
"""

try:
    import botocore  # noqa: F401, pylint: disable=unused-import
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.module_utils.naming import cluster_name as default_cluster_name
from ansible_collections.hubops.eks.plugins.module_utils.naming import resource_name
from ansible_collections.hubops.eks.plugins.module_utils.orphans import AnsibleOrphansError
from ansible_collections.hubops.eks.plugins.module_utils.orphans import sweep_orphans


def main():
    argument_spec = dict(
        deployment=dict(type="str", required=True),
        cluster_name=dict(type="str"),
        name_prefix=dict(type="str"),
        checks=dict(type="list", elements="str"),
    )
    module = AnsibleHubopsModule(argument_spec=argument_spec, supports_check_mode=True)

    deployment = module.params["deployment"]
    cluster_name = module.params["cluster_name"] or default_cluster_name(deployment)
    name_prefix = module.params["name_prefix"] or resource_name(deployment) + "-"

    clients = {}

    def client_for(service):
        if service not in clients:
            clients[service] = module.client(service, retry_decorator=AWSRetry.jittered_backoff())
        return clients[service]

    try:
        result = sweep_orphans(client_for, deployment, cluster_name, name_prefix, module.region,
                               only=module.params["checks"])
    except AnsibleOrphansError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
