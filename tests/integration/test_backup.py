# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The storage role's backup resources against the emulated AWS, module by module as the role will call them:
amazon.aws.backup_vault, backup_plan and backup_selection (AWS Backup, patched in tests/emulation/backup_extras.py)
and hubops.eks.dlm_policy (DLM, tests/emulation/dlm_extras.py). For each: create, a re-run that changes nothing and
makes no write call, --check on a change that writes nothing, absent, gone. Also the refusals teardown relies on:
a vault holding a recovery point is not deleted (the backups are kept), a plan is not deleted before its selections.

Also pinned here, because the role has to work around them (they are in the modules, so they happen on AWS too):
backup_selection reads the selection name from its alias only (`selection_name`), backup_plan reports a change in
check mode whenever `tags` is given, and backup_selection fails once its plan is gone."""

import harness

DEPLOYMENT = "dandi"
NAME = "%s-backup" % DEPLOYMENT
BACKUP_POLICIES = ["arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
                   "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"]
DLM_POLICY = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
TAGS = {"hubops:deployment": DEPLOYMENT}


def trust(service):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def run(emulator, tmp_path, module, args, *extra, fails=False):
    return harness.run_module(emulator, tmp_path, module, args, *extra, fails=fails)


def unchanged(emulator, tmp_path, module, args):
    result = run(emulator, tmp_path, module, args)
    assert result["changed"] is False, result
    assert emulator.stats()["mutating_actions"] == []
    return result


def checked_change(emulator, tmp_path, module, args):
    result = run(emulator, tmp_path, module, args, "--check", "--diff")
    assert result["changed"] is True, result
    assert emulator.stats()["mutating_actions"] == []
    return result


def role(emulator, tmp_path, name, service, policies):
    args = {"name": name, "assume_role_policy_document": trust(service), "managed_policies": policies,
            "create_instance_profile": False, "tags": TAGS}
    return run(emulator, tmp_path, "amazon.aws.iam_role", args)["iam_role"]["arn"]


def test_backup_vault_plan_and_selection_lifecycle(emulator, tmp_path):
    backup = emulator.client("backup")
    key_arn = emulator.client("kms").create_key(Description="%s deployment key" % DEPLOYMENT)["KeyMetadata"]["Arn"]
    role_arn = role(emulator, tmp_path, NAME, "backup.amazonaws.com", BACKUP_POLICIES)

    # -- vault: a vault that does not exist is AccessDenied on AWS, which the module turns into a warning
    vault = {"backup_vault_name": NAME, "encryption_key_arn": key_arn, "tags": TAGS}
    created = run(emulator, tmp_path, "amazon.aws.backup_vault", vault)
    assert created["changed"] is True and created["vault"]["encryption_key_arn"] == key_arn
    assert any("Access Denied trying to describe backup vault" in w for w in created.get("warnings", []))
    assert emulator.stats()["mutating_actions"] == ["backup:PUT /backup-vaults/%s" % NAME]
    unchanged(emulator, tmp_path, "amazon.aws.backup_vault", vault)
    checked_change(emulator, tmp_path, "amazon.aws.backup_vault", dict(vault, tags=dict(TAGS, extra="x")))
    assert backup.list_tags(ResourceArn=created["vault"]["backup_vault_arn"])["Tags"] == TAGS

    # -- plan: one daily rule into the vault; no `tags` (with tags, check mode always reports a change, below)
    plan = {"backup_plan_name": NAME, "rules": [{"rule_name": "daily", "target_backup_vault_name": NAME,
                                                 "schedule_expression": "cron(0 5 * * ? *)", "lifecycle": {"delete_after_days": 14}}]}
    created = run(emulator, tmp_path, "amazon.aws.backup_plan", plan)
    assert created["changed"] is True and emulator.stats()["mutating_actions"] == ["backup:PUT /backup/plans"]
    plan_id = created["backup_plan_id"]
    unchanged(emulator, tmp_path, "amazon.aws.backup_plan", plan)
    longer = {"backup_plan_name": NAME, "rules": [dict(plan["rules"][0], lifecycle={"delete_after_days": 30})]}
    checked_change(emulator, tmp_path, "amazon.aws.backup_plan", longer)
    updated = run(emulator, tmp_path, "amazon.aws.backup_plan", longer)
    assert updated["changed"] is True and emulator.stats()["mutating_actions"] == ["backup:POST /backup/plans/{id}"]
    assert updated["backup_plan_id"] == plan_id and updated["backup_plan"]["rules"][0]["lifecycle"] == {"delete_after_days": 30}
    unchanged(emulator, tmp_path, "amazon.aws.backup_plan", longer)
    # upstream backup_plan: once the plan has tags, check mode reports a change even for the same tags, and a run
    # without `tags` removes them (purge_tags defaults to true and an omitted `tags` counts as "no tags")
    backup.tag_resource(ResourceArn=updated["backup_plan_arn"], Tags=TAGS)
    tagged = run(emulator, tmp_path, "amazon.aws.backup_plan", dict(longer, tags=TAGS), "--check")
    assert tagged["changed"] is True and emulator.stats()["mutating_actions"] == []
    untagged = run(emulator, tmp_path, "amazon.aws.backup_plan", longer)
    assert untagged["changed"] is True and emulator.stats()["mutating_actions"] == ["backup:POST /untag/{id}"]

    # -- selection: everything tagged hubops:backup=<deployment>; the name must be given as `selection_name`
    selection = {"selection_name": NAME, "backup_plan_name": NAME, "iam_role_arn": role_arn, "resources": ["*"],
                 "conditions": {"string_equals": [{"condition_key": "aws:ResourceTag/hubops:backup", "condition_value": DEPLOYMENT}]}}
    created = run(emulator, tmp_path, "amazon.aws.backup_selection", selection)
    assert created["changed"] is True and emulator.stats()["mutating_actions"] == ["backup:PUT /backup/plans/{id}/selections"]
    assert created["backup_selection"]["conditions"]["string_equals"] == selection["conditions"]["string_equals"]
    unchanged(emulator, tmp_path, "amazon.aws.backup_selection", selection)
    other_value = {"string_equals": [{"condition_key": "aws:ResourceTag/hubops:backup", "condition_value": "other"}]}
    checked_change(emulator, tmp_path, "amazon.aws.backup_selection", dict(selection, conditions=other_value))
    by_option_name = dict((k, v) for k, v in selection.items() if k != "selection_name")
    misread = run(emulator, tmp_path, "amazon.aws.backup_selection", dict(by_option_name, backup_selection_name="%s-2" % NAME))
    assert misread["changed"] is False  # compared with the plan's first selection: the -2 selection is never made
    assert [s["SelectionName"] for s in backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]] == [NAME]

    # -- teardown order: the plan refuses to go before its selection, the vault before its recovery points
    refused = run(emulator, tmp_path, "amazon.aws.backup_plan", {"backup_plan_name": NAME, "state": "absent"}, fails=True)
    assert "Related backup plan selections must be deleted prior to backup plan deletion" in str(refused)
    gone = run(emulator, tmp_path, "amazon.aws.backup_selection", dict(selection, state="absent"))
    assert gone["changed"] is True and emulator.stats()["mutating_actions"] == ["backup:DELETE /backup/plans/{id}/selections/{id}"]
    gone = run(emulator, tmp_path, "amazon.aws.backup_plan", {"backup_plan_name": NAME, "state": "absent"})
    assert gone["changed"] is True and backup.list_backup_plans()["BackupPlansList"] == []
    after_plan = run(emulator, tmp_path, "amazon.aws.backup_selection", dict(selection, state="absent"), fails=True)
    assert "The backup plan %s does not exist" % NAME in after_plan["msg"]  # a re-run of teardown must skip it

    job = backup.start_backup_job(BackupVaultName=NAME, IamRoleArn=role_arn,
                                  ResourceArn="arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0")
    assert backup.describe_backup_vault(BackupVaultName=NAME)["NumberOfRecoveryPoints"] == 1
    kept = run(emulator, tmp_path, "amazon.aws.backup_vault", {"backup_vault_name": NAME, "state": "absent"}, fails=True)
    assert "Backup vault cannot be deleted because it contains recovery points" in str(kept)
    assert backup.describe_backup_vault(BackupVaultName=NAME)["BackupVaultName"] == NAME

    backup.delete_recovery_point(BackupVaultName=NAME, RecoveryPointArn=job["RecoveryPointArn"])
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName=NAME)["RecoveryPoints"] == []
    gone = run(emulator, tmp_path, "amazon.aws.backup_vault", {"backup_vault_name": NAME, "state": "absent"})
    assert gone["changed"] is True and emulator.stats()["mutating_actions"] == ["backup:DELETE /backup-vaults/%s" % NAME]
    assert backup.list_backup_vaults()["BackupVaultList"] == []
    unchanged(emulator, tmp_path, "amazon.aws.backup_vault", {"backup_vault_name": NAME, "state": "absent"})


def test_dlm_policy_lifecycle(emulator, tmp_path):
    dlm = emulator.client("dlm")
    role_arn = role(emulator, tmp_path, "%s-dlm" % DEPLOYMENT, "dlm.amazonaws.com", [DLM_POLICY])
    policy = {"name": "%s-home-snapshots" % DEPLOYMENT, "description": "hubops %s home volume snapshots" % DEPLOYMENT,
              "execution_role_arn": role_arn, "target_tags": {"hubops:backup": DEPLOYMENT}, "retain_count": 7,
              "tags_to_add": TAGS, "tags": TAGS}

    created = run(emulator, tmp_path, "hubops.eks.dlm_policy", policy)
    assert created["changed"] is True and emulator.stats()["mutating_actions"] == ["dlm:POST /policies"]
    policy_id = created["policy"]["policy_id"]
    described = dlm.get_lifecycle_policy(PolicyId=policy_id)["Policy"]
    assert described["State"] == "ENABLED" and described["ExecutionRoleArn"] == role_arn
    assert described["Tags"] == dict(TAGS, Name=policy["name"])
    schedule = described["PolicyDetails"]["Schedules"][0]
    assert schedule["CreateRule"] == {"Interval": 24, "IntervalUnit": "HOURS", "Times": ["05:00"]}
    assert schedule["RetainRule"] == {"Count": 7}
    assert described["PolicyDetails"]["TargetTags"] == [{"Key": "hubops:backup", "Value": DEPLOYMENT}]

    unchanged(emulator, tmp_path, "hubops.eks.dlm_policy", policy)
    checked = checked_change(emulator, tmp_path, "hubops.eks.dlm_policy", dict(policy, retain_count=14))
    assert checked["diff"]["after"]["policy_details"]["schedules"][0]["retain_rule"] == {"count": 14}
    assert dlm.get_lifecycle_policy(PolicyId=policy_id)["Policy"]["PolicyDetails"]["Schedules"][0]["RetainRule"] == {"Count": 7}

    updated = run(emulator, tmp_path, "hubops.eks.dlm_policy", dict(policy, retain_count=14))
    assert updated["changed"] is True and emulator.stats()["mutating_actions"] == ["dlm:PATCH /policies/{id}"]
    assert updated["policy"]["policy_id"] == policy_id
    unchanged(emulator, tmp_path, "hubops.eks.dlm_policy", dict(policy, retain_count=14))

    absent = {"name": policy["name"], "description": policy["description"], "state": "absent"}
    gone = run(emulator, tmp_path, "hubops.eks.dlm_policy", absent)
    assert gone["changed"] is True and emulator.stats()["mutating_actions"] == ["dlm:DELETE /policies/{id}"]
    assert dlm.get_lifecycle_policies()["Policies"] == []
    unchanged(emulator, tmp_path, "hubops.eks.dlm_policy", absent)
