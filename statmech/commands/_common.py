"""Argument helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from statmech.ode.steppers import METHODS, STEPPERS, Stepper, make_stepper, stepper_options


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    value = nonneg_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a number > 0, got 0")
    return value


def add_teacher_student_args(p: argparse.ArgumentParser, *, N_default=500) -> None:
    """--K --M --vstar --eta --eta-v --sigma --N --seed --activation, as in the paper."""
    p.add_argument("--K", type=positive_int, default=6, help="student hidden units (default 6)")
    p.add_argument("--M", type=positive_int, default=2, help="teacher hidden units (default 2)")
    p.add_argument(
        "--vstar", type=finite_float, default=4.0, help="teacher second-layer weight, every unit (default 4)"
    )
    p.add_argument(
        "--eta", type=nonneg_float, default=0.5, help="first-layer learning rate, scaled eta/sqrt(N) (default 0.5)"
    )
    p.add_argument(
        "--eta-v",
        type=nonneg_float,
        default=0.5,
        help="second-layer learning rate, scaled eta_v/N; 0 = soft committee machine (default 0.5)",
    )
    p.add_argument("--sigma", type=nonneg_float, default=0.0, help="output-noise standard deviation (default 0)")
    p.add_argument(
        "--N",
        type=positive_int,
        default=N_default,
        help=f"input dimension of the random initial weights (default {N_default})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random initial weights (default 0)")
    p.add_argument(
        "--activation",
        choices=["erf", "linear", "relu"],
        default="erf",
        help="g(u): erf(u/sqrt 2) (default), linear, relu",
    )


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value}")
    return value


def out_dir(path: str) -> Path:
    """Create the output directory ``path``; ``ValueError`` when that is impossible (e.g. a file is there)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"--out {path} exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {path}: cannot create the output directory ({exc.strerror})") from None
    return p


class _GivenList(list):
    """A list option's values from the command line (a repeated option extends it, the default is replaced)."""


class ListAction(argparse.Action):
    """One syntax for every list option: values separated by spaces or commas (``--keep 1 2 3`` = ``--keep 1,2,3``).

    Use with ``nargs="+"`` and ``type=`` the type of one item: each command-line
    word is split at commas and every piece is converted (and checked) by that type.
    A repeated option adds its values (``--keep 1 --keep 2`` = ``--keep 1,2``), so none is dropped.
    """

    def __init__(self, option_strings, dest, nargs="+", type=str, choices=None, **kwargs):
        self.item_type = type
        self.item_choices = choices
        super().__init__(option_strings, dest, nargs=nargs, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        items = []
        for word in values if isinstance(values, list) else [values]:
            for piece in str(word).split(","):
                if not piece:
                    continue
                try:
                    item = self.item_type(piece)
                except (argparse.ArgumentTypeError, ValueError) as exc:
                    parser.error(f"argument {option_string}: {exc}")
                if self.item_choices is not None and item not in self.item_choices:
                    allowed = ", ".join(map(str, self.item_choices))
                    parser.error(f"argument {option_string}: invalid choice {item!r} (choose from {allowed})")
                items.append(item)
        if not items:
            parser.error(f"argument {option_string}: expected at least one value")
        current = getattr(namespace, self.dest, None)
        setattr(namespace, self.dest, _GivenList((current if isinstance(current, _GivenList) else []) + items))


def add_integrator_args(p: argparse.ArgumentParser) -> None:
    """--method with its own options: --dt (euler), --rtol and --atol (dopri5); an option of the other method is refused."""
    p.add_argument(
        "--method",
        choices=list(METHODS),
        default="dopri5",
        help="ODE stepper: adaptive Dormand-Prince 5(4) or fixed-step Euler (default dopri5)",
    )
    p.add_argument("--dt", type=positive_float, default=None, help="Euler step; euler only (default 0.01)")
    p.add_argument("--rtol", type=positive_float, default=None, help="relative tolerance; dopri5 only (default 1e-8)")
    p.add_argument("--atol", type=positive_float, default=None, help="absolute tolerance; dopri5 only (default 1e-10)")


def stepper_from_args(args: argparse.Namespace) -> Stepper:
    """The ODE stepper of --method and its options; ValueError (exit 2) for an option of the other method."""
    given = {name: getattr(args, name) for name in ("dt", "rtol", "atol")}
    own = stepper_options(STEPPERS[args.method])
    for name, value in given.items():
        if value is not None and name not in own:
            other = next(m for m, cls in STEPPERS.items() if name in stepper_options(cls))
            takes = ", ".join(f"--{n}" for n in own if n in given)
            raise ValueError(
                f"--{name} {value:g} is an option of --method {other}, not of --method {args.method} "
                f"(which takes {takes})"
            )
    return make_stepper(args.method, given)
