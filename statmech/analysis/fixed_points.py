"""Fixed points of the order-parameter ODEs, their stability, and the critical learning rate.

docs/theory/fixed_points.md. A fixed point is a zero of the right-hand side F of
docs/theory/equations.md (``statmech.ode.rhs_into``, evaluated here and never
re-typed). Three parts:

- **Root finding** (:func:`find_fixed_point`) in a *coordinate ansatz*: every
  entry of the packed state ``y = [Q, R, v]`` is either an unknown (entries
  sharing a label are equal) or held fixed. ``"full"`` has one unknown per
  upper-triangle entry of Q (Q stays symmetric), per R entry and per v entry
  (v is held fixed for the soft committee machine, eta_v = 0). ``"plateau"``
  (unspecialised: Q_ii = q, Q_ik = c, R_in = r, v_i = v) and ``"specialised"``
  (K >= M: student unit i < M paired with teacher unit i: Q_ii = Q, Q_ik = C,
  R_ii = R, R_in = S, v_i = v; surplus units i >= M: Q_ll = D, Q_lk = E,
  Q_li = F, R_ln = U, v_l = vL) reduce the problem to a handful of unknowns.
  The reduced residual is the mean of F over each label; a root is accepted
  only when the *full* F is below ``tol`` (1e-10), which also proves that the
  ansatz is invariant under the flow.
- **Linear stability** (:func:`analyse`): the Jacobian of F in the full
  coordinates (Q symmetric: perturbing Q_ik perturbs Q_ki too, and only the
  upper triangle of dQ is kept), by Richardson-extrapolated central
  differences of the numba right-hand side (error O(h^4) + O(eps_mach / h));
  its eigenvalues give the stability and the escape rate (largest positive
  real part, per unit alpha) of a plateau.
- **Critical learning rate** (:func:`critical_learning_rate`): the largest eta
  for which the perfect student (R = T, Q = T, v = v*, sigma = 0) is linearly
  stable, by bisection on eta, and :func:`confirm_critical_learning_rate`
  integrates a perturbed perfect student just below and above it.

**The PSD boundary.** The perfect student has a singular field covariance
[[T, T], [T, T]]: it sits on the boundary of the positive semi-definite cone.
The erf integrals are analytic across that boundary (all their square roots
and arcsines involve 1 + C_aa, not C itself), so the Jacobian there is well
defined, but only perturbations that keep the covariance PSD are physical.
:func:`perturbed_perfect_student` therefore perturbs real weight vectors
(W = W* + eps G with Gaussian G in N dimensions) and takes their order
parameters, which are PSD by construction. The eigenvalues of the Jacobian do
not depend on the choice of coordinates, and the mode that turns unstable at
eta_c is reachable from such perturbations (checked by integration in the
tests). For ReLU the integrals are not smooth at the boundary: the Jacobian
there is not supported.

**What the analysis finds** (erf, T = I, v* = 1; README "Fixed points and
plateaus"): at eta > 0 the symmetric ansatz has two plateau solutions, with
identical students (q = c, on the PSD boundary) and with distinct students
(q > c); they merge as eta -> 0 into Saad & Solla's plateau
(:func:`saad_solla_plateau`). Learning curves from small overlaps visit the
distinct-students one (:func:`plateau_fixed_points` integrates a curve and
matches it; at K = M = 3, eta = 1 it has eps_g = 0.06608 against 0.09417 for
identical students). It is followed in eta from the small-eta limit by
continuation, since a start near Saad & Solla's point converges to it only
for small eta. With output noise and L >= 2 surplus units (soft committee)
the symmetric 'specialised' solution is unstable and no finite stable state
exists (pairs of surplus units turn anti-parallel with growing norms).
Goldt et al.'s small-noise asymptotic error is :func:`goldt_small_noise_error`.

**Small-learning-rate limit.** ``eta = 0`` (soft committee machine only)
means the limit eta -> 0 of F / eta: the O(eta) part of F, extracted exactly
from two evaluations, F_1 = (4 F(eta=1) - F(eta=2)) / 2, since F is a
polynomial eta A + eta^2 B in eta. Its fixed points are the eta -> 0 limits
of the fixed points, and its eigenvalues are rates per unit of eta * alpha.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import expm
from scipy.optimize import root

from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.integrals import activation_code
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.integrator import integrate, is_standard, model_parameters, pack, rhs_into
from statmech.ode.steppers import NO_AUX
from statmech.ode.terms import GENERAL, P_ETA, P_ETA_V, term

__all__ = [
    "fixed_point_model",
    "Flow",
    "Ansatz",
    "make_ansatz",
    "ANSATZE",
    "FixedPoint",
    "FixedPointSearch",
    "find_fixed_point",
    "find_fixed_points",
    "analyse",
    "jacobian",
    "perfect_student",
    "perturbed_perfect_student",
    "plateau_guess",
    "plateau_fixed_points",
    "visited_plateau",
    "small_overlap_state",
    "flattest_unspecialised_point",
    "PlateauVisit",
    "saad_solla_plateau",
    "critical_learning_rate",
    "CriticalLearningRate",
    "confirm_critical_learning_rate",
    "perturbed_state",
    "asymptotic_fixed_point",
    "goldt_small_noise_error",
]

ANSATZE = ("full", "plateau", "specialised")

# Default acceptance threshold for a fixed point: max |F| over all packed entries.
TOL = 1e-10


# ------------------------------------------------------------------- the flow
def fixed_point_model(
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    **fields: Any,
) -> Model:
    """The Model of the fixed-point functions: ``model`` or its fields (:func:`statmech.core.model.resolve_model`).

    Given as fields, ``eta`` is required and ``eta_v`` defaults to 0 (the soft
    committee machine, as everywhere in this module), not to eta.
    """
    if model is None:
        if eta is None:
            raise ValueError("eta is required (or give model=, a statmech.Model)")
        return resolve_model(
            eta=eta, eta_v=0.0 if eta_v is None else eta_v, sigma=sigma, activation=activation, **fields
        )
    return resolve_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation, **fields)


class Flow:
    """The right-hand side F(y) of docs/theory/equations.md and docs/theory/general_model.md for a fixed teacher.

    The learning problem is ``model`` (a :class:`~statmech.core.model.Model`) or its
    fields (:func:`fixed_point_model`). ``eta = 0`` means the small-learning-rate
    limit lim F / eta (soft committee machine without weight decay only, see the
    module docstring). Calls the compiled terms of ``statmech.ode`` (the fast one
    for the default model, the general one otherwise).
    """

    def __init__(
        self,
        K: int,
        M: int,
        T: ArrayLike,
        vstar: ArrayLike,
        model: Model | None = None,
        *,
        eta: float | None = None,
        eta_v: float | None = None,
        sigma: float | None = None,
        activation: str | None = None,
    ) -> None:
        m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
        if m.eta == 0 and m.eta_v != 0:
            raise ValueError(
                "eta=0 (the small-learning-rate limit) is supported only for the soft "
                f"committee machine (eta_v=0), got eta_v={m.eta_v}"
            )
        if m.eta == 0 and m.weight_decay != 0:
            raise ValueError(
                "eta=0 (the small-learning-rate limit of F / eta) needs weight_decay=0: the decay term "
                f"does not vanish with eta, got weight_decay={m.weight_decay}"
            )
        self.K, self.M = int(K), int(M)
        self.T = np.ascontiguousarray(T, dtype=np.float64)
        self.vstar = np.ascontiguousarray(vstar, dtype=np.float64)
        self.model = m
        self.eta, self.eta_v, self.sigma = m.eta, m.eta_v, m.sigma
        self.activation = m.activation
        self.act = activation_code(m.activation)
        self.act_t = activation_code(m.teacher_activation)
        self.standard = is_standard(m, self.K, self.M)
        self.par = model_parameters(m, self.K, self.M)
        self.train_v = m.trains_v
        self.n = self.K * self.K + self.K * self.M + self.K

    def _raw(self, y, eta, eta_v):
        dy = np.empty(self.n)
        if not self.standard:
            par = self.par.copy()
            par[P_ETA], par[P_ETA_V] = float(eta), float(eta_v)
            member, frac, TA = NO_AUX
            term(
                GENERAL,
                self.act,
                self.act_t,
                np.ascontiguousarray(y, dtype=np.float64),
                self.K,
                self.M,
                self.T,
                self.vstar,
                par,
                member,
                frac,
                TA,
                dy,
            )
            return dy
        rhs_into(
            self.act,
            np.ascontiguousarray(y, dtype=np.float64),
            self.K,
            self.M,
            self.T,
            self.vstar,
            float(eta),
            float(eta_v),
            self.sigma**2,
            dy,
        )
        return dy

    def __call__(self, y: ArrayLike) -> np.ndarray:
        if self.eta > 0:
            return self._raw(y, self.eta, self.eta_v)
        # O(eta) part of F = eta A + eta^2 B, exact up to rounding
        return 0.5 * (4.0 * self._raw(y, 1.0, 0.0) - self._raw(y, 2.0, 0.0))

    def params(self) -> dict:
        p = dict(K=self.K, M=self.M, eta=self.eta, eta_v=self.eta_v, sigma=self.sigma, activation=self.activation)
        m = self.model
        if not self.standard:
            p.update(
                teacher_activation=m.teacher_activation,
                weight_decay=m.weight_decay,
                batch_size=m.batch_size,
                output_scale=m.output_scale,
            )
        return p


# ----------------------------------------------------------------- ansatz
@dataclass(frozen=True)
class Ansatz:
    """Which packed entries y = [Q.ravel(), R.ravel(), v] are unknowns and which are equal.

    ``index[j]`` is the unknown that entry j equals, or -1 when entry j is held
    at its value in the base vector. ``names`` are the unknowns' names.
    """

    name: str
    K: int
    M: int
    index: np.ndarray
    names: tuple

    @property
    def size(self) -> int:
        return len(self.names)

    def expand(self, x: ArrayLike, base: ArrayLike) -> np.ndarray:
        """The packed vector with the unknowns set to x and the other entries from ``base``."""
        y = np.array(base, dtype=np.float64, copy=True)
        mask = self.index >= 0
        y[mask] = np.asarray(x, dtype=np.float64)[self.index[mask]]
        return y

    def project(self, y: ArrayLike) -> np.ndarray:
        """Mean of y over the entries of each unknown (the reduced coordinates / residual)."""
        mask = self.index >= 0
        counts = np.bincount(self.index[mask], minlength=self.size)
        sums = np.bincount(self.index[mask], weights=np.asarray(y)[mask], minlength=self.size)
        return sums / counts


def _ansatz_from_labels(name, K, M, label):
    """Build an Ansatz from ``label(part, i, j) -> str | None`` (None: held fixed)."""
    names, idx = [], []
    lookup = {}

    def add(lab):
        if lab is None:
            idx.append(-1)
            return
        if lab not in lookup:
            lookup[lab] = len(names)
            names.append(lab)
        idx.append(lookup[lab])

    for i in range(K):
        for k in range(K):
            add(label("Q", i, k))
    for i in range(K):
        for n in range(M):
            add(label("R", i, n))
    for i in range(K):
        add(label("v", i, None))
    return Ansatz(name=name, K=K, M=M, index=np.array(idx, dtype=np.int64), names=tuple(names))


def _teacher_is_symmetric(T, vstar) -> bool:
    M = len(vstar)
    off = T[~np.eye(M, dtype=bool)]
    scale = max(1.0, float(np.max(np.abs(T))))
    return (
        np.ptp(np.diag(T)) <= 1e-12 * scale
        and (off.size == 0 or np.ptp(off) <= 1e-12 * scale)
        and np.ptp(vstar) <= 1e-12 * max(1.0, float(np.max(np.abs(vstar))))
    )


def make_ansatz(
    name: str, K: int, M: int, train_v: bool, T: ArrayLike | None = None, vstar: ArrayLike | None = None
) -> Ansatz:
    """The named ansatz ("full", "plateau", "specialised") for K student and M teacher units.

    The symmetric ansaetze need a permutation-symmetric teacher (all T_nn equal,
    all T_nm equal, all v*_n equal; pass T and vstar to have it checked), and
    "specialised" needs K >= M. Otherwise a ValueError says what does not fit.
    """
    if name not in ANSATZE:
        raise ValueError(f"ansatz must be one of {ANSATZE}, got {name!r}")
    if name != "full" and T is not None and not _teacher_is_symmetric(np.asarray(T), np.asarray(vstar)):
        raise ValueError(
            f"ansatz {name!r} assumes a permutation-symmetric teacher (all T_nn equal, all T_nm equal, "
            f"all vstar equal); got diag(T)={np.round(np.diag(T), 6).tolist()}, "
            f"vstar={np.round(np.asarray(vstar), 6).tolist()}; use ansatz='full'"
        )
    if name == "full":

        def label(part, i, j):
            if part == "Q":
                a, b = min(i, j), max(i, j)
                return f"Q[{a},{b}]"
            if part == "R":
                return f"R[{i},{j}]"
            return f"v[{i}]" if train_v else None
    elif name == "plateau":

        def label(part, i, j):
            if part == "Q":
                return "q" if i == j else "c"
            if part == "R":
                return "r"
            return "v" if train_v else None
    else:
        if K < M:
            raise ValueError(
                f"ansatz 'specialised' pairs student unit i with teacher unit i and needs K >= M, got K={K}, "
                f"M={M}; use ansatz='plateau' or 'full'"
            )

        def label(part, i, j):
            si = i >= M
            if part == "Q":
                sj = j >= M
                if not si and not sj:
                    return "Q" if i == j else "C"
                if si and sj:
                    return "D" if i == j else "E"
                return "F"
            if part == "R":
                if si:
                    return "U"
                return "R" if i == j else "S"
            if not train_v:
                return None
            return "vL" if si else "v"

    return _ansatz_from_labels(name, K, M, label)


# ----------------------------------------------------------------- Jacobian
def _reduced(flow, ansatz, base):
    def g(x):
        return ansatz.project(flow(ansatz.expand(x, base)))

    return g


def _fd_jacobian(g, x, h=1e-3):
    """Central differences with one Richardson step: J = (4 D(h/2) - D(h)) / 3.

    Error O(h^4 |g^(5)|) + O(eps_mach |g| / h): about 1e-12 for h = 1e-3 and
    order-one derivatives.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    g0 = g(x)
    J = np.empty((g0.size, n))
    for j in range(n):
        step = h * max(1.0, abs(x[j]))

        def D(s):
            xp = x.copy()
            xp[j] += s
            xm = x.copy()
            xm[j] -= s
            return (g(xp) - g(xm)) / (2 * s)

        J[:, j] = (4.0 * D(step / 2) - D(step)) / 3.0
    return J


