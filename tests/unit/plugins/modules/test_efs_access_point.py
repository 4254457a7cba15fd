# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""efs_access_point against an in-memory EFS (access points "creating" until time passes, FileSystemNotFound for a
file system that does not exist, AccessPointNotFound once deleted), with a fake clock: create, the no-op re-run, tags
in place, recreate on a posix_user / root_directory change, duplicates, absent, check mode (also on the placeholder
file system efs_filesystem reports in check mode) and diff, and the errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils import efs as efs_utils
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import efs_access_point as M
from module_harness import AnsibleExitJson, AnsibleFailJson, exit_json, fail_json

REGION = "us-east-1"
FS = "fs-0123456789abcdef0"
NAME = "dandi-shared-neuro"
ARGS = {"file_system_id": FS, "name": NAME, "posix_user": {"uid": 1000, "gid": 100},
        "root_directory": {"path": "/shared/neuro", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "2775"}},
        "tags": {"hubops:deployment": "dandi", "hubops:group": "neuro"},
        "region": REGION, "access_key": "testing", "secret_key": "testing"}
READ_PREFIXES = ("describe_", "list_", "get_")
SPEC = {"PosixUser": {"Uid": 1000, "Gid": 100},
        "RootDirectory": {"Path": "/shared/neuro", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 100, "Permissions": "2775"}}}
TAGS = {"Name": NAME, "hubops:deployment": "dandi", "hubops:group": "neuro"}


def error(code, message):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "Operation")


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
    def __init__(self, method):
        self.method = method

    def paginate(self, **kwargs):
        self.kwargs = kwargs
        return self

    def build_full_result(self):
        return self.method(**self.kwargs)


class FakeEFS(object):
    def __init__(self):
        self.calls = []
        self.ids = itertools.count(1)
        self.file_systems = set([FS])
        self.points = {}
        self.tags = {}

    def record(self, method, kwargs):
        self.calls.append((method, copy.deepcopy(kwargs)))

    def writes(self):
        return [c for c in self.calls if not c[0].startswith(READ_PREFIXES)]

    def tick(self):
        for point in list(self.points.values()):
            if point["LifeCycleState"] == "creating":
                point["LifeCycleState"] = "available"
            elif point["LifeCycleState"] == "deleting":
                del self.points[point["AccessPointId"]]

    def add(self, tags=None, state="available", **spec):
        point_id = "fsap-%08x" % next(self.ids)
        self.points[point_id] = dict(copy.deepcopy(spec or SPEC), AccessPointId=point_id, FileSystemId=FS, LifeCycleState=state,
                                     AccessPointArn="arn:aws:elasticfilesystem:%s:123456789012:access-point/%s" % (REGION, point_id))
        self.tags[point_id] = dict(tags if tags is not None else TAGS)
        return point_id

    def _view(self, point):
        tags = self.tags[point["AccessPointId"]]
        return dict(copy.deepcopy(point), Tags=[{"Key": k, "Value": v} for k, v in tags.items()], Name=tags.get("Name"))

    def get_paginator(self, name):
        assert name == "describe_access_points"
        return Paginator(self.describe_access_points)

    def describe_access_points(self, **kwargs):
        self.record("describe_access_points", kwargs)
        if "AccessPointId" in kwargs:
            if kwargs["AccessPointId"] not in self.points:
                raise error("AccessPointNotFound", "Access point %s does not exist." % kwargs["AccessPointId"])
            return {"AccessPoints": [self._view(self.points[kwargs["AccessPointId"]])]}
        if kwargs["FileSystemId"] not in self.file_systems:
            raise error("FileSystemNotFound", "File system '%s' does not exist." % kwargs["FileSystemId"])
        return {"AccessPoints": [self._view(p) for p in self.points.values() if p["FileSystemId"] == kwargs["FileSystemId"]]}

    def create_access_point(self, **kwargs):
        self.record("create_access_point", kwargs)
        if kwargs["FileSystemId"] not in self.file_systems:
            raise error("FileSystemNotFound", "no file system")
        spec = dict((k, kwargs[k]) for k in ("PosixUser", "RootDirectory") if k in kwargs)
        point_id = self.add(tags=dict((t["Key"], t["Value"]) for t in kwargs["Tags"]), state="creating", **spec)
        return self._view(self.points[point_id])

    def delete_access_point(self, AccessPointId):
        self.record("delete_access_point", {"AccessPointId": AccessPointId})
        if AccessPointId not in self.points:
            raise error("AccessPointNotFound", AccessPointId)
        self.points[AccessPointId]["LifeCycleState"] = "deleting"

    def tag_resource(self, ResourceId, Tags):
        self.record("tag_resource", {"ResourceId": ResourceId, "Tags": Tags})
        self.tags[ResourceId].update((t["Key"], t["Value"]) for t in Tags)

    def untag_resource(self, ResourceId, TagKeys):
        self.record("untag_resource", {"ResourceId": ResourceId, "TagKeys": TagKeys})
        for key in TagKeys:
            self.tags[ResourceId].pop(key)


