"""Parameter budgets of node and edge pruning (docs/theory/pruning.md, docs/guide/reproduce.md).

Parameters are counted in the first plus second layer: keeping k of K nodes
keeps k (N + 1) of the K (N + 1) parameters; keeping e edges in each of the K
units keeps K (e + 1). The paper matches the two with
e = round((k N + k - K) / K) (rounding halves up: 82.5 -> 83, which gives the
paper's 83, 166, 250, 333, 417 for K = 6, N = 500).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

__all__ = [
    "Budget",
    "edges_per_unit",
    "units_for_edges",
    "keep_fraction_for_nodes",
    "node_parameter_fraction",
    "edge_parameter_fraction",
    "check_keep",
    "check_keep_fraction",
]


def check_keep(keep: object, K: int) -> int:
    """keep as an int in 1..K, else ValueError naming the range."""
    if (
        isinstance(keep, bool)
        or not isinstance(keep, (int,))
        and not (hasattr(keep, "__index__") and not isinstance(keep, float))
    ):
        raise ValueError(f"keep (number of kept units k) must be an integer in 1..K={K}, got {keep!r}")
    k = int(cast(Any, keep))  # an int or an object with __index__, checked above
    if not 1 <= k <= K:
        raise ValueError(f"keep (number of kept units k) must be in 1..K={K}, got {k}")
    return k


def _check_N(N: Any) -> int:
    if isinstance(N, bool) or not isinstance(N, int) and not hasattr(N, "__index__"):
        raise ValueError(f"N (input dimension) must be an integer >= 1, got {N!r}")
    N = int(N)
    if N < 1:
        raise ValueError(f"N (input dimension) must be an integer >= 1, got {N}")
    return N


def edges_per_unit(keep: int, K: int, N: int, outputs: int = 1) -> int:
    """e = round((k (N + H2) - K H2) / K): edges per unit with the parameters of k kept nodes (paper).

    H2 = ``outputs`` (the width of the next layer; 1 in teacher-student, where
    this is e = round((k N + k - K) / K)). Rounds halves up; e in 1..N.
    """
    k = check_keep(keep, K)
    N = _check_N(N)
    e = math.floor((k * (N + outputs) - K * outputs) / K + 0.5)
    return max(1, min(N, e))


def units_for_edges(edges: int, K: int, N: int, outputs: int = 1) -> int:
    """n = round(K (e + H2) / (N + H2)): units with the parameters of e edges per unit (the inverse matching).

    K (e + H2) = n (N + H2), H2 = ``outputs``; n in 1..K (Python's round, as the
    real-data experiments were computed with).
    """
    N = _check_N(N)
    e = _check_edges(edges, N)
    return min(K, max(1, int(round(K * (e + outputs) / (N + outputs)))))


def _check_edges(edges: Any, N: int) -> int:
    if isinstance(edges, bool) or not isinstance(edges, int) and not hasattr(edges, "__index__"):
        raise ValueError(f"edges (edges kept per unit e) must be an integer in 1..N={N}, got {edges!r}")
    e = int(edges)
    if not 1 <= e <= N:
        raise ValueError(f"edges (edges kept per unit e) must be in 1..N={N}, got {e}")
    return e


def keep_fraction_for_nodes(keep: int, K: int, N: int | None = None) -> float:
    """Edge keep fraction c matching k kept nodes: e / N at finite N, k / K as N -> infinity."""
    k = check_keep(keep, K)
    if N is None:
        return k / K
    return edges_per_unit(k, K, N) / _check_N(N)


def check_keep_fraction(keep_fraction: Any) -> float:
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


@dataclass(frozen=True)
class Budget:
    """What a pruned network keeps: ``keep`` = k units, ``fraction`` = c of every unit's edges, or ``edges`` = e per unit.

    Exactly one of the three. ``N`` (input dimension) is needed where a node budget
    is matched to edges at finite N (e = round((kN + k - K)/K), paper) or where e
    edges become a fraction e/N; without it a node budget k matches the edge
    fraction c = k/K (N -> infinity). Node schemes take k (a fraction c gives k = cK
    when that is a whole number); edge schemes any of the three.
    """

    keep: int | None = None
    fraction: float | None = None
    edges: int | None = None
    N: int | None = None

    def __post_init__(self) -> None:
        given = [n for n in ("keep", "fraction", "edges") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "a budget is exactly one of keep (units kept k), fraction (kept fraction c in (0, 1]) "
                f"or edges (edges kept per unit e); got {', '.join(given) or 'none'}"
            )
        if self.N is not None:
            object.__setattr__(self, "N", _check_N(self.N))
        if self.keep is not None:
            # the range 1..K is checked where K is known (units, edge_fraction, edges_per_unit)
            if isinstance(self.keep, bool) or not isinstance(self.keep, int) and not hasattr(self.keep, "__index__"):
                raise ValueError(f"keep (number of kept units k) must be an integer in 1..K, got {self.keep!r}")
            object.__setattr__(self, "keep", int(self.keep))
        elif self.fraction is not None:
            object.__setattr__(self, "fraction", check_keep_fraction(self.fraction))
        else:
            e = self.edges
            if isinstance(e, bool) or not isinstance(e, int) and not hasattr(e, "__index__"):
                raise ValueError(f"edges (edges kept per unit e) must be an integer in 1..N, got {e!r}")
            if self.N is not None:
                _check_edges(e, self.N)
            object.__setattr__(self, "edges", int(cast(int, e)))  # exactly one given: here edges, checked above

    @classmethod
    def of(
        cls,
        budget: Budget | int | float | None = None,
        *,
        keep: int | None = None,
        keep_fraction: float | None = None,
        N: int | None = None,
    ) -> Budget:
        """A Budget from a Budget, an int k or a float c (``budget``), or from the keywords ``keep`` / ``keep_fraction``."""
        if budget is None:
            if keep is None and keep_fraction is None:
                raise ValueError("a budget is needed: keep (units kept k), keep_fraction (c in (0, 1]) or a Budget")
            if keep is not None and keep_fraction is not None:
                raise ValueError("give either keep (units kept k) or keep_fraction (c), not both")
            return cls(keep=keep, N=N) if keep is not None else cls(fraction=keep_fraction, N=N)
        if keep is not None or keep_fraction is not None:
            raise ValueError("give the budget once: a Budget (or k, or c) or the keywords keep / keep_fraction")
        if isinstance(budget, cls):
            if N is not None and budget.N is not None and budget.N != N:
                raise ValueError(f"N={N} disagrees with the budget's N={budget.N}")
            return budget if N is None or budget.N is not None else cls(budget.keep, budget.fraction, budget.edges, N)
        if isinstance(budget, float):
            if not 0.0 < budget <= 1.0:
                raise ValueError(
                    f"keep (number of kept units k) must be an integer, and a float budget a fraction c in (0, 1]; "
                    f"got {budget!r}"
                )
            return cls(fraction=budget, N=N)
        if isinstance(budget, bool) or not hasattr(budget, "__index__"):
            raise ValueError(
                f"budget must be a Budget, an integer k (units kept) or a float c in (0, 1], got {budget!r}"
            )
        return cls(keep=int(cast(int, budget)), N=N)  # a Budget or a float returned above

    def _n(self, N: int | None) -> int | None:
        if N is None:
            return self.N
        N = _check_N(N)
        if self.N is not None and self.N != N:
            raise ValueError(f"the budget was given for N={self.N}, the network has N={N}")
        return N

    def units(self, K: int) -> int:
        """k for a node scheme: ``keep`` in 1..K, or c K when that is a whole number >= 1."""
        if self.keep is not None:
            return check_keep(self.keep, K)
        if self.edges is not None:
            raise ValueError(f"edges={self.edges} (edges per unit) is an edge budget; node schemes take keep=k units")
        assert self.fraction is not None  # __post_init__: exactly one of keep, fraction, edges
        k = self.fraction * K
        if abs(k - round(k)) > 1e-9 or round(k) < 1:
            raise ValueError(
                f"fraction={self.fraction} keeps c*K = {k:g} of the K={K} units for a node scheme: "
                "it must be a whole number >= 1 (give keep instead)"
            )
        return int(round(k))

    def edge_fraction(self, K: int, N: int | None = None) -> float:
        """Edge keep fraction c as N -> infinity: e/N of the paper's matching (N known), k/K, c, or e/N."""
        N = self._n(N)
        if self.keep is not None:
            return keep_fraction_for_nodes(self.keep, K, N)
        if self.fraction is not None:
            if self.N is not None:
                raise ValueError(
                    "N only matches a node budget keep=k to edges (e = round((kN + k - K)/K)) or turns edges=e "
                    "into e/N; with keep_fraction it has no role: give keep with N, or the fraction alone"
                )
            return self.fraction
        if N is None:
            raise ValueError(f"edges={self.edges} (edges per unit) needs N (the input dimension) to give e/N")
        return _check_edges(self.edges, N) / N

    def edges_per_unit(self, K: int, N: int, outputs: int = 1) -> int:
        """e at input dimension N: the paper's matching of k units, round(c N) (at least 1), or ``edges``."""
        N = cast(int, self._n(N))  # N given, so _n returns it (checked)
        if self.keep is not None:
            return edges_per_unit(check_keep(self.keep, K), K, N, outputs)
        if self.fraction is not None:
            return max(1, int(round(self.fraction * N)))
        return _check_edges(self.edges, N)

    def label(self) -> dict[str, float | None]:
        """{"k": k}, {"c": c} or {"e": e} for tables."""
        if self.keep is not None:
            return {"k": self.keep}
        return {"c": self.fraction} if self.fraction is not None else {"e": self.edges}

    def as_dict(self) -> dict[str, float]:
        return {
            k: v
            for k, v in (("keep", self.keep), ("fraction", self.fraction), ("edges", self.edges), ("N", self.N))
            if v is not None
        }
