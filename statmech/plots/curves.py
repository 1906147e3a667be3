"""Learning-curve figures: eps_g(alpha) from the ODE, optionally with simulation points."""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save


def learning_curve(curves, path, *, title=None, simulation=None, pdf=False):
    """Log-log plot of eps_g(alpha).

    ``curves``: list of (label, alpha, eps_g) lines (alpha = 0 is dropped on
    the log axis). ``simulation``: optional list of (label, alpha, mean,
    stderr) point sets drawn with error bars.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, alpha, eps in curves:
        alpha, eps = np.asarray(alpha), np.asarray(eps)
        keep = alpha > 0
        ax.plot(alpha[keep], eps[keep], lw=1.8, label=label)
    for label, alpha, mean, err in simulation or []:
        alpha = np.asarray(alpha)
        keep = alpha > 0
        ax.errorbar(
            alpha[keep],
            np.asarray(mean)[keep],
            yerr=np.asarray(err)[keep],
            fmt="o",
            ms=3.5,
            capsize=2,
            lw=1,
            label=label,
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
