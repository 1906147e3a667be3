"""Figures of pruning during and after training (statmech.pruning.retraining): computed results in, PNG out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.vocabulary import SCHEMES, is_node_scheme
from statmech.plots.style import (
    UNPRUNED,
    pyplot,
    save,
    scheme_handles,
    simulation_points,
    source_handles,
    theory_line,
)

if TYPE_CHECKING:
    from statmech.pruning.retraining import PrunedCurves


def _scheme_of(label: str) -> str:
    """The scheme a label starts with ("dpp-node, optimal" -> the DPP node scheme); "unpruned" for the unpruned student."""
    if label == "unpruned":
        return label
    for s in sorted(SCHEMES, key=len, reverse=True):
        if label.startswith(s):
            return s
    raise ValueError(f"label must start with a scheme name ({', '.join(SCHEMES)}); got {label!r}")


def _style_kw(label: str) -> dict[str, Any]:
    s = _scheme_of(label)
    return {"style": UNPRUNED} if s == "unpruned" else {"scheme": s}


def _positive(alpha: ArrayLike, *ys: ArrayLike) -> tuple[Any, ...]:  # arrays, splatted into plot calls
    alpha = np.asarray(alpha, dtype=np.float64)
    keep = alpha > 0
    return (alpha[keep],) + tuple(np.asarray(y, dtype=np.float64)[keep] for y in ys)


def _spread_note(curves: dict) -> str:
    """A caption note when the retrained curves ({label: (alpha, eps_g)}) end within 15% of each other."""
    ends = np.array([np.asarray(e, dtype=float)[-1] for _, e in curves.values()])
    if len(ends) < 2 or not np.all(np.isfinite(ends)) or ends.min() <= 0:
        return ""
    pct = 100 * (ends.max() - ends.min()) / ends.min()
    return f"\n(the {len(ends)} curves nearly coincide: they end within {pct:.0f}% of each other)" if pct < 15 else ""


def pruning_dynamics(
    curves: PrunedCurves | SimpleNamespace,
    path: str | Path,
    *,
    sim_pruned: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]] | None = None,
    retrained: Mapping[str, tuple[ArrayLike, ArrayLike]] | None = None,
    sim_retrained: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]] | None = None,
    limit: Mapping[str, tuple[ArrayLike, ArrayLike]] | None = None,
    alpha_prune: float | None = None,
    title: str | None = None,
    pdf: bool = False,
) -> Path:
    """Two or three panels, log-log; styles of :mod:`statmech.plots.style`, one legend below the panels.

    (a) eps_g vs alpha of the unpruned student and of each scheme pruned at
    alpha: ``curves`` is a ``statmech.pruning.retraining.PrunedCurves`` or any object with
    ``alpha``, ``unpruned``, ``eps_g`` {scheme: array} and ``params`` (theory lines);
    ``sim_pruned``: {scheme or "unpruned": (alpha, mean, stderr)} simulation
    points. (b) node and (c) edge schemes retrained after pruning at
    ``alpha_prune``, against the retraining time: ``retrained`` {label:
    (alpha, eps_g)} ODE lines (label starts with the scheme name),
    ``sim_retrained`` {label: (alpha, mean, stderr)} SGD points (same labels),
    ``limit`` {label: (alpha, eps_g)} thin light lines: the N -> infinity expectations over masks.
    """
    from matplotlib.lines import Line2D

    plt = pyplot()
    panels = 1 + (2 if retrained else 0)
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.6), squeeze=False)
    ax = axes[0, 0]
    a, un = _positive(curves.alpha, curves.unpruned)
    theory_line(ax, a, un, style=UNPRUNED, lw=2.0)
    drawn = []
    for s, e in curves.eps_g.items():
        drawn.append(_scheme_of(s))
        theory_line(ax, *_positive(curves.alpha, e), **_style_kw(s))
    for s, (al, m, se) in (sim_pruned or {}).items():
        simulation_points(ax, *_positive(al, m, se), ms=3.5, **_style_kw(s))
    p = curves.params
    if p.get("keep") is not None:
        desc = f"k={p['keep']} units; edges matched" + (f" at N={p['N']}" if p.get("N") else "")
    else:
        desc = f"keep fraction c={p.get('keep_fraction')}"
    ax.set_title(f"(a) pruned at alpha ({desc})", fontsize=9)
    ax.set_xlabel(r"$\alpha$ at which the network is pruned")
    ax.set_ylabel(r"$\epsilon_g$ of the pruned network (noise-free)")
    if retrained:
        for j, kind in enumerate(("node", "edge")):
            ax = axes[0, 1 + j]
            mine = {lab: v for lab, v in retrained.items() if is_node_scheme(_scheme_of(lab)) == (kind == "node")}
            for lab, (al, e) in mine.items():
                theory_line(ax, *_positive(al, e), **_style_kw(lab))
            for lab, (al, e) in (limit or {}).items():
                if is_node_scheme(_scheme_of(lab)) == (kind == "node"):
                    theory_line(ax, *_positive(al, e), lw=0.9, tone=0.45, **_style_kw(lab))
            for lab, (al, m, se) in (sim_retrained or {}).items():
                if is_node_scheme(_scheme_of(lab)) == (kind == "node"):
                    simulation_points(ax, *_positive(al, m, se), ms=3.5, **_style_kw(lab))
            when = f" at alpha={alpha_prune:g}" if alpha_prune is not None else ""
            ax.set_title(f"({'bc'[j]}) {kind} pruning{when}, then retraining" + _spread_note(mine), fontsize=9)
            ax.set_xlabel(r"retraining time $\alpha - \alpha_{prune}$")
            ax.set_ylabel(r"$\epsilon_g$ while retraining (noise-free)")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
    handles = [Line2D([], [], color=UNPRUNED.color, ls=UNPRUNED.linestyle, lw=2.0, label="unpruned")]
    handles += scheme_handles([s for s in SCHEMES if s in drawn])
    handles += source_handles(theory="ODE / N -> infinity theory", simulation=r"SGD $\pm$ s.e.", published=None)
    if limit:
        handles.append(
            Line2D([], [], color="0.65", lw=0.9, label="thin light line: N -> infinity expectation over masks")
        )
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=7.5, frameon=False, bbox_to_anchor=(0.5, 0.0))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return save(fig, path, pdf=pdf)


def masked_deviation(
    Ns: ArrayLike,
    deviations: Mapping[str, tuple[ArrayLike, ArrayLike]],
    path: str | Path,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    pdf: bool = False,
) -> Path:
    """RMS deviation |masked SGD - masked ODE| against N, log-log, with the 1/sqrt(N) slope for reference.

    ``deviations``: {label: (rms (n_N,), rms_error (n_N,))}, labels starting with a scheme name.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 3.9))
    Ns = np.asarray(Ns, dtype=np.float64)
    for lab, (d, err) in deviations.items():
        d = np.asarray(d, dtype=np.float64)
        simulation_points(ax, Ns, d, err, join=True, label=(labels or {}).get(lab, lab), **_style_kw(lab))
        theory_line(ax, Ns, d[0] * np.sqrt(Ns[0] / Ns), lw=0.9, ls=(0, (1, 1.5)), **_style_kw(lab))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("RMS (single SGD run - ODE) of eps_g")
    ax.set_title(title or "masked retraining: finite-N deviation (dotted: 1/sqrt N)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path, pdf=pdf)
