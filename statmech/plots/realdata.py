"""Real-data pruning figure: test error vs parameters remaining, per scheme (paper's style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from statmech.core.vocabulary import NO_REWEIGHT, SCHEMES
from statmech.plots.style import (
    UNPRUNED,
    published_points,
    pyplot,
    save,
    scheme_handles,
    simulation_points,
    source_handles,
)


def _plain_log_axis(ax):
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def _reweighted(value) -> bool:
    """A row's reweight entry (a reweighting name, or a boolean as in older tables) -> reweighted or not."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value) not in (NO_REWEIGHT, "False", "0", "")


def realdata_errors(
    rows: Sequence[Mapping[str, Any]],
    unpruned_error: float,
    path: str | Path,
    *,
    dataset: str = "digits",
    published: Mapping[str, Any] | None = None,
    pdf: bool = False,
) -> Path:
    """Panels of test error (%) vs fraction of first-layer edges kept (node budgets matched by parameters).

    ``rows``: dicts from :func:`statmech.pruning.finite.mlp.prune_mlp`; one panel per reweighting
    choice present (simulation points: mean +- standard deviation over rounds). ``published``: optional
    table from :func:`statmech.experiments.published.mnist_errors`, drawn as hollow markers in its own
    panel, set apart and titled as the paper's MNIST values: another data set and network, not comparable
    with the panels on the left. Styles: :mod:`statmech.plots.style`.
    """
    from matplotlib.lines import Line2D

    plt = pyplot()
    rws = sorted({_reweighted(r["reweight"]) for r in rows})  # panels: without / with reweighting
    ncol = len(rws) + (1 if published else 0)
    widths = [1.0] * len(rws) + ([0.15, 1.0] if published else [])
    fig, axes = plt.subplots(
        1, len(widths), figsize=(4.6 * ncol + 2.4, 4.2), squeeze=False, gridspec_kw={"width_ratios": widths}
    )
    drawn = []
    for ax, rw in zip(axes[0], rws):
        for scheme in SCHEMES:
            sel = sorted(
                (r for r in rows if r["scheme"] == scheme and _reweighted(r["reweight"]) == rw),
                key=lambda r: r["fraction"],
            )
            if not sel:
                continue
            if scheme not in drawn:
                drawn.append(scheme)
            simulation_points(
                ax,
                [r["fraction"] for r in sel],
                [100 * r["error_mean"] for r in sel],
                [100 * r["error_std"] for r in sel],
                scheme,
                join=True,
            )
        ax.axhline(100 * unpruned_error, color=UNPRUNED.color, ls=UNPRUNED.linestyle, lw=1)
        ax.set_title(f"ours, {dataset}: {'with' if rw else 'no'} reweighting", fontsize=10)
        ax.set_xlabel("first-layer edges kept per unit\n(node schemes: the same parameter count)")
        ax.set_ylabel("test error (%)")
        _plain_log_axis(ax)
        ax.grid(alpha=0.3)
    handles = scheme_handles(drawn)
    handles += source_handles(theory=None, simulation=r"ours, mean $\pm$ s.d. over rounds", published=None)
    handles.append(
        Line2D(
            [],
            [],
            color=UNPRUNED.color,
            ls=UNPRUNED.linestyle,
            lw=1,
            label=f"unpruned ({dataset}; right: the paper's MNIST value)" if published else f"unpruned ({dataset})",
        )
    )
    if published:
        axes[0][len(rws)].axis("off")  # a gap: the published panel is not a continuation of ours
        ax = axes[0][-1]
        ax.set_facecolor("0.95")
        fr = np.asarray(published["edge_fractions"])
        for scheme, vals in published["error_percent"].items():
            vals = np.array([np.nan if v is None else v for v in vals], dtype=float)
            published_points(ax, fr, vals, scheme, ms=6)
            if scheme not in drawn:
                handles.insert(len(drawn), scheme_handles([scheme])[0])
                drawn.append(scheme)
        ax.axhline(published["unpruned_error_percent"], color=UNPRUNED.color, ls=UNPRUNED.linestyle, lw=1)
        ax.set_title("published, MNIST (not comparable:\ndifferent data and network)", fontsize=10)
        ax.set_xlabel("first-layer edges kept per unit")
        ax.set_ylabel("test error (%), paper's MNIST figure")
        _plain_log_axis(ax)
        ax.grid(alpha=0.3)
        handles += source_handles(theory=None, simulation=None, published="published, MNIST (read off the paper)")
    axes[0][-1].legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=7.5, frameon=False, borderaxespad=0
    )
    fig.tight_layout()
    return save(fig, path, pdf=pdf)
