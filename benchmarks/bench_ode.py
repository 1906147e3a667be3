"""ODE benchmark: right-hand-side throughput and whole-curve wall time vs plain numpy.

    python benchmarks/bench_ode.py [--quick]

Prints a table: evaluations per second of the numba right-hand side against the
straightforward vectorised numpy version (benchmarks/numpy_ode.py) and the wall
time of whole learning curves (6:2 to alpha = 1600 with sigma = 0 and 0.25,
5:20 to alpha = 3000), after compilation. The numpy whole-curve time is
extrapolated from its measured step rate (fixed-step Euler, dt = 0.01: the
run is linear in the number of steps). Goals: 6:2 in < 1 s, 5:20 in
< 60 s, >= 50x the numpy right-hand-side throughput. Reference from
docs/performance.md: Goldt et al.'s C++ Euler (dt = 0.01) takes 4.5 s for 6:2 and
~860 s for 5:20 (extrapolated), 28 us and 2.9 ms per step.

Right-hand-side times are the best of 5 repeats (each >= 0.2 s of calls), in
wall-clock and in CPU time (time.process_time: the machine may be shared). The
numba right-hand side is timed twice: called from Python (each call pays
numba's argument dispatch, ~0.3-0.5 us) and called from compiled code, as the
solvers in statmech.ode.steppers call it; the numpy version is called from Python,
its only way. The ratio column uses CPU times.
"""

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from numba import njit  # noqa: E402
from numpy_ode import rhs_numpy  # noqa: E402

import statmech as sm  # noqa: E402
from statmech.ode import pack, rhs_into  # noqa: E402


def per_call(fn, min_time=0.5):
    """Wall seconds per call of fn() (a single timed loop; for the whole-curve extrapolation)."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def best_per_call(run, repeats=5, min_time=0.2):
    """(wall, cpu) seconds per call, best of `repeats`; run(n) makes n calls.

    The call count is calibrated first so that one repeat lasts >= min_time; the
    minimum over repeats is the least disturbed by other jobs (as in timeit).
    """
    run(1)
    n = 1
    while True:
        t0 = time.perf_counter()
        run(n)
        if time.perf_counter() - t0 >= min_time:
            break
        n *= 2
    wall = cpu = float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        run(n)
        wall = min(wall, (time.perf_counter() - w0) / n)
        cpu = min(cpu, (time.process_time() - c0) / n)
    return wall, cpu


@njit
def _rhs_loop(n, y, K, M, T, vstar, dy):
    """n right-hand-side calls from compiled code, as statmech.ode.steppers makes them."""
    for _ in range(n):
        rhs_into(0, y, K, M, T, vstar, 0.5, 0.5, 0.0, dy)


def _python_loop(f):
    def run(n):
        for _ in range(n):
            f()

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 5:20 whole curve")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    rows = []
    for K, M in [(6, 2), (20, 5)]:
        s = sm.State.random(K, M, 500, vstar=4.0, seed=0)
        y = pack(s)
        dy = np.empty_like(y)
        T, vs = np.ascontiguousarray(s.T), np.ascontiguousarray(s.vstar)
        nb_py = best_per_call(_python_loop(lambda: rhs_into(0, y, K, M, T, vs, 0.5, 0.5, 0.0, dy)))
        nb_jit = best_per_call(lambda n: _rhs_loop(n, y, K, M, T, vs, dy))
        t_np = best_per_call(_python_loop(lambda: rhs_numpy(s.Q, s.R, s.T, s.v, s.vstar, 0.5, 0.5, 0.0)))
        dQ, dR, dv = rhs_numpy(s.Q, s.R, s.T, s.v, s.vstar, 0.5, 0.5, 0.0)
        want = np.concatenate([dQ.ravel(), dR.ravel(), dv])
        err = np.max(np.abs(want - dy)) / np.max(np.abs(want))
        for how, (wall, cpu) in (("from compiled code", nb_jit), ("from Python", nb_py)):
            rows.append((f"RHS {K}:{M}, {how}", wall, cpu, t_np, f"max rel diff {err:.1e}"))
    print()
    print("right-hand side: microseconds per call (best of 5), numba vs numpy")
    print(f"{'':<34}{'wall':>9}{'cpu':>9}{'np wall':>9}{'np cpu':>9}{'ratio':>8}  note")
    for name, wall, cpu, (np_wall, np_cpu), note in rows:
        print(
            f"{name:<34}{wall * 1e6:>9.2f}{cpu * 1e6:>9.2f}{np_wall * 1e6:>9.1f}{np_cpu * 1e6:>9.1f}"
            f"{np_cpu / cpu:>8.1f}  {note}"
        )
    print()
    print(f"{'whole curve (wall s, compiled)':<34}{'dopri5':>10}{'euler':>10}{'numpy':>10}{'vs numpy':>10}  eps_g(end)")
    configs = [((6, 2), 0.0, 1600), ((6, 2), 0.25, 1600)]
    if not args.quick:
        configs.append(((20, 5), 0.0, 3000))
    for (K, M), sigma, amax in configs:
        s = sm.State.random(K, M, 500, vstar=4.0, seed=0)
        for method in ("dopri5", "euler"):  # compile (or load from the cache) outside the timing
            sm.integrate(s, eta=0.5, sigma=sigma, alpha_max=1.0, method=method)
        t0 = time.perf_counter()
        r = sm.integrate(s, eta=0.5, eta_v=0.5, sigma=sigma, alpha_max=amax)
        t_ad = time.perf_counter() - t0
        if K <= 6:
            t0 = time.perf_counter()
            sm.integrate(s, eta=0.5, eta_v=0.5, sigma=sigma, alpha_max=amax, method="euler", dt=0.01)
            t_eu = time.perf_counter() - t0
        else:
            t_eu = float("nan")
        t_step = per_call(lambda: rhs_numpy(s.Q, s.R, s.T, s.v, s.vstar, 0.5, 0.5, sigma), 0.3)
        t_np = t_step * amax / 0.01
        print(
            f"{f'{K}:{M} sigma={sigma} alpha={amax}':<34}{t_ad:>10.3g}{t_eu:>10.3g}{t_np:>10.4g}"
            f"{t_np / t_ad:>10.0f}  {r.eps_g[-1]:.4g} ({r.nfev} RHS evals)"
        )
    print("\nnumpy column: Euler dt = 0.01, extrapolated from its measured per-step time.")


if __name__ == "__main__":
    main()
