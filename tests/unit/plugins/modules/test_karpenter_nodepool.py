# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""karpenter_nodepool against an in-memory cluster: create, no-op re-run, update of one pool, check mode, prune,
absent, waiting for NodeClaims, and every spec checked before the first API call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from unittest import mock

import pytest

from kubernetes.client.exceptions import ApiException

from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K
from ansible_collections.hubops.eks.plugins.modules import karpenter_nodepool as M

OURS = {"app.kubernetes.io/managed-by": "hubops", "hubops.io/deployment": "dandi"}
THEIRS = {"app.kubernetes.io/managed-by": "hubops", "hubops.io/deployment": "other"}
POOLS = [{"name": "neuro", "group": "neuro", "families": ["m", "r"], "cpu_limit": 64},
         {"name": "gpu", "capacity": ["on-demand"], "gpu": {"count": 1, "name": "a10g"}, "gpu_limit": 4}]


class FailJson(Exception):
    def __init__(self, kwargs):
        super(FailJson, self).__init__(kwargs.get("msg"))
        self.kwargs = kwargs


class ExitJson(Exception):
    def __init__(self, kwargs):
        super(ExitJson, self).__init__(kwargs)
        self.kwargs = kwargs


class FakeModule(object):
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = {"pools": [], "defaults": {}, "deployment": "dandi", "cluster_name": "dandi-eks",
                       "instance_profile": "hubops-dandi-karpenter-node", "kms_key_arn": "", "tags": {}, "state": "present",
                       "prune": False, "wait_timeout": 600, "kubeconfig": None, "context": None, "field_manager": "hubops"}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)

    def exit_json(self, **kwargs):
        raise ExitJson(kwargs)


def server_defaults(kind, spec):
    """What the API server adds to a spec it stores (CRD defaults), so predicted and stored objects are compared
    the way the module sees them on a real cluster."""
    spec = copy.deepcopy(spec)
    if kind == "NodePool":
        spec.setdefault("disruption", {}).setdefault("budgets", [{"nodes": "10%"}])
    elif kind == "EC2NodeClass":
        spec.setdefault("metadataOptions", {}).setdefault("httpProtocolIPv6", "disabled")
    return spec


class FakeKube(object):
    """In-memory cluster-scoped objects keyed by (kind, name); server-side apply with one field manager."""

    def __init__(self, objects=(), claims=None):
        self.objects = {}
        self.calls = []
        self.version = 0
        for obj in objects:
            self.store(obj)
        # NodeClaims per pool name: a list of names, or a callable (poll number -> list of names)
        self.claims = claims or {}
        self.claim_polls = {}

    def store(self, body):
        self.version += 1
        obj = self.predict(body)
        self.objects[(obj["kind"], obj["metadata"]["name"])] = obj

    def predict(self, body):
        current = self.objects.get((body["kind"], body["metadata"]["name"]))
        meta = copy.deepcopy((current or {}).get("metadata") or {})
        meta.update({"name": body["metadata"]["name"], "labels": dict(body["metadata"].get("labels") or {}),
                     "resourceVersion": str(self.version), "uid": meta.get("uid", "uid-%s" % body["metadata"]["name"]),
                     "managedFields": [{"manager": "hubops", "operation": "Apply"}]})
        meta.setdefault("annotations", {"karpenter.sh/hash": "h"})  # the controller's own annotation, kept by apply
        obj = {"apiVersion": body["apiVersion"], "kind": body["kind"], "metadata": meta,
               "spec": server_defaults(body["kind"], body.get("spec") or {})}
        if current is not None and "status" in current:
            obj["status"] = copy.deepcopy(current["status"])
        return obj

    def get(self, kind, name):
        self.calls.append(("get", kind, name))
        obj = self.objects.get((kind, name))
        return copy.deepcopy(obj)

    def list(self, kind, selector):
        self.calls.append(("list", kind, selector))
        wanted = dict(term.split("=", 1) for term in selector.split(","))
        if kind == "NodeClaim":
            pool = wanted["karpenter.sh/nodepool"]
            poll = self.claim_polls[pool] = self.claim_polls.get(pool, 0) + 1
            names = self.claims.get(pool, [])
            names = names(poll) if callable(names) else names
            return [{"kind": "NodeClaim", "metadata": {"name": n, "labels": {"karpenter.sh/nodepool": pool}}} for n in names]
        return [copy.deepcopy(obj) for (k, name), obj in sorted(self.objects.items())
                if k == kind and all((obj["metadata"].get("labels") or {}).get(key) == value for key, value in wanted.items())]

    def apply(self, body, field_manager, dry_run):
        assert field_manager == "hubops"
        self.calls.append(("apply", body["kind"], body["metadata"]["name"], dry_run))
        if dry_run:
            return self.predict(body)
        self.store(body)
        return copy.deepcopy(self.objects[(body["kind"], body["metadata"]["name"])])

    def delete(self, kind, name):
        self.calls.append(("delete", kind, name))
        self.objects.pop((kind, name), None)

    def writes(self):
        return [c for c in self.calls if c[0] == "delete" or (c[0] == "apply" and not c[3])]

    def dry_runs(self):
        return [c for c in self.calls if c[0] == "apply" and c[3]]


