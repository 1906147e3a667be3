"""Redraw the committed figures from their committed tables, in seconds and without recomputing anything.

:func:`replot` reads the CSV tables (and JSON sidecars) in a figures folder and redraws every PNG
that is drawn from a table; :data:`FROM_TABLES` lists them with their sources. The figures drawn
from data that is not committed (trained weights, the F2/F3 pipeline state, the fixed-point scans)
are listed in :data:`NOT_FROM_TABLES` with the command that remakes them.

Published reference values live above this layer (:mod:`statmech.experiments.published`), so
:func:`replot` takes them as arguments; ``statmech reproduce --replot --out figures/`` passes them
(:func:`statmech.experiments.paper.replot`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from statmech.core.io import read_table
from statmech.core.vocabulary import SCHEMES
from statmech.plots import dynamics, paper, prune_sim, pruning, realdata

__all__ = ["FROM_TABLES", "NOT_FROM_TABLES", "replot"]

# PNG -> the tables it is drawn from (relative to the figures folder)
FROM_TABLES = {
    "F1.png": ("F1.csv",),
    "F4.png": ("F4.csv",),
    "prune_sim_paper.png": ("prune_sim_paper_summary.csv",),
    "prune_sim_reweighting.png": ("prune_sim_paper_summary.csv",),
    "prune_sim_clean.png": ("prune_sim_clean_summary.csv",),
    "prune_sim_correlated.png": ("prune_sim_correlated_summary.csv",),
    "pruning_errors_6-2.png": ("pruning_errors_6-2.csv",),
    "pruning_errors_6-2_sigma0.25.png": ("pruning_errors_6-2_sigma0.25.csv",),
    "pruning_phase_diagram.png": ("pruning_phase_idealised.csv", "pruning_phase_trained.csv", "pruning_zcrit.csv"),
    "dynamics_6-2.png": (
        "dynamics_pruned_along.csv",
        "dynamics_pruned_along_sgd.csv",
        "dynamics_retrain_check.csv",
        "dynamics_retrain_limit.csv",
    ),
    "dynamics_masked_deviation.png": ("dynamics_masked_check.csv",),
    "realdata/realdata.png": ("realdata/realdata.csv",),
}
# PNG -> how it is made (its data are not committed)
NOT_FROM_TABLES = {
    "F2.png": "statmech reproduce --figure F2 --out figures/",
    "F2_budgets.png": "statmech reproduce --figure F2 --out figures/",
    "F3.png": "statmech reproduce --figure F3 --out figures/",
    "prune_sim_coordinates.png": "statmech prune-sim --pipeline paper --inclusion-masks 1000 --out DIR",
    "prune_sim_inclusion.png": "statmech prune-sim --pipeline paper --inclusion-masks 1000 --out DIR",
    "fixed_points_eps_vs_eta.png": "notebooks/02_plateaus_and_fixed_points.ipynb",
    "fixed_points_plateau_length.png": "notebooks/02_plateaus_and_fixed_points.ipynb",
}

_INTEGER_COLUMNS = ("k", "budget", "n_sim", "n_runs", "N", "K", "keep")


def _read(path):
    cols, params = read_table(path)
    for c in _INTEGER_COLUMNS:
        if c in cols and cols[c].dtype.kind == "f" and np.all(np.isfinite(cols[c])):
            cols[c] = cols[c].astype(int)
    return cols, params


def _prune_sim_title(p: dict) -> str:
    seeds = p.get("seeds")
    return (
        f"{p.get('pipeline')} pipeline: K={p.get('K')}, M={p.get('M')}, N={p.get('N')}, alpha={p.get('alpha'):g}, "
        f"{seeds} students per sigma, {p.get('n_masks', p.get('masks'))} masks"
        + (f", inputs rho={p['input_corr']}" if p.get("input_corr") else "")
    )


def _f1(d, out, **_):
    t, p = _read(d / "F1.csv")
    sz = p.get("sizes", {})
    note = paper.f1_sizes_note(p["configs"], sz.get("seeds"), sz.get("masks")) if "configs" in p else ""
    return paper.f1_grid(t, out, sizes_note=note, configs=p.get("configs"))


def _f4(d, out, **_):
    t, p = _read(d / "F4.csv")
    return paper.f4_learning_curves(
        t,
        out,
        configs=p.get("configs"),
        title="learning curves of the students pruned in F1: ODE vs SGD from the same initial weights",
    )


def _prune_sim_errors(name):
    def draw(d, out, published_6_2=None, **_):
        s, p = _read(d / name)
        measure = p.get("headline_measure", "eps_g")
        pub = None
        if (
            published_6_2 is not None
            and p.get("pipeline") == "paper"
            and (p.get("K"), p.get("M"), p.get("N")) == (6, 2, 500)
            and measure == "test_loss"
            and not p.get("input_corr")
        ):
            pub = published_6_2
        theory = f"{measure}_theory_mean"
        has_theory = theory in s and np.any(np.isfinite(np.asarray(s[theory], dtype=float)))
        return prune_sim.pruned_errors(
            s,
            out,
            measure=measure,
            theory_column=theory if has_theory else None,
            published=pub,
            title=_prune_sim_title(p),
        )

    return draw


def _prune_sim_reweighting(name, title):
    def draw(d, out, **_):
        s, p = _read(d / name)
        measure = p.get("headline_measure", "eps_g")
        sigmas = sorted(set(np.asarray(s["sigma"], dtype=float).tolist()))
        panels = [(title(p, sg), {c: v[s["sigma"] == sg] for c, v in s.items()}) for sg in sigmas]
        return prune_sim.reweighting_effect(panels, out, measure=measure)

    return draw


def _pruning_errors(name):
    def draw(d, out, published_losses=None, **_):
        t, p = _read(d / name)
        sigma = float(p.get("sigma", 0.0))
        K, M = p.get("K"), p.get("M")
        schemes = [s for s in SCHEMES if np.any(t["scheme"] == s)]
        x = np.asarray(t["k"][t["scheme"] == schemes[0]], dtype=float) / K  # node budgets k, edges matched
        by = {s: np.asarray(t["eps_g"][t["scheme"] == s], dtype=float) for s in schemes}
        pub = None
        if published_losses is not None and (K, M) == (6, 2):
            losses = published_losses("6:2", sigma)
            ks = np.asarray(t["k"][t["scheme"] == schemes[0]], dtype=int)
            pub = {s: [losses[s][k - 1] for k in ks] for s in schemes if s in losses}
        return pruning.pruned_errors(
            x,
            by,
            out,
            unpruned=p.get("eps_g_unpruned"),
            published=pub,
            published_offset=0.5 * sigma**2,
            title=f"K={K}, M={M}, sigma={sigma:g}: N -> infinity theory"
            + (", rows rescaled to Q_ii=1" if p.get("paper_rescale") else "")
            + ("; paper (K:M = 6:2) shifted by -sigma^2/2" if pub else ""),
        )

    return draw


def _phase(d, out, **_):
    ideal, _p = _read(d / "pruning_phase_idealised.csv")
    trained, _p = _read(d / "pruning_phase_trained.csv")
    zc, _p = _read(d / "pruning_zcrit.csv")
    return pruning.phase_diagram(ideal, trained, (zc["keep_fraction"], zc["z_crit"]), out)


def _dynamics(d, out, **_):
    along, pa = _read(d / "dynamics_pruned_along.csv")
    sgd, ps = _read(d / "dynamics_pruned_along_sgd.csv")
    chk, pc = _read(d / "dynamics_retrain_check.csv")
    curves = SimpleNamespace(
        alpha=along["alpha"],
        unpruned=along["eps_g"],
        eps_g={s: along[f"pruned_{s}"] for s in SCHEMES if f"pruned_{s}" in along},
        params={"keep": pa.get("keep"), "N": pa.get("edge_N")},
    )
    sim = {s: (sgd["alpha"], sgd[f"sgd_{s}"], sgd[f"sgd_{s}_stderr"]) for s in ("unpruned",) + SCHEMES}
    retrained = {s: (chk["alpha"], chk[f"ode_{s}_none"]) for s in SCHEMES if f"ode_{s}_none" in chk}
    sim_re = {
        s: (chk["alpha"], chk[f"sgd_{s}_none"], chk[f"sgd_{s}_none_stderr"]) for s in SCHEMES if f"sgd_{s}_none" in chk
    }
    limit = None
    if (d / "dynamics_retrain_limit.csv").exists():
        lim, _p = _read(d / "dynamics_retrain_limit.csv")
        limit = {s: (lim["alpha"], lim[f"limit_{s}_none"]) for s in SCHEMES if f"limit_{s}_none" in lim}
    return dynamics.pruning_dynamics(
        curves,
        out,
        sim_pruned=sim,
        retrained=retrained,
        sim_retrained=sim_re,
        limit=limit,
        alpha_prune=pc.get("alpha_train"),
        title=f"K:M = {pa.get('K')}:{pa.get('M')}, eta = eta_v = {pa.get('eta'):g}, k = {pa.get('keep')} "
        f"(edges matched); points: SGD at N = {ps.get('N')}, {ps.get('seeds')} seeds",
    )


def _masked(d, out, **_):
    t, _p = _read(d / "dynamics_masked_check.csv")
    schemes = list(dict.fromkeys(t["scheme"].tolist()))
    Ns = np.asarray(t["N"][t["scheme"] == schemes[0]], dtype=float)
    dev = {s: (t["rms"][t["scheme"] == s], t["rms_stderr"][t["scheme"] == s]) for s in schemes}
    return dynamics.masked_deviation(Ns, dev, out)


def _realdata(d, out, published_mnist=None, **_):
    t, p = read_table(d / "realdata/realdata.csv")
    rows = [
        {
            "scheme": t["scheme"][i],
            "reweight": t["reweight"][i],
            "fraction": float(t["fraction"][i]),
            "error_mean": float(t["error_mean"][i]),
            "error_std": float(t["error_std"][i]),
        }
        for i in range(len(t["scheme"]))
    ]
    return realdata.realdata_errors(
        rows, p["unpruned_error"], out, dataset=p.get("dataset", "digits"), published=published_mnist
    )


def _rw_title(p, sigma):
    if p.get("input_corr"):
        return f"inputs N(0, Sigma), Sigma_ij = {p['input_corr']:g}^|i-j| ({p.get('pipeline')} pipeline, sigma = {sigma:g})"
    return f"{p.get('pipeline')} pipeline, sigma = {sigma:g}"


_DRAW = {
    "F1.png": _f1,
    "F4.png": _f4,
    "prune_sim_paper.png": _prune_sim_errors("prune_sim_paper_summary.csv"),
    "prune_sim_reweighting.png": _prune_sim_reweighting("prune_sim_paper_summary.csv", _rw_title),
    "prune_sim_clean.png": _prune_sim_errors("prune_sim_clean_summary.csv"),
    "prune_sim_correlated.png": _prune_sim_reweighting("prune_sim_correlated_summary.csv", _rw_title),
    "pruning_errors_6-2.png": _pruning_errors("pruning_errors_6-2.csv"),
    "pruning_errors_6-2_sigma0.25.png": _pruning_errors("pruning_errors_6-2_sigma0.25.csv"),
    "pruning_phase_diagram.png": _phase,
    "dynamics_6-2.png": _dynamics,
    "dynamics_masked_deviation.png": _masked,
    "realdata/realdata.png": _realdata,
}


def replot(
    figures_dir: str | Path,
    *,
    only: Iterable[str] | None = None,
    out_dir: str | Path | None = None,
    published_6_2: dict | None = None,
    published_losses: Callable[[str, float], dict] | None = None,
    published_mnist: dict | None = None,
) -> list:
    """Redraw every figure of :data:`FROM_TABLES` whose tables are in ``figures_dir``; the paths written.

    ``only``: names from :data:`FROM_TABLES` (default all present); ``out_dir``: where to write
    (default ``figures_dir``). Published values (None: drawn without them): ``published_6_2``
    {sigma: {scheme: values at k = 1..5}} (statmech.experiments.published.published_6_2),
    ``published_losses`` (config, sigma) -> {scheme: values} (teacher_student_losses),
    ``published_mnist`` (mnist_errors).
    """
    d = Path(figures_dir)
    if not d.is_dir():
        raise ValueError(f"figures_dir must be an existing folder; got {str(d)!r}")
    names = list(FROM_TABLES) if only is None else list(only)
    bad = [n for n in names if n not in FROM_TABLES]
    if bad:
        raise ValueError(f"only must name figures from {', '.join(FROM_TABLES)}; got {bad}")
    out = Path(out_dir) if out_dir is not None else d
    written = []
    for name in names:
        needed = [t for t in FROM_TABLES[name] if t != "dynamics_retrain_limit.csv"]
        if not all((d / t).exists() for t in needed):
            if only is not None:
                raise ValueError(f"{name} needs {', '.join(needed)} in {d}")
            continue
        written.append(
            Path(
                _DRAW[name](
                    d,
                    out / name,
                    published_6_2=published_6_2,
                    published_losses=published_losses,
                    published_mnist=published_mnist,
                )
            )
        )
    return written
