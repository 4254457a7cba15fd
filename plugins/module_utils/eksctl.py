# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wrapping the eksctl CLI (contract: docs/eksctl.md), the way kubernetes.core wraps helm: find the binary, gate its
version, run argument lists, parse JSON. The comparison of desired and current state is plain functions below,
unit-tested without eksctl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re
import tempfile

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

API_VERSION = "eksctl.io/v1alpha5"
MIN_EKSCTL = (0, 200, 0)
MAX_EKSCTL = (1, 0, 0)  # exclusive
# EKS standard support end dates (EKS Kubernetes release calendar); update with each EKS release.
STANDARD_SUPPORT_END = {
    "1.31": "2025-11-26",
    "1.32": "2026-03-23",
    "1.33": "2026-07-29",
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
}


class EksctlError(Exception):
    pass


def parse_minor(version):
    match = re.match(r"^1\.(\d+)$", str(version))
    if not match:
        raise EksctlError("%r is not a Kubernetes minor version like 1.34" % (version,))
    return int(match.group(1))


def parse_eksctl_version(text):
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    if not match:
        raise EksctlError("cannot read the eksctl version from %r" % (text,))
    return tuple(int(x) for x in match.groups())


def check_eksctl_version(version):
    if not MIN_EKSCTL <= version < MAX_EKSCTL:
        raise EksctlError("eksctl %s is not supported: hubops.eks needs >= %s and < %s"
                          % (".".join(map(str, version)), ".".join(map(str, MIN_EKSCTL)), ".".join(map(str, MAX_EKSCTL))))


def default_version(eksctl_supported):
    """Newest minor both eksctl and EKS standard support cover."""
    both = [v for v in eksctl_supported or [] if v in STANDARD_SUPPORT_END]
    if not both:
        raise EksctlError("no Kubernetes version is supported by both eksctl (%s) and EKS standard support (%s)"
                          % (", ".join(eksctl_supported or []), ", ".join(sorted(STANDARD_SUPPORT_END))))
    return max(both, key=parse_minor)


def upgrade_steps(current, desired):
    """Minor versions to pass through, in order, never skipping one. Refuses downgrades."""
    cur, want = parse_minor(current), parse_minor(desired)
    if want < cur:
        raise EksctlError("the cluster runs 1.%d and the inventory asks for 1.%d: EKS cannot downgrade. "
                          "Fix: set hubops_k8s_version to \"1.%d\" or later." % (cur, want, cur))
    return ["1.%d" % minor for minor in range(cur + 1, want + 1)]


def render_config(name, region, version, spec, tags=None):
    """The full ClusterConfig: `spec` (vpc, accessConfig, addons, managedNodeGroups...) under our metadata."""
    config = {"apiVersion": API_VERSION, "kind": "ClusterConfig",
              "metadata": {"name": name, "region": region, "version": str(version)}}
    if tags:
        config["metadata"]["tags"] = dict(tags)
    for key, value in (spec or {}).items():
        if key not in ("apiVersion", "kind", "metadata"):
            config[key] = copy.deepcopy(value)
    return config


def subset(config, **sections):
    """A copy of config holding only metadata plus the given sections (eksctl acts on every item it is given)."""
    out = {k: config[k] for k in ("apiVersion", "kind", "metadata")}
    for key, value in sections.items():
        if key == "accessEntries":
            out["accessConfig"] = {"accessEntries": value}
        elif key == "podIdentityAssociations":
            out["iam"] = {"podIdentityAssociations": value}
        else:
            out[key] = value
    return out


def _policies(entry):
    return sorted((p.get("policyARN"), (p.get("accessScope") or {}).get("type", "cluster"),
                   tuple(sorted((p.get("accessScope") or {}).get("namespaces") or []))) for p in entry.get("accessPolicies") or [])


def access_entry_actions(desired, current):
    """(to create, to delete): by principal ARN. Only STANDARD entries are pruned: EC2_LINUX entries of managed
    node groups belong to EKS; a changed entry is deleted and re-created (eksctl has no update)."""
    current_by_arn = dict((e.get("principalARN"), e) for e in current or [])
    desired_by_arn = dict((e.get("principalARN"), e) for e in desired or [])
    create, delete = [], []
    for arn, entry in desired_by_arn.items():
        have = current_by_arn.get(arn)
        if have is None:
            create.append(entry)
        elif (have.get("type", "STANDARD") != entry.get("type", "STANDARD")
              or sorted(have.get("kubernetesGroups") or []) != sorted(entry.get("kubernetesGroups") or [])
              or _policies(have) != _policies(entry)):
            delete.append(arn)
            create.append(entry)
    for arn, entry in current_by_arn.items():
        if arn not in desired_by_arn and entry.get("type", "STANDARD") == "STANDARD":
            delete.append(arn)
    return create, sorted(delete)


