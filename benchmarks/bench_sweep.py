"""Sweep scaling benchmark: the same sweep on 1 and on 2 Dask workers, and the speedup.

    python benchmarks/bench_sweep.py [--runs 16] [--workers 1 2] [--scheduler tcp://HOST:8786]

The sweep: ``--runs`` seeds of the paper's 6:2 learning curve (K = 6, M = 2,
v* = 4, eta = eta_v = 0.5) integrated with fixed-step Euler (dt = 0.01, the
scheme of Goldt et al.'s integrator) to alpha = ``--alpha-max``, so that one
run costs a fixed amount of work. Each worker count gets a fresh local
``dask.distributed`` cluster (one single-threaded worker process per count)
and a fresh results directory; the time includes the cluster start. The
speedup is t(1 worker) / t(n workers); ideal is n on an otherwise idle machine
with n free cores. ``--scheduler`` runs the sweep once more on an existing
cluster (started with ``dask scheduler`` and ``dask worker``, see the README).
``--no-dask`` adds the plain-process executor for comparison.
"""
import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from statmech.sweep import parse_config, run_sweep

CONFIG = """
description = "benchmark: seeds of the 6:2 learning curve, Euler dt = 0.01"
engine = "ode"
record = ["eps_g"]
[fixed]
K = 6
M = 2
vstar = 4.0
eta = 0.5
eta_v = 0.5
method = "euler"
dt = 0.01
alpha_max = {alpha_max}
[axes]
seed = {{ range = [{runs}] }}
"""


def timed(cfg, out, **kw):
    t0 = time.perf_counter()
    s = run_sweep(cfg, out, progress=False, **kw)
    return time.perf_counter() - t0, s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=16, help="runs in the sweep (default 16)")
    ap.add_argument("--alpha-max", type=float, default=400.0, help="alpha of each run (default 400)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    ap.add_argument("--scheduler", help="also run on this existing Dask scheduler")
    ap.add_argument("--no-dask", action="store_true", help="also time plain processes (concurrent.futures)")
    args = ap.parse_args()
    cfg = parse_config(CONFIG.format(alpha_max=args.alpha_max, runs=args.runs))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    print(f"sweep: {len(cfg)} runs of the 6:2 ODE curve (Euler dt = 0.01) to alpha = {args.alpha_max:g}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # one run in this process: the cost of a run without any executor (and the numba cache warmed)
        one = parse_config(CONFIG.format(alpha_max=args.alpha_max, runs=1))
        run_sweep(one, tmp / "warm", executor="inline", progress=False)
        t_one, _ = timed(one, tmp / "one", executor="inline")
        print(f"one run inline: {t_one:.3g} s, so {len(cfg)} runs serially ~ {len(cfg) * t_one:.3g} s\n")
        print(f"{'executor':<34}{'workers':>8}{'wall s':>10}{'runs/s':>10}{'speedup':>9}")
        base = None
        for n in args.workers:
            t, s = timed(cfg, tmp / f"dask{n}", executor="dask", workers=n)
            assert s.executed == len(cfg) and s.failed == 0 and s.lost == 0, s
            if n == 1:
                base = t
            sp = f"{base / t:.2f}" if base else "-"
            print(f"{'dask LocalCluster':<34}{n:>8}{t:>10.3g}{len(cfg) / t:>10.3g}{sp:>9}")
        if args.no_dask:
            for n in args.workers:
                t, s = timed(cfg, tmp / f"proc{n}", executor="processes", workers=n)
                sp = f"{base / t:.2f}" if base else "-"
                print(f"{'processes':<34}{n:>8}{t:>10.3g}{len(cfg) / t:>10.3g}{sp:>9}")
        if args.scheduler:
            t, s = timed(cfg, tmp / "cluster", scheduler=args.scheduler)
            sp = f"{base / t:.2f}" if base else "-"
            print(f"{'dask ' + args.scheduler:<34}{s.workers:>8}{t:>10.3g}{len(cfg) / t:>10.3g}{sp:>9}")
    print("\nspeedup = wall time with 1 Dask worker / wall time here (cluster start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
