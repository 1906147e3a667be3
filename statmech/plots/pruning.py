"""Pruning figures (N -> infinity theory): claims phase diagram and pruned errors vs budget.

The functions take computed results (``statmech.pruning`` outputs or the CSV
tables written by ``statmech prune``), never compute them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.vocabulary import SCHEMES
from statmech.plots.style import (
    UNPRUNED,
    legend_outside,
    published_points,
    pyplot,
    save,
    scheme_handles,
    scheme_style,
    source_handles,
    theory_line,
)

# verdict -> (colour, marker, size): told apart by the marker as well as the colour
_VERDICT_STYLE = {"holds": ("#009E73", "s", 16), "fails": ("#D55E00", "x", 18), "tie": ("0.55", "o", 9)}
# each claim defined where it is drawn (statmech.pruning.theory.claims)
_CLAIM_TITLES = {
    "C1": "C1: DPP node beats random node",
    "C2": "C2: random edge beats DPP node",
    "C3": "C3: DPP edge beats every other scheme",
    "C3x": "C3x: DPP edge beats every scheme\nexcept importance edge",
}


def phase_diagram(
    idealised: dict,
    trained: dict | None,
    zcrit: tuple[ArrayLike, ArrayLike] | None = None,
    path: str | Path = "pruning_phase_diagram.png",
    *,
    claims: Sequence[str] = ("C1", "C2", "C3", "C3x"),
    pdf: bool = False,
) -> Path:
    """Where each claim holds over (z = K/M, kept fraction k/K): one column per claim.

    ``idealised`` / ``trained``: row dicts of ``idealised_phase_diagram`` /
    ``trained_phase_diagram`` (keys z, keep_fraction, C1, ...). ``zcrit``:
    optional (fractions, z_crit) of ``z_crit_c2``, drawn in the C2 panels.
    """
    plt = pyplot()
    panels = [("idealised student (exact copies, v = v*/z)", idealised)]
    if trained is not None:
        panels.append(("ODE-trained student", trained))
    fig, axes = plt.subplots(
        len(panels),
        len(claims),
        figsize=(3.3 * len(claims), 3.1 * len(panels)),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    for r, (label, rows) in enumerate(panels):
        z = np.asarray(rows["z"], dtype=float)
        f = np.asarray(rows["keep_fraction"], dtype=float)
        for c, claim in enumerate(claims):
            ax = axes[r, c]
            verdict = np.asarray(rows[claim])
            for v, (col, mk, size) in _VERDICT_STYLE.items():
                sel = verdict == v
                if sel.any():
                    ax.scatter(z[sel], f[sel], s=size, color=col, label=v, marker=mk, linewidths=1.2)
            if claim == "C2" and zcrit is not None:
                cs, zc = (np.asarray(a, dtype=float) for a in zcrit)
                ok = np.isfinite(zc) & (zc <= max(z.max(), 1.0) * 1.05)
                ax.plot(zc[ok], cs[ok], "k-", lw=1.2, label=r"$z_{crit}(c)$ (balanced)")
            if r == 0:
                ax.set_title(_CLAIM_TITLES.get(claim, claim), fontsize=8.5)
            if c == 0:
                ax.set_ylabel(f"{label}\nkept fraction k/K", fontsize=8)
            if r == len(panels) - 1:
                ax.set_xlabel("z = K/M")
            ax.set_ylim(0, 1)
            ax.grid(True, alpha=0.3)
    handles, labels = [], []
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(
        "where each claim holds (N -> infinity theory, eps_g): 'beats' = lower pruned eps_g at the same "
        "parameter count; tie: equal within numerical error",
        fontsize=8.5,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return save(fig, path, pdf=pdf)


def pruned_errors(
    fractions: ArrayLike,
    errors: Mapping[str, Any],
    path: str | Path,
    *,
    unpruned: float | None = None,
    published: dict | None = None,
    published_offset: float = 0.0,
    title: str | None = None,
    ylabel: str | None = None,
    log: bool = False,
    pdf: bool = False,
) -> Path:
    """eps_g vs fraction of parameters kept: one theory line per scheme, published values as hollow markers.

    ``errors``: {scheme: sequence}; ``published``: optional {scheme: sequence} of the paper's values
    (subtract ``published_offset``, e.g. sigma^2/2, to put test losses on the eps_g scale). Styles:
    :mod:`statmech.plots.style`; the legend sits outside the axes.
    """
    from matplotlib.lines import Line2D

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.4, 4.2))
    x = np.asarray(fractions, dtype=float)
    order = [s for s in SCHEMES if s in errors] + [s for s in errors if s not in SCHEMES]
    for s in order:
        scheme_style(s)  # a name outside the vocabulary is an error, not an unstyled line
        theory_line(ax, x, errors[s], s)
    for s, y in (published or {}).items():
        published_points(ax, x, np.asarray(y, dtype=float) - published_offset, s)
    handles = scheme_handles(order, markers=bool(published))
    handles += source_handles(
        theory=r"theory, $N\to\infty$",
        simulation=None,
        published="published (paper" + (", shifted by -sigma^2/2)" if published_offset else ")") if published else None,
    )
    if unpruned is not None:
        ax.axhline(unpruned, color=UNPRUNED.color, lw=0.9, ls=UNPRUNED.linestyle)
        handles.append(Line2D([], [], color=UNPRUNED.color, lw=0.9, ls=UNPRUNED.linestyle, label="unpruned"))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("fraction of parameters kept")
    ax.set_ylabel(ylabel or r"$\epsilon_g$ (noise-free)")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    legend_outside(ax, handles)
    fig.tight_layout()
    return save(fig, path, pdf=pdf)
