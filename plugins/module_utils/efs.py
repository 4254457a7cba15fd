# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What hubops.eks.efs_filesystem and hubops.eks.efs_access_point share: the change log and check mode, the waits,
the tags (TagResource / UntagResource by resource id, never the legacy CreateTags / DescribeTags), and the shapes
the modules return."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# The file system id efs_filesystem reports in check mode for one it would create. efs_access_point knows it: in check
# mode it reports the access point it would create there, without asking AWS about a file system that does not exist.
CHECK_MODE_ID = "check-mode-placeholder"
DELAYS = (1, 2, 3, 5, 8, 10, 15)  # seconds between polls; the last repeats
IA_DAYS = (1, 7, 14, 30, 60, 90, 180, 270, 365)
GONE = ("deleting", "deleted")


def error_code(exc):
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")


def ia_rule(days):
    """transition_to_ia_days -> EFS's TransitionToIA value (AFTER_1_DAY, AFTER_7_DAYS, ...); None stays None."""
    if days is None:
        return None
    return "AFTER_1_DAY" if int(days) == 1 else "AFTER_%d_DAYS" % int(days)


def ia_days(rule):
    """EFS's TransitionToIA value -> days (None for none)."""
    if not rule:
        return None
    return int(rule.split("_")[1])


def tags_of(description):
    return boto3_tag_list_to_ansible_dict((description or {}).get("Tags") or [])


def wanted_tags(tags, name):
    """O(tags) as strings, with Name set to the resource's name (name wins over a Name in tags)."""
    wanted = dict((to_text(k), to_text(v)) for k, v in (tags or {}).items())
    wanted["Name"] = to_text(name)
    return wanted


def posix_user_view(posix):
    if not posix:
        return None
    return {"uid": posix.get("Uid"), "gid": posix.get("Gid"), "secondary_gids": sorted(posix.get("SecondaryGids") or [])}


def root_directory_view(root):
    root = root or {}
    info = root.get("CreationInfo")
    return {"path": root.get("Path") or "/",
            "creation_info": None if not info else {"owner_uid": info.get("OwnerUid"), "owner_gid": info.get("OwnerGid"),
                                                    "permissions": info.get("Permissions")}}


def access_point_view(point):
    """An access point as both modules return it."""
    tags = tags_of(point)
    return {"access_point_id": point.get("AccessPointId"), "arn": point.get("AccessPointArn"),
            "name": tags.get("Name", point.get("Name")), "file_system_id": point.get("FileSystemId"),
            "posix_user": posix_user_view(point.get("PosixUser")), "root_directory": root_directory_view(point.get("RootDirectory")),
            "life_cycle_state": point.get("LifeCycleState"), "tags": tags}


class Converger(object):
    """Changes recorded as they are made (in check mode only recorded), polls bounded by one wait_timeout, tags."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.actions = []
        self.deadline = time.monotonic() + max(0, self.params["wait_timeout"])

    def act(self, what, method, **kwargs):
        """Record a change and, outside check mode, make it."""
        self.actions.append(what)
        if self.module.check_mode:
            return {}
        return getattr(self.client, method)(**kwargs)

    def fail(self, msg):
        self.module.fail_json(msg=msg, actions=self.actions)

    def wait_for(self, poll, done, timeout_message):
        """Poll until done(poll()); on timeout fail with timeout_message(last value). Returns the last value."""
        value = poll()
        attempt = 0
        while not done(value):
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.fail(timeout_message(value))
            time.sleep(min(DELAYS[min(attempt, len(DELAYS) - 1)], left))
            attempt += 1
            value = poll()
        return value

    def converge_tags(self, resource_id, what, current, wanted, purge):
        """Tag / untag resource_id (a file system or access point id) so its tags are `wanted` (plus, unless purge, the
        others it has; aws:* tags always stay). Returns the tags it has afterwards."""
        to_set, to_unset = compare_aws_tags(current, wanted, purge_tags=purge)
        if to_unset:
            self.act("untag %s (%s)" % (what, ", ".join(sorted(to_unset))), "untag_resource", ResourceId=resource_id,
                     TagKeys=sorted(to_unset))
        if to_set:
            self.act("tag %s (%s)" % (what, ", ".join(sorted(to_set))), "tag_resource", ResourceId=resource_id,
                     Tags=ansible_dict_to_boto3_tag_list(dict(sorted(to_set.items()))))
        after = dict((k, v) for k, v in current.items() if k not in to_unset)
        after.update(to_set)
        return after
