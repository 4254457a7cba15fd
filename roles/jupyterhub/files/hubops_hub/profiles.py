# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Per-user server profiles for KubeSpawner, built from the `custom.hubops` chart value.

Use from the hub's jupyterhub_config::

    from hubops_hub.profiles import make_profile_list
    c.KubeSpawner.profile_list = make_profile_list(get_config("custom.hubops"))

`make_profile_list(config)` validates the config once (a bad config stops the hub at start, not at a user's spawn)
and returns an async callable; KubeSpawner calls it with the spawner both to render the spawn form and again in
`load_user_options()` right before it builds the pod, so what a user may start is decided per request from the
user's hub groups and admin flag, and a slug the user may not use is refused by KubeSpawner itself ("No such profile").

Decisions:

- Membership: a user is in a hubops group when their name is in `members.users` (compared case-insensitively, as
  JupyterHub lower-cases names by default) or one of their JupyterHub group names (set by the authenticator with
  `manage_groups`) is in `members.github_teams` (``<org>:<team>``, compared case-insensitively like GitHub does),
  `cognito_groups`, `oidc_groups` or `ldap_groups` (compared exactly). Admins are in every group.
- One entry per (group, profile): slug ``<group>-<profile>``, display name ``<group display> — <profile display>``;
  groups in config order, a slug seen before is skipped (no duplicates), only the first `default` stays the default.
- Resources: limit = guarantee for CPU and memory (Guaranteed QoS: Karpenter sizes nodes by requests, so a pod never
  uses more than what its node was bought for, and a busy neighbour cannot starve it). Memory is a Kubernetes
  quantity ("8Gi" = 8 * 2**30, "8G" = 8 * 10**9) converted to an integer byte count, because KubeSpawner's byte
  traits read "8G" as GiB and do not know "Gi". CPU accepts 2, 0.5, "2" or "500m" (cores, as a float).
- Tolerations: KubeSpawner *replaces* list traits with an override (dicts are merged), so a plain list would drop what
  z2jh configured (scheduling.userPods.tolerations, singleuser.extraTolerations). The override is therefore a callable
  returning the spawner's configured tolerations + z2jh's two user-node tolerations + (GPU) nvidia.com/gpu Exists.
- Image: `profile_options.image`, one choice per configured image (the choice key is the image reference, the first
  is the default). With `allow_custom_image` and a non-empty `image_allowlist`, an "Other image" field is enabled
  whose `validation_regex` (checked by KubeSpawner on the server for form and REST API spawns, and by the browser)
  only accepts images whose normalised repository is an allow-list prefix or below it (``prefix`` or ``prefix/...``).
  Normalisation is Docker's: no registry host (first path component without "." or ":" and not "localhost") means
  docker.io, "index.docker.io" is docker.io, and a single-component Docker Hub name is "library/<name>". So the
  prefix "docker.io/dandiarchive" accepts "dandiarchive/hub:1", "docker.io/dandiarchive/hub" and
  "index.docker.io/dandiarchive/hub"; "docker.io/library" accepts "python:3.11". Allow-list entries without a host are
  Docker Hub namespaces ("dandiarchive" = "docker.io/dandiarchive"). The regex is written to mean the same in Python
  and in the browser's `pattern` attribute (JavaScript, "v" flag): `image_allowed()` and the regex agree.
- A user with no profile at all (in no group, or groups without profiles) gets HTTP 403 with a message JupyterHub
  shows on the spawn page; raised from the profile list, it also fails `load_user_options()` before any pod exists.
"""

import copy
import html
import re
from decimal import Decimal, InvalidOperation

from tornado import web
from traitlets import log as traitlets_log

MEMBER_KEYS = ("github_teams", "cognito_groups", "oidc_groups", "ldap_groups")
NODEPOOL_LABEL = "karpenter.sh/nodepool"
GPU_RESOURCE = "nvidia.com/gpu"
GROUP_LABEL = "hubops.io/group"
PROFILE_LABEL = "hubops.io/profile"
DO_NOT_DISRUPT = {"karpenter.sh/do-not-disrupt": "true"}
# z2jh's scheduling.userPods.tolerations default: the user-node taint, and its variant for clouds without "/" in keys.
USER_NODE_TOLERATIONS = (
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
)
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}

# Image reference grammar (github.com/distribution/reference), written so that each piece means the same in Python
# `re` and in a JavaScript RegExp with the "v" flag (browsers compile `pattern` that way): "-" is escaped inside
# classes and never outside them, no reserved double punctuators in classes, no Python-only syntax.
PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH_COMPONENT_NO_DOT = r"[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*"
DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])"
DOMAIN = DOMAIN_COMPONENT + r"(?:\." + DOMAIN_COMPONENT + r")*(?::[0-9]+)?"
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[\-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
TAG_AND_DIGEST = "(?::" + TAG + ")?(?:@" + DIGEST + ")?"
# `$` alone also matches before a final newline in Python; `(?!\n)` makes both engines stop at the true end.
END = r"$(?!\n)"
DOCKER_HUB = "docker.io"
DOCKER_HUB_HOSTS = r"(?:docker\.io|index\.docker\.io)/"

_REFERENCE_RE = re.compile("(?:" + DOMAIN + "/)?" + PATH_COMPONENT + "(?:/" + PATH_COMPONENT + ")*" + TAG_AND_DIGEST)
_DOMAIN_RE = re.compile(DOMAIN)
_PATH_RE = re.compile(PATH_COMPONENT + "(?:/" + PATH_COMPONENT + ")*")
_JS_SYNTAX = set("\\^$.*+?()[]{}|/")


def _is_domain(component):
    """Docker's rule (splitDockerDomain) for whether the first component of a name is a registry host."""
    return "." in component or ":" in component or component == "localhost" or component != component.lower()


def _split_domain(name):
    """(domain, path) of a reference name without tag or digest, normalised like Docker does."""
    first, sep, rest = name.partition("/")
    if sep and _is_domain(first):
        domain, path = first, rest
    else:
        domain, path = DOCKER_HUB, name
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    return domain, path


def normalize_image(image):
    """The fully qualified repository of an image reference ("python:3" -> "docker.io/library/python"),
    or None when it is not a valid reference."""
    if not isinstance(image, str) or not _REFERENCE_RE.fullmatch(image):
        return None
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    domain, path = _split_domain(name)
    if domain == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if not _DOMAIN_RE.fullmatch(domain) or not _PATH_RE.fullmatch(path):
        return None
    return domain + "/" + path


def normalize_prefix(prefix):
    """(domain, path) of an allow-list entry; path is "" for a whole registry. Entries without a host are Docker Hub
    namespaces. Raises ValueError for an entry that is not a registry host and/or repository path."""
    if not isinstance(prefix, str) or not prefix.strip().strip("/"):
        raise ValueError("image_allowlist entry %r is not a registry/repository prefix" % (prefix,))
    text = prefix.strip().rstrip("/")
    first, sep, rest = text.partition("/")
    if _is_domain(first):
        domain, path = first, rest if sep else ""
    else:
        domain, path = DOCKER_HUB, text
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    if not _DOMAIN_RE.fullmatch(domain) or (path and not _PATH_RE.fullmatch(path)):
        raise ValueError("image_allowlist entry %r is not a registry host and/or lower-case repository path" % (prefix,))
    return domain, path


def image_allowed(image, allowlist):
    """True when `image` is a valid reference whose normalised repository is an allow-list prefix or below it."""
    repository = normalize_image(image)
    if repository is None:
        return False
    for prefix in allowlist or ():
        domain, path = normalize_prefix(prefix)
        allowed = domain + "/" + path if path else domain
        if repository == allowed or repository.startswith(allowed + "/"):
            return True
    return False


def _escape(text):
    """Escape for a regex valid in Python and JavaScript (u/v flags reject escapes of non-syntax characters)."""
    return "".join("\\" + char if char in _JS_SYNTAX else char for char in text)


def _prefix_alternatives(domain, path):
    """Regex alternatives for every way of writing a name (without tag/digest) that normalises under the prefix."""
    components = path.split("/") if path else []
    literal = "/".join(_escape(component) for component in components)
    more = "(?:/" + PATH_COMPONENT + ")"
    if domain != DOCKER_HUB:
        if components:
            return [_escape(domain) + "/" + literal + more + "*"]
        return [_escape(domain) + more + "+"]
    # Docker Hub repositories have at least two components once normalised (library/ is added to single names).
    if len(components) >= 2:
        hub_path = literal + more + "*"
    elif components:
        hub_path = literal + more + "+"
    else:
        hub_path = PATH_COMPONENT + more + "+"
    alternatives = [DOCKER_HUB_HOSTS + hub_path]
    # Without a host: only when the first component cannot be mistaken for a registry host.
    if not components:
        alternatives.append("(?!localhost/)" + PATH_COMPONENT_NO_DOT + more + "+")
    elif not _is_domain(components[0]):
        alternatives.append(hub_path)
    # A single name ("python", "docker.io/python") is docker.io/library/<name>.
    single = None
    if not components or components == ["library"]:
        single = PATH_COMPONENT
    elif len(components) == 2 and components[0] == "library":
        single = literal.split("/", 1)[1]
    if single:
        alternatives.extend([DOCKER_HUB_HOSTS + single, single])
    return alternatives


def image_regex(allowlist):
    """The `validation_regex` accepting exactly the images `image_allowed(image, allowlist)` accepts."""
    alternatives = []
    for prefix in allowlist:
        for alternative in _prefix_alternatives(*normalize_prefix(prefix)):
            if alternative not in alternatives:
                alternatives.append(alternative)
    if not alternatives:
        raise ValueError("image_regex needs a non-empty image_allowlist")
    return "^(?:" + "|".join(alternatives) + ")" + TAG_AND_DIGEST + END


def parse_cpu(value):
    """CPU cores as a float from 2, 0.5, "2" or "500m"."""
    text = str(value).strip()
    try:
        cores = Decimal(text[:-1]) / 1000 if text.endswith("m") else Decimal(text)
    except InvalidOperation:
        raise ValueError("cpu %r is not a number of cores or a millicore quantity like 500m" % (value,)) from None
    if not cores.is_finite() or cores <= 0:
        raise ValueError("cpu %r must be more than 0" % (value,))
    return float(cores)


_MEMORY_RE = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?")
_MEMORY_UNITS = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
                 "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def parse_memory(value):
    """Bytes (int, rounded up) from a Kubernetes quantity ("8Gi", "512Mi", "8G", "1e9") or an int of bytes."""
    if isinstance(value, bool):
        raise ValueError("memory %r is not a Kubernetes quantity" % (value,))
    if isinstance(value, int):
        number = Decimal(value)
    else:
        match = _MEMORY_RE.fullmatch(str(value).strip())
        if not match:
            raise ValueError("memory %r is not a Kubernetes quantity like 8Gi, 512Mi or 8G" % (value,))
        number = Decimal(match.group(1))
        if match.group(2):
            number = number * (Decimal(10) ** int(match.group(2)[1:].lstrip("+")))
        number = number * _MEMORY_UNITS[match.group(3) or ""]
    if number <= 0:
        raise ValueError("memory %r must be more than 0" % (value,))
    return int(number.to_integral_value(rounding="ROUND_CEILING"))


def _text(value):
    """Display text for the spawn form: KubeSpawner inserts it unescaped, and JupyterHub renders the form as a
    Jinja template, so HTML and template braces are escaped."""
    return html.escape(str(value)).replace("{", "&#123;").replace("}", "&#125;")


def _casefold_set(values):
    return {str(value).casefold() for value in values or ()}


def user_groups(config, username, hub_group_names, is_admin):
    """Names of the hubops groups (config order) a user belongs to; admins belong to all of them."""
    groups = (config or {}).get("groups") or []
    if is_admin:
        return [group["name"] for group in groups]
    hub_names = set(hub_group_names or ())
    hub_names_folded = _casefold_set(hub_names)
    name = str(username or "").casefold()
    result = []
    for group in groups:
        members = group.get("members") or {}
        if name and name in _casefold_set(members.get("users")):
            result.append(group["name"])
        elif hub_names_folded & _casefold_set(members.get("github_teams")):
            result.append(group["name"])
        elif any(hub_names & set(members.get(key) or ()) for key in MEMBER_KEYS if key != "github_teams"):
            result.append(group["name"])
    return result


class MergedTolerations:
    """Callable `tolerations` override: KubeSpawner replaces list traits, so this returns the tolerations the
    spawner was configured with plus `extra`, without duplicates (calling it again adds nothing)."""

    def __init__(self, extra):
        self.extra = [dict(toleration) for toleration in extra]

    def __call__(self, spawner):
        merged = []
        for toleration in list(getattr(spawner, "tolerations", None) or []) + self.extra:
            if toleration not in merged:
                merged.append(copy.deepcopy(toleration))
        return merged

    def __eq__(self, other):
        return isinstance(other, MergedTolerations) and other.extra == self.extra

    def __repr__(self):
        return "MergedTolerations(%r)" % (self.extra,)


def _image_option(profile, allowlist, log):
    images = list(profile.get("images") or [])
    for image in images:
        if normalize_image(image) is None:
            raise ValueError("profile %r: image %r is not a valid image reference" % (profile.get("name"), image))
    choices = {}
    for index, image in enumerate(images):
        choices[image] = {"display_name": _text(image), "default": index == 0, "kubespawner_override": {"image": image}}
    option = {"display_name": "Image", "choices": choices}
    if profile.get("allow_custom_image"):
        if allowlist:
            option["unlisted_choice"] = {
                "enabled": True,
                "display_name": "Image (from %s)" % _text(", ".join(allowlist)),
                "display_name_in_choices": "Other image...",
                "validation_regex": image_regex(allowlist),
                "validation_message": _text("Must be an image from one of: %s (e.g. %s/<name>:<tag>)" % (
                    ", ".join(allowlist), allowlist[0].rstrip("/"))),
                "kubespawner_override": {"image": "{value}"},
            }
            if not choices:
                choices["hub-default"] = {"display_name": "Hub default image", "default": True, "kubespawner_override": {}}
        else:
            log.warning("hubops: profile %r allows custom images but image_allowlist is empty; custom images are off",
                        profile.get("name"))
    return option if choices else None


def _entry(group, profile, allowlist, log):
    group_name, profile_name = group["name"], profile["name"]
    cpu = parse_cpu(profile["cpu"])
    memory = parse_memory(profile["memory"])
    gpu = int(profile.get("gpu") or 0)
    if gpu < 0:
        raise ValueError("profile %r of group %r: gpu must be 0 or more" % (profile_name, group_name))
    if not profile.get("nodepool"):
        raise ValueError("profile %r of group %r has no nodepool" % (profile_name, group_name))
    tolerations = list(USER_NODE_TOLERATIONS) + ([GPU_TOLERATION] if gpu else [])
    override = {
        "cpu_guarantee": cpu,
        "cpu_limit": cpu,
        "mem_guarantee": memory,
        "mem_limit": memory,
        "node_selector": {NODEPOOL_LABEL: str(profile["nodepool"])},
        "tolerations": MergedTolerations(tolerations),
        "extra_labels": {GROUP_LABEL: str(group_name), PROFILE_LABEL: str(profile_name)},
        "extra_annotations": dict(DO_NOT_DISRUPT),
    }
    if gpu:
        override["extra_resource_limits"] = {GPU_RESOURCE: str(gpu)}
    description = profile.get("description")
    if not description:
        description = "%g CPU, %s memory%s" % (cpu, profile["memory"], ", %d GPU" % gpu if gpu else "")
    entry = {
        "display_name": _text("%s — %s" % (group.get("display_name") or group_name, profile.get("display_name") or profile_name)),
        "slug": "%s-%s" % (group_name, profile_name),
        "description": _text(description),
        "default": bool(profile.get("default")),
        "kubespawner_override": override,
    }
    image_option = _image_option(profile, allowlist, log)
    if image_option:
        entry["profile_options"] = {"image": image_option}
    return entry


def _refusal(status, message):
    """An HTTPError whose message JupyterHub's error page and spawn form show as is (log_message is a format)."""
    error = web.HTTPError(status, "%s", message)
    error.jupyterhub_message = message
    return error


def build_entries(config, log=None):
    """{group name: [profile entry, ...]} for the whole config, validated; raises ValueError on a bad config."""
    log = log or traitlets_log.get_logger()
    if not isinstance(config, dict):
        raise ValueError("custom.hubops must be a mapping, got %r" % (type(config).__name__,))
    allowlist = list(config.get("image_allowlist") or [])
    for prefix in allowlist:
        normalize_prefix(prefix)
    entries = {}
    for group in config.get("groups") or []:
        if not group.get("name"):
            raise ValueError("a group in custom.hubops has no name")
        entries.setdefault(group["name"], [])
        for profile in group.get("profiles") or []:
            entries[group["name"]].append(_entry(group, profile, allowlist, log))
    return entries


def _user_facts(user):
    names = []
    for group in getattr(user, "groups", None) or []:
        name = group if isinstance(group, str) else getattr(group, "name", None)
        if name:
            names.append(name)
    return getattr(user, "name", ""), names, bool(getattr(user, "admin", False))


def make_profile_list(config):
    """An async `profile_list(spawner)` for `c.KubeSpawner.profile_list` (see the module docstring)."""
    entries = build_entries(config)

    async def profile_list(spawner):
        username, hub_names, is_admin = _user_facts(spawner.user)
        groups = user_groups(config, username, hub_names, is_admin)
        result, seen, has_default = [], set(), False
        for group_name in groups:
            for entry in entries.get(group_name, ()):
                if entry["slug"] in seen:
                    continue
                seen.add(entry["slug"])
                entry = copy.deepcopy(entry)
                entry["default"] = entry["default"] and not has_default
                has_default = has_default or entry["default"]
                result.append(entry)
        if not result:
            mine = ", ".join(sorted(hub_names)) or "none"
            if groups:
                message = "Your groups on this hub (%s) have no server profiles; ask an admin (your groups: %s)" % (
                    ", ".join(groups), mine)
            else:
                message = "You are not in any group of this hub; ask an admin to add you (your groups: %s)" % mine
            spawner.log.warning("hubops: no profiles for %s: %s", username, message)
            raise _refusal(403, message)
        return result

    return profile_list
