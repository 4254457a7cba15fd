# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""karpenter: compact pool spec -> NodePool + EC2NodeClass, the checks that reject bad specs, the pools an inventory
asks for, and the controller's IAM policies (compared with Karpenter's own CloudFormation template)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K

CTX = {"deployment": "dandi", "cluster_name": "dandi-eks", "instance_profile": "hubops-dandi-karpenter-node",
       "kms_key_arn": "arn:aws:kms:us-east-2:123456789012:key/0a1b2c3d", "tags": {"project": "dandi", "cost": 1234}}
OWNERSHIP = {"app.kubernetes.io/managed-by": "hubops", "hubops.io/deployment": "dandi"}
USER_TAINT = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
UPSTREAM = "/work/shared/reference/karpenter-provider-aws/cloudformation.yaml"

REGION, ACCOUNT, CLUSTER = "us-east-2", "123456789012", "dandi-eks"
NODE_ROLE = "arn:aws:iam::123456789012:role/hubops-dandi-karpenter-node"
QUEUE = "arn:aws:sqs:us-east-2:123456789012:hubops-dandi-karpenter"
PROFILE = "arn:aws:iam::123456789012:instance-profile/hubops-dandi-karpenter-node"
CLUSTER_ARN = "arn:aws:eks:us-east-2:123456789012:cluster/dandi-eks"


def build(pool, ctx=None, defaults=None):
    return K.pool_manifests(pool, ctx or CTX, defaults)


def reqs(nodepool):
    return dict((r["key"], (r["operator"], r["values"])) for r in nodepool["spec"]["template"]["spec"]["requirements"])


def fields(pool, where="pool"):
    return [problem[0] for problem in K.validate_pool(pool, where)]


# --------------------------------------------------------------------------------------------------------------------
# spec -> manifests


