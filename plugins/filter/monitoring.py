# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the monitoring role; the logic lives in module_utils/monitoring.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.hubops.eks.plugins.module_utils import monitoring as _monitoring


def monitoring_values(config):
    try:
        return _monitoring.monitoring_values(config)
    except _monitoring.MonitoringError as exc:
        raise AnsibleFilterError(str(exc))


def monitoring_dashboards(directory, namespace, deployment):
    try:
        return _monitoring.dashboard_configmaps(directory, namespace, deployment)
    except (_monitoring.MonitoringError, OSError) as exc:
        raise AnsibleFilterError("roles/monitoring dashboards: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"monitoring_values": monitoring_values, "monitoring_dashboards": monitoring_dashboards}
