"""Parameter budgets of node and edge pruning (docs/theory/pruning.md, docs/guide/reproduce.md).

Parameters are counted in the first plus second layer: keeping k of K nodes
keeps k (N + 1) of the K (N + 1) parameters; keeping e edges in each of the K
units keeps K (e + 1). The paper matches the two with
e = round((k N + k - K) / K) (rounding halves up: 82.5 -> 83, which gives the
paper's 83, 166, 250, 333, 417 for K = 6, N = 500).
"""

from __future__ import annotations

import math

__all__ = [
    "edges_per_unit",
    "keep_fraction_for_nodes",
    "node_parameter_fraction",
    "edge_parameter_fraction",
    "check_keep",
    "check_keep_fraction",
]


def check_keep(keep, K: int) -> int:
    """keep as an int in 1..K, else ValueError naming the range."""
    if (
        isinstance(keep, bool)
        or not isinstance(keep, (int,))
        and not (hasattr(keep, "__index__") and not isinstance(keep, float))
    ):
        raise ValueError(f"keep (number of kept units k) must be an integer in 1..K={K}, got {keep!r}")
    k = int(keep)
    if not 1 <= k <= K:
        raise ValueError(f"keep (number of kept units k) must be in 1..K={K}, got {k}")
    return k


def _check_N(N) -> int:
    if isinstance(N, bool) or not isinstance(N, int) and not hasattr(N, "__index__"):
        raise ValueError(f"N (input dimension) must be an integer >= 1, got {N!r}")
    N = int(N)
    if N < 1:
        raise ValueError(f"N (input dimension) must be an integer >= 1, got {N}")
    return N


def edges_per_unit(keep: int, K: int, N: int) -> int:
    """e = round((k N + k - K) / K): edges per unit with the parameters of k kept nodes (paper)."""
    k = check_keep(keep, K)
    N = _check_N(N)
    e = math.floor((k * N + k - K) / K + 0.5)
    return max(1, min(N, e))


def keep_fraction_for_nodes(keep: int, K: int, N: int | None = None) -> float:
    """Edge keep fraction c matching k kept nodes: e / N at finite N, k / K as N -> infinity."""
    k = check_keep(keep, K)
    if N is None:
        return k / K
    return edges_per_unit(k, K, N) / _check_N(N)


def check_keep_fraction(keep_fraction) -> float:
    """keep_fraction as a float in (0, 1], else ValueError naming the range."""
    try:
        c = float(keep_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"keep_fraction must be a number in (0, 1], got {keep_fraction!r}") from None
    if not (0.0 < c <= 1.0):
        raise ValueError(f"keep_fraction must be in (0, 1], got {c}")
    return c


def node_parameter_fraction(keep: int, K: int) -> float:
    """Fraction of parameters kept by node pruning: k (N + 1) / (K (N + 1)) = k / K."""
    return check_keep(keep, K) / K


def edge_parameter_fraction(keep_fraction: float, N: int | None = None) -> float:
    """Fraction of parameters kept by edge pruning: (e + 1) / (N + 1) with e = c N; c as N -> infinity."""
    c = check_keep_fraction(keep_fraction)
    if N is None:
        return c
    N = _check_N(N)
    return (round(c * N) + 1) / (N + 1)
