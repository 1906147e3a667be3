"""``statmech prune``: expected eps_g of a pruned trained state in the N -> infinity limit."""

from __future__ import annotations

import argparse

from statmech.commands._common import (
    ListAction,
    add_model_args,
    model_from_args,
    nonneg_float,
    out_dir,
    positive_float,
    positive_int,
    seed_int,
)
from statmech.core import vocabulary as V


def _fraction(text: str) -> float:
    try:
        c = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a keep fraction in (0, 1], got {text!r}") from None
    if not 0.0 < c <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a keep fraction in (0, 1], got {c}")
    return c


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prune",
        help="eps_g of a pruned state for every scheme (N -> infinity theory), or the claims phase diagram",
        description=(
            "Expected noise-free generalisation error of STATE.npz pruned by a scheme (docs/theory/pruning.md). "
            "Node schemes take --keep k; edge schemes take --fraction c, --edges e --N N, or --keep k with "
            "the paper's parameter matching e = round((kN + k - K)/K) (with --N; else c = k/K). "
            "Importance and DPP edge schemes assume Gaussian weight coordinates (docs/theory/pruning.md). "
            "The network: --activation (student g), --teacher-activation (g*, default g) and --output-scale "
            "(phi = (1/s_K) sum v g, the teacher with s_M; a pruned network keeps the unpruned s_K). "
            "With --phase-diagram (no STATE): the claims C1-C3 over z = K/M and the kept fraction."
        ),
    )
    p.add_argument("state", nargs="?", metavar="STATE.npz", help="a trained State (.npz with Q, R, T, v, vstar)")
    p.add_argument(
        "--schemes",
        "--scheme",
        dest="schemes",
        action=ListAction,
        choices=V.SCHEMES + (V.ALL,),
        default=[V.ALL],
        help="pruning schemes, separated by spaces or commas, or all (default all)",
    )
    p.add_argument("--keep", action=ListAction, type=positive_int, metavar="k", help="node budgets k (default 1..K-1)")
    p.add_argument("--fraction", action=ListAction, type=_fraction, metavar="c", help="edge keep fractions c in (0, 1]")
    p.add_argument("--edges", action=ListAction, type=positive_int, metavar="e", help="edges kept per unit (needs --N)")
    p.add_argument("--N", type=positive_int, help="input dimension for --edges and the paper's budget matching")
    p.add_argument("--activation", choices=V.ACTIVATIONS, default=V.ERF, help="g(u) (default erf)")
    add_model_args(p, include=("teacher_activation", "output_scale"))
    p.add_argument(
        "--kernel",
        choices=V.NODE_KERNELS,
        default=None,
        help=f"DPP node kernel (default {V.LINEAR_PREACTIVATION}: L = Q, the paper's)",
    )
    p.add_argument("--beta", type=positive_float, default=None, help="Gaussian kernel width beta (default 1)")
    p.add_argument("--eps", type=nonneg_float, default=None, help="Gaussian kernel ridge eps (default 0)")
    p.add_argument("--jitter", type=nonneg_float, default=None, help="ridge added to the DPP node kernel (default 0)")
    p.add_argument(
        "--score",
        "--importance",
        dest="score",
        choices=V.IMPORTANCE_SCORES,
        default=None,
        help="importance-node score: |v_i| (abs-v, default), |v_i| sqrt(Q_ii), signed v_i (paper code's quirk)",
    )
    p.add_argument(
        "--reweight",
        action=ListAction,
        choices=V.REWEIGHTS,
        default=[V.NO_REWEIGHT],
        help="reweightings after pruning, each applied to the schemes it belongs to (default none)",
    )
    p.add_argument(
        "--paper-rescale", action="store_true", help="rescale every row to Q_ii = 1 first (the paper's pipeline)"
    )
    p.add_argument(
        "--sigma",
        type=nonneg_float,
        default=0.0,
        help="also print the test loss eps_g + sigma^2/2 on labels with this noise (default 0)",
    )
    p.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        help="Monte Carlo samples of random/DPP node pruning when C(K, k) is too large to enumerate (default 20000)",
    )
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the Monte Carlo samples (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--phase-diagram",
        action="store_true",
        help="compute the claims phase diagram (idealised and ODE-trained students) into --out",
    )
    p.add_argument("--z-max", type=positive_int, default=None, help="largest z for --phase-diagram (default 8)")
    p.add_argument("--M", type=positive_int, default=None, help="teacher units for --phase-diagram (default 2)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output directory: pruning_errors.csv (+ .json) and pruning_errors.png (eps_g vs "
        "parameter fraction); with --phase-diagram the phase-diagram tables and figure",
    )
    p.add_argument(
        "--tag", default="", help="suffix of the --out file names: pruning_errors_TAG.csv/png (default none)"
    )
    p.add_argument(
        "--published",
        metavar="CONFIG",
        choices=["6:2", "5:20"],
        help="also draw the paper's published values for this configuration (test losses; "
        "shifted by sigma^2/2 onto the eps_g scale; default none)",
    )
    p.set_defaults(func=run)
    _STATE_DEFAULTS.update(
        {
            a.dest: (a.default, max(a.option_strings, key=len))
            for a in p._actions
            if a.option_strings and a.dest not in _PHASE_DIAGRAM_DESTS
        }
    )


