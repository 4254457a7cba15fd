# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops.eks.efs_filesystem and hubops.eks.efs_access_point run by ansible-playbook against a private emulated AWS
(moto with patch #12, efs_extras.py: file systems and mount targets are "creating" / "deleting" for a moment as in AWS,
which refuses mount targets on a file system that is not available yet and deleting one that still has mount targets or
access points; PutBackupPolicy; key ARNs as AWS reports them).

The storage lifecycle of one deployment: the file system is created encrypted with the deployment key (given as its
alias), elastic, with the IA lifecycle policy, EFS's own backups off and a mount target per subnet behind the NFS group;
a re-run writes nothing; --check --diff shows a change and writes nothing; a key that differs fails before any write; an
access point per group is created, left alone, and recreated when its uid changes; teardown's `detached` removes the
mount targets and keeps the file system and its access points; the next `present` adopts the same file system; `absent`
leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import harness

DEPLOYMENT = "efstest"
NAME = "efstest-shared"


def run(emulator, tmp_path: Path, module: str, args: dict, *extra: str, fails: bool = False) -> dict:
    return harness.run_module(emulator, tmp_path, "hubops.eks.%s" % module, args, *extra, fails=fails)


def mutating(emulator) -> list[str]:
    return emulator.stats()["mutating_actions"]


def network_and_key(emulator) -> dict:
    ec2, kms = emulator.client("ec2"), emulator.client("kms")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.%d.0/24" % i, AvailabilityZone="us-east-1%s" % zone)["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    nfs = ec2.create_security_group(GroupName="efstest-efs", Description="NFS from the nodes", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="efstest-other", Description="another group", VpcId=vpc)["GroupId"]
    key = kms.create_key(Description="efstest deployment key")["KeyMetadata"]
    kms.create_alias(AliasName="alias/hubops/%s" % DEPLOYMENT, TargetKeyId=key["KeyId"])
    stranger = kms.create_key(Description="another key")["KeyMetadata"]
    return {"subnets": subnets, "nfs": nfs, "other": other, "key_arn": key["Arn"], "stranger_arn": stranger["Arn"]}


def fs_args(env: dict, **changes) -> dict:
    args = {"name": NAME, "kms_key_id": "alias/hubops/%s" % DEPLOYMENT, "throughput_mode": "elastic", "transition_to_ia_days": 30,
            "automatic_backups": False, "subnet_ids": env["subnets"], "security_group_ids": [env["nfs"]],
            "tags": {"hubops:deployment": DEPLOYMENT, "hubops:backup": DEPLOYMENT}, "wait_timeout": 60}
    args.update(changes)
    return args


def ap_args(fs_id: str, group: str, uid: int, **changes) -> dict:
    args = {"file_system_id": fs_id, "name": "%s-shared-%s" % (DEPLOYMENT, group), "posix_user": {"uid": uid, "gid": 100},
            "root_directory": {"path": "/shared/%s" % group, "creation_info": {"owner_uid": uid, "owner_gid": 100, "permissions": "2775"}},
            "tags": {"hubops:deployment": DEPLOYMENT, "hubops:group": group}, "wait_timeout": 60}
    args.update(changes)
    return args


def file_systems(efs) -> list[dict]:
    return efs.describe_file_systems(CreationToken=NAME)["FileSystems"]


def mount_targets(efs, fs_id: str) -> dict:
    """subnet -> (state, security groups)"""
    found = {}
    for target in efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]:
        groups = efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])["SecurityGroups"]
        found[target["SubnetId"]] = (target["LifeCycleState"], sorted(groups))
    return found


def access_points(efs, fs_id: str) -> dict:
    """Name -> (id, uid, path)"""
    return {ap["Name"]: (ap["AccessPointId"], ap["PosixUser"]["Uid"], ap["RootDirectory"]["Path"])
            for ap in efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]}


def tagged_efs(emulator) -> list[str]:
    pages = emulator.client("resourcegroupstaggingapi").get_resources(TagFilters=[{"Key": "hubops:deployment", "Values": [DEPLOYMENT]}])
    return sorted(r["ResourceARN"] for r in pages["ResourceTagMappingList"] if ":elasticfilesystem:" in r["ResourceARN"])


