# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import importlib.util
import os

import jsonschema
import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import inventory_schema as schema
from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import validate

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))

# inventories/local as the integration tests see it.
LOCAL = {
    "hubops_deployment": "local",
    "hubops_region": "us-east-1",
    "hubops_aws_account_id": "123456789012",
    "hubops_aws_endpoint_url": "http://127.0.0.1:4566",
    "hubops_aws_access_key": "testing",
    "hubops_aws_secret_key": "testing",
    "hubops_vpc_cidr": "10.40.0.0/16",
    "hubops_az_count": 2,
    "hubops_nat_mode": "single",
    "hubops_vpc_endpoints": ["s3"],
    "hubops_tags": {"project": "hubops-local", "owner": "make-local"},
}

GITHUB_SECRET = "gh-secret-5f3a9c"
DANDI_TOKEN = "dandi-token-77ab01"

# DESIGN.md section 4, with the vault references resolved as Ansible would pass them.
DANDI = {
    "hubops_deployment": "dandi",
    "hubops_region": "us-east-2",
    "hubops_aws_account_id": "123456789012",
    "hubops_tags": {"project": "dandi"},
    "hubops_vpc_cidr": "10.40.0.0/16",
    "hubops_az_count": 2,
    "hubops_nat_mode": "single",
    "hubops_vpc_endpoints": ["s3"],
    "hubops_k8s_version": "1.34",
    "hubops_cluster_admin_arns": ["arn:aws:iam::123456789012:role/Admin"],
    "hubops_core_nodes": {"instance_type": "t3a.large", "count": 1},
    "hubops_nodepools": [{"name": "gpu", "capacity": ["on-demand"], "gpu": {"count": 1, "name": "a10g"}, "gpu_limit": 8}],
    "hubops_home_storage": "ebs",
    "hubops_image_allowlist": ["docker.io/dandiarchive", "quay.io/jupyter"],
    "hubops_charts": {"jupyterhub": {"repo": "https://hub.jupyter.org/helm-chart/", "version": "4.4.0"}},
    "hubops_groups": [
        {
            "name": "neuro",
            "members": {"github_teams": ["dandi:neuro"]},
            "nodepool": {"capacity": ["spot", "on-demand"], "families": ["m", "r"], "sizes": ["xlarge", "2xlarge", "4xlarge"],
                         "cpu_limit": 256},
            "profiles": [
                {"name": "small", "cpu": 2, "memory": "8Gi", "images": ["dandiarchive/dandihub:latest"], "allow_custom_image": True},
                {"name": "gpu", "cpu": 8, "memory": "30Gi", "gpu": 1, "nodepool": "gpu"},
            ],
            "storage": {"home_quota": "50Gi", "shared_dir": True, "scratch_retention_days": 30},
            "budget": {"monthly_usd": 1000, "thresholds_pct": [80, 100], "notify": ["ops@example.org"]},
        }
    ],
    "hubops_hub": {
        "domain": "hub.example.org",
        "route53_zone": "example.org",
        "auth": {"type": "github", "client_id": "gh-client-id-1", "client_secret": GITHUB_SECRET, "admins": ["alice"],
                 "dandi_api": {"url": "https://api.dandiarchive.org", "token": DANDI_TOKEN}},
        "culling": {"timeout": 3600, "max_age": 0},
    },
    # not ours: ignored
    "ansible_connection": "local",
    "vault_github_client_secret": GITHUB_SECRET,
    "vault_hubops_typo_looking": "ignored",
}


def with_(base, **changes):
    """base with top-level keys replaced (None removes, as an override file with null does)."""
    inv = copy.deepcopy(base)
    inv.update(changes)
    return inv


def dandi_with(path, value):
    """DANDI with one nested value replaced; path like ['hubops_groups', 0, 'profiles', 1, 'gpu']."""
    inv = copy.deepcopy(DANDI)
    target = inv
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return inv


_DELETE = object()


def fields(problems):
    return [p["field"] for p in problems]


