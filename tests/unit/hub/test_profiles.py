# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""hubops_hub.profiles with the real KubeSpawner 7 / JupyterHub 5: the profile list a user gets, applied by
KubeSpawner's own form parsing, validation and override code, down to the pod manifest it would create."""

import asyncio
import copy
import json
import re
import shutil
import subprocess

import pytest
from hubops_hub import profiles
from hubops_hub.profiles import image_allowed, image_regex, make_profile_list, user_groups
from kubespawner import KubeSpawner
from tornado import web

ALLOWLIST = ["docker.io/dandiarchive", "quay.io/jupyter"]

# What z2jh 4.4.0 configures by default (scheduling.userPods.tolerations), plus one an operator added.
Z2JH_TOLERATIONS = [
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
]
OPERATOR_TOLERATION = {"key": "example.org/maintenance", "operator": "Exists", "effect": "NoSchedule"}


class FakeGroup:
    """What `user.groups` holds in the hub: orm.Group objects with a name."""

    def __init__(self, name):
        self.name = name


class FakeUser:
    """The attributes of jupyterhub.user.User that KubeSpawner and hubops_hub.profiles read."""

    def __init__(self, name, groups=(), admin=False):
        self.name = name
        self.groups = [FakeGroup(group) for group in groups]
        self.admin = admin
        self.id = 7
        self.url = "/user/%s/" % name
        self.escaped_name = name


NO_GROUP = "You are not in any group of this hub; ask an admin to add you (your groups: "
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
GIB = 2 ** 30


