"""Argument helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from statmech.core.initial import check_vstar, initial_weights, teacher_overlaps
from statmech.core.model import Model
from statmech.core.vocabulary import ACTIVATIONS, ERF, INITIALISATIONS, OUTPUT_SCALES
from statmech.core.weights import Weights
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
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def seed_int(text: str) -> int:
    """A seed option: an integer >= 0 (numpy's generators refuse negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def add_teacher_student_args(p: argparse.ArgumentParser, *, N_default: int = 500) -> None:
    """--K --M --vstar --eta --eta-v --sigma --N --seed, the model options and the teacher and start options."""
    p.add_argument("--K", type=positive_int, default=6, help="student hidden units (default 6)")
    p.add_argument("--M", type=positive_int, default=2, help="teacher hidden units (default 2)")
    add_vstar_arg(p, default=4.0)
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
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random initial weights (default 0)")
    add_model_args(p)
    add_teacher_args(p)
    p.add_argument(
        "--init",
        choices=INITIALISATIONS,
        default="random",
        help="initial condition (named as nn2pp's): random N(0,1) weights (default), small weights "
        "(variance 1/2000), informed (student units 1..M near the teacher's), denoise (unit k copies teacher "
        "unit k mod M, v shared among the copies); K >= M for informed and denoise",
    )


def add_vstar_arg(p: argparse.ArgumentParser, *, default: float) -> None:
    """--vstar: one value (every teacher unit) or M values."""
    p.add_argument(
        "--vstar",
        action=ListAction,
        type=finite_float,
        default=default,
        metavar="V",
        help=f"teacher second-layer weights: one value for every unit or M values (default {default:g})",
    )


MODEL_ARGS = ("activation", "teacher_activation", "weight_decay", "batch_size", "output_scale")


def add_model_args(p: argparse.ArgumentParser, include: Sequence[str] = MODEL_ARGS) -> None:
    """--activation --teacher-activation --weight-decay --batch-size --output-scale (the Model beyond eta, sigma).

    ``include``: the Model fields whose options to add (a command that defines its own --activation leaves it out).
    """
    names = ", ".join(ACTIVATIONS)
    if "activation" in include:
        p.add_argument(
            "--activation",
            choices=ACTIVATIONS,
            default=ERF,
            help=f"student activation g(u), one of {names}; erf is erf(u/sqrt 2) (default erf)",
        )
    if "teacher_activation" in include:
        p.add_argument(
            "--teacher-activation",
            choices=ACTIVATIONS,
            default=None,
            help="teacher activation g*(u) (default: the student's)",
        )
    if "weight_decay" in include:
        p.add_argument(
            "--weight-decay",
            type=nonneg_float,
            default=0.0,
            metavar="KAPPA",
            help="weight decay kappa >= 0 on both layers: w <- (1 - kappa/N) w + ... (default 0)",
        )
    if "batch_size" in include:
        p.add_argument(
            "--batch-size",
            type=positive_int,
            default=1,
            metavar="B",
            help="samples averaged per SGD update; alpha counts updates / N (default 1)",
        )
    if "output_scale" in include:
        p.add_argument(
            "--output-scale",
            choices=OUTPUT_SCALES,
            default="1",
            help="phi = (1/s_K) sum_i v_i g(lambda_i) with s_K = 1, sqrt(K) or K (teacher likewise with M) (default 1)",
        )


def add_teacher_args(p: argparse.ArgumentParser) -> None:
    """--teacher-overlap RHO: teacher overlaps T = (1 - rho) I + rho 11^T."""
    p.add_argument(
        "--teacher-overlap",
        type=finite_float,
        default=None,
        metavar="RHO",
        help="correlated teacher: T = (1 - rho) I + rho 11^T, rho in (-1/(M-1), 1) "
        "(default: i.i.d. N(0,1) teacher weights, T = I + O(1/sqrt N))",
    )


# The option of each Model field beyond eta, eta_v, sigma (named in refusals)
MODEL_OPTIONS = {
    "teacher_activation": "--teacher-activation",
    "weight_decay": "--weight-decay",
    "batch_size": "--batch-size",
    "output_scale": "--output-scale",
}


def model_from_args(args: argparse.Namespace, *, supported: Collection[str] | None = None, command: str = "") -> Model:
    """The Model of the command-line options: the one place every command builds it.

    ``supported``: the Model fields (of :data:`MODEL_OPTIONS`) the command's
    engine takes; any other field set away from its default is a ValueError
    naming the option, never silently ignored.
    """
    model = Model(
        activation=getattr(args, "activation", ERF),
        teacher_activation=getattr(args, "teacher_activation", None),
        eta=getattr(args, "eta", 0.5),
        eta_v=getattr(args, "eta_v", None),
        sigma=getattr(args, "sigma", 0.0),
        weight_decay=getattr(args, "weight_decay", 0.0),
        batch_size=getattr(args, "batch_size", 1),
        output_scale=getattr(args, "output_scale", "1"),
    )
    if supported is not None:
        refuse_model_options(args, supported=supported, command=command)
    return model


def refuse_model_options(args: argparse.Namespace, *, supported: Collection[str] = (), command: str = "") -> None:
    """A ValueError naming the first model option (of :data:`MODEL_OPTIONS`) set away from its default
    whose field is not in ``supported``: an option the command's engine does not take is never ignored."""
    activation = getattr(args, "activation", ERF)
    default = Model(activation=activation)
    for name, option in MODEL_OPTIONS.items():
        value = getattr(args, name, None)
        if name == "teacher_activation" and value is None:
            continue
        if value is not None and name not in supported and value != getattr(default, name):
            raise ValueError(
                f"{option} {value} is not supported by {command or 'this command'} "
                f"(its engine takes the default, {getattr(default, name)})"
            )


def vstar_from_args(args: argparse.Namespace, M: int) -> np.ndarray:
    """The M teacher second-layer weights of --vstar (one value means every unit)."""
    values = args.vstar if isinstance(args.vstar, list) else [args.vstar]
    if len(values) not in (1, M):
        raise ValueError(f"--vstar takes 1 value (every teacher unit) or M={M} values, got {len(values)}")
    return check_vstar(values, M)


def teacher_T_from_args(args: argparse.Namespace, M: int) -> np.ndarray | None:
    """T of --teacher-overlap (None without it); a rho outside (-1/(M-1), 1) is a ValueError naming the option."""
    rho = getattr(args, "teacher_overlap", None)
    if rho is None:
        return None
    try:
        return teacher_overlaps(M, rho)
    except ValueError as exc:
        raise ValueError(f"--{str(exc).replace('_', '-')}") from None


def weights_from_args(args: argparse.Namespace, K: int, M: int, N: int, seed: int) -> Weights:
    """Initial weights of --init, --vstar and --teacher-overlap (:func:`statmech.core.initial.initial_weights`)."""
    init = getattr(args, "init", "random")
    if init in ("informed", "denoise") and K < M:
        raise ValueError(f"--init {init} copies teacher units into student units and needs K >= M, got --K {K} --M {M}")
    return initial_weights(
        K, M, N, init=init, vstar=vstar_from_args(args, M), T=teacher_T_from_args(args, M), seed=seed
    )


def start_options_given(args: argparse.Namespace) -> list:
    """The options describing the generated start that were set (refused beside --init-state)."""
    given = []
    if getattr(args, "init", "random") != "random":
        given.append("--init")
    if getattr(args, "teacher_overlap", None) is not None:
        given.append("--teacher-overlap")
    if isinstance(getattr(args, "vstar", None), list):
        given.append("--vstar")
    return given


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
    if not str(path).strip():  # Path("") is the current directory: results would land there unasked
        raise ValueError("--out must name a directory, got an empty string")
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

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        nargs: int | str | None = "+",
        type: Callable[[str], Any] = str,
        choices: Iterable[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.item_type = type
        self.item_choices = choices
        super().__init__(option_strings, dest, nargs=nargs, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
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
