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

**The symmetric plateaus** (:func:`plateau_fixed_points`). In the
unspecialised ansatz (Q_ii = q, Q_ik = c, R_in = r, v_i = v) the flow has, at
eta > 0 (erf, T = I, v* = 1), two solutions: identical students (q = c, on the
PSD boundary) and distinct students (q > c). They merge as eta -> 0 into Saad
& Solla's plateau (:func:`saad_solla_plateau`). Learning curves from small
overlaps visit the distinct-students one: :func:`plateau_fixed_points`
integrates a curve from :func:`small_overlap_state`, takes its flattest
unspecialised point and labels the root it converges to "visited" (at K = M =
3, eta = 1: eps_g = 0.06608 against 0.09417 for identical students). The
distinct-students branch is followed in eta from the small-eta limit by
continuation, since a start near Saad & Solla's point converges to it only for
small eta; further starts are spread over the ansatz.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from statmech.analysis.fixed_points import (
    TOL,
    FixedPoint,
    check_sizes,
    find_fixed_point,
    fixed_point_model,
    same_point,
    scm_v,
    teacher_arrays,
)
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.integrator import integrate
from statmech.sim.run import simulate

__all__ = [
    "saad_solla_plateau",
    "plateau_guess",
    "small_overlap_state",
    "PlateauVisit",
    "flattest_unspecialised_point",
    "plateau_fixed_points",
    "visited_plateau",
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


# ------------------------------------------------- the symmetric fixed points
def saad_solla_plateau(K: int) -> dict:
    """Closed form of the symmetric plateau, soft committee machine, erf, K = M, T = I, v = v* = 1, eta -> 0.

    Saad & Solla, Phys. Rev. E 52, 4225 (1995), section IV:
    Q_ii = Q_ik = 1/(2K - 1), R_in = 1/sqrt(K(2K - 1)) and
    eps_g = (K/pi) [pi/6 - K asin(1/(2K))].
    Derivation of eps_g from docs/theory/integrals.md and docs/theory/equations.md with I2 = (2/pi) asin(C_ab / sqrt((1+C_aa)(1+C_bb))):
    every student-student and student-teacher pair has the normalised overlap
    1/(2K) (q/(1+q) = 1/(2K); r / sqrt(2 (1+q)) = 1/(2K)), teacher pairs have
    1/2 (n = m) or 0, so eps_g = (1/2)[K^2 (2/pi) A - 2 K^2 (2/pi) A + K/3]
    with A = asin(1/(2K)). The tests check this independently against the
    root finder (and that it is a zero of the O(eta) flow).
    """
    q = 1.0 / (2 * K - 1)
    r = 1.0 / math.sqrt(K * (2 * K - 1))
    return dict(q=q, c=q, r=r, eps_g=(K / math.pi) * (math.pi / 6 - K * math.asin(1.0 / (2 * K))))


def plateau_guess(
    K: int,
    M: int,
    *,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    train_v: bool = False,
    spread: float = 0.0,
) -> State:
    """A starting state for the plateau search: all units alike, R_in = r, Q_ii = q + spread, Q_ik = c.

    Uses the Saad-Solla values for K = M (exact for erf at eta -> 0) and the
    same form with K replaced by max(K, M) otherwise; scaled with T's diagonal.
    ``spread`` > 0 starts with distinct student vectors (q > c).
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    ss = saad_solla_plateau(max(K, M))
    t = float(np.mean(np.diag(T)))
    Q = np.full((K, K), ss["c"] * t) + np.eye(K) * ((ss["q"] - ss["c"]) * t + spread)
    R = np.full((K, M), ss["r"] * t * math.sqrt(M / max(K, M)))
    v = np.full(K, float(np.sum(vstar)) / K) if train_v else scm_v(K, M, vstar)
    return State(Q=Q, R=R, T=T, v=v, vstar=vstar)


PLATEAU_SPREADS = (0.0, 0.05, 0.1, 0.2, 0.4)

# continuation in eta starts here (below it the two symmetric plateaus are within O(eta) of each other)
CONTINUATION_ETA0 = 0.02

# starts spread over the plateau ansatz: (q, c / q, r / r_max) with r_max = sqrt((q + (K - 1) c) / (K M)) the
# largest r with a PSD covariance (T = I; scaled with T's diagonal)
ANSATZ_STARTS = tuple((q, cq, rq) for q in (0.3, 0.7, 1.2) for cq in (0.2, 0.6) for rq in (0.5, 0.9))


def _is_identical(fpt: FixedPoint) -> bool:
    q = fpt.unknowns.get("q")
    if q is None:
        return False
    c = fpt.unknowns.get("c", q)
    return fpt.state.K > 1 and not (q - c > 1e-7 * max(1.0, abs(q)))


def _plateau_state(K, M, T, vstar, train_v, q, c, r, v=None) -> State:
    Q = np.full((K, K), c) + np.eye(K) * (q - c)
    R = np.full((K, M), r)
    if v is None:
        v = np.full(K, float(np.sum(vstar)) / K) if train_v else scm_v(K, M, vstar)
    return State(Q=Q, R=R, T=T, v=np.broadcast_to(np.asarray(v, dtype=np.float64), (K,)).copy(), vstar=vstar)


def _continue_in_eta(K, M, m, *, T, vstar, tol, steps=24):
    """The distinct-students plateau (q > c) followed from eta -> 0 up to ``eta`` (eta_v / eta held fixed).

    At eta -> 0 the symmetric plateau is unique (Saad & Solla's point); the
    branch with q > c leaves it linearly in eta. It is found at
    CONTINUATION_ETA0 from :func:`plateau_guess` and followed on a geometric
    grid of ``steps`` learning rates, each solve started from the previous
    root extrapolated linearly; a failed step is halved (up to 6 times).
    Returns the FixedPoint at ``eta``, or None when the branch is lost.
    """
    eta, eta_v = m.eta, m.eta_v
    train_v = eta_v > 0
    ratio = eta_v / eta if eta > 0 else 0.0
    eta0 = min(CONTINUATION_ETA0, eta)
    start = None
    for spread in PLATEAU_SPREADS[1:]:
        try:
            p = find_fixed_point(
                plateau_guess(K, M, T=T, vstar=vstar, train_v=train_v, spread=spread),
                m.replace(eta=eta0, eta_v=ratio * eta0),
                ansatz="plateau",
                tol=tol,
            )
        except ValueError:
            continue
        if not _is_identical(p):
            start = p
            break
    if start is None:
        return None
    path = [(eta0, start)]
    grid = list(np.geomspace(eta0, eta, steps + 1)[1:]) if eta > eta0 else []
    target_i = 0
    while target_i < len(grid):
        e_next = grid[target_i]
        e_prev, p_prev = path[-1]
        for _ in range(7):
            x_prev = np.array([p_prev.unknowns[n] for n in p_prev.unknowns])
            if len(path) >= 2:
                e_pp, p_pp = path[-2]
                x_pp = np.array([p_pp.unknowns[n] for n in p_pp.unknowns])
                x_guess = x_prev + (x_prev - x_pp) * (e_next - e_prev) / (e_prev - e_pp)
            else:
                x_guess = x_prev
            u = dict(zip(p_prev.unknowns, x_guess))
            try:
                guess = _plateau_state(
                    K, M, T, vstar, train_v, u["q"], u.get("c", u["q"]), u["r"], u.get("v", p_prev.state.v)
                )
                p = find_fixed_point(guess, m.replace(eta=e_next, eta_v=ratio * e_next), ansatz="plateau", tol=tol)
            except ValueError:
                p = None
            if p is not None and not _is_identical(p):
                break
            e_next = 0.5 * (e_prev + e_next)
        else:
            return None
        path.append((e_next, p))
        if e_next == grid[target_i]:
            target_i += 1
    return path[-1][1]


def small_overlap_state(
    K: int,
    M: int,
    *,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    train_v: bool = False,
    scale: float = 1e-4,
    seed: int = 0,
) -> State:
    """A start from small overlaps: W = B W* + G with B_in ~ scale U(0, 1), |G_i|^2 / N ~ U(0.2, 0.5).

    Order parameters R = B T, Q = B T B^T + diag(s^2) (PSD by construction),
    the initial condition of Saad & Solla (1995): unspecialised students with
    norms of order one and overlaps with the teacher of order ``scale``.
    v = vstar (soft committee) or v_i ~ mean(vstar) U(0.5, 1.5) when v is trained.
    Generator: default_rng(seed).
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    rng = np.random.default_rng(seed)
    B = scale * rng.uniform(0.0, 1.0, (K, M))
    s2 = rng.uniform(0.2, 0.5, K) * float(np.mean(np.diag(T)))
    v = float(np.mean(vstar)) * rng.uniform(0.5, 1.5, K) if train_v else scm_v(K, M, vstar)
    return State(Q=B @ T @ B.T + np.diag(s2), R=B @ T, T=T, v=v, vstar=vstar)


@dataclass(frozen=True)
class PlateauVisit:
    """Where a learning curve from small overlaps lingers (the state at its flattest unspecialised point)."""

    alpha: float
    eps_g: float
    slope: float
    state: State


def flattest_unspecialised_point(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    seed: int = 0,
    scale: float = 1e-4,
    alpha_max: float | None = None,
) -> PlateauVisit:
    """Integrate the ODE from :func:`small_overlap_state` and return its flattest unspecialised point.

    Flattest: smallest |d ln eps_g / d ln alpha| (saved points on a log grid,
    alpha >= 1) among states that are still unspecialised (every R_in within
    10% of the mean R, so a noise floor reached after specialisation is not
    taken for the plateau). ``alpha_max`` defaults to 4000 / eta. ValueError
    when no unspecialised point with alpha >= 1 is saved.
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    eta = m.eta
    if not eta > 0:
        raise ValueError(f"eta must be > 0 to integrate a learning curve, got {eta!r}")
    start = small_overlap_state(K, M, T=T, vstar=vstar, train_v=m.trains_v, scale=scale, seed=seed)
    a_max = 4000.0 / eta if alpha_max is None else float(alpha_max)
    res = integrate(start, m, alpha_max=a_max, save_at=np.geomspace(1e-2, a_max, 600), progress=False)
    if res.status != 0:
        raise ValueError(f"the learning curve could not be integrated: {res.message}")
    alpha, eps = np.asarray(res.alpha), np.asarray(res.eps_g)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.abs(np.gradient(np.log(np.maximum(eps, 1e-300)), np.log(alpha)))
    R = np.asarray(res.R).reshape(len(alpha), -1)
    sym = (np.ptp(R, axis=1) <= 0.1 * np.maximum(np.abs(R.mean(axis=1)), 1e-12)) | (K == 1)
    ok = np.where((alpha >= 1.0) & sym & np.isfinite(slope))[0]
    if ok.size == 0:
        raise ValueError(
            f"the learning curve from small overlaps (K={K}, M={M}, eta={eta}) has no unspecialised point "
            f"with alpha >= 1 up to alpha={a_max:g}"
        )
    i = ok[np.argmin(slope[ok])]
    return PlateauVisit(alpha=float(alpha[i]), eps_g=float(eps[i]), slope=float(slope[i]), state=res.state_at(int(i)))


def _visited_root(visit, m, *, tol):
    """The plateau-ansatz root started from the curve's flattest state (its labels averaged)."""
    s = visit.state
    return find_fixed_point(s, m, ansatz="plateau" if s.K > 1 else "full", tol=tol)


_PLATEAU_CACHE: dict = {}


def plateau_fixed_points(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    tol: float = TOL,
    spreads: Sequence[float] = PLATEAU_SPREADS,
    starts: Sequence[tuple[float, float, float]] = ANSATZ_STARTS,
    continuation: bool = True,
    identify: bool = True,
) -> list:
    """Every symmetric plateau fixed point found, the one learning curves visit first.

    Found by three routes, duplicates removed: (1) starts from
    :func:`plateau_guess` with each of ``spreads``; (2) ``starts`` spread over
    the ansatz ((q, c/q, r/r_max) triples, r_max the largest r with a PSD covariance); (3)
    with ``continuation``, the distinct-students branch (q > c) followed in
    eta from eta -> 0, where the plateau is unique (Saad & Solla's point), up
    to ``eta`` (:func:`_continue_in_eta`). At eta > 0 there are (erf, K = M,
    T = I) at least two: identical students (q = c, on the boundary of the PSD
    cone; kind "plateau (identical students)") and distinct students (q > c,
    kind "plateau"). With ``identify`` (eta > 0) a learning curve from small
    overlaps is integrated (:func:`flattest_unspecialised_point`) and the
    plateau-ansatz root started from its flattest state is matched to the
    list (added when new): that point gets ``visited = True``. At eta = 0 the
    plateau is unique and is the visited one. Order: visited first, then by
    the number of unstable directions. ValueError when none is found.
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    eta, eta_v = m.eta, m.eta_v
    key = (
        K, M, m.to_json(), float(tol), T.tobytes(), vstar.tobytes(),
        tuple(spreads), tuple(starts), bool(continuation), bool(identify),
    )  # fmt: skip
    if key in _PLATEAU_CACHE:
        return list(_PLATEAU_CACHE[key])
    train_v = m.trains_v
    found: list = []
    errors: list = []

    def add(p):
        if not any(same_point(p, other) for other in found):
            found.append(p)
            return p
        return next(other for other in found if same_point(p, other))

    guesses = [(f"spread {s}", plateau_guess(K, M, T=T, vstar=vstar, train_v=train_v, spread=s)) for s in spreads]
    t = float(np.mean(np.diag(T)))
    for q, cq, rq in starts:
        r = rq * math.sqrt((q + (K - 1) * cq * q) / (K * M))
        guesses.append((f"start {(q, cq, rq)}", _plateau_state(K, M, T, vstar, train_v, q * t, cq * q * t, r * t)))
    for name, guess in guesses:
        try:
            add(find_fixed_point(guess, m, ansatz="plateau", tol=tol))
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
    if continuation and eta > 0 and K > 1:
        p = _continue_in_eta(K, M, m, T=T, vstar=vstar, tol=tol)
        if p is not None:
            add(p)
        else:
            errors.append("continuation in eta: the distinct-students branch was lost")
    visited = None
    if identify and eta > 0:
        try:
            visit = flattest_unspecialised_point(K, M, m, T=T, vstar=vstar)
            visited = add(_visited_root(visit, m, tol=tol))
        except ValueError as exc:
            errors.append(f"learning curve: {exc}")
    if not found:
        raise ValueError("no plateau fixed point found; " + " | ".join(errors))
    for p in found:
        p.kind = "plateau (identical students)" if _is_identical(p) else "plateau"
        p.visited = p is visited
    if identify and eta == 0 and len(found) == 1:
        found[0].visited = True
    found.sort(
        key=lambda p: (
            not p.visited,
            int(np.sum(p.eigenvalues.real > 1e-9 + 1e-7 * np.max(np.abs(p.eigenvalues)))),
            p.kind != "plateau",
        )
    )
    _PLATEAU_CACHE[key] = tuple(found)
    return list(found)


def visited_plateau(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
) -> FixedPoint:
    """The symmetric plateau fixed point that a learning curve from small overlaps visits.

    See :func:`plateau_fixed_points`; ValueError when the curve's flattest
    state does not converge to a plateau fixed point.
    """
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    eta, eta_v, sigma = m.eta, m.eta_v, m.sigma
    pts = plateau_fixed_points(K, M, m, T=T, vstar=vstar)
    if not pts[0].visited:
        raise ValueError(
            f"no plateau fixed point matches the learning curve from small overlaps (K={K}, M={M}, eta={eta}, "
            f"eta_v={eta_v}, sigma={sigma}); found {[round(p.eps_g, 6) for p in pts]}"
        )
    return pts[0]


# ------------------------------------------------------------ plateaus of curves
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
