"""Claims as margins: functions of (state, model, budget) that are >= 0 where the claim holds.

A :class:`Claim` wraps ``margin(state, model, keep) -> float``; a margin below
``-tolerance`` is a counterexample (the tolerance absorbs rounding and the
edge quadrature, whose requested absolute error is 1e-12 per overlap). All
errors are noise-free eps_g of the N -> infinity theory (a test loss on noisy
labels adds sigma^2/2 to every scheme alike, so margins are the same).

Built in (``CLAIMS``, ``get_claim``):

- ``C1``, ``C2``, ``C3``, ``C3x``: the paper's claims (Acharyya et al. 2020;
  ``statmech.pruning.CLAIMS``) at node budget k, edges matched to
  c = e/N, e = round((kN + k - K)/K) when the model has N, else c = k/K;
- ``monotone:SCHEME``: the pruned error does not increase from budget k to k + 1;
- ``reweight:SCHEME:REWEIGHT``: reweighting is never worse than none;
- ``random-node-all-kept``: random node pruning at k = K is the unpruned
  network (true by construction: a control of the search);
- ``goldt``: Goldt et al. 2019's small-noise asymptotic error of the soft
  committee machine, eps_g = eta sigma^2 (L + M / sqrt 3) / (2 pi), L = K - M,
  as an approximate bound: |eps_g - formula| <= rtol * formula.

Every pruned error goes through :func:`pruned_eps_g`, the one place that
calls the pruning theory; node schemes without reweighting take a vectorised
path there (random node in closed form, DPP and importance node as exact
sums over kept sets), checked against ``statmech.pruning.pruned_error`` in
the tests.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from math import comb

import numpy as np

from statmech import pruning
from statmech.analysis.asymptotics import goldt_small_noise_error
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.vocabulary import (
    ABS_V,
    ABS_V_SQRTQ,
    DPP_EDGE,
    DPP_NODE,
    EDGE_LSQ,
    IMPORTANCE_EDGE,
    IMPORTANCE_NODE,
    LINEAR_ACTIVATION,
    LINEAR_PREACTIVATION,
    RANDOM_EDGE,
    RANDOM_NODE,
)
from statmech.integrals import activation_code, sums
from statmech.ode.generalisation import eps_g
from statmech.pruning import node

__all__ = [
    "ClaimContext",
    "Claim",
    "CLAIMS",
    "get_claim",
    "claim_names",
    "as_claim",
    "pruned_eps_g",
    "paper_claim",
    "monotone_claim",
    "reweight_claim",
    "all_kept_claim",
    "goldt_claim",
]

SCHEMES = pruning.SCHEMES
NODE_SCHEMES = pruning.NODE_SCHEMES
NO_REWEIGHT = pruning.REWEIGHTS[0]

# Margins of inequality claims are differences of O(1) errors computed to ~1e-15 (node schemes) or
# with a requested quadrature error of 1e-12 per pruned overlap (edge schemes): 1e-10 separates a
# violation from rounding. The identity claim compares two exact routes: 1e-12.
INEQUALITY_TOLERANCE = 1e-10
IDENTITY_TOLERANCE = 1e-12

# Exact sums over kept sets up to this many subsets (as statmech.pruning.pruned_error's default).
MAX_SUBSETS = 200_000
_CHUNK = 8192
# Scheme options with a vectorised path here; every other option goes through pruned_error.
_FAST_SCORES = (ABS_V, ABS_V_SQRTQ)
_FAST_KERNELS = (LINEAR_PREACTIVATION, LINEAR_ACTIVATION)


@dataclass(frozen=True)
class ClaimContext:
    """What a claim may need besides the order parameters.

    ``model``: the learning problem (:class:`statmech.Model`: activations,
    eta, eta_v, sigma, ...); ``N``: input dimension, used to match a node budget
    k to e = round((kN + k - K)/K) edges per unit (None: c = k/K, the limit);
    for trained states the time ``alpha`` of the state and the ``seed`` of the
    initial weights (None for states that were not trained: then the model's
    training parameters describe no training and claims about trained states
    refuse them).
    """

    model: Model = field(default_factory=Model)
    N: int | None = None
    alpha: float | None = None
    seed: int | None = None

    @property
    def trained(self) -> bool:
        return self.alpha is not None

    @property
    def activation(self) -> str:
        return self.model.activation

    @property
    def eta(self) -> float:
        return self.model.eta

    @property
    def eta_v(self) -> float:
        return float(self.model.eta_v or 0.0)

    @property
    def sigma(self) -> float:
        return self.model.sigma

    def as_dict(self) -> dict:
        return {"model": self.model.to_dict(), "N": self.N, "alpha": self.alpha, "seed": self.seed}


# ------------------------------------------------------------- pruned errors
_SUBSETS: dict = {}


def _subsets(K: int, k: int) -> np.ndarray:
    key = (K, k)
    if key not in _SUBSETS:
        _SUBSETS[key] = node.all_subsets(K, k)
    return _SUBSETS[key]


class _Errors:
    """eps_g of the pruned copies of one state, memoised per (scheme, k, reweight)."""

    def __init__(self, state: State, model: ClaimContext, kernel: str, importance: str):
        self.state, self.model, self.kernel, self.importance = state, model, kernel, importance
        K = state.K
        C = np.empty((K + state.M, K + state.M))
        C[:K, :K], C[:K, K:], C[K:, :K], C[K:, K:] = state.Q, state.R, state.R.T, state.T
        I2full = np.empty_like(C)
        sums.i2_matrix(activation_code(model.activation), C, I2full)
        self.A, self.b, self.t = node.error_terms(I2full, state.K, state.vstar)
        self.memo: dict = {}

    def unpruned(self) -> float:
        if "unpruned" not in self.memo:
            self.memo["unpruned"] = eps_g(self.state, self.model.activation)
        return self.memo["unpruned"]

    def get(self, scheme: str, keep: int, reweight: str) -> float:
        key = (scheme, int(keep), reweight)
        if key not in self.memo:
            self.memo[key] = self._compute(scheme, int(keep), reweight)
        return self.memo[key]

    def _subset_mean(self, S, p) -> float:
        return float(np.dot(p, node.subset_errors(self.A, self.b, self.t, S, self.state.v[S])))

    def _compute(self, scheme, k, reweight) -> float:
        st, K = self.state, self.state.K
        fast = scheme in NODE_SCHEMES and reweight == NO_REWEIGHT and 1 <= k <= K
        if fast and scheme == RANDOM_NODE:
            # E over uniform k-subsets: P(i in S) = k/K, P(i, j in S) = k(k-1)/(K(K-1)) for i != j
            p1 = k / K
            p2 = k * (k - 1) / (K * (K - 1)) if K > 1 else 0.0
            v = st.v
            Av = self.A * np.outer(v, v)
            d = float(np.trace(Av))
            return 0.5 * (p1 * d + p2 * (float(Av.sum()) - d) - 2.0 * p1 * float(v @ self.b) + self.t)
        if fast and scheme == IMPORTANCE_NODE and self.importance in _FAST_SCORES:
            scores = np.abs(st.v) if self.importance == ABS_V else np.abs(st.v) * np.sqrt(np.diag(st.Q))
            S, p = node.importance_distribution(scores, k)  # exact ties averaged, as pruned_error does
            return self._subset_mean(S, p)
        if fast and scheme == DPP_NODE and self.kernel in _FAST_KERNELS and comb(K, k) <= MAX_SUBSETS:
            L = st.Q if self.kernel == LINEAR_PREACTIVATION else self.A
            S = _subsets(K, k)
            logw = np.empty(S.shape[0])
            for lo in range(0, S.shape[0], _CHUNK):  # memory ~ _CHUNK k^2 doubles
                s = S[lo : lo + _CHUNK]
                sign, logdet = np.linalg.slogdet(L[s[:, :, None], s[:, None, :]])
                logw[lo : lo + _CHUNK] = np.where(sign > 0, logdet, -np.inf)
            top = logw.max()
            if not np.isfinite(top):
                raise ValueError(f"dpp-node: the kernel has rank below k={k} (no kept set has det L_S > 0)")
            w = np.exp(logw - top)  # P(S) = det L_S / sum_S' det L_S' (Cauchy-Binet: the sum is e_k)
            return self._subset_mean(S, w / w.sum())
        return pruned_eps_g(
            st, scheme, k, self.model, reweight=reweight, kernel=self.kernel, importance=self.importance
        )


def pruned_eps_g(
    state: State,
    scheme: str,
    keep: int,
    model: ClaimContext | None = None,
    *,
    reweight: str = NO_REWEIGHT,
    kernel: str = LINEAR_PREACTIVATION,
    importance: str = ABS_V,
) -> float:
    """Expected noise-free eps_g of ``state`` pruned by ``scheme`` at node budget k (docs/theory/pruning.md).

    Edge schemes keep the matched fraction c = e/N, e = round((kN + k - K)/K)
    (``model.N`` given) or c = k/K. Monte Carlo node estimates (C(K, k) above
    200,000) use seed 0, as ``statmech prune`` does by default. The one call of
    ``statmech.pruning.pruned_error`` in this package.
    """
    model = ClaimContext() if model is None else model
    if scheme == DPP_NODE:
        sch = pruning.scheme_from_name(scheme, kernel=kernel)
    elif scheme == IMPORTANCE_NODE:
        sch = pruning.scheme_from_name(scheme, score=importance)
    else:
        sch = pruning.scheme_from_name(scheme)
    budget = pruning.Budget(keep=int(keep), N=None if sch.node else model.N)
    r = pruning.pruned_error(
        state, sch, budget, reweight=reweight, activation=model.activation, rng=0, keep_distribution=False
    )
    return r.eps_g


_LAST: dict = {}


def errors_of(
    state: State, model: ClaimContext, kernel: str = LINEAR_PREACTIVATION, importance: str = ABS_V
) -> _Errors:
    """The memoised pruned errors of ``state`` (shared by every claim evaluated on the same State object)."""
    key = (id(state), model, kernel, importance)
    hit = _LAST.get("key")
    if hit is not None and hit[0] == key and hit[1] is state:
        return _LAST["errors"]
    e = _Errors(state, model, kernel, importance)
    _LAST["key"] = (key, state)
    _LAST["errors"] = e
    return e


# -------------------------------------------------------------------- claims
@dataclass(frozen=True)
class Claim:
    """A claim: ``margin(state, model, keep)`` >= 0 where it holds; below ``-tolerance``: a counterexample.

    ``schemes``: the pruning schemes it compares (what ``statmech prune``
    re-checks); ``budgets(K)``: the node budgets it is stated for (default
    1..K-1); ``needs_training``: it is about trained states only (the model
    must carry eta, sigma and alpha).
    """

    name: str
    statement: str
    margin_fn: Callable = field(repr=False)
    tolerance: float = INEQUALITY_TOLERANCE
    schemes: tuple = ()
    budgets_fn: Callable | None = field(default=None, repr=False)
    needs_training: bool = False

    def budgets(self, K: int) -> list:
        return list(self.budgets_fn(K)) if self.budgets_fn is not None else list(range(1, K))

    def margin(self, state: State, model: ClaimContext | None = None, keep: int | None = None) -> float:
        """The margin at one point; a ValueError (never a NaN) when it cannot be computed."""
        model = ClaimContext() if model is None else model
        m = self.margin_fn(state, model, keep)
        try:
            m = float(m)
        except (TypeError, ValueError):
            raise ValueError(f"claim {self.name}: the margin must be a number, got {m!r}") from None
        if not math.isfinite(m):
            raise ValueError(f"claim {self.name}: the margin is {m} at keep={keep} (not a finite number)")
        return m

    __call__ = margin

    def holds(self, margin: float) -> bool:
        return margin >= -self.tolerance

    def describe(self) -> dict:
        return {"name": self.name, "statement": self.statement, "tolerance": self.tolerance, "schemes": self.schemes}


def _err(state, model, scheme, k, reweight=NO_REWEIGHT, kernel=LINEAR_PREACTIVATION, importance=ABS_V):
    return errors_of(state, model, kernel, importance).get(scheme, k, reweight)


def paper_claim(name: str, kernel: str = LINEAR_PREACTIVATION, importance: str = ABS_V) -> Claim:
    """The paper's C1, C2, C3 or C3x at node budget k as a margin (eps_g differences, docs/theory/pruning.md)."""
    others3 = tuple(s for s in SCHEMES if s != DPP_EDGE)
    others3x = tuple(s for s in others3 if s != IMPORTANCE_EDGE)

    def e(st, mo, s, k):
        return _err(st, mo, s, k, kernel=kernel, importance=importance)

    schemes: tuple[str, ...]
    if name == "C1":
        fn = lambda st, mo, k: e(st, mo, RANDOM_NODE, k) - e(st, mo, DPP_NODE, k)
        schemes = (RANDOM_NODE, DPP_NODE)
    elif name == "C2":
        fn = lambda st, mo, k: e(st, mo, DPP_NODE, k) - e(st, mo, RANDOM_EDGE, k)
        schemes = (DPP_NODE, RANDOM_EDGE)
    elif name in ("C3", "C3x"):
        others = others3 if name == "C3" else others3x
        fn = lambda st, mo, k: min(e(st, mo, s, k) for s in others) - e(st, mo, DPP_EDGE, k)
        schemes = (DPP_EDGE,) + others
    else:
        raise ValueError(f"paper claim must be C1, C2, C3 or C3x, got {name!r}")
    return Claim(name, pruning.CLAIMS[name], fn, schemes=schemes)


