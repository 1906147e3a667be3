"""``statmech verify``: search a family of states for a counterexample to a claimed inequality."""

from __future__ import annotations

import argparse

from statmech.commands._common import (
    ListAction,
    finite_float,
    nonneg_float,
    out_dir,
    positive_float,
    positive_int,
    seed_int,
)
from statmech.core.io import write_text

_FAMILIES = ("order-parameters", "specialised", "trained", "paper")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="counterexample search for a claim (C1, C2, C3, C3x, monotone, reweight, goldt, or module:function)",
        description=(
            "Minimise the margin of CLAIM (>= 0 where it holds) over a family of states: differential evolution "
            "(or random sampling) over the order-parameter or specialised-student box, every saved state of ODE "
            "trajectories for the trained and paper families. Prints the verdict ('counterexample found' with "
            "the state file, or 'no counterexample in N evaluations over FAMILY'), writes DIR/verify.json and the "
            "arg-min state DIR/argmin.npz (re-check it with the statmech prune command in verify.json). "
            "Exit code 1 when a counterexample is found. Errors are noise-free eps_g (N -> infinity theory)."
        ),
    )
    p.add_argument("claim", help="claim name (C1, C2, C3, C3x, monotone:SCHEME, ...) or module:function")
    p.add_argument("--family", choices=_FAMILIES, default="order-parameters", help="family of states to search")
    p.add_argument("--K", type=positive_int, default=None, help="student units (default 6; not with --family paper)")
    p.add_argument("--M", type=positive_int, default=None, help="teacher units (default 2; not with --family paper)")
    p.add_argument(
        "--keep", action=ListAction, type=positive_int, metavar="k", help="node budgets (default the claim's)"
    )
    p.add_argument("--method", choices=["de", "random"], default=None, help="optimiser for the continuous families")
    p.add_argument("--evaluations", type=positive_int, default=None, help="margins to evaluate (default 5000)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the optimiser or the sampling (default 0)")
    p.add_argument(
        "--N", type=positive_int, default=None, help="input dimension (edge budgets matched at N; trained N)"
    )
    g = p.add_argument_group("order-parameters / specialised families")
    g.add_argument("--q-range", type=positive_float, nargs=2, metavar=("LO", "HI"), help="bounds of Q_ii")
    g.add_argument("--v-max", type=positive_float, help="bound of |v_i| (order-parameters; default 3)")
    g.add_argument(
        "--vstar", type=finite_float, default=None, help="teacher second-layer weight (default 1; trained 4)"
    )
    g = p.add_argument_group("trained and paper families")
    g.add_argument("--configs", action=ListAction, choices=["6:2", "5:20"], help="paper configurations (default 6:2)")
    g.add_argument("--eta", action=ListAction, type=nonneg_float, help="first-layer learning rates (default 0.5)")
    g.add_argument("--eta-v", action=ListAction, type=nonneg_float, help="second-layer learning rates (default 0.5)")
    g.add_argument("--sigma", action=ListAction, type=nonneg_float, help="output noise (default 0; paper 0, 0.25)")
    g.add_argument("--seeds", action=ListAction, type=int, help="seeds of the initial weights (default 0)")
    g.add_argument("--alpha-max", type=positive_float, help="training time (default 1600)")
    g.add_argument("--points", type=int, default=None, help="log-spaced saved times per run (default 20; 0: final)")
    g.add_argument("--init", choices=["paper", "scm"], default=None, help="random N(0,1) weights or the SCM start")
    g.add_argument("--executor", choices=["inline", "dask"], default="inline", help="inline or the sweep engine")
    g.add_argument("--workers", type=positive_int, default=None, help="Dask workers (default 2)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory: verify.json, argmin.npz")
    p.set_defaults(func=run)


_BOX = ("q_range", "v_max")
_TRAINED = ("configs", "eta", "eta_v", "sigma", "seeds", "alpha_max", "points", "init", "executor", "workers")


def _family(args):
    from statmech.verify import OrderParameterFamily, SpecialisedFamily, TrainedFamily
    from statmech.verify.claims import ClaimContext

    continuous = args.family in ("order-parameters", "specialised")
    wrong = _TRAINED if continuous else _BOX + ("method", "evaluations")
    for name in wrong:
        value = getattr(args, name)
        if value is not None and not (name == "executor" and value == "inline"):
            raise ValueError(f"--{name.replace('_', '-')} is not an option of --family {args.family}")
    if args.family == "paper":
        for name in ("K", "M", "N", "vstar", "eta", "eta_v", "alpha_max", "init"):
            if getattr(args, name) is not None:
                raise ValueError(f"--{name.replace('_', '-')}: --family paper uses the paper's configurations")
        kw = {"sigmas": args.sigma} if args.sigma else {}
        kw.update({"seeds": args.seeds} if args.seeds else {})
        return TrainedFamily.paper(args.configs or ["6:2"], points=20 if args.points is None else args.points, **kw)
    if args.configs:
        raise ValueError("--configs is an option of --family paper")
    K = 6 if args.K is None else args.K
    M = 2 if args.M is None else args.M
    if args.family == "trained":
        common = {
            k: v
            for k, v in (
                ("N", args.N),
                ("vstar", args.vstar),
                ("alpha_max", args.alpha_max),
                ("points", args.points),
                ("init", args.init),
            )
            if v is not None
        }
        return TrainedFamily.grid(
            K,
            M,
            eta=args.eta or [0.5],
            eta_v=args.eta_v or [0.5],
            sigma=args.sigma or [0.0],
            seeds=args.seeds or [0],
            **common,
        )
    model = ClaimContext(N=args.N)
    vstar = 1.0 if args.vstar is None else args.vstar
    if args.family == "order-parameters":
        kw = {"q_range": args.q_range} if args.q_range else {}
        kw.update({"v_max": args.v_max} if args.v_max is not None else {})
        return OrderParameterFamily(K, M, vstar=vstar, model=model, **kw)
    if args.v_max is not None:
        raise ValueError("--v-max is an option of --family order-parameters")
    kw = {"q_range": args.q_range} if args.q_range else {}
    return SpecialisedFamily(K, M, vstar=vstar, model=model, **kw)


def run(args: argparse.Namespace) -> int:
    import json

    from statmech.verify import search

    out = out_dir(args.out)
    family = _family(args)
    opts = {}
    if args.family in ("order-parameters", "specialised"):
        opts = {"method": args.method, "evaluations": args.evaluations or 5000, "seed": args.seed}
    else:
        opts = {"executor": args.executor, "workers": args.workers, "sweep_dir": out / "sweep"}
    result = search(args.claim, family, budgets=args.keep, **opts)
    if result.state is not None:
        result.save(out / "argmin.npz")
    write_text(out / "verify.json", json.dumps(result.summary(), indent=1, default=float) + "\n")
    print(
        f"# {result.claim.name}: {result.claim.statement}; {result.n_evaluations} evaluations on "
        f"{result.n_states} states in {result.seconds:.3g} s ({result.method}); minimum margin {result.margin:.6g}"
        + (f" at k={result.keep}" if result.keep is not None else "")
    )
    if result.n_invalid:
        print(f"# {result.n_invalid} evaluations could not be computed, e.g.: {result.invalid_message}")
    if result.recheck_command():
        print(f"# re-check: {result.recheck_command()}")
    print(result.verdict())
    return 1 if result.counterexample else 0
