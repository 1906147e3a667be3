"""``statmech curve``: integrate the order-parameter ODEs and write a learning curve."""

from __future__ import annotations

from statmech.commands._common import add_teacher_student_args, out_dir, positive_float, positive_int


def register(sub):
    p = sub.add_parser(
        "curve",
        help="learning curve eps_g(alpha) from the ODEs (CSV, final state, PNG)",
        description=(
            "Integrate the order-parameter ODEs (theory.md section 4) from the state of random "
            "N(0,1) weights at input dimension N (or from --init-state) and write DIR/curve.csv "
            "(alpha, eps_g; parameters in curve.json), DIR/final_state.npz and DIR/curve.png."
        ),
    )
    add_teacher_student_args(p)
    p.add_argument("--alpha-max", type=positive_float, default=1600.0, help="final time alpha (default 1600)")
    p.add_argument(
        "--init-state",
        metavar="FILE.npz",
        help="start from this saved State instead of random weights (then --K, --M, --vstar and --seed "
        "are not allowed, and --N only matches edge budgets for --prune with --keep; without it "
        "budgets are matched as N -> infinity)",
    )
    p.add_argument(
        "--method",
        choices=["dopri5", "euler"],
        default="dopri5",
        help="adaptive Dormand-Prince 5(4) (default) or fixed-step Euler",
    )
    p.add_argument("--dt", type=positive_float, default=0.01, help="Euler step (default 0.01)")
    p.add_argument("--rtol", type=positive_float, default=1e-8, help="dopri5 relative tolerance (default 1e-8)")
    p.add_argument("--atol", type=positive_float, default=1e-10, help="dopri5 absolute tolerance (default 1e-10)")
    p.add_argument("--points", type=int, default=200, help="log-spaced save points (default 200)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--prune",
        metavar="SCHEME",
        action="append",
        help="also write eps_g of the network pruned at each saved alpha by SCHEME (one of "
        "random-node, importance-node, dpp-node, random-edge, importance-edge, dpp-edge, or all; "
        "repeatable) as columns pruned_<scheme> of curve.csv and lines of curve.png",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--keep",
        type=positive_int,
        metavar="k",
        help="units kept by node schemes; edge schemes keep the matched e = round((kN+k-K)/K) edges per unit, N = --N",
    )
    budget.add_argument(
        "--fraction",
        type=positive_float,
        metavar="c",
        help="fraction of edges kept by edge schemes (0 < c <= 1); node schemes keep c*K units",
    )
    # None marks "not given": defaults of the random start are filled in by run()
    p.set_defaults(func=run, K=None, M=None, vstar=None, seed=None, N=None)


RANDOM_START_DEFAULTS = {"K": 6, "M": 2, "vstar": 4.0, "seed": 0, "N": 500}


def run(args):
    from statmech import State, integrate
    from statmech.core.io import write_table
    from statmech.ode.integrator import default_save_at
    from statmech.plots.curves import learning_curve

    if args.points < 2:
        raise ValueError(f"--points must be >= 2, got {args.points}")
    schemes = None
    if args.prune:
        from statmech.pruning.retraining import parse_schemes

        if args.keep is None and args.fraction is None:
            raise ValueError("--prune needs a budget: --keep k (units kept) or --fraction c (edges kept)")
        schemes = parse_schemes("all" if "all" in args.prune else args.prune)
    elif args.keep is not None or args.fraction is not None:
        raise ValueError("--keep and --fraction are budgets for --prune SCHEME")
    if args.init_state:
        given = [f"--{name}" for name in ("K", "M", "vstar", "seed") if getattr(args, name) is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} describe the random initial weights; with --init-state the "
                f"state (K, M, vstar) comes from the file"
            )
        N = args.N
        out = out_dir(args.out)
        state = State.load(args.init_state)
        init = {"init_state": str(args.init_state), "N": N}
    else:
        opts = {k: (getattr(args, k) if getattr(args, k) is not None else d) for k, d in RANDOM_START_DEFAULTS.items()}
        N = opts["N"]
        out = out_dir(args.out)
        state = State.random(opts["K"], opts["M"], N, vstar=opts["vstar"], seed=opts["seed"])
        init = {"N": N, "seed": opts["seed"], "vstar": opts["vstar"]}
    res = integrate(
        state,
        eta=args.eta,
        eta_v=args.eta_v,
        sigma=args.sigma,
        alpha_max=args.alpha_max,
        save_at=default_save_at(args.alpha_max, args.points),
        activation=args.activation,
        method=args.method,
        dt=args.dt,
        rtol=args.rtol,
        atol=args.atol,
    )
    params = dict(res.params, **init, status=res.status, message=res.message, nfev=res.nfev)
    columns = {"alpha": res.alpha, "eps_g": res.eps_g}
    descriptions = {"eps_g": "noise-free generalisation error (test loss on noisy labels adds sigma^2/2)"}
    lines = [(f"ODE ({args.method})", res.alpha, res.eps_g)]
    extra = ""
    if schemes and len(res.alpha):
        from statmech.pruning.retraining import pruned_along

        pc = pruned_along(res, schemes, keep=args.keep, keep_fraction=args.fraction, N=N, activation=args.activation)
        columns = pc.columns()
        for s in pc.eps_g:
            descriptions[f"pruned_{s}"] = (
                f"noise-free eps_g of the network pruned by {s} at this alpha "
                f"(statmech.pruning.pruned_error, N -> infinity)"
            )
            lines.append((f"pruned at alpha: {s}", res.alpha, pc.eps_g[s]))
        params.update(
            prune=list(pc.eps_g),
            keep=args.keep,
            fraction=args.fraction,
            prune_budgets=pc.budget,
            prune_message=pc.message,
        )
        extra = f"; pruned curves for {len(pc.eps_g)} schemes ({sum(pc.seconds.values()):.2f} s)"
    write_table(out / "curve.csv", columns, params, descriptions=descriptions)
    if len(res.alpha):
        res.final.save(out / "final_state.npz")
        learning_curve(
            lines,
            out / "curve.png",
            title=f"K={state.K}, M={state.M}, eta={args.eta}, eta_v={args.eta_v}, sigma={args.sigma}",
        )
    print(
        f"{res.message}; eps_g({res.alpha[-1]:.6g}) = {res.eps_g[-1]:.6g}{extra}; wrote {out}/curve.csv, "
        f"final_state.npz, curve.png"
    )
    return 0 if res.status == 0 else 1
