"""The generalisation error eps_g of a student given its order parameters.

eps_g = E[(phi - y_noiseless)^2] / 2 = (1/2) sum_{a,b} s_a s_b I2(a, b) with
s = (v, -vstar) over student and teacher fields (docs/theory/equations.md). This is
the noise-free error; a test loss on labels with output noise sigma adds
sigma^2 / 2 (see :func:`test_loss`).
"""

from __future__ import annotations

import numpy as np

from statmech.core.state import State
from statmech.integrals import activation_code
from statmech.integrals.sums import eps_g_cov

__all__ = ["eps_g", "eps_g_arrays", "test_loss"]


def eps_g_arrays(Q, R, T, v, vstar, activation: str = "erf") -> float:
    """eps_g from raw arrays (no State validation): for pruned order parameters in loops."""
    Q = np.asarray(Q, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    C = np.block([[Q, R], [R.T, T]])
    s = np.concatenate([np.asarray(v, dtype=np.float64), -np.asarray(vstar, dtype=np.float64)])
    return float(eps_g_cov(activation_code(activation), C, s))


def eps_g(state: State, activation: str = "erf") -> float:
    """Noise-free generalisation error eps_g(Q, R, T, v, vstar) (docs/theory/equations.md)."""
    if not isinstance(state, State):
        raise TypeError(f"eps_g expects a statmech.State, got {type(state).__name__}")
    return eps_g_arrays(state.Q, state.R, state.T, state.v, state.vstar, activation)


def test_loss(eps: float, sigma: float) -> float:
    """Expected test loss (phi - y)^2 / 2 on labels with output noise sigma: eps_g + sigma^2/2."""
    return eps + 0.5 * sigma**2


test_loss.__test__ = False  # not a pytest test despite the name
