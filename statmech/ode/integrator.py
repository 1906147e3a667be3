"""Learning curves from the order-parameter ODEs (theory.md section 4).

:func:`integrate` has the shape of ``scipy.integrate.solve_ivp``: one call,
options, and an :class:`IntegrateResult` with fields and a message. Two
methods: ``"dopri5"`` (default; adaptive Dormand-Prince 5(4); a step is accepted
when the root mean square over components of error_j / (atol + rtol |y_j|) is
at most 1, Hairer's norm) and ``"euler"`` (fixed step ``dt``, the
scheme of Goldt et al.'s C++ integrator). The equations are in
:mod:`statmech.ode.terms`, the steppers in :mod:`statmech.ode.steppers`. The ODE
vector packs ``y = [Q.ravel(), R.ravel(), v]``; the teacher (T, vstar) is
constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from statmech.core.state import State
from statmech.integrals import activation_code
from statmech.ode import steppers as solvers
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.steppers import METHODS
from statmech.ode.terms import STANDARD, rhs_into

__all__ = ["integrate", "IntegrateResult", "rhs", "rhs_into", "pack", "unpack", "default_save_at", "METHODS"]


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


def rhs(state: State, *, eta: float, eta_v: float, sigma: float = 0.0, activation: str = "erf") -> np.ndarray:
    """Time derivatives (dQ, dR, dv) packed like :func:`pack` (for analysis and tests)."""
    y = pack(state)
    dy = np.empty_like(y)
    rhs_into(
        activation_code(activation),
        y,
        state.K,
        state.M,
        np.ascontiguousarray(state.T),
        np.ascontiguousarray(state.vstar),
        float(eta),
        float(eta_v),
        float(sigma) ** 2,
        dy,
    )
    return dy


# ---------------------------------------------------------------------- result
class SavedStates:
    """Mixin for results that stack order parameters over saved times.

    Needs the fields ``alpha``, ``Q``, ``R``, ``v`` (first axis = time),
    ``T``, ``vstar`` and ``status``.
    """

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


@dataclass
class IntegrateResult(SavedStates):
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
    def final(self) -> State:
        """The last saved State."""
        return self.state_at(-1)

    def __repr__(self) -> str:
        return (
            f"IntegrateResult(status={self.status}, message={self.message!r}, "
            f"saved={len(self.alpha)}, alpha_end={self.alpha[-1] if len(self.alpha) else None}, "
            f"nfev={self.nfev})"
        )


# ------------------------------------------------------------------ public API
def default_save_at(alpha_max: float, n: int = 200) -> np.ndarray:
    """0 plus ``n`` log-spaced times up to alpha_max (learning curves are plotted log-log)."""
    start = min(1e-2, alpha_max / 10.0)
    return np.unique(np.concatenate([[0.0], np.geomspace(start, alpha_max, n)]))


def integrate(
    state: State,
    *,
    eta: float,
    eta_v: float | None = None,
    sigma: float = 0.0,
    alpha_max: float,
    save_at=None,
    activation: str = "erf",
    method: str = "dopri5",
    dt: float = 0.01,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    first_step: float = 1e-3,
    max_steps: int = 10_000_000,
    max_abs: float = 1e6,
    progress=None,
) -> IntegrateResult:
    """Integrate the order-parameter ODEs from ``state`` up to ``alpha_max``.

    Parameters follow the paper: learning rates ``eta`` (first layer, scaled
    eta / sqrt(N)) and ``eta_v`` (second layer, scaled eta_v / N; defaults to
    ``eta`` as in the paper, ``0`` gives the soft committee machine with fixed
    v), output-noise standard deviation ``sigma``. ``save_at`` are the times to
    record (default :func:`default_save_at`); ``method`` is ``"dopri5"``
    (adaptive; RMS over components of error / (atol + rtol |y|) <= 1) or ``"euler"``
    (fixed step ``dt``; steps shrink slightly so save points are hit exactly).
    The run fails (status -1, with a message) when any order parameter exceeds
    ``max_abs`` in magnitude, becomes non-finite, or the covariance leaves the
    PSD cone; a Ctrl-C returns what was computed (status 1). ``progress``:
    None shows a bar only on a terminal.
    """
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    eta_v = eta if eta_v is None else eta_v
    solvers.check_options(eta, eta_v, sigma, alpha_max, method, dt, rtol, atol)
    act = activation_code(activation)
    if act == 2 and np.any(np.diag(state.Q) <= 0):
        raise ValueError("activation 'relu' needs every Q_ii > 0 (a unit with zero weights has no defined g')")
    save_at = solvers.check_save_at(save_at, alpha_max, default_save_at(alpha_max))
    K, M = state.K, state.M
    T = np.ascontiguousarray(state.T)
    vstar = np.ascontiguousarray(state.vstar)
    y = pack(state)
    params = dict(
        K=K,
        M=M,
        eta=float(eta),
        eta_v=float(eta_v),
        sigma=float(sigma),
        alpha_max=float(alpha_max),
        activation=activation,
        method=method,
        dt=float(dt) if method == "euler" else None,
        rtol=float(rtol) if method == "dopri5" else None,
        atol=float(atol) if method == "dopri5" else None,
    )
    alphas, Qs, Rs, vs, eps = [], [], [], [], []

    def covariance(y):
        Q, R, _ = unpack(y, K, M)
        return Q, R

    def record(a):
        Q, R, v = unpack(y, K, M)
        alphas.append(a)
        Qs.append(0.5 * (Q + Q.T))
        Rs.append(R.copy())
        vs.append(v.copy())
        eps.append(eps_g_arrays(Q, R, T, v, vstar, activation))
        return eps[-1]

    nfev, nsteps, status, message = solvers.run(
        STANDARD,
        act,
        y,
        save_at,
        K=K,
        M=M,
        T=T,
        vstar=vstar,
        eta=eta,
        eta_v=eta_v,
        sigma=sigma,
        method=method,
        dt=dt,
        rtol=rtol,
        atol=atol,
        first_step=first_step,
        max_steps=max_steps,
        max_abs=max_abs,
        covariance=covariance,
        record=record,
        progress=progress,
        alpha_max=alpha_max,
    )

    def stack(xs, shape):
        return np.array(xs) if xs else np.empty((0,) + shape)

    return IntegrateResult(
        alpha=np.array(alphas),
        eps_g=np.array(eps),
        Q=stack(Qs, (K, K)),
        R=stack(Rs, (K, M)),
        v=stack(vs, (K,)),
        T=T.copy(),
        vstar=vstar.copy(),
        nfev=nfev,
        nsteps=nsteps,
        status=status,
        message=message,
        params=params,
    )
