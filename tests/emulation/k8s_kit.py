# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Start/stop the Kubernetes API server kit of ../shared/k8s for tests (test infrastructure only).

The kit's bin/kube-apiserver and bin/kube-controller-manager are symlinks to one multi-call binary. Some copies
of the kit arrive with those symlinks flattened into 4-byte text files; then we run the kit from a private
directory (build/k8s-kit) whose bin/ re-creates the links to the original binaries, without touching ../shared.

    python tests/emulation/k8s_kit.py start DIR     # prints the kubeconfig path
    python tests/emulation/k8s_kit.py stop DIR
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KIT = Path(os.environ.get("K8S_KIT", REPO.parent / "shared" / "k8s")).resolve()
LINKED = ("kube-apiserver", "kube-controller-manager")


def kit_dir() -> Path:
    """The kit to run: the shared one when intact, else a private copy with its links repaired."""
    if all(os.access(KIT / "bin" / name, os.X_OK) for name in LINKED):
        return KIT
    private = REPO / "build" / "k8s-kit"
    (private / "bin").mkdir(parents=True, exist_ok=True)
    for script in ("start", "stop"):
        shutil.copy2(KIT / script, private / script)
    links = dict((name, KIT / "bin" / name) for name in ("kube", "etcd"))
    links.update((name, Path("kube")) for name in LINKED)
    for name, target in links.items():
        link = private / "bin" / name
        if not link.is_symlink():
            try:
                link.symlink_to(target)
            except FileExistsError:  # another test process (pytest -n) made it first
                pass
    return private


def main(argv) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    if not (KIT / "start").exists():
        print(f"no Kubernetes kit at {KIT}; skipping", file=sys.stderr)
        return 0
    return subprocess.call([str(kit_dir() / argv[1]), argv[2]])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
