"""The paper's figures (docs/guide/reproduce.md "Figures to reproduce"): F1 grid, F2 heatmaps, F3 kernels, F4 learning curves.

Each function takes computed results (statmech.experiments) and only draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from statmech.core.vocabulary import DPP_EDGE, DPP_NODE, IMPORTANCE_EDGE, IMPORTANCE_NODE, RANDOM_EDGE, RANDOM_NODE
from statmech.plots.style import (
    UNPRUNED,
    config_label,
    published_points,
    pyplot,
    save,
    scheme_handles,
    series_style,
    sigma_tone,
    simulation_points,
    source_handles,
    theory_line,
    tint,
)

# (title, config, schemes): the paper's 2 x 3 grid; (e) all edge methods
F1_PANELS = (
    ("(a) random edge vs random node", "6:2", (RANDOM_EDGE, RANDOM_NODE)),
    ("(b) importance node vs importance edge", "6:2", (IMPORTANCE_NODE, IMPORTANCE_EDGE)),
    ("(c) DPP edge vs DPP node", "6:2", (DPP_EDGE, DPP_NODE)),
    ("(d) all node methods", "6:2", (RANDOM_NODE, IMPORTANCE_NODE, DPP_NODE)),
    ("(e) all edge methods", "6:2", (RANDOM_EDGE, IMPORTANCE_EDGE, DPP_EDGE)),
    ("(f) random edge vs DPP node", "5:20", (RANDOM_EDGE, DPP_NODE)),
)
SIGMAS = (0.0, 0.25)


def _rows(t, **eq):
    sel = np.ones(len(next(iter(t.values()))), dtype=bool)
    for c, v in eq.items():
        sel &= t[c] == v
    return sel


def _km(configs, name):
    """(K, M) of configuration ``name`` from {name: Config or dict with K, M}, or (None, None)."""
    c = (configs or {}).get(name)
    if c is None:
        return None, None
    get = c.get if isinstance(c, dict) else lambda k: getattr(c, k)
    return get("K"), get("M")


def f1_sizes_note(configs: dict, seeds: int, masks: int) -> str:
    """The simulation sizes in F1's caption: N, alpha per configuration (K:M labels), students x masks."""
    parts = []
    for name in configs:
        c = configs[name]
        get = c.get if isinstance(c, dict) else lambda k, c=c: getattr(c, k)
        parts.append(f"{config_label(name, get('K'), get('M'))}: N = {get('N')}, alpha = {get('alpha'):g}")
    return "; ".join(parts) + f"; {seeds} students x {masks} masks"


