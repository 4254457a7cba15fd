# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage from the inventory, as plain functions (the storage role calls them through filters).

- `storage_plan(settings)`: what the storage role builds: the EFS access points (one per group with a shared
  directory, the public directory, the homes with `hubops_home_storage: efs`), the PersistentVolumeClaims that expose
  them in the hub's namespace, the scratch-cleanup jobs, and the per-group home quotas;
- `hub_storage(plan, ...)`: the part of the plan the hub needs (`custom.hubops.storage`, read by
  roles/jupyterhub/files/hubops_hub/storage.py at each spawn);
- `home_pvc_changes(pvcs, quotas, default_quota, previous)`: which users' home claims to grow after a quota was raised,
  and which quota changes to refuse (an EBS volume cannot shrink).

A user's home size is the largest `home_quota` of the groups they are in (`hubops_storage.default_home_quota` when
none of them has one). The hub records the groups in the claim's `hubops.io/groups` annotation when it creates it,
so a later run can grow the claim without asking the identity provider.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SHARED_ROOT = "/shared"
HOMES_ROOT = "/homes"
PUBLIC_GROUP = "public"
# Everybody in a z2jh user pod is uid 1000 (jovyan), gid 100 (users); the access points enforce it on every NFS call.
POSIX_UID = 1000
POSIX_GID = 100
ANNOTATION_GROUPS = "hubops.io/groups"
ANNOTATION_QUOTA = "hubops.io/home-quota"
HOME_STORAGE_CLASS = "hubops-home"
DB_STORAGE_CLASS = "hubops-gp3"
EFS_STORAGE_CLASS = "hubops-efs"
DEFAULTS = {
    "default_home_quota": "10Gi",
    "public_dir": True,
    "transition_to_ia_days": 30,
    "job_image": "docker.io/library/python:3.12-slim",
    "cleanup": {"schedule": "17 3 * * *", "dry_run": False},
    "usage_report": {"enabled": True, "schedule": "41 */6 * * *"},
    "backup": {"enabled": True, "retention_days": 35, "schedule": "cron(0 5 * * ? *)"},
    "home_snapshots": {"enabled": False, "retain": 7, "time": "04:00"},
}
# gp3 volumes: 1 GiB to 16 TiB.
MIN_HOME = 1 << 30
MAX_HOME = 16 << 40
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i?)?$")
_FACTORS = {None: 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
            "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}


class StorageError(ValueError):
    """Bad storage input, with the field and the fix in the message."""


def parse_quantity(value):
    """A Kubernetes quantity ("50Gi", "1.5T", 1024) as an integer byte count."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise StorageError("%r is not a storage quantity (examples: 20Gi, 500Gi, 1Ti)" % (value,))
    return int(float(match.group(1)) * _FACTORS[match.group(2)])


def settings_with_defaults(storage):
    """hubops_storage merged over DEFAULTS (one level of nested dicts)."""
    out = {}
    for key, default in DEFAULTS.items():
        given = (storage or {}).get(key)
        if isinstance(default, dict):
            out[key] = dict(default, **(given or {}))
        else:
            out[key] = default if given is None else given
    for key, value in (storage or {}).items():
        out.setdefault(key, value)
    return out


def group_quotas(groups):
    """{group: home_quota} of the groups that set one."""
    return dict((g["name"], str((g.get("storage") or {})["home_quota"])) for g in groups or []
                if (g.get("storage") or {}).get("home_quota"))


def largest_quota(group_names, quotas, default_quota):
    """The home size of a user in these groups: the largest quota among them, else the default."""
    sizes = [quotas[name] for name in group_names if name in quotas]
    if not sizes:
        return str(default_quota)
    return max(sizes, key=parse_quantity)


def _shared_groups(groups):
    return [g["name"] for g in groups or [] if (g.get("storage") or {}).get("shared_dir", True)]


def storage_plan(settings):
    """Everything the storage role creates, from `settings`: deployment, groups, home_storage (ebs|efs), storage
    (hubops_storage), namespace."""
    deployment = settings["deployment"]
    groups = settings.get("groups") or []
    storage = settings_with_defaults(settings.get("storage"))
    home_storage = settings.get("home_storage") or "ebs"
    quotas = group_quotas(groups)
    for name, quota in sorted(quotas.items()):
        size = parse_quantity(quota)
        if home_storage == "ebs" and not MIN_HOME <= size <= MAX_HOME:
            raise StorageError("hubops_groups[%s].storage.home_quota: %s is outside what a gp3 volume can be (1Gi to 16Ti)"
                               % (name, quota))
    parse_quantity(storage["default_home_quota"])

    access_points = []
    claims = []
    shared = {}
    for name in _shared_groups(groups):
        access_points.append({"name": "%s-shared-%s" % (deployment, name), "group": name, "path": "%s/%s" % (SHARED_ROOT, name)})
        shared[name] = "hubops-shared-%s" % name
    public = None
    if storage["public_dir"] and access_points:
        access_points.append({"name": "%s-shared-%s" % (deployment, PUBLIC_GROUP), "group": PUBLIC_GROUP,
                              "path": "%s/%s" % (SHARED_ROOT, PUBLIC_GROUP)})
        public = "hubops-shared-%s" % PUBLIC_GROUP
    if home_storage == "efs":
        access_points.append({"name": "%s-homes" % deployment, "group": "homes", "path": HOMES_ROOT})
    if storage["usage_report"]["enabled"] and shared:
        # The usage report walks every shared directory at once, through the root of them all.
        access_points.append({"name": "%s-shared-all" % deployment, "group": "all", "path": SHARED_ROOT})
    for ap in access_points:
        ap.update({"uid": POSIX_UID, "gid": POSIX_GID, "permissions": "2775",
                   "claim": "hubops-homes" if ap["group"] == "homes" else "hubops-shared-%s" % ap["group"],
                   "volume": "hubops-%s-%s" % (deployment, ap["name"][len(deployment) + 1:])})
        claims.append(ap["claim"])

    cleanup = []
    for group in groups:
        days = int((group.get("storage") or {}).get("scratch_retention_days") or 0)
        if days > 0 and group["name"] in shared:
            cleanup.append({"group": group["name"], "claim": shared[group["name"]], "retention_days": days,
                            "name": "hubops-scratch-%s" % group["name"]})

    members = {}
    for group in groups:
        users = list(((group.get("members") or {}).get("users")) or [])
        if users:
            members[group["name"]] = users
    return {
        "deployment": deployment,
        "home_storage": home_storage,
        "efs": bool(access_points),
        "access_points": access_points,
        "claims": claims,
        "shared": shared,
        "public": public,
        "quotas": quotas,
        "default_quota": str(storage["default_home_quota"]),
        "cleanup": cleanup,
        "usage_report": bool(storage["usage_report"]["enabled"]) and bool(access_points),
        "members": members,
        "settings": storage,
    }


def hub_storage(plan):
    """`custom.hubops.storage` for the hub (hubops_hub/storage.py) and the z2jh singleuser.storage values."""
    out = {
        "home_storage": plan["home_storage"],
        "quotas": dict(plan["quotas"]),
        "default_quota": plan["default_quota"],
        "shared": dict(plan["shared"]),
        "public": plan["public"],
        "mount_root": "/home/shared",
    }
    if plan["home_storage"] == "efs":
        out["homes_claim"] = "hubops-homes"
    return out


def singleuser_storage(storage):
    """z2jh `singleuser.storage` for a hub_storage() dict (None: the chart's default)."""
    if not storage:
        return None
    if storage["home_storage"] == "efs":
        return {"type": "static", "static": {"pvcName": storage["homes_claim"], "subPath": "{username}"},
                "homeMountPath": "/home/jovyan"}
    return {"type": "dynamic", "capacity": storage["default_quota"], "homeMountPath": "/home/jovyan",
            "dynamic": {"storageClass": HOME_STORAGE_CLASS, "pvcNameTemplate": "claim-{username}",
                        "volumeNameTemplate": "volume-{username}", "storageAccessModes": ["ReadWriteOnce"]}}


def refused_quota_changes(previous, quotas, default_quota):
    """Quotas lowered since the last run (`previous`: {group: quota, "": default}), as error messages."""
    errors = []
    wanted = dict(quotas)
    wanted[""] = default_quota
    for name, before in sorted((previous or {}).items()):
        now = wanted.get(name)
        if now is None or parse_quantity(now) >= parse_quantity(before):
            continue
        field = "hubops_storage.default_home_quota" if name == "" else "hubops_groups[%s].storage.home_quota" % name
        errors.append("%s: lowering %s to %s is refused. Home volumes only grow (an EBS volume cannot shrink), so users "
                      "who already have %s would keep it while new users got less. Keep %s, or move the users' data "
                      "to new smaller volumes by hand and then change it." % (field, before, now, before, before))
    return errors


def home_pvc_changes(pvcs, quotas, default_quota):
    """Claims to grow: [{name, namespace, size, user, groups}] for each home claim (labelled by KubeSpawner, annotated by
    the hub with the user's groups) whose request is below the largest quota of its groups. A claim larger than its
    groups' quota now (the user left a group) is kept as it is: volumes do not shrink."""
    grow = []
    for pvc in pvcs or []:
        meta = pvc.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if ANNOTATION_GROUPS not in annotations:
            continue
        names = [n for n in annotations[ANNOTATION_GROUPS].split(",") if n]
        want = largest_quota(names, quotas, default_quota)
        have = (((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "0")
        if parse_quantity(want) > parse_quantity(have):
            grow.append({"name": meta["name"], "namespace": meta.get("namespace"), "size": want, "from": have,
                         "user": annotations.get("hub.jupyter.org/username") or (meta.get("labels") or {}).get("hub.jupyter.org/username"),
                         "groups": names})
    return grow


def kept_home_volumes(volumes, pvs):
    """EBS home volumes kept by an earlier teardown (tagged by the CSI driver with the claim name) that no
    PersistentVolume refers to: [{volume_id, claim, size_gib, az}] to adopt as pre-bound PersistentVolumes."""
    known = set()
    for pv in pvs or []:
        handle = (((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle"))
        if handle:
            known.add(handle)
    out = []
    for vol in volumes or []:
        tags = vol.get("tags") or {}
        if isinstance(tags, list):
            tags = dict((t["Key"], t["Value"]) for t in tags)
        claim = tags.get("kubernetes.io/created-for/pvc/name") or tags.get("hubops:pvc")
        vol_id = vol.get("id") or vol.get("volume_id") or vol.get("VolumeId")
        if not claim or vol_id in known:
            continue
        out.append({"volume_id": vol_id, "claim": claim, "size_gib": int(vol.get("size") or vol.get("Size") or 1),
                    "az": vol.get("zone") or vol.get("availability_zone") or vol.get("AvailabilityZone")})
    return sorted(out, key=lambda v: v["claim"])
