# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Hub-side code (roles/jupyterhub/files/hubops_hub) against the jupyterhub, kubespawner and oauthenticator versions
of the z2jh 4.4.0 hub image (pinned in requirements-test.txt). No Kubernetes: KubeSpawner's client configuration
is stubbed so nothing reads a kubeconfig, and a spawner's API client is replaced where a test starts a server."""

import copy
import os
import sys

import pytest

HUB_FILES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "jupyterhub", "files"))
if HUB_FILES not in sys.path:
    sys.path.insert(0, HUB_FILES)

# The contract's example, plus a second group (Cognito/OIDC/LDAP members, its own default) and a group nobody joins.
CONFIG = {
    "deployment": "dandi",
    "auth_type": "github",
    "image_allowlist": ["docker.io/dandiarchive", "quay.io/jupyter"],
    "groups": [
        {
            "name": "neuro",
            "display_name": "Neuroscience",
            "members": {"github_teams": ["dandi:neuro"], "cognito_groups": [], "ldap_groups": [], "oidc_groups": [], "users": ["alice"]},
            "profiles": [
                {"name": "small", "display_name": "Small", "description": "2 CPU, 8 GiB", "cpu": 2, "memory": "8Gi", "gpu": 0,
                 "images": ["quay.io/jupyter/scipy-notebook:2025-01-01"], "allow_custom_image": True, "nodepool": "neuro", "default": True},
                {"name": "gpu", "cpu": 8, "memory": "30Gi", "gpu": 1, "images": ["quay.io/jupyter/pytorch-notebook:cuda12-2025-01-01"],
                 "allow_custom_image": False, "nodepool": "gpu"},
            ],
        },
        {
            "name": "vision",
            "display_name": "Vision",
            "members": {"github_teams": [], "cognito_groups": ["vision-lab"], "ldap_groups": ["cn-vision"], "oidc_groups": ["vision"],
                        "users": ["carol"]},
            "profiles": [
                {"name": "small", "display_name": "Small", "cpu": "500m", "memory": "2G", "gpu": 0,
                 "images": ["quay.io/jupyter/minimal-notebook:2025-01-01", "dandiarchive/dandihub:latest"],
                 "allow_custom_image": True, "nodepool": "vision", "default": True},
            ],
        },
        {
            "name": "empty",
            "members": {"users": ["erin"]},
            "profiles": [],
        },
    ],
}


@pytest.fixture
def config():
    return copy.deepcopy(CONFIG)


@pytest.fixture(autouse=True)
def no_kube_config(monkeypatch):
    """KubeSpawner() loads the in-cluster config or ~/.kube/config; neither is wanted (nor reachable) here."""
    import kubespawner.spawner  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(kubespawner.spawner, "load_config", lambda *args, **kwargs: None)