def f1_grid(
    table: Mapping[str, Any],
    path: str | Path,
    *,
    title: str | None = None,
    sizes_note: str = "",
    configs: Mapping[str, Any] | None = None,
    pdf: bool = False,
) -> Path:
    """F1: test loss vs parameters remaining (%), 2 x 3 panels; per scheme and sigma the N -> infinity theory
    (line), the simulation (filled markers, +- standard error) and the published points (hollow markers).

    Scheme styles: :mod:`statmech.plots.style`; sigma = 0.25 in a lighter tone of the scheme's colour.
    ``table``: columns of statmech.experiments.f1_table (config, sigma, scheme, k, published, theory,
    sim_mean, sim_stderr). ``configs``: optional {name: Config or dict with K, M} for the K:M labels."""
    from matplotlib.ticker import FuncFormatter

    plt = pyplot()
    t = {c: np.asarray(v) for c, v in table.items()}
    fig, axes = plt.subplots(2, 3, figsize=(13.5, 8.6))
    for ax, (ttl, cfg, schemes) in zip(axes.ravel(), F1_PANELS):
        K = (
            int(t["k"][_rows(t, config=cfg, scheme="unpruned")][0])
            if np.any(_rows(t, config=cfg, scheme="unpruned"))
            else None
        )
        for sch in schemes:
            for sig in SIGMAS:
                tone = sigma_tone(sig)
                sel = _rows(t, config=cfg, scheme=sch, sigma=sig)
                if not np.any(sel) or K is None:
                    continue
                k = t["k"][sel].astype(float)
                o = np.argsort(k)
                x = 100 * k[o] / K
                dx = 0.06 * (100 / K)  # simulation left, published right: markers and bars do not hide each other
                theory_line(ax, x, t["theory"][sel][o], sch, tone=tone)
                y, e = t["sim_mean"][sel][o], t["sim_stderr"][sel][o]
                ok = np.isfinite(y)
                simulation_points(ax, x[ok] - dx, y[ok], e[ok], sch, tone=tone)
                published_points(ax, x + dx, t["published"][sel][o], sch, tone=tone)
        # 6:2: 17%..83% and 100% on a log axis; 5:20: 5%..25% on a linear axis, unpruned values as text
        # (they lie far below the pruned ones and would squash the curves)
        wide = K is not None and K <= 10
        unpruned_txt = []
        for sig in SIGMAS:
            tone = sigma_tone(sig)
            sel = _rows(t, config=cfg, scheme="unpruned", sigma=sig)
            if not np.any(sel):
                continue
            i = np.flatnonzero(sel)[0]
            if not wide:
                unpruned_txt.append(
                    rf"$\sigma$ = {sig:g}: theory {t['theory'][i]:.2f}, simulation {t['sim_mean'][i]:.2f}"
                )
                continue
            ax.axhline(t["theory"][i], color=tint(UNPRUNED.color, tone), ls=UNPRUNED.linestyle, lw=1.0)
            if np.isfinite(t["sim_mean"][i]):
                simulation_points(ax, [100 - 1.5], [t["sim_mean"][i]], [t["sim_stderr"][i]], style=UNPRUNED, tone=tone)
            if np.isfinite(t["published"][i]):
                published_points(ax, [100 + 1.5], [t["published"][i]], style=UNPRUNED, tone=tone)
        if wide:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if f"{y:g}"[0] in "25" else ""))
        elif unpruned_txt:
            ax.text(
                0.98,
                0.97,
                "unpruned\n" + "\n".join(unpruned_txt),
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7.5,
                color="0.3",
            )
        if K:
            ticks = [round(100 * k / K) for k in range(1, 6)] + ([100] if wide else [])
            ax.set_xticks(ticks)
            ax.set_xlim(0, 104) if wide else ax.set_xlim(2, 28)
        ax.set_xlabel("parameters remaining (%)")
        ax.set_ylabel(r"test loss $\epsilon_g + \sigma^2/2$")
        ax.set_title(f"{ttl}, {config_label(cfg, *_km(configs, cfg))}", fontsize=9.5)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(
            handles=scheme_handles(schemes),
            fontsize=7.5,
            loc="upper right" if wide else "lower left",
            framealpha=0.9,
        )
    from matplotlib.lines import Line2D

    key = source_handles(
        theory=r"theory, $N\to\infty$",
        published="published (paper, single student)",
        tone={r"$\sigma$ = 0: full colour": 0.0, r"$\sigma$ = 0.25: light colour": 0.5},
    )
    key.append(
        Line2D([], [], color=UNPRUNED.color, ls=UNPRUNED.linestyle, marker=UNPRUNED.marker, label="unpruned at 100%")
    )
    fig.legend(handles=key, loc="lower center", ncol=6, fontsize=8.5, frameon=False, bbox_to_anchor=(0.5, 0.0))
    note = (
        "Test losses on noisy labels, eps_g + sigma^2/2. Theory: pruned N -> infinity order parameters of the "
        "ODE-trained student. Simulation: SGD students pruned with real masks"
        + (f"\n({sizes_note})" if sizes_note else "")
        + ". Published: read off the authors' figure (+-0.05). K:M = student units : teacher units."
    )
    fig.suptitle((title + "\n" if title else "") + note, fontsize=8.5)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return save(fig, path, pdf=pdf)


def _heat(ax, A, title, vmax, ticks_rows=None, ticks_cols=None, cmap="viridis"):
    im = ax.imshow(A, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=8.5)
    if ticks_rows is not None:
        ax.set_yticks(range(len(ticks_rows)))
        ax.set_yticklabels(ticks_rows, fontsize=7)
    if ticks_cols is not None:
        ax.set_xticks(range(len(ticks_cols)))
        ax.set_xticklabels(ticks_cols, fontsize=7, rotation=90 if len(ticks_cols) > 4 else 0)
    return im


def _unit_labels(units, teacher):
    return [f"{u} (T{n})" for u, n in zip(units, teacher)]