def manifests(pools=None, **params):
    module = FakeModule(pools=POOLS if pools is None else pools, **params)
    return M.build_manifests(module)


def converged(kube, pools=None, check_mode=False, prune=False, **params):
    bodies, names = manifests(pools, **params)
    nodepools = M.NodePools(FakeModule(check_mode=check_mode, prune=prune, **params), kube)
    nodepools.present(bodies, names)
    return nodepools


def foreign(kind, name, labels):
    api = "karpenter.sh/v1" if kind == "NodePool" else "karpenter.k8s.aws/v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "labels": labels}, "spec": {"x": name}}


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for wait_gone: sleep() moves time forward instead of waiting."""

    class Clock(object):
        now = 1000.0
        sleeps = []

        def time(self):
            return self.now

        def sleep(self, seconds):
            self.sleeps.append(seconds)
            self.now += seconds

    fake = Clock()
    fake.sleeps = []
    monkeypatch.setattr(M, "time", fake)
    return fake


# --------------------------------------------------------------------------------------------------------------------
# present


def test_create():
    kube = FakeKube()
    pools = converged(kube)
    assert pools.results == {"neuro": "created", "gpu": "created"}
    assert sorted(kube.objects) == [("EC2NodeClass", "gpu"), ("EC2NodeClass", "neuro"), ("NodePool", "gpu"), ("NodePool", "neuro")]
    assert [c[1:3] for c in kube.writes()] == [("EC2NodeClass", "neuro"), ("NodePool", "neuro"), ("EC2NodeClass", "gpu"), ("NodePool", "gpu")]
    stored = kube.objects[("NodePool", "neuro")]
    assert stored["metadata"]["labels"] == dict(OURS, **{"hubops.io/group": "neuro"})
    assert stored["spec"]["limits"] == {"cpu": "64"}
    assert kube.objects[("EC2NodeClass", "gpu")]["spec"]["instanceProfile"] == "hubops-dandi-karpenter-node"
    assert pools.diff["before"]["NodePool/neuro"] is None and pools.diff["after"]["NodePool/neuro"]["limits"] == {"cpu": "64"}


def test_nodeclass_before_nodepool_in_the_manifests():
    bodies, names = manifests()
    assert [(b["kind"], b["metadata"]["name"]) for b in bodies] == [("EC2NodeClass", "neuro"), ("NodePool", "neuro"),
                                                                    ("EC2NodeClass", "gpu"), ("NodePool", "gpu")]
    assert names == ["neuro", "gpu"]


def test_second_run_is_unchanged_and_writes_nothing():
    kube = FakeKube()
    converged(kube)
    before = copy.deepcopy(kube.objects)
    kube.calls = []
    pools = converged(kube)
    assert pools.results == {"neuro": "unchanged", "gpu": "unchanged"}
    assert kube.writes() == []
    assert len(kube.dry_runs()) == 4
    assert kube.objects == before
    assert pools.diff == {"before": {}, "after": {}}


def test_changing_one_pool_updates_only_it():
    kube = FakeKube()
    converged(kube)
    kube.calls = []
    changed = [dict(POOLS[0], cpu_limit=128), POOLS[1]]
    pools = converged(kube, changed)
    assert pools.results == {"neuro": "updated", "gpu": "unchanged"}
    assert [c[1:3] for c in kube.writes()] == [("NodePool", "neuro")]
    assert kube.objects[("NodePool", "neuro")]["spec"]["limits"] == {"cpu": "128"}
    assert pools.diff["before"]["NodePool/neuro"]["limits"] == {"cpu": "64"}
    assert pools.diff["after"]["NodePool/neuro"]["limits"] == {"cpu": "128"}


def test_changing_a_label_is_an_update():
    kube = FakeKube()
    converged(kube)
    pools = converged(kube, [dict(POOLS[0], group=None), POOLS[1]])
    assert pools.results["neuro"] == "updated"
    assert "hubops.io/group" not in kube.objects[("NodePool", "neuro")]["metadata"]["labels"]


def test_status_and_bookkeeping_do_not_count_as_change():
    kube = FakeKube()
    converged(kube)
    for obj in kube.objects.values():
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
        obj["metadata"]["resourceVersion"] = "999"
    kube.calls = []
    assert converged(kube).results == {"neuro": "unchanged", "gpu": "unchanged"}
    assert kube.writes() == []


def test_check_mode_creates_nothing():
    kube = FakeKube()
    pools = converged(kube, check_mode=True)
    assert pools.results == {"neuro": "created", "gpu": "created"}
    assert kube.objects == {}
    assert kube.writes() == []
    assert "NodePool/gpu" in pools.diff["after"]


def test_check_mode_update_writes_nothing():
    kube = FakeKube()
    converged(kube)
    before = copy.deepcopy(kube.objects)
    kube.calls = []
    pools = converged(kube, [dict(POOLS[0], cpu_limit=128), POOLS[1]], check_mode=True)
    assert pools.results == {"neuro": "updated", "gpu": "unchanged"}
    assert kube.writes() == []
    assert kube.objects == before
    assert pools.diff["after"]["NodePool/neuro"]["limits"] == {"cpu": "128"}


def test_refused_apply_fails_with_the_servers_message():
    kube = FakeKube()
    exc = ApiException(status=422, reason="Unprocessable Entity")
    exc.body = json.dumps({"message": "spec.limits: Invalid value"})
    kube.apply = mock.Mock(side_effect=exc)
    with pytest.raises(FailJson) as err:
        converged(kube)
    assert "EC2NodeClass neuro" in err.value.kwargs["msg"] and "spec.limits: Invalid value" in err.value.kwargs["msg"]
    assert err.value.kwargs["status"] == 422


# --------------------------------------------------------------------------------------------------------------------
# prune and absent


def test_prune_deletes_only_our_unwanted_pools():
    kube = FakeKube([foreign("NodePool", "old", OURS), foreign("EC2NodeClass", "old", OURS),
                     foreign("EC2NodeClass", "orphan-class", OURS),
                     foreign("NodePool", "theirs", THEIRS), foreign("EC2NodeClass", "theirs", THEIRS),
                     foreign("NodePool", "manual", {}), foreign("EC2NodeClass", "manual", {"team": "x"})])
    pools = converged(kube, prune=True)
    assert pools.results == {"neuro": "created", "gpu": "created", "old": "deleted", "orphan-class": "deleted"}
    assert sorted(kube.objects) == [("EC2NodeClass", "gpu"), ("EC2NodeClass", "manual"), ("EC2NodeClass", "neuro"),
                                    ("EC2NodeClass", "theirs"), ("NodePool", "gpu"), ("NodePool", "manual"),
                                    ("NodePool", "neuro"), ("NodePool", "theirs")]
    deletes = [c[1:] for c in kube.calls if c[0] == "delete"]
    assert deletes == [("NodePool", "old"), ("EC2NodeClass", "old"), ("EC2NodeClass", "orphan-class")]
    assert ("list", "NodePool", "app.kubernetes.io/managed-by=hubops,hubops.io/deployment=dandi") in kube.calls


def test_no_prune_keeps_unwanted_pools():
    kube = FakeKube([foreign("NodePool", "old", OURS), foreign("EC2NodeClass", "old", OURS)])
    pools = converged(kube)
    assert "old" not in pools.results
    assert ("NodePool", "old") in kube.objects


def test_prune_in_check_mode_deletes_nothing():
    kube = FakeKube([foreign("NodePool", "old", OURS), foreign("EC2NodeClass", "old", OURS)])
    pools = converged(kube, check_mode=True, prune=True)
    assert pools.results["old"] == "deleted"
    assert ("NodePool", "old") in kube.objects and ("EC2NodeClass", "old") in kube.objects
    assert kube.writes() == []
    assert pools.diff["after"]["NodePool/old"] is None and pools.diff["before"]["NodePool/old"]["x"] == "old"


def test_absent_without_names_deletes_every_owned_pool():
    kube = FakeKube([foreign("NodePool", "a", OURS), foreign("EC2NodeClass", "a", OURS), foreign("EC2NodeClass", "b", OURS),
                     foreign("NodePool", "theirs", THEIRS), foreign("NodePool", "manual", {})])
    pools = M.NodePools(FakeModule(state="absent"), kube)
    pools.absent([])
    assert pools.results == {"a": "deleted", "b": "deleted"}
    assert sorted(kube.objects) == [("NodePool", "manual"), ("NodePool", "theirs")]


def test_absent_by_name():
    kube = FakeKube([foreign("NodePool", "a", OURS), foreign("EC2NodeClass", "a", OURS), foreign("NodePool", "b", OURS)])
    pools = M.NodePools(FakeModule(state="absent"), kube)
    pools.absent(["a", "missing"])
    assert pools.results == {"a": "deleted", "missing": "absent"}
    assert sorted(kube.objects) == [("NodePool", "b")]


def test_absent_without_karpenter_crds():
    kube = FakeKube()
    kube.list = mock.Mock(side_effect=ApiException(status=404, reason="Not Found"))
    pools = M.NodePools(FakeModule(state="absent"), kube)
    pools.absent([])
    assert pools.results == {}


def test_absent_list_error_other_than_404_propagates():
    kube = FakeKube()
    kube.list = mock.Mock(side_effect=ApiException(status=403, reason="Forbidden"))
    with pytest.raises(ApiException):
        M.NodePools(FakeModule(state="absent"), kube).absent([])


# --------------------------------------------------------------------------------------------------------------------
# waiting for NodeClaims


def test_delete_waits_for_the_nodeclaims(clock):
    events = []
    kube = FakeKube([foreign("NodePool", "a", OURS), foreign("EC2NodeClass", "a", OURS)],
                    claims={"a": lambda poll: ["a-x1", "a-x2"] if poll <= 3 else []})
    original_delete = kube.delete

    def delete(kind, name):
        events.append(("delete", kind, kube.claim_polls.get(name, 0)))
        original_delete(kind, name)

    kube.delete = delete
    pools = M.NodePools(FakeModule(state="absent", wait_timeout=600), kube)
    pools.absent(["a"])
    assert pools.results == {"a": "deleted"}
    assert kube.claim_polls["a"] == 4
    # the NodePool goes first; the EC2NodeClass only once no NodeClaim is left
    assert events == [("delete", "NodePool", 0), ("delete", "EC2NodeClass", 4)]
    assert clock.sleeps == [M.POLL_SECONDS] * 3
    assert kube.objects == {}


def test_delete_fails_naming_the_leftover_claims(clock):
    kube = FakeKube([foreign("NodePool", "a", OURS), foreign("EC2NodeClass", "a", OURS)], claims={"a": ["a-x2", "a-x1"]})
    pools = M.NodePools(FakeModule(state="absent", wait_timeout=10), kube)
    with pytest.raises(FailJson) as err:
        pools.absent(["a"])
    msg = err.value.kwargs["msg"]
    assert "NodeClaims of pool a" in msg and "a-x1, a-x2" in msg and "10 s" in msg
    assert ("EC2NodeClass", "a") in kube.objects  # the class stays while its nodes may still run
    assert ("NodePool", "a") not in kube.objects
    assert sum(clock.sleeps) >= 10


def test_delete_with_real_sleep_patched_to_zero(monkeypatch):
    monkeypatch.setattr(M, "POLL_SECONDS", 0)
    monkeypatch.setattr(M.time, "sleep", lambda seconds: None)
    kube = FakeKube([foreign("NodePool", "a", OURS)], claims={"a": lambda poll: ["a-x"] if poll == 1 else []})
    pools = M.NodePools(FakeModule(state="absent"), kube)
    pools.absent(["a"])
    assert pools.results == {"a": "deleted"} and kube.claim_polls["a"] == 2


def test_delete_waits_for_the_nodepool_itself(clock):
    """A NodePool with a finalizer stays until Karpenter has drained it."""
    kube = FakeKube([foreign("NodePool", "a", OURS)])
    gets = {"n": 0}
    original_get = kube.get

    def get(kind, name):
        if kind == "NodePool" and ("delete", "NodePool", name) in kube.calls:
            gets["n"] += 1
            if gets["n"] <= 2:
                return foreign("NodePool", name, OURS)
        return original_get(kind, name)

    kube.get = get
    pools = M.NodePools(FakeModule(state="absent"), kube)
    pools.absent(["a"])
    assert pools.results == {"a": "deleted"} and gets["n"] == 3 and len(clock.sleeps) == 2


def test_delete_only_nodeclass_left():
    kube = FakeKube([foreign("EC2NodeClass", "a", OURS)])
    pools = M.NodePools(FakeModule(state="absent"), kube)
    assert pools.delete_pool("a") is True
    assert [c for c in kube.calls if c[0] in ("delete", "list")] == [("delete", "EC2NodeClass", "a")]


# --------------------------------------------------------------------------------------------------------------------
# build_manifests and main


def test_build_manifests_names_every_problem():
    pools = [{"name": "a", "capacity": ["cheap"]}, {"name": "Bad"}, {"name": "ok"}, {"name": "ok", "weight": 5},
             {"name": "x", "gpu_limit": 2, "weight": 0}]
    module = FakeModule(pools=pools)
    with pytest.raises(FailJson) as err:
        M.build_manifests(module)
    found = [p["field"] for p in err.value.kwargs["problems"]]
    assert found == ["pools[0].capacity", "pools[1].name", "pools[3].name", "pools[4].gpu_limit", "pools[4].weight"]
    assert "(5 problems)" in err.value.kwargs["msg"]
    for field in found:
        assert field in err.value.kwargs["msg"]
    assert err.value.kwargs["msg"].count("Fix:") == 5
    assert all(p["message"] and p["fix"] for p in err.value.kwargs["problems"])


@pytest.mark.parametrize("missing", ["cluster_name", "instance_profile"])
def test_build_manifests_needs_cluster_and_profile(missing):
    with pytest.raises(FailJson) as err:
        M.build_manifests(FakeModule(pools=POOLS, **{missing: None}))
    assert missing in err.value.kwargs["msg"]


def test_build_manifests_passes_ctx_and_defaults():
    bodies = manifests(kms_key_arn="arn:aws:kms:us-east-2:1:key/k", tags={"project": "dandi"}, defaults={"volume_size_gb": 300})[0]
    nodeclass = bodies[0]
    ebs = nodeclass["spec"]["blockDeviceMappings"][0]["ebs"]
    assert ebs["kmsKeyID"] == "arn:aws:kms:us-east-2:1:key/k" and ebs["volumeSize"] == "300Gi"
    assert nodeclass["spec"]["tags"]["project"] == "dandi" and nodeclass["spec"]["tags"]["hubops:deployment"] == "dandi"
    assert nodeclass["spec"]["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "dandi-eks"}}]


@pytest.fixture
def main_env(monkeypatch):
    """main() with a fake AnsibleModule and a fake cluster client; records whether the kubeconfig was loaded."""
    env = {"module": None, "kube": FakeKube(), "loaded": []}

    def new_module(**kwargs):
        assert kwargs["supports_check_mode"] is True
        return env["module"]

    def new_client(config_file=None, context=None):
        env["loaded"].append((config_file, context))
        return "api-client"

    monkeypatch.setattr(M, "AnsibleModule", new_module)
    monkeypatch.setattr(M.k8s_config, "new_client_from_config", new_client)
    monkeypatch.setattr(M.k8s_client, "CustomObjectsApi", lambda api_client: "custom-objects")
    monkeypatch.setattr(M, "Kube", lambda api: env["kube"])
    return env


def test_main_rejects_bad_specs_before_any_api_call(main_env):
    main_env["module"] = FakeModule(pools=[POOLS[0], {"name": "b", "capacity": []}, {"name": "c", "weight": 101}])
    with pytest.raises(FailJson) as err:
        M.main()
    assert [p["field"] for p in err.value.kwargs["problems"]] == ["pools[1].capacity", "pools[2].weight"]
    assert main_env["loaded"] == []
    assert main_env["kube"].calls == []


def test_main_present(main_env):
    main_env["module"] = FakeModule(pools=POOLS, kubeconfig="/tmp/kubeconfig", context="ctx", diff=True)
    with pytest.raises(ExitJson) as done:
        M.main()
    result = done.value.kwargs
    assert main_env["loaded"] == [("/tmp/kubeconfig", "ctx")]
    assert result["changed"] is True and result["changed_pools"] == ["gpu", "neuro"]
    assert result["pools"] == {"neuro": "created", "gpu": "created"}
    assert len(result["manifests"]) == 4
    assert sorted(result["diff"]["after"]) == ["EC2NodeClass/gpu", "EC2NodeClass/neuro", "NodePool/gpu", "NodePool/neuro"]
    main_env["module"] = FakeModule(pools=POOLS, diff=True)
    with pytest.raises(ExitJson) as again:
        M.main()
    assert again.value.kwargs["changed"] is False and again.value.kwargs["changed_pools"] == []
    assert "diff" not in again.value.kwargs


def test_main_absent(main_env):
    main_env["kube"] = FakeKube([foreign("NodePool", "a", OURS), foreign("EC2NodeClass", "a", OURS)])
    main_env["module"] = FakeModule(state="absent", pools=[{"name": "a"}, {"name": "b"}], cluster_name=None, instance_profile=None)
    with pytest.raises(ExitJson) as done:
        M.main()
    assert done.value.kwargs["pools"] == {"a": "deleted", "b": "absent"}
    assert done.value.kwargs["changed_pools"] == ["a"] and done.value.kwargs["manifests"] == []


def test_main_bad_kubeconfig(main_env, monkeypatch):
    def broken(config_file=None, context=None):
        raise OSError("no such file")

    monkeypatch.setattr(M.k8s_config, "new_client_from_config", broken)
    main_env["module"] = FakeModule(pools=POOLS, kubeconfig="/nowhere")
    with pytest.raises(FailJson) as err:
        M.main()
    assert "/nowhere" in err.value.kwargs["msg"] and "no such file" in err.value.kwargs["msg"]


def test_main_api_error_reports_partial_results(main_env):
    kube = main_env["kube"]
    original_apply = kube.apply

    def apply(body, field_manager, dry_run):
        if body["metadata"]["name"] == "gpu" and not dry_run:
            raise ApiException(status=500, reason="Internal Server Error")
        return original_apply(body, field_manager, dry_run)

    kube.apply = apply
    main_env["module"] = FakeModule(pools=POOLS)
    with pytest.raises(FailJson) as err:
        M.main()
    assert err.value.kwargs["status"] == 500 and "500 Internal Server Error" in err.value.kwargs["msg"]


# --------------------------------------------------------------------------------------------------------------------
# Kube, the thin CustomObjectsApi wrapper


def test_kube_calls():
    api = mock.Mock()
    api.list_cluster_custom_object.return_value = {"items": [{"metadata": {"name": "a"}}]}
    kube = M.Kube(api)
    assert kube.list("NodeClaim", "karpenter.sh/nodepool=a") == [{"metadata": {"name": "a"}}]
    api.list_cluster_custom_object.assert_called_with("karpenter.sh", "v1", "nodeclaims", label_selector="karpenter.sh/nodepool=a")
    body = {"kind": "EC2NodeClass", "metadata": {"name": "a"}}
    kube.apply(body, "hubops", dry_run=True)
    api.patch_cluster_custom_object.assert_called_with("karpenter.k8s.aws", "v1", "ec2nodeclasses", "a", body, field_manager="hubops",
                                                       force=True, _content_type="application/apply-patch+yaml", dry_run="All")
    kube.apply(dict(body, kind="NodePool"), "hubops", dry_run=False)
    args, kwargs = api.patch_cluster_custom_object.call_args
    assert args[:4] == ("karpenter.sh", "v1", "nodepools", "a") and "dry_run" not in kwargs
    kube.delete("NodePool", "a")
    api.delete_cluster_custom_object.assert_called_with("karpenter.sh", "v1", "nodepools", "a")


def test_kube_404_handling():
    api = mock.Mock()
    api.get_cluster_custom_object.side_effect = ApiException(status=404, reason="Not Found")
    api.delete_cluster_custom_object.side_effect = ApiException(status=404, reason="Not Found")
    kube = M.Kube(api)
    assert kube.get("NodePool", "a") is None
    kube.delete("NodePool", "a")
    api.get_cluster_custom_object.side_effect = ApiException(status=403, reason="Forbidden")
    api.delete_cluster_custom_object.side_effect = ApiException(status=403, reason="Forbidden")
    with pytest.raises(ApiException):
        kube.get("NodePool", "a")
    with pytest.raises(ApiException):
        kube.delete("NodePool", "a")


def test_api_message():
    exc = ApiException(status=409, reason="Conflict")
    exc.body = json.dumps({"message": "conflict on spec"})
    assert M._api_message(exc) == "conflict on spec"
    exc.body = None
    assert M._api_message(exc) == "409 Conflict"


def test_selector_and_ownership_agree():
    pools = M.NodePools(FakeModule(deployment="x"), FakeKube())
    assert pools.selector() == ",".join("%s=%s" % kv for kv in sorted(K.ownership_labels("x").items()))
