"""``statmech simulate``: finite-N online SGD over several runs, compared with the ODE."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from statmech.commands._common import (
    add_teacher_student_args,
    model_from_args,
    nonneg_float,
    out_dir,
    positive_float,
    positive_int,
    start_options_given,
    weights_from_args,
)
from statmech.core.lock import output_lock
from statmech.core.model import Model
from statmech.core.resources import check_step_cost

if TYPE_CHECKING:
    from statmech.experiments.curves import CurveTable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="train real finite-N students by online SGD (several runs) and compare with the ODE",
        description=(
            "Online SGD of a K-unit student on an M-unit teacher at input dimension N (docs/theory/model.md "
            "and 7), from the initial weights of --init and --seed (or --init-state), with --runs independent "
            "input streams run on separate processes. alpha counts SGD updates / N (each update averages "
            "--batch-size samples). Writes DIR/simulation.csv (alpha, mean and standard error of eps_g over runs, "
            "the ODE from the same initial state, one column per run; parameters and the model in "
            "simulation.json), DIR/initial_weights.npz, DIR/final_weights_seed<r>.npz, DIR/simulation.png and "
            "checkpoints in DIR/checkpoints/ (continue an interrupted run with --resume). With --train-set TS "
            "the runs reuse a finite training set of TS*N samples; simulation.csv then holds the training and "
            "test errors per epoch and no ODE (no online ODE describes a finite training set)."
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
    p.add_argument(
        "--train-set",
        type=positive_float,
        default=None,
        metavar="TS",
        help="train on a finite training set of P = TS*N samples (drawn once per run, labels with their noise) "
        "reused every epoch, saving the training and test errors at every epoch (P samples; default: online "
        "SGD, a fresh sample every time)",
    )
    p.add_argument(
        "--init-state",
        metavar="FILE.npz",
        help="start from saved Weights (W, Wstar, v, vstar) or a saved State (real weights of dimension --N with "
        "exactly its overlaps are built from --seed); then --K, --M, --vstar, --teacher-overlap and --init "
        "are not allowed (the model options still apply; default: generated weights, --init)",
    )
    p.add_argument("--resume", action="store_true", help="continue the runs checkpointed in DIR/checkpoints")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=run, K=None, M=None)


def _epoch_save_at(alpha_max: float, train_set: float, batch: int, points: int):
    """Save times at whole epochs (P = TS*N samples, alpha = epochs * TS / B), at most points + 1 of them."""
    import numpy as np

    per_epoch = train_set / batch
    epochs = int(np.floor(alpha_max / per_epoch + 1e-9))
    if epochs < 1:
        raise ValueError(
            f"--alpha-max {alpha_max:g} is shorter than one epoch of --train-set {train_set:g} "
            f"(alpha = TS / B = {per_epoch:g} per epoch)"
        )
    e = np.arange(epochs + 1) if epochs <= points else np.unique(np.rint(np.geomspace(1, epochs, points)))
    e = np.unique(np.concatenate([[0], e]))
    return e * per_epoch


def run(args: argparse.Namespace) -> CurveTable:
    from statmech import State, Weights
    from statmech.core.initial import weights_from_state
    from statmech.core.io import sidecar_path, write_table
    from statmech.experiments.curves import simulation_table
    from statmech.ode.integrator import default_save_at
    from statmech.plots.curves import learning_curve
    from statmech.sim import checkpoint_path, simulate_seeds

    if args.n_test < 0:
        raise ValueError(f"--n-test must be an integer >= 0, got {args.n_test}")
    model = model_from_args(args)
    if args.init_state:
        given = [f"--{n}" for n in ("K", "M") if getattr(args, n) is not None] + start_options_given(args)
        if given:
            raise ValueError(
                f"{', '.join(given)} describe generated initial weights; with --init-state the weights "
                "(K, M, T, vstar) come from the file"
            )
        try:
            weights = Weights.load(args.init_state)
        except ValueError:
            weights = weights_from_state(State.load(args.init_state), args.N, seed=args.seed)
        init = {"init_state": str(args.init_state)}
    else:
        K, M = (6 if args.K is None else args.K), (2 if args.M is None else args.M)
        if args.train_set is None:  # the ODE the runs are compared with, before K x K overlaps are built
            check_step_cost(K, M, "dopri5")
        weights = weights_from_args(args, K, M, args.N, args.seed)
        init = {
            "init": args.init,
            "vstar": weights.vstar.tolist(),
            "teacher_overlap": args.teacher_overlap,
            "seed": args.seed,
        }
    if args.train_set is not None:
        save_at = _epoch_save_at(args.alpha_max, args.train_set, model.batch_size, args.points)
    else:
        save_at = default_save_at(args.alpha_max, args.points)
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
        if args.train_set is None:
            _load_ode_kernels(weights, model)
        res = simulate_seeds(
            weights,
            model,
            seeds=args.runs,
            seed=args.seed,
            alpha_max=args.alpha_max,
            save_at=save_at,
            train_set=args.train_set,
            test_size=args.n_test,
            max_abs=args.max_abs,
            workers=args.workers,
            checkpoint_dir=ck_dir,
            resume=args.resume,
            checkpoint_every=args.checkpoint_every,
        )
        extra = dict(seed=args.seed, start=init, model=model.to_dict(), alpha_counts="SGD updates / N")
        if args.train_set is not None:
            table = train_set_table(res, n_test=args.n_test, extra_params=extra)
        else:
            table = simulation_table(res, n_test=args.n_test, extra_params=extra)
        written = [write_table(out / "simulation.csv", table.columns, table.params, descriptions=table.descriptions)]
        written.append(sidecar_path(written[0]))
        record = dict(model=model.to_dict(), start=init)
        weights.save(out / "initial_weights.npz", record)
        written.append(out / "initial_weights.npz")
        for r, run_ in zip(res.run_ids, res.runs):
            run_.weights.save(out / f"final_weights_seed{r}.npz", record)
            written.append(out / f"final_weights_seed{r}.npz")
        if res.status == 1:
            # Ctrl-C: the finished points are on disk; drawing (matplotlib's import alone) would delay the exit
            print("interrupted: simulation.png not drawn (the points so far are in simulation.csv; --resume continues)")
            written.append(ck_dir)
        else:
            learning_curve(
                table.lines,
                out / "simulation.png",
                simulation=table.extra["simulation"],
                title=f"K={weights.K}, M={weights.M}, N={weights.N}, {_model_title(model)}",
            )
            written.append(out / "simulation.png")
        print(f"{table.summary}; wrote {', '.join(str(p) for p in written)}")
        return table


def _load_ode_kernels(weights: Any, model: Model) -> None:
    """Load the compiled ODE that the table compares with, before the run: loading it (about a
    second, a compile when the cache is cold) must not fall between a Ctrl-C and the exit."""
    from statmech.ode.integrator import integrate

    integrate(weights.state(), model, alpha_max=1e-9, save_at=[0.0, 1e-9], progress=False)


def _model_title(model: Model) -> str:
    """The model's non-default fields for a figure title."""
    parts = [f"eta={model.eta:g}", f"eta_v={model.eta_v:g}", f"sigma={model.sigma:g}"]
    default = Model(activation=model.activation)
    if model.activation != "erf" or model.teacher_activation != model.activation:
        parts.append(f"g={model.activation}, g*={model.teacher_activation}")
    for name in ("weight_decay", "batch_size", "output_scale"):
        if getattr(model, name) != getattr(default, name):
            parts.append(f"{name}={getattr(model, name)}")
    return ", ".join(parts)


