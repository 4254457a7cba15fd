# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Broken inventories site.yml must refuse, for the integration test that runs it once per case.

Each case's `vars` are written as one more group_vars file on top of inventories/local (top-level keys replace
the local ones; null removes a key). `field` is the inventory field the failure message must name.
`stage` says when the run must stop:
  schema   in preflight's inventory_check, before any AWS call;
  account  in preflight's read-only AWS checks (identity, AZs), before any mutating call.
tests/unit/plugins/module_utils/test_inventory_schema.py checks the schema cases against validate() and that the
account cases pass it, so this table and the schema cannot drift apart.

inventories/local, for reference: hubops_deployment: local, hubops_region: us-east-1, hubops_aws_account_id:
"123456789012", hubops_vpc_cidr: 10.40.0.0/16, hubops_az_count: 2, hubops_nat_mode: single,
hubops_vpc_endpoints: [s3], hubops_tags: {project: hubops-local, owner: make-local}.
"""

PRIVATE_A = "subnet-0aaaaaaaaaaaaaaa1"
PRIVATE_B = "subnet-0bbbbbbbbbbbbbbb2"
PUBLIC_A = "subnet-0ccccccccccccccc3"

# A hub section that passes, for cases that break one thing inside it.
GOOD_AUTH = {"type": "github", "client_id": "local-client-id", "client_secret": "local-client-secret"}


def _hub(**auth):
    return {"domain": "hub.local.example.org", "route53_zone": "example.org", "auth": dict(GOOD_AUTH, **auth)}


def _group(name="neuro", **extra):
    group = {"name": name, "profiles": [{"name": "small", "cpu": 2, "memory": "8Gi"}]}
    group.update(extra)
    return group


CASES = [
    # identity
    {"id": "deployment-missing", "vars": {"hubops_deployment": None}, "field": "hubops_deployment", "stage": "schema"},
    {"id": "region-missing", "vars": {"hubops_region": None}, "field": "hubops_region", "stage": "schema"},
    {"id": "deployment-not-dns-safe", "vars": {"hubops_deployment": "Local_Hub"}, "field": "hubops_deployment", "stage": "schema"},
    {"id": "deployment-too-long", "vars": {"hubops_deployment": "a" * 33}, "field": "hubops_deployment", "stage": "schema"},
    {"id": "region-malformed", "vars": {"hubops_region": "us-east"}, "field": "hubops_region", "stage": "schema"},
    {"id": "account-id-unquoted", "vars": {"hubops_aws_account_id": 123456789012}, "field": "hubops_aws_account_id",
     "stage": "schema"},
    {"id": "account-id-short", "vars": {"hubops_aws_account_id": "12345"}, "field": "hubops_aws_account_id", "stage": "schema"},
    {"id": "key-typo", "vars": {"hubops_vpc_cdir": "10.40.0.0/16"}, "field": "hubops_vpc_cdir", "stage": "schema"},
    {"id": "tags-not-a-mapping", "vars": {"hubops_tags": ["project"]}, "field": "hubops_tags", "stage": "schema"},
    {"id": "cluster-name-underscore", "vars": {"hubops_cluster_name": "local_cluster"}, "field": "hubops_cluster_name",
     "stage": "schema"},
    # network
    {"id": "vpc-cidr-invalid", "vars": {"hubops_vpc_cidr": "10.40.0.0/33"}, "field": "hubops_vpc_cidr", "stage": "schema"},
    {"id": "vpc-cidr-host-bits", "vars": {"hubops_vpc_cidr": "10.40.0.1/16"}, "field": "hubops_vpc_cidr", "stage": "schema"},
    {"id": "vpc-cidr-public-range", "vars": {"hubops_vpc_cidr": "8.8.0.0/16"}, "field": "hubops_vpc_cidr", "stage": "schema"},
    {"id": "vpc-cidr-too-small", "vars": {"hubops_vpc_cidr": "10.40.0.0/24"}, "field": "hubops_vpc_cidr", "stage": "schema"},
    {"id": "vpc-overlaps-default-service-cidr", "vars": {"hubops_vpc_cidr": "172.20.0.0/16"}, "field": "hubops_vpc_cidr",
     "stage": "schema"},
    {"id": "service-cidr-overlaps-vpc", "vars": {"hubops_k8s_service_cidr": "10.40.0.0/16"}, "field": "hubops_k8s_service_cidr",
     "stage": "schema"},
    {"id": "az-count-one", "vars": {"hubops_az_count": 1}, "field": "hubops_az_count", "stage": "schema"},
    {"id": "az-count-seven", "vars": {"hubops_az_count": 7}, "field": "hubops_az_count", "stage": "schema"},
    {"id": "az-count-not-a-number", "vars": {"hubops_az_count": "two"}, "field": "hubops_az_count", "stage": "schema"},
    {"id": "nat-mode-typo", "vars": {"hubops_nat_mode": "singel"}, "field": "hubops_nat_mode", "stage": "schema"},
    {"id": "vpc-endpoint-unknown", "vars": {"hubops_vpc_endpoints": ["s3", "dynamodb"]}, "field": "hubops_vpc_endpoints[1]",
     "stage": "schema"},
    {"id": "public-access-cidr-invalid", "vars": {"hubops_public_access_cidrs": ["0.0.0.0/0", "203.0.113.7/40"]},
     "field": "hubops_public_access_cidrs[1]", "stage": "schema"},
    {"id": "byo-subnets-with-vpc-cidr", "vars": {"hubops_byo_subnet_ids": {"public": [PUBLIC_A], "private": [PRIVATE_A, PRIVATE_B]}},
     "field": "hubops_byo_subnet_ids", "stage": "schema"},
    {"id": "byo-one-private-subnet", "vars": {"hubops_vpc_cidr": None, "hubops_byo_subnet_ids": {"private": [PRIVATE_A]}},
     "field": "hubops_byo_subnet_ids.private", "stage": "schema"},
    {"id": "byo-bad-subnet-id", "vars": {"hubops_vpc_cidr": None, "hubops_byo_subnet_ids": {"private": ["sub-1", PRIVATE_B]}},
     "field": "hubops_byo_subnet_ids.private[0]", "stage": "schema"},
    # cluster
    {"id": "k8s-version-unquoted", "vars": {"hubops_k8s_version": 1.3}, "field": "hubops_k8s_version", "stage": "schema"},
    {"id": "k8s-version-malformed", "vars": {"hubops_k8s_version": "v1.34"}, "field": "hubops_k8s_version", "stage": "schema"},
    {"id": "home-storage-unknown", "vars": {"hubops_home_storage": "s3"}, "field": "hubops_home_storage", "stage": "schema"},
    {"id": "delete-data-not-bool", "vars": {"hubops_teardown_delete_data": "maybe"}, "field": "hubops_teardown_delete_data",
     "stage": "schema"},
    # hub and groups
    {"id": "github-auth-without-secret", "vars": {"hubops_hub": _hub(client_secret="")}, "field": "hubops_hub.auth.client_secret",
     "stage": "schema"},
    {"id": "dummy-auth-refused", "vars": {"hubops_hub": {"domain": "hub.local.example.org", "auth": {"type": "dummy"}}},
     "field": "hubops_hub.auth.type", "stage": "schema"},
    {"id": "group-names-duplicate", "vars": {"hubops_groups": [_group("neuro"), _group("neuro")]}, "field": "hubops_groups[1].name",
     "stage": "schema"},
    {"id": "group-name-not-dns-safe", "vars": {"hubops_groups": [_group("Neuro Team")]}, "field": "hubops_groups[0].name",
     "stage": "schema"},
    {"id": "profile-unknown-nodepool",
     "vars": {"hubops_nodepools": None,
              "hubops_groups": [_group(profiles=[{"name": "gpu", "cpu": 8, "memory": "30Gi", "gpu": 1, "nodepool": "gpu"}])]},
     "field": "hubops_groups[0].profiles[0].nodepool", "stage": "schema"},
    # node pools: what Karpenter's CRD would refuse, refused before any AWS call
    {"id": "pool-expiry-without-grace-period", "vars": {"hubops_groups": [_group(nodepool={"expire_after": "720h"})]},
     "field": "hubops_groups[0].nodepool.expire_after", "stage": "schema"},
    {"id": "pool-shares-an-undefined-pool", "vars": {"hubops_groups": [_group(nodepool={"shared": "fast"})]},
     "field": "hubops_groups[0].nodepool.shared", "stage": "schema"},
    {"id": "pool-label-in-karpenter-domain", "vars": {"hubops_groups": [_group(nodepool={"labels": {"karpenter.sh/team": "x"}})]},
     "field": "hubops_groups[0].nodepool.labels.karpenter.sh/team", "stage": "schema"},
    {"id": "pool-name-clashes-with-shared-pool",
     "vars": {"hubops_nodepools": [{"name": "gpu", "gpu": {"count": 1}}], "hubops_groups": [_group("gpu")]},
     "field": "hubops_groups[0].nodepool.name", "stage": "schema"},
    {"id": "pool-instance-types-with-families",
     "vars": {"hubops_groups": [_group(nodepool={"instance_types": ["m7i.large"], "families": ["m"]})]},
     "field": "hubops_groups[0].nodepool.families", "stage": "schema"},
    # need AWS state, must stop before any mutating call
    {"id": "account-mismatch", "vars": {"hubops_aws_account_id": "999999999999"}, "field": "hubops_aws_account_id",
     "stage": "account"},
    {"id": "region-too-few-azs", "vars": {"hubops_region": "us-west-1", "hubops_az_count": 3, "hubops_home_az": "us-west-1a"},
     "field": "hubops_az_count",
     "stage": "account"},
]
