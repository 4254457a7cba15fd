# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Emulator patch (test infrastructure only): placeholder, filled in by the storage work."""


def install() -> None:
    """Nothing to patch yet."""
