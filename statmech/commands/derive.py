"""``statmech derive``: print the symbolic equations of motion (plain text or LaTeX)."""

from __future__ import annotations

import argparse
import math

from statmech.commands._common import positive_int
from statmech.core.vocabulary import ACTIVATIONS, ERF, LINEAR, OUTPUT_SCALES


def _nonneg_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}") from None
    if not (math.isfinite(x) and x >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return x


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "derive",
        help="print the order-parameter equations of motion derived with sympy (text or LaTeX)",
        description=(
            "Derive the equations of motion dQ/dalpha, dR/dalpha, dv/dalpha and eps_g of the Theory pages (docs/theory/) "
            "for K students and M teachers with statmech.symbolic (integrals from I2 by "
            "Price's theorem and Stein's lemma) and print them, one equation per line: the general model "
            "of docs/theory/general_model.md (student and teacher activations, weight decay, batch size, "
            "output scaling)."
        ),
    )
    p.add_argument(
        "--K", type=positive_int, default=6, help="student hidden units (default 6, the paper's 6:2; about 20 s)"
    )
    p.add_argument("--M", type=positive_int, default=2, help="teacher hidden units (default 2)")
    p.add_argument(
        "--activation",
        choices=[ERF, LINEAR],  # the activations with a closed-form I4
        default=ERF,
        help="student g(u): erf(u/sqrt 2) (default) or linear (a ReLU student has no closed-form I4)",
    )
    p.add_argument(
        "--teacher-activation",
        choices=list(ACTIVATIONS),
        default=None,
        help="teacher g*(u) (default: the student's)",
    )
    p.add_argument(
        "--weight-decay",
        type=_nonneg_float,
        nargs="?",
        const=-1.0,
        default=None,
        metavar="KAPPA",
        help="add the weight-decay terms: the symbol kappa, or the value KAPPA substituted (default: none)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        nargs="?",
        const=-1,
        default=None,
        metavar="B",
        help="divide the O(eta^2) terms by the batch size: the symbol B, or the value B substituted (default: 1)",
    )
    p.add_argument(
        "--output-scale",
        choices=list(OUTPUT_SCALES),
        default="1",
        help="phi = (1/s_K) sum v_i g(lambda_i) with s_K = 1, sqrt(K) or K, the teacher likewise (default 1)",
    )
    p.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    p.add_argument("--soft-committee", action="store_true", help="fixed second layer (eta_v = 0): no dv equations")
    p.add_argument("--no-noise", action="store_true", help="drop the output-noise term sigma^2 J2")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.K * (args.K + args.M) ** 2 > 2000:
        raise ValueError(f"--K {args.K} --M {args.M} gives too many I4 terms to print (K (K+M)^2 must be <= 2000)")
    from statmech.symbolic import equations  # sympy only when this command runs

    teacher = args.teacher_activation or args.activation
    eqs = equations(
        args.K,
        args.M,
        args.activation,
        train_second_layer=not args.soft_committee,
        noise=not args.no_noise,
        teacher_activation=teacher,
        weight_decay=args.weight_decay is not None,
        mini_batch=args.batch_size is not None,
        output_scale=args.output_scale,
    )
    values = {}
    if args.weight_decay is not None and args.weight_decay >= 0:
        values[eqs.kappa] = args.weight_decay
    if args.batch_size is not None and args.batch_size > 0:
        values[eqs.B] = args.batch_size
    if values:
        eqs = eqs.substituted(values)
    decay = {None: "no weight decay", -1.0: "weight decay kappa"}.get(
        args.weight_decay, f"weight decay {args.weight_decay}"
    )
    batch = {None: "B = 1", -1: "batch size B"}.get(args.batch_size, f"B = {args.batch_size}")
    comment = "%" if args.latex else "#"
    print(
        f"{comment} statmech derive: K={args.K}, M={args.M}, activation={args.activation}, "
        f"teacher_activation={teacher}, second layer {'fixed' if args.soft_committee else 'trained'}, "
        f"{'no output noise' if args.no_noise else 'output noise sigma'}, {decay}, {batch}, "
        f"output_scale={args.output_scale}"
    )
    print(f"{comment} docs/theory/general_model.md; alpha = updates / N; eps_g is the noise-free generalisation error")
    print(eqs.text(latex=args.latex))
    return 0
