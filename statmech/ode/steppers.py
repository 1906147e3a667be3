"""Integration pieces shared by every ODE of the package (diffrax-style parts).

- steppers compiled with numba: :func:`euler_advance` (fixed step) and
  :func:`dopri_advance` (Dormand-Prince 5(4) with an error controller), both
  advancing a vector y in place from one time to the next and computing every
  increment from one snapshot;
- their options as stepper objects, :class:`Euler` (``dt``) and :class:`Dopri5`
  (``rtol``, ``atol``, ``first_step``, ``max_steps``), built by
  :func:`make_stepper`, which refuses an option of another method.

The driver that walks the save points (checks, progress bar, status and
message, Ctrl-C) is :func:`statmech.ode.integrator.solve`.

The right-hand side is chosen by an integer ``kind`` of
:mod:`statmech.ode.terms` (numba cannot cache steppers taking functions); the
model enters as the student and teacher activation codes and the parameter
vector ``par`` of :mod:`statmech.ode.terms`.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
from numba import njit

from statmech.core.resources import ode_step_seconds
from statmech.ode.terms import term

# status codes of the compiled advance loops (INTERRUPTED: the driver's stop flag, seen between chunks)
OK, UNDERFLOW, MAXSTEPS, DIVERGED, INTERRUPTED = 0, 1, 2, 3, 4

# wall-clock seconds of one compiled call: Ctrl-C is looked at between calls
CHUNK_SECONDS = 0.2


class _Chunks:
    """Step counts per compiled call, adapted so that each call takes about CHUNK_SECONDS.

    The next size is CHUNK_SECONDS over the measured seconds per step of the steps the
    call really ran (a call that ends early at a save point ran fewer than its size, and
    must not inflate the next one), growing at most 4-fold over them.
    """

    def __init__(self, first: float) -> None:
        self.size = max(1, int(first))

    def run(self, call, steps_of):
        t0 = time.perf_counter()
        out = call(self.size)
        elapsed = time.perf_counter() - t0
        ran = max(1, int(steps_of(out)))
        per_step = max(elapsed, 1e-6) / ran
        self.size = max(1, min(int(CHUNK_SECONDS / per_step), 4 * ran, 10**9))
        return out


def _never() -> bool:
    return False


@njit(cache=True)
def _max_abs(y):
    m = 0.0
    for i in range(y.shape[0]):
        a = abs(y[i])
        if not (a <= m):  # also catches NaN
            m = a
    return m


@njit(cache=True)
def euler_advance(
    kind: int,
    act: int,
    act_t: int,
    y: np.ndarray,
    alpha0: float,
    alpha1: float,
    dt: float,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    par: np.ndarray,
    member: np.ndarray,
    frac: np.ndarray,
    TA: np.ndarray,
    max_abs: float,
) -> tuple[int, int]:
    """Forward Euler from alpha0 to alpha1 in equal steps of at most dt. Returns (nfev, status)."""
    nsteps, h = euler_grid(alpha0, alpha1, dt)
    return euler_steps(kind, act, act_t, y, h, nsteps, K, M, T, vstar, par, member, frac, TA, max_abs)


@njit(cache=True)
def euler_grid(alpha0: float, alpha1: float, dt: float) -> tuple[int, float]:
    """The (number, size) of the equal Euler steps of at most dt from alpha0 to alpha1."""
    span = alpha1 - alpha0
    nsteps = max(1, int(math.ceil(span / dt - 1e-9)))
    return nsteps, span / nsteps


@njit(cache=True)
def euler_steps(
    kind: int,
    act: int,
    act_t: int,
    y: np.ndarray,
    h: float,
    nsteps: int,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    par: np.ndarray,
    member: np.ndarray,
    frac: np.ndarray,
    TA: np.ndarray,
    max_abs: float,
) -> tuple[int, int]:
    """``nsteps`` forward Euler steps of size h, y updated in place. Returns (nfev, status)."""
    dy = np.empty_like(y)
    for _ in range(nsteps):
        term(kind, act, act_t, y, K, M, T, vstar, par, member, frac, TA, dy)
        for j in range(y.shape[0]):
            y[j] += h * dy[j]
        m = _max_abs(y)
        if not (m <= max_abs):
            return nsteps, DIVERGED
    return nsteps, OK


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
    kind: int,
    act: int,
    act_t: int,
    y: np.ndarray,
    f0: np.ndarray,
    alpha0: float,
    alpha1: float,
    h: float,
    K: int,
    M: int,
    T: np.ndarray,
    vstar: np.ndarray,
    par: np.ndarray,
    member: np.ndarray,
    frac: np.ndarray,
    TA: np.ndarray,
    rtol: float,
    atol: float,
    max_steps: int,
    max_abs: float,
) -> tuple[float, float, int, int, int]:
    """Adaptive DOPRI5 from alpha0 to exactly alpha1; y and f0 = F(y) are updated in place.

    Returns (h_next, alpha_reached, nfev, nsteps, status). Steps are clipped to land
    on alpha1; the proposed step survives the clipping so save points do not slow
    it down. After ``max_steps`` steps it returns MAXSTEPS where it stands, so a
    caller can continue from (alpha_reached, h_next) along the same trajectory.
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
            return h, alpha, nfev, nsteps, MAXSTEPS
        last = alpha + h >= alpha1 * (1.0 - 1e-14)
        hs = alpha1 - alpha if last else h
        if hs <= 1e-12 * max(1.0, abs(alpha)):
            return h, alpha, nfev, nsteps, UNDERFLOW
        for j in range(n):
            yt[j] = y[j] + hs * _A21 * f0[j]
        term(kind, act, act_t, yt, K, M, T, vstar, par, member, frac, TA, k2)
        for j in range(n):
            yt[j] = y[j] + hs * (_A31 * f0[j] + _A32 * k2[j])
        term(kind, act, act_t, yt, K, M, T, vstar, par, member, frac, TA, k3)
        for j in range(n):
            yt[j] = y[j] + hs * (_A41 * f0[j] + _A42 * k2[j] + _A43 * k3[j])
        term(kind, act, act_t, yt, K, M, T, vstar, par, member, frac, TA, k4)
        for j in range(n):
            yt[j] = y[j] + hs * (_A51 * f0[j] + _A52 * k2[j] + _A53 * k3[j] + _A54 * k4[j])
        term(kind, act, act_t, yt, K, M, T, vstar, par, member, frac, TA, k5)
        for j in range(n):
            yt[j] = y[j] + hs * (_A61 * f0[j] + _A62 * k2[j] + _A63 * k3[j] + _A64 * k4[j] + _A65 * k5[j])
        term(kind, act, act_t, yt, K, M, T, vstar, par, member, frac, TA, k6)
        for j in range(n):
            ynew[j] = y[j] + hs * (_B1 * f0[j] + _B3 * k3[j] + _B4 * k4[j] + _B5 * k5[j] + _B6 * k6[j])
        term(kind, act, act_t, ynew, K, M, T, vstar, par, member, frac, TA, k7)
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
                return h, alpha, nfev, nsteps, DIVERGED
            fac = 10.0 if err == 0.0 else min(10.0, max(0.2, 0.9 * err**-0.2))
            if not last or fac < 1.0:
                h = hs * fac
        else:
            fac = 0.2 if not (err == err) else max(0.2, 0.9 * err**-0.2)
            h = hs * fac
    return h, alpha, nfev, nsteps, OK


