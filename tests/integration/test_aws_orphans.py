# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops.eks.aws_orphans run by ansible-playbook against a private emulated AWS seeded with boto3.

The account holds a deployment's leftovers of every kind the module lists, its user data, things already deleted
(which AWS, and moto, keep listing for a while), and things that are not the deployment's at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "collections"
BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
DEPLOYMENT = "orphtest"

PLAYBOOK = """
- name: Sweep
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List what the deployment left behind
      hubops.eks.aws_orphans: "{{ orphans_args }}"
      register: orphans
    - name: Save the result
      ansible.builtin.copy:
        content: "{{ orphans | to_json }}"
        dest: "{{ orphans_out }}"
        mode: "0644"
      check_mode: false
"""


@pytest.fixture(scope="module")
def aws(shared_emulator):
    return shared_emulator


def _ec2_arn(resource: str) -> str:
    return "arn:aws:ec2:%s:%s:%s" % (REGION, ACCOUNT, resource)


def _tags(tags: dict, kind: str = "list"):
    if kind == "spec":
        return lambda rtype: [{"ResourceType": rtype, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@pytest.fixture(scope="module")
def seeded(aws):
    """Create the account; return {"leftovers": set, "user_data": set} of the ARNs the sweep must report."""
    ours = {"hubops:deployment": DEPLOYMENT}
    spec = _tags(ours, "spec")
    leftovers, user_data = set(), set()
    ec2, iam, kms, sqs, efs = (aws.client(s) for s in ("ec2", "iam", "kms", "sqs", "efs"))

    # network: a tagged VPC and subnet (leftovers); an untagged VPC and another deployment's VPC (not ours)
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16", TagSpecifications=spec("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.1.0/24", AvailabilityZone="us-east-1a",
                               TagSpecifications=spec("subnet"))["Subnet"]["SubnetId"]
    subnet_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.2.0/24", AvailabilityZone="us-east-1b",
                                 TagSpecifications=spec("subnet"))["Subnet"]["SubnetId"]
    leftovers |= {_ec2_arn("vpc/" + vpc), _ec2_arn("subnet/" + subnet), _ec2_arn("subnet/" + subnet_b)}
    ec2.create_vpc(CidrBlock="10.61.0.0/16")
    ec2.create_vpc(CidrBlock="10.62.0.0/16", TagSpecifications=_tags({"hubops:deployment": "other"}, "spec")("vpc"))

    # an Elastic IP still allocated (moto's tagging API never reports EIPs: the explicit listing must)
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip"))["AllocationId"]
    leftovers.add(_ec2_arn("elastic-ip/" + eip))

    # gone: a deleted NAT gateway, a released EIP, a terminated instance, a deleted VPC endpoint
    nat_eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=nat_eip,
                                 TagSpecifications=spec("natgateway"))["NatGateway"]["NatGatewayId"]
    ec2.delete_nat_gateway(NatGatewayId=nat)
    released = ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip"))["AllocationId"]
    ec2.release_address(AllocationId=released)
    ami = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    doomed = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=subnet,
                               TagSpecifications=spec("instance"))["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[doomed])
    vpce = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.%s.s3" % REGION, VpcEndpointType="Gateway",
                                   TagSpecifications=spec("vpc-endpoint"))["VpcEndpoint"]["VpcEndpointId"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])

    # Karpenter: a node (discovery tag only) and its launch template
    node = ec2.run_instances(
        ImageId=ami, MinCount=1, MaxCount=1, SubnetId=subnet,
        TagSpecifications=_tags({"karpenter.sh/discovery": DEPLOYMENT, "karpenter.sh/nodepool": "neuro"}, "spec")(
            "instance"),
    )["Instances"][0]["InstanceId"]
    leftovers.add(_ec2_arn("instance/" + node))
    template = ec2.create_launch_template(
        LaunchTemplateName="karpenter.k8s.aws/123", LaunchTemplateData={"ImageId": ami},
        TagSpecifications=[{"ResourceType": "launch-template",
                            "Tags": _tags({"karpenter.k8s.aws/cluster": DEPLOYMENT})}],
    )["LaunchTemplate"]["LaunchTemplateId"]
    leftovers.add(_ec2_arn("launch-template/" + template))

    # the load balancer controller: NLB, target group, security group; a "shared" security group is not ours
    lbc = {"elbv2.k8s.aws/cluster": DEPLOYMENT, "service.k8s.aws/stack": "hub/proxy-public"}
    sg = ec2.create_security_group(GroupName="k8s-hub-proxy", Description="lbc", VpcId=vpc,
                                   TagSpecifications=_tags(lbc, "spec")("security-group"))["GroupId"]
    leftovers.add(_ec2_arn("security-group/" + sg))
    ec2.create_security_group(
        GroupName="byo-shared", Description="byo", VpcId=vpc,
        TagSpecifications=_tags({"kubernetes.io/cluster/%s" % DEPLOYMENT: "shared"}, "spec")("security-group"))
    elbv2 = aws.client("elbv2")
    lb = elbv2.create_load_balancer(Name="k8s-hub-proxy", Subnets=[subnet, subnet_b], Type="network",
                                    Tags=_tags(lbc))["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="k8s-hub-proxy", Protocol="TCP", Port=80, VpcId=vpc,
                                   Tags=_tags(lbc))["TargetGroups"][0]["TargetGroupArn"]
    leftovers |= {lb, tg}

    # KMS: one key alive (kept with the user data below, which it would encrypt), one scheduled for deletion (gone)
    key = kms.create_key(Tags=[{"TagKey": "hubops:deployment", "TagValue": DEPLOYMENT}])["KeyMetadata"]
    user_data.add(key["Arn"])
    doomed_key = kms.create_key(Tags=[{"TagKey": "hubops:deployment", "TagValue": DEPLOYMENT}])["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=doomed_key["KeyId"], PendingWindowInDays=7)

    # IAM: role, policy, instance profile, OIDC provider (eksctl's tag); another deployment's role named like ours
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="orphtest-node", AssumeRolePolicyDocument=trust, Tags=_tags(ours))["Role"]
    policy = iam.create_policy(
        PolicyName="orphtest-lbc", Tags=_tags(ours),
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}),
    )["Policy"]
    profile = iam.create_instance_profile(InstanceProfileName="orphtest-node", Tags=_tags(ours))["InstanceProfile"]
    oidc = iam.create_open_id_connect_provider(
        Url="https://oidc.eks.%s.amazonaws.com/id/0A1B2C3D" % REGION, ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        Tags=_tags({"alpha.eksctl.io/cluster-name": DEPLOYMENT}),
    )["OpenIDConnectProviderArn"]
    leftovers |= {role["Arn"], policy["Arn"], profile["Arn"], oidc}
    iam.create_role(RoleName="orphtest-dev-node", AssumeRolePolicyDocument=trust,
                    Tags=_tags({"hubops:deployment": "orphtest-dev"}))

    # EKS: our cluster (leftover), one already deleted
    eks = aws.client("eks")
    cluster = eks.create_cluster(name=DEPLOYMENT, roleArn=role["Arn"],
                                 resourcesVpcConfig={"subnetIds": [subnet, subnet_b]}, tags=ours)["cluster"]
    leftovers.add(cluster["arn"])
    # EKS makes the cluster security group (tagged kubernetes.io/cluster/<name>=owned): a leftover while the cluster is
    leftovers.add(_ec2_arn("security-group/" + cluster["resourcesVpcConfig"]["clusterSecurityGroupId"]))
    eks.create_cluster(name="orphtest-old", roleArn=role["Arn"], resourcesVpcConfig={"subnetIds": [subnet]},
                       tags=ours)
    eks.delete_cluster(name="orphtest-old")

    # SQS: our queue (leftover), a deleted one, and a queue of `orphtest-dev` that shares our name prefix
    sqs.create_queue(QueueName="orphtest-interruption", tags=ours)
    leftovers.add("arn:aws:sqs:%s:%s:orphtest-interruption" % (REGION, ACCOUNT))
    deleted_queue = sqs.create_queue(QueueName="orphtest-old", tags=ours)["QueueUrl"]
    sqs.delete_queue(QueueUrl=deleted_queue)
    sqs.create_queue(QueueName="orphtest-dev-interruption", tags={"hubops:deployment": "orphtest-dev"})

    # EventBridge, Route53 (a tagged zone is ours, an untagged one is the admin's), Budgets, control-plane logs
    rule = aws.client("events").put_rule(Name="orphtest-spot-interruption", Tags=_tags(ours),
                                         EventPattern=json.dumps({"source": ["aws.ec2"]}))["RuleArn"]
    route53 = aws.client("route53")
    zone = route53.create_hosted_zone(Name="hub.orphtest.example.org", CallerReference="z1")["HostedZone"]["Id"]
    zone_id = zone.rsplit("/", 1)[-1]
    route53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id, AddTags=_tags(ours))
    route53.create_hosted_zone(Name="example.org", CallerReference="z2")
    aws.client("budgets").create_budget(AccountId=ACCOUNT, Budget={
        "BudgetName": "orphtest-neuro", "BudgetType": "COST", "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": "100", "Unit": "USD"}})
    aws.client("logs").create_log_group(logGroupName="/aws/eks/%s/cluster" % DEPLOYMENT)
    leftovers |= {rule, "arn:aws:route53:::hostedzone/" + zone_id,
                  "arn:aws:budgets::%s:budget/orphtest-neuro" % ACCOUNT,
                  "arn:aws:logs:%s:%s:log-group:/aws/eks/%s/cluster" % (REGION, ACCOUNT, DEPLOYMENT)}

    # CloudFormation: eksctl's untagged stack (leftover by name), a tagged stack already deleted
    cfn = aws.client("cloudformation")
    template_body = json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    stack = cfn.create_stack(StackName="eksctl-%s-cluster" % DEPLOYMENT, TemplateBody=template_body)["StackId"]
    leftovers.add(stack)
    cfn.create_stack(StackName="orphtest-old", TemplateBody=template_body, Tags=_tags(ours))
    cfn.delete_stack(StackName="orphtest-old")

    # user data: EFS file system + access point, an EBS home volume; a deleted file system is gone
    fs = efs.create_file_system(CreationToken="orphtest-home", Encrypted=True, Tags=_tags(ours))
    ap = efs.create_access_point(FileSystemId=fs["FileSystemId"], Tags=_tags(ours))
    gone_fs = efs.create_file_system(CreationToken="orphtest-old", Tags=_tags(ours))["FileSystemId"]
    efs.delete_file_system(FileSystemId=gone_fs)
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10, TagSpecifications=spec("volume"))["VolumeId"]
    user_data |= {fs["FileSystemArn"], ap["AccessPointArn"], _ec2_arn("volume/" + volume)}

    return {"leftovers": leftovers, "user_data": user_data}


