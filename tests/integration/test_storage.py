# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The storage role through site.yml / teardown.yml on the emulated AWS and the k8s kit.

One lifecycle: build; home claims grow after a raised quota and a lowered quota is refused; teardown keeps the data;
the next site.yml adopts the kept file system, access points and a kept home volume; teardown with
hubops_teardown_delete_data leaves nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import yaml
from harness import BIN, REPO, inventory_with

TEARDOWN = ("-e", "hubops_teardown_confirm=local")
# After the first full run, the phases storage needs (the cluster needs the network and the key): the hub, Karpenter's
# charts, monitoring and services are proven by their own tests and would only add minutes to each run here.
STORAGE_TAGS = ("--tags", "network,foundations,cluster,storage")
NS = "jupyterhub"
APS = {"local-shared-neuro": "/shared/neuro", "local-shared-astro": "/shared/astro", "local-shared-public": "/shared/public",
       "local-shared-all": "/shared"}


def kubectl(kubeconfig, *args, stdin=None, check=True):
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], input=stdin, capture_output=True,
                          text=True, check=False, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def get(kubeconfig, *args):
    proc = kubectl(kubeconfig, "get", *args, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def file_system(emulator):
    found = [f for f in emulator.client("efs").describe_file_systems()["FileSystems"] if f.get("CreationToken") == "local-shared"]
    assert len(found) <= 1, found
    return found[0] if found else None


def access_points(emulator, fs_id):
    out = {}
    for ap in emulator.client("efs").describe_access_points(FileSystemId=fs_id)["AccessPoints"]:
        name = {t["Key"]: t["Value"] for t in ap.get("Tags") or []}.get("Name")
        out[name] = ap
    return out


def backup_plan_ids(emulator):
    return [p["BackupPlanId"] for p in emulator.client("backup").list_backup_plans()["BackupPlansList"]
            if p["BackupPlanName"] == "local-backup"]


def vault_names(emulator):
    return [v["BackupVaultName"] for v in emulator.client("backup").list_backup_vaults()["BackupVaultList"]]


def dlm_policies(emulator):
    out = []
    for summary in emulator.client("dlm").get_lifecycle_policies()["Policies"]:
        if (summary.get("Tags") or {}).get("Name") == "local-home-snapshots":
            out.append(summary)
    return out


class _Group:
    def __init__(self, name):
        self.name = name


class _User:
    """What KubeSpawner and hubops_hub read of jupyterhub.user.User."""

    def __init__(self, name, groups):
        self.name = self.escaped_name = name
        self.groups = [_Group(g) for g in groups]
        self.admin = False
        self.id = 7
        self.url = "/user/%s/" % name


def hub_claim(hub_config, user, hub_groups):
    """The home claim the deployed hub would create for this user: KubeSpawner configured as z2jh configures it from
    the release's values, after hubops_hub.storage's pre-spawn hook (read from the hub's custom.hubops value)."""
    sys.path.insert(0, str(REPO / "roles" / "jupyterhub" / "files"))
    try:
        from hubops_hub.storage import make_pre_spawn_hook  # pylint: disable=import-outside-toplevel
        from kubernetes_asyncio.client import ApiClient  # pylint: disable=import-outside-toplevel
        from kubespawner import KubeSpawner  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.pop(0)
    single = hub_config["singleuser"]["storage"]

    async def make():
        spawner = KubeSpawner(_mock=True, user=_User(user, hub_groups), namespace=NS, storage_pvc_ensure=True,
                              storage_capacity=single["capacity"], storage_class=single["dynamic"]["storageClass"],
                              pvc_name_template=single["dynamic"]["pvcNameTemplate"],
                              storage_access_modes=single["dynamic"]["storageAccessModes"])
        make_pre_spawn_hook(hub_config["custom"]["hubops"])(spawner)
        async with ApiClient() as api:
            return api.sanitize_for_serialization(spawner.get_pvc_manifest())

    # KubeSpawner loads a cluster config at construction; the manifest needs none (the test applies it with kubectl).
    import kubespawner.spawner  # pylint: disable=import-outside-toplevel
    load_config, kubespawner.spawner.load_config = kubespawner.spawner.load_config, lambda *args, **kwargs: None
    try:
        manifest = asyncio.run(make())
    finally:
        kubespawner.spawner.load_config = load_config
    manifest.update({"apiVersion": "v1", "kind": "PersistentVolumeClaim"})
    manifest["metadata"]["namespace"] = NS
    return manifest


def home_claim(kubeconfig, claim):
    """Create the claim, bound to a static PV (the kit has no provisioner); return its request."""
    name = claim["metadata"]["name"]
    claim["spec"]["volumeName"] = "test-home-%s" % name
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "test-home-%s" % name},
         "spec": {"capacity": {"storage": "200Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
                  "storageClassName": "hubops-home", "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-test-%s" % name},
                  "claimRef": {"namespace": NS, "name": name}}},
        claim]}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pvc = get(kubeconfig, "pvc", "-n", NS, name)
        if pvc and pvc["status"].get("phase") == "Bound":
            return pvc["spec"]["resources"]["requests"]["storage"]
        time.sleep(1)
    raise AssertionError("%s never bound: %s" % (name, pvc))


