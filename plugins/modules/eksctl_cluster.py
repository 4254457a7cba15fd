#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: eksctl_cluster
short_description: Create, converge, upgrade and delete an EKS cluster with eksctl
version_added: 0.1.0
description:
  - Renders the desired eksctl C(ClusterConfig) (C(apiVersion eksctl.io/v1alpha5)) from O(name), O(region),
    O(version), O(tags) and O(spec), reads the cluster's state with C(eksctl get ... -o json) and runs only the eksctl
    commands the difference needs (the list is in C(docs/eksctl.md)).
  - Upgrades go one minor version at a time, control plane first, then add-ons, then managed node groups.
    A downgrade is refused.
  - Access entries of type STANDARD that are not in O(spec) are deleted, so removing an admin from the inventory removes
    exactly that entry. EC2_LINUX entries of managed node groups belong to EKS and are left alone.
  - AWS credentials, profile and endpoint are passed to eksctl through its environment.
author: hubops.eks contributors (@hubops)
options:
  name:
    description: Cluster name.
    type: str
    required: true
  version:
    description:
      - Kubernetes minor version, for example C("1.34").
      - When omitted, the newest minor that both eksctl and EKS standard support cover.
    type: str
  state:
    description: C(present) creates or converges the cluster; C(absent) runs C(eksctl delete cluster --wait).
    type: str
    choices: [present, absent]
    default: present
  spec:
    description:
      - The C(ClusterConfig) body without C(apiVersion), C(kind) and C(metadata) (C(vpc), C(accessConfig), C(addons),
        C(iam), C(managedNodeGroups), C(secretsEncryption), C(cloudWatch), ...), in eksctl's own field names.
      - It is validated by eksctl against its schema; C(tests/) validates what the roles render against the schema too.
    type: dict
    default: {}
  tags:
    description: Tags of the cluster and its CloudFormation stacks (C(metadata.tags)).
    type: dict
    default: {}
  eksctl_path:
    description: Path of the eksctl binary; by default C(eksctl) is looked up on PATH.
    type: path
  kubeconfig:
    description:
      - Where the cluster's kubeconfig is written (on create, or when the file is missing).
      - Required unless O(validate_only=true).
    type: path
  validate_only:
    description:
      - Only read the cluster and check that O(version) is reachable from what runs (no downgrade); change nothing.
      - The preflight role uses this to refuse a downgrade before any other role changes anything.
      - When O(kubeconfig) is given, the cluster exists and the file does not, the kubeconfig is written (a local file;
        no AWS change). Teardown uses this to reach a cluster from a machine that did not create it.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Converge the cluster
  hubops.eks.eksctl_cluster:
    name: dandi
    region: us-east-2
    version: "1.34"
    kubeconfig: build/dandi/kubeconfig
    tags:
      hubops:deployment: dandi
    spec:
      vpc:
        id: vpc-0123456789abcdef0
        subnets:
          private:
            us-east-2a: {id: subnet-0123456789abcdef0}
            us-east-2b: {id: subnet-0123456789abcdef1}
      accessConfig:
        authenticationMode: API
        accessEntries:
          - principalARN: arn:aws:iam::123456789012:role/Admin
            accessPolicies:
              - policyARN: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
                accessScope: {type: cluster}
      addons:
        - name: vpc-cni
        - name: eks-pod-identity-agent

- name: Delete the cluster
  hubops.eks.eksctl_cluster:
    name: dandi
    region: us-east-2
    kubeconfig: build/dandi/kubeconfig
    state: absent