def load_bad_inventories():
    path = os.path.join(REPO, "tests", "integration", "bad_inventories.py")
    spec = importlib.util.spec_from_file_location("bad_inventories", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


# ---------------------------------------------------------------------------------------------------------------
# good inventories

def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema.SCHEMA)


def test_local_inventory_passes():
    assert validate(LOCAL) == ([], [])


def test_dandi_inventory_passes():
    assert validate(DANDI) == ([], [])


def test_minimal_inventory_passes():
    assert validate({"hubops_deployment": "x", "hubops_region": "eu-west-1"}) == ([], [])


def test_byo_subnets_pass_without_vpc_cidr():
    inv = with_(LOCAL, hubops_vpc_cidr=None,
                hubops_byo_subnet_ids={"public": ["subnet-0ccccccccccccccc3"],
                                       "private": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]})
    assert validate(inv) == ([], [])


def test_internet_restricted_site_passes():
    inv = with_(LOCAL, hubops_nat_mode="none", hubops_vpc_endpoints=["s3", "ecr.api", "ecr.dkr", "sts", "ec2", "ssm", "eks"])
    assert validate(inv) == ([], [])


@pytest.mark.parametrize("auth", [
    {"type": "ldap", "server_address": "ldap.example.org", "bind_dn": "cn=hub,dc=example,dc=org", "bind_password": "pw-1"},
    {"type": "cognito", "client_id": "c1", "client_secret": "s1"},
    {"type": "oidc", "client_id": "c1", "client_secret": "s1", "authorize_url": "https://idp.example.org/auth"},
    {"type": "dummy", "allow_dummy": True},
])
def test_each_auth_type_with_its_secrets_passes(auth):
    inv = with_(LOCAL, hubops_hub={"domain": "hub.example.org", "route53_zone": "example.org", "auth": auth})
    assert validate(inv) == ([], [])


