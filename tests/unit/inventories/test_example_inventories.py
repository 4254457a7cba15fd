# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Every inventory shipped in inventories/ (local, sample and each of inventories/examples) as Ansible loads it
(`ansible-inventory --list`; vault_* references replaced by stand-ins, as an encrypted vault.yml would fill them):
the schema and cross-field rules find nothing, the Karpenter NodePools and EC2NodeClasses hubops renders validate
against the CRDs of the reference karpenter-crd chart, and every profile fits an instance type of its pool.
Each example names the seed it replaces beside the settings it replaces, lists its secrets in vault.yml.example,
and uses only fields the documented sample explains.

The z2jh values (tests/unit/plugins/module_utils/test_hub.py), the eksctl ClusterConfig (test_cluster_config.py)
and the instance types (test_cost_estimate.py) of the same inventories are checked where those renderers are tested."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import glob
import importlib.util
import json
import os
import re
import subprocess
import sys

import jsonschema
import pytest
import yaml

from ansible_collections.hubops.eks.plugins.module_utils import charts as C
from ansible_collections.hubops.eks.plugins.module_utils import hub as H
from ansible_collections.hubops.eks.plugins.module_utils import inventory_schema as S
from ansible_collections.hubops.eks.plugins.module_utils import karpenter as K
from ansible_collections.hubops.eks.plugins.module_utils.costs import cost_estimate

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INVENTORIES_DIR = os.path.join(REPO, "inventories")
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))
CRD_DIR = os.path.join(SHARED, "reference", "charts", "karpenter-crd", "templates")
SEEDS_DIR = os.path.join(SHARED, "seeds")
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")

EXAMPLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                  for p in glob.glob(os.path.join(INVENTORIES_DIR, "examples", "*", "group_vars", "all")))
ALL = ["local", "sample"] + ["examples/%s" % name for name in EXAMPLES]
VAULT_REF = re.compile(r"\{\{\s*(vault_\w+)\s*\}\}")
# Only the embedded default may template its hubops_* values (it points at the emulation beside the repository).
TEMPLATED_OK = {"local": ("hubops_eksctl_path", "hubops_charts_dir")}

# The seeds each example replaces, and settings of each seed that must be named in a "# seed NNN (...)" comment of
# the example: the seed's own words, so a reader of the seed finds each of its features.
SEEDS = {
    "dandi": ("000", "001"),
    "opensarlab": ("002",),
    "heliocloud": ("003",),
    "restricted": ("004",),
}
SEED_SETTINGS = {
    "dandi": {
        "000": ["HUB_DEPLOYMENT_NAME", "TF_VAR_github_client_id", "TF_VAR_github_client_secret", "TF_VAR_aws_certificate_arn",
                "TF_VAR_danditoken", "singleuser_image_repo", "jupyterhub_domain", "dandi_api_domain", "admin_users",
                "mapUsers", "profileList", "karpenter-resources", "eks_managed_node_groups", "Route 53"],
        "001": ["multiple groups that get allocated different resources", "Bring/build your own image", "Spot pricing",
                "Separate billing for each group", "Storage quotas controllable by user/group", "Persistent home directories",
                "Persistent shared directories", "Regular clean up of shared directories", "Connection to DANDI for OAuth",
                "Monitor access, storage, compute for each user and group"],
    },
    "opensarlab": {
        "002": ["Stack Name", "AdminUserName", "OAuthDnsName", "OAuthClientId", "OAuthClientSecret", "JupyterHubURL",
                "ImageName", "NodeImageId", "NodeInstanceType", "NodeAutoScalingGroupMaxSize", "NodeVolumeSize",
                "LoadBalancerCidrBlock", "CertificateArn", "ActiveSubnets", "snapshot lifecycle policy", "myHubCron.py",
                "HubAWSId", "NodeAccessKeyId", "NodeProxyPort", "Out of Storage Space", "Setup AWS Cognito"],
    },
    "heliocloud": {
        "003": ["EKS_NAME", "NAMESPACE", "ROUTE53_HOSTED_ZONE", "ROUTE53_DASKHUB_PREFIX", "ADMIN_USER_EMAIL", "dh-auth.yaml",
                "dh-secrets.yaml", "ng-user-compute-spot", "ng-user-gpu-spot", "ng-burst-compute-spot", "ng-daskhub-services",
                "dask/daskhub", "Things that persist", "Updating Kubernetes Cluster", "Create Users"],
    },
    "restricted": {
        "004": ["Internet restricted environment", "ldapauthenticator.LDAPAuthenticator", "server_address", "bind_dn_template",
                "Enable HTTPS", "Docker load", "--no-hooks", "./jupyterhub", "Configure proxy address", "maxSize: 7",
                "maxPrice", "Use an exported NFS storage", "Automatic Volume snapshot backup", "r5n.2xlarge", "sqlite-memory"],
    },
}


