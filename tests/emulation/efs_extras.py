# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""EFS as AWS does it, where moto 5.2.5 lacks an action or is lax, for hubops.eks.efs_filesystem and
hubops.eks.efs_access_point. Test infrastructure only.

Missing in moto (it answers NotImplementedError, a 500):
- PutBackupPolicy. With it, DescribeBackupPolicy answers as AWS does: a Regional file system always has a policy,
  DISABLED unless it was created with Backup=true or has been ENABLED since. Only a One Zone file system without backups
  answers PolicyNotFound. (moto said PolicyNotFound for every file system without backups.)
- UpdateFileSystem (throughput mode, provisioned throughput).

Lax in moto, strict in AWS (so a module that does not wait, or deletes in the wrong order, passes here only if it
would pass in an account):
- Life cycle. CreateFileSystem and CreateMountTarget answer "creating"; the resource is "available" after SETTLE
  seconds. DeleteMountTarget and DeleteFileSystem leave it "deleting" for SETTLE seconds and only then is it gone.
  While a mount target is deleting, its AZ still holds it (MountTargetConflict) and so does its file system
  (FileSystemInUse). The creation token stays taken until the file system is gone.
- CreateMountTarget, PutLifecycleConfiguration, PutBackupPolicy and UpdateFileSystem need an "available" file system
  (IncorrectFileSystemLifeCycleState, 409). Modify/DescribeMountTargetSecurityGroups refuse a deleting mount target
  (IncorrectMountTargetState, 409).
- DeleteFileSystem refuses while the file system has mount targets or access points (FileSystemInUse). The EFS user
  guide says both must be deleted first; moto only checked the mount targets.
- KmsKeyId: AWS reports the key's ARN whatever form the request gave (key id, alias, alias ARN, key ARN), and the
  AWS managed key aws/elasticfilesystem when an encrypted file system names no key. moto echoed the request.
- CreateMountTarget without SecurityGroups gets the VPC's default security group (moto: none).
- CreateAccessPoint and DescribeAccessPoints(FileSystemId=...) for a file system that does not exist:
  FileSystemNotFound. moto created an orphan access point and answered an empty list. DeleteAccessPoint of a missing
  access point: AccessPointNotFound (moto: success).

Not enforced, though AWS would: CreateAccessPoint on a file system that is still "creating" (other tests seed an
access point right after its file system). Access points are "available" at once.

HUBOPS_EMULATOR_EFS_SETTLE_SECONDS (default 0.5) sets how long creating/deleting lasts.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time

MANAGED_KEY_ALIAS = "alias/aws/elasticfilesystem"
_LOCK = threading.RLock()  # moto serves requests on threads; one of them finishes a deletion


def _settle() -> float:
    try:
        return max(0.0, float(os.environ.get("HUBOPS_EMULATOR_EFS_SETTLE_SECONDS", "0.5")))
    except ValueError:
        return 0.5


