"""Figures of pruned finite-N students: errors vs budget with theory, reweighting, coordinate histograms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.vocabulary import NO_REWEIGHT, SCHEMES, is_node_scheme
from statmech.plots.style import (
    REWEIGHT_LINES,
    UNPRUNED,
    integer_axis,
    legend_outside,
    published_points,
    pyplot,
    save,
    scheme_handles,
    scheme_style,
    simulation_points,
    source_handles,
    theory_line,
)


def _measure_label(measure):
    return "test loss on noisy labels" if measure == "test_loss" else r"$\epsilon_g$ (noise-free)"


def pruned_errors(
    summary: Mapping[str, Any],
    path: str | Path,
    *,
    measure: str = "eps_g",
    theory_column: str | None = None,
    published: Mapping[float, Mapping[str, Sequence[float]]] | None = None,
    unpruned: bool = True,
    reweight: str = "none",
    title: str | None = None,
    pdf: bool = False,
) -> Path:
    """Pruned error vs node budget k, one panel per sigma: simulation points with error bars
    (``<measure>_mean`` +- ``<measure>_stderr``), theory lines (``theory_column``), published points.

    ``summary``: columns sigma, scheme, k, reweight, ``<measure>_mean``, ``<measure>_stderr`` and
    optionally ``theory_column``. ``published``: {sigma: {scheme: [values at k = 1..]}} or None.
    Styles: :mod:`statmech.plots.style`; the legend sits outside the axes.
    """
    plt = pyplot()
    s = {c: np.asarray(v) for c, v in summary.items()}
    sigmas = sorted(set(s["sigma"].tolist()))
    fig, axes = plt.subplots(1, len(sigmas), figsize=(4.6 * len(sigmas) + 2.2, 4.2), squeeze=False)
    drawn = []
    for ax, sig in zip(axes[0], sigmas):
        base = (s["sigma"] == sig) & (s["reweight"] == reweight)
        schemes = [x for x in SCHEMES if np.any(base & (s["scheme"] == x))]
        for j, sch in enumerate(schemes):
            if sch not in drawn:
                drawn.append(sch)
            sel = base & (s["scheme"] == sch)
            k = s["k"][sel].astype(float)
            order = np.argsort(k)
            dx = (j - (len(schemes) - 1) / 2) * 0.05  # side by side, so that error bars do not hide each other
            simulation_points(
                ax, k[order] + dx, s[f"{measure}_mean"][sel][order], s[f"{measure}_stderr"][sel][order], sch
            )
            if theory_column and theory_column in s:
                theory_line(ax, k[order], s[theory_column][sel][order], sch)
            if published and sig in published and sch in published[sig]:
                vals = np.asarray(published[sig][sch], dtype=float)
                published_points(ax, np.arange(1, len(vals) + 1) + dx, vals, sch)
        if unpruned:
            sel = (s["sigma"] == sig) & (s["scheme"] == "unpruned")
            if np.any(sel):
                ax.axhline(s[f"{measure}_mean"][sel][0], color=UNPRUNED.color, ls=UNPRUNED.linestyle, lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("node budget k (units kept of K)")
        ax.set_ylabel(_measure_label(measure))
        integer_axis(ax.xaxis)
        ax.set_title(rf"$\sigma$ = {sig:g}", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    from matplotlib.lines import Line2D

    handles = scheme_handles(drawn)
    handles += source_handles(
        theory=r"theory, $N\to\infty$, measured order parameters" if theory_column and theory_column in s else None,
        published="published (paper, +-0.05)" if published else None,
    )
    if unpruned and np.any(s["scheme"] == "unpruned"):
        handles.append(Line2D([], [], color=UNPRUNED.color, ls=UNPRUNED.linestyle, lw=1, label="unpruned"))
    legend_outside(axes[0][-1], handles)
    extra = "edge schemes keep e = round((kN+k-K)/K) edges per unit (the node budget's parameter count)"
    fig.suptitle((title + "\n" if title else "") + extra, fontsize=8.5)
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def _coincide(s, measure, sch, rw):
    """True where the ``rw`` curve of ``sch`` equals its no-reweighting curve within one standard error."""
    a = (s["scheme"] == sch) & (s["reweight"] == rw)
    b = (s["scheme"] == sch) & (s["reweight"] == NO_REWEIGHT)
    if rw == NO_REWEIGHT or not (np.any(a) and np.any(b)):
        return False
    ka, kb = s["k"][a].astype(float), s["k"][b].astype(float)
    common = np.intersect1d(ka, kb)
    if not common.size:
        return False
    ia = [int(np.flatnonzero(ka == k)[0]) for k in common]
    ib = [int(np.flatnonzero(kb == k)[0]) for k in common]
    ya, yb = s[f"{measure}_mean"][a][ia], s[f"{measure}_mean"][b][ib]
    ea, eb = s[f"{measure}_stderr"][a][ia], s[f"{measure}_stderr"][b][ib]
    return bool(np.all(np.abs(ya - yb) <= np.hypot(np.nan_to_num(ea), np.nan_to_num(eb)) + 1e-12))


def reweighting_effect(
    panels: Sequence[tuple[str, Mapping[str, Any]]], path: str | Path, *, measure: str = "eps_g", pdf: bool = False
) -> Path:
    """Pruned error with and without reweighting: node schemes in the top row, edge schemes below, one
    column per entry of ``panels`` (list of (title, summary) with columns scheme, k, reweight,
    ``<measure>_mean``, ``<measure>_stderr``; one sigma each).

    Colour and marker: the scheme (:mod:`statmech.plots.style`); line style and marker fill: the
    reweighting. A reweighting whose curve equals the unreweighted one within one standard error at
    every budget says so in its legend entry (it is drawn beside it, shifted by 0.12 in k).
    """
    from matplotlib.lines import Line2D

    plt = pyplot()
    tables = [(ttl, {c: np.asarray(v) for c, v in summary.items()}) for ttl, summary in panels]
    kinds = [
        kind
        for kind in ("node", "edge")
        if any(np.any([is_node_scheme(x) == (kind == "node") for x in t["scheme"]]) for _, t in tables)
    ]
    fig, axes = plt.subplots(
        len(kinds), len(tables), figsize=(4.6 * len(tables) + 3.2, 3.8 * len(kinds)), squeeze=False
    )
    for r, kind in enumerate(kinds):
        entries = {}
        for c, (ttl, s) in enumerate(tables):
            ax = axes[r][c]
            schemes = [x for x in SCHEMES if is_node_scheme(x) == (kind == "node") and np.any(s["scheme"] == x)]
            rws = [rw for rw in REWEIGHT_LINES if np.any(s["reweight"] == rw)]
            for sch in schemes:
                st = scheme_style(sch)
                for rw in rws:
                    sel = (s["scheme"] == sch) & (s["reweight"] == rw)
                    if not np.any(sel):
                        continue
                    ls, fill = REWEIGHT_LINES[rw]
                    k = s["k"][sel].astype(float)
                    o = np.argsort(k)
                    same = _coincide(s, measure, sch, rw)
                    simulation_points(
                        ax,
                        k[o] + (0.12 if same else 0.0),
                        s[f"{measure}_mean"][sel][o],
                        s[f"{measure}_stderr"][sel][o],
                        sch,
                        join=True,
                        ls=ls,
                        fillstyle=fill,
                        mfcalt="white",
                    )
                    lab = f"{st.label}, {rw}" + (" (coincides with none)" if same else "")
                    if lab not in entries:
                        entries[lab] = Line2D(
                            [],
                            [],
                            color=st.color,
                            ls=ls,
                            marker=st.marker,
                            fillstyle=fill,
                            mfcalt="white",
                            mec="k",
                            mew=0.5,
                            label=lab,
                        )
            ax.set_yscale("log")
            ax.set_xlabel("node budget k (units kept of K)")
            ax.set_ylabel(_measure_label(measure))
            integer_axis(ax.xaxis)
            ax.set_title(f"{ttl}: {kind} schemes", fontsize=10)
            ax.grid(True, which="both", alpha=0.25)
        legend_outside(axes[r][-1], list(entries.values()), title="scheme, reweighting", title_fontsize=7.5)
    fig.suptitle(
        r"simulation: mean $\pm$ s.e. over students (filled markers, joined); the marker fill and line style give "
        "the reweighting",
        fontsize=8.5,
    )
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def coordinate_histograms(
    W: ArrayLike,
    Wstar: ArrayLike,
    C: ArrayLike,
    path: str | Path,
    *,
    check: Mapping[str, Any] | None = None,
    max_units: int = 6,
    pdf: bool = False,
) -> Path:
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


def inclusion_probabilities(
    results: Sequence[tuple[str, ArrayLike, ArrayLike, ArrayLike, int]], path: str | Path, *, pdf: bool = False
) -> Path:
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