# what --phase-diagram reads; every other option is about a STATE.npz and refused with it when given
_PHASE_DIAGRAM_DESTS = {
    "help",
    "phase_diagram",
    "z_max",
    "M",
    "activation",
    "teacher_activation",
    "output_scale",
    "out",
}
_STATE_DEFAULTS: dict = {}


def _check_options(args):
    """Options that would be silently ignored are errors (one line, exit code 2)."""
    if args.phase_diagram:
        if args.state:
            raise ValueError(f"--phase-diagram computes its own students; it takes no STATE.npz (got {args.state})")
        if args.teacher_activation not in (None, args.activation):
            raise ValueError(
                f"--teacher-activation {args.teacher_activation} is not supported by --phase-diagram "
                f"(its students learn a teacher of their own activation, --activation {args.activation})"
            )
        if args.output_scale != "1":
            raise ValueError(f"--output-scale {args.output_scale} is not supported by --phase-diagram (s = 1)")
        given = [flag for d, (default, flag) in _STATE_DEFAULTS.items() if getattr(args, d, default) != default]
        if given:
            flags = ", ".join(given)
            raise ValueError(
                f"{flags}: option(s) of pruning a STATE.npz, not of --phase-diagram (which takes "
                "--z-max, --M, --activation and --out)"
            )
        return
    if not args.state:
        raise ValueError("give STATE.npz (or --phase-diagram)")
    for flag, value in (("--z-max", args.z_max), ("--M", args.M)):
        if value is not None:
            raise ValueError(f"{flag} is an option of --phase-diagram")
    if args.kernel != V.GAUSSIAN:
        for flag, value in (("--beta", args.beta), ("--eps", args.eps)):
            if value is not None:
                raise ValueError(f"{flag} sets the Gaussian DPP kernel; it needs --kernel gaussian")
    if not args.out:
        for flag, value in (("--published", args.published), ("--tag", args.tag)):
            if value:
                raise ValueError(f"{flag} applies to the files written with --out DIR; give --out")
    if args.out:
        out_dir(args.out)  # before any computation: a file in the way is reported at once


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    # the N -> infinity pruning theory takes the network's activations and output scale
    args.model = model_from_args(
        args, supported=("teacher_activation", "output_scale"), command="prune (the N -> infinity pruning theory)"
    )
    if args.phase_diagram:
        return _phase_diagram(args)
    import json

    from statmech import State, eps_g
    from statmech.pruning import rescale_rows
    from statmech.pruning.theory.table import pruned_error_table, table_schemes

    state = State.load(args.state)
    if args.paper_rescale:
        state = rescale_rows(state)
    schemes = table_schemes(
        args.schemes,
        edge_budget=bool(args.fraction or args.edges),
        kernel=args.kernel,
        beta=args.beta,
        eps=args.eps,
        jitter=args.jitter,
        score=args.score,
    )
    rows = pruned_error_table(
        state,
        schemes,
        keep=args.keep,
        fraction=args.fraction,
        edges=args.edges,
        N=args.N,
        reweight=args.reweight,
        model=args.model,
        n_samples=args.samples,
        rng=args.seed,
    )
    base = eps_g(state, args.model)
    half_s2 = 0.5 * args.sigma**2
    if args.json:
        print(
            json.dumps(
                {
                    "state": str(args.state),
                    "K": state.K,
                    "M": state.M,
                    "paper_rescale": args.paper_rescale,
                    "model": _network(args.model),
                    "eps_g_unpruned": base,
                    "sigma": args.sigma,
                    "results": [dict(budget=r.label, **r.result.as_dict(max_subsets=20)) for r in rows],
                },
                indent=1,
                default=float,
            )
        )
        return 0
    net = _network(args.model)
    print(
        f"# {args.state}: K={state.K}, M={state.M}, student {net['activation']}, teacher {net['teacher_activation']}, "
        f"output scale {net['output_scale']}; unpruned eps_g = {base:.6g}"
        f"{' (rows rescaled to Q_ii = 1)' if args.paper_rescale else ''}; reweight = {', '.join(args.reweight)}"
    )
    print(
        "# eps_g = noise-free generalisation error"
        + (f"; test loss = eps_g + sigma^2/2 = eps_g + {half_s2:.6g}" if args.sigma else "")
    )
    head = f"{'scheme':16s} {'budget':>14s} {'reweight':>18s} {'c':>7s} {'eps_g':>10s} {'stderr':>9s} {'exact':>5s}"
    if args.sigma:
        head += f" {'test_loss':>10s}"
    print(head)
    notes = set()
    for row in rows:
        r = row.result
        budget = " ".join(f"{a}={b}" for a, b in row.label.items())
        c = f"{r.keep_fraction:.4f}" if r.keep_fraction is not None else "-"
        line = (
            f"{row.scheme:16s} {budget:>14s} {row.reweight:>18s} {c:>7s} {r.eps_g:10.5f} {r.stderr:9.2g} "
            f"{'yes' if r.exact else 'no':>5s}"
        )
        if args.sigma:
            line += f" {r.eps_g + half_s2:10.5f}"
        print(line)
        if r.note:
            notes.add(r.note)
        if "hypothesis" in r.params:
            notes.add("importance/DPP edge: working hypothesis of Gaussian weight coordinates (docs/theory/pruning.md)")
    for n in sorted(notes):
        print(f"# note: {n}")
    if args.out:
        _write(args, state, base, rows)
    return 0


