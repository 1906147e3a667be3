"""Learning curves from the order-parameter ODEs (docs/theory/equations.md).

:func:`integrate` has the shape of ``scipy.integrate.solve_ivp``: one call,
options, and an :class:`IntegrateResult` with fields and a message. Two
methods: ``"dopri5"`` (default; adaptive Dormand-Prince 5(4); a step is accepted
when the root mean square over components of error_j / (atol + rtol |y_j|) is
at most 1, Hairer's norm) and ``"euler"`` (fixed step ``dt``, the
scheme of Goldt et al.'s C++ integrator); each method takes only its own
options (an option of the other method is an error, not ignored). The
equations are in :mod:`statmech.ode.terms`, the steppers and their options in
:mod:`statmech.ode.steppers`. :func:`solve` is the one driver (checks, save
points, status and message, Ctrl-C) behind :func:`integrate` and
:func:`statmech.ode.masked.integrate_masked`. The ODE vector packs
``y = [Q.ravel(), R.ravel(), v]``; the teacher (T, vstar) is constant.

The learning problem is a :class:`statmech.core.model.Model` (student and
teacher activations, eta, eta_v, sigma, weight decay, batch size, output
scaling), given as ``model=`` or as its fields in keywords
(:func:`statmech.core.model.resolve_model`). The default model (one activation,
B = 1, no weight decay, no output scaling) runs the ``STANDARD`` term of
:mod:`statmech.ode.terms`; any other the ``GENERAL`` term
(docs/theory/general_model.md). alpha counts updates / N.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.interrupt import sigint_flag
from statmech.core.model import Model, resolve_model
from statmech.core.resources import check_memory, check_steps, ode_memory
from statmech.core.state import State
from statmech.core.validation import as_float_array
from statmech.integrals import activation_code
from statmech.integrals.kernels import RELU
from statmech.ode import steppers
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.steppers import METHODS, NO_AUX, Dopri5, Euler, Stepper, make_stepper
from statmech.ode.terms import (
    GENERAL,
    N_PAR,
    P_ETA,
    P_ETA_V,
    P_INV_B,
    P_INV_SK,
    P_INV_SM,
    P_KAPPA,
    P_SIGMA2,
    STANDARD,
    general_rhs_into,
    rhs_into,
    term,
)

__all__ = [
    "integrate",
    "solve",
    "System",
    "IntegrateResult",
    "rhs",
    "rhs_into",
    "general_rhs_into",
    "model_parameters",
    "is_standard",
    "pack",
    "unpack",
    "default_save_at",
    "METHODS",
    "Euler",
    "Dopri5",
]


# --------------------------------------------------------------------- packing
def pack(state: State) -> np.ndarray:
    """The ODE vector y = [Q.ravel(), R.ravel(), v] of a state."""
    return np.concatenate([state.Q.ravel(), state.R.ravel(), state.v]).astype(np.float64)


def unpack(y: np.ndarray, K: int, M: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Q, R, v) views of an ODE vector (inverse of :func:`pack`)."""
    Q = y[: K * K].reshape(K, K)
    R = y[K * K : K * K + K * M].reshape(K, M)
    v = y[K * K + K * M :]
    return Q, R, v


def model_parameters(model: Model, K: int, M: int) -> np.ndarray:
    """The vector ``par`` of the compiled terms: [eta, eta_v, sigma^2, kappa, 1/B, 1/s_K, 1/s_M]."""
    par = np.empty(N_PAR)
    par[P_ETA] = model.eta
    par[P_ETA_V] = model.eta_v
    par[P_SIGMA2] = model.sigma**2
    par[P_KAPPA] = model.weight_decay
    par[P_INV_B] = 1.0 / model.batch_size
    par[P_INV_SK] = 1.0 / model.student_scale(K)
    par[P_INV_SM] = 1.0 / model.teacher_scale(M)
    return par


def is_standard(model: Model, K: int, M: int) -> bool:
    """Whether the fast ``STANDARD`` term applies: one activation, B = 1, no weight decay, s_K = s_M = 1."""
    return (
        model.teacher_activation == model.activation
        and model.batch_size == 1
        and model.weight_decay == 0.0
        and model.student_scale(K) == 1.0
        and model.teacher_scale(M) == 1.0
    )


