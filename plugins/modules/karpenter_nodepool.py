#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: karpenter_nodepool
short_description: Per-group Karpenter NodePools and EC2NodeClasses from a compact spec
version_added: 0.1.0
description:
  - Builds a C(karpenter.sh/v1) NodePool and a C(karpenter.k8s.aws/v1) EC2NodeClass of the same name for each entry
    of O(pools) (capacity types, instance shape, GPU, limits, disruption, labels, taints, root volume, AMI alias,
    IMDSv2, tags) and server-side applies them.
  - Each object is first applied with C(dryRun=All); when what the server would store equals what it holds, nothing
    is sent, so a re-run changes nothing and touches no C(resourceVersion).
  - A bad spec is rejected before any API call, naming the field and the fix.
  - With O(state=absent) the pools are deleted, then the module waits until their NodeClaims (and so their EC2
    instances) are gone, then deletes the EC2NodeClasses and waits for them.
  - With O(prune=true), pools labelled C(app.kubernetes.io/managed-by=hubops) and C(hubops.io/deployment=<deployment>)
    that are not in O(pools) are deleted the same way.
  - Supports check mode and diff mode.
author:
  - hubops.eks contributors (@hubops)
requirements:
  - kubernetes >= 24.2.0
options:
  pools:
    description:
      - Compact pool specs. Keys C(name) (required; NodePool and EC2NodeClass name), C(group) (node label
        C(hubops.io/group), tag C(hubops:group)), C(capacity) (default C([spot, on-demand]), spot first with on-demand
        fallback), C(families) (categories such as C(m) or families such as C(m7i)), C(sizes), C(instance_types)
        (exact types, instead of families and sizes), C(arch) (default C([amd64])), C(gpu) (C({count, name}); adds the
        C(nvidia.com/gpu) taint), C(cpu_limit), C(memory_limit), C(gpu_limit), C(volume_size_gb) (default 100, gp3,
        encrypted with O(kms_key_arn)), C(consolidation) (default C(WhenEmpty)), C(consolidate_after) (default C(5m)),
        C(expire_after) (default C(Never); anything else needs C(termination_grace_period)), C(weight), C(labels),
        C(taints), C(tags), C(ami_alias), C(user) (default true; user pools get C(hub.jupyter.org/node-purpose=user) and
        the C(hub.jupyter.org/dedicated=user:NoSchedule) taint).
      - With O(state=absent) only C(name) is needed; an empty list with O(state=absent) deletes every pool of O(deployment).
    type: list
    elements: dict
    default: []
  defaults:
    description: Values for keys a pool does not set (for example C(ami_alias), C(volume_size_gb)).
    type: dict
    default: {}
  deployment:
    description: The deployment; ownership label C(hubops.io/deployment) and tag C(hubops:deployment).
    type: str
    required: true
  cluster_name:
    description: EKS cluster; subnets are selected by C(karpenter.sh/discovery=<cluster>), security groups by C(aws:eks:cluster-name=<cluster>).
    type: str
  instance_profile:
    description: Name of the IAM instance profile Karpenter's nodes run with (EC2NodeClass C(spec.instanceProfile)).
    type: str
  kms_key_arn:
    description: KMS key encrypting the nodes' root volumes; empty uses the account's default EBS key.
    type: str
    default: ""
  tags:
    description: Tags added to every instance, volume and launch template of the pools (after C(hubops_tags)).
    type: dict
    default: {}
  state:
    description: C(present) applies the pools; C(absent) deletes them.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description: With O(state=present), delete this deployment's pools that are not in O(pools).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for NodeClaims and EC2NodeClasses to go after a deletion.
    type: int
    default: 600
  kubeconfig:
    description: Path of the kubeconfig; default the client's usual lookup (C(KUBECONFIG), C(~/.kube/config)).
    type: path
  context:
    description: Kubeconfig context to use; default its current context.
    type: str
  field_manager:
    description: Server-side apply field manager.
    type: str
    default: hubops
"""

EXAMPLES = r"""
- name: One spot-first pool for the neuro group and a shared on-demand GPU pool, pruning pools that left the inventory
  hubops.eks.karpenter_nodepool:
    deployment: dandi
    cluster_name: dandi
    instance_profile: hubops-dandi-karpenter-node
    kms_key_arn: arn:aws:kms:us-east-2:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab
    kubeconfig: build/dandi/kubeconfig
    tags: {project: dandi}
    prune: true
    pools:
      - {name: neuro, group: neuro, families: [m, r], sizes: [xlarge, 2xlarge], cpu_limit: 256, memory_limit: 1024Gi}
      - {name: gpu, capacity: [on-demand], gpu: {count: 1, name: a10g}, gpu_limit: 8}

