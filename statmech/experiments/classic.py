"""The field's classic results as tidy tables: Saad & Solla 1995 and 1996, Goldt et al. 2019.

Each function computes one figure's numbers and returns :class:`Table` objects
(columns, descriptions, parameters); :func:`reproduce_classic` writes every
table as CSV with a JSON sidecar (:func:`statmech.core.io.write_table`) and
draws the figures from the tables (:mod:`statmech.plots.classic`).

- Saad & Solla, Phys. Rev. E 52, 4225 (1995): soft committee machine (erf,
  eta_v = 0, v = v* = 1, T = I); the symmetric plateau and its escape, the
  plateau height against eta (the visited plateau fixed point,
  :func:`statmech.analysis.plateaus.visited_plateau`; the eta -> 0 closed
  form of their section IV as the published value), and the plateau length
  against ln N (:func:`statmech.analysis.plateaus.plateau_lengths`).
- The asymptotic phase: eta_c, the largest eta with the perfect student stable
  (:func:`statmech.analysis.critical.critical_learning_rate`), and eta_opt,
  the eta maximising the slowest asymptotic rate min_i |Re lambda_i| of the
  Jacobian at the perfect student.
- Goldt et al., NeurIPS 2019: the final eps_g against K for M = 2, noisy teacher,
  first layer only against both layers, from long ODE integrations started at
  small overlaps; :func:`statmech.analysis.asymptotics.goldt_small_noise_error`
  for erf with the first layer only.
- Saad & Solla, NIPS 9 (1996) "Learning with noise and regularizers": weight decay
  kappa and output noise sigma change the asymptotic eps_g and the plateau.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from statmech.analysis.asymptotics import asymptotic_fixed_point, goldt_small_noise_error
from statmech.analysis.critical import critical_learning_rate
from statmech.analysis.fixed_points import (
    FixedPoint,
    analyse,
    find_fixed_point,
    jacobian,
    perfect_student,
    perturbed_perfect_student,
    scm_v,
)
from statmech.analysis.plateaus import (
    detect_plateau,
    fit_log_slope,
    plateau_fixed_points,
    plateau_lengths,
    saad_solla_plateau,
    simulation_curve,
    small_overlap_state,
    visited_plateau,
)
from statmech.core.initial import weights_from_state
from statmech.core.io import ensure_dir, write_table
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.integrator import integrate, pack
from statmech.plots import classic as plots
from statmech.sim import simulate_seeds

__all__ = [
    "Table",
    "CLASSIC_FIGURES",
    "classic_config",
    "saad_solla_tables",
    "learning_rate_tables",
    "goldt_tables",
    "weight_decay_tables",
    "slowest_rate",
    "sgd_against_ode",
    "polish_fixed_point",
    "approaches",
    "stability",
    "reproduce_classic",
]

EPS_DOC = "noise-free generalisation error eps_g (a test loss on noisy labels adds sigma^2/2)"
CLASSIC_FIGURES = ("saad_solla_1995", "learning_rates", "goldt_2019", "saad_solla_1996")
SAAD_SOLLA_1995 = "Saad & Solla, Phys. Rev. E 52, 4225 (1995), section IV (eta -> 0 closed form)"


@dataclass
class Table:
    """One tidy table: ``name`` (file stem), ``columns`` (name -> equal-length sequence), their ``descriptions``."""

    name: str
    columns: dict
    descriptions: dict
    params: dict = field(default_factory=dict)

    def write(self, out: Path) -> Path:
        return write_table(Path(out) / f"{self.name}.csv", self.columns, self.params, self.descriptions)


def classic_config(quick: bool) -> dict:
    """Sizes of the full run (about 4 min of CPU on one core) and of ``--quick`` (about 15 s)."""
    if quick:
        return dict(
            ss_K=(2,),
            ss_etas=(0.5, 1.0),
            ss_N=100,
            ss_seeds=2,
            height_etas=2,
            len_ode_N=(100, 1000, 10000),
            len_sgd_N=(),
            len_seeds=(0, 1),
            rate_K=(1, 2, 3),
            goldt_K=(2, 3, 4),
            goldt_acts=("erf",),
            goldt_alpha=2e4,
            goldt_relu_K=(),
            goldt_relu_alpha=3e3,
            wd_kappa=(0.0, 0.01),
            wd_sigma=(0.0, 0.3),
            sgd_N=200,
            sgd_seeds=3,
            lr_sgd_K=(2,),
            lr_sgd_N=1000,
            lr_sgd_frac=(0.5, 0.9, 1.1),
            goldt_sgd_K=(2, 3),
            goldt_sgd_alpha=60.0,
            wd_sgd=((0.01, 0.3),),
            wd_sgd_alpha=150.0,
        )
    return dict(
        ss_K=(2, 3, 4),
        ss_etas=(0.2, 0.5, 1.0),
        ss_N=500,
        ss_seeds=3,
        height_etas=8,
        len_ode_N=(100, 1000, 10**4, 10**5, 10**6),
        len_sgd_N=(100, 200, 400, 800),
        len_seeds=(0, 1, 2),
        rate_K=(1, 2, 3, 4, 5, 6),
        goldt_K=tuple(range(2, 11)),
        goldt_acts=("erf", "linear", "relu"),
        goldt_alpha=1e5,
        goldt_relu_K=(2, 3, 4),
        goldt_relu_alpha=3e3,
        wd_kappa=(0.0, 0.003, 0.01, 0.03),
        wd_sigma=(0.0, 0.1, 0.2, 0.3, 0.5),
        sgd_N=500,
        sgd_seeds=4,
        lr_sgd_K=(2, 3),
        lr_sgd_N=2000,
        lr_sgd_frac=(0.3, 0.6, 0.8, 0.9, 1.0, 1.1),
        goldt_sgd_K=(2, 4, 6),
        goldt_sgd_alpha=200.0,
        wd_sgd=((0.0, 0.3), (0.01, 0.1), (0.01, 0.3), (0.01, 0.5), (0.03, 0.3)),
        # the window [A/2, A] spans several relaxation times 1/(2 rate) = 23 (K = 2, eta = 0.5)
        wd_sgd_alpha=300.0,
    )


# ------------------------------------------------------------------ Saad & Solla 1995
def _scm_weights(K: int, N: int, seed: int) -> Weights:
    w = Weights.random(K, K, N, vstar=1.0, seed=seed)
    return w.replace(v=scm_v(K, K, np.ones(K)))


def saad_solla_tables(cfg: dict, *, seed: int = 0, log: Callable[[str], object] = print) -> list[Table]:
    """Learning curves through the plateau, plateau height against eta, plateau length against ln N.

    Curves: ODE and SGD (``simulate_seeds``) from the same random weights (N =
    ``ss_N``, overlaps with the teacher of order 1/sqrt N), eta_v = 0, v = v* = 1.
    The SGD plateau level is the median eps_g of each run over the alpha range where
    the ODE curve lies within 5% of the visited plateau height (mean +- s.e. over runs).
    """
    curves: dict[str, list] = dict(K=[], eta=[], alpha=[], eps_g=[], visited_height=[])
    sgd: dict[str, list] = dict(K=[], eta=[], N=[], alpha=[], mean=[], stderr=[])
    levels: dict[str, list] = dict(K=[], eta=[], N=[], level_mean=[], level_stderr=[], visited_height=[])
    N = int(cfg["ss_N"])
    for K in cfg["ss_K"]:
        w = _scm_weights(K, N, seed)
        s0 = w.state()
        for eta in cfg["ss_etas"]:
            fp = visited_plateau(K, K, eta=eta)
            a_max = min(1.5 * (20.0 / fp.escape_rate + math.log(N) / (2 * fp.escape_rate)), 3e4)
            save = np.unique(np.concatenate([np.geomspace(0.1, a_max, 150), np.linspace(0, a_max, 150)]))
            res = integrate(s0, eta=eta, eta_v=0.0, alpha_max=a_max, save_at=save, progress=False)
            curves["K"] += [K] * len(res.alpha)
            curves["eta"] += [eta] * len(res.alpha)
            curves["alpha"] += list(res.alpha)
            curves["eps_g"] += list(res.eps_g)
            curves["visited_height"] += [fp.eps_g] * len(res.alpha)
            if eta != cfg["ss_etas"][len(cfg["ss_etas"]) // 2]:
                continue
            t0 = time.perf_counter()
            sim = simulate_seeds(
                w, eta=eta, eta_v=0.0, seeds=cfg["ss_seeds"], seed=seed, alpha_max=a_max,
                save_at=np.linspace(0, a_max, 61)[1:], workers=1, progress=False,
            )  # fmt: skip
            log(f"  SGD K={K} eta={eta} N={N}: {sim.n_runs} runs in {time.perf_counter() - t0:.1f} s")
            n = len(sim.alpha)
            sgd["K"] += [K] * n
            sgd["eta"] += [eta] * n
            sgd["N"] += [N] * n
            sgd["alpha"] += list(sim.alpha)
            sgd["mean"] += list(sim.mean)
            sgd["stderr"] += list(sim.stderr)
            p = detect_plateau(res.alpha, res.eps_g, height=fp)
            band = (sim.alpha >= p.start) & (sim.alpha <= p.end)
            if band.any():
                per_run = np.median(sim.eps_g[:, band], axis=1)
                levels["K"].append(K)
                levels["eta"].append(eta)
                levels["N"].append(N)
                levels["level_mean"].append(float(per_run.mean()))
                levels["level_stderr"].append(float(per_run.std(ddof=1) / math.sqrt(per_run.size)))
                levels["visited_height"].append(fp.eps_g)
        log(f"  Saad-Solla curves K={K} done")
    heights: dict[str, list] = dict(K=[], eta=[], eta_c=[], visited=[], identical=[], eta0_closed_form=[])
    for K in cfg["ss_K"]:
        eta_c = critical_learning_rate(K, K).eta_c
        for eta in np.linspace(0.2, 0.8 * eta_c, int(cfg["height_etas"])):
            pts = plateau_fixed_points(K, K, eta=float(eta))
            ident = [p.eps_g for p in pts if p.kind == "plateau (identical students)"]
            heights["K"].append(K)
            heights["eta"].append(float(eta))
            heights["eta_c"].append(eta_c)
            heights["visited"].append(pts[0].eps_g if pts[0].visited else float("nan"))
            heights["identical"].append(ident[0] if ident else float("nan"))
            heights["eta0_closed_form"].append(saad_solla_plateau(K)["eps_g"])
        log(f"  plateau heights K={K} done")
    lengths: dict[str, list] = dict(N=[], seed=[], length=[], source=[])
    fits: dict[str, Any] = {}
    eta_len = 0.5
    scans = [("ode", plateau_lengths(2, 2, cfg["len_ode_N"], cfg["len_seeds"], eta=eta_len, progress=False))]
    if cfg["len_sgd_N"]:
        curve = simulation_curve(2, 2, eta=eta_len)
        scans.append(
            ("sgd", plateau_lengths(2, 2, cfg["len_sgd_N"], cfg["len_seeds"], eta=eta_len, curve=curve, progress=False))
        )
    for src, scan in scans:
        lengths["N"] += list(scan.N)
        lengths["seed"] += list(scan.seed)
        lengths["length"] += list(scan.length)
        lengths["source"] += [src] * len(scan.N)
        try:
            f = fit_log_slope(scan.N, scan.length)
            fits[src] = dict(slope=f.slope, slope_stderr=f.slope_stderr, intercept=f.intercept, runs=f.n)
        except ValueError as exc:
            fits[src] = dict(error=str(exc))
        fits["predicted_slope"] = scan.params["predicted_slope"]
        fits["escape_rate"] = scan.params["escape_rate"]
    log("  plateau lengths done")
    common = dict(activation="erf", eta_v=0.0, v=1.0, vstar=1.0, T="identity", seed=seed)
    return [
        Table(
            "saad_solla_curves",
            curves,
            dict(
                K="student units = teacher units",
                eta="learning rate",
                alpha="steps / N",
                eps_g=EPS_DOC,
                visited_height="eps_g of the visited plateau fixed point (T = I)",
            ),
            dict(common, N=N, initial="Weights.random(K, K, N, seed) with v = v* = 1 (ODE from its state)"),
        ),
        Table(
            "saad_solla_curves_sgd",
            sgd,
            dict(
                K="units",
                eta="learning rate",
                N="input dimension",
                alpha="steps / N",
                mean="eps_g, mean over runs",
                stderr="standard error over runs",
            ),
            dict(common, runs=cfg["ss_seeds"]),
        ),
        Table(
            "saad_solla_levels_sgd",
            levels,
            dict(
                level_mean="median eps_g over the ODE plateau, mean over runs",
                level_stderr="standard error over runs",
                visited_height="eps_g of the visited plateau fixed point (T = I)",
            ),
            common,
        ),
        Table(
            "saad_solla_heights",
            heights,
            dict(
                eta="learning rate",
                eta_c="critical learning rate of the perfect student",
                visited="eps_g of the plateau fixed point learning curves from small overlaps visit",
                identical="eps_g of the identical-students plateau fixed point (q = c)",
                eta0_closed_form=SAAD_SOLLA_1995 + ": (K/pi)[pi/6 - K asin(1/(2K))]",
            ),
            common,
        ),
        Table(
            "saad_solla_lengths",
            lengths,
            dict(
                N="input dimension",
                seed="seed of the random weights (and the SGD stream)",
                length="alpha spent within 5% of the visited plateau height (NaN: not found)",
                source="ode (State.random) or sgd (simulate from Weights.random)",
            ),
            dict(common, K=2, M=2, eta=eta_len, fits=fits),
        ),
    ]


# ------------------------------------------------------------------ learning rates
def slowest_rate(K: int, eta: float) -> float:
    """min_i |Re lambda_i| of the Jacobian at the perfect student (K = M, erf, eta_v = 0): -max Re lambda."""
    J, _ = jacobian(perfect_student(K, K), eta=eta)
    return float(-np.max(np.linalg.eigvals(J).real))


def sgd_against_ode(
    w: Weights, *, alpha_max: float, window_from: float, seeds: int, seed: int, **model: Any
) -> dict[str, float]:
    """SGD runs (:func:`statmech.sim.simulate_seeds`) and the ODE started from the same weights ``w``.

    eps_g is averaged over 11 saved alphas in [``window_from``, ``alpha_max``]
    (one point when they are equal): per run for SGD (``mean`` +- ``stderr``
    over runs), once for the ODE (``ode``, from ``w.state()``). NaN where a run
    or the integration diverged. ``model``: eta, eta_v, sigma, weight_decay, activation.
    """
    save = np.array([alpha_max]) if window_from >= alpha_max else np.linspace(window_from, alpha_max, 11)
    sim = simulate_seeds(w, seeds=seeds, seed=seed, alpha_max=alpha_max, save_at=save, workers=1, progress=False,
                         **model)  # fmt: skip
    res = integrate(w.state(), alpha_max=alpha_max, save_at=save, progress=False, **model)
    nan = float("nan")
    ok = sim.status == 0 and len(sim.alpha) == len(save)
    per_run = np.mean(sim.eps_g, axis=1) if ok else np.full(1, nan)
    return dict(
        mean=float(per_run.mean()),
        stderr=float(per_run.std(ddof=1) / math.sqrt(per_run.size)) if per_run.size > 1 else nan,
        ode=float(np.mean(res.eps_g)) if res.status == 0 else nan,
        runs=int(sim.n_runs),
    )


LR_EPS = 0.1  # size of the perturbation of the perfect student's weights (W = W* + eps G)


def learning_rate_tables(cfg: dict, *, seed: int = 0, log: Callable[[str], object] = print) -> list[Table]:
    """eta_c (bisection) and eta_opt (bounded maximisation of the slowest rate over (0, eta_c)) for K = M.

    Both learning rates seen in learning: from real weights W = W* + 0.1 G near the
    perfect student (N = ``lr_sgd_N``), eps_g after alpha = 2 / rate_opt against eta,
    the ODE from the weights' order parameters (line) and SGD (mean +- s.e. over runs).
    It is smallest near eta_opt and grows above eta_c.
    """
    rates: dict[str, list] = dict(K=[], eta_c=[], eta_opt=[], rate_opt=[])
    scan: dict[str, list] = dict(K=[], eta=[], slowest_rate=[])
    for K in cfg["rate_K"]:
        eta_c = critical_learning_rate(K, K).eta_c
        r = minimize_scalar(lambda e, K=K: -slowest_rate(K, e), bounds=(1e-3, eta_c), method="bounded",
                            options=dict(xatol=1e-6))  # fmt: skip
        rates["K"].append(K)
        rates["eta_c"].append(eta_c)
        rates["eta_opt"].append(float(r.x))
        rates["rate_opt"].append(float(-r.fun))
        for eta in np.linspace(0.02, 1.1, 28) * eta_c:
            scan["K"].append(K)
            scan["eta"].append(float(eta))
            scan["slowest_rate"].append(slowest_rate(K, float(eta)))
    log("  learning rates done")
    N = int(cfg["lr_sgd_N"])
    decay: dict[str, list] = dict(K=[], eta=[], eta_over_eta_c=[], alpha=[], eps_g0=[], ode=[])
    sgd: dict[str, list] = dict(K=[], eta=[], eta_over_eta_c=[], alpha=[], N=[], eps_g0=[], ode=[], mean=[],
                                stderr=[], runs=[])  # fmt: skip
    for K in cfg["lr_sgd_K"]:
        i = list(rates["K"]).index(K)
        eta_c, eta_opt, rate_opt = rates["eta_c"][i], rates["eta_opt"][i], rates["rate_opt"][i]
        w = weights_from_state(perturbed_perfect_student(K, K, eps=LR_EPS, N=N, seed=seed), N, seed=seed)
        s0 = w.state()
        e0 = eps_g_arrays(s0.Q, s0.R, s0.T, s0.v, s0.vstar, "erf")
        a = float(round(2.0 / rate_opt))
        for frac in np.linspace(0.1, 1.15, 43):
            res = integrate(s0, eta=float(frac * eta_c), eta_v=0.0, alpha_max=a, save_at=np.array([a]),
                            progress=False)  # fmt: skip
            decay["K"].append(K)
            decay["eta"].append(float(frac * eta_c))
            decay["eta_over_eta_c"].append(float(frac))
            decay["alpha"].append(a)
            decay["eps_g0"].append(e0)
            decay["ode"].append(float(res.eps_g[-1]) if res.status == 0 else float("nan"))
        t0 = time.perf_counter()
        for eta in sorted([f * eta_c for f in cfg["lr_sgd_frac"]] + [eta_opt]):
            c = sgd_against_ode(w, alpha_max=a, window_from=a, seeds=cfg["sgd_seeds"], seed=seed, eta=eta, eta_v=0.0)
            sgd["K"].append(K)
            sgd["eta"].append(float(eta))
            sgd["eta_over_eta_c"].append(float(eta / eta_c))
            sgd["alpha"].append(a)
            sgd["N"].append(N)
            sgd["eps_g0"].append(e0)
            for k in ("ode", "mean", "stderr", "runs"):
                sgd[k].append(c[k])
        log(f"  SGD near the perfect student K={K}, N={N}: {time.perf_counter() - t0:.1f} s")
    common = dict(activation="erf", eta_v=0.0, M="K", T="identity", vstar=1.0)
    start = dict(common, start=f"W = W* + {LR_EPS:g} G (perturbed_perfect_student, seed {seed})", seed=seed)
    return [
        Table(
            "learning_rates",
            rates,
            dict(
                eta_c="largest eta with the perfect student linearly stable (bisection, rtol 1e-7)",
                eta_opt="eta maximising the slowest asymptotic rate (bounded Brent, xatol 1e-6)",
                rate_opt="slowest rate min |Re lambda| at eta_opt, per unit alpha",
            ),
            common,
        ),
        Table(
            "learning_rates_scan",
            scan,
            dict(slowest_rate="-max Re lambda of the Jacobian at the perfect student (negative: unstable)"),
            common,
        ),
        Table(
            "learning_rates_decay",
            decay,
            dict(
                alpha="alpha at which eps_g is read: 2 / rate_opt",
                eps_g0="eps_g of the initial weights",
                ode=f"{EPS_DOC} at alpha, ODE from the initial weights' order parameters",
            ),
            dict(start, N=N),
        ),
        Table(
            "learning_rates_sgd",
            sgd,
            dict(
                alpha="alpha at which eps_g is read: 2 / rate_opt",
                N="input dimension",
                eps_g0="eps_g of the initial weights",
                ode="eps_g of the ODE from the same weights at alpha",
                mean="eps_g of SGD at alpha, mean over runs",
                stderr="standard error over runs",
                runs="SGD runs",
            ),
            start,
        ),
    ]


# ------------------------------------------------------------------ Goldt et al. 2019
GOLDT_M = 2
GOLDT_SIGMA = 0.01
GOLDT_ETA = {"erf": 0.2, "linear": 0.1, "relu": 0.1}


def polish_fixed_point(end: State, *, M: int, eta: float, eta_v: float, sigma: float, activation: str) -> FixedPoint:
    """The fixed point an integration ends near, found from its end state ``end``.

    First layer only, or K = M: a root of the flow
    (:func:`statmech.analysis.fixed_points.find_fixed_point`, full ansatz) from
    ``end``. Both layers with K > M: the K - M units of smallest |v_l| are
    switched off (v_l = 0, their overlaps kept: their w_l then get no gradient,
    a manifold of fixed points on which the flow is not hyperbolic, so the
    v_l decay algebraically), and the M others are solved as a K = M root from
    their part of ``end`` (surplus units of zero norm where their kept overlaps
    do not fit the solved block); the record's ``residual`` is max |F| of the
    whole flow there, its ``eigenvalues`` those of the M active units' root.
    Raises ValueError when no root is found.
    """
    model = Model(eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    if eta_v == 0 or end.K == M:
        return find_fixed_point(end, model, kind="asymptotic")
    keep = np.sort(np.argsort(-np.abs(end.v))[:M])
    sub = State(Q=end.Q[np.ix_(keep, keep)], R=end.R[keep], T=end.T, v=end.v[keep], vstar=end.vstar)
    root = find_fixed_point(sub, model, kind="asymptotic")
    core = root.state
    Q, R, v = end.Q.copy(), end.R.copy(), np.zeros(end.K)
    Q[np.ix_(keep, keep)] = core.Q
    R[keep] = core.R
    v[keep] = core.v
    try:
        state = State(Q=Q, R=R, T=end.T, v=v, vstar=end.vstar)
    except ValueError:  # the kept cross overlaps do not fit the solved block: surplus units of zero norm
        Q, R = np.zeros_like(Q), np.zeros_like(R)
        Q[np.ix_(keep, keep)] = core.Q
        R[keep] = core.R
        state = State(Q=Q, R=R, T=end.T, v=v, vstar=end.vstar)
    fp = analyse(state, model, kind="asymptotic, surplus v = 0")
    # stability of the M active units (the surplus directions are zero modes of the off manifold)
    return replace(fp, eigenvalues=root.eigenvalues)


def approaches(earlier: State, later: State, fp: FixedPoint, M: int) -> bool:
    """Whether ``later`` is nearer ``fp`` than ``earlier`` in the coordinates that decide the limit.

    All of (Q, R, v), except with surplus units switched off (v_l = 0 at ``fp``):
    then the M kept units' (Q, R, v) block and every v. Also true within 1e-6 of ``fp``.
    """
    off = np.flatnonzero(fp.state.v == 0) if fp.state.K > M else np.array([], dtype=int)
    keep = np.setdiff1d(np.arange(fp.state.K), off)

    def coords(s: State) -> np.ndarray:
        if off.size == 0:
            return pack(s)
        return np.concatenate([s.Q[np.ix_(keep, keep)].ravel(), s.R[keep].ravel(), s.v])

    x = coords(fp.state)
    d_later = np.linalg.norm(coords(later) - x)
    # within 1e-6 the two distances are the integrator's rounding (rtol 1e-8), not a trend
    return bool(d_later < 1e-6 or d_later < np.linalg.norm(coords(earlier) - x))


def stability(max_re: float) -> str:
    """stable (max Re lambda < -1e-7), marginal (|max Re lambda| <= 1e-7: zero modes) or unstable."""
    if not math.isfinite(max_re):
        return "none"
    return "stable" if max_re < -1e-7 else ("marginal" if max_re <= 1e-7 else "unstable")


def goldt_tables(cfg: dict, *, seed: int = 0, log: Callable[[str], object] = print) -> list[Table]:
    """Final eps_g from small overlaps, M = 2, sigma = 0.01, against K; the fixed points reached; SGD there.

    First layer only (eta_v = 0, v = v* = 1) and both layers (eta_v = eta, v
    started around 1). Each integration (to ``goldt_alpha``; ReLU to
    ``goldt_relu_alpha`` for K in ``goldt_relu_K``) is polished into a fixed
    point (:func:`polish_fixed_point`); ``fp_converging`` says whether the
    integration approaches it (distance in (Q, R, v) smaller at alpha_max than
    at alpha_max^0.9). For erf with the first layer only, also the
    asymptotic fixed point's eps_g and Goldt et al.'s formula. SGD (erf, K in
    ``goldt_sgd_K``, N = ``sgd_N``) is started at the fixed point (at the
    integration's end where none was found, and for both layers with K > M) and averaged over alpha in
    [A/2, A], A = ``goldt_sgd_alpha``, against the ODE from the same weights.
    """
    rows: dict[str, list] = dict(
        activation=[], layers=[], K=[], eta=[], alpha_max=[], eps_g=[], drift=[], fp_eps_g=[], fp_residual=[],
        fp_max_re=[],
        fp_stability=[], fp_converging=[], fixed_point=[], goldt_formula=[],
    )  # fmt: skip
    sgd: dict[str, list] = dict(activation=[], layers=[], K=[], eta=[], N=[], start=[], alpha_from=[],
                                alpha_to=[], ode=[], mean=[], stderr=[], runs=[])  # fmt: skip
    N, A = int(cfg["sgd_N"]), float(cfg["goldt_sgd_alpha"])
    nan = float("nan")
    for act in cfg["goldt_acts"]:
        eta = GOLDT_ETA[act]
        a_max = float(cfg["goldt_relu_alpha"] if act == "relu" else cfg["goldt_alpha"])
        Ks = cfg["goldt_relu_K"] if act == "relu" else cfg["goldt_K"]
        save = np.geomspace(1.0, a_max, 81)
        for layers, eta_v in (("first", 0.0), ("both", eta)):
            for K in Ks:
                t0 = time.perf_counter()
                s0 = small_overlap_state(K, GOLDT_M, train_v=eta_v > 0, scale=1e-3, seed=seed)
                model = dict(eta=eta, eta_v=eta_v, sigma=GOLDT_SIGMA, activation=act)
                res = integrate(s0, alpha_max=a_max, save_at=save, progress=False, **model)
                e = np.asarray(res.eps_g)
                ok = res.status == 0
                j = len(res.alpha) - 9  # 8 of 80 log steps back: half a decade at alpha_max = 1e5
                fp, conv, max_re = None, False, nan
                if ok:
                    try:
                        fp = polish_fixed_point(res.state_at(-1), M=GOLDT_M, **model)
                    except ValueError as exc:
                        log(f"  Goldt {act} {layers} K={K}: no fixed point from the end state ({str(exc)[:80]}...)")
                if fp is not None:
                    conv = approaches(res.state_at(j), res.state_at(-1), fp, GOLDT_M)
                    max_re = float(np.max(fp.eigenvalues.real))
                fp_e, formula = nan, nan
                if act == "erf" and layers == "first":
                    fp_e = asymptotic_fixed_point(K, GOLDT_M, eta=eta, sigma=GOLDT_SIGMA).eps_g
                    formula = goldt_small_noise_error(K, GOLDT_M, eta, GOLDT_SIGMA)
                rows["activation"].append(act)
                rows["layers"].append(layers)
                rows["K"].append(K)
                rows["eta"].append(eta)
                rows["alpha_max"].append(a_max)
                rows["eps_g"].append(float(e[-1]) if ok else nan)
                rows["drift"].append(float(abs(e[-1] - e[j]) / e[-1]) if ok else nan)
                rows["fp_eps_g"].append(fp.eps_g if fp is not None else nan)
                rows["fp_residual"].append(fp.residual if fp is not None else nan)
                rows["fp_max_re"].append(max_re)
                rows["fp_stability"].append(stability(max_re))
                rows["fp_converging"].append(conv)
                rows["fixed_point"].append(fp_e)
                rows["goldt_formula"].append(formula)
                fp_txt = f", fixed point {fp.eps_g:.4g} ({stability(max_re)})" if fp is not None else ""
                log(f"  Goldt {act} {layers} K={K}: eps_g={e[-1]:.4g}{fp_txt} ({time.perf_counter() - t0:.1f} s)")
                if act != "erf" or K not in cfg["goldt_sgd_K"] or not ok:
                    continue
                t0 = time.perf_counter()
                # surplus units switched off stay off under SGD (no gradient reaches them): those runs start
                # from the integration's end, where they are still switched on
                at_fp = fp is not None and not (eta_v > 0 and K > GOLDT_M)
                start = fp.state if at_fp and fp is not None else res.state_at(-1)
                w = weights_from_state(start, N, seed=seed)
                c = sgd_against_ode(w, alpha_max=A, window_from=A / 2, seeds=cfg["sgd_seeds"], seed=seed, **model)
                for k, val in dict(activation=act, layers=layers, K=K, eta=eta, N=N, alpha_from=A / 2, alpha_to=A,
                                   start="fixed point" if at_fp else "integration end", **c).items():  # fmt: skip
                    sgd[k].append(val)
                log(
                    f"  SGD {act} {layers} K={K} N={N}: {c['mean']:.4g} +- {c['stderr']:.2g} ({time.perf_counter() - t0:.1f} s)"
                )
    params = dict(M=GOLDT_M, sigma=GOLDT_SIGMA, eta=GOLDT_ETA, vstar=1.0, T="identity", seed=seed)
    return [
        Table(
            "goldt_final_error",
            rows,
            dict(
                activation="student = teacher activation",
                layers="first: eta_v = 0, v = v* = 1 (soft committee); both: eta_v = eta",
                alpha_max="end of the integration",
                eps_g=f"{EPS_DOC}, at alpha_max (ODE from small overlaps, scale 1e-3)",
                drift="|eps_g(alpha_max) - eps_g(alpha_max^0.9)| / eps_g(alpha_max): how far from converged",
                fp_eps_g="eps_g of the fixed point polished from the end state (NaN: none found)",
                fp_residual="max |F| of the flow there (both layers, K > M: the surplus units' dv_l)",
                fp_max_re="largest real part of its Jacobian's eigenvalues",
                fp_stability="stable (< -1e-7), marginal (|max Re| <= 1e-7), unstable; none: no fixed point (both layers, "
                "K > M: of the M active units)",
                fp_converging="the integration is nearer the fixed point at alpha_max than at alpha_max^0.9",
                fixed_point="eps_g of the asymptotic fixed point from the perfect student (erf, first layer only)",
                goldt_formula="Goldt et al. 2019 small-noise formula (erf, first layer only)",
            ),
            dict(params, alpha_max={"relu": float(cfg["goldt_relu_alpha"]), "others": float(cfg["goldt_alpha"])}),
        ),
        Table(
            "goldt_sgd",
            sgd,
            dict(
                N="input dimension",
                start="the SGD runs start from weights with the fixed point's overlaps (or the integration's end)",
                alpha_from="eps_g averaged over 11 saved alphas from alpha_from",
                alpha_to="to alpha_to",
                ode="eps_g of the ODE from the same weights, same average",
                mean="eps_g of SGD, mean over runs of the average",
                stderr="standard error over runs",
                runs="SGD runs",
            ),
            params,
        ),
    ]


# ------------------------------------------------------------------ Saad & Solla 1996


def weight_decay_tables(cfg: dict, *, seed: int = 0, log: Callable[[str], object] = print) -> list[Table]:
    """Asymptotic eps_g against sigma for several weight decays kappa, and the plateau against kappa.

    K = M = 2 soft committee machine (erf, eta = 0.5, eta_v = 0): the asymptotic
    eps_g is the end of a long integration started at the perfect student
    (alpha = 4000); the plateau comes from a curve started at small overlaps
    (scale 1e-4), its height estimated from the curve's flattest stretch
    (:func:`statmech.analysis.plateaus.detect_plateau` without a given height).
    SGD for the (kappa, sigma) pairs of ``wd_sgd`` from the perfect student's
    weights (N = ``sgd_N``), eps_g averaged over alpha in [A/2, A], against
    the ODE from the same weights (:func:`sgd_against_ode`).
    """
    K, eta = 2, 0.5
    asym: dict[str, list] = dict(kappa=[], sigma=[], eps_g=[])
    for kappa in cfg["wd_kappa"]:
        for sigma in cfg["wd_sigma"]:
            res = integrate(
                perfect_student(K, K), eta=eta, eta_v=0.0, sigma=sigma, weight_decay=kappa, alpha_max=4000.0,
                save_at=np.array([2000.0, 4000.0]), progress=False,
            )  # fmt: skip
            asym["kappa"].append(kappa)
            asym["sigma"].append(sigma)
            asym["eps_g"].append(float(res.eps_g[-1]) if res.status == 0 else float("nan"))
    plat: dict[str, list] = dict(kappa=[], height=[], start=[], end=[], length=[], final_eps_g=[])
    s0 = small_overlap_state(K, K, scale=1e-4, seed=seed)
    for kappa in cfg["wd_kappa"]:
        res = integrate(
            s0, eta=eta, eta_v=0.0, weight_decay=kappa, alpha_max=3000.0,
            save_at=np.unique(np.concatenate([np.geomspace(0.1, 3000, 300), np.linspace(0, 3000, 300)])),
            progress=False,
        )  # fmt: skip
        p = detect_plateau(res.alpha, res.eps_g)
        plat["kappa"].append(kappa)
        plat["height"].append(p.height)
        plat["start"].append(p.start)
        plat["end"].append(p.end)
        plat["length"].append(p.length if p.left else float("nan"))
        plat["final_eps_g"].append(float(res.eps_g[-1]))
    log("  weight decay done")
    N, A = int(cfg["sgd_N"]), float(cfg["wd_sgd_alpha"])
    sgd: dict[str, list] = dict(kappa=[], sigma=[], N=[], alpha_from=[], alpha_to=[], ode=[], mean=[], stderr=[],
                                runs=[])  # fmt: skip
    w = weights_from_state(perfect_student(K, K), N, seed=seed)
    t0 = time.perf_counter()
    for kappa, sigma in cfg["wd_sgd"]:
        c = sgd_against_ode(w, alpha_max=A, window_from=A / 2, seeds=cfg["sgd_seeds"], seed=seed, eta=eta,
                            eta_v=0.0, sigma=sigma, weight_decay=kappa)  # fmt: skip
        for k, val in dict(kappa=kappa, sigma=sigma, N=N, alpha_from=A / 2, alpha_to=A, **c).items():
            sgd[k].append(val)
    log(f"  SGD with weight decay and noise, N={N}: {time.perf_counter() - t0:.1f} s")
    common = dict(K=K, M=K, activation="erf", eta=eta, eta_v=0.0, T="identity", vstar=1.0)
    return [
        Table(
            "weight_decay_asymptotic",
            asym,
            dict(kappa="weight decay per unit alpha", sigma="output noise", eps_g=f"{EPS_DOC} at alpha = 4000"),
            dict(common, start="perfect student"),
        ),
        Table(
            "weight_decay_plateau",
            plat,
            dict(
                kappa="weight decay",
                height="plateau height estimated from the curve (flattest stretch)",
                start="first alpha within 5% of the height",
                end="last alpha within 5% of the height",
                length="end - start (NaN: never left)",
                final_eps_g="eps_g at alpha = 3000",
            ),
            dict(common, start="small overlaps, scale 1e-4", seed=seed),
        ),
        Table(
            "weight_decay_sgd",
            sgd,
            dict(
                kappa="weight decay",
                sigma="output noise",
                N="input dimension",
                alpha_from="eps_g averaged over 11 saved alphas from alpha_from",
                alpha_to="to alpha_to",
                ode=f"{EPS_DOC}, ODE from the same weights, same average",
                mean="eps_g of SGD, mean over runs of the average",
                stderr="standard error over runs",
                runs="SGD runs",
            ),
            dict(common, start="weights of the perfect student (weights_from_state)", seed=seed),
        ),
    ]


# ------------------------------------------------------------------ driver
def reproduce_classic(
    out: str | Path, *, quick: bool = False, seed: int = 0, log: Callable[[str], object] = print
) -> dict:
    """Compute every classic table, write it (CSV + JSON) into ``out`` and draw the figures (PNG)."""
    out = ensure_dir(out)
    cfg = classic_config(quick)
    written, timings = [], {}
    steps = (
        ("saad_solla_1995", lambda: saad_solla_tables(cfg, seed=seed, log=log), plots.saad_solla_1995),
        ("learning_rates", lambda: learning_rate_tables(cfg, seed=seed, log=log), plots.learning_rates),
        ("goldt_2019", lambda: goldt_tables(cfg, seed=seed, log=log), plots.goldt_2019),
        ("saad_solla_1996", lambda: weight_decay_tables(cfg, seed=seed, log=log), plots.saad_solla_1996),
    )
    for name, compute, draw in steps:
        t0 = time.perf_counter()
        log(f"{name} ...")
        tables = compute()
        for t in tables:
            written += [t.write(out), out / f"{t.name}.json"]
        written.append(
            draw({t.name: t.columns for t in tables}, {t.name: t.params for t in tables}, out / f"{name}.png")
        )
        timings[name] = time.perf_counter() - t0
        log(f"{name}: {timings[name]:.1f} s")
    return dict(files=[Path(p) for p in written], timings=timings, message=f"wrote {len(written)} files to {out}")