@dataclass(frozen=True)
class Euler:
    """Forward Euler with a fixed step ``dt`` (steps shrink slightly so save points are hit exactly).

    The scheme of Goldt et al.'s C++ integrator: y(alpha + h) = y + h F(y).
    """

    dt: float = 0.01
    name: ClassVar[str] = "euler"

    def __post_init__(self) -> None:
        if not _positive(self.dt):
            raise ValueError(f"dt must be > 0, got {self.dt!r}")

    def advancer(self, problem: tuple, y: np.ndarray) -> tuple[Callable[..., tuple[int, int, int]], int]:
        """``(alpha0, alpha1, stop) -> (nfev, nsteps, code)`` advancing ``y`` in place, and the evaluations
        spent so far. The steps run in compiled chunks of about CHUNK_SECONDS; ``stop()`` is asked
        between chunks (code INTERRUPTED when it says so)."""
        kind, act, act_t, K, M, T, vstar, par, member, frac, TA, max_abs = problem
        dt = float(self.dt)
        chunks = _Chunks(CHUNK_SECONDS / ode_step_seconds(K, M, "euler"))

        def advance(alpha0: float, alpha1: float, stop=_never):
            nsteps, h = euler_grid(alpha0, alpha1, dt)
            done = 0
            while done < nsteps:
                if stop():
                    return done, done, INTERRUPTED
                n, code = chunks.run(
                    lambda size: euler_steps(
                        kind, act, act_t, y, h, min(size, nsteps - done), K, M, T, vstar, par, member, frac, TA, max_abs
                    ),
                    lambda out: out[0],
                )
                done += n
                if code != OK:
                    return done, done, code
            return done, done, OK

        return advance, 0


