# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Emulator  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def emulator(tmp_path):
    emu = Emulator(tmp_path / "emulator").start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory):
    """One emulator for tests that only read (bad inventories): cheaper than one each."""
    emu = Emulator(tmp_path_factory.mktemp("emulator")).start()
    yield emu
    emu.stop()


# The longest tests first (seconds measured on 2 workers), so that with `pytest -n 2 --dist load` the two workers end
# together rather than one running a long lifecycle alone at the end. Tests not named keep their order, after these.
LONGEST_FIRST = (
    "test_examples.py::test_example_lifecycle",                             # ~400 s
    "test_storage.py::test_storage_lifecycle",                              # ~410 s
    "test_lifecycle.py::test_converge_rerun_and_teardown",                  # ~380 s
    "test_hub.py::test_local_hub_lifecycle",                                # ~380 s
    "test_services.py::",                                                   # ~250 s
    "test_lifecycle.py::test_converges_and_tears_down_under_throttling",    # ~280 s
    "test_hub.py::test_chart_version_change",                               # ~250 s
    "test_cluster.py::",                                                    # ~220 s
    "test_hub.py::test_site_installs",                                      # ~210 s
    "test_cost_tags.py::test_site_tags",                                    # ~170 s
    "test_karpenter.py::test_teardown_waits",                               # ~130 s
    "test_karpenter.py::test_one_group_change",                             # ~110 s
    "test_monitoring.py::",                                                 # ~90 s
    "test_lifecycle.py::test_run_killed",                                   # ~80 s
    "test_lbc_standin.py::",                                                # ~65 s
    "test_efs.py::",                                                        # ~50 s
)


def pytest_collection_modifyitems(items):
    def rank(item):
        return next((i for i, key in enumerate(LONGEST_FIRST) if key in item.nodeid), len(LONGEST_FIRST))
    items.sort(key=rank)
