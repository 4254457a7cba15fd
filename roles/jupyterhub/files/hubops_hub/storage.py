# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Per-user storage at spawn: the home volume's size and the groups' shared directories.

Use from the hub's jupyterhub_config::

    from hubops_hub.storage import make_pre_spawn_hook
    c.KubeSpawner.pre_spawn_hook = make_pre_spawn_hook(get_config("custom.hubops"))

`custom.hubops.storage` (built by the storage role, plugins/module_utils/storage.py `hub_storage`) holds
`home_storage` (ebs | efs), `quotas` ({group: "50Gi"}), `default_quota`, `shared` ({group: claim name}), `public`
(claim name or null) and `mount_root` ("/home/shared").

Decisions:

- Home size (EBS homes): the largest `home_quota` of the user's groups (membership as in profiles.py: admins are in
  every group), else `default_quota`. It is KubeSpawner's `storage_capacity`, which only matters when the claim is
  created; the claim is annotated with the groups (`hubops.io/groups`) and the size (`hubops.io/home-quota`) so the
  storage role can grow it on a later run when a quota is raised. EFS homes have no hard size.
- Shared directories: each group the user is in that has one is mounted read-write at `<mount_root>/<group>`; the
  others are not mounted at all. The public directory is mounted at `<mount_root>/public`, read-only except for admins.
- Volumes are appended to what the spawner was configured with (z2jh's own home volume, singleuser.storage.extraVolumes),
  never replacing them, and only once even if the hook runs again for the same spawner.
"""

import re

from hubops_hub.profiles import _user_facts, user_groups

ANNOTATION_GROUPS = "hubops.io/groups"
ANNOTATION_QUOTA = "hubops.io/home-quota"
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i?)?$")
_FACTORS = {None: 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
            "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}


def quantity_bytes(value):
    """A Kubernetes quantity as bytes ("50Gi" -> 53687091200)."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError("%r is not a storage quantity" % (value,))
    return int(float(match.group(1)) * _FACTORS[match.group(2)])


def home_quota(storage, groups):
    """The largest quota among `groups`, else the default."""
    quotas = storage.get("quotas") or {}
    sizes = [quotas[name] for name in groups if name in quotas]
    if not sizes:
        return str(storage.get("default_quota") or "10Gi")
    return max(sizes, key=quantity_bytes)


def storage_for(config, groups, is_admin):
    """(capacity, annotations, volumes, volume_mounts) for a user in `groups`."""
    storage = (config or {}).get("storage") or {}
    root = storage.get("mount_root") or "/home/shared"
    capacity = home_quota(storage, groups)
    annotations = {ANNOTATION_GROUPS: ",".join(groups), ANNOTATION_QUOTA: capacity}
    volumes, mounts = [], []
    shared = storage.get("shared") or {}
    for name in groups:
        if name in shared:
            volumes.append({"name": "hubops-shared-%s" % name, "persistentVolumeClaim": {"claimName": shared[name]}})
            mounts.append({"name": "hubops-shared-%s" % name, "mountPath": "%s/%s" % (root, name)})
    if storage.get("public"):
        volumes.append({"name": "hubops-shared-public", "persistentVolumeClaim": {"claimName": storage["public"]}})
        mounts.append({"name": "hubops-shared-public", "mountPath": "%s/public" % root, "readOnly": not is_admin})
    return capacity, annotations, volumes, mounts


def _append_missing(current, extra):
    names = {item.get("name") for item in current or []}
    return list(current or []) + [item for item in extra if item["name"] not in names]


def apply_storage(spawner, config):
    """Set the spawner's home size, claim annotations and shared mounts for its user."""
    username, hub_names, is_admin = _user_facts(spawner.user)
    groups = user_groups(config, username, hub_names, is_admin)
    capacity, annotations, volumes, mounts = storage_for(config, groups, is_admin)
    storage = (config or {}).get("storage") or {}
    if storage.get("home_storage", "ebs") == "ebs":
        spawner.storage_capacity = capacity
        spawner.storage_extra_annotations = dict(spawner.storage_extra_annotations or {}, **annotations)
    spawner.volumes = _append_missing(spawner.volumes, volumes)
    spawner.volume_mounts = _append_missing(spawner.volume_mounts, mounts)
    spawner.log.info("hubops: %s (groups %s): home %s, shared %s", username, ",".join(groups) or "none",
                     capacity if storage.get("home_storage", "ebs") == "ebs" else "on EFS",
                     ", ".join(m["mountPath"] for m in mounts) or "none")


def make_pre_spawn_hook(config, then=None):
    """A `pre_spawn_hook` applying apply_storage(), then `then(spawner)` (an earlier hook) if given."""

    def pre_spawn_hook(spawner):
        apply_storage(spawner, config)
        if then is not None:
            return then(spawner)
        return None

    return pre_spawn_hook
