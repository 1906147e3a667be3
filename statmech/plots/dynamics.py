"""Figures of pruning during and after training (statmech.pruning.retraining): computed results in, PNG out."""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save

SCHEME_COLORS = {
    "random-node": "tab:blue",
    "importance-node": "tab:orange",
    "dpp-node": "tab:green",
    "random-edge": "tab:purple",
    "importance-edge": "tab:red",
    "dpp-edge": "tab:brown",
}


def _color(label):
    for s, c in SCHEME_COLORS.items():
        if label.startswith(s):
            return c
    return "k"


def _points(ax, alpha, mean, err, color, label=None, shift=0.0):
    alpha, mean, err = (np.asarray(a, dtype=np.float64) for a in (alpha, mean, err))
    x = alpha - shift
    keep = x > 0
    ax.errorbar(
        x[keep], mean[keep], yerr=np.nan_to_num(err[keep]), fmt="o", ms=3, capsize=1.5, lw=0.8, color=color, label=label
    )


def pruning_dynamics(
    curves,
    path,
    *,
    sim_pruned=None,
    retrained=None,
    sim_retrained=None,
    limit=None,
    alpha_prune=None,
    title=None,
    pdf=False,
):
    """Two or three panels, log-log.

    (a) eps_g vs alpha of the unpruned student and of each scheme pruned at
    alpha: ``curves`` is a ``statmech.pruning.retraining.PrunedCurves`` (theory lines);
    ``sim_pruned``: {scheme or "unpruned": (alpha, mean, stderr)} simulation
    points. (b) node and (c) edge schemes retrained after pruning at
    ``alpha_prune``, against the retraining time: ``retrained`` {label:
    (alpha, eps_g)} ODE lines (label starts with the scheme name),
    ``sim_retrained`` {label: (alpha, mean, stderr)} SGD points (same labels),
    ``limit`` {label: (alpha, eps_g)} dashed N -> infinity expectations.
    """
    plt = pyplot()
    panels = 1 + (2 if retrained else 0)
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.3), squeeze=False)
    ax = axes[0, 0]
    a = np.asarray(curves.alpha)
    keep = a > 0
    ax.plot(a[keep], np.asarray(curves.unpruned)[keep], color="k", lw=2, label="unpruned")
    for s, e in curves.eps_g.items():
        ax.plot(a[keep], np.asarray(e)[keep], color=_color(s), lw=1.4, label=f"{s}, pruned at alpha")
    for s, (al, m, se) in (sim_pruned or {}).items():
        _points(ax, al, m, se, "k" if s == "unpruned" else _color(s))
    p = curves.params
    if p.get("keep") is not None:
        desc = f"k={p['keep']} units; edges matched" + (f" at N={p['N']}" if p.get("N") else "")
    else:
        desc = f"keep fraction c={p.get('keep_fraction')}"
    ax.set_title(f"(a) pruned at alpha ({desc})", fontsize=9)
    ax.set_xlabel(r"$\alpha$ at which the network is pruned")
    ax.set_ylabel(r"$\epsilon_g$")
    if retrained:
        for j, kind in enumerate(("node", "edge")):
            ax = axes[0, 1 + j]
            for lab, (al, e) in retrained.items():
                if kind not in lab.split(",")[0]:
                    continue
                al, e = np.asarray(al), np.asarray(e)
                k = al > 0
                ax.plot(al[k], e[k], color=_color(lab), lw=1.5, label=lab)
            for lab, (al, e) in (limit or {}).items():
                if kind not in lab.split(",")[0]:
                    continue
                al, e = np.asarray(al), np.asarray(e)
                k = al > 0
                ax.plot(al[k], e[k], color=_color(lab), lw=1.0, ls="--")
            for lab, (al, m, se) in (sim_retrained or {}).items():
                if kind not in lab.split(",")[0]:
                    continue
                _points(ax, al, m, se, _color(lab))
            when = f" at alpha={alpha_prune:g}" if alpha_prune is not None else ""
            ax.set_title(f"({'bc'[j]}) {kind} pruning{when}, then retraining", fontsize=9)
            ax.set_xlabel(r"retraining time $\alpha - \alpha_{prune}$")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6.5, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def masked_deviation(Ns, deviations, path, *, labels=None, title=None, pdf=False):
    """RMS deviation |masked SGD - masked ODE| against N, log-log, with the 1/sqrt(N) slope for reference.

    ``deviations``: {label: (rms (n_N,), rms_error (n_N,))}.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    Ns = np.asarray(Ns, dtype=np.float64)
    for lab, (d, err) in deviations.items():
        ax.errorbar(Ns, d, yerr=err, fmt="o-", ms=4, capsize=2, color=_color(lab), label=lab)
        ref = d[0] * np.sqrt(Ns[0] / Ns)
        ax.plot(Ns, ref, ls=":", color=_color(lab), lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("RMS (single SGD run - ODE) of eps_g")
    ax.set_title(title or "masked retraining: finite-N deviation (dotted: 1/sqrt N)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path, pdf=pdf)
