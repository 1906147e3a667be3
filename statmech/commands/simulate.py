"""``statmech simulate``: finite-N online SGD over several runs, compared with the ODE."""

from __future__ import annotations

import sys

from statmech.commands._common import add_teacher_student_args, nonneg_float, out_dir, positive_float, positive_int
from statmech.core.lock import output_lock


def register(sub):
    p = sub.add_parser(
        "simulate",
        help="train real finite-N students by online SGD (several runs) and compare with the ODE",
        description=(
            "Online SGD of a K-unit student on an M-unit teacher at input dimension N (docs/theory/model.md "
            "and 7), from the random N(0,1) weights of --seed, with --runs independent input streams run on "
            "separate processes. Writes DIR/simulation.csv (alpha, mean and standard error of eps_g over runs, "
            "the ODE from the same initial state, one column per run; parameters in simulation.json), "
            "DIR/initial_weights.npz, DIR/final_weights_seed<r>.npz, DIR/simulation.png and checkpoints in "
            "DIR/checkpoints/ (continue an interrupted run with --resume)."
        ),
    )
    add_teacher_student_args(p)
    p.add_argument("--alpha-max", type=positive_float, default=1600.0, help="final time alpha = steps/N (default 1600)")
    p.add_argument(
        "--runs",
        "--seeds",
        dest="runs",
        type=positive_int,
        default=5,
        help="independent SGD runs, each with its own input stream (default 5; --seeds is the old spelling)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes running the runs (default: one per core, at most --runs)",
    )
    p.add_argument(
        "--points", type=positive_int, default=50, help="log-spaced save points besides alpha=0 (default 50)"
    )
    p.add_argument(
        "--n-test",
        "--test-size",
        dest="n_test",
        type=int,
        default=0,
        metavar="P",
        help="also measure the empirical test loss on P held-out samples with noisy labels "
        "(eps_g + sigma^2/2 in expectation; default 0 = off; --test-size is the old spelling)",
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
    from statmech import Weights
    from statmech.core.io import sidecar_path, write_table
    from statmech.experiments.curves import simulation_table
    from statmech.ode.integrator import default_save_at
    from statmech.plots.curves import learning_curve
    from statmech.sim import checkpoint_path, simulate_seeds

    if args.n_test < 0:
        raise ValueError(f"--n-test must be an integer >= 0, got {args.n_test}")
    out = out_dir(args.out)
    with output_lock(out):
        ck_dir = out / "checkpoints"
        existing = [checkpoint_path(ck_dir, r) for r in range(args.runs) if checkpoint_path(ck_dir, r).exists()]
        if args.resume and not existing:
            print(f"--resume: no checkpoints in {ck_dir}; starting from the beginning", file=sys.stderr)
        if existing and not args.resume:
            raise ValueError(
                f"{ck_dir} holds checkpoints of an earlier run ({existing[0].name}, ...); pass --resume "
                f"to continue it, or use another --out"
            )
        weights = Weights.random(args.K, args.M, args.N, vstar=args.vstar, seed=args.seed)
        res = simulate_seeds(
            weights,
            seeds=args.runs,
            seed=args.seed,
            eta=args.eta,
            eta_v=args.eta_v,
            sigma=args.sigma,
            alpha_max=args.alpha_max,
            save_at=default_save_at(args.alpha_max, args.points),
            activation=args.activation,
            test_size=args.n_test,
            max_abs=args.max_abs,
            workers=args.workers,
            checkpoint_dir=ck_dir,
            resume=args.resume,
            checkpoint_every=args.checkpoint_every,
        )
        table = simulation_table(
            res,
            n_test=args.n_test,
            extra_params=dict(seed=args.seed, vstar=args.vstar, init="statmech.Weights.random(K, M, N, vstar, seed)"),
        )
        written = [write_table(out / "simulation.csv", table.columns, table.params, descriptions=table.descriptions)]
        written.append(sidecar_path(written[0]))
        weights.save(out / "initial_weights.npz")
        written.append(out / "initial_weights.npz")
        for r, run_ in zip(res.run_ids, res.runs):
            run_.weights.save(out / f"final_weights_seed{r}.npz")
            written.append(out / f"final_weights_seed{r}.npz")
        learning_curve(
            table.lines,
            out / "simulation.png",
            simulation=table.extra["simulation"],
            title=f"K={args.K}, M={args.M}, N={args.N}, eta={args.eta}, eta_v={args.eta_v}, sigma={args.sigma}",
        )
        written.append(out / "simulation.png")
        if res.status == 1:
            written.append(ck_dir)
        print(f"{table.summary}; wrote {', '.join(str(p) for p in written)}")
        return table