def f2_heatmaps(
    data: Mapping[str, Any], path: str | Path, *, k: int = 3, title: str | None = None, pdf: bool = False
) -> Path:
    """F2: |Q| (top) and |R| (bottom) of the student, rows permuted into teacher groups: unpruned, after DPP
    node pruning (most probable kept set, budget k) and expected over DPP edge masks (same budget).

    ``data``: statmech.experiments.f2_data."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(11.5, 7.4), layout="constrained")
    lab = _unit_labels(data["order"], data["teacher"])
    nd, ed = data["node"][k], data["edge"][k]
    nlab = _unit_labels(nd["kept"], nd["teacher"])
    M = data["R"].shape[1]
    tl = [f"T{n}" for n in range(M)]
    vq = max(data["Q"].max(), 1e-12)
    vr = max(data["R"].max(), 1e-12)
    panels = [
        (data["Q"], data["R"], lab, "unpruned"),
        (nd["Q"], nd["R"], nlab, f"DPP node, k = {k} (kept set of prob. {nd['prob']:.2f})"),
        (ed["Q"], ed["R"], lab, f"DPP edge, expected over masks\n(keep fraction c = {ed['keep_fraction']:.3f})"),
    ]
    for c, (Qa, Ra, rl, ttl) in enumerate(panels):
        im_q = _heat(axes[0][c], Qa, f"|Q|: {ttl}", vq, rl, rl)
        im_r = _heat(axes[1][c], Ra, f"|R|: {ttl}", vr, rl, tl, cmap="magma")
        axes[1][c].set_xlabel("teacher unit n")
        axes[0][c].set_xlabel("student unit k")
    axes[0][0].set_ylabel("student unit i (its teacher)")
    axes[1][0].set_ylabel("student unit i (its teacher)")
    fig.colorbar(im_q, ax=list(axes[0]), shrink=0.8, label="|Q_ik| (dimensionless)")
    fig.colorbar(im_r, ax=list(axes[1]), shrink=0.8, label="|R_in| (dimensionless)")
    fig.suptitle(
        (title + "\n" if title else "") + "rows ordered by the teacher unit each student unit copies "
        "(argmax |R_in|/sqrt(Q_ii T_nn)); rows rescaled to Q_ii = 1 as in the paper's pipeline",
        fontsize=8.5,
    )
    return save(fig, path, pdf=pdf)


def f2_budgets(data: Mapping[str, Any], path: str | Path, *, title: str | None = None, pdf: bool = False) -> Path:
    """F2 supplement: one row per budget k: |Q|, |R| after DPP node (most probable set) and DPP edge (expected)."""
    plt = pyplot()
    ks = sorted(data["node"])
    fig, axes = plt.subplots(
        len(ks), 4, figsize=(10, 2.5 * len(ks)), layout="constrained", gridspec_kw={"width_ratios": [3, 1.2, 3, 1.2]}
    )
    lab = _unit_labels(data["order"], data["teacher"])
    M = data["R"].shape[1]
    tl = [f"T{n}" for n in range(M)]
    vq, vr = max(data["Q"].max(), 1e-12), max(data["R"].max(), 1e-12)
    for r, k in enumerate(ks):
        nd, ed = data["node"][k], data["edge"][k]
        nlab = _unit_labels(nd["kept"], nd["teacher"])
        im_q = _heat(axes[r][0], nd["Q"], f"k={k} DPP node |Q| (p={nd['prob']:.2f})", vq, nlab, nlab)
        im_r = _heat(axes[r][1], nd["R"], "|R|", vr, nlab, tl, cmap="magma")
        _heat(axes[r][2], ed["Q"], f"k={k} DPP edge |Q| (c={ed['keep_fraction']:.2f})", vq, lab, lab)
        _heat(axes[r][3], ed["R"], "|R|", vr, lab, tl, cmap="magma")
    fig.colorbar(im_q, ax=list(axes[-1][:2]), location="bottom", shrink=0.8, label="|Q_ik| (dimensionless)")
    fig.colorbar(im_r, ax=list(axes[-1][2:]), location="bottom", shrink=0.8, label="|R_in| (dimensionless)")
    fig.suptitle(
        (title + "\n" if title else "") + "rows: student units (teacher group); columns of |R|: teacher units",
        fontsize=8.5,
    )
    return save(fig, path, pdf=pdf)


def f3_kernels(
    data: Mapping[str, Any], path: str | Path, *, zoom: int = 40, title: str | None = None, pdf: bool = False
) -> Path:
    """F3: the DPP-node kernel L = (1/P) sum lambda lambda^T (K x K, rows in teacher groups) and one unit's
    DPP-edge kernel diag(w) (X^T X / P) diag(w) (N x N; full and the first ``zoom`` inputs)."""
    plt = pyplot()
    has_edge = data.get("edge_kernel") is not None
    fig, axes = plt.subplots(
        1, 3 if has_edge else 1, figsize=(14 if has_edge else 4.6, 4.4), squeeze=False, layout="constrained"
    )
    ax = axes[0][0]
    L = data["node_kernel"]
    lab = _unit_labels(data["order"], data["teacher"])
    im = ax.imshow(L, cmap="RdBu_r", vmin=-np.abs(L).max(), vmax=np.abs(L).max(), interpolation="nearest")
    ax.set_xticks(range(len(lab)))
    ax.set_xticklabels(lab, fontsize=7, rotation=90)
    ax.set_yticks(range(len(lab)))
    ax.set_yticklabels(lab, fontsize=7)
    ax.set_title(
        rf"node kernel $L_{{ik}} = \langle\lambda_i\lambda_k\rangle$ (P = {data['n_kernel']:,} inputs)", fontsize=8.5
    )
    fig.colorbar(im, ax=ax, shrink=0.8, label=r"$L_{ik}$ (pre-activation covariance)")
    if has_edge:
        from matplotlib.colors import LogNorm

        E = np.abs(data["edge_kernel"])
        v = E.max()
        # log scale: the diagonal w_j^2 S_jj against the off-diagonal estimation noise ~ |w_j w_j'| / sqrt(P)
        norm = LogNorm(vmin=v * 1e-5, vmax=v)
        for ax, (A, ttl) in zip(
            axes[0][1:],
            ((E, f"|edge kernel| of unit 0 (N = {E.shape[0]})"), (E[:zoom, :zoom], f"the same, first {zoom} inputs")),
        ):
            im = ax.imshow(np.maximum(A, v * 1e-5), cmap="magma", norm=norm, interpolation="nearest")
            ax.set_title(ttl, fontsize=8.5)
            ax.set_xlabel("input j")
            ax.set_ylabel("input j'")
        fig.colorbar(im, ax=list(axes[0][1:]), shrink=0.8, label=r"$|w_j S_{jj'} w_{j'}|$,  $S = X^T X / P$ (log)")
    if title:
        fig.suptitle(title, fontsize=9)
    return save(fig, path, pdf=pdf)


def f4_learning_curves(
    table: Mapping[str, Any],
    path: str | Path,
    *,
    title: str | None = None,
    configs: Mapping[str, Any] | None = None,
    pdf: bool = False,
) -> Path:
    """F4: eps_g(alpha), ODE lines and SGD points (mean +- standard error over runs), one panel per config.

    sigma = 0 and 0.25 differ in colour, line style and marker (:func:`statmech.plots.style.series_style`).
    ``configs``: optional {name: Config or dict with K, M} for the K:M panel titles."""
    plt = pyplot()
    t = {c: np.asarray(v) for c, v in table.items()}
    names = list(dict.fromkeys(t["config"].tolist()))
    fig, axes = plt.subplots(1, len(names), figsize=(5.6 * len(names), 4.3), squeeze=False)
    for ax, cfg in zip(axes[0], names):
        for j, sig in enumerate(sorted(set(t["sigma"][t["config"] == cfg].tolist()))):
            st = series_style(j)
            sel = _rows(t, config=cfg, sigma=sig, source="ode")
            a = t["alpha"][sel]
            theory_line(ax, a[a > 0], t["eps_g"][sel][a > 0], style=st, label=rf"ODE, $\sigma$ = {sig:g}")
            sel = _rows(t, config=cfg, sigma=sig, source="sgd")
            a = t["alpha"][sel]
            n = int(t["n_runs"][sel][0]) if np.any(sel) else 0
            simulation_points(
                ax,
                a[a > 0],
                t["eps_g"][sel][a > 0],
                t["stderr"][sel][a > 0],
                style=st,
                ms=3.8,
                label=rf"SGD $\pm$ s.e., N = {int(_N(t, cfg))}, {n} runs, $\sigma$ = {sig:g}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\alpha$ = steps / N")
        ax.set_ylabel(r"$\epsilon_g$ (noise-free generalisation error)")
        ax.set_title(config_label(cfg, *_km(configs, cfg)), fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower left")
    fig.suptitle(
        ((title + "\n") if title else "") + "K:M = student units : teacher units; lines: ODE, filled markers: SGD",
        fontsize=9,
    )
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def _N(t, cfg):
    return t["N"][t["config"] == cfg][0] if "N" in t else np.nan