def test_ldap_ca_bundle_is_pem_text():
    auth = {"type": "ldap", "server_address": "ldap.example.org", "bind_dn": "cn=hub,dc=example,dc=org", "bind_password": "pw-1",
            "ca_bundle": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"}
    hub = {"domain": "hub.example.org", "route53_zone": "example.org", "auth": auth}
    assert validate(with_(LOCAL, hubops_hub=hub)) == ([], [])
    errors = validate(with_(LOCAL, hubops_hub=dict(hub, auth=dict(auth, ca_bundle="/etc/ssl/certs/site-ca.pem"))))[0]
    assert fields(errors) == ["hubops_hub.auth.ca_bundle"]
    assert "not a file name" in errors[0]["message"] and "-----BEGIN CERTIFICATE-----" in errors[0]["fix"]


def test_a_domain_needs_a_zone_or_a_certificate():
    errors = validate(with_(LOCAL, hubops_hub={"domain": "hub.example.org", "auth": {"type": "dummy", "allow_dummy": True}}))[0]
    assert [e["field"] for e in errors] == ["hubops_hub.domain"]
    given = {"domain": "hub.example.org", "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/0f0e",
             "auth": {"type": "dummy", "allow_dummy": True}}
    assert validate(with_(LOCAL, hubops_hub=given)) == ([], [])
    created = {"create_zone": True, "auth": {"type": "dummy", "allow_dummy": True}}
    assert [e["field"] for e in validate(with_(LOCAL, hubops_hub=created))[0]] == ["hubops_hub.create_zone"]


def test_other_variables_are_ignored():
    inv = with_(LOCAL, ansible_host="x", vault_hubops_vpc_cdir="x", group_names=["all"], HUBOPS_X=1)
    assert validate(inv) == ([], [])


def test_null_optional_key_counts_as_unset():
    assert validate(with_(LOCAL, hubops_k8s_version=None, hubops_nat_mode=None)) == ([], [])


def test_repo_inventories_pass():
    """Every inventory shipped in inventories/ passes (templated values are checked by the playbooks instead)."""
    seen = 0
    for directory in sorted(glob.glob(os.path.join(REPO, "inventories", "*", "group_vars", "all"))):
        inv = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.yml"))):
            if os.path.basename(path).startswith("vault"):
                continue
            with open(path) as handle:
                inv.update(yaml.safe_load(handle) or {})
        inv = dict((k, v) for k, v in inv.items() if "{{" not in repr(v))
        if "hubops_deployment" not in inv:
            continue
        seen += 1
        errors, _warnings = validate(inv)
        assert errors == [], "%s: %s" % (directory, [schema.format_problem(e) for e in errors])
    if not seen:
        pytest.skip("no inventories yet")


# ---------------------------------------------------------------------------------------------------------------
# bad inventories: each names the exact field

BAD = [
    # identity and access
    ("deployment-missing", with_(LOCAL, hubops_deployment=None), "hubops_deployment"),
    ("region-missing", {"hubops_deployment": "local"}, "hubops_region"),
    ("deployment-uppercase", with_(LOCAL, hubops_deployment="Local"), "hubops_deployment"),
    ("deployment-too-long", with_(LOCAL, hubops_deployment="a" * 33), "hubops_deployment"),
    ("deployment-starts-with-digit", with_(LOCAL, hubops_deployment="1hub"), "hubops_deployment"),
    ("deployment-not-a-string", with_(LOCAL, hubops_deployment=["local"]), "hubops_deployment"),
    ("region-malformed", with_(LOCAL, hubops_region="US-EAST-1"), "hubops_region"),
    ("account-id-int", with_(LOCAL, hubops_aws_account_id=123456789012), "hubops_aws_account_id"),
    ("account-id-11-digits", with_(LOCAL, hubops_aws_account_id="12345678901"), "hubops_aws_account_id"),
    ("endpoint-url-not-url", with_(LOCAL, hubops_aws_endpoint_url="127.0.0.1:4566"), "hubops_aws_endpoint_url"),
    ("typo-top-level", with_(LOCAL, hubops_vpc_cdir="10.40.0.0/16"), "hubops_vpc_cdir"),
    ("typo-aws-region", with_(LOCAL, hubops_aws_region="us-east-1"), "hubops_aws_region"),
    ("tag-value-number", with_(LOCAL, hubops_tags={"cost_center": 1234}), "hubops_tags.cost_center"),
    ("tag-key-reserved", with_(LOCAL, hubops_tags={"aws:owner": "x"}), "hubops_tags.aws:owner"),
    ("cluster-name-underscore", with_(LOCAL, hubops_cluster_name="my_cluster"), "hubops_cluster_name"),
    ("teardown-confirm-other-deployment", with_(LOCAL, hubops_teardown_confirm="dandi"), "hubops_teardown_confirm"),
    ("delete-data-string", with_(LOCAL, hubops_teardown_delete_data="yes"), "hubops_teardown_delete_data"),
    ("no-log-string", with_(LOCAL, hubops_no_log="false"), "hubops_no_log"),
    ("summary-int", with_(LOCAL, hubops_summary=1), "hubops_summary"),
    ("placeholder-left", with_(LOCAL, hubops_aws_profile="CHANGE_ME"), "hubops_aws_profile"),
    # network
    ("vpc-cidr-garbage", with_(LOCAL, hubops_vpc_cidr="10.40.0.0/33"), "hubops_vpc_cidr"),
    ("vpc-cidr-host-bits", with_(LOCAL, hubops_vpc_cidr="10.40.0.1/16"), "hubops_vpc_cidr"),
    ("vpc-cidr-ipv6", with_(LOCAL, hubops_vpc_cidr="fd00::/48"), "hubops_vpc_cidr"),
    ("vpc-cidr-public", with_(LOCAL, hubops_vpc_cidr="8.8.0.0/16"), "hubops_vpc_cidr"),
    ("vpc-cidr-too-small", with_(LOCAL, hubops_vpc_cidr="10.40.0.0/24"), "hubops_vpc_cidr"),
    ("vpc-cidr-too-small-for-6-azs", with_(LOCAL, hubops_vpc_cidr="10.40.0.0/20", hubops_az_count=6), "hubops_vpc_cidr"),
    ("vpc-overlaps-default-service", with_(LOCAL, hubops_vpc_cidr="172.20.0.0/16"), "hubops_vpc_cidr"),
    ("service-overlaps-vpc", with_(LOCAL, hubops_k8s_service_cidr="10.40.128.0/20"), "hubops_k8s_service_cidr"),
    ("service-cidr-public", with_(LOCAL, hubops_k8s_service_cidr="100.64.0.0/16"), "hubops_k8s_service_cidr"),
    ("service-cidr-too-small", with_(LOCAL, hubops_k8s_service_cidr="172.20.0.0/25"), "hubops_k8s_service_cidr"),
    ("service-cidr-garbage", with_(LOCAL, hubops_k8s_service_cidr="172.20.0/16"), "hubops_k8s_service_cidr"),
    ("az-count-1", with_(LOCAL, hubops_az_count=1), "hubops_az_count"),
    ("az-count-7", with_(LOCAL, hubops_az_count=7), "hubops_az_count"),
    ("az-count-string", with_(LOCAL, hubops_az_count="2"), "hubops_az_count"),
    ("az-count-bool", with_(LOCAL, hubops_az_count=True), "hubops_az_count"),
    ("nat-mode-typo", with_(LOCAL, hubops_nat_mode="per-az"), "hubops_nat_mode"),
    ("endpoint-unknown", with_(LOCAL, hubops_vpc_endpoints=["s3", "dynamodb"]), "hubops_vpc_endpoints[1]"),
    ("endpoint-duplicate", with_(LOCAL, hubops_vpc_endpoints=["s3", "s3"]), "hubops_vpc_endpoints"),
    ("endpoints-not-a-list", with_(LOCAL, hubops_vpc_endpoints="s3"), "hubops_vpc_endpoints"),
    ("public-access-cidr-bad", with_(LOCAL, hubops_public_access_cidrs=["0.0.0.0/0", "1.2.3.4/40"]), "hubops_public_access_cidrs[1]"),
    ("byo-and-vpc-cidr", with_(LOCAL, hubops_byo_subnet_ids={"private": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]}),
     "hubops_byo_subnet_ids"),
    ("byo-one-private", with_(LOCAL, hubops_vpc_cidr=None, hubops_byo_subnet_ids={"private": ["subnet-0aaaaaaaaaaaaaaa1"]}),
     "hubops_byo_subnet_ids.private"),
    ("byo-no-private", with_(LOCAL, hubops_vpc_cidr=None, hubops_byo_subnet_ids={"public": ["subnet-0aaaaaaaaaaaaaaa1"]}),
     "hubops_byo_subnet_ids.private"),
    ("byo-bad-id", with_(LOCAL, hubops_vpc_cidr=None, hubops_byo_subnet_ids={"private": ["subnet-0aaaaaaaaaaaaaaa1", "sn-2"]}),
     "hubops_byo_subnet_ids.private[1]"),
    ("byo-subnet-public-and-private",
     with_(LOCAL, hubops_vpc_cidr=None, hubops_byo_subnet_ids={"public": ["subnet-0aaaaaaaaaaaaaaa1"],
                                                               "private": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]}),
     "hubops_byo_subnet_ids.private[0]"),
    # cluster
    ("k8s-version-float", with_(LOCAL, hubops_k8s_version=1.3), "hubops_k8s_version"),
    ("k8s-version-v-prefix", with_(LOCAL, hubops_k8s_version="v1.34"), "hubops_k8s_version"),
    ("k8s-version-patch", with_(LOCAL, hubops_k8s_version="1.34.2"), "hubops_k8s_version"),
    ("admin-arn-malformed", with_(LOCAL, hubops_cluster_admin_arns=["arn:aws:iam::12:role/Admin"]), "hubops_cluster_admin_arns[0]"),
    ("core-nodes-count-zero", dandi_with(["hubops_core_nodes", "count"], 0), "hubops_core_nodes.count"),
    ("core-nodes-instance-type", dandi_with(["hubops_core_nodes", "instance_type"], "large"), "hubops_core_nodes.instance_type"),
    ("log-retention-not-allowed", with_(LOCAL, hubops_log_retention_days=10), "hubops_log_retention_days"),
    # compute, groups, profiles
    ("nodepool-capacity-unknown", dandi_with(["hubops_nodepools", 0, "capacity"], ["reserved"]), "hubops_nodepools[0].capacity[0]"),
    ("nodepool-name-missing", dandi_with(["hubops_nodepools", 0, "name"], _DELETE), "hubops_nodepools[0].name"),
    ("nodepool-names-duplicate", with_(DANDI, hubops_nodepools=DANDI["hubops_nodepools"] * 2), "hubops_nodepools[1].name"),
    ("nodepool-key-typo", dandi_with(["hubops_nodepools", 0, "gpu_limt"], 8), "hubops_nodepools[0].gpu_limt"),
    ("group-name-dns", dandi_with(["hubops_groups", 0, "name"], "Neuro Team"), "hubops_groups[0].name"),
    ("group-name-missing", dandi_with(["hubops_groups", 0, "name"], _DELETE), "hubops_groups[0].name"),
    ("group-names-duplicate", with_(DANDI, hubops_groups=DANDI["hubops_groups"] * 2), "hubops_groups[1].name"),
    ("group-key-typo", dandi_with(["hubops_groups", 0, "profile"], []), "hubops_groups[0].profile"),
    ("group-github-team-format", dandi_with(["hubops_groups", 0, "members", "github_teams"], ["neuro"]),
     "hubops_groups[0].members.github_teams[0]"),
    ("group-budget-negative", dandi_with(["hubops_groups", 0, "budget", "monthly_usd"], -5), "hubops_groups[0].budget.monthly_usd"),
    ("group-budget-email", dandi_with(["hubops_groups", 0, "budget", "notify"], ["ops"]), "hubops_groups[0].budget.notify[0]"),
    ("group-home-quota-unit", dandi_with(["hubops_groups", 0, "storage", "home_quota"], "50GB"), "hubops_groups[0].storage.home_quota"),
    ("profile-names-duplicate", dandi_with(["hubops_groups", 0, "profiles", 1, "name"], "small"), "hubops_groups[0].profiles[1].name"),
    ("profile-unknown-pool", dandi_with(["hubops_groups", 0, "profiles", 1, "nodepool"], "gpus"),
     "hubops_groups[0].profiles[1].nodepool"),
    ("profile-gpu-on-cpu-pool", dandi_with(["hubops_groups", 0, "profiles", 0, "gpu"], 1), "hubops_groups[0].profiles[0].gpu"),
    ("profile-cpu-zero", dandi_with(["hubops_groups", 0, "profiles", 0, "cpu"], 0), "hubops_groups[0].profiles[0].cpu"),
    ("profile-memory-unit", dandi_with(["hubops_groups", 0, "profiles", 0, "memory"], "8 GB"), "hubops_groups[0].profiles[0].memory"),
    ("profile-images-empty", dandi_with(["hubops_groups", 0, "profiles", 0, "images"], []), "hubops_groups[0].profiles[0].images"),
    ("home-storage-unknown", with_(LOCAL, hubops_home_storage="s3"), "hubops_home_storage"),
    ("chart-repo-and-path", with_(LOCAL, hubops_charts={"jupyterhub": {"repo": "https://hub.jupyter.org/helm-chart/", "path": "/c"}}),
     "hubops_charts.jupyterhub"),
    ("chart-repo-not-url", with_(LOCAL, hubops_charts={"karpenter": {"repo": "public.ecr.aws/karpenter"}}), "hubops_charts.karpenter.repo"),
    # hub and auth
    ("hub-domain-outside-zone", dandi_with(["hubops_hub", "route53_zone"], "example.com"), "hubops_hub.domain"),
    ("hub-domain-uppercase", dandi_with(["hubops_hub", "domain"], "Hub.Example.org"), "hubops_hub.domain"),
    ("auth-type-unknown", dandi_with(["hubops_hub", "auth", "type"], "saml"), "hubops_hub.auth.type"),
    ("auth-type-missing", dandi_with(["hubops_hub", "auth", "type"], _DELETE), "hubops_hub.auth.type"),
    ("auth-github-no-secret", dandi_with(["hubops_hub", "auth", "client_secret"], _DELETE), "hubops_hub.auth.client_secret"),
    ("auth-github-empty-id", dandi_with(["hubops_hub", "auth", "client_id"], ""), "hubops_hub.auth.client_id"),
    ("auth-dandi-no-token", with_(LOCAL, hubops_hub={"auth": {"type": "dandi", "client_id": "c", "client_secret": "s"}}),
     "hubops_hub.auth.dandi_api.token"),
    ("auth-dandi-api-with-cognito", with_(LOCAL, hubops_hub={"auth": {"type": "cognito", "dandi_api": {"token": "t"}}}),
     "hubops_hub.auth.dandi_api"),
    ("auth-oidc-no-id", with_(LOCAL, hubops_hub={"auth": {"type": "oidc", "client_secret": "s"}}), "hubops_hub.auth.client_id"),
    ("auth-ldap-no-server", with_(LOCAL, hubops_hub={"auth": {"type": "ldap", "bind_dn": "cn=a", "bind_password": "p"}}),
     "hubops_hub.auth.server_address"),
    ("auth-ldap-no-bind-password", with_(LOCAL, hubops_hub={"auth": {"type": "ldap", "server_address": "l", "bind_dn": "cn=a"}}),
     "hubops_hub.auth.bind_password"),
    ("auth-dummy-refused", with_(LOCAL, hubops_hub={"auth": {"type": "dummy"}}), "hubops_hub.auth.type"),
    ("auth-key-typo", dandi_with(["hubops_hub", "auth", "client_secert"], "x"), "hubops_hub.auth.client_secert"),
    ("auth-secret-not-string", dandi_with(["hubops_hub", "auth", "client_secret"], 12345), "hubops_hub.auth.client_secret"),
    ("culling-negative", dandi_with(["hubops_hub", "culling", "timeout"], -1), "hubops_hub.culling.timeout"),
]


