# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The z2jh values builder: the values of every inventory, merged over the chart's defaults, validate against the
chart's schema; groups resolve to their pools; secrets never enter the values; mirrors and extra values apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

import jsonschema
import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import hub as H

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
REFERENCE = os.path.abspath(os.path.join(REPO, "..", "shared", "reference"))
CHART = os.path.join(REFERENCE, "charts", "jupyterhub")
SCHEMA = os.path.join(REFERENCE, "zero-to-jupyterhub-k8s", "values.schema.yaml")
FILES = os.path.join(REPO, "roles", "jupyterhub", "files", "hubops_hub")
INVENTORIES = sorted(glob.glob(os.path.join(REPO, "inventories", "*", "group_vars", "all"))
                     + glob.glob(os.path.join(REPO, "inventories", "examples", "*", "group_vars", "all")))

needs_reference = pytest.mark.skipif(not os.path.isfile(SCHEMA), reason="../shared/reference (z2jh schema) is not beside the repo")


def load_inventory(path):
    inv = {}
    for name in sorted(os.listdir(path)):
        if name.endswith((".yml", ".yaml")) and "vault" not in name:
            with open(os.path.join(path, name)) as handle:
                inv.update(yaml.safe_load(handle) or {})
    return inv


def settings_for(inv, **extra):
    hub = inv.get("hubops_hub") or {"auth": {"type": "dummy", "allow_dummy": True}}
    out = {
        "deployment": inv["hubops_deployment"],
        "groups": inv.get("hubops_groups") or [],
        "nodepools": inv.get("hubops_nodepools") or [],
        "image_allowlist": inv.get("hubops_image_allowlist") or [],
        "image_registries": inv.get("hubops_image_registries") or {},
        "hub": hub,
        "files": {name: open(os.path.join(FILES, name)).read() for name in sorted(os.listdir(FILES)) if name.endswith(".py")},
        "chart_values": ((inv.get("hubops_charts") or {}).get("jupyterhub") or {}).get("values") or {},
    }
    if H.auth_type(hub) == "cognito":
        out["cognito"] = {"client_id": "cid", "client_secret": "csecret-cognito", "authorize_url": "https://x/oauth2/authorize",
                          "token_url": "https://x/oauth2/token", "userdata_url": "https://x/oauth2/userInfo"}
    for kind, value in (("github", "client_secret"), ("dandi", "client_secret"), ("oidc", "client_secret")):
        if H.auth_type(hub) == kind and str(hub["auth"].get(value, "")).startswith("{{"):
            hub["auth"] = dict(hub["auth"], client_id="id", client_secret="s")
    out.update(extra)
    return out


def chart_defaults():
    with open(os.path.join(CHART, "values.yaml")) as handle:
        return yaml.safe_load(handle)


def z2jh_schema():
    with open(SCHEMA) as handle:
        return yaml.safe_load(handle)


def github_settings(**hub_extra):
    hub = {"domain": "hub.example.org", "auth": {"type": "github", "client_id": "Iv1.abc", "client_secret": "gh-SECRET-123",
                                                 "admins": ["alice"], "allowed_organizations": ["dandi"]}}
    hub.update(hub_extra)
    return {"deployment": "dandi", "hub": hub, "image_allowlist": ["docker.io/dandiarchive"],
            "groups": [{"name": "neuro", "members": {"github_teams": ["dandi:neuro"]},
                        "profiles": [{"name": "small", "cpu": 2, "memory": "8Gi", "allow_custom_image": True}]},
                       {"name": "bio", "nodepool": {"shared": "gpu"}}],
            "nodepools": [{"name": "gpu", "gpu": {"count": 1}, "families": ["g4dn"]}],
            "files": {"profiles.py": "# code"}}


@needs_reference
@pytest.mark.parametrize("path", INVENTORIES, ids=lambda p: p.split(os.sep)[-3])
def test_values_of_every_inventory_validate_against_the_chart_schema(path):
    inv = load_inventory(path)
    if "hubops_deployment" not in inv:
        pytest.skip("%s has no hubops_deployment (commented sample)" % path)
    values = H.hub_values(settings_for(inv))
    merged = H.deep_merge(chart_defaults(), values)
    jsonschema.validate(merged, z2jh_schema())


