"""The generalisation error eps_g of a student given its order parameters.

eps_g = E[(phi - y_noiseless)^2] / 2 = (1/2) sum_{a,b} s_a s_b I2(a, b) with
s = (v / s_K, -vstar / s_M) over student and teacher fields, I2 taking the
student's activation g on student fields and the teacher's g* on teacher fields
(docs/theory/equations.md, docs/theory/general_model.md). This is the
noise-free error; a test loss on labels with output noise sigma adds
sigma^2 / 2 (see :func:`test_loss`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.integrals import activation_code
from statmech.integrals.sums import eps_g_cov_mixed

__all__ = ["eps_g", "eps_g_arrays", "test_loss"]


def _model(model, activation, teacher_activation, output_scale) -> Model:
    """A Model from ``model`` (a Model, an activation name, or None) or the fields given."""
    if isinstance(model, str):  # eps_g(state, "relu"): the student's (and teacher's) activation
        if activation is not None:
            raise ValueError(f"give the activation once: got {model!r} and activation={activation!r}")
        model, activation = None, model
    if model is None:
        return _fields_model(activation, teacher_activation, output_scale)
    return resolve_model(model, activation=activation, teacher_activation=teacher_activation, output_scale=output_scale)


@lru_cache(maxsize=64)
def _fields_model(activation, teacher_activation, output_scale) -> Model:
    # eps_g_arrays runs in tight loops of the pruning code: validate each combination once
    return resolve_model(activation=activation, teacher_activation=teacher_activation, output_scale=output_scale)


def eps_g_arrays(
    Q: ArrayLike,
    R: ArrayLike,
    T: ArrayLike,
    v: ArrayLike,
    vstar: ArrayLike,
    model: Model | str | None = None,
    *,
    activation: str | None = None,
    teacher_activation: str | None = None,
    output_scale: str | None = None,
) -> float:
    """eps_g from raw arrays (no State validation): for pruned order parameters in loops.

    ``model`` is a :class:`~statmech.core.model.Model` or an activation name (default
    erf), or give ``activation``, ``teacher_activation``, ``output_scale`` as keywords.
    """
    m = _model(model, activation, teacher_activation, output_scale)
    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    K, M = R.shape
    C = np.block([[Q, R], [R.T, T]])
    s = np.concatenate(
        [
            np.asarray(v, dtype=np.float64) / m.student_scale(K),
            -np.asarray(vstar, dtype=np.float64) / m.teacher_scale(M),
        ]
    )
    return float(eps_g_cov_mixed(activation_code(m.activation), activation_code(m.teacher_activation), C, K, s))


def eps_g(
    state: State,
    model: Model | str | None = None,
    *,
    activation: str | None = None,
    teacher_activation: str | None = None,
    output_scale: str | None = None,
) -> float:
    """Noise-free generalisation error eps_g(Q, R, T, v, vstar) (docs/theory/general_model.md).

    ``eps_g(state)`` (erf), ``eps_g(state, "relu")``, ``eps_g(state, model)`` or the
    fields as keywords; only the activations and the output scaling enter.
    """
    if not isinstance(state, State):
        raise TypeError(f"eps_g expects a statmech.State, got {type(state).__name__}")
    m = _model(model, activation, teacher_activation, output_scale)
    return eps_g_arrays(state.Q, state.R, state.T, state.v, state.vstar, m)


def test_loss(eps: float, sigma: float) -> float:
    """Expected test loss (phi - y)^2 / 2 on labels with output noise sigma: eps_g + sigma^2/2.

    The noise is added to the (scaled) teacher output, so this holds for every output scaling.
    """
    return eps + 0.5 * sigma**2


test_loss.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name
