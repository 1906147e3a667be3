"""Standard figures of a sweep table: eps_g against a parameter, and a heatmap over two parameters.

Both take the table read by :func:`statmech.sweep.read_results` (already
filtered, e.g. with :func:`statmech.sweep.tables.select`); repeated points
(seeds) are averaged, with error bars of one standard error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.plots.style import integer_ticks_if_integral, pyplot, save, series_style, simulation_points
from statmech.sweep.tables import aggregate, pivot

__all__ = ["against_parameter", "heatmap", "heatmap_grid"]


def against_parameter(
    table: dict,
    x: str,
    path: str | Path,
    *,
    y: str = "eps_g",
    line: str | None = None,
    logx: bool = False,
    logy: bool = True,
    title: str | None = None,
    ylabel: str | None = None,
    pdf: bool = False,
) -> Path:
    """``y`` (default eps_g) against parameter ``x``, one line per value of ``line``; mean +- standard error.

    Points in :func:`statmech.plots.style.series_style` order; an integer parameter gets integer ticks."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    agg = aggregate(table, [line, x] if line else [x], y)
    groups = np.unique(agg[line]) if line else [None]
    for i, g in enumerate(groups):
        keep = agg[line] == g if line else np.ones(len(agg[x]), dtype=bool)
        xs = np.asarray(agg[x][keep], dtype=float)
        order = np.argsort(xs)
        simulation_points(
            ax,
            xs[order],
            agg["mean"][keep][order],
            agg["sem"][keep][order],
            style=series_style(i),
            join=True,
            ms=3.5,
            label=f"{line} = {g:g}" if line and not isinstance(g, str) else (f"{line} = {g}" if line else None),
        )
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    integer_ticks_if_integral(ax, agg[x])
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or (r"$\epsilon_g$ (noise-free generalisation error)" if y == "eps_g" else y))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    if line:
        ax.legend(fontsize=8, loc="best")
    return save(fig, path, pdf=pdf)


def heatmap(table: dict, x: str, y: str, path: str | Path, *, value: str = "eps_g", **kw: Any) -> Path:
    """Mean of ``value`` over the (``x``, ``y``) grid of a sweep table as a heatmap (options of :func:`heatmap_grid`)."""
    xs, ys, Z = pivot(table, x, y, value)
    kw.setdefault("label", value)
    return heatmap_grid(xs, ys, Z, path, xlabel=x, ylabel=y, **kw)


def heatmap_grid(
    xs: Sequence[Any] | np.ndarray,
    ys: Sequence[Any] | np.ndarray,
    Z: ArrayLike,
    path: str | Path,
    *,
    xlabel: str = "",
    ylabel: str = "",
    label: str = "",
    diverging: bool = False,
    zero_contour: bool = False,
    title: str | None = None,
    annotate: bool = False,
    pdf: bool = False,
) -> Path:
    """Heatmap of Z[j, i] at (xs[i], ys[j]) (from :func:`statmech.sweep.tables.pivot` or ``difference``).

    ``diverging=True`` centres a red-blue colour map on 0 (for a difference of
    two errors); ``zero_contour`` draws the line where Z changes sign (a phase
    boundary); ``annotate`` writes the numbers into the cells.
    """
    plt = pyplot()
    Z = np.asarray(Z, dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    if diverging:
        lim = float(np.nanmax(np.abs(Z))) if np.any(np.isfinite(Z)) else 1.0
        kw = dict(cmap="RdBu_r", vmin=-lim, vmax=lim)
    else:
        kw = dict(cmap="viridis")
    im = ax.imshow(Z, origin="lower", aspect="auto", interpolation="nearest", **kw)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([f"{v:g}" for v in xs], fontsize=8)
    ax.set_yticks(range(len(ys)))
    ax.set_yticklabels([f"{v:g}" for v in ys], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, label=label)
    if zero_contour and np.nanmin(Z) < 0 < np.nanmax(Z) and min(Z.shape) > 1:
        ax.contour(np.arange(len(xs)), np.arange(len(ys)), Z, levels=[0.0], colors="k", linewidths=1.5)
    if annotate:
        for j in range(len(ys)):
            for i in range(len(xs)):
                if np.isfinite(Z[j, i]):
                    ax.text(i, j, f"{Z[j, i]:.2g}", ha="center", va="center", fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return save(fig, path, pdf=pdf)
