# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops_hub.storage against the hub image's KubeSpawner: the claim KubeSpawner would create requests the user's
largest group quota, carries the groups for the storage role, and the pod mounts exactly the user's shared dirs."""

import asyncio
import copy

import pytest
from hubops_hub.storage import home_quota, make_pre_spawn_hook, quantity_bytes, storage_for
from kubespawner import KubeSpawner

from test_profiles import FakeUser

STORAGE = {
    "home_storage": "ebs",
    "quotas": {"neuro": "50Gi", "vision": "200Gi"},
    "default_quota": "10Gi",
    "shared": {"neuro": "hubops-shared-neuro", "vision": "hubops-shared-vision"},
    "public": "hubops-shared-public",
    "mount_root": "/home/shared",
}
HOME_VOLUME = {"name": "home", "persistentVolumeClaim": {"claimName": "claim-{username}"}}
HOME_MOUNT = {"name": "home", "mountPath": "/home/jovyan"}


@pytest.fixture
def storage_config(config):
    out = copy.deepcopy(config)
    out["storage"] = copy.deepcopy(STORAGE)
    return out


def new_spawner(user, **traits):
    """KubeSpawner wants a running loop for its (shared) API client; nothing here calls the API."""
    async def make():
        return KubeSpawner(_mock=True, user=user, **traits)
    return asyncio.run(make())


def spawn(config, user):
    """A spawner as z2jh configures it (dynamic home volume), after our pre-spawn hook ran."""
    spawner = new_spawner(user, storage_pvc_ensure=True, storage_capacity="10Gi",
                          volumes=[copy.deepcopy(HOME_VOLUME)], volume_mounts=[copy.deepcopy(HOME_MOUNT)])
    make_pre_spawn_hook(config)(spawner)
    return spawner


def mounts(spawner):
    return {m["mountPath"]: m.get("readOnly", False) for m in spawner.volume_mounts}


def test_quantities_and_rule():
    assert quantity_bytes("50Gi") == 50 << 30 and quantity_bytes("1Ti") == 1 << 40
    assert home_quota(STORAGE, ["neuro", "vision"]) == "200Gi"
    assert home_quota(STORAGE, ["empty"]) == "10Gi"


def test_member_of_one_group_gets_its_quota_and_shared_dir(storage_config):
    spawner = spawn(storage_config, FakeUser("Alice"))   # listed in neuro's members.users
    pvc = spawner.get_pvc_manifest()
    assert pvc.spec.resources.requests["storage"] == "50Gi"
    assert pvc.metadata.annotations["hubops.io/groups"] == "neuro"
    assert pvc.metadata.annotations["hubops.io/home-quota"] == "50Gi"
    assert mounts(spawner) == {"/home/jovyan": False, "/home/shared/neuro": False, "/home/shared/public": True}


def test_member_of_two_groups_gets_the_larger_quota_and_both_dirs(storage_config):
    spawner = spawn(storage_config, FakeUser("someone", groups=["dandi:neuro", "vision-lab"]))
    assert spawner.get_pvc_manifest().spec.resources.requests["storage"] == "200Gi"
    assert set(mounts(spawner)) == {"/home/jovyan", "/home/shared/neuro", "/home/shared/vision", "/home/shared/public"}


def test_user_in_no_group_gets_the_default_and_no_group_dir(storage_config):
    spawner = spawn(storage_config, FakeUser("mallory"))
    assert spawner.get_pvc_manifest().spec.resources.requests["storage"] == "10Gi"
    assert mounts(spawner) == {"/home/jovyan": False, "/home/shared/public": True}
    names = [v["name"] for v in spawner.volumes]
    assert "hubops-shared-neuro" not in names and "hubops-shared-vision" not in names


def test_admin_writes_public_and_hook_is_idempotent(storage_config):
    spawner = spawn(storage_config, FakeUser("root", admin=True))
    make_pre_spawn_hook(storage_config)(spawner)   # a second start of the same server
    assert mounts(spawner)["/home/shared/public"] is False
    assert len(spawner.volumes) == len({v["name"] for v in spawner.volumes}) == 4   # home + neuro + vision + public


def test_efs_homes_leave_the_claim_alone(storage_config):
    storage_config["storage"]["home_storage"] = "efs"
    spawner = spawn(storage_config, FakeUser("alice"))
    assert spawner.storage_capacity == "10Gi"
    assert "hubops.io/groups" not in (spawner.storage_extra_annotations or {})


def test_earlier_hook_still_runs(storage_config):
    seen = []
    spawner = new_spawner(FakeUser("alice"))
    make_pre_spawn_hook(storage_config, then=seen.append)(spawner)
    assert seen == [spawner]


def test_storage_for_without_storage_config():
    capacity, annotations, volumes, mounts_ = storage_for({}, ["x"], False)
    assert capacity == "10Gi" and volumes == [] and mounts_ == [] and annotations["hubops.io/groups"] == "x"