def rhs(state: State, model: Model | None = None, **fields: Any) -> np.ndarray:
    """Time derivatives (dQ, dR, dv) packed like :func:`pack` (for analysis and tests).

    ``model`` or its fields as keywords (``eta=0.5, eta_v=0.5, sigma=0.1, activation="erf",
    teacher_activation=..., weight_decay=..., batch_size=..., output_scale=...``); the
    same term the integrator would run (``STANDARD`` for the default model, else ``GENERAL``).
    """
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    model = resolve_model(model, **fields)
    K, M = state.K, state.M
    y = pack(state)
    dy = np.empty_like(y)
    member, frac, TA = NO_AUX
    term(
        STANDARD if is_standard(model, K, M) else GENERAL,
        activation_code(model.activation),
        activation_code(model.teacher_activation),
        y,
        K,
        M,
        np.ascontiguousarray(state.T),
        np.ascontiguousarray(state.vstar),
        model_parameters(model, K, M),
        member,
        frac,
        TA,
        dy,
    )
    return dy


# ---------------------------------------------------------------------- result
class SavedStates:
    """Mixin for results that stack order parameters over saved times.

    Needs the fields ``alpha``, ``Q``, ``R``, ``v`` (first axis = time),
    ``T``, ``vstar`` and ``status``.
    """

    # declared for the type checker; the subclasses hold them (as dataclass fields)
    alpha: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    vstar: np.ndarray
    status: int

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
    ``message`` saying which. ``model`` is the learning problem integrated;
    ``params`` holds its fields, K, M, alpha_max and the method's options.
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
    model: Model = field(default_factory=Model)

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


@dataclass(frozen=True, eq=False)
class System:
    """What :func:`solve` integrates: a term of :mod:`statmech.ode.terms` and how to read it.

    ``kind`` selects the right-hand side, ``y0`` is its initial vector,
    ``overlaps(y) -> (Q, R, v)`` gives the full student overlaps of a vector
    (for eps_g, the PSD check and the saved states), ``aux = (member, frac, TA)``
    is the mask data of the MASKED term.
    """

    kind: int
    y0: np.ndarray
    K: int
    M: int
    T: np.ndarray
    vstar: np.ndarray
    overlaps: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
    aux: tuple = NO_AUX


def _check_limits(alpha_max: float, max_abs: float) -> None:
    if not (np.isfinite(alpha_max) and alpha_max > 0):
        raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}")
    if not max_abs > 0:
        raise ValueError(f"max_abs must be > 0, got {max_abs!r}")


def _check_save_at(save_at, alpha_max: float) -> np.ndarray:
    save_at = default_save_at(alpha_max) if save_at is None else as_float_array("save_at", save_at, 1)
    if save_at.ndim != 1 or save_at.size == 0 or np.any(np.diff(save_at) <= 0):
        raise ValueError("save_at must be a non-empty, strictly increasing 1-D sequence of times")
    if save_at[0] < 0 or save_at[-1] > alpha_max * (1 + 1e-12):
        raise ValueError(f"save_at must lie in [0, alpha_max={alpha_max}], got [{save_at[0]}, {save_at[-1]}]")
    return save_at


def _psd_violation(Q: np.ndarray, R: np.ndarray, T: np.ndarray) -> float:
    """How far the field covariance is below the PSD cone (0 when inside)."""
    C = np.block([[Q, R], [R.T, T]])
    lam = np.linalg.eigvalsh(0.5 * (C + C.T))[0]
    scale = max(1.0, float(np.max(np.abs(C))))
    return max(0.0, -lam / scale)