- name: Delete every pool of the deployment and wait for their nodes to go
  hubops.eks.karpenter_nodepool:
    deployment: dandi
    kubeconfig: build/dandi/kubeconfig
    state: absent
"""

RETURN = r"""
pools:
  description: What happened to each pool, by name.
  returned: always
  type: dict
  sample: {"neuro": "unchanged", "gpu": "updated", "old": "deleted"}
changed_pools:
  description: Names of the pools created, updated or deleted (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["gpu"]
manifests:
  description: The NodePool and EC2NodeClass objects built for O(pools) (state present).
  returned: always
  type: list
  elements: dict
diff:
  description: Specs before and after, by C(<kind>/<name>), for the objects that change.
  returned: when changed and diff mode is on
  type: dict
"""

import json
import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

PLURALS = {"NodePool": "nodepools", "EC2NodeClass": "ec2nodeclasses", "NodeClaim": "nodeclaims"}
APIS = {"NodePool": K.NODEPOOL_API, "EC2NodeClass": K.NODECLASS_API, "NodeClaim": K.NODECLAIM_API}
COMPARED = ("spec",)
POLL_SECONDS = 3


class Kube(object):
    """The few cluster-scoped custom-object calls the module makes."""

    def __init__(self, api):
        self.api = api

    def _where(self, kind):
        group, version = APIS[kind][:2]
        return group, version, PLURALS[kind]

    def get(self, kind, name):
        group, version, plural = self._where(kind)
        try:
            return self.api.get_cluster_custom_object(group, version, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind, selector):
        group, version, plural = self._where(kind)
        return self.api.list_cluster_custom_object(group, version, plural, label_selector=selector).get("items", [])

    def apply(self, body, field_manager, dry_run):
        group, version, plural = self._where(body["kind"])
        kwargs = {"field_manager": field_manager, "force": True, "_content_type": "application/apply-patch+yaml"}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self.api.patch_cluster_custom_object(group, version, plural, body["metadata"]["name"], body, **kwargs)

    def delete(self, kind, name):
        group, version, plural = self._where(kind)
        try:
            self.api.delete_cluster_custom_object(group, version, plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise


def _comparable(obj):
    """What a change is judged on: the spec and our labels/annotations (not status or bookkeeping)."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    return {"spec": obj.get("spec"), "labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}}


def _api_message(exc):
    try:
        body = json.loads(exc.body)
        return body.get("message") or str(exc)
    except (TypeError, ValueError):
        return "%s %s" % (exc.status, exc.reason)


class NodePools(object):
    def __init__(self, module, kube):
        self.module = module
        self.kube = kube
        self.params = module.params
        self.results = {}
        self.diff = {"before": {}, "after": {}}

    def selector(self):
        own = K.ownership_labels(self.params["deployment"])
        return ",".join("%s=%s" % item for item in sorted(own.items()))

    def converge(self, body):
        kind, name = body["kind"], body["metadata"]["name"]
        current = self.kube.get(kind, name)
        if current is None and self.module.check_mode:
            self._record(kind, name, None, body)
            return "created"
        try:
            predicted = self.kube.apply(body, self.params["field_manager"], dry_run=True)
        except ApiException as exc:
            self.module.fail_json(msg="The API server refused %s %s: %s" % (kind, name, _api_message(exc)), status=exc.status)
        if current is not None and _comparable(predicted) == _comparable(current):
            return "unchanged"
        self._record(kind, name, current, predicted)
        if not self.module.check_mode:
            self.kube.apply(body, self.params["field_manager"], dry_run=False)
        return "created" if current is None else "updated"

    def _record(self, kind, name, before, after):
        key = "%s/%s" % (kind, name)
        self.diff["before"][key] = (before or {}).get("spec")
        self.diff["after"][key] = (after or {}).get("spec")

    def delete_pool(self, name):
        """NodePool first (Karpenter drains and terminates its nodes), then wait for its NodeClaims, then the class."""
        pool = self.kube.get("NodePool", name)
        nodeclass = self.kube.get("EC2NodeClass", name)
        if pool is None and nodeclass is None:
            return False
        self._record("NodePool", name, pool, None)
        if nodeclass is not None:
            self._record("EC2NodeClass", name, nodeclass, None)
        if self.module.check_mode:
            return True
        if pool is not None:
            self.kube.delete("NodePool", name)
            self.wait_gone(name, lambda: self.kube.list("NodeClaim", "karpenter.sh/nodepool=%s" % name), "NodeClaims of pool")
            self.wait_gone(name, lambda: [p for p in [self.kube.get("NodePool", name)] if p], "NodePool")
        if nodeclass is not None:
            self.kube.delete("EC2NodeClass", name)
            self.wait_gone(name, lambda: [c for c in [self.kube.get("EC2NodeClass", name)] if c], "EC2NodeClass")
        return True

    def wait_gone(self, name, lister, what):
        deadline = time.time() + self.params["wait_timeout"]
        while True:
            left = lister()
            if not left:
                return
            if time.time() > deadline:
                names = ", ".join(sorted(item["metadata"]["name"] for item in left))
                self.module.fail_json(msg="%s %s still there after %d s: %s. Check the Karpenter controller's log "
                                          "(kubectl -n kube-system logs deploy/karpenter); re-run to keep waiting."
                                          % (what, name, self.params["wait_timeout"], names), pools=self.results)
            time.sleep(POLL_SECONDS)

    def owned_names(self):
        names = set()
        for kind in ("NodePool", "EC2NodeClass"):
            try:
                names.update(item["metadata"]["name"] for item in self.kube.list(kind, self.selector()))
            except ApiException as exc:
                if exc.status != 404:  # no Karpenter CRDs: nothing of ours can exist
                    raise
        return names

    def present(self, manifests, wanted):
        actions = {}
        for body in manifests:
            actions.setdefault(body["metadata"]["name"], set()).add(self.converge(body))
        for name, done in actions.items():
            self.results[name] = next((a for a in ("created", "updated") if a in done), "unchanged")
        if self.params["prune"]:
            for name in sorted(self.owned_names() - set(wanted)):
                if self.delete_pool(name):
                    self.results[name] = "deleted"

    def absent(self, names):
        targets = names or sorted(self.owned_names())
        for name in targets:
            self.results[name] = "deleted" if self.delete_pool(name) else "absent"


