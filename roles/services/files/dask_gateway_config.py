# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Per-group dask clusters for dask-gateway, appended to the chart's dask_gateway_config.py (gateway.extraConfig).

hubops appends ``configure(c, json.loads(...))`` with the settings module_utils/services.py `gateway_config` builds:
the dask groups (name, members, pool, limits), the pool label, the taint and the idle timeout.

Decisions:

- Membership is the hub's (roles/jupyterhub/files/hubops_hub/profiles.py, repeated here because the gateway runs in
  another image): a user is in a hubops group when their name is in `members.users` (case-insensitive) or one of
  their JupyterHub groups (which dask-gateway's JupyterHubAuthenticator passes as ``user.groups``) is in
  `members.github_teams` (case-insensitive) or another members list (exact). JupyterHub admins are in every group.
- A user in several dask groups picks one with the ``group`` option (a Select limited to their groups); the default
  is the group with the largest limits (cores, then memory, then workers; inventory order breaks ties), so the
  choice is deterministic.
- The cluster's scheduler and workers run on that group's spot-only pool ``<group>-dask`` (node selector on the pool
  label, toleration of the dask taint), and the cluster gets the group's cluster_max_cores / cluster_max_memory /
  cluster_max_workers.
- A user in no dask group still sees the options (the gateway asks for them before creating a cluster), but creating
  a cluster is refused with a message naming what to ask the hub's admins for.
"""

MEMBER_KEYS = ("github_teams", "cognito_groups", "oidc_groups", "ldap_groups")
QUANTITY_UNITS = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12,
                  "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40}
NO_GROUP_MESSAGE = ("User %s is in no group that may use Dask clusters on this hub. Ask the hub's admins to add you "
                    "to a group with a dask setting (hubops_groups[].dask).")


class NoDaskGroup(Exception):
    """Raised from the options handler; configure() swaps in dask-gateway's PublicException so the user sees it."""


def parse_memory(value):
    """'256Gi' -> bytes (int)."""
    text = str(value).strip()
    for unit in sorted(QUANTITY_UNITS, key=len, reverse=True):
        if unit and text.endswith(unit):
            return int(float(text[:-len(unit)]) * QUANTITY_UNITS[unit])
    return int(float(text))


def _folded(values):
    return {str(v).casefold() for v in values or ()}


def user_dask_groups(settings, name, hub_groups, is_admin):
    """The dask groups (settings order) a user belongs to."""
    groups = settings.get("groups") or []
    if is_admin:
        return list(groups)
    hub_groups = set(hub_groups or ())
    out = []
    for group in groups:
        members = group.get("members") or {}
        if str(name or "").casefold() in _folded(members.get("users")):
            out.append(group)
        elif _folded(hub_groups) & _folded(members.get("github_teams")):
            out.append(group)
        elif any(hub_groups & set(members.get(key) or ()) for key in MEMBER_KEYS if key != "github_teams"):
            out.append(group)
    return out


def _size(group):
    limits = group["limits"]
    return (float(limits["max_cores"]), parse_memory(limits["max_memory"]), int(limits["max_workers"]))


def default_group(groups):
    """The group with the largest limits; the first in settings order among equals."""
    best = None
    for group in groups:
        if best is None or _size(group) > _size(best):
            best = group
    return best


def cluster_overrides(settings, group):
    """ClusterConfig overrides for a cluster of `group`."""
    limits = group["limits"]
    taint = settings["taint"]
    placement = {
        "nodeSelector": {settings["pool_label"]: group["pool"]},
        "tolerations": [{"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}],
    }
    return {
        "cluster_max_cores": float(limits["max_cores"]),
        "cluster_max_memory": parse_memory(limits["max_memory"]),
        "cluster_max_workers": int(limits["max_workers"]),
        "scheduler_extra_pod_config": dict(placement),
        "worker_extra_pod_config": dict(placement),
        "environment": {"HUBOPS_DASK_GROUP": group["name"]},
    }


def make_handler(settings, refuse=NoDaskGroup):
    """The Options handler: (options, user) -> ClusterConfig overrides for the chosen group, or `refuse` raised."""
    def handler(options, user):
        groups = user_dask_groups(settings, user.name, getattr(user, "groups", ()), getattr(user, "admin", False))
        if not groups:
            raise refuse(NO_GROUP_MESSAGE % user.name)
        by_name = dict((g["name"], g) for g in groups)
        chosen = by_name.get(getattr(options, "group", None)) or default_group(groups)
        return cluster_overrides(settings, chosen)
    return handler


def make_cluster_options(settings, fields, refuse=NoDaskGroup):
    """Backend.cluster_options: a callable of the user, so the group Select lists only that user's groups.

    `fields` is dask_gateway_server.options (Options, Select); passed in so that the tests need no gateway."""
    handler = make_handler(settings, refuse)

    def cluster_options(user):
        groups = user_dask_groups(settings, user.name, getattr(user, "groups", ()), getattr(user, "admin", False))
        if not groups:
            # nothing to choose; creating a cluster is refused by the handler with the message
            return fields.Options(handler=handler)
        names = [g["name"] for g in groups]
        return fields.Options(fields.Select("group", names, default=default_group(groups)["name"],
                                            label="Group (its pool and limits)"), handler=handler)
    return cluster_options


def max_clusters(settings):
    """dask-gateway's UserLimits are gateway-wide: the largest max_clusters of the groups (0 = no limit when none)."""
    return max([int(g["limits"]["max_clusters"]) for g in settings.get("groups") or []] or [0])


def configure(c, settings):
    """Apply the settings to the gateway's config object `c`."""
    from dask_gateway_server import options as fields
    from dask_gateway_server.backends.base import PublicException

    c.Backend.cluster_options = make_cluster_options(settings, fields, refuse=PublicException)
    c.ClusterConfig.idle_timeout = float(settings.get("idle_timeout") or 0)
    c.UserLimits.max_clusters = max_clusters(settings)