def test_efs_lifecycle(emulator, tmp_path):  # pylint: disable=too-many-locals,too-many-statements
    env = network_and_key(emulator)
    efs = emulator.client("efs")

    # --- created: encrypted with the deployment key, elastic, IA after 30 days, no EFS backups, 2 mount targets ------
    first = run(emulator, tmp_path, "efs_filesystem", fs_args(env))
    assert first["changed"] is True
    [fs] = file_systems(efs)
    fs_id = fs["FileSystemId"]
    assert fs["LifeCycleState"] == "available" and fs["Encrypted"] is True and fs["KmsKeyId"] == env["key_arn"]
    assert fs["ThroughputMode"] == "elastic" and fs["PerformanceMode"] == "generalPurpose"
    assert {t["Key"]: t["Value"] for t in fs["Tags"]} == {"Name": NAME, "hubops:deployment": DEPLOYMENT, "hubops:backup": DEPLOYMENT}
    assert efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"] == [{"TransitionToIA": "AFTER_30_DAYS"}]
    assert efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"] == "DISABLED"
    # the module waited: a mount target on a file system still "creating" is refused, and all are available now
    assert mount_targets(efs, fs_id) == {s: ("available", [env["nfs"]]) for s in env["subnets"]}
    made = first["file_system"]
    assert made["file_system_id"] == fs_id and made["adopted"] is False and made["kms_key_id"] == env["key_arn"]
    assert made["transition_to_ia_days"] == 30 and made["automatic_backups"] is False and made["life_cycle_state"] == "available"
    assert sorted(t["subnet_id"] for t in made["mount_targets"]) == sorted(env["subnets"])
    assert all(t["security_group_ids"] == [env["nfs"]] and t["ip_address"] for t in made["mount_targets"])
    assert sorted(a.split(" ")[0] for a in first["actions"]) == ["create", "create", "create", "move"]

    # --- the same again: nothing written (the alias is the key EFS reports as an ARN) ------------------------------
    again = run(emulator, tmp_path, "efs_filesystem", fs_args(env))
    assert again["changed"] is False and again["actions"] == []
    assert mutating(emulator) == []
    assert again["file_system"]["adopted"] is True and again["file_system"]["file_system_id"] == fs_id

    # --- --check --diff on a change: reported, nothing written ------------------------------------------------------
    change = fs_args(env, transition_to_ia_days=90, security_group_ids=[env["nfs"], env["other"]], automatic_backups=True,
                     tags={"hubops:deployment": DEPLOYMENT})
    checked = run(emulator, tmp_path, "efs_filesystem", change, "--check", "--diff")
    assert checked["changed"] is True and len(checked["actions"]) == 5, checked["actions"]  # untag, backups, IA, 2 x groups
    assert mutating(emulator) == []
    assert checked["diff"]["before"]["transition_to_ia_days"] == 30 and checked["diff"]["after"]["transition_to_ia_days"] == 90
    assert checked["diff"]["after"]["automatic_backups"] is True and "hubops:backup" not in checked["diff"]["after"]["tags"]
    assert checked["diff"]["after"]["mount_targets"] == {s: sorted([env["nfs"], env["other"]]) for s in env["subnets"]}
    assert efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"] == [{"TransitionToIA": "AFTER_30_DAYS"}]
    assert mount_targets(efs, fs_id) == {s: ("available", [env["nfs"]]) for s in env["subnets"]}

    # --- the change applied in place (same file system, same mount targets); then a no-op again ------------------------
    applied = run(emulator, tmp_path, "efs_filesystem", change)
    assert applied["changed"] is True and applied["actions"] == checked["actions"]
    assert [f["FileSystemId"] for f in file_systems(efs)] == [fs_id]
    assert efs.describe_lifecycle_configuration(FileSystemId=fs_id)["LifecyclePolicies"] == [{"TransitionToIA": "AFTER_90_DAYS"}]
    assert efs.describe_backup_policy(FileSystemId=fs_id)["BackupPolicy"]["Status"] == "ENABLED"
    assert mount_targets(efs, fs_id) == {s: ("available", sorted([env["nfs"], env["other"]])) for s in env["subnets"]}
    assert {t["Key"] for t in file_systems(efs)[0]["Tags"]} == {"Name", "hubops:deployment"}
    # the same mount targets (ids, addresses), regrouped in place
    assert applied["file_system"]["mount_targets"] == [dict(t, security_group_ids=sorted([env["nfs"], env["other"]]))
                                                       for t in made["mount_targets"]]
    assert run(emulator, tmp_path, "efs_filesystem", change)["changed"] is False and mutating(emulator) == []

    # --- a key that differs: refused before any write, naming the option ----------------------------------------------
    refused = run(emulator, tmp_path, "efs_filesystem", fs_args(env, kms_key_id=env["stranger_arn"]), fails=True)
    assert "kms_key_id" in refused["msg"] and env["key_arn"] in refused["msg"] and refused["actions"] == []
    assert mutating(emulator) == []

    # --- an access point per group: created, idempotent, recreated when its uid changes --------------------------------
    neuro = run(emulator, tmp_path, "efs_access_point", ap_args(fs_id, "neuro", 1000))
    astro = run(emulator, tmp_path, "efs_access_point", ap_args(fs_id, "astro", 1001))
    assert neuro["changed"] is True and astro["changed"] is True and neuro["access_point"]["recreated"] is False
    neuro_id = neuro["access_point"]["access_point_id"]
    assert access_points(efs, fs_id) == {"efstest-shared-neuro": (neuro_id, 1000, "/shared/neuro"),
                                         "efstest-shared-astro": (astro["access_point"]["access_point_id"], 1001, "/shared/astro")}
    same = run(emulator, tmp_path, "efs_access_point", ap_args(fs_id, "neuro", 1000))
    assert same["changed"] is False and same["access_point"]["access_point_id"] == neuro_id and mutating(emulator) == []
    preview = run(emulator, tmp_path, "efs_access_point", ap_args(fs_id, "neuro", 2000), "--check", "--diff")
    assert preview["changed"] is True and preview["diff"]["after"]["posix_user"]["uid"] == 2000 and mutating(emulator) == []
    moved = run(emulator, tmp_path, "efs_access_point", ap_args(fs_id, "neuro", 2000), "--diff")
    assert moved["changed"] is True and moved["access_point"]["recreated"] is True
    assert moved["diff"]["before"]["posix_user"]["uid"] == 1000 and moved["diff"]["after"]["posix_user"]["uid"] == 2000
    new_id = moved["access_point"]["access_point_id"]
    assert new_id != neuro_id and access_points(efs, fs_id)["efstest-shared-neuro"] == (new_id, 2000, "/shared/neuro")
    tags = {t["Key"]: t["Value"] for t in efs.describe_access_points(AccessPointId=new_id)["AccessPoints"][0]["Tags"]}
    assert tags == {"Name": "efstest-shared-neuro", "hubops:deployment": DEPLOYMENT, "hubops:group": "neuro"}

    # --- teardown keeping the data: mount targets gone, file system and access points kept ----------------------------
    kept = run(emulator, tmp_path, "efs_filesystem", {"name": NAME, "state": "detached", "wait_timeout": 60})
    assert kept["changed"] is True and kept["file_system"]["file_system_id"] == fs_id and kept["file_system"]["mount_targets"] == []
    assert efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"] == []
    assert [f["FileSystemId"] for f in file_systems(efs)] == [fs_id] and len(access_points(efs, fs_id)) == 2
    assert run(emulator, tmp_path, "efs_filesystem", {"name": NAME, "state": "detached"})["changed"] is False
    assert mutating(emulator) == []

    # --- the next site run adopts the kept file system ---------------------------------------------------------------
    back = run(emulator, tmp_path, "efs_filesystem", fs_args(env))
    assert back["changed"] is True and back["file_system"]["adopted"] is True and back["file_system"]["file_system_id"] == fs_id
    assert [f["FileSystemId"] for f in file_systems(efs)] == [fs_id]
    assert mount_targets(efs, fs_id) == {s: ("available", [env["nfs"]]) for s in env["subnets"]}
    assert sorted(p["name"] for p in back["file_system"]["access_points"]) == ["efstest-shared-astro", "efstest-shared-neuro"]
    assert len(tagged_efs(emulator)) == 3  # the file system and its two access points

    # --- teardown deleting the data: nothing left -------------------------------------------------------------------
    gone = run(emulator, tmp_path, "efs_filesystem", {"name": NAME, "state": "absent", "wait_timeout": 60})
    assert gone["changed"] is True and gone["file_system"] == {}
    assert file_systems(efs) == [] and tagged_efs(emulator) == []
    assert efs.describe_file_systems()["FileSystems"] == []
    assert run(emulator, tmp_path, "efs_filesystem", {"name": NAME, "state": "absent"})["changed"] is False
    assert mutating(emulator) == []
