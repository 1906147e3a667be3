"""Figures of pruned finite-N students: errors vs budget with theory, reweighting, coordinate histograms."""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save

SCHEME_COLORS = {
    "random-node": "tab:blue",
    "importance-node": "tab:orange",
    "dpp-node": "tab:green",
    "random-edge": "tab:red",
    "importance-edge": "tab:purple",
    "dpp-edge": "tab:brown",
}


def pruned_errors(
    summary,
    path,
    *,
    measure="eps_g",
    theory_column=None,
    published=None,
    unpruned=True,
    reweight="none",
    title=None,
    pdf=False,
):
    """Pruned error vs node budget k, one panel per sigma: simulation points with error bars
    (``<measure>_mean`` +- ``<measure>_stderr``), theory lines (``theory_column``), published points.

    ``summary``: columns sigma, scheme, k, reweight, ``<measure>_mean``, ``<measure>_stderr`` and
    optionally ``theory_column``. ``published``: {sigma: {scheme: [values at k = 1..]}} or None.
    """
    plt = pyplot()
    s = {c: np.asarray(v) for c, v in summary.items()}
    sigmas = sorted(set(s["sigma"].tolist()))
    fig, axes = plt.subplots(1, len(sigmas), figsize=(5.2 * len(sigmas), 4.2), squeeze=False)
    for ax, sig in zip(axes[0], sigmas):
        base = (s["sigma"] == sig) & (s["reweight"] == reweight)
        schemes = [x for x in SCHEME_COLORS if np.any(base & (s["scheme"] == x))]
        for j, sch in enumerate(schemes):
            sel = base & (s["scheme"] == sch)
            k = s["k"][sel].astype(float)
            order = np.argsort(k)
            col = SCHEME_COLORS[sch]
            dx = (j - (len(schemes) - 1) / 2) * 0.04
            ax.errorbar(
                k[order] + dx,
                s[f"{measure}_mean"][sel][order],
                yerr=s[f"{measure}_stderr"][sel][order],
                fmt="o",
                ms=4,
                capsize=2,
                lw=1,
                color=col,
                label=f"{sch} (simulation)",
            )
            if theory_column and theory_column in s:
                ax.plot(k[order], s[theory_column][sel][order], "-", lw=1.3, color=col, alpha=0.8)
            if published and sig in published and sch in published[sig]:
                vals = np.asarray(published[sig][sch], dtype=float)
                ax.plot(np.arange(1, len(vals) + 1), vals, "x", ms=6, color=col)
        if unpruned:
            sel = (s["sigma"] == sig) & (s["scheme"] == "unpruned")
            if np.any(sel):
                ax.axhline(s[f"{measure}_mean"][sel][0], color="k", ls=":", lw=1, label="unpruned")
        ax.set_yscale("log")
        ax.set_xlabel("node budget k")
        ax.set_ylabel("noisy test loss" if measure == "test_loss" else r"$\epsilon_g$ (noise-free)")
        ax.set_title(rf"$\sigma$ = {sig:g}", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    handles, labels = axes[0][0].get_legend_handles_labels()
    extra = (
        "points: simulation, mean +- s.e.; lines: N -> infinity theory from the measured order parameters; "
        "edge schemes keep e = round((kN+k-K)/K) per unit"
    )
    if published:
        extra += "; x: published (paper, about +-0.05)"
    axes[0][-1].legend(handles, labels, fontsize=7, loc="upper right")
    fig.suptitle((title + "\n" if title else "") + extra, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return save(fig, path, pdf=pdf)


def reweighting_effect(panels, path, *, measure="eps_g", pdf=False):
    """Pruned error with and without reweighting. ``panels``: list of (title, summary) with columns
    scheme, k, reweight, ``<measure>_mean``, ``<measure>_stderr`` (one sigma each)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5.2), squeeze=False)
    styles = {
        "none": ("o", "-"),
        "fuse-preactivation": ("s", "--"),
        "fuse-activation": ("^", "-."),
        "edge-lsq": ("D", "--"),
    }
    for ax, (ttl, summary) in zip(axes[0], panels):
        s = {c: np.asarray(v) for c, v in summary.items()}
        for sch in SCHEME_COLORS:
            for rw, (mk, ls) in styles.items():
                sel = (s["scheme"] == sch) & (s["reweight"] == rw)
                if not np.any(sel):
                    continue
                k = s["k"][sel].astype(float)
                o = np.argsort(k)
                ax.errorbar(
                    k[o],
                    s[f"{measure}_mean"][sel][o],
                    yerr=s[f"{measure}_stderr"][sel][o],
                    marker=mk,
                    ls=ls,
                    ms=4,
                    capsize=2,
                    lw=1,
                    color=SCHEME_COLORS[sch],
                    label=f"{sch}, {rw}",
                )
        ax.set_yscale("log")
        ax.set_xlabel("node budget k")
        ax.set_ylabel("noisy test loss" if measure == "test_loss" else r"$\epsilon_g$ (noise-free)")
        ax.set_title(ttl, fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    return save(fig, path, pdf=pdf)


def coordinate_histograms(W, Wstar, C, path, *, check=None, max_units=6, pdf=False):
    """Gaussian-coordinate hypothesis (docs/theory/pruning.md): histograms of the coordinates w_ij of each
    student unit against N(0, Q_ii), and 2-D histograms of (w_ij, w*_nj) against the 1, 2, 3
    sigma ellipses of N(0, [[Q_ii, R_in], [R_in, T_nn]]). ``C`` = [[Q, R], [R^T, T]];
    ``check``: optional output of statmech.pruning.finite.students.coordinate_check (KS numbers in titles)."""
    plt = pyplot()
    W, Wstar, C = np.asarray(W), np.asarray(Wstar), np.asarray(C)
    K, M = W.shape[0], Wstar.shape[0]
    units = list(range(min(K, max_units)))
    fig, axes = plt.subplots(3, len(units), figsize=(2.6 * len(units), 8.0), squeeze=False)
    pks = None if check is None else dict(zip(check["pairs"]["pair"], check["pairs"]["ks"]))
    ks = None if check is None else dict(zip(check["marginals"]["name"], check["marginals"]["ks"]))
    for c, i in enumerate(units):
        ax = axes[0][c]
        q = C[i, i]
        x = np.linspace(-4.5, 4.5, 300) * np.sqrt(q)
        ax.hist(W[i], bins=max(10, int(np.sqrt(W.shape[1]))), density=True, color="0.7", edgecolor="0.5", lw=0.3)
        ax.plot(x, np.exp(-(x**2) / (2 * q)) / np.sqrt(2 * np.pi * q), "r-", lw=1.2)
        t = f"$w_{{{i}j}}$, Q={q:.2f}"
        if ks:
            t += f"\nKS={ks[f'w{i}']:.3f}"
        ax.set_title(t, fontsize=8)
        ax.tick_params(labelsize=7)
        # student i against the teacher it overlaps most
        n = int(np.argmax(np.abs(C[i, K : K + M])))
        ax = axes[1][c]
        ax.plot(Wstar[n], W[i], ".", ms=1.5, color="0.3", alpha=0.6)
        S = np.array([[C[K + n, K + n], C[K + n, i]], [C[i, K + n], C[i, i]]])
        lam, U = np.linalg.eigh(S)
        th = np.linspace(0, 2 * np.pi, 200)
        circle = np.stack([np.cos(th), np.sin(th)])
        for r in (1, 2, 3):
            e = U @ (r * np.sqrt(np.maximum(lam, 0))[:, None] * circle)
            ax.plot(e[0], e[1], "r-", lw=0.8)
        ax.set_xlabel(f"$w^*_{{{n}j}}$", fontsize=8)
        ax.set_ylabel(f"$w_{{{i}j}}$", fontsize=8)
        ax.set_title(f"R={C[i, K + n]:.2f}, T={C[K + n, K + n]:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
        # residual given the teacher coordinate: Gaussian with variance Q_ii - R_in^2 / T_nn under the hypothesis
        ax = axes[2][c]
        b = C[i, K + n] / C[K + n, K + n]
        var = max(C[i, i] - C[i, K + n] * b, 1e-300)
        r = W[i] - b * Wstar[n]
        x = np.linspace(-4.5, 4.5, 300) * np.sqrt(var)
        ax.hist(r, bins=max(10, int(np.sqrt(W.shape[1]))), density=True, color="0.7", edgecolor="0.5", lw=0.3)
        ax.plot(x, np.exp(-(x**2) / (2 * var)) / np.sqrt(2 * np.pi * var), "r-", lw=1.2)
        t = f"$w_{{{i}j}} - (R/T) w^*_{{{n}j}}$"
        if pks:
            t += f"\nKS={pks[f'w{i}|w*{n}']:.3f}"
        ax.set_title(t, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        "coordinates of a trained student vs the hypothesised Gaussian N(0, [[Q,R],[R^T,T]]) (red)", fontsize=9
    )
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def inclusion_probabilities(results, path, *, pdf=False):
    """DPP-edge inclusion frequencies from the real kernel vs lam w^2 / (1 + lam w^2).

    ``results``: list of (label, w, freq, pi, n_masks)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), squeeze=False)
    for ax, (label, w, freq, pi, n) in zip(axes[0], results):
        w = np.asarray(w)
        o = np.argsort(np.abs(w))
        se = np.sqrt(np.asarray(pi) * (1 - np.asarray(pi)) / n)
        ax.plot(np.abs(w)[o], np.asarray(freq)[o], ".", ms=3, color="0.3", label="k-DPP samples (real kernel)")
        ax.plot(np.abs(w)[o], np.asarray(pi)[o], "r-", lw=1.2, label=r"$\lambda w^2/(1+\lambda w^2)$")
        ax.fill_between(
            np.abs(w)[o], (pi - 2 * se)[o], (pi + 2 * se)[o], color="r", alpha=0.15, lw=0, label="+-2 sampling s.e."
        )
        ax.set_xlabel("|w_ij|")
        ax.set_ylabel("inclusion probability")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    return save(fig, path, pdf=pdf)
