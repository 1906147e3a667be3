"""Tables of ``pruned_error`` over schemes, budgets and reweightings (what ``statmech prune`` prints and writes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from statmech.core import vocabulary as V
from statmech.core.budgets import Budget, check_keep
from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.pruning.schemes import Scheme, schemes_with
from statmech.pruning.theory.errors import PrunedError, pruned_error

__all__ = ["PruneRow", "budget_grid", "table_schemes", "pruned_error_table", "parameter_fraction"]


@dataclass(frozen=True)
class PruneRow:
    """One line of a pruning table: the scheme's name, its budget label ({"k"}, {"k", "e"}, {"c"} or {"e"}),
    the reweighting and the ``PrunedError``."""

    scheme: str
    label: dict
    reweight: str
    result: PrunedError


def budget_grid(
    scheme: Scheme,
    K: int,
    *,
    keep: Sequence[int] | None = None,
    fraction: Sequence[float] | None = None,
    edges: Sequence[int] | None = None,
    N: int | None = None,
) -> list[tuple[dict[str, float], Budget]]:
    """[(label, Budget)] of one scheme: node schemes keep k in ``keep`` (default 1..K-1); edge schemes
    keep each fraction c, each e of ``edges`` (e/N, needs N) or each k of ``keep`` (the paper's matched
    e = round((kN + k - K)/K) with N, else c = k/K)."""
    if scheme.node:
        if fraction or edges:
            raise ValueError(f"{scheme.name} takes keep k (units kept), not a fraction or edges per unit")
        return [({"k": k}, Budget(keep=check_keep(k, K))) for k in (keep or range(1, K))]
    if sum(x is not None and len(x) > 0 for x in (keep, fraction, edges)) > 1:
        raise ValueError("give one kind of edge budget: keep (k units, matched), fraction (c) or edges (e per unit)")
    if edges:
        if N is None:
            raise ValueError("edges (edges kept per unit e) needs N (the input dimension) to give the fraction e/N")
        return [({"e": e}, Budget(edges=e, N=N)) for e in edges]
    if fraction:
        if N is not None:
            raise ValueError("N matches keep=k to edges or turns edges e into e/N; with a fraction it has no role")
        return [({"c": c}, Budget(fraction=c)) for c in fraction]
    out: list[tuple[dict[str, float], Budget]] = []
    for k in keep or range(1, K):
        kept = check_keep(k, K)
        b = Budget(keep=kept, N=N)
        lab: dict[str, float] = {"k": kept}
        if N is not None:
            lab["e"] = b.edges_per_unit(K, N)
        out.append((lab, b))
    return out


def table_schemes(
    schemes: Scheme | str | Sequence[Scheme | str], *, edge_budget: bool = False, **options: Any
) -> tuple[Scheme, ...]:
    """Scheme objects of a table; ``"all"`` with a fraction or edge budget means the three edge schemes."""
    names = [schemes] if isinstance(schemes, (str, Scheme)) else list(schemes)
    if edge_budget and any(isinstance(s, str) and V.ALL in V.split_names(s, "schemes") for s in names):
        names = list(V.EDGE_SCHEMES)
    return schemes_with(names, **options)


def pruned_error_table(
    state: State,
    schemes: Sequence[Scheme],
    *,
    keep: Sequence[int] | None = None,
    fraction: Sequence[float] | None = None,
    edges: Sequence[int] | None = None,
    N: int | None = None,
    reweight: str | Sequence[str] = (V.NO_REWEIGHT,),
    activation: str | None = None,
    n_samples: int | None = None,
    rng: np.random.Generator | int | None = None,
    model: Model | None = None,
) -> list[PruneRow]:
    """``pruned_error`` of every scheme object at every budget of :func:`budget_grid`, for every reweighting
    that applies to it (a reweighting that applies to none of the schemes is an error, as is
    ``n_samples`` when no scheme samples kept sets). The network is ``model`` or the ``activation``
    (default erf) of student and teacher. Returns [PruneRow]."""
    model = resolve_model(model, activation=activation)
    reweight = V.parse_reweights(reweight)
    for r in reweight:
        if not any(r in (V.NODE_REWEIGHTS if s.node else V.EDGE_REWEIGHTS) for s in schemes):
            raise ValueError(
                f"reweight {r!r} applies to none of the chosen schemes ({', '.join(s.name for s in schemes)})"
            )
    sampled = [s for s in schemes if s.name in (V.RANDOM_NODE, V.DPP_NODE)]
    if n_samples is not None and not sampled:
        raise ValueError("n_samples sets the Monte Carlo samples of random and DPP node pruning; none is chosen")
    rng = np.random.default_rng(rng)
    grids = [(s, budget_grid(s, state.K, keep=keep, fraction=fraction, edges=edges, N=N)) for s in schemes]
    rows = []
    for s, grid in grids:
        extra: dict[str, Any] = {"n_samples": n_samples, "rng": rng} if s in sampled else {}
        for lab, b in grid:
            for r in reweight:
                if r in (V.NODE_REWEIGHTS if s.node else V.EDGE_REWEIGHTS):
                    res = pruned_error(state, s, b, reweight=r, model=model, **extra)
                    rows.append(PruneRow(s.name, lab, r, res))
    return rows


def parameter_fraction(row: PruneRow, K: int) -> float:
    """k/K for node budgets, the kept fraction c = e/N (or c) for edges (the paper's parameter matching)."""
    r = row.result
    if r.keep_fraction is not None:
        return r.keep_fraction
    assert r.keep is not None  # a node result carries keep
    return r.keep / K