def inventory_dir(name):
    return os.path.join(INVENTORIES_DIR, *name.split("/"))


def stand_in(name):
    return "stand-in-%s" % name[len("vault_"):].replace("_", "-")


@functools.lru_cache(maxsize=None)
def ansible_vars(name):
    """The variables of the inventory's one host as `ansible-inventory --list` resolves them (group_vars/all/*.yml,
    later files replacing earlier ones, vault.yml.example ignored), with every {{ vault_x }} replaced by a stand-in."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", inventory_dir(name), "--list"], capture_output=True, text=True,
                          env=env, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)["_meta"]["hostvars"]
    assert list(hostvars) == ["localhost"], hostvars.keys()
    text = VAULT_REF.sub(lambda m: stand_in(m.group(1)), json.dumps(hostvars["localhost"]))
    return json.loads(text)


def hubops_vars(name):
    """The hubops_* variables; only inventories/local may keep templated values (its emulation paths), dropped here."""
    out = {}
    for key, value in ansible_vars(name).items():
        if not key.startswith("hubops_"):
            continue
        if "{{" in json.dumps(value):
            assert key in TEMPLATED_OK.get(name, ()), "%s: %s is templated with something other than a vault_* variable" % (name, key)
            continue
        out[key] = value
    return out


def yaml_files(name):
    root = inventory_dir(name)
    files = [os.path.join(root, "hosts.yml")]
    group_vars = os.path.join(root, "group_vars", "all")
    files += [os.path.join(group_vars, f) for f in sorted(os.listdir(group_vars))]
    return files


@functools.lru_cache(maxsize=None)
def crd_schema(filename):
    with open(os.path.join(CRD_DIR, filename)) as handle:
        text = "".join(line for line in handle if "{{" not in line)   # the chart's annotation template lines
    crd = yaml.safe_load(text)
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return crd["spec"]["group"] + "/" + version["name"], crd["spec"]["names"]["kind"], version["schema"]["openAPIV3Schema"]


def rendered_pools(inv):
    groups, shared = inv.get("hubops_groups") or [], inv.get("hubops_nodepools") or []
    karpenter = inv.get("hubops_karpenter") or {}
    defaults = {"ami_alias": karpenter["ami_alias"]} if "ami_alias" in karpenter else {}
    ctx = {"deployment": inv["hubops_deployment"], "cluster_name": inv.get("hubops_cluster_name") or inv["hubops_deployment"],
           "instance_profile": "hubops-%s-karpenter-node" % inv["hubops_deployment"],
           "kms_key_arn": "arn:aws:kms:%s:123456789012:key/0a1b2c3d" % inv["hubops_region"], "tags": inv.get("hubops_tags") or {}}
    if inv.get("hubops_dask_gateway"):
        pools = K.pools_from_inventory(groups, shared, defaults, inv["hubops_dask_gateway"])
    else:
        pools = K.pools_from_inventory(groups, shared, defaults)
    return [K.pool_manifests(pool, ctx, defaults) for pool in pools]


def load_cost_settings():
    path = os.path.join(REPO, "tests", "unit", "plugins", "module_utils", "test_cost_estimate.py")
    spec = importlib.util.spec_from_file_location("hubops_cost_estimate_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.settings_from


# ----------------------------------------------------------------------------------------------------------------
# every inventory

def test_every_example_is_checked():
    assert EXAMPLES == sorted(SEEDS), "an example without seed expectations (or the other way round): %s" % EXAMPLES


@pytest.mark.parametrize("name", ALL)
def test_schema_and_cross_field_rules_are_clean(name):
    inv = hubops_vars(name)
    assert inv.get("hubops_deployment"), "%s sets no hubops_deployment" % name
    errors, warnings = S.validate(inv)
    assert [S.format_problem(e) for e in errors] == []
    assert [S.format_problem(w) for w in warnings] == []


@pytest.mark.parametrize("name", ALL)
def test_karpenter_manifests_validate_against_the_crds(name):
    if not os.path.isdir(CRD_DIR):
        pytest.skip("../shared/reference (karpenter-crd chart) is not beside the repo")
    inv = hubops_vars(name)
    manifests = rendered_pools(inv)
    assert len(manifests) >= len(inv.get("hubops_groups") or []) > 0 or not inv.get("hubops_groups")
    schemas = {}
    for filename in ("karpenter.sh_nodepools.yaml", "karpenter.k8s.aws_ec2nodeclasses.yaml"):
        api_version, kind, schema = crd_schema(filename)
        schemas[kind] = (api_version, schema)
    for nodepool, nodeclass in manifests:
        for obj in (nodepool, nodeclass):
            api_version, schema = schemas[obj["kind"]]
            assert obj["apiVersion"] == api_version
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
            assert not errors, ["%s %s: %s" % (obj["metadata"]["name"], list(e.path), e.message) for e in errors]
        assert nodepool["spec"]["template"]["spec"]["nodeClassRef"]["name"] == nodeclass["metadata"]["name"]


def test_crd_check_can_fail():
    if not os.path.isdir(CRD_DIR):
        pytest.skip("../shared/reference (karpenter-crd chart) is not beside the repo")
    (nodepool, _nodeclass), = rendered_pools(hubops_vars("local"))[:1]
    nodepool["spec"]["limits"]["cpu"] = {"not": "a quantity"}
    nodepool["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Maybe"
    _api, _kind, schema = crd_schema("karpenter.sh_nodepools.yaml")
    paths = [list(e.path) for e in jsonschema.Draft7Validator(schema).iter_errors(nodepool)]
    assert ["spec", "limits", "cpu"] in paths and ["spec", "template", "spec", "requirements", 0, "operator"] in paths


@pytest.mark.parametrize("name", ALL)
def test_every_profile_fits_an_instance_type_of_its_pool(name):
    inv = hubops_vars(name)
    est = cost_estimate(load_cost_settings()(inv))
    assert [p["group"] + "/" + p["profile"] for p in est["profiles"] if not p["instance_type"]] == [], est["report"]


# ----------------------------------------------------------------------------------------------------------------
# the examples

@pytest.mark.parametrize("example", EXAMPLES)
def test_every_file_names_the_seed_it_replaces(example):
    seeds = SEEDS[example]
    for path in yaml_files("examples/" + example):
        with open(path) as handle:
            text = handle.read()
        named = set(re.findall(r"# seed (\d{3}) \(", text))
        assert named, "%s names no seed (# seed NNN (name): <their setting> -> ...)" % path
        assert named <= set(seeds), (path, named)


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_seed_setting_is_named_beside_what_replaces_it(example):
    comments = {}
    for path in yaml_files("examples/" + example):
        with open(path) as handle:
            block = None
            for line in handle:
                comment = line.split("#", 1)[1] if "#" in line else ""
                match = re.match(r"\s*seed (\d{3}) \(", comment)
                if match:
                    block = match.group(1)
                elif not comment:
                    block = None
                if block:
                    comments.setdefault(block, []).append(comment)
    for seed, settings in SEED_SETTINGS[example].items():
        text = " ".join(" ".join(comments.get(seed, [])).split())
        missing = [s for s in settings if s not in text]
        assert missing == [], "examples/%s: seed %s settings never named in a '# seed %s (...)' comment" % (example, seed, seed)


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_seed_settings_named_are_the_seeds_own(example):
    if not os.path.isdir(SEEDS_DIR):
        pytest.skip("../shared/seeds is not beside the repo")
    for seed, settings in SEED_SETTINGS[example].items():
        (path,) = [os.path.join(SEEDS_DIR, f) for f in os.listdir(SEEDS_DIR) if f.startswith(seed + "_")]
        with open(path) as handle:
            text = " ".join(handle.read().split())
        assert [s for s in settings if s not in text] == [], path


@pytest.mark.parametrize("example", EXAMPLES)
def test_secrets_are_vault_references_listed_in_the_vault_example(example):
    root = os.path.join(inventory_dir("examples/" + example), "group_vars", "all")
    assert not os.path.exists(os.path.join(root, "vault.yml")), "a vault.yml must never be committed with an example"
    referenced = set()
    for path in yaml_files("examples/" + example):
        if not path.endswith(".example"):
            with open(path) as handle:
                referenced.update(VAULT_REF.findall(handle.read()))
    listed = {}
    if os.path.exists(os.path.join(root, "vault.yml.example")):
        with open(os.path.join(root, "vault.yml.example")) as handle:
            listed = yaml.safe_load(handle) or {}
    assert set(listed) == referenced
    assert set(listed.values()) <= {S.PLACEHOLDER}, "vault.yml.example holds only CHANGE_ME placeholders"
    # every secret field of the inventory comes from the vault (nothing secret-looking is written in clear)
    for value in S.secret_values(hubops_vars("examples/" + example)):
        assert value.startswith("stand-in-"), value


def _fields(value, prefix=""):
    """Dotted field names an inventory sets; lists are entered, chart keys and Helm values are not (free-form)."""
    if isinstance(value, list):
        for item in value:
            yield from _fields(item, prefix)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = "%s.%s" % (prefix, key) if prefix else key
            yield name
            if key in ("values", "tags", "labels") or name in ("hubops_image_registries", "hubops_charts"):
                if name == "hubops_charts":
                    for chart in item.values():
                        yield from _fields(chart, name + ".<key>")
                continue
            yield from _fields(item, name)


def test_the_sample_explains_every_field_the_examples_use():
    sample = ""
    for path in yaml_files("sample"):
        with open(path) as handle:
            sample += handle.read()
    used = set()
    for example in EXAMPLES:
        used.update(_fields(hubops_vars("examples/" + example)))
    unexplained = sorted(f for f in used if not re.search(r"(^|[\s{,#])%s:" % re.escape(f.rsplit(".", 1)[-1]), sample, re.M))
    assert unexplained == []


# ----------------------------------------------------------------------------------------------------------------
# what each example is for (the features its seed asks for)

def test_dandi_features():
    inv = hubops_vars("examples/dandi")
    auth = inv["hubops_hub"]["auth"]
    assert auth["type"] == "dandi" and auth["dandi_api"]["url"].startswith("https://") and auth["admins"]
    groups = inv["hubops_groups"]
    assert len({g["nodepool"]["cpu_limit"] for g in groups}) == len(groups) > 1      # groups get different resources
    assert any(p.get("gpu") for g in groups for p in g["profiles"])
    assert all(["spot", "on-demand"] == g["nodepool"]["capacity"] for g in groups)    # spot, on-demand fallback
    assert any(p.get("allow_custom_image") for g in groups for p in g["profiles"]) and inv["hubops_image_allowlist"]
    assert all(g["storage"]["shared_dir"] for g in groups)
    assert inv["hubops_hub"]["route53_zone"] and "certificate_arn" not in inv["hubops_hub"]   # ACM requested by hubops
    assert inv["hubops_hub"]["ingress"]["mode"] == "nlb" and inv["hubops_cluster_admin_arns"]


def test_opensarlab_features():
    inv = hubops_vars("examples/opensarlab")
    assert inv["hubops_hub"]["auth"]["type"] == "cognito" and "client_secret" not in inv["hubops_hub"]["auth"]
    assert inv["hubops_home_storage"] == "ebs" and inv["hubops_home_az"].startswith(inv["hubops_region"])
    assert len({g["storage"]["home_quota"] for g in inv["hubops_groups"]}) > 1
    assert inv["hubops_storage"]["backup"]["enabled"] and inv["hubops_storage"]["home_snapshots"]["enabled"]
    assert "0.0.0.0/0" not in inv["hubops_hub"]["ingress"]["source_ranges"]


def test_heliocloud_features():
    inv = hubops_vars("examples/heliocloud")
    assert inv["hubops_dask_gateway"]["enabled"] is True and all(g.get("dask") for g in inv["hubops_groups"])
    assert "dask-gateway" in inv["hubops_charts"]
    assert inv["hubops_hub"]["auth"]["type"] == "cognito" and inv["hubops_hub"]["route53_zone"]
    gpu_pools = [p["name"] for p in inv["hubops_nodepools"] if p.get("gpu")]
    assert any(p.get("nodepool") in gpu_pools and p.get("gpu") for g in inv["hubops_groups"] for p in g["profiles"])
    names = [nodepool["metadata"]["name"] for nodepool, _class in rendered_pools(inv)]
    assert "helio-dask" in names, names                                             # the spot burst pool of the workers


def test_restricted_features():
    inv = hubops_vars("examples/restricted")
    auth = inv["hubops_hub"]["auth"]
    assert auth["type"] == "ldap" and auth["use_ssl"] is True and auth["server_port"] == 636
    assert inv["hubops_nat_mode"] == "none"
    assert set(inv["hubops_vpc_endpoints"]) >= {"s3", "ecr.api", "ecr.dkr", "sts", "ec2", "ssm", "eks"}
    assert inv["hubops_hub"]["ingress"]["scheme"] == "internal"
    # every chart hubops installs comes from a local package or a private OCI registry
    charts = inv["hubops_charts"]
    for key in sorted(set(C.DEFAULT_CHARTS) | {"dask-gateway", "kube-prometheus-stack"}):
        source = C.chart_source(key, charts)
        assert source["chart_repo_url"] is None and not source["chart_ref"].startswith("oci://public."), (key, source)
    # every image hubops deploys is rewritten to the mirror; users' images come from the mirror only
    mirror = inv["hubops_image_allowlist"][0]
    registries = inv["hubops_image_registries"]
    upstream = [image for _path, image in H.CHART_IMAGES] + [H.DEFAULT_IMAGE.rsplit(":", 1)[0]]
    for role in ("karpenter", "ingress_dns"):
        with open(os.path.join(REPO, "roles", role, "defaults", "main.yml")) as handle:
            defaults = yaml.safe_load(handle)
        upstream += [v for k, v in defaults.items() if k.endswith("controller_image")]
    assert len(upstream) > len(H.CHART_IMAGES)
    for image in upstream:
        assert C.mirror_image(image, registries).startswith(mirror + "/"), image
    images = [i for g in inv["hubops_groups"] for p in g.get("profiles") or [] for i in p.get("images") or []]
    images.append(inv["hubops_storage"]["job_image"])
    assert images and all(i.startswith(mirror + "/") for i in images), images
