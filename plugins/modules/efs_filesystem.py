#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: efs_filesystem
short_description: An encrypted EFS file system with its lifecycle, backup policy, tags and mount targets
version_added: 0.1.0
description:
  - Converges one Amazon EFS file system, found by its creation token (O(creation_token), EFS's idempotency key). A
    file system that an earlier teardown kept (O(state=detached)) is found the same way and adopted by the next run,
    with its data and access points, instead of a new empty one being created.
  - O(state=present) creates it when missing - always encrypted, with O(kms_key_id), O(throughput_mode),
    O(performance_mode), EFS's own automatic backups as O(automatic_backups) says, and the tags - and then waits until it
    is available (AWS refuses mount targets and lifecycle changes before). On an existing one it changes only what
    differs, in place - tags (TagResource / UntagResource), throughput mode, the IA lifecycle policy, the backup policy,
    mount targets (one per subnet of O(subnet_ids); those in other subnets are deleted) and their security groups.
  - The KMS key and the performance mode of an existing file system cannot change; when they differ the module fails
    before any change, naming the option. A key given as an alias and the same key as an ARN or id are the same key
    (resolved through KMS DescribeKey; when KMS cannot be asked they are compared as given).
  - O(state=detached) deletes the mount targets and keeps the file system and its access points - what teardown does
    when user data is kept. Nothing in the cluster can mount it any more; the next O(state=present) run adds mount
    targets again.
  - O(state=absent) deletes the access points, the mount targets and then the file system, with all its data. There is
    no undo. Backups made by AWS Backup stay in their vault.
  - Exists because community.aws.efs uses the legacy DescribeTags/CreateTags API (gone from some endpoints) and leaves
    a half-made file system behind when a later step fails.
  - Cost - EFS bills the data stored (Standard, less in Infrequent Access after O(transition_to_ia_days)) and, with
    elastic throughput, the data read and written. Mount targets are free.
author:
  - hubops.eks contributors (@hubops)
options:
  name:
    description: Name of the file system (its C(Name) tag), for example C(<deployment>-shared).
    type: str
    required: true
  creation_token:
    description:
      - EFS's idempotency key of the file system (1 to 64 characters), and how this module finds it. Defaults to O(name).
      - Keep it stable; a new token means a new, empty file system.
    type: str
  state:
    description:
      - C(present) ensures the file system and its mount targets; C(detached) deletes only the mount targets (keeps the
        data); C(absent) deletes the access points, the mount targets and the file system (and its data).
    type: str
    choices: [present, absent, detached]
    default: present
  kms_key_id:
    description:
      - The KMS key that encrypts a new file system - key id, key ARN, alias (C(alias/hubops/<deployment>)) or alias ARN.
        Without it EFS uses the AWS managed key C(aws/elasticfilesystem).
      - On an existing file system it is checked, never changed (EFS cannot re-encrypt); leave it out to accept any key.
      - The file system is always encrypted.
    type: str
  throughput_mode:
    description: Throughput mode; changed in place on an existing file system (AWS allows one change to or from
      C(provisioned) a day).
    type: str
    choices: [elastic, bursting, provisioned]
    default: elastic
  provisioned_throughput_in_mibps:
    description: Provisioned throughput in MiB/s; required with O(throughput_mode=provisioned), refused otherwise.
    type: float
  performance_mode:
    description: Performance mode of a new file system; cannot change afterwards. C(maxIO) does not support elastic throughput.
    type: str
    choices: [generalPurpose, maxIO]
    default: generalPurpose
  transition_to_ia_days:
    description:
      - Move files not accessed for this many days to the Infrequent Access storage class (the C(TransitionToIA)
        lifecycle policy). Null (the default) means no such policy; a policy that exists is removed.
      - Other lifecycle policies (C(TransitionToPrimaryStorageClass), C(TransitionToArchive)) are left as they are.
    type: int
    choices: [1, 7, 14, 30, 60, 90, 180, 270, 365]
  automatic_backups:
    description:
      - EFS's own automatic backups (its backup policy, a daily AWS Backup job in the default vault). Off by default -
        hubops runs its own AWS Backup plan, which selects the file system by tag.
    type: bool
    default: false
  subnet_ids:
    description:
      - One mount target per subnet (one subnet per availability zone, all in one VPC). Mount targets in other subnets
        are deleted. An empty list deletes every mount target; leave the option out to leave them as they are.
    type: list
    elements: str
  security_group_ids:
    description:
      - Security groups of every mount target (at most 5), for example one that admits NFS (TCP 2049) from the cluster's
        nodes only. Existing mount targets get them in place. Leave out to leave them as they are (new mount targets then
        get the VPC's default security group).
    type: list
    elements: str
  tags:
    description:
      - Tags of the file system. C(Name) is always set to O(name). Leave out to leave the other tags as they are.
    type: dict
  purge_tags:
    description: Remove tags not in O(tags) (never C(aws:*) tags). Only when O(tags) is given.
    type: bool
    default: true
  wait:
    description:
      - Wait until the file system and its mount targets are available (O(state=present)), the mount targets are gone
        (O(state=detached)), or the file system is gone (O(state=absent)).
      - The module always waits where AWS needs it before the next step - a new file system before its mount targets and
        lifecycle policy, deleted mount targets before the file system or a new mount target in their zone.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait, in all. On timeout the module fails saying what it waited for; the next run goes on from there.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports C(--check) (no write call; a file system that would be created is reported with the file system id
    C(check-mode-placeholder)) and C(--diff) (the managed attributes before and after).
  - Needs C(elasticfilesystem:*) on the file system, C(ec2:CreateNetworkInterface) and friends for mount targets, and
    C(kms:DescribeKey) (to compare keys) plus the key's grants for EFS.
"""

EXAMPLES = r"""
- name: The deployment's shared file system, mounted from two private subnets
  hubops.eks.efs_filesystem:
    name: dandi-shared
    kms_key_id: alias/hubops/dandi
    transition_to_ia_days: 30
    subnet_ids: [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]
    security_group_ids: [sg-0123456789abcdef0]
    tags: {"hubops:deployment": dandi, project: dandi}
  register: shared_fs

- name: Teardown that keeps user data - the mount targets go, the file system and its access points stay
  hubops.eks.efs_filesystem:
    name: dandi-shared
    state: detached

- name: Teardown with hubops_teardown_delete_data - everything goes, data included
  hubops.eks.efs_filesystem:
    name: dandi-shared
    state: absent
"""

RETURN = r"""
file_system:
  description: The file system after the change (in check mode, as it would be); empty when it does not exist.
  returned: always
  type: dict
  contains:
    file_system_id:
      description: Its id (C(check-mode-placeholder) in check mode when it would be created).
      type: str
      sample: fs-0123456789abcdef0
    arn:
      description: Its ARN.
      type: str
      sample: arn:aws:elasticfilesystem:us-east-2:123456789012:file-system/fs-0123456789abcdef0
    name:
      description: Its C(Name) tag.
      type: str
      sample: dandi-shared
    creation_token:
      description: Its creation token.
      type: str
      sample: dandi-shared
    life_cycle_state:
      description: C(creating), C(available), C(updating), C(deleting), C(deleted) or C(error).
      type: str
      sample: available
    encrypted:
      description: Whether it is encrypted (always, when this module created it).
      type: bool
    kms_key_id:
      description: ARN of its KMS key (as EFS reports it).
      type: str
      sample: arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    throughput_mode:
      description: Its throughput mode.
      type: str
      sample: elastic
    provisioned_throughput_in_mibps:
      description: Its provisioned throughput, with C(provisioned) throughput mode.
      type: float
    performance_mode:
      description: Its performance mode.
      type: str
      sample: generalPurpose
    transition_to_ia_days:
      description: Days before files move to Infrequent Access; null when there is no such policy.
      type: int
      sample: 30
    automatic_backups:
      description: Whether EFS's own automatic backups are on.
      type: bool
    tags:
      description: Its tags.
      type: dict
      sample: {"Name": "dandi-shared", "hubops:deployment": "dandi"}
    mount_targets:
      description: Its mount targets (not those being deleted).
      type: list
      elements: dict
      contains:
        mount_target_id:
          description: Id (null in check mode for one that would be created).
          type: str
          sample: fsmt-0123456789abcdef0
        subnet_id:
          description: Its subnet.
          type: str
        availability_zone_name:
          description: Its availability zone.
          type: str
          sample: us-east-2a
        ip_address:
          description: Its address; NFS clients in the zone mount it.
          type: str
        security_group_ids:
          description: Its security groups.
          type: list
          elements: str
        life_cycle_state:
          description: C(creating), C(available), ...
          type: str
    access_points:
      description: Its access points (managed by hubops.eks.efs_access_point).
      type: list
      elements: dict
      contains:
        access_point_id:
          description: Id.
          type: str
          sample: fsap-0123456789abcdef0
        arn:
          description: ARN.
          type: str
        name:
          description: Its C(Name) tag.
          type: str
        root_directory:
          description: C(path) and C(creation_info) (C(owner_uid), C(owner_gid), C(permissions)).
          type: dict
        posix_user:
          description: C(uid), C(gid), C(secondary_gids); null when it enforces none.
          type: dict
        tags:
          description: Its tags.
          type: dict
    adopted:
      description:
        - True when the file system existed before this run (found by its creation token) - kept by an earlier
          teardown, or simply there from an earlier run; false when this run created it.
      type: bool
actions:
  description: The changes made (in check mode, that would be made).
  returned: always
  type: list
  elements: str
  sample: ["create file system dandi-shared (creation token dandi-shared)", "create mount target in subnet-0a1b2c3d4e5f60718"]
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.hubops.eks.plugins.module_utils.efs import CHECK_MODE_ID
from ansible_collections.hubops.eks.plugins.module_utils.efs import GONE
from ansible_collections.hubops.eks.plugins.module_utils.efs import Converger
from ansible_collections.hubops.eks.plugins.module_utils.efs import access_point_view
from ansible_collections.hubops.eks.plugins.module_utils.efs import error_code
from ansible_collections.hubops.eks.plugins.module_utils.efs import ia_days
from ansible_collections.hubops.eks.plugins.module_utils.efs import ia_rule
from ansible_collections.hubops.eks.plugins.module_utils.efs import tags_of
from ansible_collections.hubops.eks.plugins.module_utils.efs import wanted_tags
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

BACKUP_ON = ("ENABLED", "ENABLING")


def _unique(items):
    seen = []
    for item in items or []:
        if item not in seen:
            seen.append(item)
    return seen


def _same_mibps(a, b):
    return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6


class FileSystem(Converger):
    def __init__(self, module, efs):
        super(FileSystem, self).__init__(module, efs)
        self.name = self.params["name"]
        self.token = self.params["creation_token"] or self.name
        self.adopted = False
        self.before = {}
        self.after = {}

    # ---- reads ----------------------------------------------------------------------------------------------------

    def find(self):
        """The file system of the creation token, or None."""
        try:
            found = self.client.describe_file_systems(CreationToken=self.token).get("FileSystems") or []
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemNotFound":
                return None
            raise
        return found[0] if found else None

    def by_id(self, fs_id):
        try:
            found = self.client.describe_file_systems(FileSystemId=fs_id).get("FileSystems") or []
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemNotFound":
                return None
            raise
        return found[0] if found else None

    def mount_targets(self, fs_id, with_groups=True):
        """Its mount targets, each with "SecurityGroups" (None when AWS does not tell, e.g. while it is deleted)."""
        if fs_id == CHECK_MODE_ID:
            return []
        paginator = self.client.get_paginator("describe_mount_targets")
        try:
            targets = paginator.paginate(FileSystemId=fs_id).build_full_result().get("MountTargets") or []
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemNotFound":
                return []
            raise
        for target in targets:
            target["SecurityGroups"] = self.security_groups(target) if with_groups else None
        return sorted(targets, key=lambda t: (t.get("AvailabilityZoneName") or "", t["SubnetId"]))

    def security_groups(self, target):
        if target.get("LifeCycleState") in GONE:
            return None
        try:
            answer = self.client.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("MountTargetNotFound", "IncorrectMountTargetState"):
                return None
            raise
        return sorted(answer.get("SecurityGroups") or [])

    def access_points(self, fs_id):
        if fs_id == CHECK_MODE_ID:
            return []
        paginator = self.client.get_paginator("describe_access_points")
        try:
            points = paginator.paginate(FileSystemId=fs_id).build_full_result().get("AccessPoints") or []
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "FileSystemNotFound":
                return []
            raise
        return sorted(points, key=lambda p: (tags_of(p).get("Name") or "", p["AccessPointId"]))

    def lifecycle(self, fs_id):
        return self.client.describe_lifecycle_configuration(FileSystemId=fs_id).get("LifecyclePolicies") or []

    def backups_on(self, fs_id):
        try:
            status = self.client.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "PolicyNotFound":  # a One Zone file system without backups
                return False
            raise
        return status in BACKUP_ON

    def read(self, fs):
        """What this module manages of an existing file system, besides what DescribeFileSystems says."""
        fs_id = fs["FileSystemId"]
        policies = self.lifecycle(fs_id)
        return {"policies": policies, "ia": next((p["TransitionToIA"] for p in policies if p.get("TransitionToIA")), None),
                "backups": self.backups_on(fs_id), "tags": tags_of(fs), "mount_targets": self.mount_targets(fs_id)}

    # ---- views ----------------------------------------------------------------------------------------------------

    def view(self, fs, state):
        """The managed attributes, for the diff."""
        view = {"name": state["tags"].get("Name"), "creation_token": fs.get("CreationToken"), "encrypted": bool(fs.get("Encrypted")),
                "kms_key_id": fs.get("KmsKeyId"), "performance_mode": fs.get("PerformanceMode"),
                "throughput_mode": fs.get("ThroughputMode"), "transition_to_ia_days": ia_days(state["ia"]),
                "automatic_backups": bool(state["backups"]), "tags": dict(state["tags"]),
                "mount_targets": dict((t["SubnetId"], t.get("SecurityGroups")) for t in state["mount_targets"]
                                      if t.get("LifeCycleState") not in GONE)}
        if fs.get("ThroughputMode") == "provisioned":
            view["provisioned_throughput_in_mibps"] = fs.get("ProvisionedThroughputInMibps")
        return view

    def result(self, fs, state, points):
        mibps = fs.get("ProvisionedThroughputInMibps") if fs.get("ThroughputMode") == "provisioned" else None
        return {
            "file_system_id": fs["FileSystemId"], "arn": fs.get("FileSystemArn"), "name": state["tags"].get("Name", fs.get("Name")),
            "creation_token": fs.get("CreationToken"), "life_cycle_state": fs.get("LifeCycleState"),
            "encrypted": bool(fs.get("Encrypted")), "kms_key_id": fs.get("KmsKeyId"), "throughput_mode": fs.get("ThroughputMode"),
            "provisioned_throughput_in_mibps": mibps, "performance_mode": fs.get("PerformanceMode"),
            "transition_to_ia_days": ia_days(state["ia"]), "automatic_backups": bool(state["backups"]), "tags": dict(state["tags"]),
            "mount_targets": [{"mount_target_id": t.get("MountTargetId"), "subnet_id": t["SubnetId"],
                               "availability_zone_name": t.get("AvailabilityZoneName"), "ip_address": t.get("IpAddress"),
                               "security_group_ids": t.get("SecurityGroups"), "life_cycle_state": t.get("LifeCycleState")}
                              for t in state["mount_targets"] if t.get("LifeCycleState") not in GONE],
            "access_points": [dict((k, v) for k, v in access_point_view(p).items() if k not in ("file_system_id", "life_cycle_state"))
                              for p in points],
            "adopted": self.adopted,
        }

    def reread(self, fs_id):
        fs = self.by_id(fs_id)
        if fs is None:
            return {}
        return self.result(fs, self.read(fs), self.access_points(fs_id))

    def label(self, fs):
        return "%s (%s)" % (fs["FileSystemId"], self.name)

    # ---- waits ----------------------------------------------------------------------------------------------------

    def wait_available(self, fs):
        if fs.get("LifeCycleState") == "available" or self.module.check_mode:
            return fs
        what = self.label(fs)

        def poll():
            return self.by_id(fs["FileSystemId"]) or {"FileSystemId": fs["FileSystemId"], "LifeCycleState": "deleted"}

        def done(current):
            if current.get("LifeCycleState") in ("error",) + GONE:
                self.fail("EFS file system %s is %s, not available. %s" % (what, current.get("LifeCycleState"), self.error_hint()))
            return current.get("LifeCycleState") == "available"

        return self.wait_for(poll, done, lambda current: "EFS file system %s is still %s after %d s (wait_timeout). Run again - "
                                                         "it is found by its creation token %s - or raise wait_timeout."
                                                         % (what, current.get("LifeCycleState"), self.params["wait_timeout"], self.token))

    def error_hint(self):
        return ("Delete it (state=absent) and run again to create a new one, or give another creation_token."
                if self.params["state"] == "present" else "See the EFS console.")

    def wait_targets(self, fs, gone_only=False):
        """Until every mount target is available (or, with gone_only, until the deleted ones are gone)."""
        what = self.label(fs)

        def poll():
            return self.mount_targets(fs["FileSystemId"], with_groups=False)

        def done(targets):
            if gone_only:
                return all(t.get("LifeCycleState") not in GONE for t in targets)
            bad = [t for t in targets if t.get("LifeCycleState") == "error"]
            if bad:
                self.fail("Mount target %s of EFS file system %s is in state error. Delete it (state=detached) and run again."
                          % (bad[0]["MountTargetId"], what))
            return all(t.get("LifeCycleState") == "available" for t in targets)

        def message(targets):
            pending = ", ".join("%s in %s: %s" % (t["MountTargetId"], t["SubnetId"], t.get("LifeCycleState")) for t in targets
                                if t.get("LifeCycleState") != "available")
            return ("Mount targets of EFS file system %s are not %s after %d s (wait_timeout): %s. Run again, or raise wait_timeout."
                    % (what, "gone" if gone_only else "available", self.params["wait_timeout"], pending))

        return self.wait_for(poll, done, message)

    def wait_no_targets(self, fs):
        what = self.label(fs)
        return self.wait_for(
            lambda: self.mount_targets(fs["FileSystemId"], with_groups=False), lambda targets: not targets,
            lambda targets: "Mount targets %s of EFS file system %s are still there after %d s (wait_timeout). Run again, or raise "
                            "wait_timeout." % (", ".join("%s (%s)" % (t["MountTargetId"], t.get("LifeCycleState")) for t in targets),
                                               what, self.params["wait_timeout"]))

    def wait_gone(self, fs):
        what = self.label(fs)
        return self.wait_for(
            lambda: self.by_id(fs["FileSystemId"]), lambda current: current is None or current.get("LifeCycleState") == "deleted",
            lambda current: "EFS file system %s is still %s after %d s (wait_timeout). Run again, or raise wait_timeout."
                            % (what, current.get("LifeCycleState"), self.params["wait_timeout"]))

    # ---- checks ---------------------------------------------------------------------------------------------------

    def same_key(self, wanted, have):
        """Is `wanted` (id, ARN, alias or alias ARN) the key `have` (EFS reports an ARN)? (answer, why KMS was not asked)."""
        if not have:
            return False, None
        if wanted == have or ("/" not in wanted and ":" not in wanted and have.endswith(":key/" + wanted)):
            return True, None
        try:
            kms = self.module.client("kms")
            wanted_arn = kms.describe_key(KeyId=wanted)["KeyMetadata"]["Arn"]
            have_arn = have if ":key/" in have else kms.describe_key(KeyId=have)["KeyMetadata"]["Arn"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            return False, to_text(exc)
        return wanted_arn == have_arn, None

    def check_unchangeable(self, fs):
        params = self.params
        what = self.label(fs)
        remedy = ("or, to move the data, create a new file system (another creation_token), copy the data over, then delete "
                  "this one.")
        if fs.get("PerformanceMode") != params["performance_mode"]:
            self.fail("performance_mode %s: EFS file system %s was created with %s, and EFS cannot change the performance mode "
                      "of an existing file system. Set performance_mode to %s, %s"
                      % (params["performance_mode"], what, fs.get("PerformanceMode"), fs.get("PerformanceMode"), remedy))
        if not fs.get("Encrypted"):
            self.fail("EFS file system %s is not encrypted, and EFS cannot encrypt an existing file system; this module only "
                      "manages encrypted ones. Create a new file system (another creation_token), copy the data over, then "
                      "delete this one." % what)
        if params["kms_key_id"]:
            same, kms_error = self.same_key(params["kms_key_id"], fs.get("KmsKeyId"))
            if not same:
                self.fail("kms_key_id %s: EFS file system %s is encrypted with %s, and EFS cannot change the key of an existing "
                          "file system. Set kms_key_id to that key (or leave it out), %s%s"
                          % (params["kms_key_id"], what, fs.get("KmsKeyId"), remedy,
                             " (KMS could not resolve the key, so the two were compared as given: %s)" % kms_error if kms_error else ""))

    # ---- present --------------------------------------------------------------------------------------------------

    def tags_wanted(self, current):
        params = self.params
        if params["tags"] is None:
            return dict(current, Name=self.name), False
        return wanted_tags(params["tags"], self.name), params["purge_tags"]

    def create(self):
        params = self.params
        tags, dummy = self.tags_wanted({})
        request = {"CreationToken": self.token, "Encrypted": True, "PerformanceMode": params["performance_mode"],
                   "ThroughputMode": params["throughput_mode"], "Backup": params["automatic_backups"],
                   "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
        if params["kms_key_id"]:
            request["KmsKeyId"] = params["kms_key_id"]
        if params["throughput_mode"] == "provisioned":
            request["ProvisionedThroughputInMibps"] = params["provisioned_throughput_in_mibps"]
        answer = self.act("create file system %s (creation token %s)" % (self.name, self.token), "create_file_system", **request)
        if self.module.check_mode:
            answer = {"FileSystemId": CHECK_MODE_ID, "CreationToken": self.token, "LifeCycleState": None, "Encrypted": True,
                      "KmsKeyId": params["kms_key_id"], "PerformanceMode": params["performance_mode"],
                      "ThroughputMode": params["throughput_mode"],
                      "ProvisionedThroughputInMibps": params["provisioned_throughput_in_mibps"], "Tags": request["Tags"]}
        state = {"policies": [], "ia": None, "backups": params["automatic_backups"], "tags": tags, "mount_targets": []}
        return answer, state

    def present(self):
        params = self.params
        fs = self.find()
        if fs is not None and fs.get("LifeCycleState") in GONE:
            # Its creation token stays taken until it is gone.
            if not self.module.check_mode:
                self.wait_gone(fs)
            fs = None
        if fs is not None and fs.get("LifeCycleState") == "error":
            self.fail("EFS file system %s is in state error. %s" % (self.label(fs), self.error_hint()))
        if fs is None:
            fs, state = self.create()
            created = True
        else:
            self.adopted = True
            self.check_unchangeable(fs)
            state = self.read(fs)
            self.before = self.view(fs, state)
            created = False
        fs_id = fs["FileSystemId"]
        work_ahead = params["transition_to_ia_days"] is not None or params["subnet_ids"]
        if not created or work_ahead or params["wait"]:
            fs = self.wait_available(fs)
        if not created:
            tags, purge = self.tags_wanted(state["tags"])
            state["tags"] = self.converge_tags(fs_id, "file system %s" % self.label(fs), state["tags"], tags, purge)
            self.converge_backups(fs, state)
        self.converge_lifecycle(fs, state)
        changed_targets = self.converge_mount_targets(fs, state)
        # Last: UpdateFileSystem leaves it "updating" for a while, and AWS wants it "available" for the calls above.
        updated = not created and self.converge_throughput(fs)
        self.after = self.predicted(fs, state)
        if self.module.check_mode or not self.actions:
            return self.result(self.predicted_fs(fs), state, self.access_points(fs_id))
        if params["wait"] and changed_targets:
            self.wait_targets(fs)
        if params["wait"] and updated:
            self.wait_available(dict(fs, LifeCycleState="updating"))
        return self.reread(fs_id)

    def converge_throughput(self, fs):
        params = self.params
        mode = params["throughput_mode"]
        request = {}
        if fs.get("ThroughputMode") != mode:
            request["ThroughputMode"] = mode
        if mode == "provisioned" and not _same_mibps(fs.get("ProvisionedThroughputInMibps"), params["provisioned_throughput_in_mibps"]):
            request["ProvisionedThroughputInMibps"] = params["provisioned_throughput_in_mibps"]
        if request:
            what = "set throughput of file system %s to %s" % (self.label(fs), mode)
            if mode == "provisioned":
                what += " (%s MiB/s)" % params["provisioned_throughput_in_mibps"]
            self.act(what, "update_file_system", FileSystemId=fs["FileSystemId"], **request)
        return bool(request)

    def converge_backups(self, fs, state):
        wanted = self.params["automatic_backups"]
        if bool(state["backups"]) != wanted:
            self.act("%s automatic backups of file system %s" % ("enable" if wanted else "disable", self.label(fs)), "put_backup_policy",
                     FileSystemId=fs["FileSystemId"], BackupPolicy={"Status": "ENABLED" if wanted else "DISABLED"})
            state["backups"] = wanted

    def converge_lifecycle(self, fs, state):
        wanted = ia_rule(self.params["transition_to_ia_days"])
        if state["ia"] == wanted:
            return
        policies = [p for p in state["policies"] if not p.get("TransitionToIA")]
        if wanted:
            policies.insert(0, {"TransitionToIA": wanted})
        what = ("move files of file system %s to Infrequent Access after %s days" % (self.label(fs), self.params["transition_to_ia_days"])
                if wanted else "remove the Infrequent Access lifecycle policy of file system %s" % self.label(fs))
        self.act(what, "put_lifecycle_configuration", FileSystemId=fs["FileSystemId"], LifecyclePolicies=policies)
        state["ia"] = wanted
        state["policies"] = policies

    def converge_mount_targets(self, fs, state):
        """Create, delete and re-group mount targets; True when it created or deleted any."""
        params = self.params
        subnets = _unique(params["subnet_ids"]) if params["subnet_ids"] is not None else None
        groups = _unique(params["security_group_ids"]) if params["security_group_ids"] is not None else None
        targets = state["mount_targets"]
        live = [t for t in targets if t.get("LifeCycleState") not in GONE]
        changed = False
        if subnets is not None:
            extra = [t for t in live if t["SubnetId"] not in subnets]
            for target in extra:
                self.act("delete mount target %s in %s (not in subnet_ids)" % (target["MountTargetId"], target["SubnetId"]),
                         "delete_mount_target", MountTargetId=target["MountTargetId"])
                target["LifeCycleState"] = "deleting"
            missing = [s for s in subnets if s not in set(t["SubnetId"] for t in live)]
            if missing and not self.module.check_mode and any(t.get("LifeCycleState") in GONE for t in targets):
                # A mount target being deleted still holds its availability zone: AWS refuses a new one there until it is gone.
                self.wait_targets(fs, gone_only=True)
            for subnet in missing:
                request = {"FileSystemId": fs["FileSystemId"], "SubnetId": subnet}
                if groups is not None:
                    request["SecurityGroups"] = groups
                answer = self.act("create mount target in %s" % subnet, "create_mount_target", **request)
                targets.append(dict(answer or {}, SubnetId=subnet, MountTargetId=(answer or {}).get("MountTargetId"),
                                    SecurityGroups=sorted(groups) if groups is not None else None,
                                    LifeCycleState=(answer or {}).get("LifeCycleState")))
            changed = bool(extra or missing)
        if groups is not None:
            for target in live:
                if target.get("LifeCycleState") in GONE or sorted(target.get("SecurityGroups") or []) == sorted(groups):
                    continue
                self.act("set security groups of mount target %s in %s to %s" % (target["MountTargetId"], target["SubnetId"], ", ".join(groups)),
                         "modify_mount_target_security_groups", MountTargetId=target["MountTargetId"], SecurityGroups=groups)
                target["SecurityGroups"] = sorted(groups)
        return changed

    def predicted_fs(self, fs):
        params = self.params
        fs = dict(fs, ThroughputMode=params["throughput_mode"])
        if params["throughput_mode"] == "provisioned":
            fs["ProvisionedThroughputInMibps"] = params["provisioned_throughput_in_mibps"]
        return fs

    def predicted(self, fs, state):
        return self.view(self.predicted_fs(fs), state)

    # ---- detached / absent ----------------------------------------------------------------------------------------

    def delete_targets(self, fs, state):
        deleted = False
        for target in state["mount_targets"]:
            if target.get("LifeCycleState") in GONE:
                continue
            self.act("delete mount target %s in %s" % (target["MountTargetId"], target["SubnetId"]), "delete_mount_target",
                     MountTargetId=target["MountTargetId"])
            target["LifeCycleState"] = "deleting"
            deleted = True
        return deleted

    def detached(self):
        fs = self.find()
        if fs is None or fs.get("LifeCycleState") in GONE:
            return {}
        self.adopted = True
        state = self.read(fs)
        self.before = self.view(fs, state)
        self.delete_targets(fs, state)
        self.after = self.view(fs, state)
        if self.module.check_mode:
            return self.result(fs, state, self.access_points(fs["FileSystemId"]))
        if self.params["wait"] and state["mount_targets"]:
            self.wait_no_targets(fs)
        return self.reread(fs["FileSystemId"])

    def absent(self):
        fs = self.find()
        if fs is None:
            return {}
        if fs.get("LifeCycleState") in GONE:  # someone deleted it already
            if self.params["wait"] and not self.module.check_mode:
                self.wait_gone(fs)
            return {}
        fs_id = fs["FileSystemId"]
        state = self.read(fs)
        self.before = self.view(fs, state)
        self.after = {}
        fs = self.wait_available(fs) if fs.get("LifeCycleState") == "creating" else fs
        for point in self.access_points(fs_id):
            self.act("delete access point %s (%s)" % (point["AccessPointId"], tags_of(point).get("Name", "")), "delete_access_point",
                     AccessPointId=point["AccessPointId"])
        self.delete_targets(fs, state)
        if not self.module.check_mode and state["mount_targets"]:
            self.wait_no_targets(fs)  # AWS refuses to delete a file system that has mount targets
        self.act("delete file system %s" % self.label(fs), "delete_file_system", FileSystemId=fs_id)
        if self.params["wait"] and not self.module.check_mode:
            self.wait_gone(fs)
        return {}


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            creation_token=dict(type="str", no_log=False),
            state=dict(type="str", default="present", choices=["present", "absent", "detached"]),
            kms_key_id=dict(type="str", no_log=False),
            throughput_mode=dict(type="str", default="elastic", choices=["elastic", "bursting", "provisioned"]),
            provisioned_throughput_in_mibps=dict(type="float"),
            performance_mode=dict(type="str", default="generalPurpose", choices=["generalPurpose", "maxIO"]),
            transition_to_ia_days=dict(type="int", choices=[1, 7, 14, 30, 60, 90, 180, 270, 365]),
            automatic_backups=dict(type="bool", default=False),
            subnet_ids=dict(type="list", elements="str"),
            security_group_ids=dict(type="list", elements="str"),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    params = module.params
    token = params["creation_token"] or params["name"]
    if not 1 <= len(token) <= 64:
        module.fail_json(msg="creation_token (or name, its default) must be 1 to 64 characters; %r has %d." % (token, len(token)))
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds.")
    if params["state"] == "present":
        if params["throughput_mode"] == "provisioned" and not params["provisioned_throughput_in_mibps"]:
            module.fail_json(msg="throughput_mode provisioned needs provisioned_throughput_in_mibps (MiB/s, above 0).")
        if params["throughput_mode"] != "provisioned" and params["provisioned_throughput_in_mibps"] is not None:
            module.fail_json(msg="provisioned_throughput_in_mibps is only for throughput_mode provisioned (it is %s)." % params["throughput_mode"])
        if params["performance_mode"] == "maxIO" and params["throughput_mode"] == "elastic":
            module.fail_json(msg="performance_mode maxIO does not support throughput_mode elastic; use generalPurpose (recommended) "
                                 "or another throughput mode.")
    if not module.region:
        module.fail_json(msg="No AWS region: set region (hubops_region) or AWS_REGION.")
    file_system = FileSystem(module, module.client("efs"))
    try:
        if params["state"] == "present":
            result = file_system.present()
        elif params["state"] == "detached":
            result = file_system.detached()
        else:
            result = file_system.absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot converge EFS file system %s (creation token %s; actions so far: %s)"
                             % (params["name"], token, "; ".join(file_system.actions) or "none"))
    output = dict(changed=bool(file_system.actions), file_system=result, actions=file_system.actions)
    if module._diff:
        output["diff"] = {"before": file_system.before, "after": file_system.after}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
