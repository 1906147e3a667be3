"""Counterexample-search benchmark: evaluation rate and optimiser against random sampling.

    python benchmarks/bench_verify.py [--quick]

Prints two tables:
1. margin evaluations per CPU-second of this process (one core, BLAS single-threaded; on a
   shared machine the wall-clock rate also counts the other processes' time and is shown beside it) for
   node-scheme claims at K = 6, M = 2 (one budget per state, so one evaluation
   is one state: family point -> validated State -> pruned errors -> margin),
   over the order-parameter and specialised families; goal >= 1000/s;
2. differential evolution (seeded, popsize 5, no polishing) against plain
   uniform random sampling of the same box with the same number of
   evaluations on C1, C2 and monotone:dpp-node: the minimum margin each finds, medians over seeds, and the
   ratio (DE margin / random margin; > 1 means DE went further below zero).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from statmech.verify import OrderParameterFamily, SpecialisedFamily, search  # noqa: E402


def families():
    return {
        "order-parameters": OrderParameterFamily(6, 2, vstar=1.0),
        "specialised": SpecialisedFamily(6, 2, vstar=1.0),
    }


def rates(n_evals, repeats):
    print(f"\n## margin evaluations per second, K=6, M=2, one budget (k=3), {n_evals} evaluations, median of {repeats}")
    print(f"{'claim':24s} {'family':18s} {'evals/cpu-s':>11s} {'min':>8s} {'max':>8s} {'evals/wall-s':>12s}")
    search("C1", families()["specialised"], budgets=[3], method="random", evaluations=50, seed=0)  # warm-up (numba)
    for claim in ("C1", "monotone:dpp-node", "monotone:random-node", "random-node-all-kept"):
        for name, fam in families().items():
            r, w = [], []
            for s in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                res = search(
                    claim,
                    fam,
                    budgets=None if claim == "random-node-all-kept" else [3],
                    method="random",
                    evaluations=n_evals,
                    seed=s,
                )
                r.append(res.n_evaluations / (time.process_time() - c0))
                w.append(res.n_evaluations / (time.perf_counter() - t0))
            print(f"{claim:24s} {name:18s} {np.median(r):11.0f} {min(r):8.0f} {max(r):8.0f} {np.median(w):12.0f}")


def optimiser(n_evals, seeds):
    print(f"\n## minimum margin found with {n_evals} evaluations (k=3; monotone: k=2), median over seeds {list(seeds)}")
    print(f"{'claim':22s} {'family':18s} {'DE':>10s} {'random':>10s} {'DE/random':>10s} {'DE wins':>8s}")
    for claim, k in (("C1", 3), ("C2", 3), ("monotone:dpp-node", 2)):
        for name, fam in families().items():
            de = [search(claim, fam, budgets=[k], method="de", evaluations=n_evals, seed=s).margin for s in seeds]
            rn = [search(claim, fam, budgets=[k], method="random", evaluations=n_evals, seed=s).margin for s in seeds]
            md, mr = float(np.median(de)), float(np.median(rn))
            wins = sum(a < b for a, b in zip(de, rn))
            print(f"{claim:22s} {name:18s} {md:10.4g} {mr:10.4g} {md / mr:10.3f} {wins:>4d}/{len(seeds)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer evaluations and seeds")
    args = ap.parse_args()
    print(
        f"# statmech verify benchmark on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}"
    )
    t0 = time.perf_counter()
    rates(1000 if args.quick else 2000, 3)
    optimiser(1500 if args.quick else 3000, range(3))
    print(f"\n# total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