@needs_reference
def test_schema_check_can_fail():
    merged = H.deep_merge(chart_defaults(), {"cull": {"timeout": "an hour"}, "hub": {"unknownKey": 1}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(merged, z2jh_schema())


@needs_reference
def test_chart_images_are_the_charts_own():
    defaults = chart_defaults()
    for path, upstream in H.CHART_IMAGES:
        node = defaults
        for key in path:
            node = node[key]
        name = node["name"]
        assert upstream in (name, "docker.io/library/" + name), path


def test_local_inventory_groups_resolve_to_their_pools():
    inv = load_inventory(os.path.join(REPO, "inventories", "local", "group_vars", "all"))
    custom = H.hub_custom(settings_for(inv))
    pools = {g["name"]: {p["name"]: (p["nodepool"], p["gpu"]) for p in g["profiles"]} for g in custom["groups"]}
    assert pools["neuro"] == {"small": ("neuro", 0), "large": ("neuro", 0), "gpu": ("gpu", 1)}
    # No profiles: one standard server on the group's own pool; on a GPU pool it gets the pool's GPU.
    assert pools["astro"] == {"standard": ("astro", 0)}
    assert pools["bio"] == {"standard": ("gpu", 1)}
    assert custom["auth_type"] == "cognito"
    assert custom["auth"]["all_member_groups"] == ["neuro", "astro", "bio"]
    assert custom["auth"]["groups_claim"] == "cognito:groups"
    assert custom["auth"]["oauth_callback_url"] == "https://hub.local.example.org/hub/oauth_callback"


def test_custom_config_is_accepted_by_the_hub_profile_code():
    import sys
    sys.path.insert(0, os.path.dirname(FILES))
    try:
        from hubops_hub.profiles import build_entries
    finally:
        sys.path.pop(0)
    entries = build_entries(H.hub_custom(github_settings()))
    assert [e["slug"] for e in entries["neuro"]] == ["neuro-small"]
    bio = entries["bio"][0]["kubespawner_override"]
    assert bio["node_selector"] == {"karpenter.sh/nodepool": "gpu"}
    assert bio["extra_resource_limits"] == {"nvidia.com/gpu": "1"}


def test_no_secret_reaches_the_values():
    settings = github_settings(image_pull_secrets=[{"registry": "ghcr.io", "username": "bot", "password": "pull-SECRET-456"}])
    values = H.hub_values(settings)
    text = json.dumps(values)
    assert "gh-SECRET-123" not in text and "pull-SECRET-456" not in text and "Iv1.abc" not in text
    env = values["hub"]["extraEnv"]
    assert env[H.ENV_CLIENT_SECRET] == {"valueFrom": {"secretKeyRef": {"name": H.AUTH_SECRET, "key": H.ENV_CLIENT_SECRET}}}
    assert values["singleuser"]["image"]["pullSecrets"] == [H.PULL_SECRET]
    secrets = H.hub_secrets(settings)
    assert secrets["auth"] == {H.ENV_CLIENT_ID: "Iv1.abc", H.ENV_CLIENT_SECRET: "gh-SECRET-123"}
    assert json.loads(secrets["pull"]) == {"auths": {"ghcr.io": {"username": "bot", "password": "pull-SECRET-456"}}}
    assert values["hub"]["annotations"]["hubops.io/secrets-checksum"] == secrets["checksum"]


def test_a_rotated_secret_changes_the_checksum_only():
    before = H.hub_values(github_settings())
    settings = github_settings()
    settings["hub"]["auth"]["client_secret"] = "rotated"
    after = H.hub_values(settings)
    assert before["hub"]["annotations"] != after["hub"]["annotations"]
    before["hub"].pop("annotations")
    after["hub"].pop("annotations")
    assert before == after


def test_missing_secret_names_the_setting():
    settings = github_settings()
    settings["hub"]["auth"].pop("client_secret")
    with pytest.raises(H.HubValuesError, match="HUBOPS_OAUTH_CLIENT_SECRET.*github"):
        H.hub_secrets(settings)


def test_dandi_is_github_with_the_archive_check():
    settings = github_settings()
    settings["hub"]["auth"]["dandi_api"] = {"url": "https://api.dandiarchive.org", "token": "dandi-TOKEN"}
    assert H.auth_type(settings["hub"]) == "dandi"
    secrets = H.hub_secrets(settings)
    assert secrets["auth"][H.ENV_DANDI_TOKEN] == "dandi-TOKEN"
    custom = H.hub_custom(settings)
    assert custom["auth"]["dandi_api_url"] == "https://api.dandiarchive.org"
    assert custom["auth"]["all_member_groups"] == ["dandi:neuro"]
    assert "dandi-TOKEN" not in json.dumps(H.hub_values(settings))


def test_ldap_password_goes_to_the_environment():
    settings = github_settings()
    settings["hub"]["auth"] = {"type": "ldap", "server_address": "ldap.example.org", "bind_dn": "cn=hub,dc=example,dc=org",
                               "bind_password": "ldap-PW", "user_search_base": "ou=people,dc=example,dc=org"}
    assert H.hub_secrets(settings)["auth"] == {H.ENV_LDAP_PASSWORD: "ldap-PW"}
    values = H.hub_values(settings)
    assert values["custom"]["hubops"]["auth"]["bind_dn"] == "cn=hub,dc=example,dc=org"
    assert "ldap-PW" not in json.dumps(values)


def test_ldap_ca_bundle_reaches_the_hub():
    """The CA the hub verifies the LDAP server with (public, so in the values, read by hubops_hub/auth.py)."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    settings = github_settings()
    settings["hub"]["auth"] = {"type": "ldap", "server_address": "ldap.example.org", "user_search_base": "dc=example,dc=org",
                               "bind_dn": "cn=hub,dc=example,dc=org", "bind_password": "ldap-PW", "use_ssl": True, "ca_bundle": pem}
    auth = H.hub_values(settings)["custom"]["hubops"]["auth"]
    assert auth["ca_bundle"] == pem and auth["use_ssl"] is True


def test_hardening_defaults():
    values = H.hub_values(github_settings())
    single = values["singleuser"]
    rules = single["networkPolicy"]["egressAllowRules"]
    assert rules["cloudMetadataServer"] is False and rules["privateIPs"] is False and rules["nonPrivateIPs"] is True
    assert single["cloudMetadata"]["blockWithIptables"] is True
    assert single["extraPodConfig"]["securityContext"]["runAsNonRoot"] is True
    assert single["uid"] == 1000 and single["allowPrivilegeEscalation"] is False
    assert single["startTimeout"] == H.DEFAULT_START_TIMEOUT
    assert values["cull"] == {"enabled": True, "timeout": 3600, "every": 600, "maxAge": 0, "users": False, "adminUsers": True}
    assert values["hub"]["db"]["pvc"]["storageClassName"] == "hubops-gp3"
    assert values["hub"]["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "core"}
    assert values["scheduling"]["userPlaceholder"] == {"enabled": False, "replicas": 0}


def test_inventory_settings_reach_the_values():
    settings = github_settings(culling={"timeout": 1800, "max_age": 28800}, start_timeout=1200, placeholders={"replicas": 3},
                               network={"allow_services": [{"namespace": "dask-gateway", "ports": [8000]}]},
                               db={"size": "5Gi"}, default_image="docker.io/dandiarchive/dandihub:2025.1")
    values = H.hub_values(settings)
    assert values["cull"]["timeout"] == 1800 and values["cull"]["maxAge"] == 28800 and values["cull"]["every"] == 600
    assert values["singleuser"]["startTimeout"] == 1200
    assert values["scheduling"]["userPlaceholder"] == {"enabled": True, "replicas": 3}
    assert values["scheduling"]["podPriority"] == {"enabled": True}
    assert values["singleuser"]["networkPolicy"]["egress"] == [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dask-gateway"}}}],
         "ports": [{"port": 8000, "protocol": "TCP"}]}]
    assert values["hub"]["db"]["pvc"]["storage"] == "5Gi"
    assert values["singleuser"]["image"] == {"name": "docker.io/dandiarchive/dandihub", "tag": "2025.1"}
    profiles = values["custom"]["hubops"]["groups"][0]["profiles"]
    assert profiles[0]["images"] == ["docker.io/dandiarchive/dandihub:2025.1"]


def test_mirrors_rewrite_every_chart_image():
    values = H.hub_values(dict(github_settings(), image_registries={"quay.io": "mirror.example.org/quay",
                                                                    "registry.k8s.io": "mirror.example.org/k8s",
                                                                    "docker.io": "mirror.example.org/hub"}))
    assert values["hub"]["image"] == {"name": "mirror.example.org/quay/jupyterhub/k8s-hub"}
    assert values["proxy"]["traefik"]["image"] == {"name": "mirror.example.org/hub/library/traefik"}
    assert values["scheduling"]["userPlaceholder"]["image"] == {"name": "mirror.example.org/k8s/pause"}
    assert values["singleuser"]["image"]["name"] == "mirror.example.org/quay/jupyter/scipy-notebook"
    plain = H.hub_values(github_settings())
    assert "image" not in plain["hub"]


def test_extra_chart_values_win():
    values = H.hub_values(dict(github_settings(), chart_values={"prePuller": {"hook": {"enabled": False}},
                                                                "cull": {"every": 60}}))
    assert values["prePuller"] == {"hook": {"enabled": False}}
    assert values["cull"]["every"] == 60 and values["cull"]["timeout"] == 3600


def test_cognito_groups_from_members():
    groups = [{"name": "neuro", "members": {"cognito_groups": ["neuro", "shared"]}},
              {"name": "bio", "members": {"cognito_groups": ["shared"]}}, {"name": "astro"}]
    assert H.cognito_groups(groups) == [{"name": "neuro", "description": "hubops: members use the servers of neuro"},
                                        {"name": "shared", "description": "hubops: members use the servers of neuro, bio"}]


def test_values_are_stable():
    assert H.hub_values(github_settings()) == H.hub_values(github_settings())
    text = yaml.safe_dump(H.hub_values(github_settings()))
    assert yaml.safe_load(text) == H.hub_values(github_settings())


def test_mirrors_rewrite_the_user_images_too():
    """hubops_image_registries: an internet-restricted site mirrors every image, so the images users' servers run
    (the default singleuser image, every profile's images, Docker Hub short names included) go to the mirror too."""
    registries = {"quay.io": "mirror.example.org/quay", "docker.io": "mirror.example.org/hub"}
    settings = dict(github_settings(default_image="quay.io/jupyter/datascience-notebook:2025-10-20"), image_registries=registries)
    settings["groups"][0]["profiles"].append({"name": "many", "images": [
        "docker.io/dandiarchive/dandihub:2025.1", "jupyter/base-notebook:latest", "python:3.12", "ghcr.io/org/image:1",
        "quay.io/org/pinned@sha256:" + "a" * 64]})
    values = H.hub_values(settings)
    assert values["singleuser"]["image"] == {"name": "mirror.example.org/quay/jupyter/datascience-notebook", "tag": "2025-10-20"}
    profiles = values["custom"]["hubops"]["groups"][0]["profiles"]
    assert profiles[0]["images"] == ["mirror.example.org/quay/jupyter/datascience-notebook:2025-10-20"]
    assert profiles[1]["images"] == ["mirror.example.org/hub/dandiarchive/dandihub:2025.1",
                                     "mirror.example.org/hub/jupyter/base-notebook:latest",
                                     "mirror.example.org/hub/library/python:3.12",
                                     "ghcr.io/org/image:1",   # no mirror for ghcr.io: as written
                                     "mirror.example.org/quay/org/pinned@sha256:" + "a" * 64]
    # the shared-pool group's default profile runs the default image, mirrored as well
    assert values["custom"]["hubops"]["groups"][1]["profiles"][0]["images"] == profiles[0]["images"]
    plain = H.hub_values(dict(settings, image_registries={}))
    assert plain["custom"]["hubops"]["groups"][0]["profiles"][1]["images"][1] == "jupyter/base-notebook:latest"
