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
