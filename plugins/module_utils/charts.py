# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where each chart and image comes from: the upstream default, an inventory override (repo/name/version or a local
path), a directory of local charts (hubops_charts_dir, for mirrors and tests), and registry mirrors for images."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

# Upstream repositories and the versions this collection is tested with (../shared/reference/charts/versions.yml).
DEFAULT_CHARTS = {
    "karpenter": {"repo": "oci://public.ecr.aws/karpenter", "name": "karpenter", "version": "1.14.1"},
    "karpenter-crd": {"repo": "oci://public.ecr.aws/karpenter", "name": "karpenter-crd", "version": "1.14.1"},
    "jupyterhub": {"repo": "https://hub.jupyter.org/helm-chart/", "name": "jupyterhub", "version": "4.4.0"},
    "kube-prometheus-stack": {"repo": "https://prometheus-community.github.io/helm-charts", "name": "kube-prometheus-stack",
                              "version": "88.5.3"},
    "dask-gateway": {"repo": "https://helm.dask.org/", "name": "dask-gateway", "version": "2026.3.0"},
    "aws-load-balancer-controller": {"repo": "https://aws.github.io/eks-charts", "name": "aws-load-balancer-controller",
                                     "version": "3.5.0"},
}


def deep_merge(base, extra):
    """extra over base, recursively for dicts; lists and scalars from extra replace (how Helm merges values)."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class ChartSourceError(ValueError):
    pass


def chart_source(key, charts=None, charts_dir=None):
    """{chart_ref, chart_repo_url, chart_version, values, source} for kubernetes.core.helm.

    Order: hubops_charts.<key>.path, then hubops_charts.<key>.repo (+ name, version), then <charts_dir>/<key> when that
    directory exists, then the upstream default. An oci:// repo becomes chart_ref <repo>/<name>."""
    given = dict((charts or {}).get(key) or {})
    values = dict(given.get("values") or {})
    if given.get("path"):
        return {"chart_ref": given["path"], "chart_repo_url": None, "chart_version": None, "values": values,
                "source": given["path"]}
    if not given.get("repo") and charts_dir and os.path.isdir(os.path.join(charts_dir, key)):
        path = os.path.join(charts_dir, key)
        return {"chart_ref": path, "chart_repo_url": None, "chart_version": None, "values": values, "source": path}
    default = DEFAULT_CHARTS.get(key)
    if default is None and not given.get("repo"):
        raise ChartSourceError("hubops_charts.%s: no default source for this chart; set repo + version or path." % key)
    default = default or {}
    repo = given.get("repo") or default["repo"]
    name = given.get("name") or default.get("name") or key
    version = str(given.get("version") or default.get("version") or "")
    if repo.startswith("oci://"):
        ref = "%s/%s" % (repo.rstrip("/"), name)
        return {"chart_ref": ref, "chart_repo_url": None, "chart_version": version or None, "values": values,
                "source": "%s:%s" % (ref, version)}
    return {"chart_ref": name, "chart_repo_url": repo, "chart_version": version or None, "values": values,
            "source": "%s %s %s" % (repo, name, version)}


def mirror_image(repository, registries=None):
    """public.ecr.aws/karpenter/controller with {public.ecr.aws: mirror.example.org/ecr} ->
    mirror.example.org/ecr/karpenter/controller; unchanged without a matching mirror."""
    for upstream, mirror in sorted((registries or {}).items(), key=lambda item: -len(item[0])):
        prefix = upstream.rstrip("/") + "/"
        if repository.startswith(prefix):
            return mirror.rstrip("/") + "/" + repository[len(prefix):]
    return repository
