"""Real weights of a teacher-student pair: the finite-N counterpart of a State.

``Weights`` holds W (K x N), Wstar (M x N), v (K) and vstar (M) and is saved as
an ``.npz`` with those keys and a provenance record. Its :meth:`Weights.state` gives the
order parameters Q = W W^T / N, R = W W*^T / N, T = W* W*^T / N.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.io import read_npz, write_npz
from statmech.core.state import State, random_weights
from statmech.core.validation import as_float_array

__all__ = ["Weights", "WEIGHT_KEYS"]

WEIGHT_KEYS = ("W", "Wstar", "v", "vstar")


@dataclass(frozen=True, eq=False)
class Weights:
    """Weights of a two-layer student (W, v) and teacher (Wstar, vstar)."""

    W: np.ndarray
    Wstar: np.ndarray
    v: np.ndarray
    vstar: np.ndarray

    def __post_init__(self) -> None:
        arrays = {}
        for name, ndim in (("W", 2), ("Wstar", 2), ("v", 1), ("vstar", 1)):
            arrays[name] = as_float_array(name, getattr(self, name), ndim)
        W, Wstar, v, vstar = (arrays[k] for k in WEIGHT_KEYS)
        if W.shape[0] < 1 or Wstar.shape[0] < 1 or W.shape[1] < 1:
            raise ValueError(f"W and Wstar must be non-empty, got shapes {W.shape} and {Wstar.shape}")
        if W.shape[1] != Wstar.shape[1]:
            raise ValueError(f"W (K x N) and Wstar (M x N) must share N, got shapes {W.shape} and {Wstar.shape}")
        if v.shape != (W.shape[0],):
            raise ValueError(f"v must have length K={W.shape[0]} (rows of W), got shape {v.shape}")
        if vstar.shape != (Wstar.shape[0],):
            raise ValueError(f"vstar must have length M={Wstar.shape[0]} (rows of Wstar), got shape {vstar.shape}")
        for name, a in arrays.items():
            object.__setattr__(self, name, a)

    @property
    def K(self) -> int:
        return self.W.shape[0]

    @property
    def M(self) -> int:
        return self.Wstar.shape[0]

    @property
    def N(self) -> int:
        return self.W.shape[1]

    def state(self) -> State:
        """Order parameters of these weights (docs/theory/model.md)."""
        return State.from_weights(self.W, self.Wstar, self.v, self.vstar)

    def replace(self, **changes: Any) -> Weights:
        fields = {k: getattr(self, k) for k in WEIGHT_KEYS}
        fields.update(changes)
        return Weights(**fields)

    def __repr__(self) -> str:
        return f"Weights(K={self.K}, M={self.M}, N={self.N})"

    @classmethod
    def random(cls, K: int, M: int, N: int, vstar: ArrayLike = 1.0, seed: int | None = None) -> Weights:
        """The paper's initial condition: w, w*, v with i.i.d. N(0, 1) entries.

        ``vstar`` is a scalar (every teacher unit) or an array of length M. The
        draws come from ``numpy.random.default_rng(seed)`` in the order W*, W, v,
        so a seed fixes teacher and student together.
        """
        W, Wstar, v, vs = random_weights(K, M, N, vstar=vstar, seed=seed)
        return cls(W=W, Wstar=Wstar, v=v, vstar=vs)

    def save(self, path: str | os.PathLike, params: dict | None = None) -> Path:
        """Write an ``.npz`` with the keys W, Wstar, v, vstar and the provenance record (with ``params``), atomically."""
        return write_npz(path, {k: getattr(self, k) for k in WEIGHT_KEYS}, params)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Weights:
        """Read weights written by :meth:`save`; a missing, corrupt or invalid file raises ``ValueError``."""
        fields = read_npz(path, WEIGHT_KEYS, "weights")
        try:
            return cls(**fields)
        except ValueError as exc:
            raise ValueError(f"weights file {path}: {exc}") from None
