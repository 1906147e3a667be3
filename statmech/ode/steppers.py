"""Integration pieces shared by every ODE of the package (diffrax-style parts).

- steppers compiled with numba: :func:`euler_advance` (fixed step) and
  :func:`dopri_advance` (Dormand-Prince 5(4) with an error controller), both
  advancing a vector y in place from one time to the next and computing every
  increment from one snapshot;
- a driver, :func:`run`, that walks the save points with a progress bar,
  records what the caller asks for at each, stops on divergence or a
  covariance outside the PSD cone with a message, and keeps the finished points
  on Ctrl-C.

The right-hand side is chosen by an integer ``kind`` of
:mod:`statmech.ode.terms` (numba cannot cache steppers taking functions).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from statmech.ode.terms import term

METHODS = ("dopri5", "euler")

# status codes of the compiled advance loops
_OK, _UNDERFLOW, _MAXSTEPS, _DIVERGED = 0, 1, 2, 3


@njit(cache=True)
def _max_abs(y):
    m = 0.0
    for i in range(y.shape[0]):
        a = abs(y[i])
        if not (a <= m):  # also catches NaN
            m = a
    return m


@njit(cache=True)
def euler_advance(kind, act, y, alpha0, alpha1, dt, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, max_abs):
    """Forward Euler from alpha0 to alpha1 in equal steps of at most dt. Returns (nfev, status)."""
    span = alpha1 - alpha0
    nsteps = max(1, int(math.ceil(span / dt - 1e-9)))
    h = span / nsteps
    dy = np.empty_like(y)
    for _ in range(nsteps):
        term(kind, act, y, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, dy)
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
def dopri_advance(
    kind,
    act,
    y,
    f0,
    alpha0,
    alpha1,
    h,
    K,
    M,
    T,
    vstar,
    eta,
    eta_v,
    sigma2,
    member,
    frac,
    TA,
    rtol,
    atol,
    max_steps,
    max_abs,
):
    """Adaptive DOPRI5 from alpha0 to exactly alpha1; y and f0 = F(y) are updated in place.

    Returns (h_next, nfev, nsteps, status). Steps are clipped to land on alpha1;
    the proposed step survives the clipping so save points do not slow it down.
    """
    n = y.shape[0]
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    k7 = np.empty(n)
    yt = np.empty(n)
    ynew = np.empty(n)
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
        term(kind, act, yt, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, k2)
        for j in range(n):
            yt[j] = y[j] + hs * (_A31 * f0[j] + _A32 * k2[j])
        term(kind, act, yt, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, k3)
        for j in range(n):
            yt[j] = y[j] + hs * (_A41 * f0[j] + _A42 * k2[j] + _A43 * k3[j])
        term(kind, act, yt, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, k4)
        for j in range(n):
            yt[j] = y[j] + hs * (_A51 * f0[j] + _A52 * k2[j] + _A53 * k3[j] + _A54 * k4[j])
        term(kind, act, yt, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, k5)
        for j in range(n):
            yt[j] = y[j] + hs * (_A61 * f0[j] + _A62 * k2[j] + _A63 * k3[j] + _A64 * k4[j] + _A65 * k5[j])
        term(kind, act, yt, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, k6)
        for j in range(n):
            ynew[j] = y[j] + hs * (_B1 * f0[j] + _B3 * k3[j] + _B4 * k4[j] + _B5 * k5[j] + _B6 * k6[j])
        term(kind, act, ynew, K, M, T, vstar, eta, eta_v, sigma2, member, frac, TA, k7)
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
            fac = 10.0 if err == 0.0 else min(10.0, max(0.2, 0.9 * err**-0.2))
            if not last or fac < 1.0:
                h = hs * fac
        else:
            fac = 0.2 if not (err == err) else max(0.2, 0.9 * err**-0.2)
            h = hs * fac
    return h, nfev, nsteps, _OK


def check_options(eta, eta_v, sigma, alpha_max, method, dt, rtol, atol):
    """ValueError naming the first integration option outside its allowed range."""
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


def check_save_at(save_at, alpha_max, default):
    save_at = default if save_at is None else np.asarray(save_at, dtype=np.float64)
    if save_at.ndim != 1 or save_at.size == 0 or np.any(np.diff(save_at) <= 0):
        raise ValueError("save_at must be a non-empty, strictly increasing 1-D sequence of times")
    if save_at[0] < 0 or save_at[-1] > alpha_max * (1 + 1e-12):
        raise ValueError(f"save_at must lie in [0, alpha_max={alpha_max}], got [{save_at[0]}, {save_at[-1]}]")
    return save_at


def _psd_violation(Q, R, T) -> float:
    """How far the field covariance is below the PSD cone (0 when inside)."""
    C = np.block([[Q, R], [R.T, T]])
    lam = np.linalg.eigvalsh(0.5 * (C + C.T))[0]
    scale = max(1.0, float(np.max(np.abs(C))))
    return max(0.0, -lam / scale)


def run(
    kind,
    act,
    y,
    save_at,
    *,
    K,
    M,
    T,
    vstar,
    eta,
    eta_v,
    sigma,
    method,
    dt,
    rtol,
    atol,
    first_step,
    max_steps,
    max_abs,
    covariance,
    record,
    aux=None,
    progress=None,
    alpha_max=None,
):
    """Advance y through ``save_at``, calling ``record(alpha)`` at each point.

    ``covariance(y) -> (Q, R)`` gives the full student overlaps for the PSD
    check; ``aux = (member, frac, TA)`` is the mask data of the MASKED term. Returns (nfev, nsteps, status, message) with status 0 (done),
    1 (interrupted: points recorded so far are kept) or -1 (failed).
    """
    from tqdm.auto import tqdm

    member, frac, TA = _NO_AUX if aux is None else aux
    total = float(alpha_max if alpha_max is not None else save_at[-1])
    bar = tqdm(
        total=total,
        disable=(None if progress is None else not progress),
        unit="alpha",
        bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} [{elapsed}<{remaining}]",
    )
    sigma2 = float(sigma) ** 2
    alpha = 0.0
    nfev = nsteps = 0
    status, message = 0, "reached alpha_max"
    f0 = np.empty_like(y)
    h = float(first_step)
    if method == "dopri5":
        term(kind, act, y, K, M, T, vstar, float(eta), float(eta_v), sigma2, member, frac, TA, f0)
        nfev += 1
    try:
        for target in save_at:
            if target > alpha:
                if method == "euler":
                    n_ev, code = euler_advance(
                        kind,
                        act,
                        y,
                        alpha,
                        target,
                        float(dt),
                        K,
                        M,
                        T,
                        vstar,
                        float(eta),
                        float(eta_v),
                        sigma2,
                        member,
                        frac,
                        TA,
                        float(max_abs),
                    )
                    nfev += n_ev
                    nsteps += n_ev
                else:
                    h, n_ev, n_st, code = dopri_advance(
                        kind,
                        act,
                        y,
                        f0,
                        alpha,
                        target,
                        h,
                        K,
                        M,
                        T,
                        vstar,
                        float(eta),
                        float(eta_v),
                        sigma2,
                        member,
                        frac,
                        TA,
                        float(rtol),
                        float(atol),
                        int(max_steps) - nsteps,
                        float(max_abs),
                    )
                    nfev += n_ev
                    nsteps += n_st
                if code != _OK:
                    status = -1
                    message = _failure_message(code, alpha, target, eta, max_abs, max_steps)
                    break
                bar.update(target - alpha)
                alpha = target
                Q, R = covariance(y)
                viol = _psd_violation(Q, R, T)
                if viol > 1e-6:
                    status = -1
                    message = (
                        f"the covariance [[Q, R], [R^T, T]] left the positive semi-definite cone "
                        f"near alpha={alpha:.6g} (relative violation {viol:.2g}); "
                        f"the integration is not accurate enough or eta={eta} is too large"
                    )
                    break
            if not np.isfinite(record(float(target))):
                status, message = -1, f"eps_g became non-finite at alpha={target:.6g}"
                break
    except KeyboardInterrupt:
        status, message = 1, f"interrupted by the user at alpha={alpha:.6g}; the saved points so far are kept"
    finally:
        bar.close()
    return nfev, nsteps, status, message


# placeholders of the right numba types for terms that take no mask data
_NO_AUX = (np.zeros((0, 1), dtype=np.int64), np.zeros(0), np.zeros((0, 1, 1)))


def _failure_message(code, alpha, target, eta, max_abs, max_steps):
    where = f"between alpha={alpha:.6g} and {target:.6g}"
    if code == _DIVERGED:
        return (
            f"diverged {where}: an order parameter exceeded {max_abs:g} in magnitude or became "
            f"non-finite; eta={eta} is probably above the largest stable learning rate"
        )
    if code == _UNDERFLOW:
        return (
            f"step size underflow {where}: the right-hand side is not finite or too stiff "
            f"(covariance no longer positive definite, or eta={eta} too large)"
        )
    return f"more than max_steps={max_steps} steps {where}; raise max_steps or loosen rtol/atol"