def monotone_claim(scheme: str) -> Claim:
    """eps_g(scheme, k + 1) <= eps_g(scheme, k): margin eps_g(k) - eps_g(k + 1), k = 1..K-1."""
    if scheme not in SCHEMES:
        raise ValueError(f"monotone claim: scheme must be one of {SCHEMES}, got {scheme!r}")
    fn = lambda st, mo, k: _err(st, mo, scheme, k) - _err(st, mo, scheme, k + 1)
    return Claim(
        f"monotone:{scheme}",
        f"the {scheme} pruned error does not increase from budget k to k + 1",
        fn,
        schemes=(scheme,),
    )


def reweight_claim(scheme: str, reweight: str) -> Claim:
    """Reweighting never worse: margin eps_g(scheme, k, none) - eps_g(scheme, k, reweight)."""
    if scheme not in SCHEMES:
        raise ValueError(f"reweight claim: scheme must be one of {SCHEMES}, got {scheme!r}")
    if reweight not in pruning.REWEIGHTS or reweight == NO_REWEIGHT:
        raise ValueError(f"reweight claim: reweight must be one of {pruning.REWEIGHTS[1:]}, got {reweight!r}")
    fn = lambda st, mo, k: _err(st, mo, scheme, k) - _err(st, mo, scheme, k, reweight)
    return Claim(
        f"reweight:{scheme}:{reweight}",
        f"{scheme} with {reweight} reweighting is never worse than without",
        fn,
        schemes=(scheme,),
    )


