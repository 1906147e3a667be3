"""Plateaus of learning curves: detection, and the growth of their length with N (docs/theory/fixed_points.md).

**Definition** (:func:`detect_plateau`). Given a reference height h (the
eps_g of the symmetric plateau fixed point that learning curves from small
overlaps visit, :func:`plateau_height`, a FixedPoint, or an estimate from the
curve), the plateau is the longest run of consecutive saved
points with |eps_g / h - 1| <= ``rel_tol`` (default 5%); its *start* and *end*
are the first and last alpha of that run, linearly interpolated to the
crossing of the band edge between saved points, and its *length* is end -
start. ``left`` says whether the curve later drops below (1 - rel_tol) h
(a plateau that never ends has no length to speak of). Without a given h,
the height is estimated as the median eps_g over the longest stretch (in ln
alpha, alpha >= ``alpha_min``) where the log-log slope |d ln eps_g / d ln
alpha| stays below ``slope_tol``; prefer the fixed point's height when it is
known (a noise floor at sigma > 0 is flat too).

**Length against N.** Started from random weights (w, w* i.i.d. N(0, 1)),
the overlaps that break the student-unit symmetry are of order 1/sqrt(N);
they grow like exp(lambda alpha) on the plateau (lambda = escape rate, the
largest positive eigenvalue of the plateau fixed point), so the time to leave
is const + ln(sqrt N) / lambda: the length grows like (1 / (2 lambda)) ln N.
:func:`plateau_lengths` measures it from the ODE (or from simulations with a
callable), and :func:`fit_log_slope` fits length = a + b ln N with the
standard error of b. Measured (K = M = 2 soft committee, eta = 0.5): b =
17.5 +- 2.1 (ODE, N = 1e3..1e7) and 19.2 +- 3.3 (SGD, N = 100..1600) against
1/(2 lambda) = 15.8: curves approach the plateau fixed point only at its
slowest stable rate (0.002) and the growth rate along the part of the
plateau they visit is about 10% below lambda (Jacobian along the curve).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from statmech.analysis.fixed_points import FixedPoint, fixed_point_model, scm_v, visited_plateau
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.integrator import integrate
from statmech.sim.run import simulate

__all__ = [
    "Plateau",
    "detect_plateau",
    "plateau_height",
    "plateau_lengths",
    "PlateauScan",
    "LogFit",
    "fit_log_slope",
    "ode_curve",
    "simulation_curve",
    "DEFAULT_REL_TOL",
]

DEFAULT_REL_TOL = 0.05


@dataclass(frozen=True)
class Plateau:
    """A plateau of a learning curve (see the module docstring for the definition)."""

    height: float
    start: float
    end: float
    left: bool
    rel_tol: float
    height_source: str
    start_index: int
    end_index: int

    @property
    def length(self) -> float:
        return self.end - self.start


def _crossing(a0, a1, e0, e1, level):
    """alpha where the straight line between (a0, e0) and (a1, e1) meets ``level`` (in ln alpha when possible)."""
    if e1 == e0:
        return a1
    t = (level - e0) / (e1 - e0)
    t = min(1.0, max(0.0, t))
    if a0 > 0 and a1 > 0:
        return float(math.exp(math.log(a0) + t * (math.log(a1) - math.log(a0))))
    return float(a0 + t * (a1 - a0))


def _estimate_height(alpha, eps, alpha_min, slope_tol):
    keep = (alpha >= alpha_min) & (eps > 0)
    a, e = alpha[keep], eps[keep]
    if a.size < 3:
        raise ValueError(
            f"too few saved points with alpha >= alpha_min={alpha_min} to estimate a plateau height "
            f"({a.size}); save more points or pass height="
        )
    la, le = np.log(a), np.log(e)
    slope = np.gradient(le, la)
    flat = np.abs(slope) <= slope_tol
    best, best_len, i = None, 0.0, 0
    while i < flat.size:
        if flat[i]:
            j = i
            while j + 1 < flat.size and flat[j + 1]:
                j += 1
            span = la[j] - la[i]
            if span > best_len or best is None:
                best, best_len = (i, j), span
            i = j + 1
        else:
            i += 1
    if best is None:
        raise ValueError(
            f"no flat part found: |d ln eps_g / d ln alpha| > slope_tol={slope_tol} at every saved "
            f"point with alpha >= {alpha_min}; pass height= (e.g. the plateau fixed point's eps_g)"
        )
    return float(np.median(e[best[0] : best[1] + 1]))


def detect_plateau(
    alpha: ArrayLike,
    eps_g: ArrayLike,
    *,
    height: float | FixedPoint | None = None,
    rel_tol: float = DEFAULT_REL_TOL,
    alpha_min: float = 1.0,
    slope_tol: float = 0.05,
) -> Plateau:
    """The plateau of the curve (alpha, eps_g): height, start, end, length (module docstring).

    ``height``: a number, a FixedPoint (its eps_g, e.g. from
    ``fixed_points.visited_plateau``), or None (estimated from the curve).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    eps = np.asarray(eps_g, dtype=np.float64)
    if alpha.ndim != 1 or alpha.shape != eps.shape or alpha.size < 2:
        raise ValueError(
            f"alpha and eps_g must be 1-D arrays of the same length >= 2, got shapes {alpha.shape} and {eps.shape}"
        )
    if np.any(np.diff(alpha) <= 0) or not np.all(np.isfinite(alpha)) or not np.all(np.isfinite(eps)):
        raise ValueError("alpha must be strictly increasing and alpha, eps_g finite")
    if not (0 < rel_tol < 1):
        raise ValueError(f"rel_tol must be in (0, 1), got {rel_tol!r}")
    if height is None:
        h, source = _estimate_height(alpha, eps, alpha_min, slope_tol), "estimated"
    elif isinstance(height, FixedPoint):
        h, source = float(height.eps_g), "fixed point"
    else:
        if not (np.isfinite(height) and height > 0):
            raise ValueError(f"height must be a finite number > 0, got {height!r}")
        h, source = float(height), "given"
    inside = np.abs(eps / h - 1.0) <= rel_tol
    if not inside.any():
        raise ValueError(
            f"the curve never comes within rel_tol={rel_tol} of the plateau height {h:.6g} "
            f"(eps_g ranges over [{eps.min():.4g}, {eps.max():.4g}])"
        )
    # longest run of consecutive inside points, measured in alpha
    runs, i = [], 0
    while i < inside.size:
        if inside[i]:
            j = i
            while j + 1 < inside.size and inside[j + 1]:
                j += 1
            runs.append((alpha[j] - alpha[i], i, j))
            i = j + 1
        else:
            i += 1
    _, i0, i1 = max(runs)
    lo, hi = h * (1 - rel_tol), h * (1 + rel_tol)

    def edge(e_out):
        return hi if e_out > hi else lo

    start = alpha[i0] if i0 == 0 else _crossing(alpha[i0 - 1], alpha[i0], eps[i0 - 1], eps[i0], edge(eps[i0 - 1]))
    end = (
        alpha[i1]
        if i1 == alpha.size - 1
        else _crossing(alpha[i1], alpha[i1 + 1], eps[i1], eps[i1 + 1], edge(eps[i1 + 1]))
    )
    left = bool(np.any(eps[i1 + 1 :] < lo))
    return Plateau(
        height=h,
        start=float(start),
        end=float(end),
        left=left,
        rel_tol=float(rel_tol),
        height_source=source,
        start_index=int(i0),
        end_index=int(i1),
    )


