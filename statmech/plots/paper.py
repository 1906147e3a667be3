"""The paper's figures (docs/guide/reproduce.md "Figures to reproduce"): F1 grid, F2 heatmaps, F3 kernels, F4 learning curves.

Each function takes computed results (statmech.experiments) and only draws.
"""

from __future__ import annotations

import numpy as np

from statmech.plots._style import pyplot, save
from statmech.plots.prune_sim import SCHEME_COLORS

SCHEME_LABELS = {
    "random-node": "random node",
    "importance-node": "importance node",
    "dpp-node": "DPP node",
    "random-edge": "random edge",
    "importance-edge": "importance edge",
    "dpp-edge": "DPP edge",
}
# (title, config, schemes): the paper's 2 x 3 grid; (e) all edge methods
F1_PANELS = (
    ("(a) random edge vs random node", "6:2", ("random-edge", "random-node")),
    ("(b) importance node vs importance edge", "6:2", ("importance-node", "importance-edge")),
    ("(c) DPP edge vs DPP node", "6:2", ("dpp-edge", "dpp-node")),
    ("(d) all node methods", "6:2", ("random-node", "importance-node", "dpp-node")),
    ("(e) all edge methods", "6:2", ("random-edge", "importance-edge", "dpp-edge")),
    ("(f) 5:20: random edge vs DPP node", "5:20", ("random-edge", "dpp-node")),
)
# per sigma: (theory line style, simulation marker, published marker)
SIGMA_STYLE = {0.0: ("-", "o", "s"), 0.25: ("--", "^", "D")}


def _rows(t, **eq):
    sel = np.ones(len(next(iter(t.values()))), dtype=bool)
    for c, v in eq.items():
        sel &= t[c] == v
    return sel


