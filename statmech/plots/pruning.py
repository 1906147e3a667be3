"""Pruning figures (N -> infinity theory): claims phase diagram and pruned errors vs budget.

The functions take computed results (``statmech.pruning`` outputs or the CSV
tables written by ``statmech prune``), never compute them.
"""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save

_COLOURS = {"holds": "tab:green", "fails": "tab:red", "tie": "tab:gray"}
_SCHEME_STYLE = {
    "random-node": ("tab:blue", "o", "--"),
    "importance-node": ("tab:orange", "s", "--"),
    "dpp-node": ("tab:green", "^", "--"),
    "random-edge": ("tab:purple", "D", "-"),
    "importance-edge": ("tab:red", "v", "-"),
    "dpp-edge": ("tab:olive", "P", "-"),
}
_CLAIM_TITLES = {
    "C1": "C1: DPP node < random node",
    "C2": "C2: random edge < DPP node",
    "C3": "C3: DPP edge < all others",
    "C3x": "C3x: DPP edge < all but importance edge",
}


def phase_diagram(
    idealised: dict,
    trained: dict | None,
    zcrit=None,
    path="pruning_phase_diagram.png",
    *,
    claims=("C1", "C2", "C3", "C3x"),
    pdf=False,
):
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
            for v, col in _COLOURS.items():
                sel = verdict == v
                if sel.any():
                    ax.scatter(z[sel], f[sel], s=14, color=col, label=v, marker="s")
            if claim == "C2" and zcrit is not None:
                cs, zc = (np.asarray(a, dtype=float) for a in zcrit)
                ok = np.isfinite(zc) & (zc <= max(z.max(), 1.0) * 1.05)
                ax.plot(zc[ok], cs[ok], "k-", lw=1.2, label=r"$z_{crit}(c)$ (balanced)")
            if r == 0:
                ax.set_title(_CLAIM_TITLES.get(claim, claim), fontsize=9)
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
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, path, pdf=pdf)


def pruned_errors(
    fractions,
    errors: dict,
    path,
    *,
    unpruned=None,
    published: dict | None = None,
    published_offset: float = 0.0,
    title=None,
    ylabel=None,
    log=False,
    pdf=False,
):
    """eps_g vs fraction of parameters kept, one line per scheme (node dashed, edge solid).

    ``errors``: {scheme: sequence}; ``published``: optional {scheme: sequence} of the
    paper's values drawn as open markers (subtract ``published_offset``, e.g.
    sigma^2/2, to put test losses on the eps_g scale).
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    x = np.asarray(fractions, dtype=float)
    for s, y in errors.items():
        col, mk, ls = _SCHEME_STYLE.get(s, ("k", "x", "-"))
        ax.plot(x, np.asarray(y, dtype=float), ls=ls, marker=mk, color=col, ms=5, label=f"{s} (theory)")
    for s, y in (published or {}).items():
        col, mk, _ = _SCHEME_STYLE.get(s, ("k", "x", "-"))
        ax.plot(
            x,
            np.asarray(y, dtype=float) - published_offset,
            ls="none",
            marker=mk,
            mfc="none",
            color=col,
            ms=9,
            label=f"{s} (paper)",
        )
    if unpruned is not None:
        ax.axhline(unpruned, color="k", lw=0.8, ls=":", label="unpruned")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("fraction of parameters kept")
    ax.set_ylabel(ylabel or r"$\epsilon_g$ (noise-free)")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6.5, ncol=2)
    return save(fig, path, pdf=pdf)
