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
``--no-dask`` adds the plain-process executor for comparison. Configurations are
interleaved and repeated (``--repeat``) and the best time of each is reported.
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
    ap.add_argument("--repeat", type=int, default=2, help="repetitions of each configuration; the best counts")
    args = ap.parse_args()
    cfg = parse_config(CONFIG.format(alpha_max=args.alpha_max, runs=args.runs))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )
    print(f"sweep: {len(cfg)} runs of the 6:2 ODE curve (Euler dt = 0.01) to alpha = {args.alpha_max:g}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # one run in this process: the cost of a run without any executor (and the numba cache warmed)
        one = parse_config(CONFIG.format(alpha_max=args.alpha_max, runs=1))
        run_sweep(one, tmp / "warm", executor="inline", progress=False)
        t_one, _ = timed(one, tmp / "one", executor="inline")
        print(f"one run inline: {t_one:.3g} s, so {len(cfg)} runs serially ~ {len(cfg) * t_one:.3g} s\n")
        # configurations interleaved and repeated, best time kept: other jobs on a shared machine only slow runs down
        configs = [("dask LocalCluster", "dask", n, None) for n in args.workers]
        if args.no_dask:
            configs += [("processes", "processes", n, None) for n in args.workers]
        if args.scheduler:
            configs.append((f"dask {args.scheduler}", "auto", None, args.scheduler))
        best, work, nworkers = {}, {}, {}
        for rep in range(args.repeat):
            for i, (label, ex, n, sched) in enumerate(configs):
                t, s = timed(cfg, tmp / f"r{rep}c{i}", executor=ex, workers=n, scheduler=sched)
                assert s.executed == len(cfg) and s.failed == 0 and s.lost == 0, s
                best[i] = min(best.get(i, float("inf")), t)
                work[i] = min(work.get(i, float("inf")), t - s.startup_s)
                nworkers[i] = s.workers
        ref = next((i for i, c in enumerate(configs) if c[1] == "dask" and c[2] == 1), None)
        print(
            f"{'executor':<26}{'workers':>8}{'wall s':>9}{'start s':>9}{'runs s':>9}{'runs/s':>9}"
            f"{'speedup':>9}{'(runs)':>8}"
        )
        for i, (label, ex, n, sched) in enumerate(configs):
            sp = f"{best[ref] / best[i]:.2f}" if ref is not None else "-"
            sp_w = f"{work[ref] / work[i]:.2f}" if ref is not None else "-"
            print(
                f"{label:<26}{nworkers[i]:>8}{best[i]:>9.3g}{best[i] - work[i]:>9.3g}{work[i]:>9.3g}"
                f"{len(cfg) / best[i]:>9.3g}{sp:>9}{sp_w:>8}"
            )
    print(
        "\nwall = start (cluster / worker processes) + runs; speedup = wall with 1 Dask worker / wall here, "
        "(runs) the same for the runs alone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
