# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
import pytest

from ansible_collections.hubops.eks.plugins.module_utils import storage
from ansible_collections.hubops.eks.plugins.module_utils.storage import (
    StorageError, home_pvc_changes, hub_storage, kept_home_volumes, largest_quota, parse_quantity, refused_quota_changes,
    singleuser_storage, storage_plan)

GROUPS = [
    {"name": "neuro", "members": {"users": ["alice"]}, "storage": {"home_quota": "50Gi", "shared_dir": True, "scratch_retention_days": 30}},
    {"name": "astro", "storage": {"home_quota": "20Gi", "scratch_retention_days": 14}},
    {"name": "bio", "members": {"users": ["bob", "alice"]}, "storage": {"home_quota": "100Gi", "shared_dir": False}},
    {"name": "misc"},
]


def plan(**changes):
    settings = {"deployment": "dandi", "groups": GROUPS, "home_storage": "ebs", "storage": {}}
    settings.update(changes)
    return storage_plan(settings)


@pytest.mark.parametrize("text, size", [("50Gi", 50 << 30), ("1Ti", 1 << 40), ("500G", 500 * 10 ** 9), ("1.5Gi", int(1.5 * (1 << 30))),
                                        (1024, 1024), ("2048", 2048)])
def test_parse_quantity(text, size):
    assert parse_quantity(text) == size


def test_parse_quantity_refuses_garbage():
    with pytest.raises(StorageError, match="not a storage quantity"):
        parse_quantity("50 GB")


def test_plan_access_points_claims_and_jobs():
    out = plan()
    paths = [ap["path"] for ap in out["access_points"]]
    # neuro and astro share (shared_dir defaults to true), bio opted out, misc has no storage block: it shares too
    assert paths == ["/shared/neuro", "/shared/astro", "/shared/misc", "/shared/public", "/shared"]
    assert out["shared"] == {"neuro": "hubops-shared-neuro", "astro": "hubops-shared-astro", "misc": "hubops-shared-misc"}
    assert out["public"] == "hubops-shared-public"
    assert [ap["name"] for ap in out["access_points"]][-1] == "dandi-shared-all"
    assert all(ap["uid"] == 1000 and ap["gid"] == 100 for ap in out["access_points"])
    assert [(j["group"], j["retention_days"]) for j in out["cleanup"]] == [("neuro", 30), ("astro", 14)]
    assert out["quotas"] == {"neuro": "50Gi", "astro": "20Gi", "bio": "100Gi"}
    assert out["members"] == {"neuro": ["alice"], "bio": ["bob", "alice"]}
    assert out["efs"] is True and out["usage_report"] is True


def test_plan_without_any_shared_directory_needs_no_efs():
    groups = [{"name": "solo", "storage": {"home_quota": "5Gi", "shared_dir": False}}]
    out = plan(groups=groups)
    assert out["efs"] is False and out["access_points"] == [] and out["public"] is None and out["usage_report"] is False


def test_plan_efs_homes_get_their_access_point():
    out = plan(home_storage="efs")
    homes = [ap for ap in out["access_points"] if ap["group"] == "homes"]
    assert homes == [dict(homes[0], path="/homes", claim="hubops-homes")]
    assert singleuser_storage(hub_storage(out))["static"] == {"pvcName": "hubops-homes", "subPath": "{username}"}


def test_plan_refuses_a_quota_a_gp3_volume_cannot_be():
    with pytest.raises(StorageError, match=r"hubops_groups\[huge\].storage.home_quota: 20Ti"):
        plan(groups=[{"name": "huge", "storage": {"home_quota": "20Ti"}}])
    # EFS homes have no such bound
    assert plan(groups=[{"name": "huge", "storage": {"home_quota": "20Ti"}}], home_storage="efs")["quotas"] == {"huge": "20Ti"}


def test_settings_defaults_merge_one_level():
    out = plan(storage={"backup": {"retention_days": 7}, "public_dir": False})
    assert out["settings"]["backup"] == {"enabled": True, "retention_days": 7, "schedule": "cron(0 5 * * ? *)"}
    assert out["public"] is None
    assert out["settings"]["home_snapshots"]["enabled"] is False


def test_largest_quota_rule():
    quotas = {"neuro": "50Gi", "astro": "20Gi", "bio": "100Gi"}
    assert largest_quota(["neuro"], quotas, "10Gi") == "50Gi"
    assert largest_quota(["astro", "neuro"], quotas, "10Gi") == "50Gi"
    assert largest_quota(["neuro", "bio"], quotas, "10Gi") == "100Gi"
    assert largest_quota(["misc"], quotas, "10Gi") == "10Gi"
    assert largest_quota([], quotas, "10Gi") == "10Gi"
    # compared as sizes, not strings
    assert largest_quota(["a", "b"], {"a": "900Gi", "b": "1Ti"}, "1Gi") == "1Ti"


