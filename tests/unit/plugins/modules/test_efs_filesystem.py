# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""efs_filesystem against an in-memory EFS and KMS that behave like AWS where it matters (file systems and mount
targets are "creating" / "deleting" until time passes; a mount target or lifecycle change on a file system that is not
available, a second mount target in a zone, deleting a file system that has mount targets or access points are refused;
the key is reported as an ARN), with a fake clock: create, the no-op re-run, adoption by creation token, tags,
lifecycle, backup policy, throughput, mount targets, detached, absent, check mode and diff, and the errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools
from unittest import mock

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils import efs as efs_utils
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import efs_filesystem as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

REGION = "us-east-1"
ACCOUNT = "123456789012"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = "arn:aws:kms:%s:%s:key/%s" % (REGION, ACCOUNT, KEY_ID)
OTHER_KEY_ARN = "arn:aws:kms:%s:%s:key/99999999-0000-0000-0000-000000000000" % (REGION, ACCOUNT)
ALIAS = "alias/hubops/dandi"
SUBNETS = {"subnet-a": "us-east-1a", "subnet-b": "us-east-1b", "subnet-c": "us-east-1c", "subnet-a2": "us-east-1a"}
ARGS = {"name": "dandi-shared", "kms_key_id": ALIAS, "transition_to_ia_days": 30, "subnet_ids": ["subnet-a", "subnet-b"],
        "security_group_ids": ["sg-nfs"], "tags": {"hubops:deployment": "dandi"},
        "region": REGION, "access_key": "testing", "secret_key": "testing"}
READ_PREFIXES = ("describe_", "list_", "get_")


def error(code, message, operation="Operation"):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class Clock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []
        self.on_sleep = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds
        for hook in list(self.on_sleep):
            hook()


class Paginator(object):
    def __init__(self, method, key):
        self.method = method
        self.key = key

    def paginate(self, **kwargs):
        self.kwargs = kwargs
        return self

    def build_full_result(self):
        return {self.key: self.method(**self.kwargs)[self.key]}