class RecordingApi:
    """Stands in for the spawner's CoreV1Api: records (and refuses) every call, so a test sees whether any was made."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        async def call(*args, **kwargs):
            self.calls.append(name)
            raise AssertionError("the Kubernetes API was called: %s" % name)

        return call


def run(scenario):
    return asyncio.run(scenario())


def new_spawner(config, user):
    """A KubeSpawner as the hub makes one (z2jh's tolerations configured), with our profile list."""
    spawner = KubeSpawner(_mock=True, user=user, tolerations=copy.deepcopy(Z2JH_TOLERATIONS + [OPERATOR_TOLERATION]))
    spawner.profile_list = make_profile_list(config)
    spawner.api = RecordingApi()
    return spawner


async def slugs_for(config, user):
    spawner = new_spawner(config, user)
    return [entry["slug"] for entry in await spawner.profile_list(spawner)]


async def apply(config, user, formdata):
    """What the hub does on a POST to /hub/spawn, up to the pod: form data -> user_options -> load_user_options."""
    spawner = new_spawner(config, user)
    spawner.user_options = spawner.run_options_from_form(formdata)
    await spawner.load_user_options()
    return spawner


def message_shown(error):
    """The text JupyterHub's error page and spawn form show for an HTTPError (BaseHandler.write_error)."""
    return getattr(error, "jupyterhub_message", error.log_message % error.args)


# --- membership (pure) ---


def test_user_in_one_group_by_name(config):
    assert user_groups(config, "alice", [], False) == ["neuro"]
    assert user_groups(config, "Alice", [], False) == ["neuro"]


def test_team_membership_uses_hub_group_names(config):
    assert user_groups(config, "dave", ["dandi:neuro"], False) == ["neuro"]
    assert user_groups(config, "dave", ["Dandi:Neuro"], False) == ["neuro"]  # GitHub org/team names ignore case
    assert user_groups(config, "dave", ["dandi:other"], False) == []


@pytest.mark.parametrize("hub_group", ["vision-lab", "cn-vision", "vision"])
def test_cognito_ldap_oidc_group_membership(config, hub_group):
    assert user_groups(config, "dave", [hub_group], False) == ["vision"]
    assert user_groups(config, "dave", [hub_group.upper()], False) == []


def test_user_in_two_groups_in_config_order(config):
    assert user_groups(config, "carol", ["dandi:neuro"], False) == ["neuro", "vision"]


def test_admin_is_in_every_group(config):
    assert user_groups(config, "root", [], True) == ["neuro", "vision", "empty"]


def test_user_in_no_group(config):
    assert user_groups(config, "mallory", ["somewhere-else"], False) == []


# --- the profile list KubeSpawner gets ---


def test_one_group_sees_exactly_its_profiles(config):
    assert run(lambda: slugs_for(config, FakeUser("alice"))) == ["neuro-small", "neuro-gpu"]


def test_profile_entry_format(config):
    async def scenario():
        spawner = new_spawner(config, FakeUser("alice"))
        return await spawner.profile_list(spawner)

    small, gpu = run(scenario)
    assert small["display_name"] == "Neuroscience — Small"
    assert small["slug"] == "neuro-small"
    assert small["description"] == "2 CPU, 8 GiB"
    assert small["default"] is True and gpu["default"] is False
    override = small["kubespawner_override"]
    assert override["cpu_guarantee"] == override["cpu_limit"] == 2.0
    assert override["mem_guarantee"] == override["mem_limit"] == 8 * GIB
    assert override["node_selector"] == {"karpenter.sh/nodepool": "neuro"}
    assert override["extra_labels"] == {"hubops.io/group": "neuro", "hubops.io/profile": "small"}
    assert override["extra_annotations"] == {"karpenter.sh/do-not-disrupt": "true"}
    assert "extra_resource_limits" not in override
    image = small["profile_options"]["image"]
    assert list(image["choices"]) == ["quay.io/jupyter/scipy-notebook:2025-01-01"]
    assert image["choices"]["quay.io/jupyter/scipy-notebook:2025-01-01"]["default"] is True
    assert image["unlisted_choice"]["enabled"] is True
    assert image["unlisted_choice"]["validation_regex"] == image_regex(ALLOWLIST)
    assert image["unlisted_choice"]["kubespawner_override"] == {"image": "{value}"}
    assert "unlisted_choice" not in gpu["profile_options"]["image"]
    assert gpu["description"] == "8 CPU, 30Gi memory, 1 GPU"
    assert gpu["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}


def test_two_groups_see_the_union_once_with_one_default(config):
    # carol is in vision by name and in neuro by team; each group has a default profile
    async def scenario():
        spawner = new_spawner(config, FakeUser("carol", groups=["dandi:neuro"]))
        return await spawner.profile_list(spawner)

    entries = run(scenario)
    assert [entry["slug"] for entry in entries] == ["neuro-small", "neuro-gpu", "vision-small"]
    assert [entry["default"] for entry in entries] == [True, False, False]


def test_group_listed_twice_gives_no_duplicates(config):
    config["groups"].append(copy.deepcopy(config["groups"][0]))
    assert run(lambda: slugs_for(config, FakeUser("alice"))) == ["neuro-small", "neuro-gpu"]


def test_admin_sees_all_profiles(config):
    assert run(lambda: slugs_for(config, FakeUser("root", admin=True))) == ["neuro-small", "neuro-gpu", "vision-small"]


def test_spawn_form_rendered_by_kubespawner_lists_only_the_users_profiles(config):
    async def scenario():
        spawner = new_spawner(config, FakeUser("dave", groups=["dandi:neuro"]))
        return await spawner.get_options_form()

    form = run(scenario)
    assert 'value="neuro-small"' in form and 'value="neuro-gpu"' in form
    assert "vision-small" not in form
    assert "Neuroscience — Small" in form
    assert 'name="profile-option-neuro-small--image"' in form
    assert 'data-name="profile-option-neuro-small--image--unlisted-choice"' in form


def test_user_in_no_group_gets_a_clear_403_on_the_spawn_page(config):
    async def scenario():
        spawner = new_spawner(config, FakeUser("mallory", groups=["somewhere-else"]))
        with pytest.raises(web.HTTPError) as raised:
            await spawner.get_options_form()
        return raised.value

    error = run(scenario)
    assert error.status_code == 403
    assert message_shown(error) == NO_GROUP + "somewhere-else)"
    assert error.log_message % error.args == message_shown(error)


def test_user_in_no_group_gets_no_pod(config):
    async def scenario():
        spawner = new_spawner(config, FakeUser("mallory"))
        spawner.user_options = {"profile": "neuro-small"}
        with pytest.raises(web.HTTPError) as raised:
            await spawner.start()
        return spawner, raised.value

    spawner, error = run(scenario)
    assert error.status_code == 403 and message_shown(error) == NO_GROUP + "none)"
    assert spawner.api.calls == []


def test_groups_without_profiles_get_a_clear_403(config):
    async def scenario():
        spawner = new_spawner(config, FakeUser("erin"))
        with pytest.raises(web.HTTPError) as raised:
            await spawner.profile_list(spawner)
        return raised.value

    error = run(scenario)
    assert error.status_code == 403 and "(empty) have no server profiles" in message_shown(error)


def test_profile_of_another_group_is_refused_by_kubespawner(config):
    with pytest.raises(ValueError, match="No such profile: vision-small"):
        run(lambda: apply(config, FakeUser("alice"), {"profile": ["vision-small"]}))


# --- what KubeSpawner applies ---


def test_team_member_gets_the_profile_applied(config):
    spawner = run(lambda: apply(config, FakeUser("dave", groups=["dandi:neuro"]), {"profile": ["neuro-small"]}))
    assert spawner.node_selector == {"karpenter.sh/nodepool": "neuro"}
    assert spawner.cpu_guarantee == spawner.cpu_limit == 2.0
    assert spawner.mem_guarantee == spawner.mem_limit == 8 * GIB
    assert spawner.extra_labels == {"hubops.io/group": "neuro", "hubops.io/profile": "small"}
    assert spawner.extra_annotations == {"karpenter.sh/do-not-disrupt": "true"}
    assert spawner.extra_resource_limits == {}
    assert spawner.image == "quay.io/jupyter/scipy-notebook:2025-01-01"
    # lists are replaced by overrides: z2jh's and the operator's tolerations must survive, nothing is doubled
    assert spawner.tolerations == Z2JH_TOLERATIONS + [OPERATOR_TOLERATION]


def test_default_profile_when_none_chosen(config):
    spawner = run(lambda: apply(config, FakeUser("alice"), {}))
    assert spawner.node_selector == {"karpenter.sh/nodepool": "neuro"}
    assert spawner.extra_labels["hubops.io/profile"] == "small"


def test_listed_image_choice(config):
    form = {"profile": ["vision-small"], "profile-option-vision-small--image": ["dandiarchive/dandihub:latest"]}
    spawner = run(lambda: apply(config, FakeUser("carol"), form))
    assert spawner.image == "dandiarchive/dandihub:latest"
    assert spawner.cpu_limit == 0.5 and spawner.mem_limit == 2 * 10 ** 9


def test_gpu_profile_has_the_gpu_limit_and_toleration(config):
    spawner = run(lambda: apply(config, FakeUser("alice"), {"profile": ["neuro-gpu"]}))
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
    assert spawner.node_selector == {"karpenter.sh/nodepool": "gpu"}
    assert spawner.tolerations == Z2JH_TOLERATIONS + [OPERATOR_TOLERATION, GPU_TOLERATION]
    assert spawner.cpu_guarantee == spawner.cpu_limit == 8.0
    assert spawner.mem_guarantee == spawner.mem_limit == 30 * GIB
    assert spawner.image == "quay.io/jupyter/pytorch-notebook:cuda12-2025-01-01"


@pytest.mark.parametrize("image", ["dandiarchive/dandihub:latest", "docker.io/dandiarchive/dandihub:2025.01",
                                   "quay.io/jupyter/datascience-notebook:2025-01-01"])
def test_unlisted_image_inside_the_allowlist_is_accepted(config, image):
    form = {"profile": ["neuro-small"], "profile-option-neuro-small--image--unlisted-choice": [image]}
    spawner = run(lambda: apply(config, FakeUser("alice"), form))
    assert spawner.image == image
    assert spawner.node_selector == {"karpenter.sh/nodepool": "neuro"}


@pytest.mark.parametrize("image", ["docker.io/evil/miner:latest", "evil/miner", "python:3.11", "quay.io/jupyter-evil/x:1",
                                   "ghcr.io/dandiarchive/hub:1", "quay.io/jupyter/x:1\n", "quay.io/jupyter/x:1 --privileged",
                                   "docker.io/dandiarchive", "quay.io/jupyter/../../evil/x"])
def test_unlisted_image_outside_the_allowlist_is_refused(config, image):
    form = {"profile": ["neuro-small"], "profile-option-neuro-small--image--unlisted-choice": [image]}
    with pytest.raises(ValueError, match="failed validation regex"):
        run(lambda: apply(config, FakeUser("alice"), form))


def test_unlisted_image_refused_where_custom_images_are_off(config):
    form = {"profile": ["neuro-gpu"], "profile-option-neuro-gpu--image--unlisted-choice": ["quay.io/jupyter/x:1"]}
    with pytest.raises(ValueError, match="without being enabled"):
        run(lambda: apply(config, FakeUser("alice"), form))


def test_unlisted_image_via_rest_api_user_options_is_validated_too(config):
    async def scenario():
        spawner = new_spawner(config, FakeUser("alice"))
        spawner.user_options = {"profile": "neuro-small", "image--unlisted-choice": "docker.io/evil/miner:1"}
        with pytest.raises(ValueError, match="failed validation regex"):
            await spawner.start()
        return spawner

    assert run(scenario).api.calls == []


def test_pod_manifest_targets_the_pool_with_labels_and_annotation(config):
    async def scenario():
        spawner = await apply(config, FakeUser("alice"), {"profile": ["neuro-gpu"]})
        return (await spawner.get_pod_manifest()).to_dict()

    pod = run(scenario)
    assert pod["spec"]["node_selector"] == {"karpenter.sh/nodepool": "gpu"}
    tolerations = [{k: v for k, v in toleration.items() if v is not None} for toleration in pod["spec"]["tolerations"]]
    assert tolerations == Z2JH_TOLERATIONS + [OPERATOR_TOLERATION, GPU_TOLERATION]
    assert pod["metadata"]["labels"]["hubops.io/group"] == "neuro"
    assert pod["metadata"]["labels"]["hubops.io/profile"] == "gpu"
    assert pod["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
    container = pod["spec"]["containers"][0]
    assert container["image"] == "quay.io/jupyter/pytorch-notebook:cuda12-2025-01-01"
    assert container["resources"]["limits"] == {"cpu": 8.0, "memory": 30 * GIB, "nvidia.com/gpu": "1"}
    assert container["resources"]["requests"] == {"cpu": 8.0, "memory": 30 * GIB}


def test_pod_manifest_with_a_custom_image(config):
    async def scenario():
        form = {"profile": ["neuro-small"], "profile-option-neuro-small--image--unlisted-choice": ["dandiarchive/dandihub:x"]}
        spawner = await apply(config, FakeUser("alice"), form)
        return (await spawner.get_pod_manifest()).to_dict()

    pod = run(scenario)
    assert pod["spec"]["containers"][0]["image"] == "dandiarchive/dandihub:x"
    assert pod["spec"]["node_selector"] == {"karpenter.sh/nodepool": "neuro"}
    assert "nvidia.com/gpu" not in pod["spec"]["containers"][0]["resources"]["limits"]


# --- the allow-list: image_allowed and the validation regex mean the same ---

IMAGES = {
    "dandiarchive/dandihub": True,
    "dandiarchive/dandihub:latest": True,
    "docker.io/dandiarchive/dandihub:1.0": True,
    "index.docker.io/dandiarchive/dandihub": True,
    "dandiarchive/sub/path:tag": True,
    "dandiarchive/hub@sha256:" + "a" * 64: True,
    "dandiarchive/hub:1@sha256:" + "b" * 64: True,
    "quay.io/jupyter/scipy-notebook:2025-01-01": True,
    "quay.io/jupyter": True,
    "dandiarchive": False,  # docker.io/library/dandiarchive
    "docker.io/dandiarchive": False,  # also docker.io/library/dandiarchive
    "dandiarchive-x/hub": False,
    "dandiarchivex/hub": False,
    "docker.io/dandiarchivex/hub": False,
    "registry-1.docker.io/dandiarchive/hub": False,
    "quay.io/jupyterx/scipy": False,
    "quay.io/jupyter-evil/scipy": False,
    "quay.io:443/jupyter/scipy": False,
    "QUAY.IO/jupyter/scipy": False,
    "quay.io/Jupyter/scipy": False,
    "evil.io/quay.io/jupyter/x": False,
    "quay.io/jupyter/x:tag\n": False,
    " quay.io/jupyter/x": False,
    "quay.io/jupyter//x": False,
    "quay.io/jupyter/x:": False,
    "quay.io/jupyter/x:-bad": False,
    "quay.io/jupyter/x@sha256:short": False,
    "python:3.11": False,
    "": False,
}


@pytest.mark.parametrize("image,allowed", sorted(IMAGES.items()))
def test_image_allowed_and_regex_agree(image, allowed):
    assert image_allowed(image, ALLOWLIST) is allowed
    assert bool(re.match(image_regex(ALLOWLIST), image)) is allowed


OTHER_LISTS = {
    "library": (["docker.io/library"], {"python:3.11": True, "docker.io/python": True, "library/python": True,
                                        "docker.io/library/python:3": True, "index.docker.io/library/python": True,
                                        "jupyter/base": False, "library": True, "quay.io/library/python": False}),
    "one official image": (["docker.io/library/python"], {"python": True, "python:3.11-slim": True, "docker.io/python": True,
                                                          "pythonx": False, "library/pythonx": False, "ubuntu": False}),
    "whole docker hub": (["docker.io"], {"python": True, "jupyter/base:1": True, "a.b": True, "localhost/x": False,
                                         "localhost:5000/x": False, "quay.io/jupyter/x": False, "docker.io/x/y": True}),
    "hub namespace without host": (["dandiarchive"], {"dandiarchive/x": True, "docker.io/dandiarchive/x": True, "quay.io/dandiarchive/x": False}),
    "whole registry with port": (["localhost:5000"], {"localhost:5000/x": True, "localhost:5000/x/y:1": True, "localhost:5000": False,
                                                      "localhost/x": False, "localhost:5001/x": False}),
    "dotted namespace": (["docker.io/my.org"], {"docker.io/my.org/x": True, "my.org/x": False}),
}


@pytest.mark.parametrize("case", sorted(OTHER_LISTS))
def test_allowlist_normalisation(case):
    allowlist, images = OTHER_LISTS[case]
    regex = image_regex(allowlist)
    for image, allowed in images.items():
        assert image_allowed(image, allowlist) is allowed, image
        assert bool(re.match(regex, image)) is allowed, image


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_regex_means_the_same_in_the_browser():
    """Browsers compile the input's `pattern` as new RegExp('^(?:' + pattern + ')$', 'v'); node does the same."""
    cases = [(ALLOWLIST, image) for image in IMAGES] + [(lst, image) for lst, images in OTHER_LISTS.values() for image in images]
    payload = [{"regex": image_regex(allowlist), "image": image} for allowlist, image in cases]
    script = ("const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(cases.map(c => new RegExp('^(?:' + c.regex + ')$', 'v').test(c.image))));")
    result = subprocess.run(["node", "-e", script], input=json.dumps(payload), capture_output=True, text=True, check=True, timeout=60)
    in_browser = json.loads(result.stdout)
    assert in_browser == [image_allowed(image, allowlist) for allowlist, image in cases]


# --- config checks and conversions ---


@pytest.mark.parametrize("value,expected", [("8Gi", 8 * GIB), ("512Mi", 512 * 2 ** 20), ("8G", 8 * 10 ** 9), ("1e9", 10 ** 9),
                                            ("1.5Gi", 3 * GIB // 2), (1024, 1024), ("100k", 100000), ("0.5Ki", 512)])
def test_parse_memory(value, expected):
    assert profiles.parse_memory(value) == expected


@pytest.mark.parametrize("value", ["8GB", "8gi", "-1Gi", "0", "Gi", "", "8 Gi", True])
def test_parse_memory_refuses(value):
    with pytest.raises(ValueError):
        profiles.parse_memory(value)


@pytest.mark.parametrize("value,expected", [(2, 2.0), ("2", 2.0), (0.5, 0.5), ("500m", 0.5), ("1500m", 1.5)])
def test_parse_cpu(value, expected):
    assert profiles.parse_cpu(value) == expected


@pytest.mark.parametrize("change,match", [
    (lambda c: c["image_allowlist"].append("quay.io/Bad Prefix"), "image_allowlist entry"),
    (lambda c: c["groups"][0]["profiles"][0].update(memory="lots"), "memory"),
    (lambda c: c["groups"][0]["profiles"][0].update(cpu="0"), "cpu"),
    (lambda c: c["groups"][0]["profiles"][0].update(images=["not an image"]), "not a valid image reference"),
    (lambda c: c["groups"][0]["profiles"][0].pop("nodepool"), "no nodepool"),
])
def test_bad_config_fails_when_the_hub_starts(config, change, match):
    change(config)
    with pytest.raises(ValueError, match=match):
        make_profile_list(config)


def test_custom_image_without_allowlist_is_off(config):
    config["image_allowlist"] = []

    async def scenario():
        spawner = new_spawner(config, FakeUser("alice"))
        return await spawner.profile_list(spawner)

    assert "unlisted_choice" not in run(scenario)[0]["profile_options"]["image"]


def test_display_text_is_escaped_for_the_form(config):
    config["groups"][0]["display_name"] = "<b>Neuro</b> {{ 7 * 7 }}"

    async def scenario():
        spawner = new_spawner(config, FakeUser("alice"))
        return await spawner.profile_list(spawner)

    assert run(scenario)[0]["display_name"] == "&lt;b&gt;Neuro&lt;/b&gt; &#123;&#123; 7 * 7 &#125;&#125; — Small"