def test_mixed_capacity_is_the_default_spot_first():
    nodepool, nodeclass = build({"name": "neuro"})
    assert nodepool["apiVersion"] == "karpenter.sh/v1" and nodepool["kind"] == "NodePool"
    assert nodeclass["apiVersion"] == "karpenter.k8s.aws/v1" and nodeclass["kind"] == "EC2NodeClass"
    assert nodepool["metadata"]["name"] == nodeclass["metadata"]["name"] == "neuro"
    first = nodepool["spec"]["template"]["spec"]["requirements"][0]
    assert first == {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}
    assert reqs(nodepool)["kubernetes.io/arch"] == ("In", ["amd64"])
    assert nodepool["spec"]["template"]["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "neuro"}


@pytest.mark.parametrize("capacity", [["spot"], ["on-demand"], ["on-demand", "spot"]])
def test_capacity_types_kept_in_order(capacity):
    nodepool = build({"name": "neuro", "capacity": capacity})[0]
    assert reqs(nodepool)["karpenter.sh/capacity-type"] == ("In", capacity)


def test_default_shape_is_current_generation_c_m_r():
    requirements = reqs(build({"name": "neuro"})[0])
    assert requirements["karpenter.k8s.aws/instance-category"] == ("In", ["c", "m", "r"])
    assert requirements["karpenter.k8s.aws/instance-generation"] == ("Gt", ["4"])
    assert "karpenter.k8s.aws/instance-family" not in requirements
    assert "karpenter.k8s.aws/instance-size" not in requirements
    assert "node.kubernetes.io/instance-type" not in requirements


def test_arm64_and_both_architectures():
    assert reqs(build({"name": "a", "arch": ["arm64"]})[0])["kubernetes.io/arch"] == ("In", ["arm64"])
    assert reqs(build({"name": "a", "arch": ["amd64", "arm64"]})[0])["kubernetes.io/arch"] == ("In", ["amd64", "arm64"])


def test_gpu_pool():
    nodepool = build({"name": "gpu", "capacity": ["on-demand"], "gpu": {"count": 1, "name": "a10g"}, "gpu_limit": 8})[0]
    requirements = reqs(nodepool)
    assert requirements["karpenter.k8s.aws/instance-category"] == ("In", ["g", "p"])
    assert requirements["karpenter.k8s.aws/instance-gpu-manufacturer"] == ("In", ["nvidia"])
    assert requirements["karpenter.k8s.aws/instance-gpu-count"] == ("In", ["1"])
    assert requirements["karpenter.k8s.aws/instance-gpu-name"] == ("In", ["a10g"])
    taints = nodepool["spec"]["template"]["spec"]["taints"]
    assert GPU_TAINT in taints and USER_TAINT in taints
    assert nodepool["spec"]["limits"] == {"nvidia.com/gpu": "8"}


def test_gpu_pool_without_name_has_no_gpu_name_requirement():
    requirements = reqs(build({"name": "gpu", "gpu": {"count": 4}})[0])
    assert requirements["karpenter.k8s.aws/instance-gpu-count"] == ("In", ["4"])
    assert "karpenter.k8s.aws/instance-gpu-name" not in requirements


def test_gpu_pool_with_families_keeps_them():
    requirements = reqs(build({"name": "gpu", "gpu": {"count": 1}, "families": ["g5", "g6"]})[0])
    assert requirements["karpenter.k8s.aws/instance-family"] == ("In", ["g5", "g6"])
    assert "karpenter.k8s.aws/instance-category" not in requirements


def test_gpu_pool_named_t4_can_find_an_instance():
    """NVIDIA T4 is only in g4dn (instance-generation 4); the default generation floor (Gt 4) must not exclude it,
    or a pool with gpu: {name: t4} (the validator's own example) can never launch a node."""
    requirements = reqs(build({"name": "gpu", "gpu": {"count": 1, "name": "t4"}})[0])
    assert requirements["karpenter.k8s.aws/instance-category"] == ("In", ["g", "p"])
    operator, values = requirements.get("karpenter.k8s.aws/instance-generation", ("Gt", ["0"]))
    assert operator == "Gt" and int(values[0]) < 4, "g4dn (generation 4, the only T4 family) is excluded: %s %s" % (operator, values)


def test_explicit_instance_types_replace_the_shape_requirements():
    requirements = reqs(build({"name": "a", "instance_types": ["m7i.xlarge", "m6i.xlarge"]})[0])
    assert requirements["node.kubernetes.io/instance-type"] == ("In", ["m7i.xlarge", "m6i.xlarge"])
    for key in ("karpenter.k8s.aws/instance-category", "karpenter.k8s.aws/instance-family",
                "karpenter.k8s.aws/instance-generation", "karpenter.k8s.aws/instance-size"):
        assert key not in requirements


def test_explicit_instance_types_with_gpu():
    requirements = reqs(build({"name": "a", "instance_types": ["g5.xlarge"], "gpu": {"count": 1}})[0])
    assert requirements["node.kubernetes.io/instance-type"] == ("In", ["g5.xlarge"])
    assert requirements["karpenter.k8s.aws/instance-gpu-manufacturer"] == ("In", ["nvidia"])
    assert "karpenter.k8s.aws/instance-category" not in requirements


def test_split_families():
    assert K.split_families(["m", "m7i", "r", "c7gn", "g5"]) == (["m", "r"], ["m7i", "c7gn", "g5"])
    assert K.split_families([]) == ([], [])


def test_categories_only_get_the_generation_floor():
    requirements = reqs(build({"name": "a", "families": ["m", "r"]})[0])
    assert requirements["karpenter.k8s.aws/instance-category"] == ("In", ["m", "r"])
    assert requirements["karpenter.k8s.aws/instance-generation"] == ("Gt", ["4"])
    assert "karpenter.k8s.aws/instance-family" not in requirements


def test_families_only_have_no_category_or_generation():
    requirements = reqs(build({"name": "a", "families": ["m7i", "r7i"]})[0])
    assert requirements["karpenter.k8s.aws/instance-family"] == ("In", ["m7i", "r7i"])
    assert "karpenter.k8s.aws/instance-category" not in requirements
    assert "karpenter.k8s.aws/instance-generation" not in requirements


def test_categories_and_families_together_have_no_generation_floor():
    requirements = reqs(build({"name": "a", "families": ["m", "r7i"]})[0])
    assert requirements["karpenter.k8s.aws/instance-category"] == ("In", ["m"])
    assert requirements["karpenter.k8s.aws/instance-family"] == ("In", ["r7i"])
    assert "karpenter.k8s.aws/instance-generation" not in requirements


def test_sizes():
    requirements = reqs(build({"name": "a", "families": ["m"], "sizes": ["xlarge", "2xlarge"]})[0])
    assert requirements["karpenter.k8s.aws/instance-size"] == ("In", ["xlarge", "2xlarge"])


def test_requirement_values_are_strings():
    spec = K.normalise_pool({"name": "a", "gpu": {"count": 2}})
    for requirement in K.requirements(spec):
        assert all(isinstance(v, str) for v in requirement["values"]), requirement


def test_limits():
    nodepool = build({"name": "a", "cpu_limit": 256, "memory_limit": "1024Gi"})[0]
    assert nodepool["spec"]["limits"] == {"cpu": "256", "memory": "1024Gi"}
    assert build({"name": "a", "cpu_limit": 0})[0]["spec"]["limits"] == {"cpu": "0"}
    assert "limits" not in build({"name": "a"})[0]["spec"]


def test_disruption_defaults():
    spec = build({"name": "a"})[0]["spec"]
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"}
    assert spec["template"]["spec"]["expireAfter"] == "Never"
    assert "terminationGracePeriod" not in spec["template"]["spec"]
    assert "weight" not in spec


def test_disruption_settings():
    spec = build({"name": "a", "consolidation": "WhenEmptyOrUnderutilized", "consolidate_after": "1h30m",
                  "expire_after": "720h", "termination_grace_period": "24h", "weight": 10})[0]["spec"]
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1h30m"}
    assert spec["template"]["spec"]["expireAfter"] == "720h"
    assert spec["template"]["spec"]["terminationGracePeriod"] == "24h"
    assert spec["weight"] == 10


def test_user_pool_labels_and_taints():
    nodepool = build({"name": "neuro", "group": "neuro", "labels": {"team": "neuro", "node.kubernetes.io/x": "y"},
                      "taints": [{"key": "team", "value": "neuro", "effect": "NoExecute"}, {"key": "solo", "effect": "NoSchedule"}]})[0]
    template = nodepool["spec"]["template"]
    assert template["metadata"]["labels"] == {"hub.jupyter.org/node-purpose": "user", "hubops.io/group": "neuro", "hubops.io/pool": "neuro",
                                              "team": "neuro", "node.kubernetes.io/x": "y"}
    assert template["spec"]["taints"] == [USER_TAINT, {"key": "team", "value": "neuro", "effect": "NoExecute"},
                                          {"key": "solo", "effect": "NoSchedule"}]


def test_taint_value_is_a_string():
    taints = build({"name": "a", "taints": [{"key": "n", "value": 5, "effect": "NoSchedule"}]})[0]["spec"]["template"]["spec"]["taints"]
    assert taints[-1] == {"key": "n", "value": "5", "effect": "NoSchedule"}


def test_non_user_pool_has_no_user_label_or_taint():
    template = build({"name": "system", "user": False})[0]["spec"]["template"]
    assert template["metadata"]["labels"] == {"hubops.io/pool": "system"}
    assert "taints" not in template["spec"]


def test_shared_pool_has_no_group_label():
    nodepool, nodeclass = build({"name": "shared"})
    assert "hubops.io/group" not in nodepool["spec"]["template"]["metadata"]["labels"]
    assert nodepool["metadata"]["labels"] == OWNERSHIP == nodeclass["metadata"]["labels"]
    assert nodeclass["spec"]["tags"]["hubops:group"] == "shared"


def test_ownership_labels_on_both_objects():
    nodepool, nodeclass = build({"name": "neuro", "group": "neuro"})
    expected = dict(OWNERSHIP, **{"hubops.io/group": "neuro"})
    assert nodepool["metadata"]["labels"] == expected
    assert nodeclass["metadata"]["labels"] == expected
    assert K.ownership_labels("x") == {"app.kubernetes.io/managed-by": "hubops", "hubops.io/deployment": "x"}


def test_nodeclass():
    spec = build({"name": "neuro", "group": "neuro"})[1]["spec"]
    assert spec["instanceProfile"] == "hubops-dandi-karpenter-node"
    assert "role" not in spec
    assert spec["amiSelectorTerms"] == [{"alias": K.DEFAULT_AMI_ALIAS}]
    assert not K.DEFAULT_AMI_ALIAS.endswith("@latest") and K.AMI_ALIAS_RE.match(K.DEFAULT_AMI_ALIAS)
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "dandi-eks"}}]
    assert spec["securityGroupSelectorTerms"] == [{"tags": {"aws:eks:cluster-name": "dandi-eks"}}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert spec["metadataOptions"]["httpEndpoint"] == "enabled"
    assert spec["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": "100Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True, "kmsKeyID": CTX["kms_key_arn"]}}]


def test_nodeclass_volume_size_and_alias():
    spec = build({"name": "a", "volume_size_gb": 250, "ami_alias": "bottlerocket@v1.30.0"})[1]["spec"]
    assert spec["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "250Gi"
    assert spec["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.30.0"}]


@pytest.mark.parametrize("kms", ["", None])
def test_nodeclass_without_kms_key_uses_the_default_key(kms):
    ebs = build({"name": "a"}, ctx=dict(CTX, kms_key_arn=kms))[1]["spec"]["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] is True
    assert "kmsKeyID" not in ebs


def test_nodeclass_tags():
    tags = build({"name": "neuro", "group": "neuro", "tags": {"cost-center": "42", "project": "override"}})[1]["spec"]["tags"]
    assert tags == {"project": "override", "cost": "1234", "cost-center": "42",
                    "hubops:deployment": "dandi", "hubops:group": "neuro", "hubops:pool": "neuro"}
    assert all(isinstance(v, str) for v in tags.values())


def test_nodeclass_tags_hubops_keys_win_over_ctx_tags():
    ctx = dict(CTX, tags={"hubops:deployment": "other", "hubops:group": "other", "hubops:pool": "other"})
    tags = build({"name": "a"}, ctx=ctx)[1]["spec"]["tags"]
    assert (tags["hubops:deployment"], tags["hubops:group"], tags["hubops:pool"]) == ("dandi", "shared", "a")


def test_nodeclass_without_ctx_tags():
    tags = build({"name": "a"}, ctx=dict(CTX, tags=None))[1]["spec"]["tags"]
    assert tags == {"hubops:deployment": "dandi", "hubops:group": "shared", "hubops:pool": "a"}


def test_defaults_fill_unset_keys_only():
    defaults = {"ami_alias": "al2023@v20250101", "volume_size_gb": 200, "cpu_limit": 32}
    nodepool, nodeclass = build({"name": "a", "volume_size_gb": 50}, defaults=defaults)
    assert nodeclass["spec"]["amiSelectorTerms"] == [{"alias": "al2023@v20250101"}]
    assert nodeclass["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "50Gi"
    assert nodepool["spec"]["limits"] == {"cpu": "32"}


def test_defaults_are_validated_too():
    """A default is part of the spec the API server gets: expire_after from defaults on a user pool without
    termination_grace_period is the hazard validate_pool rejects for the pool itself."""
    with pytest.raises(K.PoolSpecError) as err:
        build({"name": "a"}, defaults={"expire_after": "720h"})
    assert "expire_after" in str(err.value)


def test_normalise_pool_does_not_mutate_and_drops_shared():
    pool = {"name": "a", "labels": {"x": "y"}, "shared": None, "weight": None}
    spec = K.normalise_pool(pool, {"weight": 5})
    assert pool == {"name": "a", "labels": {"x": "y"}, "shared": None, "weight": None}
    assert "shared" not in spec and spec["weight"] == 5
    spec["labels"]["z"] = "w"
    assert pool["labels"] == {"x": "y"}
    assert spec["user"] is True and spec["group"] is None and spec["taints"] == [] and spec["tags"] == {}


def test_good_specs_have_no_problems():
    for pool in ({"name": "a"}, {"name": "gpu", "gpu": {"count": 1, "name": "a10g"}, "gpu_limit": 4, "capacity": ["on-demand"]},
                 {"name": "a", "instance_types": ["m7i.xlarge"], "cpu_limit": 64, "memory_limit": "256Gi", "weight": 100},
                 {"name": "a", "expire_after": "720h", "termination_grace_period": "24h", "labels": {"node.kubernetes.io/x": "y"}},
                 {"name": "system", "user": False, "expire_after": "720h", "weight": 1, "ami_alias": "al2023@latest"}):
        assert K.validate_pool(pool) == [], pool


# --------------------------------------------------------------------------------------------------------------------
# bad specs


BAD = [
    ({"name": "a", "colour": "red"}, "colour"),
    ({"name": "Bad_Name"}, "name"),
    ({"name": "1abc"}, "name"),
    ({"name": "a" * 33}, "name"),
    ({}, "name"),
    ({"name": "a", "group": "Bad Group"}, "group"),
    ({"name": "a", "capacity": []}, "capacity"),
    ({"name": "a", "capacity": ["reserved"]}, "capacity"),
    ({"name": "a", "capacity": ["spot", "spot"]}, "capacity"),
    ({"name": "a", "capacity": "spot"}, "capacity"),
    ({"name": "a", "arch": ["x86_64"]}, "arch"),
    ({"name": "a", "arch": []}, "arch"),
    ({"name": "a", "instance_types": ["m7i.xlarge"], "families": ["m"]}, "families"),
    ({"name": "a", "instance_types": ["m7i.xlarge"], "sizes": ["xlarge"]}, "sizes"),
    ({"name": "a", "instance_types": ["m7i"]}, "instance_types"),
    ({"name": "a", "instance_types": []}, "instance_types"),
    ({"name": "a", "families": ["M7i"]}, "families"),
    ({"name": "a", "sizes": []}, "sizes"),
    ({"name": "a", "gpu": {"name": "a10g"}}, "gpu"),
    ({"name": "a", "gpu": {"count": 0}}, "gpu"),
    ({"name": "a", "gpu": {"count": True}}, "gpu"),
    ({"name": "a", "gpu": 1}, "gpu"),
    ({"name": "a", "gpu": {"count": 1, "name": "A10G"}}, "gpu.name"),
    ({"name": "a", "gpu_limit": 4}, "gpu_limit"),
    ({"name": "a", "gpu": {"count": 1}, "gpu_limit": -1}, "gpu_limit"),
    ({"name": "a", "cpu_limit": "64"}, "cpu_limit"),
    ({"name": "a", "cpu_limit": -1}, "cpu_limit"),
    ({"name": "a", "memory_limit": "lots"}, "memory_limit"),
    ({"name": "a", "memory_limit": 1024}, "memory_limit"),
    ({"name": "a", "volume_size_gb": 10}, "volume_size_gb"),
    ({"name": "a", "volume_size_gb": 20000}, "volume_size_gb"),
    ({"name": "a", "volume_size_gb": "100"}, "volume_size_gb"),
    ({"name": "a", "consolidation": "Always"}, "consolidation"),
    ({"name": "a", "consolidate_after": "5 minutes"}, "consolidate_after"),
    ({"name": "a", "consolidate_after": 300}, "consolidate_after"),
    ({"name": "a", "expire_after": "30d", "termination_grace_period": "24h"}, "expire_after"),
    ({"name": "a", "expire_after": "Never", "termination_grace_period": "Never"}, "termination_grace_period"),
    ({"name": "a", "expire_after": "720h"}, "expire_after"),
    ({"name": "a", "weight": 0}, "weight"),
    ({"name": "a", "weight": 101}, "weight"),
    ({"name": "a", "weight": True}, "weight"),
    ({"name": "a", "labels": {"karpenter.sh/x": "y"}}, "labels.karpenter.sh/x"),
    ({"name": "a", "labels": {"kubernetes.io/x": "y"}}, "labels.kubernetes.io/x"),
    ({"name": "a", "labels": {"foo.k8s.io/x": "y"}}, "labels.foo.k8s.io/x"),
    ({"name": "a", "labels": {"karpenter.k8s.aws/x": "y"}}, "labels.karpenter.k8s.aws/x"),
    ({"name": "a", "labels": {"hubops.io/group": "x"}}, "labels.hubops.io/group"),
    ({"name": "a", "labels": {"hubops.io/pool": "x"}}, "labels.hubops.io/pool"),
    ({"name": "a", "labels": {"hub.jupyter.org/node-purpose": "core"}}, "labels.hub.jupyter.org/node-purpose"),
    ({"name": "a", "labels": {"app.kubernetes.io/managed-by": "me"}}, "labels.app.kubernetes.io/managed-by"),
    ({"name": "a", "labels": {"team": 5}}, "labels.team"),
    ({"name": "a", "labels": {"bad key!": "x"}}, "labels.bad key!"),
    ({"name": "a", "labels": ["team"]}, "labels"),
    ({"name": "a", "taints": [{"key": "team", "value": "x", "effect": "NoWay"}]}, "taints[0]"),
    ({"name": "a", "taints": [{"value": "x", "effect": "NoSchedule"}]}, "taints[0]"),
    ({"name": "a", "taints": [{"key": "team", "value": "bad value", "effect": "NoSchedule"}]}, "taints[0]"),
    ({"name": "a", "taints": {"key": "team"}}, "taints"),
    ({"name": "a", "tags": {"kubernetes.io/cluster/x": "owned"}}, "tags.kubernetes.io/cluster/x"),
    ({"name": "a", "tags": {"karpenter.sh/nodepool": "x"}}, "tags.karpenter.sh/nodepool"),
    ({"name": "a", "tags": {"eks:eks-cluster-name": "x"}}, "tags.eks:eks-cluster-name"),
    ({"name": "a", "tags": {"hubops:group": "x"}}, "tags.hubops:group"),
    ({"name": "a", "tags": {"hubops:deployment": "x"}}, "tags.hubops:deployment"),
    ({"name": "a", "tags": {"cost": 1234}}, "tags.cost"),
    ({"name": "a", "tags": {"k" * 129: "v"}}, "tags." + "k" * 129),
    ({"name": "a", "tags": ["x"]}, "tags"),
    ({"name": "a", "ami_alias": "al2023"}, "ami_alias"),
    ({"name": "a", "ami_alias": "ubuntu@latest"}, "ami_alias"),
    ({"name": "a", "ami_alias": "al2023@20261020"}, "ami_alias"),
]


@pytest.mark.parametrize("pool,field", BAD, ids=["%d-%s" % (i, f) for i, (p, f) in enumerate(BAD)])
def test_bad_spec_names_the_field(pool, field):
    problems = K.validate_pool(pool, "pools[0]")
    assert ["pools[0].%s" % field] == [p[0] for p in problems], problems
    assert all(message and fix for (where, message, fix) in problems)
    with pytest.raises(K.PoolSpecError) as err:
        K.pool_manifests(pool, CTX, None, "pools[0]")
    assert err.value.problems == problems
    assert "pools[0].%s" % field in str(err.value) and "Fix:" in str(err.value)


def test_not_a_mapping():
    assert fields("neuro", "pools[3]") == ["pools[3]"]


def test_every_problem_is_reported():
    problems = fields({"name": "a", "capacity": [], "arch": ["sparc"], "weight": 0, "unknown": 1}, "pools[2]")
    assert problems == ["pools[2].unknown", "pools[2].capacity", "pools[2].arch", "pools[2].weight"]
    with pytest.raises(K.PoolSpecError) as err:
        K.pool_manifests({"name": "a", "capacity": [], "weight": 0}, CTX, None, "pools[2]")
    assert str(err.value).count("Fix:") == 2


def test_expire_after_allowed_on_non_user_pool_and_with_grace_period():
    assert K.validate_pool({"name": "a", "user": False, "expire_after": "720h"}) == []
    assert K.validate_pool({"name": "a", "expire_after": "720h", "termination_grace_period": "24h"}) == []
    assert K.validate_pool({"name": "a", "expire_after": "Never"}) == []


@pytest.mark.parametrize("key", ["node.kubernetes.io/x", "node-restriction.kubernetes.io/x", "example.org/team", "team"])
def test_allowed_label_domains(key):
    assert K.validate_pool({"name": "a", "labels": {key: "v"}}) == []


@pytest.mark.parametrize("memory", ["1024Gi", "1Ti", "512Mi", "1.5Ti", "100M", "100"])
def test_good_memory_limits(memory):
    assert K.validate_pool({"name": "a", "memory_limit": memory}) == []


def test_memory_limit_follows_kubernetes_quantity_suffixes():
    """Kubernetes' decimal kilo suffix is a lowercase k ("100k" is valid, "100K" is not; the CRD pattern is
    ([KMGTPE]i)|[numkMGTPE])."""
    assert fields({"name": "a", "memory_limit": "100k"}) == []
    assert fields({"name": "a", "memory_limit": "100K"}) == ["pool.memory_limit"]


@pytest.mark.parametrize("alias", ["al2023@latest", "al2023@v20261020", "al2@v20240807", "bottlerocket@v1.30.0"])
def test_good_ami_aliases(alias):
    assert K.validate_pool({"name": "a", "ami_alias": alias}) == []


# --------------------------------------------------------------------------------------------------------------------
# pools_from_inventory


def test_one_pool_per_group_named_after_it():
    groups = [{"name": "neuro", "nodepool": {"families": ["m"], "cpu_limit": 64}}, {"name": "astro"}]
    pools = K.pools_from_inventory(groups, [])
    assert [(p["name"], p["group"]) for p in pools] == [("neuro", "neuro"), ("astro", "astro")]
    assert pools[0]["families"] == ["m"] and pools[0]["cpu_limit"] == 64
    assert pools[1]["capacity"] == ["spot", "on-demand"] and pools[1]["user"] is True


def test_shared_pools_have_no_group():
    pools = K.pools_from_inventory([{"name": "neuro"}], [{"name": "gpu", "gpu": {"count": 1}}])
    assert [(p["name"], p["group"]) for p in pools] == [("gpu", None), ("neuro", "neuro")]
    tags = K.nodeclass_manifest(pools[0], CTX)["spec"]["tags"]
    assert tags["hubops:group"] == "shared"


def test_group_sharing_a_pool_gets_none_of_its_own():
    pools = K.pools_from_inventory([{"name": "neuro", "nodepool": {"shared": "gpu"}}, {"name": "astro"}], [{"name": "gpu", "gpu": {"count": 1}}])
    assert [p["name"] for p in pools] == ["gpu", "astro"]
    assert all("shared" not in p for p in pools)


def test_group_may_name_its_own_pool():
    pools = K.pools_from_inventory([{"name": "neuro", "nodepool": {"name": "neuro-big"}}], [])
    assert [(p["name"], p["group"]) for p in pools] == [("neuro-big", "neuro")]


def error_fields(groups, shared):
    with pytest.raises(K.PoolSpecError) as err:
        K.pools_from_inventory(groups, shared)
    return [p[0] for p in err.value.problems], str(err.value)


def test_shared_reference_to_unknown_pool():
    found, text = error_fields([{"name": "a"}, {"name": "neuro", "nodepool": {"shared": "gpu"}}], [])
    assert found == ["hubops_groups[1].nodepool.shared"]
    assert "'gpu'" in text and "Fix:" in text


def test_shared_plus_own_settings():
    found, text = error_fields([{"name": "neuro", "nodepool": {"shared": "gpu", "cpu_limit": 8}}], [{"name": "gpu"}])
    assert found == ["hubops_groups[0].nodepool"]
    assert "cpu_limit" in text


def test_group_named_like_a_shared_pool():
    found, text = error_fields([{"name": "gpu"}], [{"name": "gpu", "gpu": {"count": 1}}])
    assert found == ["hubops_groups[0].nodepool.name"]
    assert "hubops_nodepools[0]" in text


def test_duplicate_shared_pools():
    found = error_fields([], [{"name": "gpu"}, {"name": "gpu"}])[0]
    assert found == ["hubops_nodepools[1].name"]


def test_two_groups_naming_the_same_pool():
    found = error_fields([{"name": "a", "nodepool": {"name": "big"}}, {"name": "b", "nodepool": {"name": "big"}}], [])[0]
    assert found == ["hubops_groups[1].nodepool.name"]


def test_bad_specs_in_the_inventory_name_the_inventory_field():
    found = error_fields([{"name": "neuro", "nodepool": {"capacity": ["cheap"]}}], [{"name": "gpu", "weight": 0}])[0]
    assert found == ["hubops_nodepools[0].weight", "hubops_groups[0].nodepool.capacity"]


def test_inventory_defaults_applied():
    pools = K.pools_from_inventory([{"name": "neuro", "nodepool": {"volume_size_gb": 50}}], [{"name": "gpu"}],
                                   defaults={"ami_alias": "al2023@v20250101", "volume_size_gb": 200})
    assert [p["ami_alias"] for p in pools] == ["al2023@v20250101", "al2023@v20250101"]
    assert [p["volume_size_gb"] for p in pools] == [200, 50]


def test_empty_inventory():
    assert K.pools_from_inventory(None, None) == []
    assert K.pools_from_inventory([], []) == []


def test_group_pool_names():
    groups = [{"name": "neuro"}, {"name": "astro", "nodepool": {"shared": "gpu"}}, {"name": "bio", "nodepool": {"name": "bio-big"}},
              {"name": "chem", "nodepool": {"cpu_limit": 8}}]
    assert K.group_pool_names(groups) == {"neuro": "neuro", "astro": "gpu", "bio": "bio-big", "chem": "chem"}
    assert K.group_pool_names(None) == {}


# --------------------------------------------------------------------------------------------------------------------
# controller IAM

UNSCOPABLE = ("pricing:GetProducts", "iam:ListInstanceProfiles")


def policies(partition="aws"):
    return K.controller_policies(CLUSTER, REGION, ACCOUNT, NODE_ROLE, QUEUE, PROFILE, partition)


def statements(docs=None):
    for name, doc in (docs or policies()).items():
        for statement in doc["Statement"]:
            yield name, statement


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_six_policy_documents():
    docs = policies()
    assert sorted(docs) == sorted(["node-lifecycle", "iam-integration", "eks-integration", "interruption", "resource-discovery", "zonal-shift"])
    for doc in docs.values():
        assert doc["Version"] == "2012-10-17" and doc["Statement"]
        sids = [s["Sid"] for s in doc["Statement"]]
        assert len(sids) == len(set(sids))
        assert all(s["Effect"] == "Allow" for s in doc["Statement"])


def test_wildcard_resources_only_for_unscopable_reads_or_with_a_condition():
    for name, statement in statements():
        if "*" not in as_list(statement["Resource"]):
            continue
        actions = as_list(statement["Action"])
        unscopable = all(a.startswith("ec2:Describe") or a in UNSCOPABLE for a in actions)
        assert unscopable or statement.get("Condition"), (name, statement["Sid"])
        if not unscopable:
            assert statement["Sid"] == "AllowZonalShiftStatusReadOnly"
            assert statement["Condition"] == {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": CLUSTER_ARN}}


def test_no_action_wildcards():
    for name, statement in statements():
        assert all("*" not in a for a in as_list(statement["Action"])), (name, statement["Sid"])


def resources_of(action):
    found = []
    for name, statement in statements():
        if action in as_list(statement["Action"]):
            found.extend(as_list(statement["Resource"]))
    return found


def test_pass_role_only_on_the_node_role():
    assert resources_of("iam:PassRole") == [NODE_ROLE]
    statement = [s for n, s in statements() if s["Sid"] == "AllowPassingInstanceRole"][0]
    assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]


def test_sqs_only_on_the_queue():
    sqs = [s for n, s in statements() if any(a.startswith("sqs:") for a in as_list(s["Action"]))]
    assert sqs and all(as_list(s["Resource"]) == [QUEUE] for s in sqs)
    assert sorted(resources_of("sqs:ReceiveMessage") + resources_of("sqs:DeleteMessage")) == [QUEUE, QUEUE]


def test_describe_cluster_only_on_the_cluster():
    assert resources_of("eks:DescribeCluster") == [CLUSTER_ARN]


def test_instance_profile_read_only_on_our_profile():
    assert resources_of("iam:GetInstanceProfile") == [PROFILE]


def test_no_instance_profile_writes():
    actions = set(a for n, s in statements() for a in as_list(s["Action"]))
    for forbidden in ("iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:TagInstanceProfile",
                      "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"):
        assert forbidden not in actions


def test_ec2_writes_are_scoped_to_the_cluster():
    owned = "aws:ResourceTag/kubernetes.io/cluster/%s" % CLUSTER
    requested = "aws:RequestTag/kubernetes.io/cluster/%s" % CLUSTER
    for name, statement in statements():
        actions = as_list(statement["Action"])
        if any(a in ("ec2:TerminateInstances", "ec2:DeleteLaunchTemplate", "ec2:CreateTags") for a in actions):
            equals = statement["Condition"]["StringEquals"]
            assert equals.get(owned) == "owned" or equals.get(requested) == "owned", statement["Sid"]
        for resource in as_list(statement["Resource"]):
            if resource.startswith("arn:aws:ec2:"):
                assert resource.startswith("arn:aws:ec2:%s:" % REGION), resource


def test_partition_is_used_everywhere():
    for name, statement in statements(policies("aws-cn")):
        for resource in as_list(statement["Resource"]):
            assert resource == "*" or resource.startswith("arn:aws-cn:") or resource in (NODE_ROLE, QUEUE, PROFILE), resource
    zonal = policies("aws-cn")["zonal-shift"]["Statement"][0]
    assert zonal["Condition"]["StringEquals"]["arc-zonal-shift:ResourceIdentifier"].startswith("arn:aws-cn:eks:")


def test_policies_fit_the_managed_policy_size_limit():
    for name, doc in policies().items():
        assert len(json.dumps(doc, separators=(",", ":"))) < 6144, name
    long_name = "c" * 100
    for name, doc in K.controller_policies(long_name, "ap-southeast-2", ACCOUNT, NODE_ROLE, QUEUE, PROFILE).items():
        assert len(json.dumps(doc, separators=(",", ":"))) < 6144, name


def test_policies_are_independent_copies():
    first = policies()
    first["node-lifecycle"]["Statement"][0]["Action"].append("ec2:*")
    assert "ec2:*" not in policies()["node-lifecycle"]["Statement"][0]["Action"]


class CfnLoader(yaml.SafeLoader):
    """Safe loading of a CloudFormation template: !Sub, !GetAtt, !Ref ... yield their plain value."""


def _cfn_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


CfnLoader.add_multi_constructor("!", _cfn_tag)

UPSTREAM_POLICIES = {"NodeLifecyclePolicy": "node-lifecycle", "IAMIntegrationPolicy": "iam-integration",
                     "EKSIntegrationPolicy": "eks-integration", "InterruptionPolicy": "interruption",
                     "ResourceDiscoveryPolicy": "resource-discovery", "ZonalShiftPolicy": "zonal-shift"}
INSTANCE_PROFILE_WRITES = ("AllowScopedInstanceProfileCreationActions", "AllowScopedInstanceProfileTagActions",
                           "AllowScopedInstanceProfileActions")


@pytest.fixture(scope="module")
def upstream():
    """upstream policy name -> its statements, with the template's ${...} replaced by our test values."""
    if not os.path.exists(UPSTREAM):
        pytest.skip("no upstream template at %s" % UPSTREAM)
    with open(UPSTREAM, encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=CfnLoader)  # nosec B506 - a SafeLoader subclass
    subs = {"${AWS::Partition}": "aws", "${AWS::Region}": REGION, "${AWS::AccountId}": ACCOUNT, "${ClusterName}": CLUSTER,
            "${KarpenterNodeRole.Arn}": NODE_ROLE, "${KarpenterInterruptionQueue.Arn}": QUEUE}
    result = {}
    for name in UPSTREAM_POLICIES:
        text = template["Resources"][name]["Properties"]["PolicyDocument"]
        for placeholder, value in subs.items():
            text = text.replace(placeholder, value)
        assert "${" not in text, name
        result[name] = json.loads(text)["Statement"]
    return result


def test_upstream_sids_present_with_the_same_actions(upstream):
    ours = policies()
    for upstream_name, our_name in UPSTREAM_POLICIES.items():
        by_sid = dict((s["Sid"], s) for s in ours[our_name]["Statement"])
        for statement in upstream[upstream_name]:
            if statement["Sid"] in INSTANCE_PROFILE_WRITES:
                continue
            assert statement["Sid"] in by_sid, (our_name, statement["Sid"])
            assert set(as_list(by_sid[statement["Sid"]]["Action"])) == set(as_list(statement["Action"])), statement["Sid"]


def test_upstream_statements_match_except_the_profile_scoping(upstream):
    ours = dict((s["Sid"], s) for n, s in statements())
    compared = 0
    for upstream_name, upstream_statements in upstream.items():
        for statement in upstream_statements:
            if statement["Sid"] in INSTANCE_PROFILE_WRITES:
                continue
            mine = dict(ours[statement["Sid"]])
            if statement["Sid"] == "AllowInstanceProfileReadActions":
                assert statement["Resource"] == "arn:aws:iam::%s:instance-profile/*" % ACCOUNT
                assert mine["Resource"] == PROFILE
                mine["Resource"] = statement["Resource"]
            assert mine == statement, statement["Sid"]
            compared += 1
    assert compared == len(ours) == 15


def test_upstream_pass_role_present_and_profile_writes_absent(upstream):
    upstream_sids = set(s["Sid"] for s in upstream["IAMIntegrationPolicy"])
    assert "AllowPassingInstanceRole" in upstream_sids and set(INSTANCE_PROFILE_WRITES) <= upstream_sids
    our_sids = set(s["Sid"] for n, s in statements())
    assert "AllowPassingInstanceRole" in our_sids
    assert not our_sids & set(INSTANCE_PROFILE_WRITES)
    assert [s["Sid"] for s in policies()["iam-integration"]["Statement"]] == ["AllowPassingInstanceRole"]


# --------------------------------------------------------------------------------------------------------------------
# interruption queue


def test_queue_policy():
    policy = K.queue_policy(QUEUE)
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert len(allow) == 1 and len(deny) == 1
    assert "events.amazonaws.com" in allow[0]["Principal"]["Service"]
    assert allow[0]["Action"] == "sqs:SendMessage" and allow[0]["Resource"] == QUEUE
    assert deny[0]["Principal"] == "*" and deny[0]["Action"] == "sqs:*" and deny[0]["Resource"] == QUEUE
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_interruption_rules():
    patterns = dict((rule["detail-type"][0], rule["source"]) for rule in K.INTERRUPTION_RULES.values())
    assert patterns["EC2 Spot Instance Interruption Warning"] == ["aws.ec2"]
    assert patterns["EC2 Instance Rebalance Recommendation"] == ["aws.ec2"]
    assert patterns["EC2 Instance State-change Notification"] == ["aws.ec2"]
    assert patterns["AWS Health Event"] == ["aws.health"]
    for name, rule in K.INTERRUPTION_RULES.items():
        assert sorted(rule) == ["detail-type", "source"] and len(rule["detail-type"]) == 1, name


def test_interruption_rules_match_upstream():
    if not os.path.exists(UPSTREAM):
        pytest.skip("no upstream template at %s" % UPSTREAM)
    with open(UPSTREAM, encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=CfnLoader)  # nosec B506 - a SafeLoader subclass
    upstream = sorted((r["Properties"]["EventPattern"]["source"], r["Properties"]["EventPattern"]["detail-type"])
                      for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    ours = sorted((r["source"], r["detail-type"]) for r in K.INTERRUPTION_RULES.values())
    assert ours == upstream


def test_combined_controller_policy_fits_one_managed_policy_for_the_longest_names():
    name = "a" * 32
    doc = K.controller_policy(name, "ap-southeast-2", "123456789012", "arn:aws:iam::123456789012:role/%s-karpenter-node" % name,
                              "arn:aws:sqs:ap-southeast-2:123456789012:%s-karpenter" % name,
                              "arn:aws:iam::123456789012:instance-profile/%s-karpenter-node" % name)
    parts = K.controller_policies(name, "ap-southeast-2", "123456789012", "r", "q", "p")
    assert len(doc["Statement"]) == sum(len(p["Statement"]) for p in parts.values())
    assert len({st["Sid"] for st in doc["Statement"]}) == len(doc["Statement"])
    assert len(json.dumps(doc, separators=(",", ":"))) < K.MANAGED_POLICY_MAX_CHARS