class FakeEFS(object):
    """Time passes only when the module sleeps: each sleep finishes whatever is creating or deleting."""

    def __init__(self):
        self.calls = []
        self.ids = itertools.count(1)
        self.file_systems = {}
        self.lifecycles = {}
        self.backups = {}
        self.targets = {}
        self.groups = {}
        self.points = {}
        self.tags = {}

    def record(self, method, kwargs):
        self.calls.append((method, copy.deepcopy(kwargs)))

    def writes(self):
        return [c for c in self.calls if not c[0].startswith(READ_PREFIXES)]

    def tick(self):
        for target in list(self.targets.values()):
            if target["LifeCycleState"] == "creating":
                target["LifeCycleState"] = "available"
            elif target["LifeCycleState"] == "deleting":
                del self.targets[target["MountTargetId"]]
        for fs in list(self.file_systems.values()):
            if fs["LifeCycleState"] in ("creating", "updating"):
                fs["LifeCycleState"] = "available"
            elif fs["LifeCycleState"] == "deleting":
                del self.file_systems[fs["FileSystemId"]]

    # -- seeding ----------------------------------------------------------------------------------------------------

    def add_fs(self, token="dandi-shared", state="available", kms=KEY_ARN, tags=None, performance="generalPurpose",
               throughput="elastic", ia="AFTER_30_DAYS", backups="DISABLED", encrypted=True):
        fs_id = "fs-%08x" % next(self.ids)
        self.file_systems[fs_id] = {
            "FileSystemId": fs_id, "FileSystemArn": "arn:aws:elasticfilesystem:%s:%s:file-system/%s" % (REGION, ACCOUNT, fs_id),
            "CreationToken": token, "LifeCycleState": state, "Encrypted": encrypted, "KmsKeyId": kms if encrypted else None,
            "PerformanceMode": performance, "ThroughputMode": throughput, "OwnerId": ACCOUNT}
        self.tags[fs_id] = dict(tags if tags is not None else {"Name": "dandi-shared", "hubops:deployment": "dandi"})
        self.lifecycles[fs_id] = [{"TransitionToIA": ia}] if ia else []
        self.backups[fs_id] = backups
        return fs_id

    def add_target(self, fs_id, subnet, groups=("sg-nfs",), state="available"):
        target_id = "fsmt-%08x" % next(self.ids)
        self.targets[target_id] = {"MountTargetId": target_id, "FileSystemId": fs_id, "SubnetId": subnet, "LifeCycleState": state,
                                   "AvailabilityZoneName": SUBNETS[subnet], "IpAddress": "10.0.0.%d" % len(self.targets)}
        self.groups[target_id] = list(groups)
        return target_id

    def add_point(self, fs_id, name):
        point_id = "fsap-%08x" % next(self.ids)
        self.points[point_id] = {"AccessPointId": point_id, "FileSystemId": fs_id, "LifeCycleState": "available",
                                 "AccessPointArn": "arn:aws:elasticfilesystem:%s:%s:access-point/%s" % (REGION, ACCOUNT, point_id),
                                 "PosixUser": {"Uid": 1000, "Gid": 100}, "RootDirectory": {"Path": "/shared/x"}}
        self.tags[point_id] = {"Name": name}
        return point_id

    # -- file systems -----------------------------------------------------------------------------------------------

    def _fs(self, fs_id):
        if fs_id not in self.file_systems:
            raise error("FileSystemNotFound", "File system '%s' does not exist." % fs_id)
        return self.file_systems[fs_id]

    def _available(self, fs_id):
        fs = self._fs(fs_id)
        if fs["LifeCycleState"] != "available":
            raise error("IncorrectFileSystemLifeCycleState", "%s is %s" % (fs_id, fs["LifeCycleState"]))
        return fs

    def _describe(self, fs):
        tags = self.tags[fs["FileSystemId"]]
        return dict(copy.deepcopy(fs), Tags=[{"Key": k, "Value": v} for k, v in tags.items()], Name=tags.get("Name"))

    def describe_file_systems(self, **kwargs):
        self.record("describe_file_systems", kwargs)
        if "FileSystemId" in kwargs:
            return {"FileSystems": [self._describe(self._fs(kwargs["FileSystemId"]))]}
        return {"FileSystems": [self._describe(f) for f in self.file_systems.values() if f["CreationToken"] == kwargs["CreationToken"]]}

    def create_file_system(self, **kwargs):
        self.record("create_file_system", kwargs)
        if any(f["CreationToken"] == kwargs["CreationToken"] for f in self.file_systems.values()):
            raise error("FileSystemAlreadyExists", kwargs["CreationToken"])
        key = kwargs.get("KmsKeyId")
        key = KEY_ARN if key in (ALIAS, KEY_ID, KEY_ARN) else (key or "arn:aws:kms:%s:%s:key/aws-managed" % (REGION, ACCOUNT))
        fs_id = self.add_fs(token=kwargs["CreationToken"], state="creating", kms=key, tags=dict((t["Key"], t["Value"]) for t in kwargs["Tags"]),
                            performance=kwargs["PerformanceMode"], throughput=kwargs["ThroughputMode"], ia=None,
                            backups="ENABLED" if kwargs["Backup"] else "DISABLED", encrypted=kwargs["Encrypted"])
        return self._describe(self.file_systems[fs_id])

    def update_file_system(self, **kwargs):
        self.record("update_file_system", kwargs)
        fs = self._available(kwargs["FileSystemId"])
        fs["ThroughputMode"] = kwargs.get("ThroughputMode", fs["ThroughputMode"])
        if "ProvisionedThroughputInMibps" in kwargs:
            fs["ProvisionedThroughputInMibps"] = kwargs["ProvisionedThroughputInMibps"]
        fs["LifeCycleState"] = "updating"
        return self._describe(fs)

    def delete_file_system(self, FileSystemId):
        self.record("delete_file_system", {"FileSystemId": FileSystemId})
        fs = self._fs(FileSystemId)
        if any(t["FileSystemId"] == FileSystemId for t in self.targets.values()):
            raise error("FileSystemInUse", "has mount targets")
        if any(p["FileSystemId"] == FileSystemId for p in self.points.values()):
            raise error("FileSystemInUse", "has access points")
        fs["LifeCycleState"] = "deleting"

    def describe_lifecycle_configuration(self, FileSystemId):
        self.record("describe_lifecycle_configuration", {"FileSystemId": FileSystemId})
        self._fs(FileSystemId)
        return {"LifecyclePolicies": copy.deepcopy(self.lifecycles[FileSystemId])}

    def put_lifecycle_configuration(self, FileSystemId, LifecyclePolicies):
        self.record("put_lifecycle_configuration", {"FileSystemId": FileSystemId, "LifecyclePolicies": LifecyclePolicies})
        self._available(FileSystemId)
        self.lifecycles[FileSystemId] = copy.deepcopy(LifecyclePolicies)

    def describe_backup_policy(self, FileSystemId):
        self.record("describe_backup_policy", {"FileSystemId": FileSystemId})
        self._fs(FileSystemId)
        if self.backups[FileSystemId] is None:
            raise error("PolicyNotFound", "no backup policy")
        return {"BackupPolicy": {"Status": self.backups[FileSystemId]}}

    def put_backup_policy(self, FileSystemId, BackupPolicy):
        self.record("put_backup_policy", {"FileSystemId": FileSystemId, "BackupPolicy": BackupPolicy})
        self._available(FileSystemId)
        self.backups[FileSystemId] = BackupPolicy["Status"]

    # -- mount targets ----------------------------------------------------------------------------------------------

    def get_paginator(self, name):
        return Paginator(getattr(self, name), {"describe_mount_targets": "MountTargets", "describe_access_points": "AccessPoints"}[name])

    def describe_mount_targets(self, FileSystemId):
        self.record("describe_mount_targets", {"FileSystemId": FileSystemId})
        self._fs(FileSystemId)
        return {"MountTargets": [copy.deepcopy(t) for t in self.targets.values() if t["FileSystemId"] == FileSystemId]}

    def create_mount_target(self, **kwargs):
        self.record("create_mount_target", kwargs)
        self._available(kwargs["FileSystemId"])
        zone = SUBNETS[kwargs["SubnetId"]]
        if any(t["FileSystemId"] == kwargs["FileSystemId"] and t["AvailabilityZoneName"] == zone for t in self.targets.values()):
            raise error("MountTargetConflict", "mount target already exists in this AZ")
        target_id = self.add_target(kwargs["FileSystemId"], kwargs["SubnetId"], kwargs.get("SecurityGroups") or ["sg-default"], "creating")
        return copy.deepcopy(self.targets[target_id])

    def delete_mount_target(self, MountTargetId):
        self.record("delete_mount_target", {"MountTargetId": MountTargetId})
        self.targets[MountTargetId]["LifeCycleState"] = "deleting"

    def describe_mount_target_security_groups(self, MountTargetId):
        self.record("describe_mount_target_security_groups", {"MountTargetId": MountTargetId})
        if self.targets[MountTargetId]["LifeCycleState"] == "deleting":
            raise error("IncorrectMountTargetState", "deleting")
        return {"SecurityGroups": list(self.groups[MountTargetId])}

    def modify_mount_target_security_groups(self, MountTargetId, SecurityGroups):
        self.record("modify_mount_target_security_groups", {"MountTargetId": MountTargetId, "SecurityGroups": SecurityGroups})
        self.groups[MountTargetId] = list(SecurityGroups)

    # -- access points, tags ----------------------------------------------------------------------------------------

    def describe_access_points(self, FileSystemId):
        self.record("describe_access_points", {"FileSystemId": FileSystemId})
        self._fs(FileSystemId)
        return {"AccessPoints": [dict(copy.deepcopy(p), Tags=[{"Key": k, "Value": v} for k, v in self.tags[p["AccessPointId"]].items()])
                                 for p in self.points.values() if p["FileSystemId"] == FileSystemId]}

    def delete_access_point(self, AccessPointId):
        self.record("delete_access_point", {"AccessPointId": AccessPointId})
        del self.points[AccessPointId]

    def tag_resource(self, ResourceId, Tags):
        self.record("tag_resource", {"ResourceId": ResourceId, "Tags": Tags})
        self.tags[ResourceId].update((t["Key"], t["Value"]) for t in Tags)

    def untag_resource(self, ResourceId, TagKeys):
        self.record("untag_resource", {"ResourceId": ResourceId, "TagKeys": TagKeys})
        for key in TagKeys:
            self.tags[ResourceId].pop(key)

    def create_tags(self, **kwargs):
        raise AssertionError("the legacy CreateTags API")

    def describe_tags(self, **kwargs):
        raise AssertionError("the legacy DescribeTags API")


