"""``statmech fixed-points`` and ``statmech max-lr``: fixed points, their stability, the critical learning rate."""

from __future__ import annotations

import argparse

from statmech.commands._common import (
    add_model_args,
    add_teacher_args,
    add_vstar_arg,
    model_from_args,
    nonneg_float,
    positive_float,
    positive_int,
    seed_int,
    teacher_T_from_args,
    vstar_from_args,
)


def _teacher_args(p, *, K, M, vstar):
    p.add_argument("--K", type=positive_int, default=K, help=f"student hidden units (default {K})")
    p.add_argument("--M", type=positive_int, default=M, help=f"teacher hidden units (default {M})")
    add_vstar_arg(p, default=vstar)
    add_teacher_args(p)
    p.add_argument(
        "--soft-committee",
        action="store_true",
        help="soft committee machine: second layer fixed (eta_v = 0, v = vstar)",
    )
    add_model_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fixed-points",
        help="fixed points of the ODEs (plateau, asymptotic) with eps_g, eigenvalues, stability",
        description=(
            "Find the fixed points of the order-parameter ODEs (docs/theory/fixed_points.md) for T = I and equal "
            "vstar: the symmetric plateau (ansatz Q_ii = q, Q_ik = c, R_in = r) and the asymptotic state near "
            "the perfect student (specialised ansatz), optionally plus a multi-start search in all order "
            "parameters; print each with eps_g (noise-free), the eigenvalues of the Jacobian (rates per unit "
            "alpha) and its stability. --eta 0 with --soft-committee gives the small-learning-rate limit."
        ),
    )
    _teacher_args(p, K=6, M=2, vstar=4.0)  # the paper's 6:2 configuration
    p.add_argument("--eta", type=nonneg_float, default=0.5, help="first-layer learning rate (default 0.5)")
    p.add_argument(
        "--eta-v",
        type=nonneg_float,
        default=None,
        help="second-layer learning rate (default: eta; 0 with --soft-committee)",
    )
    p.add_argument("--sigma", type=nonneg_float, default=0.0, help="output-noise standard deviation (default 0)")
    p.add_argument("--starts", type=int, default=0, help="extra random starts in the full ansatz (default 0)")
    p.add_argument("--seed", type=seed_int, default=None, help="seed of the random starts (default 0; needs --starts)")
    p.set_defaults(func=run_fixed_points)

    q = sub.add_parser(
        "max-lr",
        help="largest learning rate for which the perfect student is stable (sigma = 0)",
        description=(
            "Bisection on eta for the largest learning rate at which every eigenvalue of the Jacobian at the "
            "perfect student (R = T = Q, v = vstar, T = I) has a negative real part; eta_v = eta unless "
            "--soft-committee. It needs K <= M (surplus units make the perfect student marginally stable), so "
            "the default is K = M = 2 rather than the paper's 6:2. --confirm integrates a perturbed perfect student (real weights, PSD) at "
            "eta_c (1 -+ 0.1) and reports the distance to the perfect student."
        ),
    )
    # the 6:2 student has surplus units, whose perfect-student limit is only marginally stable
    # (zero eigenvalues): a critical learning rate needs K <= M, hence 2:2 here
    _teacher_args(q, K=2, M=2, vstar=1.0)
    q.add_argument(
        "--rtol", type=positive_float, default=1e-7, help="relative width of the final bracket (default 1e-7)"
    )
    q.add_argument("--confirm", action="store_true", help="check by integrating just below and above eta_c")
    q.set_defaults(func=run_max_lr)


def _vstar(args):
    return vstar_from_args(args, args.M)


def run_fixed_points(args: argparse.Namespace) -> int:
    import json

    from statmech.analysis.search import find_fixed_points

    if args.starts < 0:
        raise ValueError(f"--starts must be >= 0, got {args.starts}")
    if args.seed is not None and args.starts == 0:
        raise ValueError("--seed seeds the random starts; it has no effect without --starts N (N >= 1)")
    eta_v = 0.0 if args.soft_committee else (args.eta if args.eta_v is None else args.eta_v)
    if args.soft_committee and args.eta_v not in (None, 0.0):
        raise ValueError(f"--soft-committee fixes the second layer; --eta-v must be 0 or absent, got {args.eta_v}")
    if args.eta == 0 and eta_v != 0:
        raise ValueError("--eta 0 (the small-learning-rate limit) needs --soft-committee")
    # the fixed-point engine takes the whole model (analysis.fixed_points.fixed_point_model)
    model = model_from_args(
        args, supported=("teacher_activation", "weight_decay", "batch_size", "output_scale"), command="fixed-points"
    ).replace(eta_v=eta_v)
    found = find_fixed_points(
        args.K,
        args.M,
        model,
        T=teacher_T_from_args(args, args.M),
        vstar=_vstar(args),
        starts=args.starts,
        seed=0 if args.seed is None else args.seed,
    )
    if args.json:
        print(json.dumps(dict(points=[p.to_dict() for p in found.points], failed=found.failed), indent=1))
    else:
        print(
            f"K={args.K} M={args.M} eta={args.eta} eta_v={eta_v} sigma={args.sigma} vstar={_vstar(args).tolist()} "
            f"activation={args.activation} ({'soft committee' if eta_v == 0 else 'both layers trained'}); "
            f"eps_g is noise-free, eigenvalues are rates per unit {'eta*alpha' if args.eta == 0 else 'alpha'}"
        )
        for p in found.points:
            print(p.summary())
        starts = [name for name in found.failed if name.startswith("start ")]
        for name, why in found.failed.items():
            if name not in starts:
                print(f"{name}: not found: {why}")
        if starts:
            print(
                f"{len(starts)} of {args.starts} random starts gave no valid root (outside the PSD cone or not "
                "converged; --json lists why)"
            )
    return 0 if found.points else 1


def run_max_lr(args: argparse.Namespace) -> int:
    import json

    from statmech.analysis.critical import confirm_critical_learning_rate, critical_learning_rate

    ratio = 0.0 if args.soft_committee else 1.0
    m = model_from_args(
        args, supported=("teacher_activation", "weight_decay", "batch_size", "output_scale"), command="max-lr"
    )
    crit = critical_learning_rate(
        args.K,
        args.M,
        T=teacher_T_from_args(args, args.M),
        vstar=_vstar(args),
        eta_v_ratio=ratio,
        activation=m.activation,
        teacher_activation=m.teacher_activation,
        weight_decay=m.weight_decay,
        batch_size=m.batch_size,
        output_scale=m.output_scale,
        rtol=args.rtol,
    )
    out = crit.to_dict()
    if args.confirm:
        out["confirm"] = confirm_critical_learning_rate(crit)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(
        f"K={args.K} M={args.M} vstar={_vstar(args).tolist()} activation={args.activation} "
        f"({'soft committee' if ratio == 0 else 'eta_v = eta'}): eta_c = {crit.eta_c:.7g} "
        f"(bracket [{crit.lower:.7g}, {crit.upper:.7g}], largest real part {crit.max_real_lower:.2e} / "
        f"{crit.max_real_upper:.2e})"
    )
    if args.confirm:
        for side, r in out["confirm"].items():
            print(
                f"  {side}: eta={r['eta']:.5g} predicted rate {r['predicted_rate']:+.4g}; distance to the "
                f"perfect student {r['distance_start']:.3g} -> {r['distance_end']:.3g} at alpha={r['alpha_end']:.4g} "
                f"(linearised flow: {r['distance_linear']:.3g})"
            )
    return 0
