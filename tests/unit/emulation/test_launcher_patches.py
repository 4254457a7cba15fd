# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The emulator's patches of moto behave like AWS."""

import sys
from pathlib import Path

import boto3
import pytest

moto = pytest.importorskip("moto")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "emulation"))

import launcher  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module", autouse=True)
def patched():
    launcher._apply_patches()  # pylint: disable=protected-access


def test_tag_key_filter_with_several_values_matches_any_of_them():
    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        tags = [{"Key": "karpenter.k8s.aws/cluster", "Value": "local"}, {"Key": "kubernetes.io/cluster/local", "Value": "owned"}]
        ec2.create_launch_template(LaunchTemplateName="karpenter.k8s.aws/1", LaunchTemplateData={"InstanceType": "m7i.large"},
                                   TagSpecifications=[{"ResourceType": "launch-template", "Tags": tags}])
        ec2.create_launch_template(LaunchTemplateName="other", LaunchTemplateData={"InstanceType": "m7i.large"},
                                   TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "x"}]}])

        def names(values):
            found = ec2.describe_launch_templates(Filters=[{"Name": "tag-key", "Values": values}])["LaunchTemplates"]
            return sorted(t["LaunchTemplateName"] for t in found)

        assert names(["karpenter.k8s.aws/cluster", "hubops:deployment"]) == ["karpenter.k8s.aws/1"]
        assert names(["hubops:deployment", "team"]) == ["other"]
        assert names(["karpenter.k8s.aws/cluster", "team"]) == ["karpenter.k8s.aws/1", "other"]
        assert names(["nothing", "none"]) == []


def test_cognito_user_pools_tag_refuse_and_update_like_aws():
    """Patch 9 (cognito_extras.py): tagging calls, AWS's refusals, UpdateUserPool keeping the creation-only settings."""
    with moto.mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        errors = idp.exceptions.InvalidParameterException
        with pytest.raises(errors, match="SMS configuration"):
            idp.create_user_pool(PoolName="mfa-at-creation", MfaConfiguration="OPTIONAL")

        pool = idp.create_user_pool(PoolName="hub", UsernameConfiguration={"CaseSensitive": False}, UserPoolTags={"a": "1"},
                                    DeletionProtection="INACTIVE")["UserPool"]
        pool_id, arn = pool["Id"], pool["Arn"]
        idp.tag_resource(ResourceArn=arn, Tags={"b": "2"})
        idp.untag_resource(ResourceArn=arn, TagKeys=["a"])
        assert idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}
        assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UserPoolTags"] == {"b": "2"}

        idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL")
        assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OPTIONAL"
        idp.update_user_pool(UserPoolId=pool_id, AdminCreateUserConfig={"AllowAdminCreateUserOnly": True}, MfaConfiguration="OPTIONAL")
        described = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        assert described["UsernameConfiguration"] == {"CaseSensitive": False}
        assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
        assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OPTIONAL"

        idp.create_user_pool_domain(Domain="hub-1", UserPoolId=pool_id)
        with pytest.raises(errors, match="already has a domain"):
            idp.create_user_pool_domain(Domain="hub-2", UserPoolId=pool_id)
        other = idp.create_user_pool(PoolName="other")["UserPool"]["Id"]
        with pytest.raises(errors, match="another user pool"):
            idp.create_user_pool_domain(Domain="hub-1", UserPoolId=other)
        with pytest.raises(errors, match="domain configured"):
            idp.delete_user_pool(UserPoolId=pool_id)
        idp.delete_user_pool_domain(Domain="hub-1", UserPoolId=pool_id)
        idp.delete_user_pool(UserPoolId=pool_id)

        protected = idp.create_user_pool(PoolName="protected", DeletionProtection="ACTIVE")["UserPool"]["Id"]
        with pytest.raises(errors, match="deletion protection"):
            idp.delete_user_pool(UserPoolId=protected)