def jacobian(
    state: State,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    h: float = 1e-3,
) -> tuple[np.ndarray, tuple]:
    """Jacobian dF/dx of the flow at ``state`` in the full coordinates x (see :func:`make_ansatz`).

    ``model`` or its fields (:func:`fixed_point_model`). Returns (J, names): x holds
    the upper triangle of Q, then R, then v when eta_v > 0 (v is not a coordinate
    of the soft committee machine).
    """
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    activation = m.activation
    flow = Flow(state.K, state.M, state.T, state.vstar, m)
    A = make_ansatz("full", state.K, state.M, flow.train_v)
    base = pack(state)
    J = _fd_jacobian(_reduced(flow, A, base), A.project(base), h=h)
    if not np.all(np.isfinite(J)):
        raise ValueError(
            f"the Jacobian at this state is not finite (activation={activation!r}); the "
            "right-hand side is not smooth there (ReLU at the PSD boundary?)"
        )
    return J, A.names


# ----------------------------------------------------------------- results
@dataclass
class FixedPoint:
    """A zero of the right-hand side with its linear stability (rates per unit alpha).

    ``eigenvalues`` are sorted by decreasing real part; ``eigenvectors[:, i]``
    belongs to ``eigenvalues[i]`` in the full coordinates ``coordinates``.
    ``residual`` is max |F| over every entry of the packed state. With
    ``eta = 0`` (small-eta limit) rates are per unit eta * alpha.
    """

    state: State
    kind: str
    ansatz: str
    unknowns: dict
    residual: float
    eps_g: float
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    coordinates: tuple
    params: dict = field(default_factory=dict)
    visited: bool = False

    @property
    def max_real(self) -> float:
        return float(self.eigenvalues.real[0])

    @property
    def stability(self) -> str:
        """'stable' (every Re lambda < 0), 'unstable' (some > 0) or 'marginal' (largest within rounding of 0)."""
        scale = float(np.max(np.abs(self.eigenvalues))) if self.eigenvalues.size else 0.0
        tol = 1e-9 + 1e-7 * scale  # Jacobian error about 1e-12 (see _fd_jacobian); generous margin
        if self.max_real > tol:
            return "unstable"
        if self.max_real < -tol:
            return "stable"
        return "marginal"

    @property
    def stable(self) -> bool:
        return self.stability == "stable"

    @property
    def escape_rate(self) -> float:
        """Largest positive real part of the eigenvalues (0 when none), the rate of leaving a plateau."""
        return max(0.0, self.max_real) if self.stability == "unstable" else 0.0

    def direction(self, i: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Eigenvector ``i`` as (dQ, dR, dv) arrays (real part, unit norm in the coordinates)."""
        vec = np.real(self.eigenvectors[:, i])
        if np.linalg.norm(vec) < 1e-12:
            vec = np.imag(self.eigenvectors[:, i])
        vec = vec / np.linalg.norm(vec)
        K, M = self.state.K, self.state.M
        A = make_ansatz("full", K, M, train_v=len(self.coordinates) > K * (K + 1) // 2 + K * M)
        y = A.expand(vec, np.zeros(K * K + K * M + K))
        return y[: K * K].reshape(K, K), y[K * K : K * K + K * M].reshape(K, M), y[K * K + K * M :]

    def to_dict(self) -> dict:
        return dict(
            kind=self.kind,
            ansatz=self.ansatz,
            stability=self.stability,
            visited=self.visited,
            eps_g=self.eps_g,
            residual=self.residual,
            escape_rate=self.escape_rate,
            unknowns=self.unknowns,
            eigenvalues_real=self.eigenvalues.real.tolist(),
            eigenvalues_imag=self.eigenvalues.imag.tolist(),
            Q=self.state.Q.tolist(),
            R=self.state.R.tolist(),
            v=self.state.v.tolist(),
            **self.params,
        )

    def summary(self, n_eig: int = 6) -> str:
        ev = ", ".join(_fmt_complex(z) for z in self.eigenvalues[:n_eig])
        more = f", ... ({len(self.eigenvalues)} in all)" if len(self.eigenvalues) > n_eig else ""
        unk = ", ".join(f"{k}={v:.6g}" for k, v in list(self.unknowns.items())[:10])
        return (
            f"{self.kind} [{self.ansatz}]: eps_g={self.eps_g:.6g}  {self.stability}"
            f"{f'  escape rate={self.escape_rate:.4g}' if self.escape_rate > 0 else ''}"
            f"{'  VISITED by the learning curve from small overlaps' if self.visited else ''}"
            f"  residual={self.residual:.1e}\n  {unk}\n  eigenvalues (largest real part first): {ev}{more}"
        )

    def __repr__(self) -> str:
        return (
            f"FixedPoint(kind={self.kind!r}, eps_g={self.eps_g:.6g}, stability={self.stability!r}, "
            f"max_real={self.max_real:.4g})"
        )


def _fmt_complex(z):
    if abs(z.imag) < 1e-12 * max(1.0, abs(z.real)):
        return f"{z.real:.5g}"
    return f"{z.real:.5g}{z.imag:+.5g}j"


def analyse(
    state: State,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    kind: str = "fixed point",
    ansatz: str = "full",
    unknowns: dict | None = None,
) -> FixedPoint:
    """Residual, eps_g, Jacobian and eigen-decomposition of the flow at ``state`` (a FixedPoint record).

    eps_g is the noise-free error of the model's activations and output scaling.
    """
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    flow = Flow(state.K, state.M, state.T, state.vstar, m)
    residual = float(np.max(np.abs(flow(pack(state)))))
    J, names = jacobian(state, m)
    lam, vec = np.linalg.eig(J)
    order = np.lexsort((-lam.imag, -lam.real))
    return FixedPoint(
        state=state,
        kind=kind,
        ansatz=ansatz,
        unknowns=dict(unknowns or {}),
        residual=residual,
        eps_g=eps_g_arrays(state.Q, state.R, state.T, state.v, state.vstar, m),
        jacobian=J,
        eigenvalues=lam[order],
        eigenvectors=vec[:, order],
        coordinates=names,
        params=flow.params(),
    )


# ------------------------------------------------------------- root finding
def find_fixed_point(
    guess: State,
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    ansatz: str = "full",
    tol: float = TOL,
    methods: Sequence[str] = ("hybr", "lm"),
    kind: str | None = None,
    max_newton: int = 30,
) -> FixedPoint:
    """A fixed point of the flow near ``guess``, found in the given ansatz, with its stability.

    ``model`` or its fields (:func:`fixed_point_model`: eta_v defaults to 0).
    ``guess`` supplies T, vstar (and v, held fixed when eta_v = 0) and the
    starting values (averaged over each label of the ansatz). Each method of
    ``scipy.optimize.root`` in ``methods`` is tried, followed by Newton steps
    with the Richardson Jacobian, until max |F| < ``tol`` over *all* entries.
    Raises ValueError listing what was tried when none converges, when the
    root is not a zero of the full F (ansatz not invariant), or when it lies
    outside the PSD cone (no real weights have these overlaps).
    """

    if not isinstance(guess, State):
        raise TypeError(f"guess must be a statmech.State, got {type(guess).__name__}")
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    eta, eta_v, sigma = m.eta, m.eta_v, m.sigma
    flow = Flow(guess.K, guess.M, guess.T, guess.vstar, m)
    A = make_ansatz(ansatz, guess.K, guess.M, flow.train_v, guess.T, guess.vstar)
    base = pack(guess)
    g0 = _reduced(flow, A, base)

    def g(x):
        r = g0(x)
        # keep the solvers away from states where the integrals are undefined
        return r if np.all(np.isfinite(r)) else np.full_like(x, 1e6)

    def full_residual(x):
        r = flow(A.expand(x, base))
        return float(np.max(np.abs(r))) if np.all(np.isfinite(r)) else math.inf

    x0 = A.project(base)
    tried = []
    found = None
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                sol = root(g, x0, method=method, tol=1e-14)
                x, msg = sol.x, str(sol.message).strip().replace("\n", " ")
            except Exception as exc:  # pragma: no cover - scipy internals
                x, msg = x0, f"{type(exc).__name__}: {exc}"
            for _ in range(max_newton):  # polish with Newton steps on the accurate Jacobian
                r = g(x)
                if np.max(np.abs(r)) < 0.01 * tol or not np.all(np.isfinite(x)):
                    break
                Jr = _fd_jacobian(g0, x)
                if not np.all(np.isfinite(Jr)):
                    break
                step = np.linalg.lstsq(Jr, -r, rcond=None)[0]
                x = x + step
                if np.max(np.abs(step)) < 1e-15 * max(1.0, np.max(np.abs(x))):
                    break
        red = float(np.max(np.abs(g(x))))
        res = full_residual(x)
        tried.append(f"{method} (reduced residual {red:.2g}, full residual {res:.2g}; {msg})")
        if res < tol:
            found = x
            break
        if red < tol and res >= tol:
            raise ValueError(
                f"ansatz {ansatz!r} is not invariant for K={guess.K}, M={guess.M}: its reduced equations are "
                f"solved (residual {red:.2g}) but the full right-hand side is {res:.2g}; use ansatz='full'"
            )
    if found is None:
        raise ValueError(
            f"no fixed point found with ansatz {ansatz!r} (unknowns {list(A.names)}) from the guess "
            f"{dict(zip(A.names, np.round(x0, 6).tolist()))} at eta={eta}, eta_v={eta_v}, sigma={sigma}; "
            f"tried: {'; '.join(tried)}. Try another guess, another ansatz, or a smaller eta"
        )
    y = A.expand(found, base)
    K, M = guess.K, guess.M
    Q = y[: K * K].reshape(K, K)
    Q = 0.5 * (Q + Q.T)
    R = y[K * K : K * K + K * M].reshape(K, M)
    Qp = _clip_to_psd(Q, R, guess.T)
    if Qp is not None:
        # A root on the PSD boundary (identical students, q = c) that the solver left by a rounding-size
        # step: move onto the cone and polish there with Newton steps (clipping after each step).
        yb = y.copy()
        for _ in range(max_newton):
            yb[: K * K] = Qp.ravel()
            xb = A.project(yb)
            rb = g0(xb)
            if np.max(np.abs(rb)) < 0.01 * tol:
                break
            xb = xb + np.linalg.lstsq(_fd_jacobian(g0, xb), -rb, rcond=None)[0]
            yb = A.expand(xb, base)
            Qb = 0.5 * (yb[: K * K].reshape(K, K) + yb[: K * K].reshape(K, K).T)
            Qp = _clip_to_psd(Qb, yb[K * K : K * K + K * M].reshape(K, M), guess.T)
            if Qp is None:
                Qp = Qb
        yb[: K * K] = Qp.ravel()
        if float(np.max(np.abs(flow(yb)))) < tol:
            y, found = yb, A.project(yb)
            Q = Qp
            R = y[K * K : K * K + K * M].reshape(K, M)
    try:
        state = State(Q=Q, R=R, T=guess.T, v=y[K * K + K * M :], vstar=guess.vstar)
    except ValueError as exc:
        raise ValueError(
            f"the root found with ansatz {ansatz!r} ({dict(zip(A.names, found.tolist()))}) is not a valid state: {exc}"
        ) from None
    return analyse(
        state,
        m,
        kind=kind or ansatz,
        ansatz=ansatz,
        unknowns=dict(zip(A.names, found.tolist())),
    )


def _clip_to_psd(Q, R, T, max_violation=1e-6):
    """Q moved onto the PSD cone with R, T kept: Q = R T^-1 R^T + S_+ (S = Schur complement, clipped at 0).

    Returns None when the covariance is already PSD or violates it by more than
    ``max_violation`` (relative), i.e. when this is not a rounding repair.
    """
    try:
        P = R @ np.linalg.solve(T, R.T)
    except np.linalg.LinAlgError:
        return None
    S = 0.5 * ((Q - P) + (Q - P).T)
    lam, U = np.linalg.eigh(S)
    scale = max(1.0, float(np.max(np.abs(Q))))
    if lam[0] >= 0 or lam[0] < -max_violation * scale:
        return None
    Qp = P + (U * np.clip(lam, 0.0, None)) @ U.T
    return 0.5 * (Qp + Qp.T)


# ------------------------------------------------------------ special states
def _teacher(M: int, T: ArrayLike | None, vstar: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    T = np.eye(M) if T is None else np.asarray(T, dtype=np.float64)
    vstar = np.ones(M) if vstar is None else np.broadcast_to(np.asarray(vstar, dtype=np.float64), (M,)).copy()
    if T.shape != (M, M):
        raise ValueError(f"T must have shape ({M}, {M}) for M={M}, got {T.shape}")
    return T, vstar


def _check_KM(K, M):
    for name, x in (("K", K), ("M", M)):
        if isinstance(x, bool) or int(x) != x or x < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {x!r}")
    return int(K), int(M)


def scm_v(K: int, M: int, vstar: np.ndarray) -> np.ndarray:
    """v of the soft committee machine: v_i = vstar_i for matched units, mean(vstar) for surplus ones."""
    return np.concatenate([vstar[: min(K, M)], np.full(max(0, K - M), float(np.mean(vstar)))])


def perfect_student(
    K: int, M: int, *, T: ArrayLike | None = None, vstar: ArrayLike | None = None, train_v: bool = False
) -> State:
    """Student unit i = teacher unit i (i < M); surplus units have zero weights.

    R = [T; 0], Q = [[T, 0], [0, 0]], v = v* on matched units; surplus units get
    v = 0 when v is trained and v = mean(v*) in the soft committee machine
    (irrelevant there: g(0) = 0 for erf). Requires K >= M.
    """
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
    if K < M:
        raise ValueError(f"the perfect student needs K >= M student units, got K={K}, M={M}")
    R = np.zeros((K, M))
    R[:M] = T
    Q = np.zeros((K, K))
    Q[:M, :M] = T
    v = np.concatenate([vstar, np.zeros(K - M)]) if train_v else scm_v(K, M, vstar)
    return State(Q=Q, R=R, T=T, v=v, vstar=vstar)


def perturbed_perfect_student(
    K: int,
    M: int,
    *,
    eps: float,
    N: int = 200,
    T: ArrayLike | None = None,
    vstar: ArrayLike | None = None,
    train_v: bool = False,
    seed: int = 0,
) -> State:
    """Order parameters of real weights W = W* + eps G near the perfect student (PSD by construction).

    W* = sqrt(N) [L, 0] with T = L L^T (Cholesky), surplus rows of W start at
    0 + eps G; G is i.i.d. N(0, 1) in N dimensions, so dR is O(eps / sqrt N)
    and the out-of-span part of Q is O(eps^2). When v is trained it becomes
    v + eps^2 g with g i.i.d. N(0, 1), of the order of the out-of-span part of
    Q (the mode that turns unstable at eta_c has a large component there, so
    its amplitude is O(eps^2) and cross terms of larger offsets would be of
    the same order). Generator: default_rng(seed).
    """
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
    if not N >= K + M:
        raise ValueError(f"N must be >= K + M = {K + M} so that the perturbation spans all directions, got {N}")
    rng = np.random.default_rng(seed)
    L = np.linalg.cholesky(T + 1e-300 * np.eye(M))
    Wstar = np.zeros((M, N))
    Wstar[:, :M] = math.sqrt(N) * L
    W = np.zeros((K, N))
    W[:M] = Wstar
    W = W + eps * rng.standard_normal((K, N))
    base = perfect_student(K, M, T=T, vstar=vstar, train_v=train_v)
    v = base.v + (eps**2 * rng.standard_normal(K) if train_v else 0.0)
    s = State.from_weights(W, Wstar, v, vstar)
    return s.replace(T=T)  # exact T (rounding of W* W*^T / N removed)


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
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
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
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
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
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
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
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
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
        if not any(_same_point(p, other) for other in found):
            found.append(p)
            return p
        return next(other for other in found if _same_point(p, other))

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


# ------------------------------------------------------- fixed-point search
@dataclass
class FixedPointSearch:
    """Fixed points found by :func:`find_fixed_points`, and why the others were not."""

    points: list
    failed: dict

    def __iter__(self) -> Iterator[FixedPoint]:
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)


def find_fixed_points(
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
    starts: int = 0,
    seed: int = 0,
    tol: float = TOL,
) -> FixedPointSearch:
    """The plateau, the asymptotic (specialised) fixed point, and optionally a multi-start search.

    - the plateaus: symmetric ansatz, :func:`plateau_fixed_points`;
    - "asymptotic": ansatz 'specialised' from the perfect student (K >= M); at
      sigma = 0 this is the perfect student itself;
    - ``starts`` > 0 adds full-ansatz solves from random overlaps (W = B W* +
      s G: R = B T, Q = B T B^T + s^2 I, B and s from default_rng(seed)),
      keeping roots that differ from those already found (up to a
      permutation of the student units).
    """
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    train_v = m.trains_v
    points, failed = [], {}
    symmetric = _teacher_is_symmetric(T, vstar)

    if symmetric:
        try:
            points.extend(plateau_fixed_points(K, M, m, T=T, vstar=vstar, tol=tol))
        except ValueError as exc:
            failed["plateau"] = str(exc)
    else:
        failed["plateau"] = "the plateau ansatz needs a permutation-symmetric teacher"
    if K >= M:
        try:
            points.append(asymptotic_fixed_point(K, M, m, T=T, vstar=vstar, tol=tol))
        except ValueError as exc:
            failed["asymptotic"] = str(exc)
    else:
        failed["asymptotic"] = f"no specialised state with fewer student than teacher units (K={K} < M={M})"
    rng = np.random.default_rng(seed)
    for s in range(int(starts)):
        B = rng.uniform(0, 1, (K, M)) * rng.choice([0.3, 1.0], size=(K, 1))
        sig = rng.uniform(0.05, 0.5)
        # W = B W* + sig G (G orthogonal to the teacher span): R = B T, Q = B T B^T + sig^2 I
        R = B @ T
        Q = B @ T @ B.T + sig**2 * np.eye(K)
        v = np.full(K, np.sum(vstar) / K) if train_v else scm_v(K, M, vstar)
        try:
            fp = find_fixed_point(
                State(Q=Q, R=R, T=T, v=v, vstar=vstar),
                m,
                ansatz="full",
                tol=tol,
                kind=f"multi-start root {s}",
            )
        except ValueError as exc:
            failed[f"start {s}"] = str(exc)
            continue
        if not any(_same_point(fp, p) for p in points):
            points.append(fp)
    return FixedPointSearch(points=points, failed=failed)


def _same_point(a: FixedPoint, b: FixedPoint, atol=1e-6) -> bool:
    """Equal up to a permutation of the student units (compare sorted per-unit signatures)."""

    def sig(fp):
        s = fp.state
        rows = np.column_stack([np.diag(s.Q), s.R, s.v, np.sort(s.Q, axis=1)])
        return rows[np.lexsort(rows.T[::-1])]

    return abs(a.eps_g - b.eps_g) < atol and np.allclose(sig(a), sig(b), atol=atol)


def asymptotic_fixed_point(
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
) -> FixedPoint:
    """The fixed point near the perfect student: exactly it at sigma = 0, shifted by the noise at sigma > 0.

    ``model`` or its fields (:func:`fixed_point_model`). Weight decay, a teacher
    activation other than the student's, or output scaling with K != M move the
    fixed point off the perfect student too (kind "asymptotic"); the kind is
    "perfect student" when the perfect student itself is a zero of F.

    Searched in the 'specialised' ansatz (full ansatz if the teacher is not
    symmetric) from the perfect student; surplus units (K > M) start at
    Q_ll = eta sigma^2 / 2 (the balance of the O(eta) decay -2 eta (2/pi) Q_ll
    and the noise injection eta^2 sigma^2 (2/pi) of a near-zero erf unit).
    """
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
    m = fixed_point_model(model, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
    eta, sigma = m.eta, m.sigma
    train_v = m.trains_v
    g = perfect_student(K, M, T=T, vstar=vstar, train_v=train_v)
    perfect = float(np.max(np.abs(Flow(K, M, T, vstar, m)(pack(g))))) < tol
    if K > M:
        Q = g.Q.copy()
        Q[M:, M:] += np.eye(K - M) * max(eta * sigma**2 / 2, 1e-3)
        g = g.replace(Q=Q)
    ans = "specialised" if _teacher_is_symmetric(T, vstar) else "full"
    return find_fixed_point(
        g, m, ansatz=ans, tol=tol, kind="perfect student" if perfect and sigma == 0 else "asymptotic"
    )


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
        symmetric = _teacher_is_symmetric(T, vstar) and K >= M
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
    K, M = _check_KM(K, M)
    T, vstar = _teacher(M, T, vstar)
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
    # stability margin: Jacobian error is about 1e-12 (see _fd_jacobian)
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


def perturbed_state(state: State, *, eps: float, N: int = 200, train_v: bool = False, seed: int = 0) -> State:
    """Order parameters of real weights W = W0 + eps G around any state (PSD by construction).

    W0 and W* are sqrt(N) times rows of a factor L of the covariance
    C = [[Q, R], [R^T, T]] = L L^T (eigen-decomposition, rounding-size negative
    eigenvalues clipped); G is i.i.d. N(0, 1) in N dimensions; v gets eps^2 g
    when v is trained. Generator: default_rng(seed).
    """
    K, M = state.K, state.M
    if not N >= K + M:
        raise ValueError(f"N must be >= K + M = {K + M} so that the perturbation spans all directions, got {N}")
    C = np.block([[state.Q, state.R], [state.R.T, state.T]])
    lam, U = np.linalg.eigh(0.5 * (C + C.T))
    L = U * np.sqrt(np.clip(lam, 0.0, None))
    X = np.zeros((K + M, N))
    X[:, : K + M] = math.sqrt(N) * L
    rng = np.random.default_rng(seed)
    W = X[:K] + eps * rng.standard_normal((K, N))
    v = state.v + (eps**2 * rng.standard_normal(K) if train_v else 0.0)
    return State.from_weights(W, X[K:], v, state.vstar).replace(T=state.T)


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


# eps_g* / sigma^2 = P(eta, L, M) / D(eta, L, M) with L = K - M (P has the factor eta), as (power of eta, of L, of M, coefficient);
# the exact coefficients (integers, sqrt 2, 3, 5, 6, 10, 15, 30 and powers of pi) evaluated to float64 and
# divided by D's coefficient of eta^7 L^3.
_GOLDT_NUM = (
    (7, 3, 0, -0.5),
    (6, 3, 0, -2.4206196590016114),
    (6, 2, 1, -16.908214073035555),
    (6, 2, 0, 5.356881588217933),
    (5, 3, 0, 4186.663984396302),
    (5, 2, 1, 4176.852976410029),
    (5, 2, 0, 370.23542045442247),
    (5, 1, 2, 888.9073939330624),
    (5, 1, 1, 219.3470679328561),
    (5, 1, 0, -11.894337643151204),
    (4, 3, 0, -177648.35541479185),
    (4, 2, 1, -208757.61294468565),
    (4, 2, 0, -19905.253560078),
    (4, 1, 2, -72734.57306546337),
    (4, 1, 1, -3855.7168226087115),
    (4, 1, 0, -1139.238318558496),
    (4, 0, 3, -6759.125179722883),
    (4, 0, 2, 1824.258969299895),
    (4, 0, 1, -72.74467301399129),
    (3, 3, 0, 2541772.3175900294),
    (3, 2, 1, 3577505.101828938),
    (3, 2, 0, 556931.5518210604),
    (3, 1, 2, 1616297.8804607089),
    (3, 1, 1, 262293.7106767441),
    (3, 1, 0, 21213.481065903066),
    (3, 0, 3, 229832.62635808007),
    (3, 0, 2, 9550.66615374286),
    (3, 0, 1, -7356.807839845061),
    (2, 3, 0, -11279377.902378764),
    (2, 2, 1, -18663992.68764917),
    (2, 2, 0, -8857676.157079253),
    (2, 1, 2, -10271944.502356151),
    (2, 1, 1, -7453343.604075073),
    (2, 1, 0, 3666.918694709673),
    (2, 0, 3, -1879896.3170631274),
    (2, 0, 2, -1449987.522872333),
    (2, 0, 1, 101473.40221871887),
    (1, 2, 0, 35435210.75517618),
    (1, 1, 1, 38176133.84588017),
    (1, 1, 0, 2740923.090703999),
    (1, 0, 2, 10229264.234146044),
    (1, 0, 1, 1582472.684246015),
)
_GOLDT_DEN = (
    (7, 3, 0, 1.0),
    (6, 3, 0, 4.841239318003223),
    (6, 2, 1, 33.81642814607111),
    (6, 2, 0, -13.85535583002566),
    (5, 3, 0, -8373.327968792604),
    (5, 2, 1, -8353.705952820059),
    (5, 2, 0, -755.6800427845538),
    (5, 1, 2, -1777.8147878661248),
    (5, 1, 1, -609.6927957819611),
    (5, 1, 0, 57.44695497369417),
    (4, 3, 0, 355296.7108295837),
    (4, 2, 1, 417515.2258893713),
    (4, 2, 0, 66116.0927530128),
    (4, 1, 2, 145469.14613092673),
    (4, 1, 1, 30228.205330203167),
    (4, 1, 0, 4604.734391113676),
    (4, 0, 3, 13518.250359445767),
    (4, 0, 2, -1588.3376637638967),
    (4, 0, 1, 1581.6516401156457),
    (4, 0, 0, -74.7343275180807),
    (3, 3, 0, -5083544.635180059),
    (3, 2, 1, -7155010.203657876),
    (3, 2, 0, -2230060.640228958),
    (3, 1, 2, -3232595.7609214177),
    (3, 1, 1, -1505531.034086338),
    (3, 1, 0, -167495.35883617238),
    (3, 0, 3, -459665.25271616015),
    (3, 0, 2, -197748.96644857497),
    (3, 0, 1, -12516.934759210873),
    (3, 0, 0, -7158.04546454272),
    (2, 3, 0, 22558755.804757528),
    (2, 2, 1, 37327985.37529834),
    (2, 2, 0, 33685778.79423598),
    (2, 1, 2, 20543889.004712302),
    (2, 1, 1, 30733281.69817453),
    (2, 1, 0, 3491970.306117394),
    (2, 0, 3, 3759792.634126255),
    (2, 0, 2, 6685695.187755389),
    (2, 0, 1, 609055.1254775274),
    (2, 0, 0, 133288.23254741452),
    (1, 2, 0, -141740843.02070472),
    (1, 1, 1, -152704535.3835207),
    (1, 1, 0, -61136266.8673233),
    (1, 0, 2, -40917056.936584175),
    (1, 0, 1, -25934331.807829715),
    (1, 0, 0, 23039.929665221967),
    (0, 1, 0, 222645995.573735),
    (0, 0, 1, 111322997.7868675),
    (0, 0, 0, 17221727.69162063),
)


def goldt_small_noise_error(K: int, M: int, eta: float, sigma: float) -> float:
    """Asymptotic eps_g of the erf soft committee machine to leading order in sigma^2, exact in eta.

    Goldt, Advani, Saxe, Krzakala, Zdeborova, NeurIPS 2019 ("Dynamics of
    stochastic gradient descent for two-layer neural networks in the
    teacher-student setup"), companion notebook "Overparameterised ODES
    Erf.nb" (github sgoldt/pyscm): eps_g* = sigma^2 P(eta, L, M) /
    D(eta, L, M), L = K - M >= 0 surplus units, T = I, v = vstar = 1. To first
    order in eta it is eta sigma^2 (L + M / sqrt 3) / (2 pi).
    """
    K, M = _check_KM(K, M)
    if K < M:
        raise ValueError(f"the formula needs K >= M (L = K - M >= 0 surplus units), got K={K}, M={M}")
    for name, x in (("eta", eta), ("sigma", sigma)):
        if not (np.isfinite(x) and x >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    L = K - M
    num = sum(c * eta**a * L**b * M**m for a, b, m, c in _GOLDT_NUM)
    den = sum(c * eta**a * L**b * M**m for a, b, m, c in _GOLDT_DEN)
    return float(sigma**2 * num / den)