def all_kept_claim() -> Claim:
    """Random node pruning keeping all K units equals the unpruned eps_g (margin -|difference|, budget k = K)."""
    fn = lambda st, mo, k: -abs(_err(st, mo, RANDOM_NODE, st.K) - errors_of(st, mo).unpruned())
    return Claim(
        "random-node-all-kept",
        "random node pruning at k = K equals the unpruned network (true by construction)",
        fn,
        tolerance=IDENTITY_TOLERANCE,
        schemes=(RANDOM_NODE,),
        budgets_fn=lambda K: [K],
    )


def goldt_claim(rtol: float = 0.1) -> Claim:
    """|eps_g - eps_g*| <= rtol eps_g* for the final state of a soft committee machine (Goldt et al. 2019).

    Margin rtol eps_g* - |eps_g - eps_g*|. Needs a trained model (eta, sigma > 0,
    eta_v = 0, erf) and a state with T = I, v = vstar = 1 (within 1e-9).
    """
    if not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"goldt claim: rtol must be a finite number > 0, got {rtol!r}")

    def fn(st, mo, k):
        if not mo.trained:
            raise ValueError("claim goldt is about trained states: the context needs the time alpha of the state")
        if not mo.sigma > 0 or mo.eta_v != 0 or mo.activation != "erf":
            raise ValueError(
                f"claim goldt needs an erf soft committee machine with noise: sigma > 0, eta_v = 0, activation erf "
                f"(got sigma={mo.sigma}, eta_v={mo.eta_v}, activation={mo.activation})"
            )
        if not (
            np.allclose(st.T, np.eye(st.M), atol=1e-9)
            and np.allclose(st.v, 1.0, atol=1e-9)
            and np.allclose(st.vstar, 1.0, atol=1e-9)
        ):
            raise ValueError("claim goldt needs T = I and v = vstar = 1 (the soft committee machine of Goldt et al.)")
        f = goldt_small_noise_error(st.K, st.M, mo.eta, mo.sigma)
        return rtol * f - abs(eps_g(st, mo.activation) - f)

    return Claim(
        "goldt",
        f"the final eps_g of an erf soft committee machine is within {rtol:g} (relative) of "
        f"Goldt et al. 2019's eta sigma^2 (L + M/sqrt 3) / (2 pi)",
        fn,
        tolerance=0.0,
        budgets_fn=lambda K: [K],
        needs_training=True,
    )