class FakeKMS(object):
    def __init__(self):
        self.calls = []
        self.reachable = True

    def describe_key(self, KeyId):
        self.calls.append(KeyId)
        if not self.reachable:
            raise EndpointConnectionError(endpoint_url="https://kms.%s.amazonaws.com/" % REGION)
        known = {ALIAS: KEY_ARN, KEY_ID: KEY_ARN, KEY_ARN: KEY_ARN, OTHER_KEY_ARN: OTHER_KEY_ARN}
        if KeyId not in known:
            raise error("NotFoundException", "Alias %s is not found." % KeyId, "DescribeKey")
        return {"KeyMetadata": {"Arn": known[KeyId], "KeyId": known[KeyId].split("/")[-1]}}


class World(object):
    def __init__(self):
        self.efs = FakeEFS()
        self.kms = FakeKMS()
        self.clock = Clock()
        self.clock.on_sleep.append(self.efs.tick)

    def writes(self):
        return self.efs.writes()

    def write_names(self):
        return [c[0] for c in self.writes()]

    def only_fs(self):
        assert len(self.efs.file_systems) == 1, sorted(self.efs.file_systems)
        return list(self.efs.file_systems.values())[0]

    def targets(self, fs_id):
        return dict((t["SubnetId"], (t["LifeCycleState"], self.efs.groups[t["MountTargetId"]])) for t in self.efs.targets.values()
                    if t["FileSystemId"] == fs_id)