def build_manifests(module):
    params = module.params
    missing = [key for key in ("cluster_name", "instance_profile") if not params.get(key)]
    if missing:
        module.fail_json(msg="state=present needs %s." % " and ".join(missing))
    ctx = {"deployment": params["deployment"], "cluster_name": params["cluster_name"], "instance_profile": params["instance_profile"],
           "kms_key_arn": params["kms_key_arn"], "tags": params["tags"]}
    manifests, problems, names = [], [], []
    for index, pool in enumerate(params["pools"]):
        where = "pools[%d]" % index
        pool_problems = K.validate_pool(K.merged_spec(pool, params["defaults"]), where)
        if pool_problems:
            problems.extend(pool_problems)
            continue
        if pool["name"] in names:
            problems.append((where + ".name", "is '%s' again." % pool["name"], "Give every pool its own name."))
            continue
        names.append(pool["name"])
        nodepool, nodeclass = K.pool_manifests(pool, ctx, params["defaults"], where)
        manifests.extend([nodeclass, nodepool])  # the class first: a pool never points at a class that is not there
    if problems:
        module.fail_json(msg="Invalid pool spec (%d problems):\n%s" % (len(problems), "\n".join(
            "%s: %s Fix: %s" % problem for problem in problems)), problems=[dict(zip(("field", "message", "fix"), p)) for p in problems])
    return manifests, names


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pools=dict(type="list", elements="dict", default=[]),
            defaults=dict(type="dict", default={}),
            deployment=dict(type="str", required=True),
            cluster_name=dict(type="str"),
            instance_profile=dict(type="str"),
            kms_key_arn=dict(type="str", default="", no_log=False),
            tags=dict(type="dict", default={}),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            prune=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
            field_manager=dict(type="str", default="hubops"),
        ),
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    params = module.params
    manifests, names = [], [p.get("name") for p in params["pools"] if isinstance(p, dict)]
    if params["state"] == "present":
        manifests, names = build_manifests(module)  # every spec checked before the first API call
    try:
        api_client = k8s_config.new_client_from_config(config_file=params["kubeconfig"], context=params["context"])
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="Cannot load the kubeconfig %s: %s" % (params["kubeconfig"] or "(default)", exc))
    pools = NodePools(module, Kube(k8s_client.CustomObjectsApi(api_client)))
    try:
        if params["state"] == "present":
            pools.present(manifests, names)
        else:
            pools.absent(names)
    except ApiException as exc:
        module.fail_json(msg="Kubernetes API error: %s" % _api_message(exc), status=exc.status, pools=pools.results)
    changed_pools = sorted(name for name, action in pools.results.items() if action in ("created", "updated", "deleted"))
    result = dict(changed=bool(changed_pools), pools=pools.results, changed_pools=changed_pools, manifests=manifests)
    if module._diff and changed_pools:
        result["diff"] = pools.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
