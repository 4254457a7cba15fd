# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""roles/services/files/dask_gateway_config.py with fake options and user objects: who may create clusters, which
group's pool and limits a cluster gets, and how a user in several groups chooses."""

import importlib.util
import os
import sys
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_FILE = os.path.join(HERE, "..", "..", "..", "roles", "services", "files", "dask_gateway_config.py")


def load_module():
    spec = importlib.util.spec_from_file_location("hubops_dask_gateway_config", CONFIG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M = load_module()

SETTINGS = {
    "groups": [
        {"name": "neuro", "pool": "neuro-dask", "members": {"cognito_groups": ["neuro"], "users": ["Alice"]},
         "limits": {"max_cores": 16, "max_memory": "64Gi", "max_clusters": 2, "max_workers": 10}},
        {"name": "astro", "pool": "astro-dask", "members": {"github_teams": ["Org:Astro"], "oidc_groups": ["astro"]},
         "limits": {"max_cores": 64, "max_memory": "256Gi", "max_clusters": 4, "max_workers": 50}},
        {"name": "chem", "pool": "chem-dask", "members": {"ldap_groups": ["cn=chem,dc=example,dc=org"]},
         "limits": {"max_cores": 64, "max_memory": "256Gi", "max_clusters": 1, "max_workers": 50}},
    ],
    "idle_timeout": 900,
    "pool_label": "hubops.io/pool",
    "taint": {"key": "hubops.io/dask", "value": "true", "effect": "NoSchedule"},
}


class User:
    def __init__(self, name, groups=(), admin=False):
        self.name, self.groups, self.admin = name, list(groups), admin


class Chosen:
    def __init__(self, group=None):
        self.group = group


class FakeOptions:
    """The two classes of dask_gateway_server.options the file uses, recording what it asked for."""

    class Select:
        def __init__(self, field, options, default=None, label=None):
            self.field, self.options, self.default, self.label = field, options, default, label

    class Options:
        def __init__(self, *fields, **kwargs):
            self.fields, self.handler = list(fields), kwargs.get("handler")


class Refused(Exception):
    pass


def names(groups):
    return [g["name"] for g in groups]


@pytest.mark.parametrize("user, expected", [
    (User("alice"), ["neuro"]),                                   # members.users, any case
    (User("zoe", ["neuro"]), ["neuro"]),                          # cognito group
    (User("zoe", ["org:astro"]), ["astro"]),                      # GitHub team, any case
    (User("zoe", ["astro", "neuro"]), ["neuro", "astro"]),        # several: settings order
    (User("zoe", ["cn=chem,dc=example,dc=org"]), ["chem"]),       # LDAP DN, exact
    (User("zoe", ["CN=chem,dc=example,dc=org"]), []),
    (User("zoe", ["other"]), []),
    (User("root", [], admin=True), ["neuro", "astro", "chem"]),
])
def test_membership_follows_the_hubs_rules(user, expected):
    assert names(M.user_dask_groups(SETTINGS, user.name, user.groups, user.admin)) == expected


def test_a_cluster_runs_on_its_groups_spot_pool_with_its_limits():
    handler = M.make_handler(SETTINGS, refuse=Refused)
    overrides = handler(Chosen("neuro"), User("alice"))
    placement = {"nodeSelector": {"hubops.io/pool": "neuro-dask"},
                 "tolerations": [{"key": "hubops.io/dask", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]}
    assert overrides == {"cluster_max_cores": 16.0, "cluster_max_memory": 64 * 2 ** 30, "cluster_max_workers": 10,
                         "scheduler_extra_pod_config": placement, "worker_extra_pod_config": placement,
                         "environment": {"HUBOPS_DASK_GROUP": "neuro"}}


def test_the_default_group_is_the_one_with_the_largest_limits_first_in_order():
    # astro and chem have the same limits: astro comes first
    groups = M.user_dask_groups(SETTINGS, "root", [], True)
    assert M.default_group(groups)["name"] == "astro"
    handler = M.make_handler(SETTINGS, refuse=Refused)
    assert handler(Chosen(None), User("zoe", ["neuro", "astro"]))["cluster_max_workers"] == 50


def test_a_user_may_not_choose_a_group_they_are_not_in():
    handler = M.make_handler(SETTINGS, refuse=Refused)
    # alice is only in neuro: asking for astro gives her neuro's pool and limits
    overrides = handler(Chosen("astro"), User("alice"))
    assert overrides["worker_extra_pod_config"]["nodeSelector"] == {"hubops.io/pool": "neuro-dask"}


def test_the_group_choice_lists_only_the_users_groups():
    options = M.make_cluster_options(SETTINGS, FakeOptions, refuse=Refused)(User("zoe", ["neuro", "org:astro"]))
    select = options.fields[0]
    assert (select.field, select.options, select.default) == ("group", ["neuro", "astro"], "astro")
    assert options.handler(Chosen("neuro"), User("zoe", ["neuro", "org:astro"]))["cluster_max_cores"] == 16.0


def test_users_in_no_dask_group_are_refused_with_a_clear_message():
    options = M.make_cluster_options(SETTINGS, FakeOptions, refuse=Refused)(User("mallory", ["other"]))
    assert options.fields == []
    with pytest.raises(Refused, match="mallory is in no group that may use Dask clusters"):
        options.handler(Chosen(), User("mallory", ["other"]))


@pytest.mark.parametrize("text, expected", [("64Gi", 64 * 2 ** 30), ("1.5Ti", int(1.5 * 2 ** 40)), ("8G", 8 * 10 ** 9),
                                            ("512Mi", 512 * 2 ** 20), ("1000", 1000)])
def test_memory_quantities(text, expected):
    assert M.parse_memory(text) == expected


def test_configure_sets_options_idle_timeout_and_user_limit(monkeypatch):
    package = types.ModuleType("dask_gateway_server")
    package.options = FakeOptions
    backends = types.ModuleType("dask_gateway_server.backends")
    base = types.ModuleType("dask_gateway_server.backends.base")
    base.PublicException = Refused
    monkeypatch.setitem(sys.modules, "dask_gateway_server", package)
    monkeypatch.setitem(sys.modules, "dask_gateway_server.options", FakeOptions)
    monkeypatch.setitem(sys.modules, "dask_gateway_server.backends", backends)
    monkeypatch.setitem(sys.modules, "dask_gateway_server.backends.base", base)

    class Section:
        pass

    c = types.SimpleNamespace(Backend=Section(), ClusterConfig=Section(), UserLimits=Section())
    M.configure(c, SETTINGS)
    assert c.ClusterConfig.idle_timeout == 900.0
    assert c.UserLimits.max_clusters == 4
    with pytest.raises(Refused):
        c.Backend.cluster_options(User("mallory")).handler(Chosen(), User("mallory"))
