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