class World(object):
    def __init__(self):
        self.efs = FakeEFS()
        self.clock = Clock()
        self.clock.on_sleep.append(self.efs.tick)

    def writes(self):
        return self.efs.writes()

    def live(self):
        return dict((p, self.efs.points[p]) for p in self.efs.points if self.efs.points[p]["LifeCycleState"] != "deleting")


@pytest.fixture
def world():
    fake = World()
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: {"efs": fake.efs}[service]), \
            mock.patch.object(efs_utils, "time", fake.clock):
        yield fake


def run(world, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
    args = dict((k, v) for k, v in args.items() if v is not None)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    world.efs.calls = []
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


def with_uid(uid):
    return {"posix_user": {"uid": uid, "gid": 100},
            "root_directory": {"path": "/shared/neuro", "creation_info": {"owner_uid": uid, "owner_gid": 100, "permissions": "2775"}}}


# --------------------------------------------------------------------------------------------------------------------


def test_create_and_wait_until_available(world):
    result = ok(world)
    assert world.writes() == [("create_access_point", dict(SPEC, FileSystemId=FS, Tags=[
        {"Key": "Name", "Value": NAME}, {"Key": "hubops:deployment", "Value": "dandi"}, {"Key": "hubops:group", "Value": "neuro"}]))]
    assert world.clock.sleeps == [1]
    [point_id] = world.efs.points
    assert result["changed"] is True
    assert result["access_point"] == {
        "access_point_id": point_id, "arn": world.efs.points[point_id]["AccessPointArn"], "name": NAME, "file_system_id": FS,
        "posix_user": {"uid": 1000, "gid": 100, "secondary_gids": []},
        "root_directory": {"path": "/shared/neuro", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "2775"}},
        "life_cycle_state": "available", "tags": TAGS, "recreated": False}


def test_create_with_secondary_gids_and_no_root_directory(world):
    ok(world, posix_user={"uid": 1, "gid": 2, "secondary_gids": [30, 20]}, root_directory=None)
    request = world.writes()[0][1]
    assert request["PosixUser"] == {"Uid": 1, "Gid": 2, "SecondaryGids": [30, 20]} and "RootDirectory" not in request
    assert ok(world, posix_user={"uid": 1, "gid": 2, "secondary_gids": [20, 30]}, root_directory={"path": "/"})["changed"] is False


def test_second_run_is_unchanged_and_writes_nothing(world):
    first = ok(world)
    again = ok(world)
    assert again["changed"] is False and again["actions"] == [] and world.writes() == [] and world.clock.sleeps == []
    assert again["access_point"] == dict(first["access_point"], recreated=False)


def test_the_same_spec_written_differently_is_the_same(world):
    world.efs.add(PosixUser={"Uid": 1000, "Gid": 100, "SecondaryGids": []},
                  RootDirectory={"Path": "/shared/neuro/", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 100, "Permissions": "02775"}})
    assert ok(world)["changed"] is False and world.writes() == []


def test_tags_converge_in_place(world):
    point_id = world.efs.add(tags={"Name": NAME, "stale": "x", "aws:cloudformation:stack-name": "s"})
    result = ok(world)
    wanted = [{"Key": "hubops:deployment", "Value": "dandi"}, {"Key": "hubops:group", "Value": "neuro"}]
    assert world.writes() == [("untag_resource", {"ResourceId": point_id, "TagKeys": ["stale"]}),
                              ("tag_resource", {"ResourceId": point_id, "Tags": wanted})]
    assert result["access_point"]["access_point_id"] == point_id and result["access_point"]["recreated"] is False
    assert world.efs.tags[point_id] == dict(TAGS, **{"aws:cloudformation:stack-name": "s"})


@pytest.mark.parametrize("changes", [
    with_uid(2000),
    {"root_directory": {"path": "/shared/neuro-2", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "2775"}}},
    {"root_directory": {"path": "/shared/neuro", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "0750"}}},
    {"posix_user": None},
])
def test_a_changed_posix_user_or_root_directory_recreates_it(world, changes):
    old = world.efs.add(tags={"Name": NAME, "keep": "me"})
    result = run(world, diff=True, **changes)
    assert not result.get("failed") and result["changed"] is True
    assert [c[0] for c in world.writes()] == ["delete_access_point", "create_access_point"]
    assert world.writes()[0][1] == {"AccessPointId": old}
    new = result["access_point"]["access_point_id"]
    assert new != old and list(world.live()) == [new] and result["access_point"]["recreated"] is True
    assert result["diff"]["before"]["access_point_id"] == old
    assert result["diff"]["before"]["posix_user"] != result["diff"]["after"]["posix_user"] \
        or result["diff"]["before"]["root_directory"] != result["diff"]["after"]["root_directory"]
    assert "its posix_user / root_directory differ" in result["actions"][0]
    assert world.efs.tags[new] == TAGS  # purge_tags: the wanted tags, not the old extra one


