"""``statmech curve``: integrate the order-parameter ODEs and write a learning curve."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from statmech.commands._common import (
    ListAction,
    add_integrator_args,
    add_teacher_student_args,
    model_from_args,
    out_dir,
    positive_float,
    positive_int,
    start_options_given,
    stepper_from_args,
    weights_from_args,
)
from statmech.core.lock import output_lock
from statmech.core.resources import check_memory, check_step_cost, ode_memory

if TYPE_CHECKING:
    from statmech.experiments.curves import CurveTable

RANDOM_START_DEFAULTS: dict[str, Any] = {"K": 6, "M": 2, "vstar": 4.0, "seed": 0, "N": 500}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curve",
        help="learning curve eps_g(alpha) from the ODEs (CSV, final state, PNG)",
        description=(
            "Integrate the order-parameter ODEs (docs/theory/equations.md) from the state of random "
            "N(0,1) weights at input dimension N (or from --init-state) and write DIR/curve.csv "
            "(alpha, eps_g), DIR/curve.json (its parameters), DIR/final_state.npz and DIR/curve.png."
        ),
    )
    add_teacher_student_args(p)
    p.add_argument("--alpha-max", type=positive_float, default=1600.0, help="final time alpha (default 1600)")
    p.add_argument(
        "--init-state",
        metavar="FILE.npz",
        help="start from this saved State instead of random weights (default: random weights; then --K, --M, "
        "--vstar and --seed are not allowed, and --N only matches edge budgets for --schemes with --keep; "
        "without it budgets are matched as N -> infinity)",
    )
    add_integrator_args(p)
    p.add_argument("--points", type=int, default=200, help="log-spaced save points (default 200)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--schemes",
        "--prune",
        dest="schemes",
        metavar="SCHEME",
        action=ListAction,
        default=None,
        help="also write eps_g of the network pruned at each saved alpha by each SCHEME (random-node, "
        "importance-node, dpp-node, random-edge, importance-edge, dpp-edge, or all; separated by spaces "
        "or commas) as columns pruned_<scheme> of curve.csv and lines of curve.png (default: none; "
        "--prune is the old spelling)",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--keep",
        type=positive_int,
        metavar="k",
        help="units kept by node schemes; edge schemes keep the matched e = round((kN+k-K)/K) edges per unit, "
        "N = --N (no default: a budget is needed with --schemes)",
    )
    budget.add_argument(
        "--fraction",
        type=positive_float,
        metavar="c",
        help="fraction of edges kept by edge schemes (0 < c <= 1); node schemes keep c*K units "
        "(no default: a budget is needed with --schemes)",
    )
    # None marks "not given": defaults of the random start are filled in by run()
    p.set_defaults(func=run, K=None, M=None, vstar=None, seed=None, N=None)


def run(args: argparse.Namespace) -> CurveTable:
    from statmech import State
    from statmech.core.io import sidecar_path, write_table
    from statmech.experiments.curves import ode_curve_table
    from statmech.plots.curves import learning_curve

    if args.points < 2:
        raise ValueError(f"--points must be >= 2, got {args.points}")
    K = args.K if args.K is not None else RANDOM_START_DEFAULTS["K"]
    M = args.M if args.M is not None else RANDOM_START_DEFAULTS["M"]
    # before the save times are built (8 bytes each, and more per point saved)
    check_memory("the ODE", f"--points {args.points}", ode_memory(K, M, args.points))
    if args.schemes is not None and args.keep is None and args.fraction is None:
        raise ValueError("--schemes needs a budget: --keep k (units kept) or --fraction c (edges kept)")
    if args.schemes is None and (args.keep is not None or args.fraction is not None):
        raise ValueError("--keep and --fraction are budgets for --schemes")
    stepper = stepper_from_args(args)
    model = model_from_args(args)
    check_step_cost(K, M, stepper.name)  # before a K x K initial state is built and checked
    if args.init_state:
        given = [f"--{name}" for name in ("K", "M", "vstar", "seed") if getattr(args, name) is not None]
        given += [o for o in start_options_given(args) if o not in given]
        if given:
            raise ValueError(
                f"{', '.join(given)} describe the random initial weights; with --init-state the "
                f"state (K, M, T, vstar) comes from the file"
            )
        N = args.N
        out = out_dir(args.out)
        state = State.load(args.init_state)
        init = {"init_state": str(args.init_state), "N": N}
    else:
        opts = {k: (getattr(args, k) if getattr(args, k) is not None else d) for k, d in RANDOM_START_DEFAULTS.items()}
        N = opts["N"]
        out = out_dir(args.out)
        args.vstar = opts["vstar"]
        state = weights_from_args(args, opts["K"], opts["M"], N, opts["seed"]).state()
        init = {
            "N": N,
            "seed": opts["seed"],
            "vstar": state.vstar.tolist() if len(set(state.vstar.tolist())) > 1 else float(state.vstar[0]),
            "init": args.init,
            "teacher_overlap": args.teacher_overlap,
        }
    with output_lock(out):
        table = ode_curve_table(
            state,
            model,
            alpha_max=args.alpha_max,
            points=args.points,
            method=stepper,
            schemes=args.schemes,
            keep=args.keep,
            keep_fraction=args.fraction,
            N=N,
            init=init,
        )
        written = [write_table(out / "curve.csv", table.columns, table.params, descriptions=table.descriptions)]
        written.append(sidecar_path(written[0]))
        res: Any = table.result
        if len(res.alpha):
            res.final.save(out / "final_state.npz")
            written.append(out / "final_state.npz")
        if len(res.alpha) and res.status == 1:
            # Ctrl-C: the finished points are on disk; drawing (matplotlib's import alone) would delay the exit
            print("interrupted: curve.png not drawn (the points so far are in curve.csv)")
        elif len(res.alpha):
            learning_curve(
                table.lines,
                out / "curve.png",
                title=f"K={state.K}, M={state.M}, eta={args.eta}, eta_v={args.eta_v}, sigma={args.sigma}",
            )
            written.append(out / "curve.png")
        print(f"{table.summary}; wrote {', '.join(str(p) for p in written)}")
        return table