@pytest.fixture
def world():
    fake = World()
    clients = {"efs": fake.efs, "kms": fake.kms}
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: clients[service]), \
            mock.patch.object(efs_utils, "time", fake.clock):
        yield fake


def run(world, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
    args = dict((k, v) for k, v in args.items() if v is not None)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    world.efs.calls = []
    world.kms.calls = []
    world.clock.sleeps = []
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            M.main()
    return exc.value.result


def ok(world, **changes):
    result = run(world, **changes)
    assert not result.get("failed"), result
    return result


def failed(world, **changes):
    result = run(world, **changes)
    assert result.get("failed"), result
    return result


def seeded(world, targets=("subnet-a", "subnet-b"), **fs):
    fs_id = world.efs.add_fs(**fs)
    for subnet in targets:
        world.efs.add_target(fs_id, subnet)
    return fs_id


# --------------------------------------------------------------------------------------------------------------------
# create, re-run, adopt


def test_create_waits_for_the_file_system_then_adds_lifecycle_and_mount_targets(world):
    result = ok(world)
    fs = world.only_fs()
    fs_id = fs["FileSystemId"]
    assert world.write_names() == ["create_file_system", "put_lifecycle_configuration", "create_mount_target", "create_mount_target"]
    assert world.writes()[0][1] == {
        "CreationToken": "dandi-shared", "Encrypted": True, "KmsKeyId": ALIAS, "PerformanceMode": "generalPurpose",
        "ThroughputMode": "elastic", "Backup": False,
        "Tags": [{"Key": "Name", "Value": "dandi-shared"}, {"Key": "hubops:deployment", "Value": "dandi"}]}
    assert world.writes()[1][1] == {"FileSystemId": fs_id, "LifecyclePolicies": [{"TransitionToIA": "AFTER_30_DAYS"}]}
    assert [w[1] for w in world.writes()[2:]] == [{"FileSystemId": fs_id, "SubnetId": s, "SecurityGroups": ["sg-nfs"]}
                                                  for s in ("subnet-a", "subnet-b")]
    # "creating" until the first sleep, then the mount targets, then "available" after the second
    assert world.clock.sleeps == [1, 1]
    assert world.targets(fs_id) == {"subnet-a": ("available", ["sg-nfs"]), "subnet-b": ("available", ["sg-nfs"])}
    assert result["changed"] is True
    view = result["file_system"]
    assert view["file_system_id"] == fs_id and view["adopted"] is False and view["life_cycle_state"] == "available"
    assert view["kms_key_id"] == KEY_ARN and view["encrypted"] is True and view["throughput_mode"] == "elastic"
    assert view["transition_to_ia_days"] == 30 and view["automatic_backups"] is False and view["access_points"] == []
    assert view["tags"] == {"Name": "dandi-shared", "hubops:deployment": "dandi"} and view["name"] == "dandi-shared"
    assert [(t["subnet_id"], t["availability_zone_name"], t["security_group_ids"], t["life_cycle_state"]) for t in view["mount_targets"]] \
        == [("subnet-a", "us-east-1a", ["sg-nfs"], "available"), ("subnet-b", "us-east-1b", ["sg-nfs"], "available")]
    assert all(t["mount_target_id"].startswith("fsmt-") and t["ip_address"] for t in view["mount_targets"])


def test_create_options(world):
    ok(world, kms_key_id=None, transition_to_ia_days=None, automatic_backups=True, throughput_mode="provisioned",
       provisioned_throughput_in_mibps=128, performance_mode="maxIO", subnet_ids=None, tags=None)
    assert world.write_names() == ["create_file_system"]
    request = world.writes()[0][1]
    assert "KmsKeyId" not in request and request["Encrypted"] is True and request["Backup"] is True
    assert request["ThroughputMode"] == "provisioned" and request["ProvisionedThroughputInMibps"] == 128
    assert request["PerformanceMode"] == "maxIO" and request["Tags"] == [{"Key": "Name", "Value": "dandi-shared"}]


def test_second_run_is_unchanged_and_writes_nothing(world):
    first = ok(world)
    again = ok(world)
    assert again["changed"] is False and again["actions"] == [] and world.writes() == [] and world.clock.sleeps == []
    assert again["file_system"]["adopted"] is True
    for key in ("file_system_id", "arn", "kms_key_id", "tags", "mount_targets", "transition_to_ia_days"):
        assert again["file_system"][key] == first["file_system"][key]
    assert world.kms.calls == [ALIAS]  # the alias and the ARN EFS reports are compared through KMS


def test_a_kept_file_system_is_adopted_by_its_creation_token(world):
    kept = seeded(world, targets=(), token="dandi-home-2024")
    world.efs.add_point(kept, "dandi-shared-neuro")
    result = ok(world, creation_token="dandi-home-2024")
    assert world.write_names() == ["create_mount_target", "create_mount_target"]
    assert world.efs.calls[0] == ("describe_file_systems", {"CreationToken": "dandi-home-2024"})
    assert result["file_system"]["file_system_id"] == kept and result["file_system"]["adopted"] is True
    assert [p["name"] for p in result["file_system"]["access_points"]] == ["dandi-shared-neuro"]
    assert len(world.efs.file_systems) == 1


def test_creation_token_defaults_to_name(world):
    other = world.efs.add_fs(token="someone-else")
    ok(world)
    assert world.efs.calls[0] == ("describe_file_systems", {"CreationToken": "dandi-shared"})
    assert world.write_names()[0] == "create_file_system" and len(world.efs.file_systems) == 2 and other in world.efs.file_systems


def test_a_file_system_still_deleting_is_waited_for_before_the_new_one(world):
    seeded(world, targets=(), state="deleting")
    result = ok(world)
    assert world.write_names()[0] == "create_file_system" and result["file_system"]["adopted"] is False
    assert world.clock.sleeps[0] == 1


# --------------------------------------------------------------------------------------------------------------------
# in-place changes


def test_tags_converge_with_tag_resource_and_keep_aws_tags(world):
    fs_id = seeded(world, tags={"Name": "old-name", "stale": "x", "hubops:deployment": "wrong", "aws:backup:source-resource": "y"})
    result = ok(world, tags={"hubops:deployment": "dandi", "project": "dandi"})
    assert world.writes() == [("untag_resource", {"ResourceId": fs_id, "TagKeys": ["stale"]}),
                              ("tag_resource", {"ResourceId": fs_id, "Tags": [
                                  {"Key": "Name", "Value": "dandi-shared"}, {"Key": "hubops:deployment", "Value": "dandi"},
                                  {"Key": "project", "Value": "dandi"}]})]
    assert world.efs.tags[fs_id] == {"Name": "dandi-shared", "hubops:deployment": "dandi", "project": "dandi",
                                     "aws:backup:source-resource": "y"}
    assert result["file_system"]["tags"] == world.efs.tags[fs_id]


def test_tags_without_purge_or_without_tags_only_add(world):
    fs_id = seeded(world, tags={"Name": "dandi-shared", "stale": "x"})
    ok(world, purge_tags=False)
    assert world.writes() == [("tag_resource", {"ResourceId": fs_id, "Tags": [{"Key": "hubops:deployment", "Value": "dandi"}]})]
    ok(world, tags=None)
    assert world.writes() == []
    assert world.efs.tags[fs_id] == {"Name": "dandi-shared", "stale": "x", "hubops:deployment": "dandi"}


@pytest.mark.parametrize("days, existing, expected", [
    (60, [{"TransitionToIA": "AFTER_30_DAYS"}], [{"TransitionToIA": "AFTER_60_DAYS"}]),
    (1, [], [{"TransitionToIA": "AFTER_1_DAY"}]),
    (None, [{"TransitionToIA": "AFTER_30_DAYS"}], []),
    (90, [{"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}, {"TransitionToIA": "AFTER_7_DAYS"}],
     [{"TransitionToIA": "AFTER_90_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}]),
])
def test_lifecycle_is_put_only_when_it_differs_and_keeps_other_policies(world, days, existing, expected):
    fs_id = seeded(world)
    world.efs.lifecycles[fs_id] = existing
    result = ok(world, transition_to_ia_days=days)
    assert world.writes() == [("put_lifecycle_configuration", {"FileSystemId": fs_id, "LifecyclePolicies": expected})]
    assert result["file_system"]["transition_to_ia_days"] == days
    ok(world, transition_to_ia_days=days)
    assert world.writes() == []


def test_backup_policy_follows_automatic_backups(world):
    fs_id = seeded(world, backups="ENABLED")
    result = ok(world)
    assert world.writes() == [("put_backup_policy", {"FileSystemId": fs_id, "BackupPolicy": {"Status": "DISABLED"}})]
    assert result["file_system"]["automatic_backups"] is False
    ok(world, automatic_backups=True)
    assert world.writes() == [("put_backup_policy", {"FileSystemId": fs_id, "BackupPolicy": {"Status": "ENABLED"}})]


def test_no_backup_policy_counts_as_off(world):
    fs_id = seeded(world, backups=None)  # PolicyNotFound: a One Zone file system without backups
    assert ok(world)["file_system"]["automatic_backups"] is False and world.writes() == []
    assert fs_id in world.efs.file_systems


def test_throughput_changes_in_place_after_everything_else(world):
    fs_id = seeded(world, throughput="bursting", ia=None)
    result = ok(world)
    assert world.writes() == [("put_lifecycle_configuration", {"FileSystemId": fs_id, "LifecyclePolicies": [{"TransitionToIA": "AFTER_30_DAYS"}]}),
                              ("update_file_system", {"FileSystemId": fs_id, "ThroughputMode": "elastic"})]
    assert result["file_system"]["throughput_mode"] == "elastic" and result["file_system"]["life_cycle_state"] == "available"
    assert world.clock.sleeps == [1]  # "updating" until then


def test_mount_targets_added_removed_and_regrouped(world):
    fs_id = seeded(world, targets=())
    keep = world.efs.add_target(fs_id, "subnet-a", groups=["sg-old"])
    extra = world.efs.add_target(fs_id, "subnet-c")
    result = ok(world, subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-nfs", "sg-more"])
    assert world.writes() == [
        ("delete_mount_target", {"MountTargetId": extra}),
        ("create_mount_target", {"FileSystemId": fs_id, "SubnetId": "subnet-b", "SecurityGroups": ["sg-nfs", "sg-more"]}),
        ("modify_mount_target_security_groups", {"MountTargetId": keep, "SecurityGroups": ["sg-nfs", "sg-more"]})]
    assert world.targets(fs_id) == {"subnet-a": ("available", ["sg-nfs", "sg-more"]), "subnet-b": ("available", ["sg-nfs", "sg-more"])}
    assert sorted(t["subnet_id"] for t in result["file_system"]["mount_targets"]) == ["subnet-a", "subnet-b"]


def test_a_subnet_moved_within_a_zone_waits_for_the_old_mount_target_to_go(world):
    fs_id = seeded(world, targets=("subnet-a", "subnet-b"))
    ok(world, subnet_ids=["subnet-a2", "subnet-b"])
    assert world.write_names() == ["delete_mount_target", "create_mount_target"]
    assert world.clock.sleeps and world.targets(fs_id) == {"subnet-a2": ("available", ["sg-nfs"]), "subnet-b": ("available", ["sg-nfs"])}


def test_without_subnet_ids_mount_targets_are_left_alone(world):
    fs_id = seeded(world, targets=("subnet-a", "subnet-c"))
    ok(world, subnet_ids=None, security_group_ids=None)
    assert world.writes() == [] and sorted(world.targets(fs_id)) == ["subnet-a", "subnet-c"]
    ok(world, subnet_ids=[])
    assert world.write_names() == ["delete_mount_target", "delete_mount_target"]


# --------------------------------------------------------------------------------------------------------------------
# detached, absent


def test_detached_deletes_the_mount_targets_and_keeps_the_file_system(world):
    fs_id = seeded(world)
    point = world.efs.add_point(fs_id, "dandi-shared-neuro")
    result = ok(world, state="detached")
    assert world.write_names() == ["delete_mount_target", "delete_mount_target"]
    assert world.targets(fs_id) == {} and world.clock.sleeps == [1]
    assert fs_id in world.efs.file_systems and point in world.efs.points
    assert result["changed"] is True and result["file_system"]["mount_targets"] == [] and result["file_system"]["file_system_id"] == fs_id
    again = ok(world, state="detached")
    assert again["changed"] is False and world.writes() == []


def test_detached_or_absent_without_a_file_system_is_a_no_op(world):
    for state in ("detached", "absent"):
        result = ok(world, state=state)
        assert result["changed"] is False and result["file_system"] == {} and world.writes() == []


def test_absent_deletes_access_points_then_mount_targets_then_the_file_system(world):
    fs_id = seeded(world)
    point = world.efs.add_point(fs_id, "dandi-shared-neuro")
    result = ok(world, state="absent")
    assert world.write_names() == ["delete_access_point", "delete_mount_target", "delete_mount_target", "delete_file_system"]
    assert world.writes()[0][1] == {"AccessPointId": point}
    assert world.efs.file_systems == {} and world.efs.targets == {} and world.efs.points == {}
    assert result["changed"] is True and result["file_system"] == {}


# --------------------------------------------------------------------------------------------------------------------
# check mode, diff


def test_check_mode_create_writes_nothing_and_reports_a_placeholder(world):
    result = run(world, check_mode=True, diff=True)
    assert not result.get("failed") and result["changed"] is True and world.writes() == [] and world.efs.file_systems == {}
    assert result["file_system"]["file_system_id"] == efs_utils.CHECK_MODE_ID and result["file_system"]["adopted"] is False
    assert [t["subnet_id"] for t in result["file_system"]["mount_targets"]] == ["subnet-a", "subnet-b"]
    assert result["actions"][0] == "create file system dandi-shared (creation token dandi-shared)" and len(result["actions"]) == 4
    assert result["diff"]["before"] == {} and result["diff"]["after"]["transition_to_ia_days"] == 30


def test_check_mode_change_writes_nothing_and_diffs_the_managed_attributes(world):
    fs_id = seeded(world, targets=("subnet-a", "subnet-c"), backups="ENABLED")
    result = run(world, check_mode=True, diff=True, transition_to_ia_days=60, security_group_ids=["sg-new"],
                 tags={"hubops:deployment": "dandi", "project": "x"})
    assert not result.get("failed") and result["changed"] is True
    assert world.writes() == [] and world.clock.sleeps == []
    assert len(result["actions"]) == 6, result["actions"]  # tag, backups, lifecycle, delete c, create b, regroup a
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["mount_targets"] == {"subnet-a": ["sg-nfs"], "subnet-c": ["sg-nfs"]}
    assert after["mount_targets"] == {"subnet-a": ["sg-new"], "subnet-b": ["sg-new"]}
    assert (before["transition_to_ia_days"], after["transition_to_ia_days"]) == (30, 60)
    assert (before["automatic_backups"], after["automatic_backups"]) == (True, False)
    assert after["tags"]["project"] == "x" and "project" not in before["tags"]
    assert world.efs.lifecycles[fs_id] == [{"TransitionToIA": "AFTER_30_DAYS"}] and world.efs.backups[fs_id] == "ENABLED"


@pytest.mark.parametrize("state", ["detached", "absent"])
def test_check_mode_teardown_writes_nothing(world, state):
    fs_id = seeded(world)
    world.efs.add_point(fs_id, "dandi-shared-neuro")
    result = run(world, check_mode=True, diff=True, state=state)
    assert result["changed"] is True and world.writes() == [] and len(world.targets(fs_id)) == 2
    assert result["diff"]["before"]["mount_targets"] and result["diff"]["after"].get("mount_targets", {}) == {}


# --------------------------------------------------------------------------------------------------------------------
# what cannot change, and other errors


def test_a_different_kms_key_fails_before_any_write(world):
    seeded(world, tags={"Name": "stale"})
    result = failed(world, kms_key_id=OTHER_KEY_ARN)
    assert "kms_key_id %s" % OTHER_KEY_ARN in result["msg"] and KEY_ARN in result["msg"] and "cannot change the key" in result["msg"]
    assert world.writes() == [] and result["actions"] == []


@pytest.mark.parametrize("given", [ALIAS, KEY_ID, KEY_ARN])
def test_the_same_key_in_any_form_is_accepted(world, given):
    seeded(world)
    assert ok(world, kms_key_id=given)["changed"] is False
    assert world.kms.calls == ([] if given != ALIAS else [ALIAS])  # an id or the ARN itself needs no KMS call


def test_unreachable_kms_compares_as_given(world):
    seeded(world)
    world.kms.reachable = False
    result = failed(world)
    assert "kms_key_id %s" % ALIAS in result["msg"] and "compared as given" in result["msg"] and world.writes() == []
    assert ok(world, kms_key_id=KEY_ARN)["changed"] is False


def test_a_different_performance_mode_or_no_encryption_fails(world):
    seeded(world, performance="maxIO")
    result = failed(world)
    assert "performance_mode generalPurpose" in result["msg"] and "maxIO" in result["msg"] and world.writes() == []
    world.efs.file_systems.clear()
    seeded(world, encrypted=False)
    assert "not encrypted" in failed(world)["msg"] and world.writes() == []


@pytest.mark.parametrize("changes, expected", [
    ({"throughput_mode": "provisioned"}, "needs provisioned_throughput_in_mibps"),
    ({"provisioned_throughput_in_mibps": 10}, "only for throughput_mode provisioned"),
    ({"performance_mode": "maxIO"}, "maxIO does not support throughput_mode elastic"),
    ({"creation_token": "x" * 65}, "1 to 64 characters"),
    ({"transition_to_ia_days": 45}, "transition_to_ia_days"),
])
def test_bad_options_fail_before_any_call(world, changes, expected):
    result = failed(world, **changes)
    assert expected in result["msg"] and world.efs.calls == []


def test_a_file_system_that_never_becomes_available_times_out_clearly(world):
    seeded(world, targets=(), state="creating")
    world.clock.on_sleep = []  # it stays "creating"
    result = failed(world, wait_timeout=20)
    assert "still creating after 20 s (wait_timeout)" in result["msg"] and "creation token dandi-shared" in result["msg"]
    assert world.writes() == [] and sum(world.clock.sleeps) == 20