# Reweightings of node schemes (the edge least-squares one has no effect in the limit).
_NODE_REWEIGHTS = tuple(r for r in pruning.REWEIGHTS if r not in (NO_REWEIGHT, EDGE_LSQ))

CLAIMS = {
    **{n: paper_claim(n) for n in ("C1", "C2", "C3", "C3x")},
    **{f"monotone:{s}": monotone_claim(s) for s in SCHEMES},
    **{f"reweight:{s}:{r}": reweight_claim(s, r) for s in NODE_SCHEMES for r in _NODE_REWEIGHTS},
    "random-node-all-kept": all_kept_claim(),
    "goldt": goldt_claim(),
}


def claim_names() -> list:
    return list(CLAIMS)


def as_claim(
    obj: Claim | str | Callable[[State, ClaimContext, int], float],
    name: str | None = None,
    tolerance: float = INEQUALITY_TOLERANCE,
) -> Claim:
    """A Claim from a Claim, a callable ``f(state, model, keep) -> margin``, or a name (see :func:`get_claim`)."""
    if isinstance(obj, Claim):
        return obj
    if isinstance(obj, str):
        return get_claim(obj)
    if callable(obj):
        label = name or getattr(obj, "__qualname__", None) or repr(obj)
        doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
        return Claim(label, doc[0] if doc else f"user claim {label}", obj, tolerance=tolerance)
    raise ValueError(f"a claim must be a Claim, a callable f(state, model, keep) or a name, got {obj!r}")


