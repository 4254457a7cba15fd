# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Bad inventories fail with the field named, before any AWS call (or before any mutating call when the
problem needs the account's state to be seen)."""

import pytest

from bad_inventories import CASES
from harness import inventory_with


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_inventory_fails_early_naming_the_field(case, shared_emulator, tmp_path):
    run = shared_emulator.playbook("site.yml", inventory_with(tmp_path, case["vars"]))
    assert run.rc != 0, run.output[-3000:]
    assert case["field"] in run.output, run.output[-3000:]
    assert "Fix" in run.output or "fix" in run.output, run.output[-3000:]
    assert run.stats["mutating"] == 0, run.stats["mutating_actions"]
    if case["stage"] == "schema":
        assert run.stats["read"] == 0, run.stats["calls"]
    assert "Traceback" not in run.output