def test_acm_issues_dns_validated_certificates_once_the_cname_is_in_the_zone():
    """Patch 10 (acm_extras.py): records published after a moment, issued only with the CNAME in the zone, summaries,
    in use by an elbv2 listener, idempotency tokens."""
    with moto.mock_aws():
        acm = boto3.client("acm", region_name="us-east-1")
        route53 = boto3.client("route53", region_name="us-east-1")
        zone_id = route53.create_hosted_zone(Name="example.org", CallerReference="z")["HostedZone"]["Id"]
        arn = acm.request_certificate(DomainName="hub.example.org", SubjectAlternativeNames=["www.example.org"],
                                      ValidationMethod="DNS", IdempotencyToken="t1")["CertificateArn"]
        first = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert [o["DomainName"] for o in first["DomainValidationOptions"]] == ["hub.example.org", "www.example.org"]
        assert first["SubjectAlternativeNames"] == ["hub.example.org", "www.example.org"]
        assert not any("ResourceRecord" in o for o in first["DomainValidationOptions"])
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        records = [o["ResourceRecord"] for o in cert["DomainValidationOptions"]]
        assert cert["Status"] == "PENDING_VALIDATION" and "NotAfter" not in cert and "Serial" not in cert
        assert len({r["Name"] for r in records}) == 2 and all(r["Value"].endswith(".acm-validations.aws.") for r in records)
        assert records[0]["Name"].endswith(".hub.example.org.")

        (summary,) = acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]})["CertificateSummaryList"]
        assert summary["SubjectAlternativeNameSummaries"] == ["hub.example.org", "www.example.org"]
        assert "DomainValidationOptions" not in summary and summary["InUse"] is False
        assert acm.list_certificates(Includes={"keyTypes": ["EC_prime256v1"]})["CertificateSummaryList"] == []

        def upsert(record):
            route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": record["Value"]}]}}]})

        upsert(records[0])
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert cert["Status"] == "PENDING_VALIDATION"  # one name of two validated
        assert [o["ValidationStatus"] for o in cert["DomainValidationOptions"]] == ["SUCCESS", "PENDING_VALIDATION"]
        upsert(records[1])
        cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert cert["Status"] == "ISSUED" and cert["NotAfter"]

        # the same token within the hour: the same certificate, whatever the tags
        assert acm.request_certificate(DomainName="hub.example.org", ValidationMethod="DNS", IdempotencyToken="t1",
                                       Tags=[{"Key": "a", "Value": "b"}])["CertificateArn"] == arn
        # another certificate for the same name shares the record, so it is issued at once
        again = acm.request_certificate(DomainName="hub.example.org", ValidationMethod="DNS")["CertificateArn"]
        assert acm.describe_certificate(CertificateArn=again)["Certificate"]["Status"] == "ISSUED"
        # e-mail validation (the API's default) is never issued here
        email = acm.request_certificate(DomainName="hub.example.org")["CertificateArn"]
        acm.describe_certificate(CertificateArn=email)
        options = acm.describe_certificate(CertificateArn=email)["Certificate"]["DomainValidationOptions"]
        assert options[0]["ValidationMethod"] == "EMAIL" and "ResourceRecord" not in options[0]

        # in use by an elbv2 listener: refused until the load balancer is gone
        ec2 = boto3.client("ec2", region_name="us-east-1")
        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.%d.0/24" % i, AvailabilityZone="us-east-1" + z)["Subnet"]["SubnetId"]
                   for i, z in ((1, "a"), (2, "b"))]
        balancer = elbv2.create_load_balancer(Name="hub", Subnets=subnets, Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
        group = elbv2.create_target_group(Name="hub", Protocol="TCP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(LoadBalancerArn=balancer, Protocol="TLS", Port=443, Certificates=[{"CertificateArn": arn}],
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
        assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [balancer]
        with pytest.raises(acm.exceptions.ResourceInUseException):
            acm.delete_certificate(CertificateArn=arn)
        elbv2.delete_load_balancer(LoadBalancerArn=balancer)
        acm.delete_certificate(CertificateArn=arn)
        # the token still names the deleted certificate within its hour
        assert acm.request_certificate(DomainName="hub.example.org", ValidationMethod="DNS", IdempotencyToken="t1")["CertificateArn"] == arn
        with pytest.raises(acm.exceptions.ResourceNotFoundException):
            acm.describe_certificate(CertificateArn=arn)


def test_route53_changes_are_checked_like_aws():
    """Patch 11 (route53_extras.py): all-or-nothing batches; CREATE over a set, DELETE with other values or of nothing,
    a CNAME beside other records refused; DELETE removes one set (weighted sets apart); alias names compared as DNS names."""
    with moto.mock_aws():
        route53 = boto3.client("route53", region_name="us-east-1")
        zone = route53.create_hosted_zone(Name="example.org", CallerReference="z")["HostedZone"]["Id"]
        invalid = route53.exceptions.InvalidChangeBatch
        plain = {"Name": "hub.example.org", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.1"}]}
        target = {"HostedZoneId": "Z26RNL4JYFTOTI", "EvaluateTargetHealth": True, "DNSName": "K8s-Hub-1.elb.us-east-1.amazonaws.com"}
        alias = {"Name": "hub.example.org", "Type": "A", "AliasTarget": target}
        txt = {"Name": "hubops-owner.hub.example.org", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"heritage=hubops"'}]}

        def change(*changes):
            return route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
                {"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes]})

        def listed():
            return sorted((r["Name"], r["Type"], r.get("SetIdentifier", "")) for r in route53.list_resource_record_sets(
                HostedZoneId=zone)["ResourceRecordSets"] if r["Type"] not in ("NS", "SOA"))

        change(("CREATE", plain))
        with pytest.raises(invalid, match=r"Tried to create resource record set \[name='hub.example.org.', type='A'\] but it already exists"):
            change(("CREATE", txt), ("CREATE", plain))
        assert listed() == [("hub.example.org.", "A", "")]  # the TXT of the refused batch was not kept
        with pytest.raises(invalid, match="the values provided do not match the current values"):
            change(("DELETE", dict(plain, TTL=60)))
        with pytest.raises(invalid, match="but it was not found"):
            change(("DELETE", txt))
        with pytest.raises(invalid, match="RRSet of type CNAME with DNS name hub.example.org. is not permitted as it conflicts"):
            change(("CREATE", {"Name": "hub.example.org", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "x.example.net"}]}))
        change(("DELETE", plain), ("CREATE", {"Name": "hub.example.org", "Type": "CNAME", "TTL": 300,
                                              "ResourceRecords": [{"Value": "x.example.net"}]}))
        assert listed() == [("hub.example.org.", "CNAME", "")]

        # DELETE what the zone hands back (trailing dots, another case): the same set; the alias and TXT are replaced
        (cname,) = [r for r in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"] if r["Type"] == "CNAME"]
        change(("DELETE", cname), ("UPSERT", alias), ("UPSERT", txt))
        stored = dict(alias, AliasTarget=dict(alias["AliasTarget"], DNSName="k8s-hub-1.elb.us-east-1.amazonaws.com."))
        with pytest.raises(invalid, match="do not match"):
            change(("DELETE", dict(alias, AliasTarget=dict(alias["AliasTarget"], EvaluateTargetHealth=False))))
        change(("DELETE", stored), ("DELETE", txt))
        assert listed() == []

        # weighted sets of one name and type are deleted one at a time
        for ident in ("blue", "green"):
            change(("CREATE", dict(plain, SetIdentifier=ident, Weight=1)))
        change(("DELETE", dict(plain, SetIdentifier="blue", Weight=1)))
        assert listed() == [("hub.example.org.", "A", "green")]


def test_budgets_keep_tags_like_aws():
    """Patch 17 (budget_tags.py): ResourceTags at creation, tag/untag/list by ARN, NotFound, reserved keys, delete."""
    with moto.mock_aws():
        budgets = boto3.client("budgets", region_name="us-east-1")
        account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        arn = "arn:aws:budgets::%s:budget/dep-budget-neuro" % account
        body = {"BudgetName": "dep-budget-neuro", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": "10.00", "Unit": "USD"}}
        budgets.create_budget(AccountId=account, Budget=body, ResourceTags=[{"Key": "hubops:deployment", "Value": "dep"}])

        def tags():
            return dict((t["Key"], t["Value"]) for t in budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"])

        assert tags() == {"hubops:deployment": "dep"}
        budgets.tag_resource(ResourceARN=arn, ResourceTags=[{"Key": "hubops:group", "Value": "neuro"},
                                                            {"Key": "hubops:deployment", "Value": "dep2"}])
        assert tags() == {"hubops:deployment": "dep2", "hubops:group": "neuro"}
        budgets.untag_resource(ResourceARN=arn, ResourceTagKeys=["hubops:deployment"])
        assert tags() == {"hubops:group": "neuro"}
        with pytest.raises(budgets.exceptions.InvalidParameterException, match="reserved"):
            budgets.tag_resource(ResourceARN=arn, ResourceTags=[{"Key": "aws:owner", "Value": "x"}])
        with pytest.raises(budgets.exceptions.NotFoundException):
            budgets.list_tags_for_resource(ResourceARN=arn.replace("neuro", "none"))
        budgets.delete_budget(AccountId=account, BudgetName="dep-budget-neuro")
        budgets.create_budget(AccountId=account, Budget=body)
        assert tags() == {}