def run_module(tmp_path: Path, args: dict, env_overrides: dict, *extra: str) -> dict:
    playbook = tmp_path / "sweep.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ANSIBLE_")) and k not in ("EC2_URL",)}
    env.update({
        "PATH": "%s:%s" % (BIN, env.get("PATH", "")),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    })
    env.update(env_overrides)
    extra_vars = json.dumps({"orphans_args": args, "orphans_out": str(out),
                             "ansible_python_interpreter": sys.executable})
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local", "-e", extra_vars, *extra],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(out.read_text())


def test_reports_exactly_what_is_left(aws, seeded, tmp_path):
    aws.reset_stats()
    result = run_module(tmp_path, {"deployment": DEPLOYMENT}, {"AWS_ENDPOINT_URL": aws.endpoint})

    assert result["changed"] is False
    assert result["skipped_checks"] == []
    assert {r["arn"] for r in result["leftovers"]} == seeded["leftovers"]
    assert {r["arn"] for r in result["user_data"]} == seeded["user_data"]
    assert result["counts"] == {"leftovers": len(seeded["leftovers"]), "user_data": len(seeded["user_data"])}
    assert {r["arn"] for r in result["resources"]} == seeded["leftovers"] | seeded["user_data"]
    assert all(r["user_data"] for r in result["user_data"])
    assert not any(r["user_data"] for r in result["leftovers"])
    by_type = {(r["service"], r["type"]) for r in result["user_data"]}
    assert by_type == {("elasticfilesystem", "file-system"), ("elasticfilesystem", "access-point"), ("ec2", "volume"), ("kms", "key")}

    # AWS_ENDPOINT_URL alone (botocore reads it) sent every call to the emulator, and none of them wrote.
    stats = aws.stats()
    assert stats["calls"]["tagging"]["GetResources"] == 1
    assert stats["calls"]["iam"]["ListInstanceProfileTags"] >= 1
    assert stats["mutating"] == 0, stats["mutating_actions"]


def test_nothing_reported_for_another_deployment(aws, seeded, tmp_path):
    result = run_module(tmp_path, {"deployment": "nobody"}, {"AWS_ENDPOINT_URL": aws.endpoint})
    assert result["resources"] == [] and result["skipped_checks"] == []
    assert result["counts"] == {"leftovers": 0, "user_data": 0}


def test_endpoint_url_param_wins_and_check_mode(aws, seeded, tmp_path):
    """endpoint_url is honoured over the environment (which points nowhere), and check mode changes nothing."""
    aws.reset_stats()
    result = run_module(
        tmp_path,
        {"deployment": DEPLOYMENT, "cluster_name": DEPLOYMENT, "name_prefix": DEPLOYMENT + "-",
         "endpoint_url": aws.endpoint, "region": REGION},
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_URL": "http://127.0.0.1:9"},
        "--check",
    )
    assert {r["arn"] for r in result["leftovers"]} == seeded["leftovers"]
    assert aws.stats()["calls"]["tagging"]["GetResources"] == 1
