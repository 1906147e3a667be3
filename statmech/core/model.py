"""The learning problem as plain data: activations, learning rates, noise, weight decay, batch size, scaling.

One :class:`Model` is taken by every engine (the ODE, the simulator, fixed
points, pruning) and recorded in every output file; the order parameters of a
network live in :class:`~statmech.core.state.State`. The conventions follow
Saad & Solla (1995) and Goldt et al. (2019, the nn2pp code):

- student phi(x) = (1/s_K) sum_i v_i g(w_i x / sqrt N), teacher likewise with
  g*, M, v*, s_M; s_K in {1, sqrt K, K} (``output_scale`` "1", "sqrt", "K");
- online SGD on the squared error (phi - y)^2 / 2 with y = teacher + sigma xi:
  w <- (1 - kappa/N) w - (eta/sqrt N) grad_w, v <- (1 - kappa/N) v - (eta_v/N) grad_v,
  where kappa is the weight decay and each gradient averages ``batch_size``
  fresh samples; alpha counts updates / N.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from statmech.core.validation import check_int
from statmech.core.vocabulary import ACTIVATIONS, ERF, OUTPUT_SCALES, check_choice

__all__ = ["Model", "MODEL_FIELDS", "output_scale_factor", "resolve_model"]


def _finite_nonneg(name: str, value) -> float:
    if isinstance(value, (bool, str, bytes)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def output_scale_factor(scale: str, units: int) -> float:
    """s in phi = (1/s) sum_i v_i g(lambda_i): 1, sqrt(units) or units for scale "1", "sqrt", "K"."""
    check_choice("output_scale", scale, OUTPUT_SCALES)
    units = check_int("units", units)
    return {"1": 1.0, "sqrt": math.sqrt(units), "K": float(units)}[scale]


@dataclass(frozen=True)
class Model:
    """A teacher-student learning problem (everything but the network's state).

    ``eta_v=None`` means the first-layer rate; ``eta_v=0`` keeps the second
    layer fixed (the soft committee machine). ``teacher_activation=None``
    means the student's activation.
    """

    activation: str = ERF
    teacher_activation: str | None = None
    eta: float = 0.5
    eta_v: float | None = None
    sigma: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 1
    output_scale: str = "1"

    def __post_init__(self) -> None:
        check_choice("activation", self.activation, ACTIVATIONS)
        teacher = self.activation if self.teacher_activation is None else self.teacher_activation
        check_choice("teacher_activation", teacher, ACTIVATIONS)
        object.__setattr__(self, "teacher_activation", teacher)
        eta = _finite_nonneg("eta", self.eta)
        object.__setattr__(self, "eta", eta)
        object.__setattr__(self, "eta_v", eta if self.eta_v is None else _finite_nonneg("eta_v", self.eta_v))
        object.__setattr__(self, "sigma", _finite_nonneg("sigma", self.sigma))
        object.__setattr__(self, "weight_decay", _finite_nonneg("weight_decay", self.weight_decay))
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, 1))
        check_choice("output_scale", self.output_scale, OUTPUT_SCALES)

    @property
    def trains_v(self) -> bool:
        """Whether the second layer learns (eta_v > 0)."""
        return self.eta_v is not None and self.eta_v > 0

    def student_scale(self, K: int) -> float:
        """s_K of the student's output."""
        return output_scale_factor(self.output_scale, K)

    def teacher_scale(self, M: int) -> float:
        """s_M of the teacher's output."""
        return output_scale_factor(self.output_scale, M)

    def replace(self, **changes: Any) -> Model:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The parameters as plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        """Inverse of :meth:`to_dict`; an unknown key is an error naming it."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown Model parameter(s) {unknown}; known: {sorted(names)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


MODEL_FIELDS = (
    "activation",
    "teacher_activation",
    "eta",
    "eta_v",
    "sigma",
    "weight_decay",
    "batch_size",
    "output_scale",
)


def resolve_model(model: Model | None = None, **fields_given: Any) -> Model:
    """The one way an engine turns its arguments into a Model.

    Either a ``model`` or the Model's fields as keywords (``eta=0.5, sigma=0.1``;
    a keyword that is None counts as not given), not both: a field given beside
    a model would be ambiguous, so it is an error naming it. Keywords that are
    not Model fields are an error too.
    """
    unknown = sorted(set(fields_given) - set(MODEL_FIELDS))
    if unknown:
        raise ValueError(f"unknown model parameter(s) {unknown}; the Model's fields are {list(MODEL_FIELDS)}")
    given = {k: v for k, v in fields_given.items() if v is not None}
    if model is None:
        return Model(**given)
    if not isinstance(model, Model):
        raise ValueError(f"model must be a statmech.Model, got {type(model).__name__}")
    if given:
        raise ValueError(f"give either model= or its fields, not both: got model and {sorted(given)}")
    return model
