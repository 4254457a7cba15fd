# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make `ansible_collections.hubops.eks` importable from a plain checkout: <repo>/collections goes first on
sys.path, and the self-link `make deps` creates (collections/ansible_collections/hubops/eks -> ../../..)
and the links to the bundled dependencies are made here too when missing, so `pytest tests/unit` works before `make deps`."""

import os
import sys
import sysconfig

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
COLLECTIONS = os.path.join(REPO, "collections")
SELF_LINK = os.path.join(COLLECTIONS, "ansible_collections", "hubops", "eks")
# The same links `make deps` puts beside the self-link (its target is the self-link, so make would skip them).
BUNDLE = os.path.join(sysconfig.get_paths()["purelib"], "ansible_collections")
BUNDLED_NAMESPACES = ("amazon", "community", "kubernetes", "ansible")


def _ensure_links():
    os.makedirs(os.path.dirname(SELF_LINK), exist_ok=True)
    if not os.path.lexists(SELF_LINK):
        _link(os.path.join("..", "..", ".."), SELF_LINK)
    for namespace in BUNDLED_NAMESPACES:
        link = os.path.join(COLLECTIONS, "ansible_collections", namespace)
        if os.path.isdir(os.path.join(BUNDLE, namespace)) and not os.path.lexists(link):
            _link(os.path.join(BUNDLE, namespace), link)


def _link(target, link):
    try:
        os.symlink(target, link)
    except FileExistsError:  # a parallel worker made it first
        pass


_ensure_links()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