def test_hub_storage_and_singleuser_values():
    hub = hub_storage(plan())
    assert hub == {"home_storage": "ebs", "quotas": {"neuro": "50Gi", "astro": "20Gi", "bio": "100Gi"}, "default_quota": "10Gi",
                   "shared": {"neuro": "hubops-shared-neuro", "astro": "hubops-shared-astro", "misc": "hubops-shared-misc"},
                   "public": "hubops-shared-public", "mount_root": "/home/shared"}
    values = singleuser_storage(hub)
    assert values["type"] == "dynamic" and values["capacity"] == "10Gi"
    assert values["dynamic"]["storageClass"] == storage.HOME_STORAGE_CLASS
    assert singleuser_storage(None) is None


def _pvc(name, size, groups=None, user=None):
    annotations = {}
    if groups is not None:
        annotations[storage.ANNOTATION_GROUPS] = groups
    if user:
        annotations["hub.jupyter.org/username"] = user
    return {"metadata": {"name": name, "namespace": "jupyterhub", "annotations": annotations},
            "spec": {"resources": {"requests": {"storage": size}}}}


def test_home_pvc_changes_grow_only():
    quotas = {"neuro": "60Gi", "astro": "20Gi", "bio": "100Gi"}
    pvcs = [_pvc("claim-alice", "50Gi", "neuro", "alice"),        # neuro raised 50 -> 60: grow
            _pvc("claim-bob", "100Gi", "bio", "bob"),              # as wanted
            _pvc("claim-carol", "100Gi", "astro", "carol"),        # left bio: larger than astro's 20Gi, kept
            _pvc("claim-dave", "10Gi", "neuro,bio", "dave"),       # two groups: the larger
            _pvc("claim-erin", "10Gi"),                            # no annotation (made before hubops): left alone
            _pvc("claim-frank", "5Gi", "", "frank")]               # in no group: the default
    grow = home_pvc_changes(pvcs, quotas, "10Gi")
    assert [(g["name"], g["from"], g["size"]) for g in grow] == [("claim-alice", "50Gi", "60Gi"), ("claim-dave", "10Gi", "100Gi"),
                                                                 ("claim-frank", "5Gi", "10Gi")]
    assert grow[0]["user"] == "alice" and grow[1]["groups"] == ["neuro", "bio"]


def test_refused_quota_changes_names_the_field():
    previous = {"neuro": "50Gi", "astro": "20Gi", "gone": "5Gi", "": "10Gi"}
    assert refused_quota_changes(previous, {"neuro": "60Gi", "astro": "20Gi"}, "10Gi") == []
    errors = refused_quota_changes(previous, {"neuro": "40Gi", "astro": "20Gi"}, "5Gi")
    assert len(errors) == 2
    assert errors[0].startswith("hubops_storage.default_home_quota: lowering 10Gi to 5Gi is refused")
    assert errors[1].startswith("hubops_groups[neuro].storage.home_quota: lowering 50Gi to 40Gi is refused")
    assert "cannot shrink" in errors[1]
    assert refused_quota_changes({}, {"neuro": "1Gi"}, "1Gi") == [] and refused_quota_changes(None, {}, "1Gi") == []


def test_kept_home_volumes_adopts_only_unreferenced():
    volumes = [{"id": "vol-1", "size": 50, "zone": "us-east-1a", "tags": {"hubops:pvc": "claim-alice"}},
               {"id": "vol-2", "size": 20, "zone": "us-east-1a", "tags": {"kubernetes.io/created-for/pvc/name": "claim-bob"}},
               {"id": "vol-3", "size": 20, "zone": "us-east-1a", "tags": {"hubops:pvc": "claim-carol"}},
               {"id": "vol-4", "size": 20, "zone": "us-east-1a", "tags": {"Name": "no-claim"}}]
    pvs = [{"spec": {"csi": {"volumeHandle": "vol-3"}}}, {"spec": {"hostPath": {"path": "/x"}}}]
    assert kept_home_volumes(volumes, pvs) == [
        {"volume_id": "vol-1", "claim": "claim-alice", "size_gib": 50, "az": "us-east-1a"},
        {"volume_id": "vol-2", "claim": "claim-bob", "size_gib": 20, "az": "us-east-1a"}]
