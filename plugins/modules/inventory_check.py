#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: inventory_check
short_description: Check a hubops.eks inventory before anything touches AWS
version_added: 0.1.0
description:
  - Validates the C(hubops_*) variables of a deployment against the inventory JSON schema of the collection
    (C(plugins/module_utils/inventory_schema.py), documented in C(docs/inventory.md)) and against cross-field rules
    a schema cannot express, for example CIDRs that overlap or cannot hold the subnet plan, duplicate group or
    profile names, profiles that refer to undefined node pools, and missing authentication secrets.
  - Reports every problem at once, each with the inventory field, what is wrong and how to fix it.
  - Makes no AWS call and changes nothing; it runs on the controller.
  - String values found under keys that look secret (C(secret), C(token), C(password), C(client_id)) are masked in
    all module output, and no message quotes them.
author:
  - hubops.eks contributors (@hubops)
requirements:
  - jsonschema
options:
  inventory:
    description:
      - The play's variables, or only its C(hubops_*) ones.
      - Keys that do not start with C(hubops_) are ignored; a C(hubops_*) key set to null counts as unset.
    type: dict
    required: true
  strict:
    description:
      - When true, an unknown C(hubops_*) key (a likely typo) is an error; when false, it is only a warning.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode runs the same checks.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
notes:
  - The preflight role runs it first, so a wrong inventory fails before any AWS call.
"""

EXAMPLES = r"""
- name: Check the inventory (no AWS call before this passes)
  hubops.eks.inventory_check:
    inventory: "{{ hostvars[inventory_hostname] | dict2items | selectattr('key', 'match', '^hubops_') | items2dict }}"

- name: Only warn about unknown hubops_* keys
  hubops.eks.inventory_check:
    inventory:
      hubops_deployment: dandi
      hubops_region: us-east-2
      hubops_vpc_cidr: 10.40.0.0/16
    strict: false
"""

RETURN = r"""
checked_fields:
  description: The C(hubops_*) keys that were checked, sorted.
  returned: success
  type: list
  elements: str
  sample: ["hubops_az_count", "hubops_deployment", "hubops_region", "hubops_vpc_cidr"]
warnings_list:
  description:
    - "Problems that do not stop the run, each as C(<field>: <message> Fix: <fix>). They are also emitted as warnings."
  returned: always
  type: list
  elements: str
  sample: ["hubops_nat_mode: is none and hubops_vpc_endpoints lacks ecr.api, ... Fix: Add ecr.api, ... to hubops_vpc_endpoints."]
errors:
  description: Every problem found, when the check fails.
  returned: failure
  type: list
  elements: dict
  contains:
    field:
      description: The inventory field, in the form C(hubops_groups[1].name).
      type: str
      sample: hubops_vpc_cidr
    message:
      description: What is wrong.
      type: str
      sample: is '10.40.0.0/33', which is not an IPv4 CIDR.
    fix:
      description: How to fix it.
      type: str
      sample: Write it like 10.40.0.0/16.
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import HAS_JSONSCHEMA
from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import JSONSCHEMA_IMPORT_ERROR
from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import PREFIX
from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import format_problem
from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import secret_values
from ansible_collections.hubops.eks.plugins.module_utils.inventory_schema import validate


class InventoryCheckModule(AnsibleModule):
    """AnsibleModule that learns the inventory's secrets before it logs its own invocation to the journal."""

    def _log_invocation(self):
        self.no_log_values.update(secret_values(self.params.get("inventory")))
        super(InventoryCheckModule, self)._log_invocation()


def failure_message(errors):
    """'Inventory check failed (N problems):' then one '<field>: <message> Fix: <fix>' line per problem."""
    count = len(errors)
    lines = ["Inventory check failed (%d problem%s):" % (count, "" if count == 1 else "s")]
    lines.extend(format_problem(e) for e in errors)
    return "\n".join(lines)


def main():
    argument_spec = dict(
        inventory=dict(type="dict", required=True),
        strict=dict(type="bool", default=True),
    )
    module = InventoryCheckModule(argument_spec=argument_spec, supports_check_mode=True)
    inventory = module.params["inventory"]
    module.no_log_values.update(secret_values(inventory))

    if not HAS_JSONSCHEMA:
        module.fail_json(msg=missing_required_lib("jsonschema"), exception=JSONSCHEMA_IMPORT_ERROR)

    errors, warnings = validate(inventory, strict=module.params["strict"])
    warning_lines = [format_problem(w) for w in warnings]
    for line in warning_lines:
        module.warn(line)
    if errors:
        module.fail_json(msg=failure_message(errors), errors=errors, warnings_list=warning_lines)

    checked = sorted(k for k in inventory if isinstance(k, str) and k.startswith(PREFIX) and inventory[k] is not None)
    module.exit_json(changed=False, checked_fields=checked, warnings_list=warning_lines)


if __name__ == "__main__":
    main()
