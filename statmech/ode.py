"""Order-parameter equations of motion and their integrators (theory.md section 4).

With w = (-v, +vstar) over student and teacher fields (so that
sum_a w_a g(u_a) = y_noiseless - phi):

- dR_in/dalpha = eta v_i sum_a w_a I3(i, n, a)
- dQ_ik/dalpha = eta v_i sum_a w_a I3(i, k, a) + eta v_k sum_a w_a I3(k, i, a)
  + eta^2 v_i v_k [sum_{a,b} w_a w_b I4(i, k, a, b) + sigma^2 J2(i, k)]
- dv_i/dalpha = eta_v sum_a w_a I2(i, a)

(Goldt et al. 2019; Saad & Solla 1995 for fixed v). The state vector packs
``y = [Q.ravel(), R.ravel(), v]``; the teacher (T, vstar) is constant.

:func:`integrate` has the shape of ``scipy.integrate.solve_ivp``: one call,
options, and an :class:`IntegrateResult` with fields and a message. Two
methods: ``"dopri5"`` (default; adaptive Dormand-Prince 5(4) with error per
component below ``atol + rtol |y|``) and ``"euler"`` (fixed step ``dt``, the
scheme of Goldt et al.'s C++ integrator). Both compute every increment from one
snapshot of the state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .generalisation import eps_g_arrays
from .integrals import activation_code
from .integrals.sums import i2_matrix, i3_weighted, i4_weighted, j2_matrix
from .state import State

__all__ = ["integrate", "IntegrateResult", "rhs", "pack", "unpack", "default_save_at", "METHODS"]

METHODS = ("dopri5", "euler")

# status codes of the compiled advance loops
_OK, _UNDERFLOW, _MAXSTEPS, _DIVERGED = 0, 1, 2, 3


# --------------------------------------------------------------------- packing
def pack(state: State) -> np.ndarray:
    """The ODE vector y = [Q.ravel(), R.ravel(), v] of a state."""
    return np.concatenate([state.Q.ravel(), state.R.ravel(), state.v]).astype(np.float64)


def unpack(y: np.ndarray, K: int, M: int):
    """(Q, R, v) views of an ODE vector (inverse of :func:`pack`)."""
    Q = y[: K * K].reshape(K, K)
    R = y[K * K : K * K + K * M].reshape(K, M)
    v = y[K * K + K * M :]
    return Q, R, v


# ------------------------------------------------------------ right-hand side
@njit(cache=True)
def _fill_cov(y, K, M, T, C):
    n = K + M
    for i in range(K):
        for k in range(K):
            C[i, k] = y[i * K + k]
        for m in range(M):
            r = y[K * K + i * M + m]
            C[i, K + m] = r
            C[K + m, i] = r
    for m in range(M):
        for l in range(M):
            C[K + m, K + l] = T[m, l]
    return n


@njit(cache=True)
def rhs_into(act, y, K, M, T, vstar, eta, eta_v, sigma2, dy):
    """dy = F(y): the equations of motion above, evaluated from the one snapshot y."""
    n = K + M
    C = np.empty((n, n))
    _fill_cov(y, K, M, T, C)
    off_v = K * K + K * M
    w = np.empty(n)
    for i in range(K):
        w[i] = -y[off_v + i]
    for m in range(M):
        w[K + m] = vstar[m]
    S3 = np.empty((K, n))
    i3_weighted(act, C, K, w, S3)
    S4 = np.empty((K, K))
    i4_weighted(act, C, K, w, S4)
    if sigma2 != 0.0:
        J = np.empty((n, n))
        j2_matrix(act, C, J)
    eta2 = eta * eta
    for i in range(K):
        vi = y[off_v + i]
        for k in range(K):
            vk = y[off_v + k]
            d = eta * (vi * S3[i, k] + vk * S3[k, i])
            noise = sigma2 * J[i, k] if sigma2 != 0.0 else 0.0
            d += eta2 * vi * vk * (S4[i, k] + noise)
            dy[i * K + k] = d
        for m in range(M):
            dy[K * K + i * M + m] = eta * vi * S3[i, K + m]
    if eta_v != 0.0:
        I2 = np.empty((n, n))
        i2_matrix(act, C, I2)
        for i in range(K):
            acc = 0.0
            for a in range(n):
                acc += w[a] * I2[i, a]
            dy[off_v + i] = eta_v * acc
    else:
        for i in range(K):
            dy[off_v + i] = 0.0


def rhs(state: State, *, eta: float, eta_v: float, sigma: float = 0.0, activation: str = "erf") -> State:
    """Time derivatives (dQ, dR, dv) as arrays packed like :func:`pack` (for analysis and tests)."""
    y = pack(state)
    dy = np.empty_like(y)
    rhs_into(activation_code(activation), y, state.K, state.M, np.ascontiguousarray(state.T),
             np.ascontiguousarray(state.vstar), float(eta), float(eta_v), float(sigma) ** 2, dy)
    return dy


# ----------------------------------------------------------------- integrators
@njit(cache=True)
def _max_abs(y):
    m = 0.0
    for i in range(y.shape[0]):
        a = abs(y[i])
        if not (a <= m):  # also catches NaN
            m = a
    return m


@njit(cache=True)
def _euler_advance(act, y, alpha0, alpha1, dt, K, M, T, vstar, eta, eta_v, sigma2, max_abs):
    """Forward Euler from alpha0 to alpha1 in equal steps of at most dt. Returns (nfev, status)."""
    span = alpha1 - alpha0
    nsteps = max(1, int(math.ceil(span / dt - 1e-9)))
    h = span / nsteps
    dy = np.empty_like(y)
    for _ in range(nsteps):
        rhs_into(act, y, K, M, T, vstar, eta, eta_v, sigma2, dy)
        for j in range(y.shape[0]):
            y[j] += h * dy[j]
        m = _max_abs(y)
        if not (m <= max_abs):
            return nsteps, _DIVERGED
    return nsteps, _OK


# Dormand-Prince 5(4) tableau
_C2, _C3, _C4, _C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
_E1, _E3, _E4, _E5, _E6, _E7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40


@njit(cache=True)
def _dopri_advance(act, y, f0, alpha0, alpha1, h, K, M, T, vstar, eta, eta_v, sigma2,
                   rtol, atol, max_steps, max_abs):
    """Adaptive DOPRI5 from alpha0 to exactly alpha1; y and f0 = F(y) are updated in place.

    Returns (h_next, nfev, nsteps, status). Steps are clipped to land on alpha1;
    the proposed step survives the clipping so save points do not slow it down.
    """
    n = y.shape[0]
    k2 = np.empty(n); k3 = np.empty(n); k4 = np.empty(n); k5 = np.empty(n)
    k6 = np.empty(n); k7 = np.empty(n); yt = np.empty(n); ynew = np.empty(n)
    alpha = alpha0
    nfev = 0
    nsteps = 0
    while alpha < alpha1:
        if nsteps >= max_steps:
            return h, nfev, nsteps, _MAXSTEPS
        last = alpha + h >= alpha1 * (1.0 - 1e-14)
        hs = alpha1 - alpha if last else h
        if hs <= 1e-12 * max(1.0, abs(alpha)):
            return h, nfev, nsteps, _UNDERFLOW
        for j in range(n):
            yt[j] = y[j] + hs * _A21 * f0[j]
        rhs_into(act, yt, K, M, T, vstar, eta, eta_v, sigma2, k2)
        for j in range(n):
            yt[j] = y[j] + hs * (_A31 * f0[j] + _A32 * k2[j])
        rhs_into(act, yt, K, M, T, vstar, eta, eta_v, sigma2, k3)
        for j in range(n):
            yt[j] = y[j] + hs * (_A41 * f0[j] + _A42 * k2[j] + _A43 * k3[j])
        rhs_into(act, yt, K, M, T, vstar, eta, eta_v, sigma2, k4)
        for j in range(n):
            yt[j] = y[j] + hs * (_A51 * f0[j] + _A52 * k2[j] + _A53 * k3[j] + _A54 * k4[j])
        rhs_into(act, yt, K, M, T, vstar, eta, eta_v, sigma2, k5)
        for j in range(n):
            yt[j] = y[j] + hs * (_A61 * f0[j] + _A62 * k2[j] + _A63 * k3[j] + _A64 * k4[j] + _A65 * k5[j])
        rhs_into(act, yt, K, M, T, vstar, eta, eta_v, sigma2, k6)
        for j in range(n):
            ynew[j] = y[j] + hs * (_B1 * f0[j] + _B3 * k3[j] + _B4 * k4[j] + _B5 * k5[j] + _B6 * k6[j])
        rhs_into(act, ynew, K, M, T, vstar, eta, eta_v, sigma2, k7)
        nfev += 6
        nsteps += 1
        err = 0.0
        for j in range(n):
            e = hs * (_E1 * f0[j] + _E3 * k3[j] + _E4 * k4[j] + _E5 * k5[j] + _E6 * k6[j] + _E7 * k7[j])
            sc = atol + rtol * max(abs(y[j]), abs(ynew[j]))
            err += (e / sc) ** 2
        err = math.sqrt(err / n)
        if err <= 1.0:  # accepted (a NaN error is rejected)
            alpha = alpha1 if last else alpha + hs
            for j in range(n):
                y[j] = ynew[j]
                f0[j] = k7[j]
            if not (_max_abs(y) <= max_abs):
                return h, nfev, nsteps, _DIVERGED
            fac = 10.0 if err == 0.0 else min(10.0, max(0.2, 0.9 * err ** -0.2))
            if not last or fac < 1.0:
                h = hs * fac
        else:
            fac = 0.2 if not (err == err) else max(0.2, 0.9 * err ** -0.2)
            h = hs * fac
    return h, nfev, nsteps, _OK


# ---------------------------------------------------------------------- result
@dataclass
class IntegrateResult:
    """Outcome of :func:`integrate`, shaped like scipy's ``OdeResult``.

    ``alpha`` and ``eps_g`` hold the saved times and the noise-free error there;
    ``Q``, ``R``, ``v`` stack the saved order parameters (first axis = time);
    ``status`` is 0 (reached alpha_max), 1 (interrupted by the user; what was
    computed is kept) or -1 (failed: divergence, step-size underflow, too many
    steps, or a covariance that left the positive semi-definite cone), with
    ``message`` saying which.
    """

    alpha: np.ndarray
    eps_g: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    vstar: np.ndarray
    nfev: int
    nsteps: int
    status: int
    message: str
    params: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == 0

    def state_at(self, index: int) -> State:
        """The saved State number ``index`` (negative indices count from the end)."""
        return State(Q=self.Q[index], R=self.R[index], T=self.T, v=self.v[index], vstar=self.vstar)

    @property
    def states(self) -> list:
        """All saved States, in time order."""
        return [self.state_at(i) for i in range(len(self.alpha))]

    @property
    def final(self) -> State:
        """The last saved State."""
        return self.state_at(-1)

    def __repr__(self) -> str:
        return (f"IntegrateResult(status={self.status}, message={self.message!r}, "
                f"saved={len(self.alpha)}, alpha_end={self.alpha[-1] if len(self.alpha) else None}, "
                f"nfev={self.nfev})")


# ------------------------------------------------------------------ public API
def default_save_at(alpha_max: float, n: int = 200) -> np.ndarray:
    """0 plus ``n`` log-spaced times up to alpha_max (learning curves are plotted log-log)."""
    start = min(1e-2, alpha_max / 10.0)
    return np.unique(np.concatenate([[0.0], np.geomspace(start, alpha_max, n)]))


def _check_params(eta, eta_v, sigma, alpha_max, method, dt, rtol, atol):
    for name, value in (("eta", eta), ("eta_v", eta_v), ("sigma", sigma)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not (np.isfinite(alpha_max) and alpha_max > 0):
        raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be > 0, got {dt!r}")
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be > 0, got rtol={rtol!r}, atol={atol!r}")


def _psd_violation(Q, R, T) -> float:
    """How far the field covariance is below the PSD cone (0 when inside)."""
    C = np.block([[Q, R], [R.T, T]])
    lam = np.linalg.eigvalsh(0.5 * (C + C.T))[0]
    scale = max(1.0, float(np.max(np.abs(C))))
    return max(0.0, -lam / scale)


def integrate(state: State, *, eta: float, eta_v: float | None = None, sigma: float = 0.0,
              alpha_max: float, save_at=None, activation: str = "erf", method: str = "dopri5",
              dt: float = 0.01, rtol: float = 1e-8, atol: float = 1e-10, first_step: float = 1e-3,
              max_steps: int = 10_000_000, max_abs: float = 1e6, progress=None) -> IntegrateResult:
    """Integrate the order-parameter ODEs from ``state`` up to ``alpha_max``.

    Parameters follow the paper: learning rates ``eta`` (first layer, scaled
    eta / sqrt(N)) and ``eta_v`` (second layer, scaled eta_v / N; defaults to
    ``eta`` as in the paper, ``0`` gives the soft committee machine with fixed
    v), output-noise standard deviation ``sigma``. ``save_at`` are the times to
    record (default :func:`default_save_at`); ``method`` is ``"dopri5"``
    (adaptive; tolerances ``rtol``, ``atol`` per component) or ``"euler"``
    (fixed step ``dt``; steps shrink slightly so save points are hit exactly).
    The run fails (status -1, with a message) when any order parameter exceeds
    ``max_abs`` in magnitude, becomes non-finite, or the covariance leaves the
    PSD cone; a Ctrl-C returns what was computed (status 1). ``progress``:
    None shows a bar only on a terminal.
    """
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    eta_v = eta if eta_v is None else eta_v
    _check_params(eta, eta_v, sigma, alpha_max, method, dt, rtol, atol)
    act = activation_code(activation)
    if act == 2 and np.any(np.diag(state.Q) <= 0):
        raise ValueError("activation 'relu' needs every Q_ii > 0 (a unit with zero weights has no defined g')")
    if save_at is None:
        save_at = default_save_at(alpha_max)
    save_at = np.asarray(save_at, dtype=np.float64)
    if save_at.ndim != 1 or save_at.size == 0 or np.any(np.diff(save_at) <= 0):
        raise ValueError("save_at must be a non-empty, strictly increasing 1-D sequence of times")
    if save_at[0] < 0 or save_at[-1] > alpha_max * (1 + 1e-12):
        raise ValueError(f"save_at must lie in [0, alpha_max={alpha_max}], got [{save_at[0]}, {save_at[-1]}]")

    K, M = state.K, state.M
    T = np.ascontiguousarray(state.T)
    vstar = np.ascontiguousarray(state.vstar)
    sigma2 = float(sigma) ** 2
    y = pack(state)
    params = dict(K=K, M=M, eta=float(eta), eta_v=float(eta_v), sigma=float(sigma),
                  alpha_max=float(alpha_max), activation=activation, method=method,
                  dt=float(dt) if method == "euler" else None,
                  rtol=float(rtol) if method == "dopri5" else None,
                  atol=float(atol) if method == "dopri5" else None)

    alphas, Qs, Rs, vs, eps = [], [], [], [], []

    def record(a):
        Q, R, v = unpack(y, K, M)
        alphas.append(a)
        Qs.append(0.5 * (Q + Q.T))
        Rs.append(R.copy())
        vs.append(v.copy())
        eps.append(eps_g_arrays(Q, R, T, v, vstar, activation))

    from tqdm.auto import tqdm

    bar = tqdm(total=float(alpha_max), disable=(None if progress is None else not progress),
               unit="alpha", bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} [{elapsed}<{remaining}]")
    alpha = 0.0
    nfev = nsteps = 0
    status, message = 0, "reached alpha_max"
    f0 = np.empty_like(y)
    h = float(first_step)
    if method == "dopri5":
        rhs_into(act, y, K, M, T, vstar, float(eta), float(eta_v), sigma2, f0)
        nfev += 1
    try:
        for target in save_at:
            if target > alpha:
                if method == "euler":
                    n_ev, code = _euler_advance(act, y, alpha, target, float(dt), K, M, T, vstar,
                                                float(eta), float(eta_v), sigma2, float(max_abs))
                    nfev += n_ev
                    nsteps += n_ev
                else:
                    h, n_ev, n_st, code = _dopri_advance(act, y, f0, alpha, target, h, K, M, T, vstar,
                                                         float(eta), float(eta_v), sigma2, float(rtol),
                                                         float(atol), int(max_steps) - nsteps, float(max_abs))
                    nfev += n_ev
                    nsteps += n_st
                if code != _OK:
                    status = -1
                    message = _failure_message(code, alpha, target, eta, max_abs, max_steps)
                    break
                bar.update(target - alpha)
                alpha = target
                Q, R, _ = unpack(y, K, M)
                viol = _psd_violation(Q, R, T)
                if viol > 1e-6:
                    status = -1
                    message = (f"the covariance [[Q, R], [R^T, T]] left the positive semi-definite cone "
                               f"near alpha={alpha:.6g} (relative violation {viol:.2g}); "
                               f"the integration is not accurate enough or eta={eta} is too large")
                    break
            record(float(target))
            if not np.isfinite(eps[-1]):
                status, message = -1, f"eps_g became non-finite at alpha={target:.6g}"
                break
    except KeyboardInterrupt:
        status, message = 1, f"interrupted by the user at alpha={alpha:.6g}; the saved points so far are kept"
    finally:
        bar.close()

    def stack(xs, shape):
        return np.array(xs) if xs else np.empty((0,) + shape)

    return IntegrateResult(alpha=np.array(alphas), eps_g=np.array(eps), Q=stack(Qs, (K, K)),
                           R=stack(Rs, (K, M)), v=stack(vs, (K,)), T=T.copy(), vstar=vstar.copy(),
                           nfev=nfev, nsteps=nsteps, status=status, message=message, params=params)


def _failure_message(code, alpha, target, eta, max_abs, max_steps):
    where = f"between alpha={alpha:.6g} and {target:.6g}"
    if code == _DIVERGED:
        return (f"diverged {where}: an order parameter exceeded {max_abs:g} in magnitude or became "
                f"non-finite; eta={eta} is probably above the largest stable learning rate")
    if code == _UNDERFLOW:
        return (f"step size underflow {where}: the right-hand side is not finite or too stiff "
                f"(covariance no longer positive definite, or eta={eta} too large)")
    return f"more than max_steps={max_steps} steps {where}; raise max_steps or loosen rtol/atol"
