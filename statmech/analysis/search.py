"""Every fixed point at once: the symmetric plateaus, the asymptotic point and a multi-start search.

:func:`find_fixed_points` collects :func:`statmech.analysis.plateaus.plateau_fixed_points`,
:func:`statmech.analysis.asymptotics.asymptotic_fixed_point` and optional
full-ansatz roots from random overlaps, with the reason for each kind not found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from statmech.analysis.asymptotics import asymptotic_fixed_point
from statmech.analysis.fixed_points import (
    TOL,
    FixedPoint,
    check_sizes,
    find_fixed_point,
    fixed_point_model,
    same_point,
    scm_v,
    teacher_arrays,
    teacher_is_symmetric,
)
from statmech.analysis.plateaus import plateau_fixed_points
from statmech.core.model import Model
from statmech.core.state import State

__all__ = [
    "FixedPointSearch",
    "find_fixed_points",
]


# ------------------------------------------------------- fixed-point search
@dataclass
class FixedPointSearch:
    """Fixed points found by :func:`find_fixed_points`, and why the others were not."""

    points: list
    failed: dict

    def __iter__(self) -> Iterator[FixedPoint]:
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)


def find_fixed_points(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    starts: int = 0,
    seed: int = 0,
    tol: float = TOL,
) -> FixedPointSearch:
    """The plateau, the asymptotic (specialised) fixed point, and optionally a multi-start search.

    - the plateaus: symmetric ansatz, :func:`plateau_fixed_points`;
    - "asymptotic": ansatz 'specialised' from the perfect student (K >= M); at
      sigma = 0 this is the perfect student itself;
    - ``starts`` > 0 adds full-ansatz solves from random overlaps (W = B W* +
      s G: R = B T, Q = B T B^T + s^2 I, B and s from default_rng(seed)),
      keeping roots that differ from those already found (up to a
      permutation of the student units).
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    train_v = m.trains_v
    points, failed = [], {}
    symmetric = teacher_is_symmetric(T, vstar)

    if symmetric:
        try:
            points.extend(plateau_fixed_points(K, M, m, T=T, vstar=vstar, tol=tol))
        except ValueError as exc:
            failed["plateau"] = str(exc)
    else:
        failed["plateau"] = "the plateau ansatz needs a permutation-symmetric teacher"
    if K >= M:
        try:
            points.append(asymptotic_fixed_point(K, M, m, T=T, vstar=vstar, tol=tol))
        except ValueError as exc:
            failed["asymptotic"] = str(exc)
    else:
        failed["asymptotic"] = f"no specialised state with fewer student than teacher units (K={K} < M={M})"
    rng = np.random.default_rng(seed)
    for s in range(int(starts)):
        B = rng.uniform(0, 1, (K, M)) * rng.choice([0.3, 1.0], size=(K, 1))
        sig = rng.uniform(0.05, 0.5)
        # W = B W* + sig G (G orthogonal to the teacher span): R = B T, Q = B T B^T + sig^2 I
        R = B @ T
        Q = B @ T @ B.T + sig**2 * np.eye(K)
        v = np.full(K, np.sum(vstar) / K) if train_v else scm_v(K, M, vstar)
        try:
            fp = find_fixed_point(
                State(Q=Q, R=R, T=T, v=v, vstar=vstar),
                m,
                ansatz="full",
                tol=tol,
                kind=f"multi-start root {s}",
            )
        except ValueError as exc:
            failed[f"start {s}"] = str(exc)
            continue
        if not any(same_point(fp, p) for p in points):
            points.append(fp)
    return FixedPointSearch(points=points, failed=failed)