def f1_grid(table, path, *, title=None, sizes_note="", pdf=False):
    """F1: test loss vs parameters remaining (%), 2 x 3 panels; per scheme and sigma the N -> infinity theory
    (line), the simulation (filled markers, +- standard error) and the published points (open markers).

    ``table``: columns of statmech.experiments.f1_table (config, sigma, scheme, k, published, theory,
    sim_mean, sim_stderr)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    plt = pyplot()
    t = {c: np.asarray(v) for c, v in table.items()}
    fig, axes = plt.subplots(2, 3, figsize=(13.5, 8.2))
    for ax, (ttl, cfg, schemes) in zip(axes.ravel(), F1_PANELS):
        K = (
            int(t["k"][_rows(t, config=cfg, scheme="unpruned")][0])
            if np.any(_rows(t, config=cfg, scheme="unpruned"))
            else None
        )
        for j, sch in enumerate(schemes):
            col = SCHEME_COLORS[sch]
            for sig, (ls, msim, mpub) in SIGMA_STYLE.items():
                sel = _rows(t, config=cfg, scheme=sch, sigma=sig)
                if not np.any(sel):
                    continue
                k = t["k"][sel].astype(float)
                o = np.argsort(k)
                x = 100 * k[o] / K
                dx = 0.6 * (100 / K) / 10  # small offsets so markers and bars do not hide each other
                ax.plot(x, t["theory"][sel][o], ls=ls, color=col, lw=1.4, alpha=0.9)
                y, e = t["sim_mean"][sel][o], t["sim_stderr"][sel][o]
                ok = np.isfinite(y)
                ax.errorbar(
                    x[ok] - dx,
                    y[ok],
                    yerr=np.nan_to_num(e[ok]),
                    fmt=msim,
                    ms=4.5,
                    color=col,
                    capsize=2,
                    lw=1,
                    mec="k",
                    mew=0.4,
                )
                p = t["published"][sel][o]
                ax.plot(x + dx, p, ls="none", marker=mpub, ms=6, mfc="none", mec=col, mew=1.3)
        # 6:2: 17%..83% and 100% on a log axis; 5:20: 5%..25% on a linear axis, unpruned values as text
        # (they lie far below the pruned ones and would squash the curves)
        wide = K is not None and K <= 10
        unpruned_txt = []
        for sig, (ls, msim, mpub) in SIGMA_STYLE.items():
            sel = _rows(t, config=cfg, scheme="unpruned", sigma=sig)
            if not np.any(sel):
                continue
            i = np.flatnonzero(sel)[0]
            if not wide:
                unpruned_txt.append(
                    rf"$\sigma$ = {sig:g}: theory {t['theory'][i]:.2f}, simulation "
                    rf"{t['sim_mean'][i]:.2f}"
                )
                continue
            ax.axhline(t["theory"][i], color="0.35", ls=ls, lw=0.9)
            if np.isfinite(t["sim_mean"][i]):
                ax.errorbar(
                    [100 - 1.5],
                    [t["sim_mean"][i]],
                    yerr=[np.nan_to_num(t["sim_stderr"][i])],
                    fmt=msim,
                    ms=4.5,
                    color="0.35",
                    capsize=2,
                    mec="k",
                    mew=0.4,
                )
            if np.isfinite(t["published"][i]):
                ax.plot([100 + 1.5], [t["published"][i]], ls="none", marker=mpub, ms=6, mfc="none", mec="0.35", mew=1.3)
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
        ax.set_title(ttl, fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        handles = [Line2D([], [], color=SCHEME_COLORS[s], lw=2, label=SCHEME_LABELS[s]) for s in schemes]
        ax.legend(handles=handles, fontsize=7.5, loc="upper right" if wide else "lower left", framealpha=0.85)
    key = [
        Line2D([], [], color="k", ls="-", label=r"theory, $N\to\infty$ (line), $\sigma$ = 0"),
        Line2D([], [], color="k", ls="--", label=r"theory, $\sigma$ = 0.25"),
        Line2D([], [], color="0.4", ls="none", marker="o", mec="k", label=r"simulation $\pm$ s.e., $\sigma$ = 0"),
        Line2D([], [], color="0.4", ls="none", marker="^", mec="k", label=r"simulation, $\sigma$ = 0.25"),
        Line2D([], [], color="0.2", ls="none", marker="s", mfc="none", label=r"published, $\sigma$ = 0"),
        Line2D([], [], color="0.2", ls="none", marker="D", mfc="none", label=r"published, $\sigma$ = 0.25"),
        Line2D([], [], color="0.35", lw=0.9, label="unpruned: theory (line), simulation, published at 100%"),
    ]
    fig.legend(handles=key, loc="lower center", ncol=4, fontsize=8.5, frameon=False, bbox_to_anchor=(0.5, 0.0))
    note = (
        "All curves are test losses on noisy labels, eps_g + sigma^2/2 (unpruned: grey lines). Theory: pruned "
        "N -> infinity order parameters of the ODE-trained student.\nSimulation: SGD students pruned with real "
        "masks" + (f" ({sizes_note})" if sizes_note else "") + ". Published: read off the authors' figure "
        "(+-0.05), single students."
    )
    fig.suptitle((title + "\n" if title else "") + note, fontsize=8.5)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
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


def f2_heatmaps(data, path, *, k=3, title=None, pdf=False):
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


def f2_budgets(data, path, *, title=None, pdf=False):
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


def f3_kernels(data, path, *, zoom=40, title=None, pdf=False):
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


def f4_learning_curves(table, path, *, title=None, pdf=False):
    """F4: eps_g(alpha), ODE lines and SGD points (mean +- standard error over runs), one panel per config."""
    plt = pyplot()
    t = {c: np.asarray(v) for c, v in table.items()}
    configs = list(dict.fromkeys(t["config"].tolist()))
    fig, axes = plt.subplots(1, len(configs), figsize=(5.6 * len(configs), 4.3), squeeze=False)
    colors = {0.0: "tab:blue", 0.25: "tab:red"}
    for ax, cfg in zip(axes[0], configs):
        for sig in sorted(set(t["sigma"][t["config"] == cfg].tolist())):
            col = colors.get(sig, None)
            sel = _rows(t, config=cfg, sigma=sig, source="ode")
            a = t["alpha"][sel]
            ax.plot(a[a > 0], t["eps_g"][sel][a > 0], color=col, lw=1.6, label=rf"ODE, $\sigma$ = {sig:g}")
            sel = _rows(t, config=cfg, sigma=sig, source="sgd")
            a = t["alpha"][sel]
            n = int(t["n_runs"][sel][0]) if np.any(sel) else 0
            ax.errorbar(
                a[a > 0],
                t["eps_g"][sel][a > 0],
                yerr=np.nan_to_num(t["stderr"][sel][a > 0]),
                fmt="o",
                ms=3.5,
                color=col,
                mfc="white",
                capsize=2,
                lw=1,
                label=rf"SGD, N = {int(_N(t, cfg))}, {n} runs, $\sigma$ = {sig:g}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\alpha$ = steps / N")
        ax.set_ylabel(r"$\epsilon_g$ (noise-free generalisation error)")
        ax.set_title(f"{cfg}", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, path, pdf=pdf)


def _N(t, cfg):
    return t["N"][t["config"] == cfg][0] if "N" in t else np.nan