def _network(model):
    """The Model fields the N -> infinity pruning theory takes (recorded in every output)."""
    return {k: v for k, v in model.to_dict().items() if k in ("activation", "teacher_activation", "output_scale")}


def _write(args, state, base, rows):
    import numpy as np

    from statmech.core.io import write_table
    from statmech.experiments.published import published_at_budgets
    from statmech.plots.pruning import pruned_errors
    from statmech.pruning.theory.table import parameter_fraction

    out = out_dir(args.out)
    stem = "pruning_errors" + (f"_{args.tag}" if args.tag else "")
    K = state.K
    frac = [parameter_fraction(r, K) for r in rows]
    cols = {
        "scheme": [r.scheme for r in rows],
        "k": [r.label.get("k", "") for r in rows],
        "e": [r.label.get("e", "") for r in rows],
        "reweight": [r.reweight for r in rows],
        "parameter_fraction": frac,
        "eps_g": [r.result.eps_g for r in rows],
        "stderr": [r.result.stderr for r in rows],
        "exact": [int(r.result.exact) for r in rows],
        "test_loss": [r.result.eps_g + 0.5 * args.sigma**2 for r in rows],
    }
    params = {
        "state": str(args.state),
        "K": K,
        "M": state.M,
        "eps_g_unpruned": base,
        "sigma": args.sigma,
        "paper_rescale": args.paper_rescale,
        "reweight": list(args.reweight),
        "schemes": {r.scheme: {k: v for k, v in r.result.params.items() if k not in ("budget",)} for r in rows},
        "activation": args.activation,
        "model": _network(args.model),
        "N": args.N,
        "limit": "N -> infinity order-parameter theory (docs/theory/pruning.md)",
    }
    write_table(
        out / f"{stem}.csv",
        cols,
        params,
        descriptions={
            "eps_g": "expected noise-free generalisation error of the pruned network",
            "test_loss": "eps_g + sigma^2/2 (loss on labels with output noise sigma)",
            "parameter_fraction": "k/K for node budgets, e/N or c for edges (parameter matching of the paper)",
        },
    )
    by, xs = {}, {}
    for r, f in zip(rows, frac):
        key = r.scheme if len(args.reweight) == 1 else f"{r.scheme} ({r.reweight})"
        by.setdefault(key, []).append(r.result.eps_g)
        xs.setdefault(key, []).append(r.label["k"] / K if "k" in r.label else f)
    x = next(iter(xs.values()))
    if all(len(v) == len(x) and np.allclose(v, x) for v in xs.values()):
        pub = None
        if args.published:
            ks = {}
            for r in rows:
                ks.setdefault(r.scheme, []).append(r.label.get("k"))
            pub = published_at_budgets(args.published, K, state.M, args.sigma, ks)
        pruned_errors(
            x,
            by,
            out / f"{stem}.png",
            unpruned=base,
            published=pub,
            published_offset=0.5 * args.sigma**2,
            title=f"K={K}, M={state.M}, sigma={args.sigma}: N -> infinity theory"
            + (", rows rescaled to Q_ii=1" if args.paper_rescale else "")
            + (f"; paper ({args.published}) shifted by -sigma^2/2" if pub else ""),
        )
    print(f"# wrote {out}/{stem}.csv" + (f", {stem}.png" if (out / f"{stem}.png").exists() else ""))


def _phase_diagram(args):
    from statmech.core.io import write_table
    from statmech.plots.pruning import phase_diagram
    from statmech.pruning.theory.claims import phase_diagram_tables

    if not args.out:
        raise ValueError("--phase-diagram needs --out DIR")
    out = out_dir(args.out)
    t = phase_diagram_tables(
        8 if args.z_max is None else args.z_max, 2 if args.M is None else args.M, activation=args.activation
    )
    ideal, trained = t["idealised"], t["trained"]
    write_table(out / "pruning_phase_idealised.csv", {k: v for k, v in ideal.items() if k != "params"}, ideal["params"])
    write_table(
        out / "pruning_phase_trained.csv", {k: v for k, v in trained.items() if k != "params"}, trained["params"]
    )
    write_table(out / "pruning_zcrit.csv", t["zcrit"], {"student": "idealised, balanced copies", "claim": "C2"})
    phase_diagram(
        ideal, trained, (t["zcrit"]["keep_fraction"], t["zcrit"]["z_crit"]), out / "pruning_phase_diagram.png"
    )
    print(
        f"wrote {out}/pruning_phase_idealised.csv, pruning_phase_trained.csv, pruning_zcrit.csv, "
        f"pruning_phase_diagram.png"
    )
    return 0
