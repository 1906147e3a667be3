"""The critical learning rate: the largest eta for which the asymptotic fixed point is linearly stable.

:func:`critical_learning_rate` bisects on eta for the perfect student (R = T,
Q = T, v = v*, sigma = 0) when it is a zero of the flow at every eta, and
otherwise follows the asymptotic fixed point
(:func:`statmech.analysis.asymptotics.asymptotic_fixed_point`) in eta;
:func:`confirm_critical_learning_rate` integrates a perturbed fixed point just
below and above it. docs/theory/fixed_points.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import expm

from statmech.analysis.asymptotics import asymptotic_fixed_point
from statmech.analysis.fixed_points import (
    TOL,
    FixedPoint,
    Flow,
    analyse,
    check_sizes,
    find_fixed_point,
    jacobian,
    make_ansatz,
    perfect_student,
    perturbed_perfect_student,
    perturbed_state,
    teacher_arrays,
    teacher_is_symmetric,
)
from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.ode.integrator import integrate, is_standard, pack

__all__ = [
    "CriticalLearningRate",
    "critical_learning_rate",
    "confirm_critical_learning_rate",
]


# ---------------------------------------------------- critical learning rate
@dataclass
class CriticalLearningRate:
    """Largest eta with the asymptotic fixed point linearly stable, from bisection.

    ``eta_c`` is the midpoint of the final bracket [lower, upper]
    (upper - lower < rtol * upper); ``max_real_lower``/``upper`` are the
    largest real parts of the Jacobian's eigenvalues at the bracket ends;
    ``direction`` is the unstable eigenvector just above eta_c (dQ, dR, dv).
    ``state`` is the fixed point: the perfect student when it is a zero of F
    for every eta (``tracked`` False), else the fixed point followed in eta
    (weight decay, noise, mismatched activations), taken at ``upper`` (at
    ``lower`` when the branch has no physical root at ``upper``).
    ``model`` is the learning problem at eta = 1 (eta_v = eta_v_ratio).
    """

    eta_c: float
    lower: float
    upper: float
    max_real_lower: float
    max_real_upper: float
    iterations: int
    K: int
    M: int
    eta_v_ratio: float
    activation: str
    direction: tuple
    state: State
    model: Model = field(default_factory=Model)
    tracked: bool = False

    def model_at(self, eta: float) -> Model:
        """The model at learning rate ``eta`` (eta_v = eta_v_ratio * eta)."""
        return self.model.replace(eta=float(eta), eta_v=self.eta_v_ratio * float(eta))

    def to_dict(self) -> dict:
        out = dict(
            eta_c=self.eta_c,
            lower=self.lower,
            upper=self.upper,
            max_real_lower=self.max_real_lower,
            max_real_upper=self.max_real_upper,
            iterations=self.iterations,
            K=self.K,
            M=self.M,
            eta_v_ratio=self.eta_v_ratio,
            activation=self.activation,
        )
        if not is_standard(self.model, self.K, self.M) or self.model.sigma > 0:
            out.update(
                model={k: v for k, v in self.model.to_dict().items() if k not in ("eta", "eta_v")},
                fixed_point="followed in eta" if self.tracked else "perfect student",
            )
        return out


def _max_real_at(state, m):
    J, _ = jacobian(state, m)
    return float(np.max(np.linalg.eigvals(J).real))


def _critical_model(model, eta_v_ratio, fields) -> tuple[Model, float]:
    """(the model at eta = 1, eta_v / eta) of :func:`critical_learning_rate`."""
    if model is None:
        ratio = 0.0 if eta_v_ratio is None else eta_v_ratio
        if isinstance(ratio, bool) or not (np.isfinite(ratio) and ratio >= 0):
            raise ValueError(f"eta_v_ratio must be a finite number >= 0, got {eta_v_ratio!r}")
        return resolve_model(eta=1.0, eta_v=float(ratio), **fields), float(ratio)
    m = resolve_model(model, **fields)
    if eta_v_ratio is not None:
        raise ValueError(
            f"give either model= (its eta_v / eta is the ratio) or eta_v_ratio, not both: got eta_v_ratio={eta_v_ratio}"
        )
    if not m.eta > 0:
        raise ValueError(f"model.eta must be > 0 (it fixes eta_v / eta; eta itself is bisected), got {m.eta}")
    ratio = float(m.eta_v or 0.0) / m.eta
    return m.replace(eta=1.0, eta_v=ratio), ratio


class _FollowedFixedPoint:
    """The asymptotic fixed point as a function of eta, each root started from the nearest one found."""

    def __init__(self, K, M, T, vstar, model_at, eta0, tol):
        self.model_at, self.tol = model_at, tol
        symmetric = teacher_is_symmetric(T, vstar) and K >= M
        self.ansatz = "specialised" if symmetric else "full"
        first = asymptotic_fixed_point(K, M, model_at(eta0), T=T, vstar=vstar, tol=tol)
        self.found = {float(eta0): first}

    def __call__(self, eta) -> FixedPoint:
        eta = float(eta)
        if eta in self.found:
            return self.found[eta]
        near = min(self.found, key=lambda e: abs(math.log(e / eta)))
        try:
            fp = find_fixed_point(self.found[near].state, self.model_at(eta), ansatz=self.ansatz, tol=self.tol)
        except ValueError:
            # a long jump may leave the basin of the Newton solve: walk there in small steps
            fp = self.found[near]
            for e in np.geomspace(near, eta, 9)[1:]:
                fp = find_fixed_point(fp.state, self.model_at(e), ansatz=self.ansatz, tol=self.tol)
        self.found[eta] = fp
        return fp

    def max_real(self, eta) -> float:
        """Largest real part of the eigenvalues; +inf where the branch has no physical (PSD) root."""
        try:
            return self(eta).max_real
        except ValueError:
            return math.inf


def critical_learning_rate(
    K: int,
    M: int,
    model: Model | None = None,
    *,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    eta_v_ratio: float | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    sigma: float | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    rtol: float = 1e-7,
    eta_start: float = 0.05,
    eta_limit: float = 1e3,
    tol: float = TOL,
) -> CriticalLearningRate:
    """Largest learning rate for which the asymptotic fixed point is linearly stable, by bisection.

    eta_v = eta_v_ratio * eta (0, the default: soft committee machine; 1:
    eta_v = eta as in the paper). The rest of the learning problem is ``model``
    (whose eta_v / eta is the ratio; its eta is what is bisected) or its fields
    as keywords. When the perfect student is a zero of F (sigma = 0, no weight
    decay, one activation) it is the fixed point for every eta; otherwise the
    fixed point near it (:func:`asymptotic_fixed_point`) is followed in eta, and
    an eta where the branch has no root inside the PSD cone counts as unstable
    (it leaves the cone, or runs off to infinity, at the instability: the
    linear network's Q diverges as eta -> eta_c).
    eta is doubled from ``eta_start`` until the largest real part of the
    Jacobian's eigenvalues turns positive, then bisected: the first crossing
    above eta_start. ValueError when the fixed point is already
    unstable/marginal at eta_start or stays stable up to ``eta_limit``.
    """
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
    base, ratio = _critical_model(
        model,
        eta_v_ratio,
        dict(
            activation=activation,
            teacher_activation=teacher_activation,
            sigma=sigma,
            weight_decay=weight_decay,
            batch_size=batch_size,
            output_scale=output_scale,
        ),
    )

    def model_at(eta):
        return base.replace(eta=float(eta), eta_v=ratio * float(eta))

    perfect = perfect_student(K, M, T=T, vstar=vstar, train_v=ratio > 0)
    lo = float(eta_start)
    # F is polynomial in eta: a zero at two learning rates (and of the decay term) is a zero at every eta
    tracked = not all(
        float(np.max(np.abs(Flow(K, M, T, vstar, model_at(e))(pack(perfect))))) < tol for e in (lo, 2 * lo)
    )
    if tracked:
        follow = _FollowedFixedPoint(K, M, T, vstar, model_at, lo, tol)

        max_real = follow.max_real

        what = "the asymptotic fixed point"
    else:

        def max_real(eta):
            return _max_real_at(perfect, model_at(eta))

        what = "the perfect student"
    f_lo = max_real(lo)
    # stability margin: Jacobian error is about 1e-12 (see statmech.analysis.fixed_points.jacobian)
    if not f_lo < -1e-9:
        raise ValueError(
            f"{what} (K={K}, M={M}, eta_v/eta={ratio}) is not strictly stable even at "
            f"eta={lo} (largest real part {f_lo:.3g}); a zero eigenvalue means a continuum of equivalent "
            "students (e.g. surplus units with v = 0), so no critical learning rate is defined"
        )
    hi = lo
    f_hi = f_lo
    while f_hi < 0:
        lo, f_lo = hi, f_hi
        hi = 2 * hi
        if hi > eta_limit:
            raise ValueError(f"{what} is stable for every eta tried, up to eta={lo} (eta_limit={eta_limit})")
        f_hi = max_real(hi)
    it = 0
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        f_mid = max_real(mid)
        if f_mid < 0:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
        it += 1
    if tracked:
        try:
            fp = follow(hi)
        except ValueError:  # no physical root at upper: the Jacobian of upper's flow at lower's root
            fp = analyse(follow(lo).state, model_at(hi), kind="asymptotic")
        state = fp.state
    else:
        state = perfect
        fp = analyse(state, model_at(hi), kind="perfect student")
    return CriticalLearningRate(
        eta_c=0.5 * (lo + hi),
        lower=lo,
        upper=hi,
        max_real_lower=f_lo,
        max_real_upper=f_hi,
        iterations=it,
        K=K,
        M=M,
        eta_v_ratio=float(ratio),
        activation=base.activation,
        direction=fp.direction(0),
        state=state,
        model=base,
        tracked=tracked,
    )


def confirm_critical_learning_rate(
    crit: CriticalLearningRate,
    *,
    factor: float = 0.1,
    eps: float = 0.01,
    N: int = 200,
    seed: int = 0,
    growth: float = 3.0,
    alpha_max: float | None = None,
) -> dict:
    """Integrate a perturbed fixed point at eta_c (1 - factor) and eta_c (1 + factor) under ``crit.model``.

    The perturbation comes from real weights (:func:`perturbed_perfect_student`,
    or :func:`perturbed_state` around the fixed point followed in eta; PSD by
    construction). Each side runs to ``alpha_max`` (default ``growth`` /
    |largest real part| on that side), so the linear prediction changes the
    distance by about e^growth. Returns, for "below" and "above": eta, the
    predicted largest real part, the distance |x - x*| (full coordinates, x*
    the fixed point at that eta) at the start and the end of the integration,
    the distance predicted by the linearised flow expm(J alpha) (x0 - x*), the
    amplitude of the leading mode (left eigenvector applied to x - x*) at the
    start and the end, which the linear flow multiplies by exp(rate alpha),
    and the status of the run.
    """

    T, vstar = crit.state.T, crit.state.vstar
    train_v = crit.eta_v_ratio > 0
    if crit.tracked:
        s0 = perturbed_state(crit.state, eps=eps, N=N, train_v=train_v, seed=seed)
    else:
        s0 = perturbed_perfect_student(crit.K, crit.M, eps=eps, N=N, T=T, vstar=vstar, train_v=train_v, seed=seed)
    A = make_ansatz("full", crit.K, crit.M, train_v)
    out = {}
    etas = {"below": crit.eta_c * (1 - factor), "above": crit.eta_c * (1 + factor)}
    fixed = {
        k: find_fixed_point(crit.state, crit.model_at(e), ansatz="full").state if crit.tracked else crit.state
        for k, e in etas.items()
    }
    jac = {k: jacobian(fixed[k], crit.model_at(e))[0] for k, e in etas.items()}
    rates = {k: float(np.max(np.linalg.eigvals(J).real)) for k, J in jac.items()}
    for key, eta in etas.items():
        xstar = A.project(pack(fixed[key]))
        d0 = A.project(pack(s0)) - xstar
        a_end = growth / abs(rates[key]) if alpha_max is None else float(alpha_max)
        res = integrate(s0, crit.model_at(eta), alpha_max=a_end, save_at=np.array([0.0, a_end]), max_abs=1e3)
        d1 = A.project(pack(res.final)) - xstar
        # amplitude of the leading mode: left eigenvector (row of V^-1) applied to the offset
        lam, V = np.linalg.eig(jac[key])
        lead = np.argmax(lam.real)
        left = np.linalg.inv(V)[lead]
        out[key] = dict(
            eta=eta,
            predicted_rate=rates[key],
            distance_start=float(np.linalg.norm(d0)),
            distance_end=float(np.linalg.norm(d1)),
            distance_linear=float(np.linalg.norm(expm(jac[key] * a_end) @ d0)),
            mode_start=float(abs(left @ d0)),
            mode_end=float(abs(left @ d1)),
            alpha_end=float(res.alpha[-1]),
            status=res.status,
            message=res.message,
        )
    return out
