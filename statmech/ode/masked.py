"""Students trained with fixed first-layer masks (edge pruning followed by retraining).

Masked SGD keeps pruned weights at zero: w_k += (eta/sqrt N) v_k g'(lambda_k)
Delta (m_k * x). The order parameters Q, R no longer close; they do once the
coordinates are split into *regions*, the sets of inputs j sharing one
membership pattern A = {k : m_kj = 1}. With overlaps restricted to a region,
QA_kl = sum_{j in A} w_kj w_lj / N, RA_kn = sum_{j in A} w_kj w*_nj / N and
TA = sum_{j in A} w*_j w*_j^T / N, the equations of motion are closed
(our derivation, docs/theory/masked.md; :func:`statmech.ode.terms.masked_rhs_into`):
full overlaps are Q = sum_A QA, R = sum_A RA, and for k, l in A::

    dQA_kl/dalpha = eta v_k <g'(lambda_k) Delta lambda^A_l> + (k <-> l)
                    + eta^2 frac_A v_k v_l [sum_ab w_a w_b I4(k,l,a,b) + sigma^2 J2(k,l)]
    dRA_kn/dalpha = eta v_k <g'(lambda_k) Delta nu^A_n>

(for the general model of docs/theory/general_model.md: v -> v / s_K in the
error signal, eta^2 -> eta^2 / B, and -2 kappa QA, -kappa RA, -kappa v from the
weight decay, which keeps masked weights at zero)

where lambda^A_l, nu^A_n are the fields of the weights restricted to A. The
averages are I3 integrals (linear in the restricted field's covariances by
Stein's lemma), so no new Gaussian integrals are needed. Assumptions: N -> inf
at fixed region fractions, inputs white Gaussian, masks fixed during training.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.integrator import IntegrateResult, System, solve
from statmech.ode.steppers import Stepper
from statmech.ode.terms import MASKED

__all__ = ["MaskedState", "integrate_masked", "MAX_RANDOM_MASK_UNITS"]

# 2^K regions in the random-mask limit: beyond this K the state is too large
MAX_RANDOM_MASK_UNITS = 12


@dataclass(frozen=True, eq=False)
class MaskedState:
    """Order parameters of masked students, restricted to the regions of the mask pattern.

    ``member`` (R x K, 0/1): which units keep the inputs of region r;
    ``frac`` (R,): fraction of the N inputs in region r; ``QA`` (R x K x K),
    ``RA`` (R x K x M), ``TA`` (R x M x M): overlaps restricted to region r;
    ``T`` (M x M): the full teacher overlap; ``v``, ``vstar``.
    """

    member: np.ndarray
    frac: np.ndarray
    QA: np.ndarray
    RA: np.ndarray
    TA: np.ndarray
    T: np.ndarray
    v: np.ndarray
    vstar: np.ndarray

    def __post_init__(self) -> None:
        member = np.asarray(self.member, dtype=np.int64)
        R_, K = member.shape
        M = np.asarray(self.vstar).shape[0]
        shapes = dict(frac=(R_,), QA=(R_, K, K), RA=(R_, K, M), TA=(R_, M, M), T=(M, M), v=(K,), vstar=(M,))
        for name, shape in shapes.items():
            a = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if a.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
            object.__setattr__(self, name, a)
        object.__setattr__(self, "member", np.ascontiguousarray(member))
        if np.any(self.frac < 0) or self.frac.sum() > 1 + 1e-12:
            raise ValueError("frac must be >= 0 and sum to at most 1 (fractions of the N inputs)")
        outside = (1 - member)[:, :, None]
        if np.any(self.QA * outside != 0) or np.any(self.RA * outside != 0):
            raise ValueError("QA and RA must vanish for units outside a region (their weights are masked there)")
        self.state()  # validates the full covariance

    @property
    def K(self) -> int:
        return self.member.shape[1]

    @property
    def M(self) -> int:
        return self.vstar.shape[0]

    def state(self) -> State:
        """The full order parameters Q = sum_A QA, R = sum_A RA of the masked students."""
        return State(Q=self.QA.sum(0), R=self.RA.sum(0), T=self.T, v=self.v, vstar=self.vstar)

    def pack(self) -> np.ndarray:
        return np.concatenate([self.QA.ravel(), self.RA.ravel(), self.v])

    @classmethod
    def from_weights(cls, weights: Weights, masks: ArrayLike) -> MaskedState:
        """Exact restricted overlaps of real weights under boolean ``masks`` (K x N); W is masked first."""
        masks = np.asarray(masks)
        if masks.shape != weights.W.shape:
            raise ValueError(f"masks must have the shape of W {weights.W.shape}, got {masks.shape}")
        masks = masks.astype(bool)
        K, N = masks.shape
        if K > 62:
            raise ValueError(f"at most 62 student units are supported for masked training, got K={K}")
        W = weights.W * masks
        codes = (masks.astype(np.int64) << np.arange(K, dtype=np.int64)[:, None]).sum(0)
        regions = np.unique(codes[codes != 0])
        member = ((regions[:, None] >> np.arange(K)) & 1).astype(np.int64)
        QA = np.empty((len(regions), K, K))
        RA = np.empty((len(regions), K, weights.M))
        TA = np.empty((len(regions), weights.M, weights.M))
        frac = np.empty(len(regions))
        for r, code in enumerate(regions):
            J = codes == code
            Wj, Sj = W[:, J], weights.Wstar[:, J]
            QA[r] = Wj @ Wj.T / N
            RA[r] = Wj @ Sj.T / N
            TA[r] = Sj @ Sj.T / N
            frac[r] = J.sum() / N
        T = weights.Wstar @ weights.Wstar.T / N
        return cls(member=member, frac=frac, QA=QA, RA=RA, TA=TA, T=T, v=weights.v, vstar=weights.vstar)

    @classmethod
    def random_masks(cls, state: State, keep_fraction: float) -> MaskedState:
        """N -> inf state of ``state`` after independent Bernoulli(keep_fraction) masks on every weight.

        Region A has fraction p_A = c^|A| (1 - c)^(K - |A|) and QA = p_A Q[A, A],
        RA = p_A R[A, :], TA = p_A T (docs/theory/pruning.md: summed over A this gives
        Q'_ii = c Q_ii, Q'_ik = c^2 Q_ik, R' = c R).
        """
        c = float(keep_fraction)
        if not 0 < c <= 1:
            raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction!r}")
        K = state.K
        if K > MAX_RANDOM_MASK_UNITS:
            raise ValueError(f"random_masks enumerates 2^K regions; K must be <= {MAX_RANDOM_MASK_UNITS}, got {K}")
        patterns = [p for p in product((0, 1), repeat=K) if any(p)]
        if c == 1.0:
            patterns = [tuple([1] * K)]
        member = np.array(patterns, dtype=np.int64)
        size = member.sum(1)
        frac = c**size * (1 - c) ** (K - size)
        QA = frac[:, None, None] * state.Q[None] * member[:, :, None] * member[:, None, :]
        RA = frac[:, None, None] * state.R[None] * member[:, :, None]
        TA = frac[:, None, None] * state.T[None]
        return cls(member=member, frac=frac, QA=QA, RA=RA, TA=TA, T=state.T, v=state.v, vstar=state.vstar)


def integrate_masked(
    masked: MaskedState,
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
    """Integrate the masked-student equations (module docstring); the model, options and checks as
    :func:`statmech.integrate` (both run :func:`statmech.ode.integrator.solve`).

    Every field of the model applies: student and teacher activations, output
    scaling, weight decay (masked weights stay zero) and the batch size.
    The result holds the full overlaps Q = sum_A QA, R = sum_A RA at the saved
    times and eps_g from them; ``params["final_masked"]`` is the last MaskedState.
    """
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
    if not isinstance(masked, MaskedState):
        raise TypeError(f"masked must be a MaskedState, got {type(masked).__name__}")
    K, M, nreg = masked.K, masked.M, masked.member.shape[0]
    offR, off_v = nreg * K * K, nreg * K * K + nreg * K * M

    def overlaps(y):
        return y[:offR].reshape(nreg, K, K).sum(0), y[offR:off_v].reshape(nreg, K, M).sum(0), y[off_v:]

    system = System(
        kind=MASKED,
        y0=masked.pack(),
        K=K,
        M=M,
        T=masked.T,
        vstar=masked.vstar,
        overlaps=overlaps,
        aux=(masked.member, masked.frac, masked.TA),
    )
    res, y = solve(
        system,
        model,
        alpha_max=alpha_max,
        save_at=save_at,
        method=method,
        options=dict(dt=dt, rtol=rtol, atol=atol, first_step=first_step, max_steps=max_steps),
        max_abs=max_abs,
        progress=progress,
    )
    final = (
        MaskedState(
            member=masked.member,
            frac=masked.frac,
            QA=y[:offR].reshape(nreg, K, K),
            RA=y[offR:off_v].reshape(nreg, K, M),
            TA=masked.TA,
            T=masked.T,
            v=y[off_v:],
            vstar=masked.vstar,
        )
        if res.status != -1
        else None
    )
    res.params.update(regions=nreg, final_masked=final)
    return res
