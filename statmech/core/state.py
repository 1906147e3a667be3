"""Order-parameter state of a teacher-student pair of two-layer networks.

A :class:`State` holds the order parameters of docs/theory/model.md:
``Q = W W^T / N`` (K x K), ``R = W W*^T / N`` (K x M), ``T = W* W*^T / N``
(M x M) and the second-layer weights ``v`` (K) and ``vstar`` (M). It is plain
data: a frozen dataclass of read-only float64 arrays, validated on
construction, saved and loaded as an ``.npz`` with those five keys (and a provenance record).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.io import read_npz, write_npz
from statmech.core.resources import check_memory, weights_memory
from statmech.core.validation import as_float_array, check_int

__all__ = ["State", "STATE_KEYS", "read_npz", "random_weights"]

STATE_KEYS = ("Q", "R", "T", "v", "vstar")

# Relative tolerance for symmetry and positive semi-definiteness: order
# parameters computed from weights in float64 carry rounding of this size.
_SYM_RTOL = 1e-9
_PSD_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class State:
    """Order parameters (Q, R, T, v, vstar) of a K-unit student and M-unit teacher.

    The joint local fields (lambda, nu) are Gaussian with covariance
    ``[[Q, R], [R^T, T]]`` (docs/theory/model.md), so every quantity of the
    N -> infinity theory is a function of a State.

    Raises ``ValueError`` naming the offending field when shapes disagree,
    Q or T is not symmetric, entries are not finite, or the covariance is not
    positive semi-definite.
    """

    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    v: np.ndarray
    vstar: np.ndarray

    def __post_init__(self) -> None:
        Q = as_float_array("Q", self.Q, 2)
        R = as_float_array("R", self.R, 2)
        T = as_float_array("T", self.T, 2)
        v = as_float_array("v", self.v, 1)
        vstar = as_float_array("vstar", self.vstar, 1)
        K, M = v.shape[0], vstar.shape[0]
        if K < 1:
            raise ValueError("K (number of student units, length of v) must be >= 1, got 0")
        if M < 1:
            raise ValueError("M (number of teacher units, length of vstar) must be >= 1, got 0")
        for name, a, shape in (("Q", Q, (K, K)), ("R", R, (K, M)), ("T", T, (M, M))):
            if a.shape != shape:
                raise ValueError(
                    f"{name} must have shape {shape} for K={K} student and M={M} teacher "
                    f"units (from len(v), len(vstar)), got {a.shape}"
                )
        for name, a in (("Q", Q), ("T", T)):
            scale = max(1.0, float(np.max(np.abs(a))))
            asym = float(np.max(np.abs(a - a.T)))
            if asym > _SYM_RTOL * scale:
                raise ValueError(f"{name} must be symmetric (max |{name} - {name}^T| = {asym:.3g})")
        # Store exactly symmetric matrices so downstream code may rely on it.
        Q = 0.5 * Q + 0.5 * Q.T  # halves first: no overflow for entries near the float64 maximum
        T = 0.5 * T + 0.5 * T.T
        C = np.block([[Q, R], [R.T, T]])
        # eigenvalues of C / c, c its largest entry: finite for any finite C
        c = max(1.0, float(np.max(np.abs(C))))
        eig = np.linalg.eigvalsh(C / c) * c
        scale = max(1.0, float(np.max(np.abs(eig))))
        if eig[0] < -_PSD_RTOL * scale:
            raise ValueError(
                "the covariance [[Q, R], [R^T, T]] must be positive semi-definite "
                f"(smallest eigenvalue {eig[0]:.3g}); such order parameters cannot come "
                "from real weight vectors"
            )
        for name, a in (("Q", Q), ("R", R), ("T", T), ("v", v), ("vstar", vstar)):
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    # ------------------------------------------------------------------ shape
    @property
    def K(self) -> int:
        """Number of student hidden units."""
        return self.v.shape[0]

    @property
    def M(self) -> int:
        """Number of teacher hidden units."""
        return self.vstar.shape[0]

    def covariance(self) -> np.ndarray:
        """Covariance of the K + M local fields, ``[[Q, R], [R^T, T]]`` (docs/theory/model.md)."""
        return np.block([[self.Q, self.R], [self.R.T, self.T]])

    def replace(self, **changes: Any) -> State:
        """A copy with some fields replaced (validated like any new State)."""
        fields = {k: getattr(self, k) for k in STATE_KEYS}
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"unknown State field(s) {sorted(unknown)}; fields are {STATE_KEYS}")
        fields.update(changes)
        return State(**fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return all(np.array_equal(getattr(self, k), getattr(other, k)) for k in STATE_KEYS)

    def allclose(self, other: State, rtol: float = 1e-7, atol: float = 1e-10) -> bool:
        """True when every field agrees with ``other`` within numpy's allclose."""
        return all(
            getattr(self, k).shape == getattr(other, k).shape
            and np.allclose(getattr(self, k), getattr(other, k), rtol=rtol, atol=atol)
            for k in STATE_KEYS
        )

    def __repr__(self) -> str:
        return f"State(K={self.K}, M={self.M})"

    # ---------------------------------------------------------- constructors
    @classmethod
    def from_weights(cls, W: ArrayLike, Wstar: ArrayLike, v: ArrayLike, vstar: ArrayLike) -> State:
        """Order parameters of real weights: Q = W W^T/N, R = W W*^T/N, T = W* W*^T/N."""
        W = as_float_array("W", W, 2)
        Wstar = as_float_array("Wstar", Wstar, 2)
        if W.shape[1] != Wstar.shape[1]:
            raise ValueError(f"W (K x N) and Wstar (M x N) must share N, got shapes {W.shape} and {Wstar.shape}")
        N = W.shape[1]
        if N < 1:
            raise ValueError("the input dimension N must be >= 1")
        return cls(
            Q=W @ W.T / N,
            R=W @ Wstar.T / N,
            T=Wstar @ Wstar.T / N,
            v=np.broadcast_to(np.asarray(v, dtype=np.float64), (W.shape[0],)),
            vstar=np.broadcast_to(np.asarray(vstar, dtype=np.float64), (Wstar.shape[0],)),
        )

    @classmethod
    def random(cls, K: int, M: int, N: int, vstar: ArrayLike = 1.0, seed: int | None = None) -> State:
        """The state of random weights as in the paper: w, w*, v i.i.d. N(0, 1).

        Identical to ``Weights.random(K, M, N, vstar, seed).state()``, so an ODE
        started here and a simulation started from those weights share their
        initial condition exactly.
        """
        return cls.from_weights(*random_weights(K, M, N, vstar=vstar, seed=seed))

    # -------------------------------------------------------------------- I/O
    def save(self, path: str | os.PathLike, params: dict | None = None) -> Path:
        """Write an ``.npz`` with the keys Q, R, T, v, vstar and the provenance record (with ``params``).

        Written atomically (:func:`statmech.core.io.atomic_write`); the
        record is read back by :func:`statmech.core.io.read_provenance`.
        """
        return write_npz(path, {k: getattr(self, k) for k in STATE_KEYS}, params)

    @classmethod
    def load(cls, path: str | os.PathLike) -> State:
        """Read a state written by :meth:`save`; a missing, corrupt or invalid file raises ``ValueError``."""
        path = Path(path)
        fields = read_npz(path, STATE_KEYS, "state")
        try:
            return cls(**fields)
        except ValueError as exc:
            raise ValueError(f"state file {path}: {exc}") from None


def random_weights(
    K: int, M: int, N: int, vstar: ArrayLike = 1.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The paper's initial weights (W, Wstar, v, vstar): i.i.d. N(0, 1), drawn in the order W*, W, v.

    ``vstar`` is a scalar (every teacher unit) or an array of length M; one
    seed fixes teacher and student together.
    """
    K = check_int("K", K)
    M = check_int("M", M)
    N = check_int("N", N)
    check_memory("random weights", f"K={K}, M={M}, N={N}", weights_memory(K, M, N))
    rng = np.random.default_rng(seed)
    Wstar = rng.standard_normal((M, N))
    W = rng.standard_normal((K, N))
    v = rng.standard_normal(K)
    vs = np.asarray(vstar, dtype=np.float64)
    if vs.ndim == 0:
        vs = np.full(M, float(vs))
    return W, Wstar, v, vs
