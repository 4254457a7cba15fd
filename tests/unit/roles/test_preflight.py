# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/preflight refuses a hubops_home_az the deployment's nodes can never be in, before anything is created: the
zones the network role will use (the first hubops_az_count by name, filter subnet_plan), or the zones of the
private subnets the inventory brings. The tasks' own conditions are evaluated as Ansible evaluates them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.hubops.eks.plugins.filter.hubops import subnet_plan

TASKS = Path(__file__).resolve().parents[3] / "roles" / "preflight" / "tasks" / "main.yml"
# Zone names as DescribeAvailabilityZones may list them: not in order, and not every letter (us-west-1 has no "a"
# in many accounts), so the deployment's zones cannot be derived from the region's name.
REGION_ZONES = ["us-west-1c", "us-west-1b", "us-west-1d"]


def find(tasks, name):
    for task in tasks:
        if task.get("name") == name:
            return task
        found = find(task.get("block") or [], name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def tasks():
    return DataLoader().load_from_file(str(TASKS), trusted_as_template=True)


def evaluate(tasks, block_name, task_name, variables):
    """(the block and the task run, the assert holds, its message) for these variables."""
    loader = DataLoader()
    block, task = find(tasks, block_name), find(tasks, task_name)
    assert block is not None and task is not None, "preflight lost %r / %r" % (block_name, task_name)
    scope = dict(variables)
    scope.update(task.get("vars") or {})
    templar = Templar(loader=loader, variables=scope)

    def holds(conditions):
        return all(templar.evaluate_conditional(c) for c in (conditions if isinstance(conditions, list) else [conditions]))

    check = task["ansible.builtin.assert"]
    if not (holds(block.get("when", True)) and holds(task.get("when", True))):
        return False, None, None
    return True, holds(check["that"]), templar.template(check["fail_msg"])


def region(**extra):
    variables = {"hubops_region": "us-west-1", "preflight_check_azs": True,
                 "__preflight_azs": {"availability_zones": [{"zone_name": z} for z in REGION_ZONES]}}
    variables.update(extra)
    return variables


@pytest.mark.parametrize("count", [1, 2, 3])
def test_accepts_exactly_the_zones_the_network_role_uses(tasks, count):
    used = set(entry["az"] for entry in subnet_plan("10.0.0.0/16", count, REGION_ZONES))
    for zone in REGION_ZONES + ["us-west-1a"]:
        runs, ok, message = evaluate(tasks, "Check the region's availability zones", "Refuse a home zone the deployment does not use",
                                     region(hubops_home_az=zone, hubops_az_count=count))
        assert runs
        assert ok == (zone in used), (zone, count)
        if not ok:
            assert message.startswith("hubops_home_az: %s is not one of the deployment's zones (%s" % (zone, ", ".join(sorted(used))))
            assert "hubops_az_count" in message and "hubops_byo_subnet_ids" in message


def test_two_zones_by_default_and_nothing_to_check_without_a_home_zone_or_with_efs(tasks):
    runs, ok, message = evaluate(tasks, "Check the region's availability zones", "Refuse a home zone the deployment does not use",
                                 region(hubops_home_az="us-west-1d"))
    assert runs and not ok and "(us-west-1b, us-west-1c: the first 2 of us-west-1's zones" in message
    for extra in ({}, {"hubops_home_az": ""}, {"hubops_home_az": "us-west-1d", "hubops_home_storage": "efs"}):
        assert not evaluate(tasks, "Check the region's availability zones", "Refuse a home zone the deployment does not use",
                            region(**extra))[0]


def test_own_subnets_checked_against_their_zones(tasks):
    byo = {"hubops_byo_subnet_ids": {"private": ["subnet-1", "subnet-2"]}, "hubops_region": "us-west-1",
           "__preflight_byo_subnets": {"subnets": [{"id": "subnet-1", "availability_zone": "us-west-1c"},
                                                   {"id": "subnet-2", "availability_zone": "us-west-1b"}]}}
    block, task = "Check the home zone against your own subnets", "Refuse a home zone none of your private subnets is in"
    assert evaluate(tasks, block, task, dict(byo, hubops_home_az="us-west-1b"))[:2] == (True, True)
    runs, ok, message = evaluate(tasks, block, task, dict(byo, hubops_home_az="us-west-1d"))
    assert runs and not ok
    assert "hubops_home_az: us-west-1d is not a zone of hubops_byo_subnet_ids.private (us-west-1b, us-west-1c)" in message
    assert not evaluate(tasks, block, task, dict(byo, hubops_home_az=""))[0]
    # the region's zones are not read for own subnets
    assert not evaluate(tasks, "Check the region's availability zones", "Refuse a home zone the deployment does not use",
                        dict(region(hubops_home_az="us-west-1d"), **byo))[0]
