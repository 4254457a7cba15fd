# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.modules import inventory_check

MODULE = "ansible_collections.hubops.eks.plugins.modules.inventory_check"
REAL_FAIL_JSON = basic.AnsibleModule.fail_json

SECRET = "s3cr3t-client-value-9d1e"
CLIENT_ID = "client-id-value-4b7a"

GOOD = {
    "hubops_deployment": "local",
    "hubops_region": "us-east-1",
    "hubops_aws_account_id": "123456789012",
    "hubops_vpc_cidr": "10.40.0.0/16",
    "hubops_az_count": 2,
    "hubops_nat_mode": "single",
    "hubops_vpc_endpoints": ["s3"],
    "hubops_tags": {"project": "hubops-local", "owner": "make-local"},
}


class AnsibleExitJson(Exception):
    def __init__(self, module, kwargs):
        super(AnsibleExitJson, self).__init__(kwargs)
        self.module, self.result = module, kwargs


class AnsibleFailJson(Exception):
    def __init__(self, module, kwargs):
        super(AnsibleFailJson, self).__init__(kwargs.get("msg"))
        self.module, self.result = module, kwargs


def exit_json(self, **kwargs):
    raise AnsibleExitJson(self, kwargs)


def fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    raise AnsibleFailJson(self, kwargs)


@pytest.fixture(autouse=True)
def patched_module():
    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn") as warn:
        yield warn


def run(args):
    with patch_module_args(args):
        inventory_check.main()


def with_(**changes):
    inv = dict(GOOD)
    inv.update(changes)
    return inv


def test_good_inventory_exits_unchanged():
    with pytest.raises(AnsibleExitJson) as exc:
        run({"inventory": dict(GOOD, ansible_connection="local", vault_x="y")})
    result = exc.value.result
    assert result["changed"] is False
    assert result["checked_fields"] == sorted(GOOD)
    assert result["warnings_list"] == []


def test_check_mode_is_supported():
    with pytest.raises(AnsibleExitJson) as exc:
        run({"inventory": GOOD, "_ansible_check_mode": True})
    assert exc.value.result["changed"] is False
    assert "skipped" not in exc.value.result


def test_every_error_is_listed_one_per_line():
    with pytest.raises(AnsibleFailJson) as exc:
        run({"inventory": with_(hubops_az_count=1, hubops_nat_mode="singel", hubops_vpc_cdir="10.0.0.0/16")})
    msg = exc.value.result["msg"]
    lines = msg.splitlines()
    assert lines[0] == "Inventory check failed (3 problems):"
    assert len(lines) == 4
    assert set(line.split(":", 1)[0] for line in lines[1:]) == {"hubops_az_count", "hubops_nat_mode", "hubops_vpc_cdir"}
    assert all(" Fix: " in line for line in lines[1:])
    assert "hubops_vpc_cdir: is not a known hubops setting (likely a typo). Fix: Did you mean hubops_vpc_cidr? Rename it." in lines
    errors = exc.value.result["errors"]
    assert [sorted(e) for e in errors] == [["field", "fix", "message"]] * 3


def test_one_problem_is_singular():
    with pytest.raises(AnsibleFailJson) as exc:
        run({"inventory": with_(hubops_region=None)})
    assert exc.value.result["msg"].splitlines() == [
        "Inventory check failed (1 problem):",
        "hubops_region: is required but not set (AWS region of the deployment). Fix: Add hubops_region to the inventory.",
    ]


def test_unknown_key_only_warns_when_not_strict(patched_module):
    with pytest.raises(AnsibleExitJson) as exc:
        run({"inventory": with_(hubops_vpc_cdir="10.0.0.0/16"), "strict": False})
    warning = exc.value.result["warnings_list"][0]
    assert warning.startswith("hubops_vpc_cdir: ")
    patched_module.assert_called_once_with(warning)


def test_warnings_go_through_module_warn(patched_module):
    with pytest.raises(AnsibleExitJson) as exc:
        run({"inventory": with_(hubops_nat_mode="none")})
    assert len(exc.value.result["warnings_list"]) == 1
    assert exc.value.result["warnings_list"][0].startswith("hubops_nat_mode: ")
    patched_module.assert_called_once_with(exc.value.result["warnings_list"][0])


def secret_inventory():
    auth = {"type": "github", "client_id": CLIENT_ID, "client_secret": "", "dandi_api": {"token": SECRET}}
    return with_(hubops_hub={"domain": "hub.example.org", "auth": auth}, hubops_az_count=1)


def test_secrets_are_never_in_the_failure_and_are_masked():
    with pytest.raises(AnsibleFailJson) as exc:
        run({"inventory": secret_inventory()})
    result = exc.value.result
    assert "hubops_hub.auth.client_secret: is missing or empty" in result["msg"]
    for value in (SECRET, CLIENT_ID):
        assert value not in result["msg"]
        assert value not in json.dumps(result["errors"])
        assert value in exc.value.module.no_log_values


def test_secrets_are_masked_in_real_module_output(capsys):
    """Unpatched output: a secret value that a message did quote (here it is also the deployment name) is masked."""
    auth = {"type": "github", "client_id": "Bad_Name_77", "client_secret": SECRET}
    inventory = with_(hubops_deployment="Bad_Name_77", hubops_hub={"auth": auth})
    with mock.patch.object(basic.AnsibleModule, "fail_json", REAL_FAIL_JSON):
        with pytest.raises(SystemExit):
            run({"inventory": inventory})
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert "Bad_Name_77" not in json.dumps(out)
    assert SECRET not in json.dumps(out)
    assert "hubops_deployment: is '********'" in out["msg"]


def test_invocation_log_never_carries_a_secret():
    logged = []
    with mock.patch.object(basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append((msg, log_args))):
        with pytest.raises(AnsibleFailJson):
            run({"inventory": secret_inventory()})
    assert logged, "the module should log its invocation"
    for msg, log_args in logged:
        assert SECRET not in msg and CLIENT_ID not in msg
        assert SECRET not in repr(log_args) and CLIENT_ID not in repr(log_args)


def test_missing_jsonschema_fails_with_the_library_name():
    with mock.patch(MODULE + ".HAS_JSONSCHEMA", False):
        with pytest.raises(AnsibleFailJson) as exc:
            run({"inventory": GOOD})
    assert "jsonschema" in exc.value.result["msg"]


def test_inventory_is_required():
    with pytest.raises(AnsibleFailJson) as exc:
        run({})
    assert "inventory" in exc.value.result["msg"]


def test_failure_message_format():
    errors = [{"field": "a", "message": "is bad.", "fix": "Fix it."}, {"field": "b[0].c", "message": "is x.", "fix": "Use y."}]
    assert inventory_check.failure_message(errors) == (
        "Inventory check failed (2 problems):\na: is bad. Fix: Fix it.\nb[0].c: is x. Fix: Use y.")