@pytest.mark.parametrize("inventory, field", [(inv, field) for _id, inv, field in BAD], ids=[case[0] for case in BAD])
def test_bad_inventory_names_the_field(inventory, field):
    errors, _warnings = validate(inventory)
    assert field in fields(errors), [schema.format_problem(e) for e in errors]
    for error in errors:
        assert error["message"] and error["fix"], error


def test_enough_bad_cases():
    assert len(BAD) >= 30
    assert len(set(case[0] for case in BAD)) == len(BAD)


@pytest.mark.parametrize("field", ["hubops_deployment", "hubops_region"])
def test_required_fields(field):
    errors, _warnings = validate(with_(LOCAL, **{field: None}))
    assert fields(errors) == [field]
    assert "required" in errors[0]["message"]


def test_every_problem_is_reported_at_once():
    inv = with_(LOCAL, hubops_az_count=1, hubops_nat_mode="x", hubops_vpc_cdir="y", hubops_aws_account_id=1)
    errors, _warnings = validate(inv)
    assert set(fields(errors)) == {"hubops_az_count", "hubops_nat_mode", "hubops_vpc_cdir", "hubops_aws_account_id"}


def test_a_field_the_schema_rejects_is_not_reported_twice():
    errors, _warnings = validate(with_(LOCAL, hubops_vpc_cidr=16))
    assert fields(errors) == ["hubops_vpc_cidr"]


