"""Figures of the fixed-point analysis: eps_g of plateau and asymptotic states against eta; plateau length against ln N."""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save


def errors_vs_eta(lines, path, *, eta_c=None, title=None, pdf=False):
    """eps_g (noise-free) of fixed points against the learning rate eta, log y axis.

    ``lines``: list of (label, eta, eps_g, stable) with ``stable`` a boolean
    array (stable points solid, unstable ones dashed) or None. ``eta_c``: an
    optional critical learning rate drawn as a vertical line.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for k, (label, eta, eps, stable) in enumerate(lines):
        eta, eps = np.asarray(eta, dtype=float), np.asarray(eps, dtype=float)
        color = f"C{k}"
        if stable is None:
            ax.plot(eta, eps, "-o", ms=3, color=color, label=label)
            continue
        stable = np.asarray(stable, dtype=bool)
        ax.plot(eta, np.where(stable, eps, np.nan), "-o", ms=3, color=color, label=label)
        if (~stable).any():
            ax.plot(eta, np.where(~stable, eps, np.nan), "--x", ms=4, color=color, label=f"{label} (unstable)")
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


def plateau_length_vs_log_n(sets, path, *, predicted_slope=None, title=None, pdf=False):
    """Plateau length against ln N: points per run and the fitted line a + b ln N.

    ``sets``: list of (label, N, length, fit) with ``fit`` a
    :class:`statmech.analysis.plateaus.LogFit` (or None). ``predicted_slope``: 1/(2
    lambda) from the plateau's escape rate, drawn through the first set's mean.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for k, (label, N, length, fit) in enumerate(sets):
        N, length = np.asarray(N, dtype=float), np.asarray(length, dtype=float)
        color = f"C{k}"
        ax.plot(
            np.log(N),
            length,
            "o",
            ms=3.5,
            alpha=0.6,
            color=color,
            label=label if fit is None else f"{label}: slope {fit.slope:.3g} $\\pm$ {fit.slope_stderr:.2g}",
        )
        if fit is not None:
            x = np.linspace(np.log(N).min(), np.log(N).max(), 50)
            ax.plot(x, fit.intercept + fit.slope * x, "-", color=color, lw=1.2)
    if predicted_slope is not None and sets:
        _, N, length, _ = sets[0]
        N, length = np.asarray(N, dtype=float), np.asarray(length, dtype=float)
        keep = np.isfinite(length)
        x0, y0 = np.log(N[keep]).mean(), length[keep].mean()
        x = np.linspace(np.log(N).min(), np.log(N).max(), 50)
        ax.plot(
            x,
            y0 + predicted_slope * (x - x0),
            "k:",
            lw=1.2,
            label=rf"slope 1/(2$\lambda$) = {predicted_slope:.3g} (fixed point)",
        )
    ax.set_xlabel(r"$\ln N$")
    ax.set_ylabel(r"plateau length (in $\alpha$)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save(fig, path, pdf=pdf)