def train_set_table(res: Any, *, n_test: int = 0, extra_params: dict | None = None) -> CurveTable:
    """Training error, test error (eps_g) and optionally the empirical test loss per epoch, over runs."""
    import numpy as np

    from statmech.experiments.curves import CurveTable

    p = res.params
    ts, P = p["train_set"], p["train_samples"]
    cols = {
        "alpha": res.alpha,
        "epoch": res.alpha * p["N"] * res.model.batch_size / P,
        "train_loss_mean": res.train_mean,
        "train_loss_stderr": res.train_stderr,
        "eps_g_mean": res.mean,
        "eps_g_stderr": res.stderr,
    }
    desc = {
        "alpha": "SGD updates / N",
        "epoch": f"samples seen / P (P = {P} = {ts:g} N training samples)",
        "train_loss_mean": "training error: mean of (phi - y)^2/2 over the training set, labels with their "
        "output noise as drawn, mean over runs",
        "train_loss_stderr": "standard error of the training error over runs",
        "eps_g_mean": "test error: noise-free eps_g of the measured order parameters, mean over runs",
        "eps_g_stderr": "standard error of eps_g over runs",
    }
    if res.test_loss is not None:
        cols["test_loss_mean"] = res.test_mean
        cols["test_loss_stderr"] = res.test_stderr
        desc["test_loss_mean"] = (
            f"empirical test loss (phi - y)^2/2 on {n_test} fresh samples with noisy labels (eps_g + sigma^2/2)"
        )
    for r, run_ in zip(res.run_ids, res.runs):
        cols[f"train_loss_seed{r}"] = run_.train_loss[: len(res.alpha)]
        cols[f"eps_g_seed{r}"] = run_.eps_g[: len(res.alpha)]
    params = dict(
        p,
        **(extra_params or {}),
        status=res.status,
        message=res.message,
        wall_seconds=res.wall_seconds,
        ode="none: no online ODE describes SGD on a finite training set",
    )
    i = len(res.alpha) - 1
    summary = (
        f"{res.message}; after {cols['epoch'][i]:.6g} epochs: training error {res.train_mean[i]:.6g}, "
        f"test error eps_g {res.mean[i]:.6g} (gap {res.mean[i] - res.train_mean[i]:.3g})"
    )
    stderr = [np.nan_to_num(a) for a in (res.stderr, res.train_stderr)]
    sim = [
        ("test error eps_g (mean ± s.e.)", res.alpha, res.mean, stderr[0]),
        ("training error (mean ± s.e.)", res.alpha, res.train_mean, stderr[1]),
    ]
    return CurveTable(cols, desc, params, [], res.status, summary, result=res, extra={"simulation": sim})