# ---------------------------------------------------------------------------------------------------------------
# the words

def message_of(inventory, field):
    errors, _warnings = validate(inventory)
    return [e for e in errors if e["field"] == field][0]


def test_az_count_says_why():
    assert "EKS needs subnets in at least two AZs" in message_of(with_(LOCAL, hubops_az_count=1), "hubops_az_count")["message"]


def test_enum_lists_allowed_values():
    problem = message_of(with_(LOCAL, hubops_vpc_endpoints=["s3", "ecr"]), "hubops_vpc_endpoints[1]")
    for value in schema.VPC_ENDPOINTS:
        assert value in problem["fix"]


def test_enum_suggests_the_closest_value():
    assert "Did you mean single?" in message_of(with_(LOCAL, hubops_nat_mode="singel"), "hubops_nat_mode")["fix"]


def test_wrong_type_names_expected_type():
    problem = message_of(with_(LOCAL, hubops_vpc_endpoints="s3"), "hubops_vpc_endpoints")
    assert "expected a list" in problem["message"]


def test_typo_suggests_the_real_key():
    assert "did you mean hubops_vpc_cidr?" in message_of(with_(LOCAL, hubops_vpc_cdir="x"), "hubops_vpc_cdir")["fix"].lower()


def test_nested_typo_suggests_the_real_key():
    problem = message_of(dandi_with(["hubops_hub", "auth", "client_secert"], "x"), "hubops_hub.auth.client_secert")
    assert "client_secret" in problem["fix"]