"""

RETURN = r"""
cluster:
  description: The cluster as C(eksctl get cluster) reports it after the change (empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Cluster name.
      type: str
      sample: dandi
    version:
      description: Kubernetes minor version.
      type: str
      sample: "1.34"
    status:
      description: Cluster status.
      type: str
      sample: ACTIVE
    endpoint:
      description: API server endpoint.
      type: str
      sample: https://ABCDEF.gr7.us-east-2.eks.amazonaws.com
    oidc_issuer:
      description: OIDC issuer URL.
      type: str
      sample: https://oidc.eks.us-east-2.amazonaws.com/id/ABCDEF
    cluster_security_group_id:
      description: The cluster security group EKS created.
      type: str
      sample: sg-0123456789abcdef0
    security_group_ids:
      description: Additional control-plane security groups.
      type: list
      elements: str
      sample: [sg-0123456789abcdef1]
    vpc_id:
      description: VPC of the cluster.
      type: str
      sample: vpc-0123456789abcdef0
kubeconfig:
  description: Path of the kubeconfig for the cluster.
  returned: always
  type: str
  sample: build/dandi/kubeconfig
commands:
  description: The mutating eksctl command lines run (in check mode, the ones that would run); C(<config>) is the rendered ClusterConfig.
  returned: always
  type: list
  elements: str
  sample: ["eksctl create cluster --kubeconfig build/dandi/kubeconfig -f <config>"]
config:
  description: The rendered ClusterConfig.
  returned: always
  type: dict
  sample: {"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig", "metadata": {"name": "dandi", "region": "us-east-2"}}
standard_support_end:
  description: End of EKS standard support of the version the cluster runs after this run, when known.
  returned: when state is present
  type: str
  sample: "2026-12-02"
"""

import os
from multiprocessing.pool import ThreadPool

from ansible_collections.hubops.eks.plugins.module_utils import eksctl as E
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule


def eksctl_environment(params, region):
    env = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    for option, variable in (("access_key", "AWS_ACCESS_KEY_ID"), ("secret_key", "AWS_SECRET_ACCESS_KEY"),
                             ("session_token", "AWS_SESSION_TOKEN"), ("profile", "AWS_PROFILE"),
                             ("endpoint_url", "AWS_ENDPOINT_URL")):
        if params.get(option):
            env[variable] = params[option]
    return env


def summarize(cluster):
    if not cluster:
        return {}
    vpc = cluster.get("ResourcesVpcConfig") or {}
    return {
        "name": cluster.get("Name"),
        "version": cluster.get("Version"),
        "status": cluster.get("Status"),
        "endpoint": cluster.get("Endpoint"),
        "oidc_issuer": ((cluster.get("Identity") or {}).get("Oidc") or {}).get("Issuer"),
        "cluster_security_group_id": vpc.get("ClusterSecurityGroupId"),
        "security_group_ids": vpc.get("SecurityGroupIds") or [],
        "vpc_id": vpc.get("VpcId"),
    }


class ClusterConverger(object):
    """read -> compare -> act for one cluster; in check mode `act` only records the command."""

    def __init__(self, module, runner, name, config, kubeconfig):
        self.module = module
        self.eksctl = runner
        self.name = name
        self.config = config
        self.kubeconfig = kubeconfig
        self.changed = False
        self._cache = {}

    def act(self, args, config=None):
        self.changed = True
        if self.module.check_mode:
            self.eksctl.commands.append(" ".join([self.eksctl.binary] + list(args) + (["-f", "<config>"] if config else [])))
            return
        self.eksctl.run(args, config=config, mutating=True)

    def get(self, kind):
        if kind in self._cache:
            return self._cache.pop(kind)
        return self.eksctl.get_json(["get", kind] + self.eksctl.where(self.name)) or []

    def prefetch(self):
        """Read add-ons, access entries, pod identities and node groups at once: four eksctl processes in parallel
        instead of in a row (each is one or more AWS round trips), which is most of a no-op run's time."""
        kinds = ["addon", "accessentry", "podidentityassociation", "nodegroup"]
        pool = ThreadPool(len(kinds))
        try:
            results = pool.map(lambda kind: self.eksctl.get_json(["get", kind] + self.eksctl.where(self.name)) or [], kinds)
        finally:
            pool.close()
        self._cache = dict(zip(kinds, results))

    def cluster(self):
        found = self.eksctl.get_json(["get", "cluster", "--name", self.name, "--region", self.eksctl.region])
        return found[0] if found else None

    def create(self):
        self.act(["create", "cluster", "--kubeconfig", self.kubeconfig], config=self.config)

    def upgrade(self, current_version):
        steps = E.upgrade_steps(current_version, self.config["metadata"]["version"])
        for version in steps:
            self.act(["upgrade", "cluster", "--name", self.name, "--region", self.eksctl.region, "--version", version, "--approve"])
        return steps

    def addons(self, upgraded):
        create, update = E.addon_actions(self.config.get("addons"), self.get("addon"))
        if upgraded:  # follow the new minor: unpinned add-ons move to the default of the new version
            names = set(a["name"] for a in create + update)
            update += [{"name": a["name"], "version": "latest"} for a in self.config.get("addons") or []
                       if not a.get("version") and a["name"] not in names]  # identities stay as they are
        if create:
            self.act(["create", "addon"], config=E.subset(self.config, addons=create))
        if update:
            self.act(["update", "addon"], config=E.subset(self.config, addons=update))

    def access_entries(self):
        desired = (self.config.get("accessConfig") or {}).get("accessEntries") or []
        create, delete = E.access_entry_actions(desired, self.get("accessentry"))
        for arn in delete:
            self.act(["delete", "accessentry"] + self.eksctl.where(self.name) + ["--principal-arn", arn])
        if create:
            self.act(["create", "accessentry"], config=E.subset(self.config, accessEntries=create))

    def pod_identities(self):
        desired = (self.config.get("iam") or {}).get("podIdentityAssociations") or []
        create, update, delete = E.pod_identity_actions(desired, self.get("podidentityassociation"))
        for namespace, account in delete:
            self.act(["delete", "podidentityassociation"] + self.eksctl.where(self.name)
                     + ["--namespace", namespace, "--service-account-name", account])
        if create:
            self.act(["create", "podidentityassociation"], config=E.subset(self.config, podIdentityAssociations=create))
        if update:
            self.act(["update", "podidentityassociation"], config=E.subset(self.config, podIdentityAssociations=update))

    def nodegroups(self, version):
        create, scale, upgrade = E.nodegroup_actions(self.config.get("managedNodeGroups"), self.get("nodegroup"), version)
        for group in create:
            self.act(["create", "nodegroup", "--include", group["name"]], config=self.config)
        for group in scale:
            self.act(["scale", "nodegroup"] + self.eksctl.where(self.name)
                     + ["--name", group["name"], "--nodes", str(group.get("desiredCapacity")),
                        "--nodes-min", str(group.get("minSize")), "--nodes-max", str(group.get("maxSize"))])
        for group_name in upgrade:
            self.act(["upgrade", "nodegroup"] + self.eksctl.where(self.name)
                     + ["--name", group_name, "--kubernetes-version", version, "--wait"])

    def write_kubeconfig(self):
        if not os.path.exists(self.kubeconfig):
            self.act(["utils", "write-kubeconfig"] + self.eksctl.where(self.name) + ["--kubeconfig", self.kubeconfig])


def converge(module, runner, params):
    name, region = params["name"], params["region"]
    version = params["version"]
    if not (params.get("validate_only") and version):  # a version check alone needs no eksctl version gate
        supported = runner.version()[1]
        version = version or E.default_version(supported)
    config = E.render_config(name, region, version, params["spec"], params["tags"])
    kubeconfig = params["kubeconfig"]
    conv = ClusterConverger(module, runner, name, config, kubeconfig)
    before = conv.cluster()
    result = {"config": config, "kubeconfig": kubeconfig}
    if params.get("validate_only"):
        if before and params["state"] == "present":
            E.upgrade_steps(before.get("Version"), version)
        result["cluster"] = result["before"] = summarize(before)
        if before and kubeconfig:
            conv.write_kubeconfig()  # a local file only: teardown reaches a cluster this machine has no kubeconfig for
        return conv, result
    if params["state"] == "absent":
        if before:
            conv.act(["delete", "cluster", "--name", name, "--region", region, "--wait"])
        result["cluster"] = {}
        result["before"] = summarize(before)
        return conv, result
    if before is None:
        kube_dir = os.path.dirname(kubeconfig)
        if kube_dir and not os.path.isdir(kube_dir) and not module.check_mode:
            os.makedirs(kube_dir)
        conv.create()
    else:
        if before.get("Status") not in ("ACTIVE", "UPDATING"):
            raise E.EksctlError("cluster %s is %s; wait for it to become ACTIVE, or delete it" % (name, before.get("Status")))
        conv.prefetch()
        steps = conv.upgrade(before.get("Version"))
        conv.addons(upgraded=bool(steps))
        conv.access_entries()
        conv.pod_identities()
        conv.nodegroups(version)
        conv.write_kubeconfig()
    after = before if module.check_mode or not conv.changed else conv.cluster()
    result["cluster"] = summarize(after)
    result["before"] = summarize(before)
    result["standard_support_end"] = E.STANDARD_SUPPORT_END.get(version, "unknown")
    return conv, result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        version=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        spec=dict(type="dict", default={}),
        tags=dict(type="dict", default={}),
        eksctl_path=dict(type="path"),
        kubeconfig=dict(type="path"),
        validate_only=dict(type="bool", default=False),
    )
    module = AnsibleHubopsModule(argument_spec=argument_spec, supports_check_mode=True,
                                 required_if=[("validate_only", False, ["kubeconfig"])])
    if not E.HAS_YAML:
        module.fail_json(msg="PyYAML is required to write the eksctl ClusterConfig")
    region = module.region
    if not region:
        module.fail_json(msg="region is required (hubops_region)")
    binary = module.params["eksctl_path"] or module.get_bin_path("eksctl", required=True)
    runner = E.Eksctl(module, binary, region, eksctl_environment(module.params, region))
    params = dict(module.params, region=region)
    try:
        conv, result = converge(module, runner, params)
    except E.EksctlError as exc:
        module.fail_json(msg=str(exc), commands=runner.commands)
    before = result.pop("before")
    if conv.changed and module._diff:
        result["diff"] = {"before": before, "after": result["config"]}
    module.exit_json(changed=conv.changed, commands=runner.commands, **result)


if __name__ == "__main__":
    main()
