"""``statmech prune``: expected eps_g of a pruned trained state in the N -> infinity limit."""

from __future__ import annotations

import argparse

from statmech.commands._common import nonneg_float, out_dir, positive_float, positive_int

_SCHEMES = ("random-node", "importance-node", "dpp-node", "random-edge", "importance-edge", "dpp-edge")


def _fraction(text: str) -> float:
    try:
        c = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a keep fraction in (0, 1], got {text!r}") from None
    if not 0.0 < c <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a keep fraction in (0, 1], got {c}")
    return c


def register(sub):
    p = sub.add_parser(
        "prune",
        help="eps_g of a pruned state for every scheme (N -> infinity theory), or the claims phase diagram",
        description=(
            "Expected noise-free generalisation error of STATE.npz pruned by a scheme (docs/theory/pruning.md). "
            "Node schemes take --keep k; edge schemes take --fraction c, --edges e --N N, or --keep k with "
            "the paper's parameter matching e = round((kN + k - K)/K) (with --N; else c = k/K). "
            "Importance and DPP edge schemes assume Gaussian weight coordinates (docs/theory/pruning.md). "
            "With --phase-diagram (no STATE): the claims C1-C3 over z = K/M and the kept fraction."
        ),
    )
    p.add_argument("state", nargs="?", metavar="STATE.npz", help="a trained State (.npz with Q, R, T, v, vstar)")
    p.add_argument("--scheme", default="all", choices=_SCHEMES + ("all",), help="pruning scheme (default all)")
    p.add_argument("--keep", type=positive_int, nargs="+", metavar="k", help="node budgets k (units kept)")
    p.add_argument("--fraction", type=_fraction, nargs="+", metavar="c", help="edge keep fractions c in (0, 1]")
    p.add_argument("--edges", type=positive_int, nargs="+", metavar="e", help="edges kept per unit (needs --N)")
    p.add_argument("--N", type=positive_int, help="input dimension for --edges and the paper's budget matching")
    p.add_argument("--activation", choices=["erf", "linear", "relu"], default="erf", help="g(u) (default erf)")
    p.add_argument(
        "--kernel",
        choices=["linear-preactivation", "linear-activation", "gaussian"],
        default="linear-preactivation",
        help="DPP node kernel (default: L = Q, the paper's)",
    )
    p.add_argument(
        "--beta",
        type=positive_float,
        default=None,
        help="Gaussian kernel width beta (default 1; --kernel gaussian only)",
    )
    p.add_argument(
        "--eps", type=nonneg_float, default=None, help="Gaussian kernel ridge eps (default 0; --kernel gaussian only)"
    )
    p.add_argument("--jitter", type=nonneg_float, default=0.0, help="ridge added to any DPP kernel (default 0)")
    p.add_argument(
        "--importance",
        choices=["abs-v", "abs-v-sqrtq", "signed-v"],
        default="abs-v",
        help="importance-node score: |v_i| (default), |v_i| sqrt(Q_ii), signed v_i (paper code's quirk)",
    )
    p.add_argument(
        "--reweight",
        choices=["none", "fuse-preact", "fuse-act", "optimal"],
        default="none",
        help="node fusing with G = Q or G = I2, or the optimal readout (default none)",
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
    p.add_argument("--samples", type=positive_int, default=20000, help="Monte Carlo samples when not enumerable")
    p.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo samples (default 0)")
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
    p.add_argument("--tag", default="", help="suffix of the --out file names: pruning_errors_TAG.csv/png")
    p.add_argument(
        "--published",
        metavar="CONFIG",
        choices=["6:2", "5:20"],
        help="also draw the paper's published values for this configuration (test losses; "
        "shifted by sigma^2/2 onto the eps_g scale)",
    )
    p.set_defaults(func=run)


def _budgets(args, scheme, K):
    """(label, kwargs) for each requested budget of one scheme."""
    from statmech.core.budgets import edges_per_unit

    node = scheme.endswith("-node")
    if node:
        if args.fraction or args.edges:
            raise ValueError(f"{scheme} takes --keep k (units kept), not --fraction or --edges")
        keeps = args.keep or list(range(1, K))
        for k in keeps:
            if k > K:
                raise ValueError(f"--keep k must be in 1..K={K}, got {k}")
        return [({"k": k}, {"keep": k}) for k in keeps]
    if args.edges:
        if args.N is None:
            raise ValueError("--edges needs --N (the input dimension) to give the fraction e/N")
        for e in args.edges:
            if e > args.N:
                raise ValueError(f"--edges e must be in 1..N={args.N}, got {e}")
        return [({"e": e}, {"keep_fraction": e / args.N}) for e in args.edges]
    if args.fraction:
        return [({"c": c}, {"keep_fraction": c}) for c in args.fraction]
    keeps = args.keep or list(range(1, K))
    out = []
    for k in keeps:
        if k > K:
            raise ValueError(f"--keep k must be in 1..K={K}, got {k}")
        lab = {"k": k}
        if args.N:
            lab["e"] = edges_per_unit(k, K, args.N)
        out.append((lab, {"keep": k, "N": args.N}))
    return out


def _check_options(args):
    """Options that would be silently ignored are errors (one line, exit code 2)."""
    if args.phase_diagram:
        if args.state:
            raise ValueError(f"--phase-diagram computes its own students; it takes no STATE.npz (got {args.state})")
        return
    if not args.state:
        raise ValueError("give STATE.npz (or --phase-diagram)")
    for flag, value in (("--z-max", args.z_max), ("--M", args.M)):
        if value is not None:
            raise ValueError(f"{flag} is an option of --phase-diagram")
    if args.kernel != "gaussian":
        for flag, value in (("--beta", args.beta), ("--eps", args.eps)):
            if value is not None:
                raise ValueError(f"{flag} sets the Gaussian DPP kernel; it needs --kernel gaussian")
    if not args.out:
        for flag, value in (("--published", args.published), ("--tag", args.tag)):
            if value:
                raise ValueError(f"{flag} applies to the files written with --out DIR; give --out")


def run(args):
    _check_options(args)
    if args.phase_diagram:
        return _phase_diagram(args)
    import json

    import numpy as np

    from statmech import State, eps_g
    from statmech.pruning import SCHEMES, pruned_error, rescale_rows

    state = State.load(args.state)
    if args.paper_rescale:
        state = rescale_rows(state)
    schemes = SCHEMES if args.scheme == "all" else (args.scheme,)
    if args.scheme == "all" and (args.fraction or args.edges):
        schemes = tuple(s for s in SCHEMES if s.endswith("-edge"))
    rng = np.random.default_rng(args.seed)
    base = eps_g(state, args.activation)
    rows = []
    for s in schemes:
        for label, kw in _budgets(args, s, state.K):
            r = pruned_error(
                state,
                s,
                activation=args.activation,
                kernel=args.kernel,
                beta=1.0 if args.beta is None else args.beta,
                eps=0.0 if args.eps is None else args.eps,
                jitter=args.jitter,
                importance=args.importance,
                reweight=args.reweight,
                rng=rng,
                n_samples=args.samples,
                **kw,
            )
            rows.append((s, label, r))
    half_s2 = 0.5 * args.sigma**2
    if args.json:
        print(
            json.dumps(
                {
                    "state": str(args.state),
                    "K": state.K,
                    "M": state.M,
                    "paper_rescale": args.paper_rescale,
                    "eps_g_unpruned": base,
                    "sigma": args.sigma,
                    "results": [dict(budget=lab, **r.as_dict(max_subsets=20)) for s, lab, r in rows],
                },
                indent=1,
                default=float,
            )
        )
        return 0
    print(
        f"# {args.state}: K={state.K}, M={state.M}, unpruned eps_g = {base:.6g}"
        f"{' (rows rescaled to Q_ii = 1)' if args.paper_rescale else ''}; reweight = {args.reweight}"
    )
    print(
        "# eps_g = noise-free generalisation error"
        + (f"; test loss = eps_g + sigma^2/2 = eps_g + {half_s2:.6g}" if args.sigma else "")
    )
    head = f"{'scheme':16s} {'budget':>14s} {'c':>7s} {'eps_g':>10s} {'stderr':>9s} {'exact':>5s}"
    if args.sigma:
        head += f" {'test_loss':>10s}"
    print(head)
    notes = set()
    for s, lab, r in rows:
        budget = " ".join(f"{a}={b}" for a, b in lab.items())
        c = f"{r.keep_fraction:.4f}" if r.keep_fraction is not None else "-"
        line = f"{s:16s} {budget:>14s} {c:>7s} {r.eps_g:10.5f} {r.stderr:9.2g} {'yes' if r.exact else 'no':>5s}"
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


def _write(args, state, base, rows):
    import numpy as np

    from statmech.core.io import write_table
    from statmech.plots.pruning import pruned_errors

    out = out_dir(args.out)
    stem = "pruning_errors" + (f"_{args.tag}" if args.tag else "")
    K = state.K
    frac = [r.keep_fraction if r.keep_fraction is not None else r.keep / K for _, _, r in rows]
    cols = {
        "scheme": [s for s, _, _ in rows],
        "k": [lab.get("k", "") for _, lab, _ in rows],
        "e": [lab.get("e", "") for _, lab, _ in rows],
        "parameter_fraction": frac,
        "eps_g": [r.eps_g for _, _, r in rows],
        "stderr": [r.stderr for _, _, r in rows],
        "exact": [int(r.exact) for _, _, r in rows],
        "test_loss": [r.eps_g + 0.5 * args.sigma**2 for _, _, r in rows],
    }
    params = {
        "state": str(args.state),
        "K": K,
        "M": state.M,
        "eps_g_unpruned": base,
        "sigma": args.sigma,
        "paper_rescale": args.paper_rescale,
        "reweight": args.reweight,
        "kernel": args.kernel,
        "importance": args.importance,
        "activation": args.activation,
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
    by = {}
    xs = {}
    for (s, lab, r), f in zip(rows, frac):
        by.setdefault(s, []).append(r.eps_g)
        xs.setdefault(s, []).append(lab.get("k", f) / K if "k" in lab else f)
    x = next(iter(xs.values()))
    if all(len(v) == len(x) and np.allclose(v, x) for v in xs.values()):
        pub = None
        if args.published:
            pub = _published_points(args, state, rows)
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


def _published_points(args, state, rows):
    """{scheme: published losses at the requested node budgets k}, each value placed at its own k.

    The published values are for the paper's K, M at k = 1..5 (published.json "budgets_k"); a state of
    another size or budgets that are not node budgets k would put them at the wrong x, so that is an error.
    """
    from statmech.experiments.published import published, teacher_student_losses

    ts = published()["teacher_student"]
    cfg = ts["configs"][args.published]
    if (state.K, state.M) != (cfg["K"], cfg["M"]):
        raise ValueError(
            f"--published {args.published} is for K={cfg['K']}, M={cfg['M']}; the state has K={state.K}, M={state.M}"
        )
    budgets = list(ts["budgets_k"])
    losses = teacher_student_losses(args.published, args.sigma)
    pub = {}
    for s in dict.fromkeys(s for s, _, _ in rows):
        ks = [lab.get("k") for t, lab, _ in rows if t == s]
        if any(k not in budgets for k in ks):
            raise ValueError(
                f"--published needs node budgets --keep k with k in {budgets} (the published budgets), got {ks}"
            )
        if s in losses:
            pub[s] = [losses[s][budgets.index(k)] for k in ks]
    return pub


def _phase_diagram(args):
    from statmech.core.io import write_table
    from statmech.plots.pruning import phase_diagram
    from statmech.pruning import idealised_phase_diagram, trained_phase_diagram, z_crit_c2

    if not args.out:
        raise ValueError("--phase-diagram needs --out DIR")
    import numpy as np

    out = out_dir(args.out)
    z_max = 8 if args.z_max is None else args.z_max
    M = 2 if args.M is None else args.M
    zs = range(1, z_max + 1)
    ideal = idealised_phase_diagram(zs, M=M)
    write_table(out / "pruning_phase_idealised.csv", {k: v for k, v in ideal.items() if k != "params"}, ideal["params"])
    trained = trained_phase_diagram(range(M, M * z_max + 1), M=M)
    write_table(
        out / "pruning_phase_trained.csv", {k: v for k, v in trained.items() if k != "params"}, trained["params"]
    )
    cs = np.linspace(0.02, 0.98, 49)
    zc = [z_crit_c2(c) for c in cs]
    write_table(
        out / "pruning_zcrit.csv",
        {"keep_fraction": cs, "z_crit": zc},
        {"student": "idealised, balanced copies", "claim": "C2"},
    )
    phase_diagram(ideal, trained, (cs, zc), out / "pruning_phase_diagram.png")
    print(
        f"wrote {out}/pruning_phase_idealised.csv, pruning_phase_trained.csv, pruning_zcrit.csv, "
        f"pruning_phase_diagram.png"
    )
    return 0