def test_account_id_int_says_quote_it():
    problem = message_of(with_(LOCAL, hubops_aws_account_id=12345678901), "hubops_aws_account_id")
    assert "quote it" in problem["fix"].lower()
    assert '"012345678901"' in problem["fix"]


def test_k8s_version_float_says_quote_it():
    assert "quote it" in message_of(with_(LOCAL, hubops_k8s_version=1.3), "hubops_k8s_version")["fix"].lower()


def test_dns_name_fix_suggests_a_safe_name():
    assert "'my-hub'" in message_of(with_(LOCAL, hubops_deployment="My_Hub"), "hubops_deployment")["fix"]


def test_host_bits_fix_gives_the_network():
    assert "10.40.0.0/16" in message_of(with_(LOCAL, hubops_vpc_cidr="10.40.0.1/16"), "hubops_vpc_cidr")["fix"]


def test_messages_never_quote_secrets():
    inv = dandi_with(["hubops_hub", "auth", "client_secret"], 987654321)
    inv["hubops_hub"]["auth"]["dandi_api"]["token"] = ["tok-aaa-111"]
    inv["hubops_hub"]["auth"]["client_id"] = "Bad Id With Spaces"
    inv["hubops_aws_secret_key"] = 424242
    errors, _warnings = validate(inv)
    assert {"hubops_hub.auth.client_secret", "hubops_hub.auth.dandi_api.token", "hubops_aws_secret_key"} <= set(fields(errors))
    for secret in ("987654321", "tok-aaa-111", "424242"):
        assert secret not in repr(errors)


