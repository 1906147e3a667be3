"""``statmech simulate``: finite-N online SGD over several seeds, compared with the ODE."""

from __future__ import annotations

import sys

from statmech.commands._common import add_teacher_student_args, nonneg_float, out_dir, positive_float, positive_int


def register(sub):
    p = sub.add_parser(
        "simulate",
        help="train real finite-N students by online SGD (several seeds) and compare with the ODE",
        description=(
            "Online SGD of a K-unit student on an M-unit teacher at input dimension N (theory.md sections 1 "
            "and 7), from the random N(0,1) weights of --seed, with --seeds independent input streams run on "
            "separate processes. Writes DIR/simulation.csv (alpha, mean and standard error of eps_g over seeds, "
            "the ODE from the same initial state, one column per seed; parameters in simulation.json), "
            "DIR/initial_weights.npz, DIR/final_weights_seed<r>.npz, DIR/simulation.png and checkpoints in "
            "DIR/checkpoints/ (continue an interrupted run with --resume)."
        ),
    )
    add_teacher_student_args(p)
    p.add_argument("--alpha-max", type=positive_float, default=1600.0, help="final time alpha = steps/N (default 1600)")
    p.add_argument("--seeds", type=positive_int, default=5, help="independent SGD runs (default 5)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes running the seeds (default: one per core, at most --seeds)",
    )
    p.add_argument(
        "--points", type=positive_int, default=50, help="log-spaced save points besides alpha=0 (default 50)"
    )
    p.add_argument(
        "--test-size",
        type=int,
        default=0,
        metavar="P",
        help="also measure the empirical test loss on P held-out samples with noisy labels "
        "(eps_g + sigma^2/2 in expectation; default 0 = off)",
    )
    p.add_argument(
        "--max-abs", type=positive_float, default=1e6, help="stop a run when Q_ii or |v_i| exceeds this (default 1e6)"
    )
    p.add_argument(
        "--checkpoint-every",
        type=nonneg_float,
        default=60.0,
        help="seconds between checkpoints besides those at save points (default 60)",
    )
    p.add_argument("--resume", action="store_true", help="continue the runs checkpointed in DIR/checkpoints")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from statmech import Weights, integrate
    from statmech.core.io import write_table
    from statmech.ode.integrator import default_save_at
    from statmech.plots.curves import learning_curve
    from statmech.sim import checkpoint_path, ode_reference, simulate_seeds

    if args.test_size < 0:
        raise ValueError(f"--test-size must be an integer >= 0, got {args.test_size}")
    out = out_dir(args.out)
    ck_dir = out / "checkpoints"
    existing = [checkpoint_path(ck_dir, r) for r in range(args.seeds) if checkpoint_path(ck_dir, r).exists()]
    if args.resume and not existing:
        print(f"--resume: no checkpoints in {ck_dir}; starting from the beginning", file=sys.stderr)
    if existing and not args.resume:
        raise ValueError(
            f"{ck_dir} holds checkpoints of an earlier run ({existing[0].name}, ...); pass --resume "
            f"to continue it, or use another --out"
        )
    weights = Weights.random(args.K, args.M, args.N, vstar=args.vstar, seed=args.seed)
    save_at = default_save_at(args.alpha_max, args.points)
    res = simulate_seeds(
        weights,
        seeds=args.seeds,
        seed=args.seed,
        eta=args.eta,
        eta_v=args.eta_v,
        sigma=args.sigma,
        alpha_max=args.alpha_max,
        save_at=save_at,
        activation=args.activation,
        test_size=args.test_size,
        max_abs=args.max_abs,
        workers=args.workers,
        checkpoint_dir=ck_dir,
        resume=args.resume,
        checkpoint_every=args.checkpoint_every,
    )

    ode = ode_reference(res)
    ode_eps = np.full(len(res.alpha), np.nan)
    ode_eps[: len(ode.eps_g)] = ode.eps_g
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(res.stderr > 0, (res.mean - ode_eps) / res.stderr, 0.0)
    if res.n_runs < 2:  # no standard error from one run
        z[:] = np.nan
    cols = {"alpha": res.alpha, "eps_g_mean": res.mean, "eps_g_stderr": res.stderr, "eps_g_ode": ode_eps}
    desc = {
        "eps_g_mean": "noise-free generalisation error eps_g(Q, R, T, v, vstar) of the measured order "
        "parameters, mean over seeds",
        "eps_g_stderr": "standard error of the mean over seeds (std ddof=1 / sqrt(seeds))",
        "eps_g_ode": "ODE solution (dopri5) started from the same initial state",
    }
    for r, run_ in zip(res.run_ids, res.runs):
        cols[f"eps_g_seed{r}"] = run_.eps_g[: len(res.alpha)]
    if res.test_loss is not None:
        cols["test_loss_mean"] = res.test_mean
        cols["test_loss_stderr"] = res.test_stderr
        for r, row in zip(res.run_ids, res.test_loss):
            cols[f"test_loss_seed{r}"] = row
        desc["test_loss_mean"] = (
            f"empirical test loss (phi - y)^2/2 on {args.test_size} held-out samples with "
            f"noisy labels: eps_g + sigma^2/2 in expectation (sigma={args.sigma})"
        )
    sgd_time = sum(r.sgd_seconds for r in res.runs)
    sgd_rate = sum(r.step for r in res.runs) / sgd_time if sgd_time > 0 else None  # None: nothing left to run
    params = dict(
        res.params,
        seed=args.seed,
        vstar=args.vstar,
        status=res.status,
        message=res.message,
        max_abs_z_vs_ode=float(np.max(np.abs(z[np.isfinite(z)]))) if np.any(np.isfinite(z)) else None,
        wall_seconds=res.wall_seconds,
        sgd_steps_per_second_per_run=sgd_rate,
        init="statmech.Weights.random(K, M, N, vstar, seed)",
    )
    write_table(out / "simulation.csv", cols, params, descriptions=desc)
    weights.save(out / "initial_weights.npz")
    for r, run_ in zip(res.run_ids, res.runs):
        run_.weights.save(out / f"final_weights_seed{r}.npz")

    dense = integrate(
        weights.state(),
        eta=args.eta,
        eta_v=args.eta_v,
        sigma=args.sigma,
        alpha_max=float(res.alpha[-1]) if res.alpha[-1] > 0 else args.alpha_max,
        activation=args.activation,
    )
    sim = [(f"SGD, N={args.N}, {res.n_runs} seeds (mean ± s.e.)", res.alpha, res.mean, np.nan_to_num(res.stderr))]
    if res.test_loss is not None:
        sim.append(
            (
                f"empirical test loss − σ²/2 ({args.test_size} samples)",
                res.alpha,
                res.test_mean - 0.5 * args.sigma**2,
                np.nan_to_num(res.test_stderr),
            )
        )
    learning_curve(
        [("ODE, same initial state", dense.alpha, dense.eps_g)],
        out / "simulation.png",
        simulation=sim,
        title=f"K={args.K}, M={args.M}, N={args.N}, eta={args.eta}, eta_v={args.eta_v}, sigma={args.sigma}",
    )

    i = len(res.alpha) - 1
    print(
        f"{res.message}; eps_g({res.alpha[i]:.6g}) = {res.mean[i]:.6g} ± {res.stderr[i]:.2g} "
        f"(ODE {ode_eps[i]:.6g}); max |mean - ODE| / s.e. = "
        + (f"{params['max_abs_z_vs_ode']:.3g}; " if params["max_abs_z_vs_ode"] is not None else "n/a (one seed); ")
        + (f"{sgd_rate:,.0f} SGD steps/s per run; " if sgd_rate else "")
        + f"wrote {out}/simulation.csv, simulation.png, "
        f"initial_weights.npz, final_weights_seed*.npz"
    )
    if res.status == 1:
        return 130
    return 0 if res.status == 0 else 1