def solve(
    system: System,
    model: Model,
    *,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    method: str | Stepper = "dopri5",
    options: dict | None = None,
    max_abs: float = 1e6,
    progress: bool | None = None,
) -> tuple[IntegrateResult, np.ndarray]:
    """The one driver of every order-parameter ODE: checks, save points, stepping, status.

    Checks the times, the activation (a ReLU student needs every Q_ii > 0) and
    the method's ``options`` (:func:`statmech.ode.steppers.make_stepper`: an
    option of another method is an error); advances ``system.y0`` through
    ``save_at`` (default :func:`default_save_at`) under ``model``, recording
    (Q, R, v) and eps_g at each; stops with status -1 and a message on
    divergence (|y| > max_abs or non-finite), a failed step-size control or a
    covariance outside the PSD cone; keeps the points so far on Ctrl-C
    (status 1). Returns the :class:`IntegrateResult` and the final vector.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a statmech.Model, got {type(model).__name__}")
    _check_limits(alpha_max, max_abs)
    eta = model.eta
    stepper = make_stepper(method, dict(options or {}))
    act = activation_code(model.activation)
    act_t = activation_code(model.teacher_activation)
    K, M = system.K, system.M
    T = np.ascontiguousarray(system.T, dtype=np.float64)
    vstar = np.ascontiguousarray(system.vstar, dtype=np.float64)
    y = np.array(system.y0, dtype=np.float64)
    if act == RELU and np.any(np.diag(system.overlaps(y)[0]) <= 0):
        raise ValueError("activation 'relu' needs every Q_ii > 0 (a unit with zero weights has no defined g')")
    save_at = _check_save_at(save_at, alpha_max)
    largest = float(np.max(np.abs(y))) if y.size else 0.0
    if not largest <= max_abs:
        raise ValueError(
            f"the initial state has an order parameter of magnitude {largest:.3g}, above max_abs={max_abs:g} "
            f"(the divergence threshold); rescale the state or raise max_abs"
        )
    check_memory("the ODE", f"K={K}, M={M}, {save_at.size} save points", ode_memory(K, M, save_at.size))
    check_steps(alpha_max, stepper.name, getattr(stepper, "dt", None), getattr(stepper, "max_steps", None), K, M)
    member, frac, TA = system.aux
    problem = (
        system.kind,
        act,
        act_t,
        K,
        M,
        T,
        vstar,
        model_parameters(model, K, M),
        member,
        frac,
        TA,
        float(max_abs),
    )
    alphas: list = []
    Qs: list = []
    Rs: list = []
    vs: list = []
    eps: list = []

    from tqdm.auto import tqdm

    bar = tqdm(
        total=float(alpha_max),
        disable=(None if progress is None else not progress),
        unit="alpha",
        bar_format="{l_bar}{bar}| {n:.4g}/{total:.4g} [{elapsed}<{remaining}]",
    )
    alpha = 0.0
    status, message = 0, "reached alpha_max"
    advance, nfev = stepper.advancer(problem, y)
    nsteps = 0
    interrupts = ExitStack()  # Ctrl-C as a flag, asked between compiled chunks of steps
    flag = interrupts.enter_context(sigint_flag())
    try:
        for target in save_at:
            if target > alpha:
                n_ev, n_st, code = advance(alpha, float(target), lambda: flag["stop"])
                nfev += n_ev
                nsteps += n_st
                if code == steppers.INTERRUPTED:
                    raise KeyboardInterrupt
                if code != steppers.OK:
                    status = -1
                    message = steppers.failure_message(code, alpha, target, eta, max_abs, stepper)
                    break
                bar.update(target - alpha)
                alpha = float(target)
                Q, R, _ = system.overlaps(y)
                viol = _psd_violation(Q, R, T)
                if viol > 1e-6:
                    status = -1
                    message = (
                        f"the covariance [[Q, R], [R^T, T]] left the positive semi-definite cone "
                        f"near alpha={alpha:.6g} (relative violation {viol:.2g}); "
                        f"the integration is not accurate enough or eta={eta} is too large"
                    )
                    break
            Q, R, v = system.overlaps(y)
            alphas.append(float(target))
            Qs.append(0.5 * (Q + Q.T))
            Rs.append(np.array(R))
            vs.append(np.array(v))
            eps.append(eps_g_arrays(Q, R, T, v, vstar, model))
            if not np.isfinite(eps[-1]):
                status, message = -1, f"eps_g became non-finite at alpha={target:.6g}"
                break
    except KeyboardInterrupt:
        status, message = 1, f"interrupted by the user at alpha={alpha:.6g}; the saved points so far are kept"
    finally:
        bar.close()
        interrupts.close()

    def stack(xs, shape):
        return np.array(xs) if xs else np.empty((0,) + shape)

    params = dict(
        K=K,
        M=M,
        **model.to_dict(),
        alpha_max=float(alpha_max),
        alpha_counts="updates / N (each update averages batch_size fresh samples)",
        method=stepper.name,
        **{name: getattr(stepper, name, None) for name in _ALL_OPTIONS},
    )
    result = IntegrateResult(
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
        model=model,
    )
    return result, y


# every stepper option, recorded in IntegrateResult.params (None for options of the other method)
_ALL_OPTIONS = tuple(dict.fromkeys(n for c in steppers.STEPPERS.values() for n in steppers.stepper_options(c)))


def integrate(
    state: State,
    model: Model | None = None,
    *,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    method: str | Stepper = "dopri5",
    dt: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    first_step: float | None = None,
    max_steps: int | None = None,
    max_abs: float = 1e6,
    progress: bool | None = None,
) -> IntegrateResult:
    """Integrate the order-parameter ODEs from ``state`` up to ``alpha_max``.

    The learning problem is ``model`` (a :class:`statmech.core.model.Model`) or
    its fields as keywords, not both: learning rates ``eta`` (first layer, scaled
    eta / sqrt(N)) and ``eta_v`` (second layer, scaled eta_v / N; defaults to
    ``eta`` as in the paper, ``0`` gives the soft committee machine with fixed
    v), output-noise standard deviation ``sigma``, the student's ``activation``
    and the ``teacher_activation`` (default: the student's), ``weight_decay``
    kappa (dR -= kappa R, dQ -= 2 kappa Q, dv -= kappa v per unit alpha),
    ``batch_size`` B (the O(eta^2) terms divided by B; alpha counts updates / N)
    and ``output_scale`` ("1", "sqrt", "K": phi = (1/s_K) sum v_i g(lambda_i), the
    teacher with s_M); docs/theory/general_model.md. ``save_at`` are the times to
    record (default :func:`default_save_at`). ``method`` is ``"dopri5"``
    (adaptive; options ``rtol`` = 1e-8, ``atol`` = 1e-10, ``first_step`` = 1e-3,
    ``max_steps`` = 10^7; RMS over components of error / (atol + rtol |y|) <= 1),
    ``"euler"`` (fixed step; option ``dt`` = 0.01; steps shrink slightly so save
    points are hit exactly), or a stepper object (:class:`Dopri5`,
    :class:`Euler`) carrying its options. An option of the other method is a
    ValueError (None = not given). The run fails (status -1, with a message)
    when any order parameter exceeds ``max_abs`` in magnitude, becomes
    non-finite, or the covariance leaves the PSD cone; a Ctrl-C returns what
    was computed (status 1). ``progress``: None shows a bar only on a terminal.
    The result records the model (``result.model``, and its fields in ``result.params``).
    """
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    model = resolve_model(
        model,
        eta=eta,
        eta_v=eta_v,
        sigma=sigma,
        activation=activation,
        teacher_activation=teacher_activation,
        weight_decay=weight_decay,
        batch_size=batch_size,
        output_scale=output_scale,
    )
    K, M = state.K, state.M

    def overlaps(y):
        return unpack(y, K, M)

    kind = STANDARD if is_standard(model, K, M) else GENERAL
    system = System(kind=kind, y0=pack(state), K=K, M=M, T=state.T, vstar=state.vstar, overlaps=overlaps)
    options = dict(dt=dt, rtol=rtol, atol=atol, first_step=first_step, max_steps=max_steps)
    result, _ = solve(
        system,
        model,
        alpha_max=alpha_max,
        save_at=save_at,
        method=method,
        options=options,
        max_abs=max_abs,
        progress=progress,
    )
    return result
