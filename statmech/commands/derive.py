"""``statmech derive``: print the symbolic equations of motion (plain text or LaTeX)."""

from __future__ import annotations

from statmech.commands._common import positive_int


def register(sub):
    p = sub.add_parser(
        "derive",
        help="print the order-parameter equations of motion derived with sympy (text or LaTeX)",
        description=(
            "Derive the equations of motion dQ/dalpha, dR/dalpha, dv/dalpha and eps_g of the Theory pages (docs/theory/) "
            "section 4 for K students and M teachers with statmech.symbolic (integrals from I2 by "
            "Price's theorem and Stein's lemma) and print them, one equation per line."
        ),
    )
    p.add_argument(
        "--K", type=positive_int, default=6, help="student hidden units (default 6, the paper's 6:2; about 20 s)"
    )
    p.add_argument("--M", type=positive_int, default=2, help="teacher hidden units (default 2)")
    p.add_argument(
        "--activation",
        choices=["erf", "linear"],
        default="erf",
        help="g(u): erf(u/sqrt 2) (default) or linear (ReLU has no closed-form I4)",
    )
    p.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    p.add_argument("--soft-committee", action="store_true", help="fixed second layer (eta_v = 0): no dv equations")
    p.add_argument("--no-noise", action="store_true", help="drop the output-noise term sigma^2 J2")
    p.set_defaults(func=run)


def run(args):
    if args.K * (args.K + args.M) ** 2 > 2000:
        raise ValueError(f"--K {args.K} --M {args.M} gives too many I4 terms to print (K (K+M)^2 must be <= 2000)")
    from statmech.symbolic import equations  # sympy only when this command runs

    eqs = equations(
        args.K, args.M, args.activation, train_second_layer=not args.soft_committee, noise=not args.no_noise
    )
    comment = "%" if args.latex else "#"
    print(
        f"{comment} statmech derive: K={args.K}, M={args.M}, activation={args.activation}, "
        f"second layer {'fixed' if args.soft_committee else 'trained'}, "
        f"{'no output noise' if args.no_noise else 'output noise sigma'}"
    )
    print(f"{comment} docs/theory/equations.md; alpha = steps / N; eps_g is the noise-free generalisation error")
    print(eqs.text(latex=args.latex))
    return 0
