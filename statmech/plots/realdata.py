"""Real-data pruning figure: test error vs parameters remaining, per scheme (paper's style)."""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save


def _plain_log_axis(ax):
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


SCHEME_STYLE = {
    "random-node": ("tab:blue", "o"),
    "importance-node": ("tab:orange", "s"),
    "dpp-node": ("tab:green", "^"),
    "random-edge": ("tab:red", "v"),
    "importance-edge": ("tab:purple", "D"),
    "dpp-edge": ("tab:brown", "P"),
}


def realdata_errors(rows, unpruned_error, path, *, dataset="digits", published=None, pdf=False):
    """Panels of test error (%) vs fraction of first-layer edges kept (node budgets matched by parameters).

    ``rows``: dicts from :func:`statmech.pruning.finite.mlp.run_experiment`; one panel per
    reweighting choice present. ``published``: optional table from
    :func:`statmech.experiments.published.mnist_errors`, drawn in its own panel and labelled
    as the paper's MNIST values (another data set: for comparison of shapes only).
    """
    plt = pyplot()
    rws = sorted({r["reweight"] for r in rows})
    ncol = len(rws) + (1 if published else 0)
    fig, axes = plt.subplots(1, ncol, figsize=(4.6 * ncol, 3.9), squeeze=False, sharey=False)
    for ax, rw in zip(axes[0], rws):
        for scheme in SCHEME_STYLE:
            sel = sorted(
                (r for r in rows if r["scheme"] == scheme and r["reweight"] == rw), key=lambda r: r["fraction"]
            )
            if not sel:
                continue
            color, marker = SCHEME_STYLE[scheme]
            x = [r["fraction"] for r in sel]
            y = [100 * r["error_mean"] for r in sel]
            e = [100 * r["error_std"] for r in sel]
            ax.errorbar(x, y, yerr=e, color=color, marker=marker, ms=4, capsize=2, lw=1.3, label=scheme)
        ax.axhline(100 * unpruned_error, color="k", ls="--", lw=1, label="unpruned")
        ax.set_title(f"{dataset}: {'with' if rw else 'no'} reweighting", fontsize=10)
        ax.set_xlabel("first-layer edges kept per unit (nodes: same parameter count)")
        ax.set_ylabel("test error (%)")
        _plain_log_axis(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    if published:
        ax = axes[0][-1]
        fr = np.asarray(published["edge_fractions"])
        for scheme, vals in published["error_percent"].items():
            vals = np.array([np.nan if v is None else v for v in vals], dtype=float)
            color, marker = SCHEME_STYLE.get(scheme, ("gray", "x"))
            ax.plot(fr, vals, color=color, marker=marker, ms=4, lw=1.3, ls=":", label=f"{scheme} (published)")
        ax.axhline(published["unpruned_error_percent"], color="k", ls="--", lw=1, label="unpruned (published)")
        ax.set_title("paper's MNIST values (read off its figure)", fontsize=10)
        ax.set_xlabel("first-layer edges kept per unit")
        ax.set_ylabel("test error (%)")
        _plain_log_axis(ax)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return save(fig, path, pdf=pdf)
