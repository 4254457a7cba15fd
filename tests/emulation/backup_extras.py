# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""AWS Backup as AWS does it where moto 5.2.5 lacks it or differs, for amazon.aws.backup_vault, backup_plan and
backup_selection and for the storage role's teardown. Test infrastructure only (launcher.py calls `install()`).

- DescribeBackupVault of a vault that does not exist: AWS answers AccessDeniedException (HTTP 403, "Insufficient
  privileges to perform this action."), even to a caller allowed everything (aws/aws-sdk-js#2625; amazon.aws added
  its AccessDeniedException branch for it, ansible-collections/amazon.aws#1436). moto answers ResourceNotFoundException,
  which amazon.aws.backup_vault reports as a failure, so the module could not create a vault on the emulator.
- UpdateBackupPlan, which moto lacks: the plan gets a new version (VersionId, and CreationDate, which is the version's)
  and its rules new RuleIds, with the defaults CreateBackupPlan fills in.
- CreateBackupPlan: the name of a deleted plan can be used again (moto keeps deleted plans and refuses their names).
- DeleteBackupPlan is refused while the plan has selections: InvalidRequestException "Related backup plan selections
  must be deleted prior to backup plan deletion." (AWS Backup developer guide, "Delete a backup plan").
- Backup selections, which moto lacks: CreateBackupSelection, GetBackupSelection, ListBackupSelections (paginated),
  DeleteBackupSelection. GetBackupSelection answers the selection with every list present and the four condition lists
  of Conditions filled in (empty when not given), as AWS does (amazon.aws.backup_selection compares against that form).
- Recovery points, which moto lacks: StartBackupJob (the job completes at once, like everything in moto, leaving one
  COMPLETED recovery point in the vault), DescribeBackupJob, ListRecoveryPointsByBackupVault (paginated),
  DescribeRecoveryPoint, DeleteRecoveryPoint. The vault's NumberOfRecoveryPoints follows.
- DeleteBackupVault is refused while the vault holds recovery points: InvalidRequestException "Backup vault cannot be
  deleted because it contains recovery points." (moto deletes it, and the backups with it). The storage role's
  teardown relies on this refusal to keep the data.

State lives on moto's BackupBackend objects (`backend.__dict__["hubops_backup"]`), so moto's reset drops it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

ACCESS_DENIED = "Insufficient privileges to perform this action."
PLAN_NOT_FOUND = "Failed reading Backup plan with provided version"
SELECTION_NAME = re.compile(r"^[a-zA-Z0-9\-_.]{1,50}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
RULE_DEFAULTS = (("ScheduleExpression", "cron(0 5 ? * * *)"), ("StartWindowMinutes", 480), ("CompletionWindowMinutes", 10080),
                 ("ScheduleExpressionTimezone", "Etc/UTC"))
CONDITION_KINDS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
RESOURCE_TYPES = (("elasticfilesystem", "EFS"), (":volume/", "EBS"), (":instance/", "EC2"), ("dynamodb", "DynamoDB"), ("rds", "RDS"),
                  ("s3", "S3"))
DEFAULT_PAGE = 1000


def _state(backend) -> dict:
    return backend.__dict__.setdefault("hubops_backup", {"selections": {}, "recovery_points": {}, "jobs": {}})


def _page(items: list, max_results, token) -> tuple[list, str | None]:
    start = int(token or 0)
    size = int(max_results or DEFAULT_PAGE)
    chunk = items[start:start + size]
    return chunk, (str(start + size) if start + size < len(items) else None)


def _resource_type(arn: str) -> str:
    for marker, kind in RESOURCE_TYPES:
        if marker in arn:
            return kind
    return "EFS"


def install():
    from moto.backup import models, urls
    from moto.backup.exceptions import AlreadyExistsException, InvalidParameterValueException, InvalidRequestException, \
        ResourceNotFoundException
    from moto.backup.responses import BackupResponse
    from moto.core.exceptions import JsonRESTError
    from moto.core.utils import unix_time
    from moto.moto_api._internal import mock_random

    class AccessDeniedException(JsonRESTError):
        code = 403

        def __init__(self, msg: str):
            super().__init__("AccessDeniedException", msg)

    backend_class = models.BackupBackend

    # Routes moto's Backup app lacks (it is built from url_paths at the first Backup request, after this).
    urls.url_paths.update({
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": urls.response.dispatch,
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$": urls.response.dispatch,
        "{0}/backup-jobs/?$": urls.response.dispatch,
        "{0}/backup-jobs/(?P<backupJobId>[^/]+)/?$": urls.response.dispatch,
    })

    def _live_plan(backend, plan_id):
        plan = backend.plans.get(plan_id)
        if plan is None or plan.deletion_date is not None:
            raise ResourceNotFoundException(msg=PLAN_NOT_FOUND)
        return plan

    def _vault(backend, name):
        if name not in backend.vaults:
            raise ResourceNotFoundException(msg="Backup vault %s does not exist." % name)
        return backend.vaults[name]

    def _uri(response, name):
        return unquote(response.uri_match.get(name) or "")

    def _query(response, name):
        return (response.querystring.get(name) or [None])[0]

    # -- vaults -----------------------------------------------------------------------------------------------------

    original_describe_vault = backend_class.describe_backup_vault
    original_delete_vault = backend_class.delete_backup_vault

    def describe_backup_vault(self, backup_vault_name):
        if backup_vault_name not in self.vaults:
            raise AccessDeniedException(ACCESS_DENIED)
        return original_describe_vault(self, backup_vault_name)

    def delete_backup_vault(self, backup_vault_name):
        if _state(self)["recovery_points"].get(backup_vault_name):
            raise InvalidRequestException(msg="Backup vault cannot be deleted because it contains recovery points.")
        _state(self)["recovery_points"].pop(backup_vault_name, None)
        return original_delete_vault(self, backup_vault_name)

    backend_class.describe_backup_vault = describe_backup_vault
    # AWS always reports NumberOfRecoveryPoints; moto's serializer looks for an attribute of that name, which Vault lacks.
    models.Vault.number_of_recovery_points = property(lambda vault: vault.num_of_recovery_points)
    backend_class.delete_backup_vault = delete_backup_vault

    # -- plans ------------------------------------------------------------------------------------------------------

    original_delete_plan = backend_class.delete_backup_plan

    def create_backup_plan(self, backup_plan, backup_plan_tags, creator_request_id):
        # moto compares the name with every plan it ever had; the name of a deleted plan is free on AWS.
        live = [p.backup_plan["BackupPlanName"] for p in self.plans.values() if p.deletion_date is None]
        if backup_plan["BackupPlanName"] in live:
            raise AlreadyExistsException(msg="Backup plan with the same plan document already exists")
        plan = models.Plan(backup_plan=backup_plan, creator_request_id=creator_request_id, backend=self)
        if backup_plan_tags:
            self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
        self.plans[plan.backup_plan_id] = plan
        return plan

    def delete_backup_plan(self, backup_plan_id):
        if _state(self)["selections"].get(backup_plan_id):
            raise InvalidRequestException(msg="Related backup plan selections must be deleted prior to backup plan deletion.")
        return original_delete_plan(self, backup_plan_id)

    def update_backup_plan(self):
        backend = self.backup_backend
        plan = _live_plan(backend, _uri(self, "backupPlanId"))
        document = json.loads(self.body or "{}").get("BackupPlan") or {}
        if not document.get("BackupPlanName") or not document.get("Rules"):
            raise InvalidParameterValueException(msg="BackupPlan needs a BackupPlanName and at least one rule.")
        for rule in document["Rules"]:
            for key, default in RULE_DEFAULTS:
                rule.setdefault(key, default)
            rule["RuleId"] = str(mock_random.uuid4())
        plan.backup_plan = document
        plan.advanced_backup_settings = document.get("AdvancedBackupSettings") or []
        plan.version_id = mock_random.get_random_string(length=48)
        plan.creation_date = unix_time()
        answer = {"BackupPlanId": plan.backup_plan_id, "BackupPlanArn": plan.backup_plan_arn, "CreationDate": plan.creation_date,
                  "VersionId": plan.version_id}
        if plan.advanced_backup_settings:
            answer["AdvancedBackupSettings"] = plan.advanced_backup_settings
        return json.dumps(answer)

    backend_class.create_backup_plan = create_backup_plan
    backend_class.delete_backup_plan = delete_backup_plan
    BackupResponse.update_backup_plan = update_backup_plan

    # -- selections -------------------------------------------------------------------------------------------------

    def _stored_selection(document):
        """The selection as GetBackupSelection answers it: every list present, the four condition lists filled in."""
        conditions = document.get("Conditions") or {}
        stored = {"SelectionName": document["SelectionName"], "IamRoleArn": document["IamRoleArn"],
                  "Resources": list(document.get("Resources") or []), "ListOfTags": list(document.get("ListOfTags") or []),
                  "NotResources": list(document.get("NotResources") or []),
                  "Conditions": dict((kind, list(conditions.get(kind) or [])) for kind in CONDITION_KINDS)}
        return stored

    def _selection(backend, plan_id, selection_id):
        _live_plan(backend, plan_id)
        found = _state(backend)["selections"].get(plan_id, {}).get(selection_id)
        if found is None:
            raise ResourceNotFoundException(msg="Selection %s not found for backup plan %s" % (selection_id, plan_id))
        return found

    def create_backup_selection(self):
        backend = self.backup_backend
        plan_id = _uri(self, "backupPlanId")
        _live_plan(backend, plan_id)
        body = json.loads(self.body or "{}")
        document = body.get("BackupSelection") or {}
        if not SELECTION_NAME.match(document.get("SelectionName") or ""):
            raise InvalidParameterValueException(msg="Invalid selection name: 1 to 50 alphanumeric or '-_.' characters.")
        if not ROLE_ARN.match(document.get("IamRoleArn") or ""):
            raise InvalidParameterValueException(msg="Invalid IAM role ARN %r." % document.get("IamRoleArn"))
        selections = _state(backend)["selections"].setdefault(plan_id, {})
        request_id = body.get("CreatorRequestId")
        for selection in selections.values():
            if request_id and selection["CreatorRequestId"] == request_id:  # a retried request: the first answer again
                return json.dumps(dict((k, selection[k]) for k in ("SelectionId", "BackupPlanId", "CreationDate")))
        selection_id = str(mock_random.uuid4())
        selections[selection_id] = {"SelectionId": selection_id, "BackupPlanId": plan_id, "CreationDate": unix_time(),
                                    "CreatorRequestId": request_id, "BackupSelection": _stored_selection(document)}
        record = selections[selection_id]
        return json.dumps(dict((k, record[k]) for k in ("SelectionId", "BackupPlanId", "CreationDate")))

    def get_backup_selection(self):
        selection = _selection(self.backup_backend, _uri(self, "backupPlanId"), _uri(self, "selectionId"))
        return json.dumps(dict((k, v) for k, v in selection.items() if v is not None))

    def list_backup_selections(self):
        plan_id = _uri(self, "backupPlanId")
        _live_plan(self.backup_backend, plan_id)
        selections = sorted(_state(self.backup_backend)["selections"].get(plan_id, {}).values(), key=lambda s: s["CreationDate"])
        summaries = []
        for selection in selections:
            summary = dict((k, selection[k]) for k in ("SelectionId", "BackupPlanId", "CreationDate", "CreatorRequestId") if selection[k])
            summary.update(SelectionName=selection["BackupSelection"]["SelectionName"], IamRoleArn=selection["BackupSelection"]["IamRoleArn"])
            summaries.append(summary)
        chunk, token = _page(summaries, _query(self, "maxResults"), _query(self, "nextToken"))
        answer = {"BackupSelectionsList": chunk}
        if token:
            answer["NextToken"] = token
        return json.dumps(answer)

    def delete_backup_selection(self):
        backend = self.backup_backend
        plan_id, selection_id = _uri(self, "backupPlanId"), _uri(self, "selectionId")
        _selection(backend, plan_id, selection_id)
        del _state(backend)["selections"][plan_id][selection_id]
        return "{}"

    BackupResponse.create_backup_selection = create_backup_selection
    BackupResponse.get_backup_selection = get_backup_selection
    BackupResponse.list_backup_selections = list_backup_selections
    BackupResponse.delete_backup_selection = delete_backup_selection

    # -- backup jobs and recovery points ----------------------------------------------------------------------------

    def _recovery_point_arn(backend, resource_arn):
        if _resource_type(resource_arn) in ("EBS", "EC2"):
            return "arn:%s:ec2:%s::snapshot/snap-%s" % (backend.partition, backend.region_name, mock_random.get_random_hex(17))
        return "arn:%s:backup:%s:%s:recovery-point:%s" % (backend.partition, backend.region_name, backend.account_id,
                                                          str(mock_random.uuid4()).upper())

    def _count(backend, vault_name):
        backend.vaults[vault_name].num_of_recovery_points = len(_state(backend)["recovery_points"].get(vault_name) or {})

    def start_backup_job(self):
        backend = self.backup_backend
        body = json.loads(self.body or "{}")
        vault = _vault(backend, body.get("BackupVaultName"))
        if not ROLE_ARN.match(body.get("IamRoleArn") or ""):
            raise InvalidParameterValueException(msg="Invalid IAM role ARN %r." % body.get("IamRoleArn"))
        resource_arn = body.get("ResourceArn") or ""
        if not resource_arn.startswith("arn:"):
            raise InvalidParameterValueException(msg="Invalid resource ARN %r." % resource_arn)
        now = unix_time()
        job_id = str(mock_random.uuid4()).upper()
        point_arn = _recovery_point_arn(backend, resource_arn)
        point = {"RecoveryPointArn": point_arn, "BackupVaultName": vault.backup_vault_name, "BackupVaultArn": vault.backup_vault_arn,
                 "ResourceArn": resource_arn, "ResourceType": _resource_type(resource_arn),
                 "IamRoleArn": body["IamRoleArn"], "Status": "COMPLETED",
                 "CreationDate": now, "CompletionDate": now, "BackupSizeInBytes": 0, "IsEncrypted": True,
                 "EncryptionKeyArn": vault.encryption_key_arn, "Lifecycle": body.get("Lifecycle") or {}}
        if not point["EncryptionKeyArn"]:
            del point["EncryptionKeyArn"]
        _state(backend)["recovery_points"].setdefault(vault.backup_vault_name, {})[point_arn] = point
        _count(backend, vault.backup_vault_name)
        _state(backend)["jobs"][job_id] = {"AccountId": backend.account_id, "BackupJobId": job_id, "State": "COMPLETED",
                                           "BackupVaultName": vault.backup_vault_name, "BackupVaultArn": vault.backup_vault_arn,
                                           "RecoveryPointArn": point_arn, "ResourceArn": resource_arn, "CreationDate": now,
                                           "CompletionDate": now, "PercentDone": "100.0", "BackupSizeInBytes": 0,
                                           "IamRoleArn": body["IamRoleArn"], "ResourceType": point["ResourceType"]}
        return json.dumps({"BackupJobId": job_id, "RecoveryPointArn": point_arn, "CreationDate": now, "IsParent": False})

    def describe_backup_job(self):
        job = _state(self.backup_backend)["jobs"].get(_uri(self, "backupJobId"))
        if job is None:
            raise ResourceNotFoundException(msg="Backup job %s not found." % _uri(self, "backupJobId"))
        return json.dumps(job)

    def _points(backend, vault_name):
        _vault(backend, vault_name)
        return _state(backend)["recovery_points"].setdefault(vault_name, {})

    def list_recovery_points_by_backup_vault(self):
        points = sorted(_points(self.backup_backend, _uri(self, "backupVaultName")).values(), key=lambda p: p["CreationDate"])
        chunk, token = _page(points, _query(self, "maxResults"), _query(self, "nextToken"))
        answer = {"RecoveryPoints": chunk}
        if token:
            answer["NextToken"] = token
        return json.dumps(answer)

    def _point(backend, vault_name, point_arn):
        point = _points(backend, vault_name).get(point_arn)
        if point is None:
            raise ResourceNotFoundException(msg="Recovery point %s not found in backup vault %s." % (point_arn, vault_name))
        return point

    def describe_recovery_point(self):
        return json.dumps(_point(self.backup_backend, _uri(self, "backupVaultName"), _uri(self, "recoveryPointArn")))

    def delete_recovery_point(self):
        backend = self.backup_backend
        vault_name, point_arn = _uri(self, "backupVaultName"), _uri(self, "recoveryPointArn")
        _point(backend, vault_name, point_arn)
        del _state(backend)["recovery_points"][vault_name][point_arn]
        _count(backend, vault_name)
        return "{}"

    BackupResponse.start_backup_job = start_backup_job
    BackupResponse.describe_backup_job = describe_backup_job
    BackupResponse.list_recovery_points_by_backup_vault = list_recovery_points_by_backup_vault
    BackupResponse.describe_recovery_point = describe_recovery_point
    BackupResponse.delete_recovery_point = delete_recovery_point
