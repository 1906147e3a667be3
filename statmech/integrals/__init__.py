"""Gaussian integrals of docs/theory/integrals.md: the one home of these formulas.

For jointly Gaussian zero-mean fields u with covariance C (indices a, b, c, d
over all K + M fields):

- I2(a,b) = E[g(u_a) g(u_b)]
- J2(a,b) = E[g'(u_a) g'(u_b)]
- I3(a,b,c) = E[g'(u_a) u_b g(u_c)]
- I4(a,b,c,d) = E[g'(u_a) g'(u_b) g(u_c) g(u_d)]

for g = erf(u/sqrt 2) (``"erf"``), g = u (``"linear"``) and g = max(0, u)
(``"relu"``), one activation for all fields or one per field (a student's g and
a teacher's g*: ``activations=``). The scalar numba kernels are in ``erf.py``, ``linear.py`` and
``relu.py``; ``kernels.py`` dispatches on an activation code and ``sums.py``
builds the matrices and weighted sums used by the equations of motion;
``mixed.py`` holds the kernels with an activation code per field. The
functions here return whole arrays over index grids, for analysis and tests.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from statmech.integrals import kernels as _k
from statmech.integrals import mixed, sums
from statmech.integrals.kernels import ACTIVATIONS, activation_code

__all__ = ["I2", "J2", "I3", "I4", "ACTIVATIONS", "activation_code", "check_covariance", "mixed", "sums"]


def check_covariance(C: ArrayLike, name: str = "C") -> np.ndarray:
    """C as a float64 symmetric PSD matrix, else a ``ValueError`` naming the problem."""
    A = np.array(C, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    scale = max(1.0, float(np.max(np.abs(A))))
    if np.max(np.abs(A - A.T)) > 1e-9 * scale:
        raise ValueError(f"{name} must be symmetric")
    A = 0.5 * (A + A.T)
    lam = np.linalg.eigvalsh(A)[0]
    if lam < -1e-9 * scale:
        raise ValueError(f"{name} must be positive semi-definite (smallest eigenvalue {lam:.3g})")
    return A


def _codes(activation, activations, n: int) -> np.ndarray:
    """One activation code per field from ``activation`` (all fields) or ``activations`` (one per field)."""
    if activation is not None and activations is not None:
        raise ValueError("give activation (one for all fields) or activations (one per field), not both")
    if activations is None:
        return np.full(n, activation_code("erf" if activation is None else activation), dtype=np.int64)
    if isinstance(activations, str) or len(activations) != n:
        raise ValueError(f"activations must be a sequence of {n} activation names (one per field), got {activations!r}")
    return np.array([activation_code(a) for a in activations], dtype=np.int64)


def _check_derivative_fields(C, codes, what):
    """ReLU's g' = step(u) is undefined for a field that is identically 0: refuse instead of a silent NaN."""
    bad = (codes == _k.RELU) & (np.diag(C) <= 0)
    if np.any(bad):
        raise ValueError(
            f"{what} with activation 'relu' needs every variance C_aa > 0 (g' = step(u) of a field "
            f"that is identically 0 is undefined); got diagonal {np.diag(C)}"
        )


def I2(C: ArrayLike, activation: str | None = None, activations: Sequence[str] | None = None) -> np.ndarray:
    """Matrix I2[a, b] = E[g_a(u_a) g_b(u_b)] for u ~ N(0, C).

    ``activation`` (default erf) for every field, or ``activations``, one name per field.
    """
    C = check_covariance(C)
    g = _codes(activation, activations, C.shape[0])
    n = C.shape[0]
    out = np.empty_like(C)
    if np.all(g == g[0]):
        sums.i2_matrix(g[0], C, out)
        return out
    for a in range(n):
        for b in range(n):
            out[a, b] = mixed.i2(g[a], g[b], C[a, a], C[b, b], C[a, b])
    return out


def J2(C: ArrayLike, activation: str | None = None, activations: Sequence[str] | None = None) -> np.ndarray:
    """Matrix J2[a, b] = E[g_a'(u_a) g_b'(u_b)] for u ~ N(0, C) (activations as :func:`I2`)."""
    C = check_covariance(C)
    g = _codes(activation, activations, C.shape[0])
    _check_derivative_fields(C, g, "J2")
    n = C.shape[0]
    out = np.empty_like(C)
    if np.all(g == g[0]):
        sums.j2_matrix(g[0], C, out)
        return out
    for a in range(n):
        for b in range(n):
            out[a, b] = mixed.j2(g[a], g[b], C[a, a], C[b, b], C[a, b])
    return out


def I3(C: ArrayLike, activation: str | None = None, activations: Sequence[str] | None = None) -> np.ndarray:
    """Tensor I3[a, b, c] = E[g_a'(u_a) u_b g_c(u_c)] for u ~ N(0, C) (activations as :func:`I2`)."""
    C = check_covariance(C)
    g = _codes(activation, activations, C.shape[0])
    _check_derivative_fields(C, g, "I3")
    n = C.shape[0]
    out = np.empty((n, n, n))
    for a in range(n):
        for b in range(n):
            for c in range(n):
                out[a, b, c] = mixed.i3(g[a], g[c], C[a, a], C[b, b], C[c, c], C[a, b], C[a, c], C[b, c])
    return out


def I4(C: ArrayLike, activation: str | None = None, activations: Sequence[str] | None = None) -> np.ndarray:
    """Tensor I4[a, b, c, d] = E[g_a'(u_a) g_b'(u_b) g_c(u_c) g_d(u_d)] for u ~ N(0, C) (activations as :func:`I2`)."""
    C = check_covariance(C)
    g = _codes(activation, activations, C.shape[0])
    _check_derivative_fields(C, g, "I4")
    n = C.shape[0]
    out = np.empty((n, n, n, n))
    d_ = np.diag(C)
    for a in range(n):
        for b in range(n):
            for c in range(n):
                for d in range(n):
                    out[a, b, c, d] = mixed.i4(
                        g[a],
                        g[b],
                        g[c],
                        g[d],
                        d_[a],
                        d_[b],
                        d_[c],
                        d_[d],
                        C[a, b],
                        C[a, c],
                        C[a, d],
                        C[b, c],
                        C[b, d],
                        C[c, d],
                    )
    return out
