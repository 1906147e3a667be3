"""Learning-curve figures: eps_g(alpha) from the ODE, optionally with simulation points."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from statmech.plots.style import pyplot, save, series_style, simulation_points, theory_line


def learning_curve(
    curves: Sequence[tuple[str, ArrayLike, ArrayLike]],
    path: str | Path,
    *,
    title: str | None = None,
    simulation: Sequence[tuple[str, ArrayLike, ArrayLike, ArrayLike]] | None = None,
    pdf: bool = False,
) -> Path:
    """Log-log plot of eps_g(alpha).

    ``curves``: list of (label, alpha, eps_g) lines (alpha = 0 is dropped on
    the log axis). ``simulation``: optional list of (label, alpha, mean,
    stderr) point sets drawn with error bars. The i-th line and the i-th point set share
    :func:`statmech.plots.style.series_style` (i): theory a line, simulation filled markers.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (label, alpha, eps) in enumerate(curves):
        alpha, eps = np.asarray(alpha), np.asarray(eps)
        keep = alpha > 0
        theory_line(ax, alpha[keep], eps[keep], style=series_style(i), label=label)
    for i, (label, alpha, mean, err) in enumerate(simulation or []):
        alpha = np.asarray(alpha)
        keep = alpha > 0
        simulation_points(
            ax, alpha[keep], np.asarray(mean)[keep], np.asarray(err)[keep], style=series_style(i), ms=3.5, label=label
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"$\epsilon_g$ (noise-free generalisation error)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save(fig, path, pdf=pdf)
