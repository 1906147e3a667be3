"""Fixed points of the order-parameter ODEs and their linear stability.

docs/theory/fixed_points.md. A fixed point is a zero of the right-hand side F of
docs/theory/equations.md (``statmech.ode.rhs_into``, evaluated here and never
re-typed).

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
- **Special states**: the perfect student and real-weight perturbations of it
  or of any state (:func:`perturbed_perfect_student`, :func:`perturbed_state`).

The symmetric plateaus and the one a learning curve visits are in
:mod:`statmech.analysis.plateaus`, the fixed point near the perfect student and
Goldt et al.'s small-noise formula in :mod:`statmech.analysis.asymptotics`, the
critical learning rate in :mod:`statmech.analysis.critical`, and the search for
all of them at once in :mod:`statmech.analysis.search`.

**The PSD boundary.** The perfect student has a singular field covariance
[[T, T], [T, T]]: it sits on the boundary of the positive semi-definite cone.
The erf integrals are analytic across that boundary (all their square roots
and arcsines involve 1 + C_aa, not C itself), so the Jacobian there is well
defined, but only perturbations that keep the covariance PSD are physical.
:func:`perturbed_perfect_student` therefore perturbs real weight vectors
(W = W* + eps G with Gaussian G in N dimensions) and takes their order
parameters, which are PSD by construction. The eigenvalues of the Jacobian do
not depend on the choice of coordinates. For ReLU the integrals are not smooth
at the boundary: the Jacobian there is not supported.

**Small-learning-rate limit.** ``eta = 0`` (soft committee machine only)
means the limit eta -> 0 of F / eta: the O(eta) part of F, extracted exactly
from two evaluations, F_1 = (4 F(eta=1) - F(eta=2)) / 2, since F is a
polynomial eta A + eta^2 B in eta. Its fixed points are the eta -> 0 limits
of the fixed points, and its eigenvalues are rates per unit of eta * alpha.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import root

from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.integrals import activation_code
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.integrator import is_standard, model_parameters, pack, rhs_into
from statmech.ode.steppers import NO_AUX
from statmech.ode.terms import GENERAL, P_ETA, P_ETA_V, term

__all__ = [
    "fixed_point_model",
    "Flow",
    "Ansatz",
    "make_ansatz",
    "ANSATZE",
    "FixedPoint",
    "find_fixed_point",
    "analyse",
    "jacobian",
    "perfect_student",
    "perturbed_perfect_student",
    "perturbed_state",
    "scm_v",
    "teacher_arrays",
    "check_sizes",
    "teacher_is_symmetric",
    "same_point",
    "TOL",
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


def teacher_is_symmetric(T: np.ndarray, vstar: np.ndarray) -> bool:
    """Whether the teacher is invariant under permutations of its units: equal v*, equal diagonal and off-diagonal T."""
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
    if name != "full" and T is not None and not teacher_is_symmetric(np.asarray(T), np.asarray(vstar)):
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
def teacher_arrays(M: int, T: ArrayLike | None, vstar: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """(T, v*) as float64 arrays: T = I and v* = 1 when None, one v* broadcast to all M units."""
    T = np.eye(M) if T is None else np.asarray(T, dtype=np.float64)
    vstar = np.ones(M) if vstar is None else np.broadcast_to(np.asarray(vstar, dtype=np.float64), (M,)).copy()
    if T.shape != (M, M):
        raise ValueError(f"T must have shape ({M}, {M}) for M={M}, got {T.shape}")
    return T, vstar


def check_sizes(K: int, M: int) -> tuple[int, int]:
    """K and M as ints, or a ValueError naming the one that is not an integer >= 1."""
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
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
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
    K, M = check_sizes(K, M)
    T, vstar = teacher_arrays(M, T, vstar)
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


def same_point(a: FixedPoint, b: FixedPoint, atol: float = 1e-6) -> bool:
    """Equal up to a permutation of the student units (compare sorted per-unit signatures)."""

    def sig(fp):
        s = fp.state
        rows = np.column_stack([np.diag(s.Q), s.R, s.v, np.sort(s.Q, axis=1)])
        return rows[np.lexsort(rows.T[::-1])]

    return abs(a.eps_g - b.eps_g) < atol and np.allclose(sig(a), sig(b), atol=atol)
