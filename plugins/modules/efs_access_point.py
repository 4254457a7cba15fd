#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: efs_access_point
short_description: An EFS access point - a fixed POSIX user and a root directory of its own - found by its Name tag
version_added: 0.1.0
description:
  - Converges one access point of the EFS file system O(file_system_id), found by its C(Name) tag O(name), which is
    unique per file system (extra access points of the same name there are deleted).
  - An access point makes every NFS client that mounts through it act as O(posix_user) and see O(root_directory) as its
    root; EFS creates that directory with O(root_directory.creation_info) the first time it is needed. hubops gives each
    group one, for its shared directory.
  - Access points are immutable except their tags. When O(posix_user) or O(root_directory) differ from the existing
    access point, it is deleted and a new one is created (RV(access_point.recreated)); the new one has a new id, so
    whatever names the old id (a PersistentVolume's C(volumeHandle)) must be updated. The data is safe - it lives in
    the directory on the file system, not in the access point - but files written through the old one belong to its
    POSIX user, so change uid/gid knowingly (chown the directory).
  - Tags are changed in place (TagResource / UntagResource).
  - O(state=absent) deletes the access point(s) of that name; the directory and its data stay on the file system.
  - Exists because no Ansible module manages EFS access points. Access points are free.
author:
  - hubops.eks contributors (@hubops)
options:
  file_system_id:
    description: The file system (RV(hubops.eks.efs_filesystem#module:file_system.file_system_id)).
    type: str
    required: true
  name:
    description: Name of the access point (its C(Name) tag), unique per file system, for example C(<deployment>-shared-<group>).
    type: str
    required: true
  state:
    description: C(present) ensures the access point as described; C(absent) deletes it (never the data).
    type: str
    choices: [present, absent]
    default: present
  posix_user:
    description:
      - The user every file operation through the access point is made as (whatever the client's own user is).
      - Leave out for none (the clients' own users); an existing access point that enforces one is then recreated.
    type: dict
    suboptions:
      uid:
        description: User id.
        type: int
        required: true
      gid:
        description: Group id.
        type: int
        required: true
      secondary_gids:
        description: More group ids.
        type: list
        elements: int
        default: []
  root_directory:
    description:
      - The directory of the file system that clients see as the root. Leave out for the file system's root (C(/)).
    type: dict
    suboptions:
      path:
        description: Absolute path on the file system, for example C(/shared/neuro).
        type: str
        required: true
      creation_info:
        description:
          - Owner and permissions EFS gives O(root_directory.path) when it creates it (it does when a client first mounts
            and the path is missing). Without it a missing path is not created and mounts fail.
        type: dict
        suboptions:
          owner_uid:
            description: Owner user id.
            type: int
            required: true
          owner_gid:
            description: Owner group id.
            type: int
            required: true
          permissions:
            description: Octal permissions as a string, for example C("2775") (setgid, group-writable).
            type: str
            required: true
  tags:
    description: Tags of the access point. C(Name) is always set to O(name). Leave out to leave the other tags as they are.
    type: dict
  purge_tags:
    description: Remove tags not in O(tags) (never C(aws:*) tags). Only when O(tags) is given.
    type: bool
    default: true
  wait:
    description: Wait until a new access point is available, or a deleted one is gone.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, in all.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports C(--check) (no write call; an access point that would be created is reported with the id
    C(check-mode-placeholder); on a file system that does not exist yet, for example one hubops.eks.efs_filesystem would
    create in the same check run, it reports the access point it would create) and C(--diff).
"""

EXAMPLES = r"""
- name: The neuro group's shared directory, as uid 1000 / gid 100, created setgid and group-writable
  hubops.eks.efs_access_point:
    file_system_id: "{{ shared_fs.file_system.file_system_id }}"
    name: dandi-shared-neuro
    posix_user: {uid: 1000, gid: 100}
    root_directory:
      path: /shared/neuro
      creation_info: {owner_uid: 1000, owner_gid: 100, permissions: "2775"}
    tags: {"hubops:deployment": dandi, "hubops:group": neuro}

- name: A group that left - its access point goes, its directory stays on the file system
  hubops.eks.efs_access_point:
    file_system_id: fs-0123456789abcdef0
    name: dandi-shared-astro
    state: absent
"""

RETURN = r"""
access_point:
  description: The access point after the change (in check mode, as it would be); empty when it does not exist.
  returned: always
  type: dict
  contains:
    access_point_id:
      description: Its id (C(check-mode-placeholder) in check mode when it would be created).
      type: str
      sample: fsap-0123456789abcdef0
    arn:
      description: Its ARN.
      type: str
      sample: arn:aws:elasticfilesystem:us-east-2:123456789012:access-point/fsap-0123456789abcdef0
    name:
      description: Its C(Name) tag.
      type: str
      sample: dandi-shared-neuro
    file_system_id:
      description: Its file system.
      type: str
      sample: fs-0123456789abcdef0
    posix_user:
      description: C(uid), C(gid), C(secondary_gids); null when it enforces none.
      type: dict
      sample: {"uid": 1000, "gid": 100, "secondary_gids": []}
    root_directory:
      description: C(path), and C(creation_info) (C(owner_uid), C(owner_gid), C(permissions)) or null.
      type: dict
      sample: {"path": "/shared/neuro", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "2775"}}
    life_cycle_state:
      description: C(creating), C(available), C(deleting), ...
      type: str
      sample: available
    tags:
      description: Its tags.
      type: dict
    recreated:
      description: True when this run replaced an access point whose posix_user or root_directory differed (its id changed).
      type: bool
actions:
  description: The changes made (in check mode, that would be made).
  returned: always
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.hubops.eks.plugins.module_utils.efs import CHECK_MODE_ID
from ansible_collections.hubops.eks.plugins.module_utils.efs import GONE
from ansible_collections.hubops.eks.plugins.module_utils.efs import Converger
from ansible_collections.hubops.eks.plugins.module_utils.efs import access_point_view
from ansible_collections.hubops.eks.plugins.module_utils.efs import error_code
from ansible_collections.hubops.eks.plugins.module_utils.efs import tags_of
from ansible_collections.hubops.eks.plugins.module_utils.efs import wanted_tags
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule


def _octal(permissions):
    try:
        return int(str(permissions), 8)
    except (TypeError, ValueError):
        return permissions


def _path(path):
    path = (path or "/").strip()
    return path.rstrip("/") or "/"


def spec_key(posix_user, root_directory):
    """What identifies an access point's behaviour, comparable between the options and AWS's description."""
    user = None
    if posix_user:
        user = (posix_user["uid"], posix_user["gid"], tuple(sorted(posix_user.get("secondary_gids") or [])))
    root = root_directory or {"path": "/", "creation_info": None}
    info = root.get("creation_info")
    return user, _path(root["path"]), (None if not info else (info["owner_uid"], info["owner_gid"], _octal(info["permissions"])))


def spec_view(posix_user, root_directory):
    """The options in the shape the module returns."""
    user = None
    if posix_user:
        user = {"uid": posix_user["uid"], "gid": posix_user["gid"], "secondary_gids": sorted(posix_user.get("secondary_gids") or [])}
    root = {"path": "/", "creation_info": None}
    if root_directory:
        info = root_directory.get("creation_info")
        root = {"path": root_directory["path"], "creation_info": None if not info else {
            "owner_uid": info["owner_uid"], "owner_gid": info["owner_gid"], "permissions": info["permissions"]}}
    return user, root


class AccessPoint(Converger):
    def __init__(self, module, efs):
        super(AccessPoint, self).__init__(module, efs)
        self.fs_id = self.params["file_system_id"]
        self.name = self.params["name"]
        self.before = {}
        self.after = {}
        self.recreated = False

    def named(self):
        """The access points of that name on the file system, or None when the file system does not exist."""
        if self.fs_id == CHECK_MODE_ID:
            return None
        paginator = self.client.get_paginator("describe_access_points")
        try:
            points = paginator.paginate(FileSystemId=self.fs_id).build_full_result().get("AccessPoints") or []
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("FileSystemNotFound", "BadRequest", "ValidationException"):
                return None
            raise
        return [p for p in points if tags_of(p).get("Name", p.get("Name")) == self.name and p.get("LifeCycleState") not in GONE]

    def by_id(self, point_id):
        try:
            found = self.client.describe_access_points(AccessPointId=point_id).get("AccessPoints") or []
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "AccessPointNotFound":
                return None
            raise
        return found[0] if found else None

    def label(self, point):
        return "%s (%s)" % (point["AccessPointId"], self.name)

    def view(self, point):
        view = access_point_view(point)
        return dict((k, view[k]) for k in ("access_point_id", "name", "file_system_id", "posix_user", "root_directory", "tags"))

    def result(self, point):
        view = access_point_view(point)
        view["recreated"] = self.recreated
        return view

    # ---- present --------------------------------------------------------------------------------------------------

    def tags_wanted(self, current):
        params = self.params
        if params["tags"] is None:
            return dict(current, Name=self.name), False
        return wanted_tags(params["tags"], self.name), params["purge_tags"]

    def present(self):
        params = self.params
        points = self.named()
        if points is None:
            if not self.module.check_mode:
                self.fail("file_system_id %s: no such EFS file system in %s for this account. Create it first "
                          "(hubops.eks.efs_filesystem), and give its file_system.file_system_id." % (self.fs_id, self.module.region))
            points = []
        wanted = spec_key(params["posix_user"], params["root_directory"])
        keep = None
        for point in points:
            if self.spec_of(point) == wanted:
                keep = point
                break
        if keep is None and points:
            keep = points[0]
        for point in points:
            if point is not keep:
                self.act("delete access point %s (another of that name on %s)" % (self.label(point), self.fs_id), "delete_access_point",
                         AccessPointId=point["AccessPointId"])
        if keep is not None:
            self.before = self.view(keep)
            if self.spec_of(keep) == wanted:
                tags, purge = self.tags_wanted(tags_of(keep))
                after_tags = self.converge_tags(keep["AccessPointId"], "access point %s" % self.label(keep), tags_of(keep), tags, purge)
                self.after = dict(self.before, tags=after_tags)
                if self.module.check_mode or not self.actions:
                    return self.result(dict(keep, Tags=[{"Key": k, "Value": v} for k, v in sorted(after_tags.items())]))
                return self.result(self.by_id(keep["AccessPointId"]) or keep)
            self.act("delete access point %s: its posix_user / root_directory differ, and access points cannot change (the data "
                     "stays in the directory)" % self.label(keep), "delete_access_point", AccessPointId=keep["AccessPointId"])
            self.recreated = True
        return self.create(tags_of(keep) if keep is not None else {})

    @staticmethod
    def spec_of(point):
        user = point.get("PosixUser")
        root = point.get("RootDirectory") or {}
        info = root.get("CreationInfo")
        return spec_key(None if not user else {"uid": user["Uid"], "gid": user["Gid"], "secondary_gids": user.get("SecondaryGids")},
                        {"path": root.get("Path") or "/", "creation_info": None if not info else {
                            "owner_uid": info["OwnerUid"], "owner_gid": info["OwnerGid"], "permissions": info["Permissions"]}})

    def request(self, tags):
        params = self.params
        request = {"FileSystemId": self.fs_id, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
        user = params["posix_user"]
        if user:
            request["PosixUser"] = {"Uid": user["uid"], "Gid": user["gid"]}
            if user.get("secondary_gids"):
                request["PosixUser"]["SecondaryGids"] = list(user["secondary_gids"])
        root = params["root_directory"]
        if root:
            request["RootDirectory"] = {"Path": root["path"]}
            info = root.get("creation_info")
            if info:
                request["RootDirectory"]["CreationInfo"] = {"OwnerUid": info["owner_uid"], "OwnerGid": info["owner_gid"],
                                                            "Permissions": str(info["permissions"])}
        return request

    def create(self, old_tags):
        params = self.params
        tags, purge = self.tags_wanted(old_tags)
        if not purge:  # a replacement keeps the other tags of the one it replaces (not aws:*, which AWS sets itself)
            tags = dict([(k, v) for k, v in old_tags.items() if not k.startswith("aws:")] + list(tags.items()))
        request = self.request(tags)
        answer = self.act("create access point %s on %s (%s)" % (self.name, self.fs_id, request.get("RootDirectory", {}).get("Path", "/")),
                          "create_access_point", **request)
        user, root = spec_view(params["posix_user"], params["root_directory"])
        self.after = {"access_point_id": None if self.module.check_mode else answer.get("AccessPointId"), "name": self.name,
                      "file_system_id": self.fs_id, "posix_user": user, "root_directory": root, "tags": tags}
        if self.module.check_mode:
            self.after["access_point_id"] = CHECK_MODE_ID
            view = dict(self.after, arn=None, life_cycle_state=None, recreated=self.recreated)
            return view
        point = answer
        if params["wait"] and point.get("LifeCycleState") != "available":
            point = self.wait_for(
                lambda: self.by_id(answer["AccessPointId"]) or dict(answer, LifeCycleState="deleted"),
                self.available,
                lambda current: "Access point %s is still %s after %d s (wait_timeout). Run again, or raise wait_timeout."
                                % (self.label(answer), current.get("LifeCycleState"), params["wait_timeout"]))
        return self.result(point)

    def available(self, point):
        if point.get("LifeCycleState") in ("error",) + GONE:
            self.fail("Access point %s is %s, not available. Run again to create another." % (self.label(point), point.get("LifeCycleState")))
        return point.get("LifeCycleState") == "available"

    # ---- absent ---------------------------------------------------------------------------------------------------

    def absent(self):
        points = self.named() or []
        if not points:
            return {}
        self.before = self.view(points[0])
        for point in points:
            self.act("delete access point %s on %s" % (self.label(point), self.fs_id), "delete_access_point",
                     AccessPointId=point["AccessPointId"])
        if self.params["wait"] and not self.module.check_mode:
            for point in points:
                self.wait_for(
                    lambda point_id=point["AccessPointId"]: self.by_id(point_id),
                    lambda current: current is None or current.get("LifeCycleState") == "deleted",
                    lambda current: "Access point %s is still %s after %d s (wait_timeout). Run again, or raise wait_timeout."
                                    % (self.label(current), current.get("LifeCycleState"), self.params["wait_timeout"]))
        return {}


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            file_system_id=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            posix_user=dict(type="dict", options=dict(
                uid=dict(type="int", required=True),
                gid=dict(type="int", required=True),
                secondary_gids=dict(type="list", elements="int", default=[]),
            )),
            root_directory=dict(type="dict", options=dict(
                path=dict(type="str", required=True),
                creation_info=dict(type="dict", options=dict(
                    owner_uid=dict(type="int", required=True),
                    owner_gid=dict(type="int", required=True),
                    permissions=dict(type="str", required=True),
                )),
            )),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds.")
    root = params["root_directory"]
    if root:
        if not root["path"].startswith("/"):
            module.fail_json(msg="root_directory.path must be absolute (start with /): %s" % root["path"])
        info = root.get("creation_info")
        if info and (len(info["permissions"]) not in (3, 4) or any(c not in "01234567" for c in info["permissions"])):
            module.fail_json(msg="root_directory.creation_info.permissions must be 3 or 4 octal digits as a string, for example "
                                 "\"2775\" (quote it in YAML, or it becomes a number): %s" % info["permissions"])
    if not module.region:
        module.fail_json(msg="No AWS region: set region (hubops_region) or AWS_REGION.")
    point = AccessPoint(module, module.client("efs"))
    try:
        result = point.present() if params["state"] == "present" else point.absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge EFS access point %s of %s (actions so far: %s)"
                             % (params["name"], params["file_system_id"], "; ".join(point.actions) or "none"))
    output = dict(changed=bool(point.actions), access_point=result, actions=point.actions)
    if module._diff:
        output["diff"] = {"before": point.before, "after": point.after}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