def addon_actions(desired, current):
    """(to create, to update). An add-on without a version keeps the version it runs (after an upgrade the module
    moves those to `latest` for the new minor); a pinned version or changed configuration values are updated."""
    current_by_name = dict((a.get("Name"), a) for a in current or [])
    create, update = [], []
    for addon in desired or []:
        have = current_by_name.get(addon["name"])
        if have is None:
            create.append(addon)
            continue
        want_version = addon.get("version")
        differs = bool(want_version) and want_version != "latest" and have.get("Version") != want_version
        if (addon.get("configurationValues") or "") != (have.get("ConfigurationValues") or ""):
            differs = True
        if differs:
            update.append(addon)
    return create, update


def pod_identity_actions(desired, current):
    """(to create, to update, to delete (namespace, service account)), keyed by namespace/service account."""
    def key(item):
        return (item.get("namespace") or item.get("Namespace"), item.get("serviceAccountName") or item.get("ServiceAccountName"))

    current_by_key = dict((key(a), a) for a in current or [])
    desired_by_key = dict((key(a), a) for a in desired or [])
    create, update = [], []
    for k, assoc in desired_by_key.items():
        have = current_by_key.get(k)
        if have is None:
            create.append(assoc)
        elif assoc.get("roleARN") and have.get("RoleARN") != assoc.get("roleARN"):
            update.append(assoc)
    delete = sorted(k for k in current_by_key if k not in desired_by_key and not (current_by_key[k].get("OwnerARN") or ""))
    return create, update, delete


def nodegroup_actions(desired, current, control_plane_version):
    """(to create, to scale, to upgrade) for managed node groups, by name."""
    current_by_name = dict((n.get("Name"), n) for n in current or [])
    create, scale, upgrade = [], [], []
    for group in desired or []:
        have = current_by_name.get(group["name"])
        if have is None:
            create.append(group)
            continue
        want = (group.get("desiredCapacity"), group.get("minSize"), group.get("maxSize"))
        got = (have.get("DesiredCapacity"), have.get("MinSize"), have.get("MaxSize"))
        if any(w is not None and w != g for w, g in zip(want, got)):
            scale.append(group)
        if have.get("Version") and parse_minor(have["Version"]) < parse_minor(control_plane_version):
            upgrade.append(group["name"])
    return create, scale, upgrade


class Eksctl(object):
    """Runs eksctl for one module invocation and remembers the command lines it ran."""

    def __init__(self, module, binary, region, environ=None):
        self.module = module
        self.binary = binary
        self.region = region
        self.environ = dict(environ or {})
        self.commands = []

    def run(self, args, config=None, mutating=False, check=True):
        argv = [self.binary] + list(args)
        path = None
        try:
            if config is not None:
                handle, path = tempfile.mkstemp(prefix="hubops-eksctl-", suffix=".yaml")
                with os.fdopen(handle, "w") as stream:
                    yaml.safe_dump(config, stream, default_flow_style=False, sort_keys=False)
                argv += ["-f", path]
            if mutating:
                self.commands.append(" ".join(a if a != path else "<config>" for a in argv))
            rc, out, err = self.module.run_command(argv, environ_update=self.environ)
        finally:
            if path:
                os.unlink(path)
        if check and rc != 0:
            raise EksctlError("`%s` failed (rc %d): %s" % (" ".join(argv[:4]), rc, (err or out).strip()[-2000:]))
        return rc, out, err

    def get_json(self, args):
        rc, out, err = self.run(list(args) + ["-o", "json"], check=False)
        if rc != 0:
            if "ResourceNotFoundException" in (err or "") or "No cluster found" in (err or ""):
                return None
            raise EksctlError("`eksctl %s` failed (rc %d): %s" % (" ".join(args[:2]), rc, (err or out).strip()[-2000:]))
        try:
            return json.loads(out or "null")
        except ValueError:
            raise EksctlError("`eksctl %s` printed no JSON: %s" % (" ".join(args[:2]), out[:500]))

    def version(self):
        info = self.get_json(["version"]) or {}
        version = parse_eksctl_version(info.get("Version", ""))
        check_eksctl_version(version)
        return version, list(info.get("EKSServerSupportedVersions") or [])

    def where(self, name):
        return ["--cluster", name, "--region", self.region]
