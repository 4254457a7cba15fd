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