def requested(kubeconfig, user):
    return get(kubeconfig, "pvc", "-n", NS, "claim-%s" % user)["spec"]["resources"]["requests"]["storage"]


def test_storage_lifecycle(emulator, tmp_path):  # pylint: disable=too-many-locals,too-many-statements
    kube = emulator.kubeconfig
    assert kube is not None, "the k8s kit did not start"
    local = REPO / "inventories" / "local"
    up = emulator.playbook("site.yml", local)
    assert up.rc == 0, up.output[-4000:]

    # --- AWS: file system, mount targets behind an NFS-only group, access points, backups, home snapshots
    fs = file_system(emulator)
    assert fs and fs["Encrypted"] and fs["ThroughputMode"] == "elastic" and fs["KmsKeyId"]
    efs = emulator.client("efs")
    assert efs.describe_lifecycle_configuration(FileSystemId=fs["FileSystemId"])["LifecyclePolicies"][0]["TransitionToIA"] == "AFTER_30_DAYS"
    assert efs.describe_backup_policy(FileSystemId=fs["FileSystemId"])["BackupPolicy"]["Status"] == "DISABLED"
    targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    assert len(targets) == 2
    groups = efs.describe_mount_target_security_groups(MountTargetId=targets[0]["MountTargetId"])["SecurityGroups"]
    sg = emulator.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"][0]
    cluster_sg = emulator.client("eks").describe_cluster(name="local")["cluster"]["resourcesVpcConfig"]["clusterSecurityGroupId"]
    assert [(p["FromPort"], p["ToPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]], p["IpRanges"]) for p in sg["IpPermissions"]] \
        == [(2049, 2049, [cluster_sg], [])]
    aps = access_points(emulator, fs["FileSystemId"])
    assert {name: ap["RootDirectory"]["Path"] for name, ap in aps.items()} == APS
    assert aps["local-shared-neuro"]["PosixUser"]["Uid"] == 1000 and aps["local-shared-neuro"]["PosixUser"]["Gid"] == 100
    assert "local-backup" in vault_names(emulator)
    [plan_id] = backup_plan_ids(emulator)
    backup = emulator.client("backup")
    [selection] = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    condition = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection["SelectionId"])["BackupSelection"]["ListOfTags"]
    assert condition == [{"ConditionType": "STRINGEQUALS", "ConditionKey": "hubops:backup", "ConditionValue": "local"}]
    assert {t["Key"]: t["Value"] for t in efs.list_tags_for_resource(ResourceId=fs["FileSystemId"])["Tags"]}["hubops:backup"] == "local"
    assert len(dlm_policies(emulator)) == 1

    # --- kit: StorageClasses, shared claims bound to their access points, jobs, the hub's storage values
    home_sc = get(kube, "storageclass", "hubops-home")
    assert home_sc["reclaimPolicy"] == "Retain" and home_sc["allowVolumeExpansion"] is True
    assert home_sc["parameters"]["tagSpecification_4"] == "hubops:pvc={{ .PVCName }}"
    assert home_sc["allowedTopologies"][0]["matchLabelExpressions"][0]["values"] == ["us-east-1a"]
    pv = get(kube, "pv", "hubops-local-shared-neuro")
    assert pv["spec"]["csi"]["volumeHandle"] == "%s::%s" % (fs["FileSystemId"], aps["local-shared-neuro"]["AccessPointId"])
    assert get(kube, "pvc", "-n", NS, "hubops-shared-neuro")["spec"]["volumeName"] == "hubops-local-shared-neuro"
    jobs = {j["metadata"]["name"]: j for j in get(kube, "cronjobs", "-n", NS)["items"]}
    assert set(jobs) == {"hubops-scratch-neuro", "hubops-scratch-astro", "hubops-usage-report"}
    args = jobs["hubops-scratch-astro"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["--root", "/mnt/shared/astro", "--retention-days", "14"]
    values = json.loads(subprocess.run([str(BIN / "helm"), "get", "values", "jupyterhub", "-n", NS, "-o", "json", "--kubeconfig",
                                        str(kube)], capture_output=True, text=True, check=True).stdout)
    assert values["singleuser"]["storage"]["dynamic"]["storageClass"] == "hubops-home"
    assert values["custom"]["hubops"]["storage"]["quotas"] == {"neuro": "50Gi", "astro": "20Gi", "bio": "100Gi"}
    assert values["custom"]["hubops"]["storage"]["shared"] == {"neuro": "hubops-shared-neuro", "astro": "hubops-shared-astro"}

    # --- quotas: the hub sizes a new home by the user's groups (the largest quota wins), from the deployed values
    assert home_claim(kube, hub_claim(values, "carol", ["neuro"])) == "50Gi"
    assert home_claim(kube, hub_claim(values, "dave", ["astro", "neuro"])) == "50Gi"
    assert home_claim(kube, hub_claim(values, "erin", ["astro"])) == "20Gi"
    assert home_claim(kube, hub_claim(values, "frank", [])) == "10Gi"
    assert get(kube, "pvc", "-n", NS, "claim-dave")["metadata"]["annotations"]["hubops.io/groups"] == "neuro,astro"
    # a raised quota grows existing homes on the next run; a lowered one is refused before any change
    groups = yaml.safe_load((local / "group_vars" / "all" / "groups.yml").read_text())["hubops_groups"]
    groups[0]["storage"]["home_quota"] = "60Gi"
    raised = emulator.playbook("site.yml", inventory_with(tmp_path / "raised", {"hubops_groups": groups}), *STORAGE_TAGS)
    assert raised.rc == 0, raised.output[-4000:]
    assert requested(kube, "carol") == "60Gi" and requested(kube, "dave") == "60Gi"
    assert requested(kube, "erin") == "20Gi" and requested(kube, "frank") == "10Gi"
    assert raised.recap["changed"] >= 2
    groups[0]["storage"]["home_quota"] = "40Gi"
    lowered = emulator.playbook("site.yml", inventory_with(tmp_path / "lowered", {"hubops_groups": groups}), *STORAGE_TAGS)
    assert lowered.rc != 0
    assert "hubops_groups[neuro].storage.home_quota: lowering 60Gi to 40Gi is refused" in lowered.output
    assert requested(kube, "carol") == "60Gi"
    groups[0]["storage"]["home_quota"] = "60Gi"
    inventory = inventory_with(tmp_path / "steady", {"hubops_groups": groups})

    # --- teardown keeps the data: file system and access points (no mount targets), vault, key; plan and policy go
    down = emulator.playbook("teardown.yml", inventory, *TEARDOWN)
    assert down.rc == 0, down.output[-4000:]
    assert "nothing left but kept user data" in down.output
    kept = file_system(emulator)
    assert kept["FileSystemId"] == fs["FileSystemId"]
    assert efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"] == []
    assert set(access_points(emulator, fs["FileSystemId"])) == set(APS)
    assert "local-backup" in vault_names(emulator) and backup_plan_ids(emulator) == [] and dlm_policies(emulator) == []
    assert emulator.client("kms").describe_key(KeyId="alias/hubops/local")["KeyMetadata"]["KeyState"] == "Enabled"

    # --- the next site.yml adopts the kept data, and a home volume kept in EC2 gets its claim back
    ec2 = emulator.client("ec2")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=50, VolumeType="gp3", TagSpecifications=[{
        "ResourceType": "volume", "Tags": [{"Key": "hubops:deployment", "Value": "local"}, {"Key": "hubops:home", "Value": "local"},
                                           {"Key": "hubops:pvc", "Value": "claim-carol"}]}])["VolumeId"]
    again = emulator.playbook("site.yml", inventory, *STORAGE_TAGS)
    assert again.rc == 0, again.output[-4000:]
    assert file_system(emulator)["FileSystemId"] == fs["FileSystemId"]
    assert {n: ap["AccessPointId"] for n, ap in access_points(emulator, fs["FileSystemId"]).items()} \
        == {n: ap["AccessPointId"] for n, ap in aps.items()}
    adopted = get(kube, "pv", "hubops-%s" % volume)
    assert adopted["spec"]["claimRef"]["name"] == "claim-carol" and adopted["spec"]["csi"]["volumeHandle"] == volume

    # --- teardown with the data: nothing left
    gone = emulator.playbook("teardown.yml", inventory, *TEARDOWN, "-e", "hubops_teardown_delete_data=true")
    assert gone.rc == 0, gone.output[-4000:]
    assert "Kept " not in gone.output
    assert file_system(emulator) is None
    assert "local-backup" not in vault_names(emulator)
    assert not _volume_exists(ec2, volume)
    assert emulator.client("kms").describe_key(KeyId="alias/hubops/local")["KeyMetadata"]["KeyState"] == "PendingDeletion"


def _volume_exists(ec2, volume_id):
    try:
        volumes = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
    except ec2.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidVolume.NotFound", exc
        return False
    return any(v["State"] != "deleted" for v in volumes)
