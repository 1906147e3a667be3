"""ODE benchmark: right-hand-side throughput and whole-curve wall time vs plain numpy.

    python benchmarks/bench_ode.py [--quick]

Prints a table: evaluations per second of the numba right-hand side against the
straightforward vectorised numpy version (benchmarks/numpy_ode.py) and the wall
time of whole learning curves (6:2 to alpha = 1600 with sigma = 0 and 0.25,
5:20 to alpha = 3000), after compilation. The numpy whole-curve time is
extrapolated from its measured step rate (fixed-step Euler, dt = 0.01: the
run is linear in the number of steps). Goals (issue 3): 6:2 in < 1 s, 5:20 in
< 60 s, >= 50x the numpy right-hand-side throughput. Reference from
baselines.md: Goldt et al.'s C++ Euler (dt = 0.01) takes 4.5 s for 6:2 and
~860 s for 5:20 (extrapolated), 28 us and 2.9 ms per step.
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from numpy_ode import rhs_numpy  # noqa: E402

import statmech as sm  # noqa: E402
from statmech.ode import pack, rhs_into  # noqa: E402


def per_call(fn, min_time=0.5):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 5:20 whole curve")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    rows = []
    for (K, M) in [(6, 2), (20, 5)]:
        s = sm.State.random(K, M, 500, vstar=4.0, seed=0)
        y = pack(s)
        dy = np.empty_like(y)
        T, vs = np.ascontiguousarray(s.T), np.ascontiguousarray(s.vstar)
        t_nb = per_call(lambda: rhs_into(0, y, K, M, T, vs, 0.5, 0.5, 0.0, dy))
        t_np = per_call(lambda: rhs_numpy(s.Q, s.R, s.T, s.v, s.vstar, 0.5, 0.5, 0.0))
        dQ, dR, dv = rhs_numpy(s.Q, s.R, s.T, s.v, s.vstar, 0.5, 0.5, 0.0)
        err = np.max(np.abs(np.concatenate([dQ.ravel(), dR.ravel(), dv]) - dy))
        rows.append((f"RHS evals/s {K}:{M}", 1 / t_nb, 1 / t_np, t_np / t_nb, f"max |diff| {err:.1e}"))
    print()
    print(f"{'quantity':<34}{'statmech':>14}{'numpy':>14}{'ratio':>9}  note")
    for name, a, b, r, note in rows:
        print(f"{name:<34}{a:>14.4g}{b:>14.4g}{r:>9.1f}  {note}")
    print()
    print(f"{'whole curve (wall s, compiled)':<34}{'dopri5':>10}{'euler':>10}{'numpy':>10}{'vs numpy':>10}  eps_g(end)")
    configs = [((6, 2), 0.0, 1600), ((6, 2), 0.25, 1600)]
    if not args.quick:
        configs.append(((20, 5), 0.0, 3000))
    for (K, M), sigma, amax in configs:
        s = sm.State.random(K, M, 500, vstar=4.0, seed=0)
        sm.integrate(s, eta=0.5, sigma=sigma, alpha_max=1.0)   # compile outside the timing
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
        print(f"{f'{K}:{M} sigma={sigma} alpha={amax}':<34}{t_ad:>10.3g}{t_eu:>10.3g}{t_np:>10.4g}"
              f"{t_np / t_ad:>10.0f}  {r.eps_g[-1]:.4g} ({r.nfev} RHS evals)")
    print("\nnumpy column: Euler dt = 0.01, extrapolated from its measured per-step time.")


if __name__ == "__main__":
    main()