def install():
    from moto.efs import models
    from moto.efs.exceptions import AccessPointNotFound, BadRequest, EFSError, FileSystemInUse, FileSystemNotFound
    from moto.efs.responses import EFSResponse

    class IncorrectFileSystemLifeCycleState(EFSError):
        code = 409

        def __init__(self, file_system_id, state):
            super().__init__("IncorrectFileSystemLifeCycleState",
                             "File system '%s' is in life cycle state '%s'; the operation needs 'available'." % (file_system_id, state))

    class IncorrectMountTargetState(EFSError):
        code = 409

        def __init__(self, mount_target_id, state):
            super().__init__("IncorrectMountTargetState", "Mount target '%s' is in life cycle state '%s'." % (mount_target_id, state))

    backend_class = models.EFSBackend
    original = dict((name, getattr(backend_class, name)) for name in (
        "create_file_system", "describe_file_systems", "create_mount_target", "describe_mount_targets", "delete_file_system",
        "delete_mount_target", "describe_backup_policy", "put_lifecycle_configuration", "describe_lifecycle_configuration",
        "describe_mount_target_security_groups", "modify_mount_target_security_groups", "create_access_point",
        "describe_access_points", "delete_access_point", "list_tags_for_resource", "tag_resource", "untag_resource",
        "iter_tagged_resources"))

    # -- the clock: creating -> available, deleting -> gone -----------------------------------------------------------

    def _later(obj, state):
        obj.life_cycle_state = state
        obj._hubops_until = time.monotonic() + _settle()

    def _tick(backend):
        now = time.monotonic()
        for mount_target in list(backend.mount_targets_by_id.values()):
            if now < getattr(mount_target, "_hubops_until", 0):
                continue
            if mount_target.life_cycle_state == "creating":
                mount_target.life_cycle_state = "available"
            elif mount_target.life_cycle_state == "deleting":
                original["delete_mount_target"](backend, mount_target.mount_target_id)
        for file_system in list(backend.file_systems_by_id.values()):
            if now < getattr(file_system, "_hubops_until", 0):
                continue
            if file_system.life_cycle_state == "creating":
                file_system.life_cycle_state = "available"
            elif file_system.life_cycle_state == "deleting":
                del backend.file_systems_by_id[file_system.file_system_id]
                backend.creation_tokens.discard(file_system.creation_token)

    def ticking(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            with _LOCK:
                _tick(self)
                return method(self, *args, **kwargs)
        return wrapper

    def _file_system(backend, file_system_id):
        if file_system_id not in backend.file_systems_by_id:
            raise FileSystemNotFound(file_system_id)
        return backend.file_systems_by_id[file_system_id]

    def _available(backend, file_system_id):
        file_system = _file_system(backend, file_system_id)
        if file_system.life_cycle_state != "available":
            raise IncorrectFileSystemLifeCycleState(file_system_id, file_system.life_cycle_state)
        return file_system

    def _not_deleting(backend, mount_target_id):
        mount_target = backend.mount_targets_by_id.get(mount_target_id)
        if mount_target is not None and mount_target.life_cycle_state in ("deleting", "deleted"):
            raise IncorrectMountTargetState(mount_target_id, mount_target.life_cycle_state)

    # -- file systems -------------------------------------------------------------------------------------------------

    def _key_arn(backend, key_id, encrypted):
        """The ARN AWS reports for the key of a new file system (the request's value when KMS does not know it)."""
        from moto.kms.models import kms_backends

        wanted = key_id or (MANAGED_KEY_ALIAS if encrypted else None)
        if not wanted:
            return key_id
        kms = kms_backends[backend.account_id][backend.region_name]
        try:
            key = kms.describe_key(wanted)
        except Exception:  # pylint: disable=broad-except  # unknown key: left as given, as moto did
            return key_id
        if wanted == MANAGED_KEY_ALIAS:
            key.key_manager = "AWS"
        return key.arn

    def create_file_system(self, creation_token, performance_mode, encrypted, kms_key_id, throughput_mode,
                           provisioned_throughput_in_mibps, availability_zone_name, backup, tags):
        if kms_key_id and not encrypted:
            raise BadRequest("KmsKeyId needs Encrypted=true.")
        file_system = original["create_file_system"](self, creation_token, performance_mode, encrypted, kms_key_id, throughput_mode,
                                                     provisioned_throughput_in_mibps, availability_zone_name, backup, tags)
        file_system.kms_key_id = _key_arn(self, kms_key_id, encrypted)
        file_system._backup = bool(backup) or bool(availability_zone_name and backup is None)
        _later(file_system, "creating")
        return file_system

    def delete_file_system(self, file_system_id):
        file_system = _file_system(self, file_system_id)
        if file_system.life_cycle_state == "deleting":
            return
        if file_system.number_of_mount_targets > 0:
            raise FileSystemInUse("File system '%s' still has %d mount target(s); delete them first."
                                  % (file_system_id, file_system.number_of_mount_targets))
        points = [a.access_point_id for a in self.access_points.values() if a.file_system_id == file_system_id]
        if points:
            raise FileSystemInUse("File system '%s' still has access point(s) %s; delete them first." % (file_system_id, ", ".join(points)))
        _later(file_system, "deleting")

    def describe_backup_policy(self, file_system_id):
        from moto.efs.exceptions import PolicyNotFound

        file_system = _file_system(self, file_system_id)
        if file_system._backup:
            return {"Status": "ENABLED"}
        if file_system.availability_zone_name:
            raise PolicyNotFound("No backup policy for One Zone file system '%s'." % file_system_id)
        return {"Status": "DISABLED"}

    def put_backup_policy(self, file_system_id, status):
        if status not in ("ENABLED", "DISABLED"):
            raise BadRequest("BackupPolicy.Status must be ENABLED or DISABLED, not %r." % (status,))
        file_system = _available(self, file_system_id)
        file_system._backup = status == "ENABLED"
        return status

    def put_lifecycle_configuration(self, file_system_id, policies):
        _available(self, file_system_id)
        return original["put_lifecycle_configuration"](self, file_system_id, policies)

    def update_file_system(self, file_system_id, throughput_mode, provisioned_throughput_in_mibps):
        file_system = _available(self, file_system_id)
        if throughput_mode:
            if throughput_mode not in ("bursting", "elastic", "provisioned"):
                raise BadRequest("ThroughputMode must be bursting, elastic or provisioned.")
            file_system.throughput_mode = throughput_mode
        if file_system.throughput_mode == "provisioned":
            if provisioned_throughput_in_mibps is not None:
                file_system.provisioned_throughput_in_mibps = provisioned_throughput_in_mibps
            if not file_system.provisioned_throughput_in_mibps:
                raise BadRequest("ProvisionedThroughputInMibps is required for provisioned throughput.")
        elif provisioned_throughput_in_mibps is not None:
            raise BadRequest("ProvisionedThroughputInMibps is only for provisioned throughput.")
        else:
            file_system.provisioned_throughput_in_mibps = None
        return file_system

    # -- mount targets ------------------------------------------------------------------------------------------------

    def create_mount_target(self, file_system_id, subnet_id, ip_address=None, security_groups=None):
        if file_system_id in self.file_systems_by_id:
            _available(self, file_system_id)
        if not security_groups:
            try:
                subnet = self.ec2_backend.get_subnet(subnet_id)
            except Exception:  # pylint: disable=broad-except  # the original call answers SubnetNotFound
                subnet = None
            default = self.ec2_backend.get_default_security_group(subnet.vpc_id) if subnet is not None else None
            security_groups = [default.id] if default is not None else security_groups
        mount_target = original["create_mount_target"](self, file_system_id, subnet_id, ip_address, security_groups)
        _later(mount_target, "creating")
        return mount_target

    def delete_mount_target(self, mount_target_id):
        if mount_target_id not in self.mount_targets_by_id:
            return original["delete_mount_target"](self, mount_target_id)  # MountTargetNotFound
        mount_target = self.mount_targets_by_id[mount_target_id]
        if mount_target.life_cycle_state != "deleting":
            _later(mount_target, "deleting")
        return None

    def describe_mount_target_security_groups(self, mount_target_id):
        _not_deleting(self, mount_target_id)
        return original["describe_mount_target_security_groups"](self, mount_target_id)

    def modify_mount_target_security_groups(self, mount_target_id, security_groups):
        _not_deleting(self, mount_target_id)
        return original["modify_mount_target_security_groups"](self, mount_target_id, security_groups)

    # -- access points ------------------------------------------------------------------------------------------------

    def create_access_point(self, client_token, tags, file_system_id, posix_user, root_directory):
        _file_system(self, file_system_id)
        return original["create_access_point"](self, client_token, tags=tags, file_system_id=file_system_id, posix_user=posix_user,
                                               root_directory=root_directory)

    def describe_access_points(self, access_point_id, file_system_id):
        if file_system_id and not access_point_id:
            _file_system(self, file_system_id)
        return original["describe_access_points"](self, access_point_id, file_system_id)

    def delete_access_point(self, access_point_id):
        if access_point_id not in self.access_points:
            raise AccessPointNotFound(access_point_id)
        return original["delete_access_point"](self, access_point_id)

    replaced = {
        "create_file_system": create_file_system, "delete_file_system": delete_file_system,
        "describe_backup_policy": describe_backup_policy, "put_backup_policy": put_backup_policy,
        "put_lifecycle_configuration": put_lifecycle_configuration, "update_file_system": update_file_system,
        "create_mount_target": create_mount_target, "delete_mount_target": delete_mount_target,
        "describe_mount_target_security_groups": describe_mount_target_security_groups,
        "modify_mount_target_security_groups": modify_mount_target_security_groups,
        "create_access_point": create_access_point, "describe_access_points": describe_access_points,
        "delete_access_point": delete_access_point,
    }
    for name in set(original) | set(replaced):
        setattr(backend_class, name, ticking(replaced.get(name) or original[name]))

    # -- the two actions moto lacks ------------------------------------------------------------------------------------

    def put_backup_policy_response(self):
        status = self.efs_backend.put_backup_policy(self._get_param("FileSystemId"), (self._get_param("BackupPolicy") or {}).get("Status"))
        return json.dumps({"BackupPolicy": {"Status": status}}), {"Content-Type": "application/json"}

    def update_file_system_response(self):
        file_system = self.efs_backend.update_file_system(self._get_param("FileSystemId"), self._get_param("ThroughputMode"),
                                                          self._get_param("ProvisionedThroughputInMibps"))
        return json.dumps(file_system.info_json()), {"status": 202, "Content-Type": "application/json"}

    EFSResponse.put_backup_policy = put_backup_policy_response
    EFSResponse.update_file_system = update_file_system_response
