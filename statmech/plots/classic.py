"""Figures of the classic results (Saad & Solla 1995/1996, Goldt et al. 2019), drawn from their tables only.

Each function takes ``tables`` (table name -> columns, as written by
``statmech.experiments.classic``), ``params`` (table name -> parameters) and
the output path, and draws in the one figure style (:mod:`statmech.plots.style`):
ODE lines, simulation points with error bars (mean +- s.e.), published values
as hollow markers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from statmech.plots.style import (
    legend_outside,
    published_points,
    pyplot,
    save,
    series_style,
    simulation_points,
    source_handles,
    theory_line,
)

__all__ = ["saad_solla_1995", "learning_rates", "goldt_2019", "saad_solla_1996"]


def _a(col: object) -> np.ndarray:
    return np.asarray(col)


def saad_solla_1995(tables: dict, params: dict, path: str | Path) -> Path:
    """(a-c) eps_g(alpha) for K = 2..4 with the visited plateau height dashed, (d) height vs eta, (e) length vs ln N."""
    plt = pyplot()
    cur, sgd, hts = tables["saad_solla_curves"], tables["saad_solla_curves_sgd"], tables["saad_solla_heights"]
    lev, lens = tables["saad_solla_levels_sgd"], tables["saad_solla_lengths"]
    Ks = sorted({int(k) for k in _a(cur["K"])})
    fig, axes = plt.subplots(1, len(Ks) + 2, figsize=(3.4 * (len(Ks) + 2), 3.8))
    for ax, K in zip(axes, Ks):
        etas = sorted({float(e) for e in _a(cur["eta"])[_a(cur["K"]) == K]})
        for i, eta in enumerate(etas):
            m = (_a(cur["K"]) == K) & (_a(cur["eta"]) == eta) & (_a(cur["alpha"]) > 0)
            theory_line(ax, _a(cur["alpha"])[m], _a(cur["eps_g"])[m], style=series_style(i), label=rf"$\eta$ = {eta:g}")
            ax.axhline(_a(cur["visited_height"])[m][0], color=series_style(i).color, ls="--", lw=0.8)
            ms = (_a(sgd["K"]) == K) & (_a(sgd["eta"]) == eta)
            if ms.any():
                simulation_points(
                    ax, _a(sgd["alpha"])[ms], _a(sgd["mean"])[ms], _a(sgd["stderr"])[ms], style=series_style(i), ms=3
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-5, 1.5)  # below, the curves reach the integrator's rounding
        ax.set_xlabel(r"$\alpha$")
        ax.set_title(f"K = M = {K}", fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel(r"$\epsilon_g$")
    ax = axes[len(Ks)]
    for i, K in enumerate(sorted({int(k) for k in _a(hts["K"])})):
        m = _a(hts["K"]) == K
        st = series_style(i)
        theory_line(ax, _a(hts["eta"])[m], _a(hts["visited"])[m], style=st, label=f"K = {K} visited")
        ax.plot(_a(hts["eta"])[m], _a(hts["identical"])[m], color=st.color, ls=":", lw=1.0, label=f"K = {K} q = c")
        published_points(ax, [0.0], [_a(hts["eta0_closed_form"])[m][0]], style=st)
        ml = _a(lev["K"]) == K
        if ml.any():
            simulation_points(ax, _a(lev["eta"])[ml], _a(lev["level_mean"])[ml], _a(lev["level_stderr"])[ml], style=st)
    ax.set_xlabel(r"$\eta$")
    ax.set_ylabel(r"plateau $\epsilon_g$")
    ax.set_title("plateau height (published: S&S 1995, $\\eta\\to 0$)", fontsize=8)
    ax.legend(fontsize=6, loc="best")
    ax = axes[len(Ks) + 1]
    fits = params["saad_solla_lengths"].get("fits", {})
    for i, src in enumerate(("ode", "sgd")):
        m = _a(lens["source"]) == src
        if not m.any():
            continue
        N, L = _a(lens["N"])[m].astype(float), _a(lens["length"])[m].astype(float)
        Nu = np.unique(N)
        mean = np.array([np.nanmean(L[N == n]) if np.isfinite(L[N == n]).any() else np.nan for n in Nu])
        cnt = np.array([np.isfinite(L[N == n]).sum() for n in Nu])
        sd = np.array([np.nanstd(L[N == n], ddof=1) if c > 1 else np.nan for n, c in zip(Nu, cnt)])
        f = fits.get(src, {})
        lab = src.upper() + (f": slope {f['slope']:.1f} $\\pm$ {f['slope_stderr']:.1f}" if "slope" in f else "")
        simulation_points(ax, np.log(Nu), mean, sd / np.sqrt(np.maximum(cnt, 1)), style=series_style(i), label=lab)
        if "slope" in f:
            x = np.log(Nu)
            theory_line(ax, x, f["intercept"] + f["slope"] * x, style=series_style(i), lw=0.8)
    if fits.get("predicted_slope"):
        ax.text(0.03, 0.95, rf"1/(2$\lambda$) = {fits['predicted_slope']:.1f}", transform=ax.transAxes, fontsize=7,
                va="top")  # fmt: skip
    ax.set_xlabel(r"$\ln N$")
    ax.set_ylabel("plateau length (K = M = 2)")
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return save(fig, path)


def learning_rates(tables: dict, params: dict, path: str | Path) -> Path:
    """(a) eta_c and eta_opt against K; (b) the slowest asymptotic rate against eta / eta_c;
    (c) eps_g(alpha) / eps_g(0) near the perfect student against eta / eta_c, ODE lines and SGD points."""
    plt = pyplot()
    r, sc = tables["learning_rates"], tables["learning_rates_scan"]
    dec, sgd = tables["learning_rates_decay"], tables["learning_rates_sgd"]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 3.8))
    K = _a(r["K"]).astype(float)
    theory_line(a1, K, _a(r["eta_c"]), style=series_style(0), marker="o", label=r"$\eta_c$ (max)")
    theory_line(a1, K, _a(r["eta_opt"]), style=series_style(1), marker="s", label=r"$\eta_{opt}$")
    a1.set_xlabel("K = M")
    a1.set_ylabel(r"learning rate $\eta$")
    a1.legend(fontsize=8)
    for i, k in enumerate(_a(r["K"])):
        m = _a(sc["K"]) == k
        ec = _a(r["eta_c"])[i]
        theory_line(a2, _a(sc["eta"])[m] / ec, _a(sc["slowest_rate"])[m], style=series_style(i), label=f"K = {int(k)}")
    a2.axhline(0.0, color="0.5", lw=0.6)
    a2.axvline(1.0, color="0.5", lw=0.6, ls="--")
    a2.set_xlabel(r"$\eta / \eta_c$")
    a2.set_ylabel(r"slowest rate $\min_i |{\rm Re}\,\lambda_i|$")
    legend_outside(a2)
    for k in sorted({int(x) for x in _a(dec["K"])}):
        i = list(_a(r["K"]).astype(int)).index(k)
        st = series_style(i)
        m = _a(dec["K"]) == k
        e0 = _a(dec["eps_g0"])[m][0]
        alpha = _a(dec["alpha"])[m][0]
        theory_line(a3, _a(dec["eta_over_eta_c"])[m], _a(dec["ode"])[m] / e0, style=st,
                    label=rf"K = {k}, ODE, $\alpha$ = {alpha:g}")  # fmt: skip
        ms = _a(sgd["K"]) == k
        if ms.any():
            simulation_points(a3, _a(sgd["eta_over_eta_c"])[ms], _a(sgd["mean"])[ms] / e0, _a(sgd["stderr"])[ms] / e0,
                              style=st, label=f"K = {k}, SGD N = {int(_a(sgd['N'])[ms][0])}")  # fmt: skip
        a3.axvline(_a(r["eta_opt"])[i] / _a(r["eta_c"])[i], color=st.color, lw=0.6, ls=":")
    a3.axvline(1.0, color="0.5", lw=0.6, ls="--")
    a3.set_yscale("log")
    a3.set_xlabel(r"$\eta / \eta_c$ (dotted: $\eta_{opt}$)")
    a3.set_ylabel(r"$\epsilon_g(\alpha) / \epsilon_g(0)$ from $W = W^* + 0.1\,G$")
    a3.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return save(fig, path)


def goldt_2019(tables: dict, params: dict, path: str | Path) -> Path:
    """Final eps_g against K, one panel per activation: first layer only and both layers.

    Lines: the integrations' end points; filled markers: the fixed points polished
    from them (large: the integration approaches it); error bars: SGD started
    there; hollow: Goldt et al.'s small-noise formula (erf, first layer only).
    """
    plt = pyplot()
    g, sg = tables["goldt_final_error"], tables["goldt_sgd"]
    acts = list(dict.fromkeys(_a(g["activation"]).tolist()))
    fig, axes = plt.subplots(1, len(acts), figsize=(4.6 * len(acts), 3.8), squeeze=False)
    for ax, act in zip(axes[0], acts):
        for i, layers in enumerate(("first", "both")):
            st = series_style(i)
            m = (_a(g["activation"]) == act) & (_a(g["layers"]) == layers)
            lab = "first layer only" if layers == "first" else "both layers"
            Ks = _a(g["K"])[m].astype(float)
            a_max = _a(g["alpha_max"])[m][0]
            theory_line(ax, Ks, _a(g["eps_g"])[m].astype(float), style=st, lw=1.0,
                        label=rf"ODE at $\alpha$ = {a_max:.0e}, {lab}")  # fmt: skip
            fe = _a(g["fp_eps_g"])[m].astype(float)
            conv = np.asarray([str(c) == "True" for c in _a(g["fp_converging"])[m]])
            for sel, size, txt in ((conv, 6, "fixed point (approached)"), (~conv, 3, "fixed point (not approached)")):
                if (sel & np.isfinite(fe)).any():
                    ax.plot(Ks[sel], fe[sel], ls="none", marker=st.marker, ms=size, color=st.color,
                            label=f"{txt}, {lab}")  # fmt: skip
            ms = (_a(sg["activation"]) == act) & (_a(sg["layers"]) == layers) if len(_a(sg["K"])) else None
            if ms is not None and ms.any():
                simulation_points(ax, _a(sg["K"])[ms].astype(float) + 0.12 * (2 * i - 1), _a(sg["mean"])[ms],
                                  _a(sg["stderr"])[ms], style=series_style(i + 2), ms=3,
                                  label=f"SGD N = {int(_a(sg['N'])[ms][0])}, {lab}")  # fmt: skip
        m = (_a(g["activation"]) == act) & (_a(g["layers"]) == "first")
        fo = _a(g["goldt_formula"])[m].astype(float)
        if np.isfinite(fo).any():
            published_points(ax, _a(g["K"])[m].astype(float), fo, style=series_style(4),
                             label="Goldt et al. small-noise formula")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("K (M = 2)")
        ax.set_ylabel(r"final $\epsilon_g$")
        eta = params["goldt_final_error"]["eta"][act]
        ax.set_title(rf"{act}, $\eta$ = {eta:g}, $\sigma$ = {params['goldt_final_error']['sigma']:g}", fontsize=9)
        ax.legend(fontsize=5.5, loc="upper left")
    fig.tight_layout()
    return save(fig, path)


def saad_solla_1996(tables: dict, params: dict, path: str | Path) -> Path:
    """(a) asymptotic eps_g against sigma for each weight decay kappa; (b) plateau height and length against kappa."""
    plt = pyplot()
    a, p = tables["weight_decay_asymptotic"], tables["weight_decay_plateau"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    for i, k in enumerate(sorted({float(x) for x in _a(a["kappa"])})):
        m = _a(a["kappa"]) == k
        theory_line(a1, _a(a["sigma"])[m], _a(a["eps_g"])[m], style=series_style(i), label=rf"$\kappa$ = {k:g}")
    sg = tables["weight_decay_sgd"]
    kappas = sorted({float(x) for x in _a(a["kappa"])})
    for k in sorted({float(x) for x in _a(sg["kappa"])}):
        m = _a(sg["kappa"]) == k
        st = series_style(kappas.index(k)) if k in kappas else series_style(len(kappas))
        simulation_points(a1, _a(sg["sigma"])[m], _a(sg["mean"])[m], _a(sg["stderr"])[m], style=st, ms=4.5)
    a1.set_xlabel(r"output noise $\sigma$")
    a1.set_ylabel(r"asymptotic $\epsilon_g$")
    a1.set_yscale("symlog", linthresh=1e-5)
    a1.legend(handles=a1.get_legend_handles_labels()[0] + source_handles(theory="ODE", published=None),
               fontsize=7)  # fmt: skip
    kap = _a(p["kappa"]).astype(float)
    theory_line(a2, kap, _a(p["height"]), style=series_style(0), marker="o", label="plateau height")
    a2.set_xlabel(r"weight decay $\kappa$")
    a2.set_ylabel(r"plateau $\epsilon_g$")
    a3 = a2.twinx()
    theory_line(a3, kap, _a(p["length"]), style=series_style(1), marker="s", label="plateau length")
    a3.set_ylabel(r"plateau length ($\alpha$)")
    h1, l1 = a2.get_legend_handles_labels()
    h2, l2 = a3.get_legend_handles_labels()
    a2.legend(h1 + h2 + source_handles(simulation=None, published=None), l1 + l2 + ["ODE (line)"], fontsize=7)
    fig.tight_layout()
    return save(fig, path)
