# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that shape inventory data for the roles; the logic lives in module_utils so modules share it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.hubops.eks.plugins.module_utils import charts as _charts
from ansible_collections.hubops.eks.plugins.module_utils import costs as _costs
from ansible_collections.hubops.eks.plugins.module_utils import hub as _hub
from ansible_collections.hubops.eks.plugins.module_utils import ingress as _ingress
from ansible_collections.hubops.eks.plugins.module_utils import karpenter as _karpenter
from ansible_collections.hubops.eks.plugins.module_utils import services as _services
from ansible_collections.hubops.eks.plugins.module_utils import storage as _storage
from ansible_collections.hubops.eks.plugins.module_utils.cluster_config import cluster_spec as _cluster_spec
from ansible_collections.hubops.eks.plugins.module_utils.naming import deployment_tags as _deployment_tags
from ansible_collections.hubops.eks.plugins.module_utils.network import SubnetPlanError
from ansible_collections.hubops.eks.plugins.module_utils.network import subnet_plan as _subnet_plan
from ansible_collections.hubops.eks.plugins.module_utils.network import private_route_tables as _private_route_tables
from ansible_collections.hubops.eks.plugins.module_utils.network import subnet_specs as _subnet_specs
from ansible_collections.hubops.eks.plugins.module_utils.network import subnets_out_of_sync as _subnets_out_of_sync


def deployment_tags(deployment, extra=None, name=None, group=None):
    return _deployment_tags(deployment, extra=extra, name=name, group=group)


def subnet_plan(vpc_cidr, az_count, zones=None):
    try:
        plan = _subnet_plan(vpc_cidr, int(az_count))
    except SubnetPlanError as exc:
        raise AnsibleFilterError("hubops_vpc_cidr: %s" % exc)
    if zones is not None:
        zones = sorted(zones)
        if len(zones) < len(plan):
            raise AnsibleFilterError("hubops_az_count: %d AZs asked, only %d available" % (len(plan), len(zones)))
        for entry in plan:
            entry["az"] = zones[entry["index"]]
    return plan


def private_route_tables(plan, deployment, nat_mode, private_subnet_ids, nat_gateway_ids=None):
    return _private_route_tables(deployment, plan, nat_mode, private_subnet_ids, nat_gateway_ids)


def subnet_specs(plan, deployment, cluster_name, base_tags):
    return _subnet_specs(deployment, cluster_name, plan, base_tags)


def subnets_out_of_sync(specs, existing):
    return _subnets_out_of_sync(specs, existing)


def cluster_spec(vpc_id, private_subnets, public_subnets, admin_arns, public_access_cidrs, service_cidr, kms_key_arn,
                 log_types, log_retention_days, addons, core, tags, access_entries=None, pod_identity_associations=None):
    return _cluster_spec(vpc_id, private_subnets, public_subnets, admin_arns, public_access_cidrs, service_cidr, kms_key_arn,
                         log_types, log_retention_days, addons, core, tags, access_entries, pod_identity_associations)


def chart_source(key, charts=None, charts_dir=None):
    try:
        return _charts.chart_source(key, charts, charts_dir)
    except _charts.ChartSourceError as exc:
        raise AnsibleFilterError(str(exc))


def mirror_image(repository, registries=None):
    return _charts.mirror_image(repository, registries)


def karpenter_pools(groups, shared_pools=None, defaults=None, dask=None):
    try:
        return _karpenter.pools_from_inventory(groups, shared_pools, defaults, dask)
    except _karpenter.PoolSpecError as exc:
        raise AnsibleFilterError("Invalid node pools: %s" % exc)


def karpenter_controller_policy(cluster, region, account, node_role_arn, queue_arn, instance_profile_arn, partition="aws"):
    return _karpenter.controller_policy(cluster, region, account, node_role_arn, queue_arn, instance_profile_arn, partition)


def dask_gateway_values(settings):
    try:
        return _services.gateway_values(settings)
    except _services.ServicesError as exc:
        raise AnsibleFilterError(str(exc))


def budgets(deployment, groups=None, total=None):
    return _costs.budgets(deployment, groups, total)


def budget_prefix(deployment):
    return _costs.budget_prefix(deployment)


def cost_estimate(settings):
    try:
        return _costs.cost_estimate(settings)
    except _costs.CostEstimateError as exc:
        raise AnsibleFilterError(str(exc))


def hub_values(settings):
    try:
        return _hub.hub_values(settings)
    except (_hub.HubValuesError, _karpenter.PoolSpecError) as exc:
        raise AnsibleFilterError(str(exc))


def lb_controller_policy(cluster, region, account, partition="aws"):
    return _ingress.lbc_policy(cluster, region, account, partition)


def hub_files(directory):
    return _hub.hub_files(directory)


def hub_cognito_groups(groups):
    return _hub.cognito_groups(groups)


def hub_secrets(settings):
    try:
        return _hub.hub_secrets(settings)
    except _hub.HubValuesError as exc:
        raise AnsibleFilterError(str(exc))


def storage_plan(settings):
    try:
        return _storage.storage_plan(settings)
    except _storage.StorageError as exc:
        raise AnsibleFilterError(str(exc))


def hub_storage(plan):
    return _storage.hub_storage(plan)


def home_pvc_changes(pvcs, quotas, default_quota):
    try:
        return _storage.home_pvc_changes(pvcs, quotas, default_quota)
    except _storage.StorageError as exc:
        raise AnsibleFilterError(str(exc))


def refused_quota_changes(previous, quotas, default_quota):
    return _storage.refused_quota_changes(previous, quotas, default_quota)


def kept_home_volumes(volumes, pvs):
    return _storage.kept_home_volumes(volumes, pvs)


class FilterModule(object):
    def filters(self):
        return {"budgets": budgets, "budget_prefix": budget_prefix, "chart_source": chart_source, "mirror_image": mirror_image,
                "karpenter_pools": karpenter_pools, "dask_gateway_values": dask_gateway_values,
                "karpenter_controller_policy": karpenter_controller_policy, "deployment_tags": deployment_tags, "subnet_plan": subnet_plan,
                "private_route_tables": private_route_tables,
                "subnet_specs": subnet_specs, "subnets_out_of_sync": subnets_out_of_sync,
                "cluster_spec": cluster_spec, "hub_values": hub_values, "hub_secrets": hub_secrets,
                "hub_cognito_groups": hub_cognito_groups, "hub_files": hub_files,
                "lb_controller_policy": lb_controller_policy, "storage_plan": storage_plan, "hub_storage": hub_storage,
                "home_pvc_changes": home_pvc_changes, "refused_quota_changes": refused_quota_changes,
                "kept_home_volumes": kept_home_volumes, "cost_estimate": cost_estimate}
