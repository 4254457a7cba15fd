# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""`make bench`: the lifecycle of inventories/local on a fresh emulated AWS, timed and counted.

Prints first-run and no-op re-run wall times, their ratio, AWS calls per run by kind (read / mutating) and the
teardown's wall time. `--record docs/performance.md` also writes the table there, dated.
"""

import argparse
import datetime
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))

from harness import Emulator  # noqa: E402  pylint: disable=wrong-import-position


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--record", type=Path, help="write the results as markdown to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        emulator = Emulator(Path(tmp) / "emulator").start()
        try:
            for label, playbook, extra in (
                ("site.yml, first run", "site.yml", ()),
                ("site.yml, no-op re-run", "site.yml", ()),
                ("teardown.yml", "teardown.yml", ("-e", "hubops_teardown_confirm=local")),
            ):
                run = emulator.playbook(playbook, None, *extra)
                if run.rc != 0:
                    print(run.output[-4000:])
                    print(f"bench: {label} failed (rc {run.rc})", file=sys.stderr)
                    return 1
                rows.append((label, run.seconds, run.recap["changed"], run.stats["read"], run.stats["mutating"],
                             ", ".join(run.stats["mutating_actions"][:6]) + ("..." if len(run.stats["mutating_actions"]) > 6 else "")))
                print(f"{label}: {run.seconds:.1f} s, changed={run.recap['changed']}, "
                      f"AWS calls read={run.stats['read']} mutating={run.stats['mutating']}", flush=True)
        finally:
            emulator.stop()
    ratio = rows[1][1] / rows[0][1]
    print(f"re-run / first run wall time: {ratio:.2f} (target <= 0.60)")
    if args.record:
        today = datetime.date.today().isoformat()
        lines = [
            "# Performance",
            "",
            f"Measured {today} with `make bench` ({platform.python_version()}, {platform.machine()}, emulated AWS:"
            " moto in-process behind the counting proxy). Re-run it to refresh this table.",
            "",
            "| run | wall time (s) | changed | AWS read calls | AWS mutating calls | first mutating actions |",
            "|---|---:|---:|---:|---:|---|",
        ]
        lines += [f"| {r[0]} | {r[1]:.1f} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |" for r in rows]
        lines += ["", f"No-op re-run / first run: **{ratio:.2f}** (target at most 0.60).", ""]
        args.record.write_text("\n".join(lines))
    return 0 if ratio <= 0.6 else 2


if __name__ == "__main__":
    sys.exit(main())
