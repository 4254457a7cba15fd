# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an inventory may say: one JSON schema for every hubops_* variable, the cross-field rules a schema
cannot express, and the plain-language translation of both. Used by the inventory_check module (preflight)
and by the unit test that keeps docs/inventory.md in step with the schema.

Every problem is a dict {"field": "hubops_groups[1].name", "message": ..., "fix": ...}; no message ever
carries the value of a secret-looking field."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import ipaddress
import json
import re
import traceback

from ansible_collections.hubops.eks.plugins.module_utils.karpenter import PoolSpecError
from ansible_collections.hubops.eks.plugins.module_utils.karpenter import pools_from_inventory
from ansible_collections.hubops.eks.plugins.module_utils.naming import DNS_LABEL_RE
from ansible_collections.hubops.eks.plugins.module_utils.network import MAX_AZ_COUNT
from ansible_collections.hubops.eks.plugins.module_utils.network import SubnetPlanError
from ansible_collections.hubops.eks.plugins.module_utils.network import is_private_range
from ansible_collections.hubops.eks.plugins.module_utils.network import overlaps
from ansible_collections.hubops.eks.plugins.module_utils.network import subnet_plan
from ansible_collections.hubops.eks.plugins.module_utils.storage import parse_quantity

try:
    import jsonschema
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()

PREFIX = "hubops_"
SECRET_KEY_RE = re.compile(r"(secret|token|password|client_id)", re.IGNORECASE)
PLACEHOLDER = "CHANGE_ME"
DEFAULT_SERVICE_CIDR = "172.20.0.0/16"
DEFAULT_VPC_CIDR = "10.40.0.0/16"

VPC_ENDPOINTS = ["s3", "ecr.api", "ecr.dkr", "sts", "ec2", "ssm", "eks", "logs", "elasticloadbalancing", "sqs", "kms", "autoscaling"]
# Without NAT, nodes reach ECR (images), STS (pod identity) and EC2 (node join, Karpenter) only through these.
NO_NAT_ENDPOINTS = ["ecr.api", "ecr.dkr", "sts", "ec2"]
AUTH_TYPES = ["github", "dandi", "cognito", "oidc", "ldap", "dummy"]
AUTH_NEEDS = {
    "github": ("client_id", "client_secret"),
    "dandi": ("client_id", "client_secret"),
    # The jupyterhub role creates the Cognito user pool and its app client; the client's secret never leaves AWS and the hub.
    "cognito": (),
    "oidc": ("client_id", "client_secret"),
    "ldap": ("server_address", "bind_dn", "bind_password"),
    "dummy": (),
}
# Which members.* list each auth type can resolve (users works everywhere).
AUTH_MEMBER_KEYS = {
    "github": ("github_teams",),
    "dandi": ("github_teams",),
    "cognito": ("cognito_groups",),
    "oidc": ("oidc_groups",),
    "ldap": ("ldap_groups",),
    "dummy": (),
}
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]