def test_secret_values_are_found_recursively():
    found = schema.secret_values(DANDI)
    assert {GITHUB_SECRET, DANDI_TOKEN, "gh-client-id-1"} <= found
    assert "dandi" not in found and "us-east-2" not in found


def test_secret_values_skip_empty_strings():
    assert schema.secret_values({"x_password": "", "token": "  ", "a": {"client_secret": ["s1", 3]}}) == {"s1"}


# ---------------------------------------------------------------------------------------------------------------
# warnings and strictness

def test_nat_none_with_only_s3_warns():
    errors, warnings = validate(with_(LOCAL, hubops_nat_mode="none"))
    assert errors == []
    assert fields(warnings) == ["hubops_nat_mode"]
    assert "cannot pull images" in warnings[0]["message"]


def test_unknown_key_is_a_warning_when_not_strict():
    errors, warnings = validate(with_(LOCAL, hubops_vpc_cdir="x"), strict=False)
    assert errors == []
    assert fields(warnings) == ["hubops_vpc_cdir"]


def test_image_outside_allowlist_warns():
    inv = dandi_with(["hubops_groups", 0, "profiles", 0, "images"], ["ghcr.io/other/image:1"])
    errors, warnings = validate(inv)
    assert errors == []
    assert fields(warnings) == ["hubops_groups[0].profiles[0].images[0]"]


def test_members_the_authenticator_cannot_resolve_warn():
    inv = dandi_with(["hubops_groups", 0, "members"], {"ldap_groups": ["cn=neuro"]})
    errors, warnings = validate(inv)
    assert errors == []
    assert fields(warnings) == ["hubops_groups[0].members.ldap_groups"]


