"""Figures of the fixed-point analysis: eps_g of plateau and asymptotic states against eta; plateau length against ln N."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.plots.style import pyplot, save, series_style, simulation_points, theory_line


def errors_vs_eta(
    lines: Sequence[tuple[str, ArrayLike, ArrayLike, ArrayLike | None]],
    path: str | Path,
    *,
    eta_c: float | None = None,
    title: str | None = None,
    pdf: bool = False,
) -> Path:
    """eps_g (noise-free) of fixed points against the learning rate eta, log y axis.

    ``lines``: list of (label, eta, eps_g, stable) with ``stable`` a boolean
    array (unstable stretches thin and light) or None; the k-th line in
    :func:`statmech.plots.style.series_style` (k) (theory: lines, no markers). ``eta_c``: an
    optional critical learning rate drawn as a vertical line.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for k, (label, eta, eps, stable) in enumerate(lines):
        eta, eps = np.asarray(eta, dtype=float), np.asarray(eps, dtype=float)
        st = series_style(k)
        if stable is None:
            theory_line(ax, eta, eps, style=st, label=label)
            continue
        stable = np.asarray(stable, dtype=bool)
        theory_line(ax, eta, np.where(stable, eps, np.nan), style=st, label=label)
        if (~stable).any():
            theory_line(
                ax, eta, np.where(~stable, eps, np.nan), style=st, lw=0.9, tone=0.45, label=f"{label} (unstable)"
            )
    if eta_c is not None:
        ax.axvline(eta_c, color="0.4", lw=1, ls=":", label=rf"$\eta_c$ = {eta_c:.4g}")
    ax.set_yscale("log")
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(r"$\epsilon_g$ at the fixed point (noise-free)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save(fig, path, pdf=pdf)


def plateau_length_vs_log_n(
    sets: Sequence[tuple[str, ArrayLike, ArrayLike, Any]],
    path: str | Path,
    *,
    predicted_slope: float | None = None,
    title: str | None = None,
    pdf: bool = False,
) -> Path:
    """Plateau length against ln N: points per run and the fitted line a + b ln N.

    ``sets``: list of (label, N, length, fit) with ``fit`` a
    :class:`statmech.analysis.plateaus.LogFit` (or None). ``predicted_slope``: 1/(2
    lambda) from the plateau's escape rate, drawn through the first set's mean.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for k, (label, N, length, fit) in enumerate(sets):
        N, length = np.asarray(N, dtype=float), np.asarray(length, dtype=float)
        st = series_style(k + 1)
        simulation_points(
            ax,
            np.log(N),
            length,
            None,
            style=st,
            ms=4,
            alpha=0.7,
            label=label if fit is None else f"{label}: slope {fit.slope:.3g} $\\pm$ {fit.slope_stderr:.2g}",
        )
        if fit is not None:
            x = np.linspace(np.log(N).min(), np.log(N).max(), 50)
            theory_line(ax, x, fit.intercept + fit.slope * x, style=st, lw=1.2, label=f"{label}: fit a + b ln N")
    if predicted_slope is not None and sets:
        _, N, length, _ = sets[0]
        N, length = np.asarray(N, dtype=float), np.asarray(length, dtype=float)
        keep = np.isfinite(length)
        x0, y0 = np.log(N[keep]).mean(), length[keep].mean()
        x = np.linspace(np.log(N).min(), np.log(N).max(), 50)
        theory_line(
            ax,
            x,
            y0 + predicted_slope * (x - x0),
            style=series_style(0),
            ls=(0, (1, 1.5)),
            lw=1.4,
            label=rf"slope 1/(2$\lambda$) = {predicted_slope:.3g} (fixed point)",
        )
    ax.set_xlabel(r"$\ln N$")
    ax.set_ylabel(r"plateau length (in $\alpha$)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save(fig, path, pdf=pdf)