def get_claim(spec: str) -> Claim:
    """A built-in claim by name (``CLAIMS``, ``goldt:RTOL``) or ``module:function`` (a Claim or a callable)."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"claim must be a non-empty name, got {spec!r}")
    if spec in CLAIMS:
        return CLAIMS[spec]
    head, _, tail = spec.partition(":")
    if head == "goldt" and tail:
        try:
            rtol = float(tail)
        except ValueError:
            raise ValueError(f"claim goldt:RTOL needs a number RTOL > 0, got {tail!r}") from None
        return goldt_claim(rtol)
    if head in ("monotone", "reweight"):
        parts = spec.split(":")
        if head == "monotone" and len(parts) == 2:
            return monotone_claim(parts[1])
        if head == "reweight" and len(parts) == 3:
            return reweight_claim(parts[1], parts[2])
        raise ValueError(f"claim {spec!r}: use monotone:SCHEME or reweight:SCHEME:REWEIGHT")
    if not tail:
        raise ValueError(f"unknown claim {spec!r}: one of {', '.join(CLAIMS)}, goldt:RTOL, or module:function")
    try:
        module = importlib.import_module(head)
    except ImportError as exc:
        raise ValueError(f"claim {spec!r}: cannot import module {head!r} ({exc})") from None
    obj = module
    for attr in tail.split("."):
        if not hasattr(obj, attr):
            raise ValueError(f"claim {spec!r}: module {head!r} has no attribute {tail!r}")
        obj = getattr(obj, attr)
    if not (isinstance(obj, Claim) or callable(obj)):
        raise ValueError(f"claim {spec!r}: {tail!r} is neither a Claim nor callable")
    return as_claim(obj, name=spec)