def test_non_dict_inventory():
    errors, _warnings = validate(["hubops_deployment"])
    assert fields(errors) == ["inventory"]


# ---------------------------------------------------------------------------------------------------------------
# the integration table stays true to the schema

CASES = load_bad_inventories()


def test_bad_inventories_table_shape():
    assert len(CASES) >= 22
    assert len(set(c["id"] for c in CASES)) == len(CASES)
    assert set(c["stage"] for c in CASES) == {"schema", "account"}
    assert len([c for c in CASES if c["stage"] == "account"]) == 2
    for case in CASES:
        assert set(case) == {"id", "vars", "field", "stage"}


@pytest.mark.parametrize("case", [c for c in CASES if c["stage"] == "schema"], ids=lambda c: c["id"])
def test_bad_inventories_schema_cases_fail_on_their_field(case):
    errors, _warnings = validate(with_(LOCAL, **case["vars"]))
    assert case["field"] in fields(errors), [schema.format_problem(e) for e in errors]


@pytest.mark.parametrize("case", [c for c in CASES if c["stage"] == "account"], ids=lambda c: c["id"])
def test_bad_inventories_account_cases_pass_the_schema(case):
    assert validate(with_(LOCAL, **case["vars"])) == ([], [])


# ---------------------------------------------------------------------------------------------------------------
# docs

def _all_properties(node, path="$"):
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield "%s.%s" % (path, name), sub
            yield from _all_properties(sub, "%s.%s" % (path, name))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from _all_properties(node[key], "%s.%s" % (path, key))


def test_every_property_has_a_description():
    missing = [path for path, sub in _all_properties(schema.SCHEMA) if not sub.get("description")]
    assert missing == []


def test_brief_fields_are_in_the_schema():
    for name in ("hubops_aws_endpoint_url", "hubops_aws_profile", "hubops_cluster_name", "hubops_public_access_cidrs",
                 "hubops_k8s_service_cidr", "hubops_byo_subnet_ids", "hubops_vpc_endpoints", "hubops_teardown_confirm",
                 "hubops_teardown_delete_data", "hubops_no_log", "hubops_summary", "hubops_groups", "hubops_hub",
                 "hubops_charts", "hubops_nodepools", "hubops_core_nodes"):
        assert name in schema.SCHEMA["properties"]
    assert schema.SCHEMA["properties"]["hubops_k8s_service_cidr"]["default"] == "172.20.0.0/16"


def test_field_docs_rows():
    rows = schema.field_docs()
    by_field = dict((row[0], row) for row in rows)
    assert by_field["hubops_deployment"][2] == "required"
    assert by_field["hubops_az_count"][1:3] == ("int", "2")
    assert by_field["hubops_nat_mode"][1] == "one of: single, per_az, none"
    assert "hubops_groups[].profiles[].cpu" in by_field
    assert "hubops_charts.<key>.version" in by_field
    assert all(len(row) == 4 and row[3] for row in rows)


def test_docs_inventory_md_is_up_to_date():
    path = os.path.join(REPO, "docs", "inventory.md")
    with open(path) as handle:
        current = handle.read()
    assert current == schema.render_markdown(), (
        "docs/inventory.md is out of date; regenerate it with: .venv/bin/python -c \"import sys; "
        "sys.path.insert(0, 'collections'); from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema "
        "import render_markdown; open('docs/inventory.md', 'w').write(render_markdown())\"")


def test_teardown_delete_data_from_the_command_line():
    """-e hubops_teardown_delete_data=true arrives as a string; that is the documented way to pass it."""
    from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import relevant
    assert relevant({"hubops_teardown_delete_data": "true"})["hubops_teardown_delete_data"] is True
    assert relevant({"hubops_teardown_delete_data": "False"})["hubops_teardown_delete_data"] is False
    assert relevant({"hubops_teardown_delete_data": "maybe"})["hubops_teardown_delete_data"] == "maybe"