@dataclass(frozen=True)
class Dopri5:
    """Adaptive Dormand-Prince 5(4): a step is accepted when the RMS over components of
    error_j / (atol + rtol max(|y_j|, |y_new_j|)) is at most 1 (Hairer, Norsett & Wanner, II.4).

    ``first_step`` is the first trial step, ``max_steps`` the most accepted plus rejected steps.
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    first_step: float = 1e-3
    max_steps: int = 10_000_000
    name: ClassVar[str] = "dopri5"

    def __post_init__(self) -> None:
        if not (_positive(self.rtol) and _positive(self.atol)):
            raise ValueError(f"rtol and atol must be > 0, got rtol={self.rtol!r}, atol={self.atol!r}")
        if not _positive(self.first_step):
            raise ValueError(f"first_step must be > 0, got {self.first_step!r}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, (int, np.integer)) or self.max_steps < 1:
            raise ValueError(f"max_steps must be an integer >= 1, got {self.max_steps!r}")

    def advancer(self, problem: tuple, y: np.ndarray) -> tuple[Callable[..., tuple[int, int, int]], int]:
        """``(alpha0, alpha1, stop) -> (nfev, nsteps, code)`` advancing ``y`` in place (the step size carries
        over between calls), and the evaluations spent so far (F at the start). The steps run in
        compiled chunks of about CHUNK_SECONDS, continuing the same trajectory; ``stop()`` is asked
        between chunks (code INTERRUPTED when it says so)."""
        kind, act, act_t, K, M, T, vstar, par, member, frac, TA, max_abs = problem
        f0 = np.empty_like(y)
        term(kind, act, act_t, y, K, M, T, vstar, par, member, frac, TA, f0)
        carry: dict[str, Any] = {"h": float(self.first_step), "steps_left": int(self.max_steps)}
        rtol, atol = float(self.rtol), float(self.atol)
        chunks = _Chunks(CHUNK_SECONDS / ode_step_seconds(K, M, "dopri5"))

        def advance(alpha0: float, alpha1: float, stop=_never):
            alpha, n_ev, n_st = alpha0, 0, 0
            while True:
                if stop():
                    return n_ev, n_st, INTERRUPTED
                budget = min(chunks.size, carry["steps_left"])
                h, alpha, e, st, code = chunks.run(
                    lambda size: dopri_advance(
                        kind,
                        act,
                        act_t,
                        y,
                        f0,
                        alpha,
                        alpha1,
                        carry["h"],
                        K,
                        M,
                        T,
                        vstar,
                        par,
                        member,
                        frac,
                        TA,
                        rtol,
                        atol,
                        budget,
                        max_abs,
                    ),
                    lambda out: out[3],
                )
                carry["h"] = h
                carry["steps_left"] -= st
                n_ev, n_st = n_ev + e, n_st + st
                if code != MAXSTEPS or carry["steps_left"] <= 0:
                    return n_ev, n_st, code

        return advance, 1


def _positive(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x) and float(x) > 0


Stepper = Euler | Dopri5
STEPPERS: dict[str, type[Euler] | type[Dopri5]] = {"dopri5": Dopri5, "euler": Euler}
METHODS = tuple(STEPPERS)


def stepper_options(cls: type) -> tuple[str, ...]:
    """The option names of a stepper class (its dataclass fields)."""
    return tuple(f.name for f in fields(cls))


def make_stepper(method: str | Stepper, options: dict) -> Stepper:
    """The stepper for ``method`` (a name of :data:`METHODS`, or a stepper object) with ``options``.

    An option given as None counts as not given (the stepper's default). An
    option of another method is refused (ValueError naming the option and the
    method): an option that would be silently ignored is an error.
    """
    given = {k: v for k, v in options.items() if v is not None}
    if isinstance(method, (Euler, Dopri5)):
        if given:
            raise ValueError(
                f"method={method!r} is a stepper object with its options; do not also pass {', '.join(sorted(given))}"
            )
        return method
    if not isinstance(method, str) or method not in STEPPERS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    cls = STEPPERS[method]
    own = stepper_options(cls)
    for name in given:
        if name not in own:
            users = [m for m, c in STEPPERS.items() if name in stepper_options(c)]
            whose = f"an option of method {users[0]!r}" if users else "not an option of any method"
            raise ValueError(
                f"{name}={given[name]!r} is {whose}, not of method {method!r} (options of {method!r}: {', '.join(own)})"
            )
    return cls(**given)


# placeholders of the right numba types for terms that take no mask data
NO_AUX = (np.zeros((0, 1), dtype=np.int64), np.zeros(0), np.zeros((0, 1, 1)))


def failure_message(code: int, alpha: float, target: float, eta: float, max_abs: float, stepper: Stepper) -> str:
    """Why an advance loop stopped with status ``code`` between alpha and target."""
    where = f"between alpha={alpha:.6g} and {target:.6g}"
    if code == DIVERGED:
        return (
            f"diverged {where}: an order parameter exceeded {max_abs:g} in magnitude or became "
            f"non-finite; eta={eta} is probably above the largest stable learning rate"
        )
    if code == UNDERFLOW:
        return (
            f"step size underflow {where}: the right-hand side is not finite or too stiff "
            f"(covariance no longer positive definite, or eta={eta} too large)"
        )
    return (
        f"more than max_steps={getattr(stepper, 'max_steps', None)} steps {where}; raise max_steps or loosen rtol/atol"
    )