def plateau_height(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    activation: str | None = None,
) -> float:
    """eps_g of the symmetric plateau that learning curves from small overlaps visit (fixed_points.visited_plateau).

    ``model`` or its fields (:func:`statmech.analysis.fixed_points.fixed_point_model`).
    """
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    return visited_plateau(K, M, m, T=T, vstar=vstar).eps_g


def ode_curve(
    state: State,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    alpha_max: float,
    points: int = 400,
    activation: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, eps_g) of the ODE from ``state`` on a log grid (plus linear points for the plateau end).

    ``model`` or its fields (:func:`statmech.analysis.fixed_points.fixed_point_model`).
    """
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)

    save = np.unique(
        np.concatenate([[0.0], np.geomspace(1e-2, alpha_max, points), np.linspace(0.0, alpha_max, points)])
    )
    res = integrate(state, m, alpha_max=alpha_max, save_at=save, progress=False)
    if res.status != 0:
        raise ValueError(f"the ODE integration failed: {res.message}")
    return res.alpha, res.eps_g


def simulation_curve(
    K: int,
    M: int,
    *,
    eta: float,
    eta_v: float = 0.0,
    sigma: float = 0.0,
    vstar: ArrayLike = 1.0,
    activation: str = "erf",
    points: int = 400,
) -> Callable[[int, int, float], tuple[np.ndarray, np.ndarray]]:
    """A ``curve(N, seed, alpha_max) -> (alpha, eps_g)`` for :func:`plateau_lengths` from finite-N SGD.

    Runs ``statmech.sim`` from ``Weights.random(K, M, N, vstar, seed)``
    (v replaced by vstar for the soft committee machine, as for the ODE) with
    input stream ``seed``; eps_g is that of the measured order parameters at
    ``points`` equally spaced times.
    """

    vstar_arr = np.broadcast_to(np.asarray(vstar, dtype=np.float64), (M,)).copy()

    def curve(N, seed, alpha_max):
        w = Weights.random(K, M, N, vstar=vstar_arr, seed=seed)
        if eta_v == 0:
            w = w.replace(v=scm_v(K, M, vstar_arr))
        res = simulate(
            w,
            eta=eta,
            eta_v=eta_v,
            sigma=sigma,
            alpha_max=alpha_max,
            activation=activation,
            save_at=np.linspace(0.0, alpha_max, points + 1),
            seed=seed,
            progress=False,
        )
        if res.status != 0:
            raise ValueError(f"the simulation failed (N={N}, seed={seed}): {res.message}")
        return res.alpha, res.eps_g

    return curve


@dataclass
class PlateauScan:
    """Plateau lengths over input dimensions N and seeds (one row per run; NaN where not found)."""

    N: np.ndarray
    seed: np.ndarray
    start: np.ndarray
    end: np.ndarray
    length: np.ndarray
    height: float
    params: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def columns(self) -> dict:
        return dict(N=self.N, seed=self.seed, start=self.start, end=self.end, length=self.length)


def plateau_lengths(
    K: int,
    M: int,
    Ns: Sequence[int],
    seeds: Sequence[int],
    *,
    eta: float,
    eta_v: float = 0.0,
    sigma: float = 0.0,
    vstar: ArrayLike = 1.0,
    activation: str = "erf",
    height: float | None = None,
    rel_tol: float = DEFAULT_REL_TOL,
    alpha_max: float | None = None,
    curve: Callable[[int, int, float], tuple[np.ndarray, np.ndarray]] | None = None,
    progress: bool | None = None,
) -> PlateauScan:
    """Plateau length for each N and seed, from the ODE started at State.random(K, M, N, vstar, seed).

    The soft committee machine (eta_v = 0) starts with v = vstar (the random v
    of State.random is replaced, as in Saad & Solla). ``height`` defaults to the
    visited plateau fixed point's eps_g. ``alpha_max`` defaults to 20 / escape rate +
    the expected length, doubled (up to 4 times) while the curve has not left
    the plateau. Height and escape rate are those of the plateau fixed point
    the learning curves visit (fixed_points.visited_plateau). ``curve(N, seed, alpha_max) -> (alpha, eps_g)`` replaces the
    ODE (e.g. a finite-N simulation). A KeyboardInterrupt returns the rows done.
    """
    from tqdm.auto import tqdm

    Ns = [int(n) for n in Ns]
    seeds = [int(s) for s in seeds]
    if not Ns or not seeds or min(Ns) < 1:
        raise ValueError(f"Ns and seeds must be non-empty and every N >= 1, got Ns={Ns}, seeds={seeds}")
    vstar_arr = np.broadcast_to(np.asarray(vstar, dtype=np.float64), (M,)).copy()
    fp = visited_plateau(K, M, eta=eta, eta_v=eta_v, sigma=sigma, vstar=vstar_arr, activation=activation)
    h = fp.eps_g if height is None else float(height)
    lam = fp.escape_rate
    if alpha_max is None:
        if lam <= 0:
            raise ValueError(
                f"the plateau fixed point is not unstable (largest real part {fp.max_real:.3g}); pass alpha_max"
            )
        alpha_max = 20.0 / lam + math.log(max(Ns)) / (2 * lam)

    def ode(N, seed, a_max):
        s = State.random(K, M, N, vstar=vstar_arr, seed=seed)
        if eta_v == 0:
            s = s.replace(v=scm_v(K, M, vstar_arr))
        return ode_curve(s, eta=eta, eta_v=eta_v, sigma=sigma, alpha_max=a_max, activation=activation)

    run = curve or ode
    rows = []
    notes = []
    total = len(Ns) * len(seeds)
    bar = tqdm(total=total, disable=(None if progress is None else not progress), desc="plateau lengths")
    try:
        for N in Ns:
            for seed in seeds:
                a_max = float(alpha_max)
                row = (N, seed, np.nan, np.nan, np.nan)
                for _ in range(5):
                    alpha, eps = run(N, seed, a_max)
                    try:
                        p = detect_plateau(alpha, eps, height=h, rel_tol=rel_tol)
                    except ValueError as exc:
                        notes.append(f"N={N}, seed={seed}: {exc}")
                        break
                    if p.left:
                        row = (N, seed, p.start, p.end, p.length)
                        break
                    a_max *= 2
                else:
                    notes.append(f"N={N}, seed={seed}: still on the plateau at alpha={a_max / 2:g}")
                rows.append(row)
                bar.update(1)
    except KeyboardInterrupt:
        notes.append("interrupted by the user; the rows finished so far are kept")
    finally:
        bar.close()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return PlateauScan(
        N=arr[:, 0].astype(int),
        seed=arr[:, 1].astype(int),
        start=arr[:, 2],
        end=arr[:, 3],
        length=arr[:, 4],
        height=h,
        params=dict(
            K=K,
            M=M,
            eta=eta,
            eta_v=eta_v,
            sigma=sigma,
            vstar=vstar_arr.tolist(),
            activation=activation,
            rel_tol=rel_tol,
            escape_rate=lam,
            predicted_slope=(1 / (2 * lam) if lam > 0 else None),
        ),
        notes=notes,
    )


@dataclass(frozen=True)
class LogFit:
    """Least-squares fit length = intercept + slope ln N, with standard errors (OLS over all runs)."""

    slope: float
    slope_stderr: float
    intercept: float
    intercept_stderr: float
    n: int

    def __str__(self) -> str:
        return (
            f"length = ({self.intercept:.4g} +- {self.intercept_stderr:.2g}) + "
            f"({self.slope:.4g} +- {self.slope_stderr:.2g}) ln N  ({self.n} runs)"
        )


def fit_log_slope(N: ArrayLike, length: ArrayLike) -> LogFit:
    """OLS of length on ln N; the standard errors come from the residual scatter (seeds included)."""
    N = np.asarray(N, dtype=np.float64)
    y = np.asarray(length, dtype=np.float64)
    keep = np.isfinite(y) & (N > 0)
    x, y = np.log(N[keep]), y[keep]
    if np.unique(x).size < 2 or x.size < 3:
        raise ValueError(
            f"need at least 3 finite lengths at 2 or more distinct N to fit a slope, got {x.size} "
            f"at {np.unique(x).size} N"
        )
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = x.size - 2
    s2 = float(resid @ resid) / dof if dof > 0 else float("nan")
    cov = s2 * np.linalg.inv(X.T @ X)
    return LogFit(
        slope=float(coef[1]),
        slope_stderr=float(math.sqrt(cov[1, 1])),
        intercept=float(coef[0]),
        intercept_stderr=float(math.sqrt(cov[0, 0])),
        n=int(x.size),
    )