def test_recreate_on_uid_change_keeps_the_wanted_tags_and_reports_the_diff(world):
    ok(world)
    result = run(world, diff=True, purge_tags=True, **with_uid(2000))
    assert result["diff"]["before"]["posix_user"]["uid"] == 1000 and result["diff"]["after"]["posix_user"]["uid"] == 2000
    assert result["access_point"]["posix_user"] == {"uid": 2000, "gid": 100, "secondary_gids": []}
    assert result["access_point"]["tags"] == TAGS


def test_recreate_without_purge_carries_the_other_tags_over(world):
    world.efs.add(tags={"Name": NAME, "owner": "lab", "aws:cloudformation:stack-name": "s"})
    result = ok(world, purge_tags=False, **with_uid(2000))
    assert result["access_point"]["recreated"] is True
    assert result["access_point"]["tags"] == dict(TAGS, owner="lab")
    result = ok(world, tags=None, **with_uid(3000))
    assert result["access_point"]["tags"] == dict(TAGS, owner="lab")


def test_duplicates_of_the_name_are_reduced_to_one(world):
    stale = world.efs.add(**with_uid_spec(1))
    right = world.efs.add()
    world.efs.add(tags={"Name": "dandi-shared-astro"})
    result = ok(world)
    assert world.writes() == [("delete_access_point", {"AccessPointId": stale})]
    assert result["access_point"]["access_point_id"] == right and result["access_point"]["recreated"] is False


def with_uid_spec(uid):
    return {"PosixUser": {"Uid": uid, "Gid": 100}, "RootDirectory": SPEC["RootDirectory"]}


def test_absent_deletes_it_and_waits(world):
    point_id = world.efs.add()
    other = world.efs.add(tags={"Name": "dandi-shared-astro"})
    result = ok(world, state="absent")
    assert world.writes() == [("delete_access_point", {"AccessPointId": point_id})]
    assert list(world.efs.points) == [other] and world.clock.sleeps == [1]
    assert result["changed"] is True and result["access_point"] == {}
    assert ok(world, state="absent")["changed"] is False and world.writes() == []


def test_absent_on_a_missing_file_system_is_a_no_op(world):
    result = ok(world, state="absent", file_system_id="fs-00000000000000000")
    assert result["changed"] is False and world.writes() == []


# --------------------------------------------------------------------------------------------------------------------
# check mode, errors


def test_check_mode_create_and_recreate_write_nothing(world):
    result = run(world, check_mode=True, diff=True)
    assert result["changed"] is True and world.writes() == [] and world.efs.points == {}
    assert result["access_point"]["access_point_id"] == efs_utils.CHECK_MODE_ID and result["diff"]["before"] == {}
    point_id = world.efs.add()
    result = run(world, check_mode=True, diff=True, **with_uid(2000))
    assert result["changed"] is True and world.writes() == [] and list(world.efs.points) == [point_id]
    assert result["access_point"]["recreated"] is True and result["diff"]["after"]["posix_user"]["uid"] == 2000
    result = run(world, check_mode=True, state="absent")
    assert result["changed"] is True and world.writes() == [] and list(world.efs.points) == [point_id]


def test_check_mode_on_a_file_system_efs_filesystem_would_create(world):
    result = run(world, check_mode=True, file_system_id=efs_utils.CHECK_MODE_ID)
    assert result["changed"] is True and world.efs.calls == []
    result = run(world, check_mode=True, file_system_id="fs-00000000000000000")
    assert result["changed"] is True and world.writes() == []


def test_a_missing_file_system_fails_clearly(world):
    result = failed(world, file_system_id="fs-00000000000000000")
    assert "no such EFS file system" in result["msg"] and "hubops.eks.efs_filesystem" in result["msg"] and world.writes() == []


@pytest.mark.parametrize("changes, expected", [
    ({"root_directory": {"path": "shared/neuro"}}, "must be absolute"),
    ({"root_directory": {"path": "/x", "creation_info": {"owner_uid": 1, "owner_gid": 1, "permissions": "rwx"}}}, "octal digits"),
    ({"root_directory": {"path": "/x", "creation_info": {"owner_uid": 1, "owner_gid": 1, "permissions": "27755"}}}, "octal digits"),
    ({"posix_user": {"uid": 1}}, "gid"),
])
def test_bad_options_fail_before_any_call(world, changes, expected):
    result = failed(world, **changes)
    assert expected in result["msg"] and world.efs.calls == []
