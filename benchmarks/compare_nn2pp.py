"""statmech's Euler integrator against Goldt et al.'s C++ ODE integrator ``scmpp_ode`` (nn2pp).

    NN2PP_SCMPP_ODE=/path/to/scmpp_ode.exe python benchmarks/compare_nn2pp.py [--steps 100] [--exe PATH]

Both integrate the order-parameter ODEs of the soft committee machine with both
layers trained (docs/theory/general_model.md) from one initial state, written
for nn2pp as ``P_Q0.dat``, ``P_R0.dat``, ``P_T0.dat``, ``P_A0.dat`` (v*) and
``P_v0.dat`` (armadillo raw ascii) and read with ``--prefix P``. nn2pp steps
forward Euler with dt = 0.01 and prints t, eps_g and the upper triangle of Q, R,
v* and v at about 300 log-spaced times; statmech integrates with
``method="euler", dt=0.01`` and saves at the same step counts (n = t / dt from
nn2pp's printed t, so both take the same number of steps). Cases: erf and
linear, weight decay, output noise and a second-layer rate different from the
first (``--lr2``). Prints, per case, the largest relative difference over the
printed times, of the whole vector (max |a - b| / max |b|) and per component
(components above 1e-3 of the largest), and of eps_g.

nn2pp prints its numbers with 6 significant digits (an ``std::ostringstream``
without a precision); for a comparison beyond that, build a copy whose status
stream is given ``std::setprecision(17)`` (docs/theory/general_model.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import statmech as sm
from statmech.core.model import Model

NN2PP_CODES = {"linear": 0, "erf": 1}  # scmpp_ode's --g

CASES = (
    dict(activation="erf", K=3, M=2, eta=0.8, eta_v=0.3, sigma=0.1, weight_decay=0.05),
    dict(activation="linear", K=3, M=2, eta=0.4, eta_v=0.15, sigma=0.1, weight_decay=0.05),
)


def initial_state(K: int, M: int, seed: int = 3) -> sm.State:
    """Random weights (N = 100) with unequal v*, so every order parameter is generic."""
    vstar = np.linspace(1.5, -0.7, M)
    return sm.State.random(K, M, 100, vstar=vstar, seed=seed)


def write_prefix(state: sm.State, prefix: Path) -> None:
    """The files nn2pp's ``--prefix`` loads: armadillo raw ascii, 17 significant digits."""
    for suffix, arr in (("Q0", state.Q), ("R0", state.R), ("T0", state.T), ("A0", state.vstar), ("v0", state.v)):
        np.savetxt(f"{prefix}_{suffix}.dat", np.atleast_1d(arr), fmt="%.17g")


def run_nn2pp(exe: str, case: dict, state: sm.State, steps: float, dt: float, workdir: Path) -> np.ndarray:
    """nn2pp's printed rows (t, eg, 4 unused, Q upper, R, A, v) as an array."""
    prefix = workdir / f"init_{case['activation']}"
    write_prefix(state, prefix)
    cmd = [
        exe,
        "--g",
        str(NN2PP_CODES[case["activation"]]),
        "--K",
        str(case["K"]),
        "--M",
        str(case["M"]),
        "--lr",
        repr(case["eta"]),
        "--lr2",
        repr(case["eta_v"]),
        "--sigma",
        repr(case["sigma"]),
        "--wd",
        repr(case["weight_decay"]),
        "--dt",
        repr(dt),
        "--steps",
        repr(steps),
        "--both",
        "--prefix",
        str(prefix),
    ]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines() if line.strip() and not line.startswith("#")]
    return np.array([[float(x) for x in line.split(",")] for line in rows])


def compare(exe: str, case: dict, steps: float = 100.0, dt: float = 0.01) -> dict:
    """Run both integrators on ``case``; return the largest relative differences."""
    K, M = case["K"], case["M"]
    state = initial_state(K, M)
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_nn2pp(exe, case, state, steps, dt, Path(tmp))
    t = rows[:, 0]
    nsteps = np.rint(t / dt)
    if np.max(np.abs(nsteps * dt - t)) > 1e-6 * dt:
        raise RuntimeError("nn2pp's printed times are not multiples of dt")
    model = Model(**{k: case[k] for k in ("activation", "eta", "eta_v", "sigma", "weight_decay")})
    res = sm.integrate(state, model, alpha_max=float(nsteps[-1] * dt), save_at=nsteps * dt, method="euler", dt=dt)
    if not res.success:
        raise RuntimeError(res.message)
    iu = np.triu_indices(K)
    ours = np.concatenate(
        [res.Q[:, iu[0], iu[1]], res.R.reshape(len(t), -1), np.tile(state.vstar, (len(t), 1)), res.v], axis=1
    )
    theirs = rows[:, 6:]
    if theirs.shape != ours.shape:
        raise RuntimeError(f"nn2pp printed {theirs.shape[1]} order parameters, expected {ours.shape[1]}")
    diff = np.abs(ours - theirs)
    scale = np.max(np.abs(theirs), axis=1, keepdims=True)
    big = np.abs(theirs) > 1e-3 * scale
    return dict(
        case=case,
        points=len(t),
        steps=int(nsteps[-1]),
        vector=float(np.max(diff / scale)),
        component=float(np.max(diff[big] / np.abs(theirs[big]))),
        eps_g=float(np.max(np.abs(res.eps_g - rows[:, 1]) / np.abs(rows[:, 1]))),
        eps_g_end=(float(res.eps_g[-1]), float(rows[-1, 1])),
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=os.environ.get("NN2PP_SCMPP_ODE"), help="scmpp_ode.exe (or NN2PP_SCMPP_ODE)")
    ap.add_argument("--steps", type=float, default=100.0, help="nn2pp --steps: alpha_max (default 100)")
    args = ap.parse_args(argv)
    if not args.exe or not Path(args.exe).is_file():
        print("compare_nn2pp: give --exe or set NN2PP_SCMPP_ODE to a built scmpp_ode.exe", file=sys.stderr)
        return 2
    print(f"nn2pp: {args.exe}; Euler dt = 0.01 up to alpha = {args.steps:g}")
    print(f"{'case':<80}{'points':>7}{'steps':>8}{'vector':>10}{'component':>11}{'eps_g':>10}")
    for case in CASES:
        r = compare(args.exe, case, args.steps)
        name = ", ".join(f"{k}={v}" for k, v in case.items())
        print(
            f"{name:<80}{r['points']:>7}{r['steps']:>8}{r['vector']:>10.2e}{r['component']:>11.2e}{r['eps_g']:>10.2e}"
        )
    print("max relative differences over the printed times (vector: max |a - b| / max |b|; eps_g: noise-free)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