# Patterns with the words an admin needs when a value does not match: (regex, what it must be, example).
PATTERNS = {
    "dns_label": (DNS_LABEL_RE.pattern,
                  "must be DNS-safe: lowercase letters, digits and '-', starting with a letter, not ending with '-', "
                  "at most 32 characters", "neuro"),
    "region": (r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", "must be an AWS region code", "us-east-2"),
    "account_id": (r"^[0-9]{12}$", "must be exactly 12 digits", '"123456789012"'),
    "subnet_id": (r"^subnet-[0-9a-f]{8,17}$", "must be a subnet id", "subnet-0123456789abcdef0"),
    "k8s_version": (r"^1\.[0-9]{2}$", 'must be a Kubernetes minor version written as a quoted string', '"1.34"'),
    "quantity": (r"^[0-9]+(\.[0-9]+)?([KMGTP]i?)?$", "must be a Kubernetes quantity", "8Gi"),
    "iam_principal_arn": (r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", "must be an IAM role or user ARN",
                          "arn:aws:iam::123456789012:role/Admin"),
    "acm_arn": (r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", "must be an ACM certificate ARN",
                "arn:aws:acm:us-east-2:123456789012:certificate/abcd-1234"),
    "url": (r"^https?://[^\s]+$", "must be an http:// or https:// URL", "https://example.org"),
    "chart_repo": (r"^(https?|oci)://[^\s]+$", "must be an https:// or oci:// chart repository URL",
                   "https://hub.jupyter.org/helm-chart/"),
    "instance_type": (r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", "must be an EC2 instance type", "t3a.large"),
    "instance_family": (r"^[a-z][a-z0-9-]*$", "must be an instance category or family", "m"),
    "instance_size": (r"^[a-z0-9-]+$", "must be an instance size", "xlarge"),
    "hostname": (r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", "must be a lowercase DNS name",
                 "hub.example.org"),
    "email": (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "must be an e-mail address", "ops@example.org"),
    "notify": (r"^([^@\s:]+@[^@\s]+\.[^@\s]+|arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+)$",
               "must be an e-mail address or an SNS topic ARN", "ops@example.org"),
    "github_team": (r"^[A-Za-z0-9-]+:[A-Za-z0-9._-]+$", "must be <organisation>:<team-slug>", "dandi:neuro"),
    "duration": (r"^([0-9]+[smh])+$|^Never$", "must be a duration like 30s, 15m, 720h, or Never", "720h"),
    "az_name": (r"^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", "must be an availability zone name", "us-east-2a"),
    "pem_certificates": (r"^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$",
                         "must be PEM certificate text, not a file name",
                         "a literal block: ca_bundle: | then the lines from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----"),
    "cron_aws": (r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$", "must be an AWS cron expression (six fields)", "cron(0 5 * * ? *)"),
    "cron": (r"^\S+ \S+ \S+ \S+ \S+$", "must be a five-field cron schedule", '"17 3 * * *"'),
    "prom_duration": (r"^[0-9]+(ms|s|m|h|d|w|y)$", "must be a Prometheus duration", "15d"),
    "gibibytes": (r"^[0-9]+(Gi|Ti)$", "must be whole Gi or Ti", "20Gi"),
    "time_hhmm": (r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "must be a UTC time HH:MM", '"04:00"'),
    "ami_alias": (r"^(al2023|al2|bottlerocket|windows2019|windows2022)@(latest|v[0-9]+(\.[0-9]+)*)$",
                  "must be <family>@<version>, pinned", "al2023@v20261020"),
}
_PATTERN_HELP = dict((regex, (what, example)) for regex, what, example in PATTERNS.values())

# Why a bound exists, added to the message when a value is outside it.
_WHY = {
    "hubops_az_count": "EKS needs subnets in at least two AZs, and the subnet plan supports at most %d" % MAX_AZ_COUNT,
    "hubops_byo_subnet_ids.private": "EKS needs subnets in at least two AZs",
}


# ---------------------------------------------------------------------------------------------------------------
# Schema builders: every property carries a description (docs/inventory.md is generated from them).

def _str(description, pattern=None, **extra):
    schema = {"type": "string", "description": description}
    if pattern:
        schema["pattern"] = PATTERNS[pattern][0]
    schema.update(extra)
    return schema


def _enum(description, values, **extra):
    schema = {"type": "string", "enum": list(values), "description": description}
    schema.update(extra)
    return schema


def _int(description, minimum=None, maximum=None, **extra):
    schema = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    schema.update(extra)
    return schema


def _num(description, **extra):
    schema = {"type": "number", "description": description}
    schema.update(extra)
    return schema


def _bool(description, default=None):
    schema = {"type": "boolean", "description": description}
    if default is not None:
        schema["default"] = default
    return schema


def _list(description, items, **extra):
    schema = {"type": "array", "items": items, "description": description}
    schema.update(extra)
    return schema


def _obj(description, properties, required=(), **extra):
    schema = {"type": "object", "description": description, "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def _map(description, values, **extra):
    """A mapping with free keys (tags, chart names)."""
    schema = {"type": "object", "description": description, "additionalProperties": values}
    schema.update(extra)
    return schema


def _nodepool_properties():
    return {
        "capacity": _list("Capacity types Karpenter may buy, cheapest first.",
                          _enum("A capacity type.", ["spot", "on-demand"]), minItems=1, uniqueItems=True),
        "families": _list("Instance categories or families (m, r, c, g, m7i ...).",
                          _str("An instance category or family.", "instance_family"), minItems=1),
        "sizes": _list("Instance sizes (large, xlarge, 2xlarge ...).", _str("An instance size.", "instance_size"), minItems=1),
        "instance_types": _list("Exact instance types; overrides families and sizes.",
                                _str("An EC2 instance type.", "instance_type"), minItems=1),
        "arch": _list("CPU architectures.", _enum("An architecture.", ["amd64", "arm64"]), minItems=1, uniqueItems=True),
        "gpu": _obj("GPUs per node.", {
            "count": _int("GPUs per node.", minimum=1),
            "name": _str("GPU name as Karpenter labels it (t4, a10g, l4, a100 ...)."),
        }, required=["count"]),
        "cpu_limit": _int("Most vCPUs the pool may run at once (caps cost).", minimum=1),
        "memory_limit": _str("Most memory the pool may run at once.", "quantity"),
        "gpu_limit": _int("Most GPUs the pool may run at once.", minimum=0),
        "volume_size_gb": _int("Root volume size of each node, GiB.", minimum=20),
        "consolidate_after": _str("How long a node stays empty or underused before Karpenter removes it.", "duration"),
        "expire_after": _str("Node lifetime before Karpenter replaces it (patching); default Never. Anything else needs "
                             "termination_grace_period, because expiry ignores do-not-disrupt.", "duration"),
        "termination_grace_period": _str("Longest a user's server may hold an expiring or drained node.", "duration"),
        "consolidation": _enum("When Karpenter removes nodes: WhenEmpty (default; never moves a running server) or "
                               "WhenEmptyOrUnderutilized.", ["WhenEmpty", "WhenEmptyOrUnderutilized"]),
        "weight": _int("Priority among pools that fit a pod; higher is tried first.", minimum=1, maximum=100),
        "labels": _map("Extra node labels (not in the kubernetes.io, k8s.io or karpenter.sh domains).", _str("A label value.")),
        "taints": _list("Extra node taints.", _obj("A taint.", {
            "key": _str("Taint key."),
            "value": _str("Taint value."),
            "effect": _enum("Taint effect.", ["NoSchedule", "PreferNoSchedule", "NoExecute"]),
        }, required=["key", "effect"])),
        "tags": _map("Extra tags on the pool's instances, volumes and launch templates.", _str("A tag value.", maxLength=256)),
        "ami_alias": _str("EKS-optimised AMI, pinned: <family>@<version> (default hubops_karpenter.ami_alias).",
                          "ami_alias"),
    }


def _nodepool_spec(description):
    props = {"name": _str("Pool name (default: the group's name).", "dns_label"),
             "shared": _str("Run the group on this hubops_nodepools pool instead of an own one (alone, no other keys).",
                            "dns_label")}
    props.update(_nodepool_properties())
    return _obj(description, props)


def _shared_nodepool():
    props = {"name": _str("Pool name; profiles refer to it with nodepool: <name>.", "dns_label")}
    props.update(_nodepool_properties())
    return _obj("A node pool shared by several groups.", props, required=["name"])


def _chart_ref():
    return _obj("Where a chart comes from: repo + name + version, or a local path.", {
        "repo": _str("Chart repository URL (an internal mirror for restricted sites).", "chart_repo"),
        "name": _str("Chart name in the repository (defaults to the key)."),
        "version": _str("Chart version, pinned."),
        "path": _str("Local chart directory or .tgz, instead of repo."),
        "values": {"type": "object", "description": "Extra Helm values merged over the ones hubops builds."},
    })


def _members():
    return _obj("Who belongs to the group; the lists the hub's authenticator can resolve.", {
        "github_teams": _list("GitHub teams, <org>:<team-slug> (auth type github).", _str("A GitHub team.", "github_team")),
        "cognito_groups": _list("Cognito user pool groups (auth type cognito).", _str("A Cognito group.")),
        "oidc_groups": _list("Values of the identity provider's groups claim (auth type oidc).", _str("An OIDC group.")),
        "ldap_groups": _list("LDAP group DNs (auth type ldap).", _str("An LDAP group DN.")),
        "users": _list("Individual user names (any auth type).", _str("A user name.")),
    })


def _profile():
    return _obj("A server option users of the group can pick.", {
        "name": _str("Profile name, unique within the group; pod label hubops.io/profile.", "dns_label"),
        "display_name": _str("Name shown on the spawn page."),
        "description": _str("Text shown on the spawn page."),
        "cpu": _num("vCPUs guaranteed to the server.", exclusiveMinimum=0),
        "memory": _str("Memory guaranteed to the server.", "quantity"),
        "gpu": _int("GPUs for the server; the pool it runs on must have GPUs.", minimum=0),
        "images": _list("Images users may choose; the first is the default.", _str("An image reference."), minItems=1),
        "allow_custom_image": _bool("Let users type any image (bring your own image), within hubops_image_allowlist.", False),
        "nodepool": _str("Run on this hubops_nodepools entry instead of the group's own pool.", "dns_label"),
        "default": _bool("Preselect this profile.", False),
    }, required=["name"])


def _budget(description):
    return _obj(description, {
        "monthly_usd": _num("Monthly budget in USD.", exclusiveMinimum=0),
        "thresholds_pct": _list("Alert at these percentages of the budget (default 80 and 100).",
                                _int("A percentage.", minimum=1, maximum=1000), minItems=1),
        "notify": _list("E-mail addresses or SNS topic ARNs alerted.", _str("An e-mail address or SNS topic ARN.", "notify"),
                        minItems=1),
    }, required=["monthly_usd"])


def _group():
    return _obj("A group of users with its own resources.", {
        "name": _str("Group name; node label and pod label hubops.io/group, tag hubops:group.", "dns_label"),
        "display_name": _str("Name shown to users."),
        "members": _members(),
        "nodepool": _nodepool_spec("The group's own Karpenter pool (every group gets one)."),
        "profiles": _list("Server options of the group.", _profile(), minItems=1),
        "storage": _obj("The group's storage.", {
            "home_quota": _str("Home size per user (hard quota with hubops_home_storage: ebs).", "quantity"),
            "shared_dir": _bool("Give the group /home/shared/<group> on EFS.", True),
            "scratch_retention_days": _int("Days before files in the shared scratch/ are deleted; 0 keeps them.", minimum=0),
        }),
        "budget": _budget("AWS Budget for the group's tagged spend (hubops:group)."),
        "dask": _obj("The group's Dask clusters (hubops_dask_gateway): limits per cluster and a spot-only worker pool "
                     "<group>-dask. Members of no group with dask cannot create clusters.", {
                         "max_cores": _num("Most cores of one cluster (cluster_max_cores).", exclusiveMinimum=0, default=16),
                         "max_memory": _str("Most memory of one cluster (cluster_max_memory).", "quantity", default="64Gi"),
                         "max_clusters": _int("Most clusters a user runs at once (dask-gateway applies the largest of the "
                                              "groups to every user).", minimum=1, default=2),
                         "max_workers": _int("Most workers of one cluster (cluster_max_workers).", minimum=1, default=16),
                         "instance_types": _list("Instance types of the worker pool (default: current c, m, r families).",
                                                 _str("An EC2 instance type.", "instance_type"), minItems=1),
                     }),
    }, required=["name"])


def _auth():
    return _obj("How users log in. Secrets come from vault_* variables.", {
        "type": _enum("Authenticator.", AUTH_TYPES),
        "client_id": _str("OAuth client id (github, cognito, oidc); from the vault."),
        "client_secret": _str("OAuth client secret (github, cognito, oidc); from the vault."),
        "admins": _list("Hub admin user names.", _str("A user name.")),
        "allowed_organizations": _list("GitHub organisations (or <org>:<team>) whose members may log in (github, dandi).",
                                       _str("An organisation.")),
        "allowed_users": _list("User names allowed to log in besides group members.", _str("A user name.")),
        "groups_claim": _str("Claim holding the user's groups, dotted for nested claims (oidc; default groups)."),
        "start_tls": _bool("Upgrade the LDAP connection with StartTLS instead of LDAPS (ldap).", False),
        "authorize_url": _str("OIDC authorize endpoint (oidc).", "url"),
        "token_url": _str("OIDC token endpoint (oidc).", "url"),
        "userdata_url": _str("OIDC userinfo endpoint (oidc).", "url"),
        "logout_url": _str("Identity provider logout endpoint users are sent to after the hub's logout (oidc).", "url"),
        "username_claim": _str("Claim used as the user name (oidc, cognito)."),
        "scope": _list("OAuth scopes requested.", _str("A scope.")),
        "cognito_domain": _str("Cognito hosted UI domain prefix (cognito; default <deployment>-<account id>).", "dns_label"),
        "server_address": _str("LDAP server host name (ldap)."),
        "server_port": _int("LDAP server port (ldap).", minimum=1, maximum=65535),
        "use_ssl": _bool("Use LDAPS (ldap).", True),
        "ca_bundle": _str("PEM CA certificate(s) the LDAP server's certificate must chain to (ldap; default: the hub image's "
                          "system CAs). The certificate is always verified, and must name server_address.", "pem_certificates"),
        "bind_dn": _str("DN the hub binds as to search users (ldap)."),
        "bind_password": _str("Password of bind_dn (ldap); from the vault."),
        "user_search_base": _str("Where users are searched (ldap)."),
        "user_attribute": _str("Attribute holding the user name (ldap)."),
        "allowed_groups": _list("LDAP group DNs whose members may log in besides the groups' ldap_groups (ldap).",
                                _str("An LDAP group DN.")),
        "allow_dummy": _bool("Required to use type dummy, which lets anyone in with any password (tests only).", False),
        "dandi_api": _obj("The DANDI archive check (type dandi, or github with this block): only GitHub users "
                          "registered in the archive may log in.", {
                              "url": _str("DANDI API URL.", "url"),
                              "token": _str("DANDI API token; from the vault."),
                              "register_url": _str("Where unregistered users are sent to register.", "url"),
                          }),
    }, required=["type"])


def _monitoring():
    description = ("Prometheus and Grafana (roles/monitoring): the hub's metrics, dashboards per user, group and "
                   "node pool. About 1.5 GiB of memory on the core nodes and the Prometheus volume.")
    return _obj(description, {
        "enabled": _bool("Install kube-prometheus-stack (false removes it on the next site.yml).", True),
        "namespace": _str("Its namespace.", "dns_label", default="monitoring"),
        "retention": _str("How long Prometheus keeps samples.", "prom_duration", default="15d"),
        "storage_size": _str("Prometheus' volume (gp3, hubops_monitoring.storage_class); Prometheus also deletes the "
                             "oldest data past 85% of it.", "gibibytes", default="20Gi"),
        "storage_class": _str("StorageClass of the Prometheus volume (hubops-gp3 is made by the storage role).",
                              default="hubops-gp3"),
        "scrape_interval": _str("How often Prometheus scrapes.", "prom_duration", default="60s"),
        "storage_usage": _bool("Serve the storage role's usage report to Prometheus (a tiny exporter in the hub's "
                               "namespace).", True),
        "grafana": _obj("Grafana (a ClusterIP Service: kubectl port-forward, see roles/monitoring).", {
            "admin_user": _str("Admin login.", default="admin"),
            "admin_password": _str("Admin password from a vault_* variable; without it one is generated once and "
                                   "kept in the Secret hubops-grafana-admin."),
        }),
    })


SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/hubops/eks/inventory.schema.json",
    "title": "hubops.eks inventory",
    "description": "The hubops_* variables of one deployment (inventories/<deployment>/group_vars/all/*.yml).",
    "type": "object",
    "required": ["hubops_deployment", "hubops_region"],
    # Unknown hubops_* keys are reported by validate() as likely typos (errors or warnings, see strict).
    "additionalProperties": False,
    "properties": {
        # identity and AWS access
        "hubops_deployment": _str("Deployment name; prefixes every resource name and is the hubops:deployment tag.", "dns_label"),
        "hubops_region": _str("AWS region of the deployment.", "region"),
        "hubops_aws_account_id": _str("The AWS account the inventory is for; runs against another account are refused. "
                                      "Quote it.", "account_id"),
        "hubops_aws_profile": _str("AWS CLI profile to use (else the environment's credentials)."),
        "hubops_aws_endpoint_url": _str("AWS endpoint override; only for the emulated AWS (inventories/local).", "url"),
        "hubops_aws_access_key": _str("Access key for the emulated AWS only; real deployments use a profile or the environment."),
        "hubops_aws_secret_key": _str("Secret key for the emulated AWS only; real deployments use a profile or the environment."),
        "hubops_tags": _map("Tags added to every resource (cost allocation).",
                            _str("A tag value (quote numbers).", maxLength=256), default={}),
        # network
        "hubops_vpc_cidr": _str("IPv4 CIDR of the VPC hubops creates, in a private range (10/8, 172.16/12, 192.168/16, "
                                "100.64/10). Mutually exclusive with hubops_byo_subnet_ids.", default=DEFAULT_VPC_CIDR),
        "hubops_byo_subnet_ids": _obj("Use existing subnets instead of creating a VPC. Mutually exclusive with hubops_vpc_cidr.", {
            "public": _list("Public subnets (load balancers).", _str("A subnet id.", "subnet_id"), uniqueItems=True),
            "private": _list("Private subnets (nodes and pods), in at least two AZs.", _str("A subnet id.", "subnet_id"),
                             minItems=2, uniqueItems=True),
        }, required=["private"]),
        "hubops_az_count": _int("Availability zones to spread subnets and nodes over.", minimum=2, maximum=MAX_AZ_COUNT, default=2),
        "hubops_nat_mode": _enum("NAT gateways: single (cheapest), per_az (survives an AZ outage), none (internet-restricted; "
                                 "needs VPC endpoints).", ["single", "per_az", "none"], default="single"),
        "hubops_vpc_endpoints": _list("VPC endpoints to create (s3 is a free gateway endpoint; the others are interface endpoints "
                                      "billed per AZ-hour).", _enum("An endpoint service.", VPC_ENDPOINTS), uniqueItems=True,
                                      default=["s3"]),
        "hubops_public_access_cidrs": _list("CIDRs allowed to reach the EKS API endpoint.", _str("An IPv4 CIDR."),
                                            minItems=1, default=["0.0.0.0/0"]),
        # cluster
        "hubops_cluster_name": _str("EKS cluster name (defaults to hubops_deployment).", "dns_label"),
        "hubops_k8s_version": _str("Kubernetes minor version of the cluster. Quote it.", "k8s_version", default="1.34"),
        "hubops_k8s_service_cidr": _str("IPv4 CIDR for Kubernetes Services, in 10/8, 172.16/12 or 192.168/16, /12 to /24, "
                                        "not overlapping the VPC.", default=DEFAULT_SERVICE_CIDR),
        "hubops_cluster_admin_arns": _list("IAM roles or users given cluster admin (EKS access entries).",
                                           _str("An IAM role or user ARN.", "iam_principal_arn"), uniqueItems=True),
        "hubops_core_nodes": _obj("The on-demand managed node group for system pods (hub, controllers).", {
            "instance_type": _str("Instance type.", "instance_type"),
            "count": _int("Number of nodes.", minimum=1, maximum=100),
            "volume_size_gb": _int("Root volume size, GiB.", minimum=20),
        }),
        "hubops_eksctl_path": _str("Path of the eksctl binary (default: eksctl on PATH). Only inventories/local points it at the test stand-in."),
        "hubops_kubeconfig": _str("Where the cluster's kubeconfig is written."),
        "hubops_log_retention_days": _int("Retention of the control-plane log group, days.", enum=LOG_RETENTION_DAYS, default=30),
        # compute and users
        "hubops_nodepools": _list("Karpenter pools shared by several groups (each group also gets its own).", _shared_nodepool()),
        "hubops_groups": _list("The groups of users and what each gets.", _group()),
        "hubops_home_storage": _enum("Home directories: ebs (a volume per user, hard quota) or efs (one file system, no hard "
                                     "quota).", ["ebs", "efs"], default="ebs"),
        "hubops_home_az": _str("Keep every EBS home volume in this availability zone (one of the deployment's), so a user's "
                               "home never strands in an AZ without capacity (seed 002); user pools still span all AZs.",
                               "az_name"),
        "hubops_storage": _obj("Storage beyond the per-group settings: EFS, the public directory, jobs, backups.", {
            "default_home_quota": _str("Home size of a user in no group with a home_quota.", "quantity", default="10Gi"),
            "public_dir": _bool("Mount /home/shared/public for everyone (read-only; read-write for admins).", True),
            "transition_to_ia_days": _int("Days before unread EFS files move to Infrequent Access; 0 = never.",
                                          enum=[0, 1, 7, 14, 30, 60, 90, 180, 270, 365], default=30),
            "job_image": _str("Image of the cleanup and usage-report jobs (any image with python3)."),
            "cleanup": _obj("The scratch cleanup jobs (groups' scratch_retention_days).", {
                "schedule": _str("Cron schedule (cluster time zone, UTC).", "cron"),
                "dry_run": _bool("Only log what would be deleted.", False),
            }),
            "usage_report": _obj("Per-user and per-group usage of the shared directories (ConfigMap hubops-storage-usage).", {
                "enabled": _bool("Run the report.", True),
                "schedule": _str("Cron schedule.", "cron"),
            }),
            "backup": _obj("AWS Backup plan for the EFS and the EBS homes.", {
                "enabled": _bool("Back up daily.", True),
                "retention_days": _int("Days recovery points are kept.", minimum=1, maximum=36500, default=35),
                "schedule": _str("AWS cron expression.", "cron_aws"),
            }),
            "home_snapshots": _obj("Daily EBS snapshots of the homes by Data Lifecycle Manager (seed 002's cron snapshots).", {
                "enabled": _bool("Snapshot homes daily.", False),
                "retain": _int("Snapshots kept per volume.", minimum=1, maximum=1000, default=7),
                "time": _str("UTC time of day, HH:MM.", "time_hhmm"),
            }),
        }),
        "hubops_image_allowlist": _list("Registries or repository prefixes users' images may come from.", _str("An image prefix.")),
        "hubops_image_registries": _map("Registry mirrors: upstream registry -> mirror prefix (internet-restricted sites).",
                                        _str("A mirror prefix.")),
        "hubops_budget": _budget("AWS Budget for the whole deployment's tagged spend (hubops:deployment)."),
        "hubops_charts_dir": _str("Directory holding charts by key (<dir>/karpenter ...), used for every chart hubops_charts "
                                  "does not name: a local mirror for internet-restricted sites, the reference charts in tests."),
        "hubops_karpenter": _obj("Karpenter settings shared by every pool.", {
            "ami_alias": _str("EKS-optimised AMI of the nodes, pinned (<family>@<version>); raise it after trying a new "
                              "AMI on a test deployment.", "ami_alias"),
            "controller_replicas": _int("Controller replicas (on the core nodes).", minimum=1, maximum=5),
        }),
        "hubops_charts": _map("Chart sources by chart key (jupyterhub, karpenter, ...): repo/name/version or path.", _chart_ref()),
        "hubops_services": _list("Other charts installed beside the hub (roles/services) and removed by teardown.", _obj(
            "A chart release.", {
                "name": _str("Release name, unique.", "dns_label"),
                "namespace": _str("Namespace (default: the release name); created and, on teardown, deleted by hubops "
                                  "when it made it.", "dns_label"),
                "chart": _chart_ref(),
                "values": {"type": "object", "description": "Helm values (secrets from vault_* variables)."},
            }, required=["name", "chart"])),
        "hubops_dask_gateway": _obj("dask-gateway beside the hub (roles/services): JupyterHub login, Dask clusters on the "
                                    "spot-only pool of the user's group (hubops_groups[].dask). Chart from "
                                    "hubops_charts['dask-gateway'].", {
                                        "enabled": _bool("Install dask-gateway.", False),
                                        "namespace": _str("Its namespace.", "dns_label", default="dask-gateway"),
                                        "worker_image": _str("Image of schedulers and workers; needs the same Python "
                                                             "packages as the notebook image (default: the chart's "
                                                             "dask-gateway image)."),
                                        "idle_timeout": _int("Seconds a cluster may stay idle before it is stopped; "
                                                             "0 = never.", minimum=0, default=1800),
                                        "consolidate_after": _str("How long a worker node stays empty before Karpenter "
                                                                  "removes it.", "duration", default="1m"),
                                        "ami_alias": _str("AMI of the worker pools (default hubops_karpenter.ami_alias).",
                                                          "ami_alias"),
                                    }),
        "hubops_monitoring": _monitoring(),
        "hubops_hub": _obj("The JupyterHub itself.", {
            "domain": _str("Public host name of the hub.", "hostname"),
            "route53_zone": _str("Route53 hosted zone that holds domain.", "hostname"),
            "certificate_arn": _str("Existing ACM certificate (else one is requested and validated).", "acm_arn"),
            "create_zone": _bool("Create route53_zone (a subdomain delegated to this deployment) and delete it on teardown.", False),
            "ingress": _obj("How users reach the hub: an NLB with TLS on 443 (default) or an ALB Ingress.", {
                "mode": _enum("nlb (TLS offload, port 443 only) or alb (HTTP redirected to HTTPS).", ["nlb", "alb"], default="nlb"),
                "source_ranges": _list("CIDRs allowed to reach the hub.", _str("An IPv4 CIDR."), minItems=1),
                "scheme": _enum("internet-facing, or internal for a hub reached over a VPN.", ["internet-facing", "internal"],
                                default="internet-facing"),
                "idle_timeout": _int("ALB idle timeout, seconds (websockets).", minimum=60, maximum=4000),
                "force_dns": _bool("Take over an existing record on the domain that hubops does not own.", False),
            }),
            "auth": _auth(),
            "namespace": _str("Kubernetes namespace of the hub.", "dns_label", default="jupyterhub"),
            "default_image": _str("Image of profiles that list none (a docker-stacks image by default)."),
            "start_timeout": _int("Seconds a server may take to start (node from zero + image pull).", minimum=60, default=900),
            "wait_ready": _bool("Wait for the hub to be ready after an install or upgrade.", True),
            "placeholders": _obj("Placeholder pods that keep nodes warm (workshops).", {
                "replicas": _int("Placeholder pods, each the size of a default server; 0 = none.", minimum=0, maximum=500),
            }),
            "network": _obj("User servers' network policy: internet yes, instance metadata no, in-cluster only as listed.", {
                "allow_services": _list("In-cluster services user servers may reach.", _obj("A service.", {
                    "namespace": _str("Its namespace.", "dns_label"),
                    "ports": _list("TCP ports.", _int("A port.", minimum=1, maximum=65535)),
                    "pod_labels": _map("Only pods with these labels.", _str("A label value.")),
                }, required=["namespace"])),
            }),
            "db": _obj("The hub database (sqlite on a volume).", {
                "size": _str("Volume size.", "quantity"),
                "storage_class": _str("StorageClass of the volume."),
                "snapshot_on_upgrade": _bool("Snapshot the volume before a chart version change.", True),
            }),
            "image_pull_secrets": _list("Credentials for private registries of user images (ECR needs none: nodes "
                                        "pull with their role).", _obj("A registry login.", {
                                            "registry": _str("Registry host."),
                                            "username": _str("User name; from the vault."),
                                            "password": _str("Password or token; from the vault."),
                                        }, required=["registry", "username", "password"])),
            "culling": _obj("Stopping idle servers.", {
                "enabled": _bool("Cull idle servers.", True),
                "timeout": _int("Seconds idle before a server is stopped.", minimum=0),
                "max_age": _int("Seconds before any server is stopped; 0 = no limit.", minimum=0),
                "every": _int("Seconds between culler runs.", minimum=1),
            }),
        }),
        # lifecycle and output
        "hubops_teardown_confirm": _str("Must equal hubops_deployment for teardown.yml to run (pass it with -e)."),
        "hubops_teardown_delete_data": _bool("Teardown also deletes user data (EFS, home volumes, snapshots, backups).", False),
        "hubops_no_log": _bool("Hide secret-carrying task output (set false only to debug).", True),
        "hubops_summary": _bool("Print a summary (URLs, cost estimate) at the end of site.yml.", True),
    },
}

REQUIRED = tuple(SCHEMA["required"])
FIELDS = tuple(sorted(SCHEMA["properties"]))


# ---------------------------------------------------------------------------------------------------------------
# Small helpers

def field_path(parts):
    """['hubops_groups', 1, 'name'] -> 'hubops_groups[1].name'."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += "[%d]" % part
        else:
            out += ("." if out else "") + str(part)
    return out


def _is_secret_path(field):
    return bool(SECRET_KEY_RE.search(field))


def _show(value, field):
    """A value as it may appear in a message: never the value of a secret-looking field."""
    if _is_secret_path(field):
        return "(hidden)"
    if isinstance(value, str):
        return "'%s'" % value if len(value) <= 80 else "'%s...'" % value[:77]
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value):
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
    "array": "a list", "object": "a mapping (key: value)", "null": "empty",
}


def _problem(field, message, fix):
    return {"field": field, "message": message, "fix": fix}


def _did_you_mean(word, candidates):
    match = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return match[0] if match else None


def _dns_suggestion(value):
    text = re.sub(r"[^a-z0-9-]+", "-", str(value).lower())
    text = re.sub(r"-+", "-", text).lstrip("-0123456789")[:32].rstrip("-")
    return text or "hub"


def _items(value):
    """(index, item) of a list, or nothing when it is not a list (the schema reports that)."""
    return list(enumerate(value)) if isinstance(value, list) else []


def _dict(value):
    return value if isinstance(value, dict) else {}


def _filled(value):
    return isinstance(value, str) and value.strip() != ""


# ---------------------------------------------------------------------------------------------------------------
# JSON-schema errors in plain language

def _type_problem(error, field):
    value = error.instance
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    want = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
    if field == "hubops_aws_account_id" and isinstance(value, int) and not isinstance(value, bool):
        quoted = '"%012d"' % value if 0 <= value < 10 ** 12 else '"123456789012"'
        return _problem(field, "is a number, but an account id must be a 12-digit string (YAML reads unquoted digits as a "
                               "number and drops leading zeros).",
                        "Quote it: hubops_aws_account_id: %s (check the digits against the account)." % quoted)
    if field == "hubops_k8s_version" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _problem(field, "is the number %s, not a string (YAML reads 1.30 as 1.3)." % value,
                        'Quote it: hubops_k8s_version: "%s" (with the trailing zero if it had one).' % value)
    if value is None:
        return _problem(field, "is empty (null); expected %s." % want, "Give it a value or remove the key.")
    shown = "" if _is_secret_path(field) else " (%s)" % _show(value, field)
    message = "is %s%s; expected %s." % (_kind(value), shown, want)
    if "string" in expected and isinstance(value, (int, float, bool)):
        return _problem(field, message, "Quote it so YAML keeps it a string.")
    example = error.schema.get("default") if isinstance(error.schema, dict) else None
    if example is not None and not isinstance(value, (dict, list)):
        return _problem(field, message, "Write it as %s, e.g. %s." % (want, json.dumps(example)))
    return _problem(field, message, "Write it as %s." % want)


def _enum_problem(error, field):
    allowed = ", ".join(str(v) for v in error.validator_value)
    guess = _did_you_mean(error.instance, error.validator_value) if isinstance(error.instance, str) else None
    fix = "Use one of: %s." % allowed
    if guess:
        fix = "Did you mean %s? Allowed values: %s." % (guess, allowed)
    return _problem(field, "is %s, which is not an allowed value." % _show(error.instance, field), fix)


def _pattern_problem(error, field):
    what, example = _PATTERN_HELP.get(error.validator_value, ("has the wrong format", None))
    if error.validator_value == DNS_LABEL_RE.pattern:
        return _problem(field, "is %s; it %s." % (_show(error.instance, field), what),
                        "Rename it, e.g. '%s'." % _dns_suggestion(error.instance))
    fix = "Write it like %s." % example if example else "Correct the value."
    return _problem(field, "is %s; it %s." % (_show(error.instance, field), what), fix)


def _bound_problem(error, field):
    schema = error.schema if isinstance(error.schema, dict) else {}
    low, high = schema.get("minimum", schema.get("exclusiveMinimum")), schema.get("maximum")
    words = {"minimum": "below the minimum of %s", "maximum": "above the maximum of %s",
             "exclusiveMinimum": "not above %s"}
    message = "is %s, %s" % (_show(error.instance, field), words[error.validator] % error.validator_value)
    why = _WHY.get(field)
    message += (": %s." % why) if why else "."
    if low is not None and high is not None:
        fix = "Set it between %s and %s." % (low, high)
    elif error.validator == "maximum":
        fix = "Set it to %s or less." % high
    else:
        fix = "Set it to more than %s." % low if error.validator == "exclusiveMinimum" else "Set it to %s or more." % low
    return _problem(field, message, fix)


def _size_problem(error, field):
    count = len(error.instance) if hasattr(error.instance, "__len__") else 0
    limit = error.validator_value
    why = _WHY.get(field)
    if error.validator == "minItems":
        message = "has %d entr%s; at least %d needed" % (count, "y" if count == 1 else "ies", limit)
        fix = "List at least %d." % limit
    elif error.validator == "maxItems":
        message, fix = "has %d entries; at most %d allowed" % (count, limit), "List at most %d." % limit
    elif error.validator == "minLength":
        message, fix = "is empty or too short", "Give it a value."
    else:
        message, fix = "is longer than %d characters" % limit, "Shorten it to %d characters or fewer." % limit
    return _problem(field, message + ((": %s." % why) if why else "."), fix)


def _unique_problem(error, field):
    seen, dupes = [], []
    for item in error.instance:
        (dupes if item in seen else seen).append(item)
    shown = ", ".join(_show(d, field) for d in dupes[:3])
    return _problem(field, "lists the same entry more than once (%s)." % shown, "Remove the duplicates.")


def _required_problems(error, field):
    missing = [p for p in error.validator_value if isinstance(error.instance, dict) and p not in error.instance]
    out = []
    for name in missing:
        sub = field_path(list(error.absolute_path) + [name])
        desc = error.schema.get("properties", {}).get(name, {}).get("description", "")
        out.append(_problem(sub, "is required but not set%s" % (" (%s)." % desc.rstrip(".") if desc else "."),
                            "Add %s to the inventory." % sub))
    return out


def _additional_problems(error, field):
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = sorted(schema.get("properties", {}))
    out = []
    for key in sorted(k for k in _dict(error.instance) if k not in known):
        sub = field_path(list(error.absolute_path) + [key])
        guess = _did_you_mean(key, known)
        fix = ("Did you mean %s? Rename it." % guess) if guess else "Remove it; allowed keys here: %s." % ", ".join(known)
        out.append(_problem(sub, "is not a known setting here (likely a typo).", fix))
    return out


_TRANSLATORS = {
    "type": _type_problem, "enum": _enum_problem, "pattern": _pattern_problem,
    "minimum": _bound_problem, "maximum": _bound_problem, "exclusiveMinimum": _bound_problem,
    "minItems": _size_problem, "maxItems": _size_problem, "minLength": _size_problem, "maxLength": _size_problem,
    "uniqueItems": _unique_problem,
}


def translate_error(error):
    """One jsonschema ValidationError -> a list of problems (required/additionalProperties can name several fields)."""
    field = field_path(error.absolute_path)
    if error.validator == "required":
        return _required_problems(error, field)
    if error.validator == "additionalProperties":
        return _additional_problems(error, field)
    if error.validator == "enum" and error.schema.get("type") == "integer":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return [_problem(field, "is %s, which is not an allowed value." % _show(error.instance, field), "Use one of: %s." % allowed)]
    translator = _TRANSLATORS.get(error.validator)
    if translator:
        return [translator(error, field)]
    return [_problem(field, "does not match what the inventory schema allows (%s)." % error.validator,
                     "See docs/inventory.md for %s." % (field or "the inventory"))]


def schema_errors(inventory):
    """Problems the JSON schema finds in the known hubops_* keys of inventory (a dict)."""
    if not HAS_JSONSCHEMA:
        raise RuntimeError("the jsonschema Python library is required")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(inventory), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(translate_error(error))
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Cross-field rules: each takes the (known-keys) inventory and returns (errors, warnings)

def _network(cidr, strict=True):
    net = ipaddress.ip_network(cidr, strict=strict)
    if net.version != 4:
        raise ValueError("not IPv4")
    return net


def _cidr_problem(field, value, example):
    """A problem when value is not an IPv4 network CIDR, else None."""
    if not isinstance(value, str):
        return None
    try:
        _network(value)
        return None
    except ValueError:
        pass
    try:
        net = _network(value, strict=False)
        return _problem(field, "is %s, which has host bits set." % _show(value, field), "Use the network address: %s." % net)
    except ValueError:
        return _problem(field, "is %s, which is not an IPv4 CIDR." % _show(value, field), "Write it like %s." % example)


def rule_vpc_cidr(inv):
    errors = []
    vpc = inv.get("hubops_vpc_cidr")
    if vpc is None:
        if "hubops_byo_subnet_ids" in inv:
            return [], []
        vpc = DEFAULT_VPC_CIDR
    service = inv.get("hubops_k8s_service_cidr", DEFAULT_SERVICE_CIDR)
    bad = _cidr_problem("hubops_vpc_cidr", vpc, DEFAULT_VPC_CIDR)
    if bad or not isinstance(vpc, str):
        return [bad] if bad else [], []
    if not is_private_range(vpc):
        errors.append(_problem("hubops_vpc_cidr", "is %s, which is not a private range." % _show(vpc, "hubops_vpc_cidr"),
                               "Use a block inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10, "
                               "e.g. %s." % DEFAULT_VPC_CIDR))
        return errors, []
    if isinstance(service, str) and not _cidr_problem("hubops_k8s_service_cidr", service, DEFAULT_SERVICE_CIDR) \
            and overlaps(vpc, service):
        field = "hubops_k8s_service_cidr" if "hubops_k8s_service_cidr" in inv else "hubops_vpc_cidr"
        errors.append(_problem(field, "overlaps: the VPC %s and the Kubernetes service range %s share addresses%s."
                               % (vpc, service, "" if "hubops_k8s_service_cidr" in inv else " (the default service range)"),
                               "Pick a VPC CIDR outside %s, or set hubops_k8s_service_cidr to a range outside %s."
                               % (service, vpc)))
    az_count = inv.get("hubops_az_count", 2)
    if isinstance(az_count, int) and not isinstance(az_count, bool) and 2 <= az_count <= MAX_AZ_COUNT:
        try:
            subnet_plan(vpc, az_count)
        except SubnetPlanError as exc:
            errors.append(_problem("hubops_vpc_cidr", "cannot hold the subnets: %s." % str(exc).rstrip("."),
                                   "Use a larger block (a /16 is typical) or fewer AZs (hubops_az_count)."))
    return errors, []


def rule_service_cidr(inv):
    value = inv.get("hubops_k8s_service_cidr")
    if value is None:
        return [], []
    bad = _cidr_problem("hubops_k8s_service_cidr", value, DEFAULT_SERVICE_CIDR)
    if bad:
        return [bad], []
    net = _network(value)
    allowed = [ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    if not any(net.subnet_of(a) for a in allowed) or not 12 <= net.prefixlen <= 24:
        return [_problem("hubops_k8s_service_cidr", "is %s; EKS needs a block between /12 and /24 inside 10.0.0.0/8, "
                                                    "172.16.0.0/12 or 192.168.0.0/16." % value,
                         "Use the default %s, or another such block outside the VPC." % DEFAULT_SERVICE_CIDR)], []
    return [], []


def rule_public_access_cidrs(inv):
    errors = []
    for index, value in _items(inv.get("hubops_public_access_cidrs")):
        bad = _cidr_problem("hubops_public_access_cidrs[%d]" % index, value, "203.0.113.0/24")
        if bad:
            errors.append(bad)
    return errors, []


def rule_byo_subnets(inv):
    byo = inv.get("hubops_byo_subnet_ids")
    if byo is None:
        return [], []
    errors = []
    if inv.get("hubops_vpc_cidr") is not None:
        errors.append(_problem("hubops_byo_subnet_ids", "is set together with hubops_vpc_cidr; they are mutually exclusive.",
                               "Remove hubops_vpc_cidr to use your own subnets, or remove hubops_byo_subnet_ids to let hubops "
                               "create the VPC."))
    byo = _dict(byo)
    public = set(s for s in byo.get("public") or [] if isinstance(s, str)) if isinstance(byo.get("public"), list) else set()
    for index, subnet in _items(byo.get("private")):
        if subnet in public:
            errors.append(_problem("hubops_byo_subnet_ids.private[%d]" % index, "is %s, also listed as public." % subnet,
                                   "List each subnet once: private subnets hold nodes, public ones load balancers."))
    return errors, []


def rule_names(inv):
    """Unique group, profile and pool names; profile pools exist; GPU profiles land on GPU pools."""
    errors = []
    pools = {}
    for index, pool in _items(inv.get("hubops_nodepools")):
        name = _dict(pool).get("name")
        if isinstance(name, str) and name in pools:
            errors.append(_problem("hubops_nodepools[%d].name" % index, "is '%s', the same name as hubops_nodepools[%d]."
                                   % (name, pools[name][0]), "Give each pool a unique name."))
        elif isinstance(name, str):
            pools[name] = (index, _dict(pool))
    groups = {}
    for gindex, group in _items(inv.get("hubops_groups")):
        group = _dict(group)
        name = group.get("name")
        if isinstance(name, str) and name in groups:
            errors.append(_problem("hubops_groups[%d].name" % gindex, "is '%s', the same name as hubops_groups[%d]."
                                   % (name, groups[name]), "Give each group a unique name."))
        elif isinstance(name, str):
            groups[name] = gindex
        errors.extend(_profile_problems(gindex, group, pools))
    return errors, []


def _profile_problems(gindex, group, pools):
    errors = []
    seen = {}
    for pindex, profile in _items(group.get("profiles")):
        profile = _dict(profile)
        field = "hubops_groups[%d].profiles[%d]" % (gindex, pindex)
        name = profile.get("name")
        if isinstance(name, str) and name in seen:
            errors.append(_problem(field + ".name", "is '%s', the same name as profile %d of this group." % (name, seen[name]),
                                   "Give each profile of a group a unique name."))
        elif isinstance(name, str):
            seen[name] = pindex
        pool_name = profile.get("nodepool")
        if isinstance(pool_name, str) and pool_name not in pools:
            defined = ", ".join(sorted(pools)) or "none defined"
            errors.append(_problem(field + ".nodepool", "refers to pool '%s', which hubops_nodepools does not define." % pool_name,
                                   "Add {name: %s, ...} to hubops_nodepools, use a defined one (%s), or remove it to run on "
                                   "the group's own pool." % (pool_name, defined)))
            continue
        gpu = profile.get("gpu")
        if isinstance(gpu, int) and not isinstance(gpu, bool) and gpu > 0:
            pool = pools[pool_name][1] if isinstance(pool_name, str) else _dict(group.get("nodepool"))
            if not pool.get("gpu"):
                where = "pool '%s'" % pool_name if isinstance(pool_name, str) else "the group's own pool"
                errors.append(_problem(field + ".gpu", "asks for %d GPU(s) but %s has no gpu setting, so the server would never "
                                                       "start." % (gpu, where),
                                       "Point the profile at a GPU pool (nodepool: <name>) or give %s a gpu: {count: 1}." % where))
    return errors


def rule_nodepools(inv):
    """What Karpenter's CRD would refuse, and group pools that clash with or point at shared pools."""
    groups = [g for _i, g in _items(inv.get("hubops_groups"))]
    shared = [p for _i, p in _items(inv.get("hubops_nodepools"))]
    if not all(isinstance(x, dict) for x in groups + shared):
        return [], []
    dask = inv.get("hubops_dask_gateway") if isinstance(inv.get("hubops_dask_gateway"), dict) else None
    try:
        pools_from_inventory(groups, shared, None, dask)
    except PoolSpecError as exc:
        return [_problem(field, message, fix) for field, message, fix in exc.problems], []
    return [], []


def rule_auth(inv):
    auth = _dict(_dict(inv.get("hubops_hub")).get("auth"))
    kind = auth.get("type")
    if kind not in AUTH_NEEDS:
        return [], []
    errors = []
    for key in AUTH_NEEDS[kind]:
        if not _filled(auth.get(key)):
            field = "hubops_hub.auth.%s" % key
            fix = "Set %s." % field
            if _is_secret_path(key):
                fix = 'Set %s: "{{ vault_%s_%s }}" and define vault_%s_%s in group_vars/all/vault.yml.' % (key, kind, key, kind, key)
            errors.append(_problem(field, "is missing or empty; %s authentication needs it." % kind, fix))
    if (kind == "dandi" or auth.get("dandi_api")) and not _filled(_dict(auth.get("dandi_api")).get("token")):
        errors.append(_problem("hubops_hub.auth.dandi_api.token", "is missing or empty; the DANDI registered-user check needs it.",
                               'Set dandi_api: {token: "{{ vault_dandi_api_token }}"} and define vault_dandi_api_token in '
                               "group_vars/all/vault.yml."))
    if auth.get("dandi_api") and kind not in ("github", "dandi"):
        errors.append(_problem("hubops_hub.auth.dandi_api", "is set but the auth type is %s; the DANDI check works with GitHub "
                               "logins only." % kind, "Use type: dandi (or github), or remove dandi_api."))
    if kind == "dummy" and auth.get("allow_dummy") is not True:
        errors.append(_problem("hubops_hub.auth.type", "is dummy, which lets anyone log in with any password.",
                               "Use github, cognito, oidc or ldap; for a throwaway test hub set hubops_hub.auth.allow_dummy: true."))
    return errors, []


def rule_hub_domain(inv):
    hub = _dict(inv.get("hubops_hub"))
    domain, zone = hub.get("domain"), hub.get("route53_zone")
    if isinstance(domain, str) and isinstance(zone, str) and not (domain == zone or domain.endswith("." + zone)):
        return [_problem("hubops_hub.domain", "is '%s', which is not inside the hosted zone '%s' (hubops_hub.route53_zone)."
                         % (domain, zone), "Use a name under %s, or set route53_zone to the zone that holds %s." % (zone, domain))], []
    return [], []


def rule_hub_tls(inv):
    hub = _dict(inv.get("hubops_hub"))
    if _filled(hub.get("domain")) and not _filled(hub.get("route53_zone")) and not _filled(hub.get("certificate_arn")):
        return [_problem("hubops_hub.domain", "is set, but there is neither a route53_zone to validate a certificate in nor a "
                         "certificate_arn.", "Set hubops_hub.route53_zone (hubops requests the certificate and keeps DNS "
                         "pointed at the hub) or hubops_hub.certificate_arn (an ACM certificate for the domain).")], []
    if hub.get("create_zone") is True and not _filled(hub.get("route53_zone")):
        return [_problem("hubops_hub.create_zone", "is true but route53_zone is not set.", "Set hubops_hub.route53_zone to "
                         "the zone to create.")], []
    return [], []


def rule_group_members(inv):
    kind = _dict(_dict(inv.get("hubops_hub")).get("auth")).get("type")
    if kind not in AUTH_MEMBER_KEYS:
        return [], []
    warnings = []
    for gindex, group in _items(inv.get("hubops_groups")):
        for key in sorted(_dict(_dict(group).get("members"))):
            if key != "users" and key not in AUTH_MEMBER_KEYS[kind]:
                warnings.append(_problem("hubops_groups[%d].members.%s" % (gindex, key),
                                         "cannot be resolved with %s authentication, so it adds nobody." % kind,
                                         "Use %s." % " or ".join(AUTH_MEMBER_KEYS[kind] + ("users",))))
    return [], warnings


def rule_charts(inv):
    errors = []
    for name, chart in sorted(_dict(inv.get("hubops_charts")).items()):
        chart = _dict(chart)
        if chart.get("repo") and chart.get("path"):
            errors.append(_problem("hubops_charts.%s" % name, "sets both repo and path.",
                                   "Keep repo (+ version) for a repository, or path for a local chart, not both."))
    return errors, []


def rule_tags(inv):
    errors, warnings = [], []
    for key in sorted(str(k) for k in _dict(inv.get("hubops_tags"))):
        field = "hubops_tags.%s" % key
        if key.lower().startswith("aws:"):
            errors.append(_problem(field, "uses the reserved aws: prefix.", "Rename the tag."))
        elif len(key) > 128:
            errors.append(_problem(field, "is a tag key longer than 128 characters.", "Shorten it."))
        elif key.startswith("hubops:"):
            warnings.append(_problem(field, "uses the hubops: prefix; hubops sets those tags itself and its values win.",
                                     "Rename the tag."))
    return errors, warnings


def rule_nat(inv):
    if inv.get("hubops_nat_mode") != "none":
        return [], []
    endpoints = inv.get("hubops_vpc_endpoints", ["s3"])
    endpoints = endpoints if isinstance(endpoints, list) else []
    missing = [e for e in NO_NAT_ENDPOINTS if e not in endpoints]
    if not missing:
        return [], []
    return [], [_problem("hubops_nat_mode", "is none and hubops_vpc_endpoints lacks %s: nodes cannot pull images or join "
                                            "the cluster without a route to those services." % ", ".join(missing),
                         "Add %s to hubops_vpc_endpoints (and mirror images into ECR), or set hubops_nat_mode: single."
                         % ", ".join(missing))]


def _normalise_image(image):
    first = image.split("/", 1)[0]
    if "/" not in image:
        return "docker.io/library/" + image
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + image
    return image


def rule_images(inv):
    allow = [a.rstrip("/") for a in inv.get("hubops_image_allowlist") or [] if isinstance(a, str)] \
        if isinstance(inv.get("hubops_image_allowlist"), list) else []
    if not allow:
        return [], []
    warnings = []
    for gindex, group in _items(inv.get("hubops_groups")):
        for pindex, profile in _items(_dict(group).get("profiles")):
            for iindex, image in _items(_dict(profile).get("images")):
                if not isinstance(image, str):
                    continue
                full = _normalise_image(image)
                if not any(full == a or full.startswith(a + "/") or full.startswith(a + ":") for a in allow):
                    warnings.append(_problem("hubops_groups[%d].profiles[%d].images[%d]" % (gindex, pindex, iindex),
                                             "is '%s', outside hubops_image_allowlist." % image,
                                             "Add its registry or repository to hubops_image_allowlist, or use an allowed image."))
    return [], warnings


def rule_teardown_confirm(inv):
    confirm, deployment = inv.get("hubops_teardown_confirm"), inv.get("hubops_deployment")
    if confirm is None or not isinstance(deployment, str) or confirm == deployment:
        return [], []
    return [_problem("hubops_teardown_confirm", "is '%s' but this inventory's deployment is '%s'." % (confirm, deployment),
                     "Pass -e hubops_teardown_confirm=%s to tear this deployment down." % deployment)], []


def rule_storage(inv):
    """Home quotas a gp3 volume can hold, hubops_home_az inside the region, settings that do nothing."""
    errors, warnings = [], []
    home = inv.get("hubops_home_storage", "ebs")
    for gindex, group in _items(inv.get("hubops_groups")):
        storage = _dict(_dict(group).get("storage"))
        quota = storage.get("home_quota")
        if isinstance(quota, str) and re.match(PATTERNS["quantity"][0], quota) and home == "ebs":
            size = parse_quantity(quota)
            if size < (1 << 30) or size > (16 << 40):
                errors.append(_problem("hubops_groups[%d].storage.home_quota" % gindex, "is %s; an EBS gp3 home volume is "
                                       "1Gi to 16Ti." % quota, "Use a size from 1Gi to 16Ti, e.g. 50Gi."))
        if storage.get("scratch_retention_days") and storage.get("shared_dir") is False:
            warnings.append(_problem("hubops_groups[%d].storage.scratch_retention_days" % gindex, "is set but the group has "
                                     "no shared directory (shared_dir: false), so nothing is cleaned.",
                                     "Remove it, or set shared_dir: true."))
    az, region = inv.get("hubops_home_az"), inv.get("hubops_region")
    if isinstance(az, str) and isinstance(region, str) and not (az.startswith(region) and len(az) == len(region) + 1):
        errors.append(_problem("hubops_home_az", "is '%s', which is not a zone of hubops_region '%s'." % (az, region),
                               "Use one of the region's zones, e.g. %sa." % region))
    if _filled(az) and home == "efs":
        warnings.append(_problem("hubops_home_az", "is set but homes are on EFS (hubops_home_storage: efs), which spans every "
                                 "zone.", "Remove hubops_home_az."))
    return errors, warnings


def rule_placeholders(inv):
    """Values still set to the sample inventory's CHANGE_ME."""
    errors = []

    def walk(value, path):
        if isinstance(value, dict):
            for key in sorted(value, key=str):
                walk(value[key], path + [key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, path + [index])
        elif isinstance(value, str) and value.strip().upper() == PLACEHOLDER:
            errors.append(_problem(field_path(path), "still holds the sample placeholder %s." % PLACEHOLDER,
                                   "Set the real value (secrets as vault_* in group_vars/all/vault.yml)."))
    walk(inv, [])
    return errors, []


def rule_services(inv):
    """dask-gateway needs groups that may use it; dask blocks do nothing without it; release names are unique."""
    errors, warnings = [], []
    dask = _dict(inv.get("hubops_dask_gateway"))
    groups = [(i, _dict(g)) for i, g in _items(inv.get("hubops_groups"))]
    with_dask = [(i, g) for i, g in groups if g.get("dask") is not None]
    if dask.get("enabled") is True and not with_dask:
        errors.append(_problem("hubops_dask_gateway.enabled", "is true but no group has a dask block, so nobody could "
                               "create a cluster.", "Give the groups that use Dask hubops_groups[].dask: {max_cores: 16, "
                               "max_memory: 64Gi, max_clusters: 2, max_workers: 16}, or set enabled: false."))
    if dask.get("enabled") is not True:
        for index, _group in with_dask:
            warnings.append(_problem("hubops_groups[%d].dask" % index, "is set but hubops_dask_gateway.enabled is not true, "
                                     "so it does nothing.", "Set hubops_dask_gateway: {enabled: true}, or remove it."))
    seen = {}
    for index, service in _items(inv.get("hubops_services")):
        name = _dict(service).get("name")
        if name == "dask-gateway" or (isinstance(name, str) and name in seen):
            where = "hubops_dask_gateway" if name == "dask-gateway" else "hubops_services[%d]" % seen[name]
            errors.append(_problem("hubops_services[%d].name" % index, "is '%s', a release %s already installs." % (name, where),
                                   "Give every release its own name (dask-gateway is set with hubops_dask_gateway)."))
        elif isinstance(name, str):
            seen[name] = index
        chart = _dict(_dict(service).get("chart"))
        if isinstance(service, dict) and isinstance(service.get("chart"), dict) and not chart.get("path") and not (
                chart.get("repo") and chart.get("version")):
            errors.append(_problem("hubops_services[%d].chart" % index, "names neither a local path nor a repo with a "
                                   "pinned version.", "Write chart: {repo: https://..., name: <chart>, version: <x.y.z>} or "
                                   "chart: {path: /path/to/chart}."))
    return errors, warnings


RULES = (rule_placeholders, rule_vpc_cidr, rule_service_cidr, rule_public_access_cidrs, rule_byo_subnets, rule_names, rule_nodepools,
         rule_auth, rule_hub_domain, rule_hub_tls, rule_group_members, rule_charts, rule_tags, rule_nat, rule_images, rule_teardown_confirm,
         rule_storage, rule_services)


def unknown_keys(inventory):
    """hubops_* keys the schema does not know, each with a did-you-mean."""
    problems = []
    for key in sorted(k for k in inventory if isinstance(k, str) and k.startswith(PREFIX) and k not in SCHEMA["properties"]):
        guess = _did_you_mean(key, FIELDS)
        fix = ("Did you mean %s? Rename it." % guess) if guess else "Remove it; docs/inventory.md lists every setting."
        problems.append(_problem(key, "is not a known hubops setting (likely a typo).", fix))
    return problems


def _covered(field, fields):
    return any(field == f or field.startswith(f + ".") or field.startswith(f + "[") for f in fields)


def _dedupe(problems):
    seen, out = set(), []
    for problem in problems:
        key = (problem["field"], problem["message"])
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


# Switches an admin passes on the command line (-e key=value makes a string): "true"/"false" there mean the boolean.
COMMAND_LINE_BOOLEANS = ("hubops_teardown_delete_data",)
_BOOLEAN_WORDS = {"true": True, "false": False}


def relevant(inventory):
    """The hubops_* keys the schema knows; other Ansible vars and vault_* are not ours, and null means unset."""
    out = dict((k, v) for k, v in inventory.items() if isinstance(k, str) and k in SCHEMA["properties"] and v is not None)
    for key in COMMAND_LINE_BOOLEANS:
        if isinstance(out.get(key), str) and out[key].strip().lower() in _BOOLEAN_WORDS:
            out[key] = _BOOLEAN_WORDS[out[key].strip().lower()]
    return out


def validate(inventory, strict=True):
    """Check an inventory (a dict of variables). Returns (errors, warnings), lists of {field, message, fix}.

    Unknown hubops_* keys are errors when strict, warnings otherwise. Cross-field rules do not repeat a field the
    schema already found wrong."""
    if not isinstance(inventory, dict):
        return [_problem("inventory", "is %s; expected a mapping of variables." % _kind(inventory),
                         "Pass the hubops_* variables as a dict.")], []
    inv = relevant(inventory)
    errors = schema_errors(inv)
    warnings = []
    bad = set(e["field"] for e in errors)
    for rule in RULES:
        rule_errors, rule_warnings = rule(inv)
        errors.extend(e for e in rule_errors if not _covered(e["field"], bad))
        warnings.extend(w for w in rule_warnings if not _covered(w["field"], bad))
    typos = unknown_keys(inventory)
    if strict:
        errors = typos + errors
    else:
        warnings = typos + warnings
    return _dedupe(errors), _dedupe(warnings)


def format_problem(problem):
    """The one-line form used in messages: '<field>: <message> Fix: <fix>'."""
    return "%s: %s Fix: %s" % (problem["field"], problem["message"], problem["fix"])


def secret_values(value, under_secret=False):
    """Every non-empty string found under a key matching SECRET_KEY_RE (recursively), for no_log_values."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= secret_values(item, under_secret or bool(SECRET_KEY_RE.search(str(key))))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= secret_values(item, under_secret)
    elif under_secret and isinstance(value, str) and value.strip():
        found.add(value)
    return found


# ---------------------------------------------------------------------------------------------------------------
# Documentation

def _type_text(schema):
    kind = schema.get("type")
    if "enum" in schema:
        return "one of: %s" % ", ".join(str(v) for v in schema["enum"])
    if kind == "array":
        return "list of %s" % _type_text(schema.get("items", {}))
    if kind == "object":
        return "dict" if "properties" in schema or "additionalProperties" not in schema else "dict of %s" % _type_text(
            schema["additionalProperties"])
    return {"string": "str", "integer": "int", "number": "number", "boolean": "bool"}.get(kind, str(kind))


def _default_text(schema, required):
    if required:
        return "required"
    if "default" not in schema:
        return ""
    value = schema["default"]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[%s]" % ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "{}" if not value else json.dumps(value)
    return str(value)


def _walk_docs(name, schema, required, rows):
    rows.append((name, _type_text(schema), _default_text(schema, required), schema.get("description", "")))
    target = schema.get("items", {}) if schema.get("type") == "array" else schema
    suffix = "[]" if schema.get("type") == "array" else ""
    if target.get("type") == "object" and "properties" not in target and isinstance(target.get("additionalProperties"), dict):
        suffix, target = suffix + ".<key>", target["additionalProperties"]
        if "properties" in target:
            rows.append((name + suffix, _type_text(target), "", target.get("description", "")))
    for child, sub in target.get("properties", {}).items():
        _walk_docs("%s%s.%s" % (name, suffix, child), sub, child in target.get("required", ()), rows)


def field_docs():
    """[(field, type, default, description)] for every property, nested ones as hubops_groups[].profiles[].cpu."""
    rows = []
    for name, schema in SCHEMA["properties"].items():
        _walk_docs(name, schema, name in REQUIRED, rows)
    return rows


DOCS_INTRO = """# Inventory reference

One inventory describes one deployment. It lives in `inventories/<deployment>/group_vars/all/<topic>.yml` (for
example `main.yml`, `aws.yml`, `network.yml`, `groups.yml`, `hub.yml`): copy `inventories/sample` to start.
Secrets never sit in those files: they are `vault_*` variables in `group_vars/all/vault.yml` (encrypted with
ansible-vault) and the topic files refer to them, e.g. `client_secret: "{{ vault_github_client_secret }}"`.
Before any AWS call, the preflight role checks every `hubops_*` variable with `hubops.eks.inventory_check`
against the schema in `plugins/module_utils/inventory_schema.py` plus cross-field rules (CIDRs, unique names,
secrets present); an unknown `hubops_*` key is an error (a likely typo). Other variables are ignored, and a
`hubops_*` key set to null counts as unset. A nested field marked required is required when its parent is set.

This file is generated from the schema (`render_markdown()`); a unit test fails when it is out of date.
"""


def _cell(text):
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def render_markdown():
    """docs/inventory.md, from the schema."""
    lines = [DOCS_INTRO, "| field | type | default | description |", "|---|---|---|---|"]
    for field, kind, default, description in field_docs():
        default = "`%s`" % default if default and default != "required" else ("**required**" if default else "")
        lines.append("| `%s` | %s | %s | %s |" % (_cell(field), _cell(kind), _cell(default), _cell(description)))
    return "\n".join(lines) + "\n"
