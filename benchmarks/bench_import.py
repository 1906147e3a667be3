"""Start-up cost: wall time of ``python -c "import statmech"`` for this tree against another checkout.

    python benchmarks/bench_import.py [--against PATH] [--repeats 15]

Runs the two interpreters alternately (the machine is shared and noisy) and
prints medians and their ratio. ``--against`` is the root of another checkout
(for example ``git worktree add /tmp/before <commit>``); without it only this
tree is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(root: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import statmech"], env=env, check=True, cwd="/")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", type=Path, help="root of another checkout to time side by side")
    p.add_argument("--repeats", type=int, default=15, help="runs of each (default 15)")
    args = p.parse_args(argv)
    roots = {"this tree": ROOT}
    if args.against:
        roots["other"] = args.against.resolve()
    for root in roots.values():  # warm the file cache and numba's cache directory
        once(root)
    times: dict[str, list[float]] = {k: [] for k in roots}
    for _ in range(args.repeats):
        for name, root in roots.items():
            times[name].append(once(root))
    print(f"{'tree':<12} {'median s':>9} {'min s':>7}")
    for name, ts in times.items():
        print(f"{name:<12} {statistics.median(ts):9.3f} {min(ts):7.3f}")
    if args.against:
        ratio = statistics.median(times["this tree"]) / statistics.median(times["other"])
        print(f"ratio this/other (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
