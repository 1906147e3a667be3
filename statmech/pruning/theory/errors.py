"""``pruned_error``: the expected eps_g of a pruned network for every scheme (docs/theory/pruning.md).

Plain data in (a ``State``, a scheme, a budget), a small ``PrunedError`` out.
Node schemes are exact sums over kept sets (or Monte Carlo over exact samples
with a standard error); edge schemes are exact in the limit up to quadrature
error, under the Gaussian-coordinate working hypothesis for the
magnitude-dependent masks (see ``statmech.pruning.theory.edge``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from math import comb
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from statmech.core import vocabulary as V
from statmech.core.budgets import Budget, check_keep
from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.core.vocabulary import EDGE_SCHEMES, NODE_SCHEMES, SCHEMES
from statmech.dpp.kdpp import KDPP, all_subsets
from statmech.ode.generalisation import eps_g_arrays
from statmech.pruning.reweight import EDGE_LSQ_NOTE, check_reweight, fuse, optimal_readout
from statmech.pruning.schemes import DPPNode, ImportanceNode, Scheme, as_scheme
from statmech.pruning.theory import edge as _edge
from statmech.pruning.theory import node as _node

__all__ = [
    "SCHEMES",
    "NODE_SCHEMES",
    "EDGE_SCHEMES",
    "PrunedError",
    "pruned_error",
    "pruned_error_series",
    "node_state",
    "edge_state",
    "rescale_rows",
    "node_distribution",
]

# Expectations over kept sets: enumerated while C(K, k) is at most this, else sampled.
MAX_SUBSETS = 200_000
N_SAMPLES = 20_000
# Schemes whose expectation over kept sets may be sampled (the others are exact or deterministic).
_SAMPLED = (V.RANDOM_NODE, V.DPP_NODE)


@dataclass(frozen=True, eq=False)
class PrunedError:
    """Expected generalisation error of one pruning scheme at one budget.

    ``eps_g``: expected noise-free eps_g of the pruned network (add sigma^2/2 for a
    test loss on noisy labels); ``stderr``: its Monte Carlo standard error (0 when
    ``exact``); ``n_samples``: Monte Carlo samples (0 when exact). Node schemes also
    carry the distribution over kept sets: ``subsets`` (n, k), ``probs`` (n,)
    (empirical frequencies when sampled), ``errors`` (n,) eps_g of each set,
    ``v_kept`` (n, k) the second-layer weights used, ``copies`` (n, M) how many
    kept units copy each teacher unit (``teacher_of`` (K,) the assignment).
    ``pruned``: the pruned State when it is unique (edge schemes, deterministic
    node schemes). ``quad_error``: estimated absolute quadrature error of the
    edge overlaps. ``note``: anything the reader must know (e.g. why a
    reweighting changed nothing).
    """

    scheme: str
    eps_g: float
    stderr: float
    exact: bool
    keep: int | None = None
    keep_fraction: float | None = None
    reweight: str = "none"
    n_samples: int = 0
    subsets: np.ndarray | None = None
    probs: np.ndarray | None = None
    errors: np.ndarray | None = None
    v_kept: np.ndarray | None = None
    copies: np.ndarray | None = None
    teacher_of: np.ndarray | None = None
    pruned: State | None = None
    quad_error: float = 0.0
    note: str = ""
    params: dict = field(default_factory=dict)

    def copies_distribution(self) -> dict:
        """{(j_1, ..., j_M): probability} of the numbers of kept copies of each teacher unit."""
        if self.copies is None:
            return {}
        assert self.probs is not None  # set with copies (pruned_error keeps or drops the distribution whole)
        out: dict = {}
        for j, p in zip(map(tuple, self.copies.tolist()), self.probs):
            out[j] = out.get(j, 0.0) + float(p)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def as_dict(self, max_subsets: int = 50) -> dict:
        """JSON-ready summary (the most probable ``max_subsets`` kept sets for node schemes)."""
        d: dict[str, Any] = {
            "scheme": self.scheme,
            "eps_g": self.eps_g,
            "stderr": self.stderr,
            "exact": self.exact,
            "keep": self.keep,
            "keep_fraction": self.keep_fraction,
            "reweight": self.reweight,
            "n_samples": self.n_samples,
            "quad_error": self.quad_error,
            "note": self.note,
            "params": self.params,
        }
        if self.subsets is not None:
            # set with subsets (pruned_error keeps or drops the distribution whole)
            assert self.probs is not None and self.errors is not None and self.copies is not None
            order = np.argsort(-self.probs, kind="stable")[:max_subsets]
            d["subsets"] = [
                {
                    "kept": self.subsets[i].tolist(),
                    "prob": float(self.probs[i]),
                    "eps_g": float(self.errors[i]),
                    "copies": self.copies[i].tolist(),
                }
                for i in order
            ]
            d["copies_distribution"] = [{"copies": list(j), "prob": p} for j, p in self.copies_distribution().items()]
        return d


def _check_state(state: object) -> State:
    if not isinstance(state, State):
        raise TypeError(f"expected a statmech.State, got {type(state).__name__}")
    return state


def rescale_rows(state: State) -> State:
    """The paper pipeline's step 2: every row rescaled to ``|w_i|^2 = N`` (Q_ii = 1), v unchanged.

    Q_ik -> Q_ik / sqrt(Q_ii Q_kk), R_in -> R_in / sqrt(Q_ii). This changes the
    network (erf is not scale invariant); the paper's "unpruned" line is this one.
    """
    state = _check_state(state)
    q = np.sqrt(np.diag(state.Q))
    if np.any(q <= 0):
        raise ValueError("rescale_rows: a student unit has Q_ii = 0 (a zero row cannot be rescaled)")
    return state.replace(Q=state.Q / np.outer(q, q), R=state.R / q[:, None])


def node_state(state: State, kept: ArrayLike, v: ArrayLike | None = None) -> State:
    """Pruned order parameters of a kept set S: Q[S,S], R[S,:], v[S] (or the given new v_S)."""
    state = _check_state(state)
    S = np.asarray(kept, dtype=np.int64)
    if S.ndim != 1 or S.size < 1 or np.any(S < 0) or np.any(S >= state.K) or np.unique(S).size != S.size:
        raise ValueError(f"kept must be distinct unit indices in 0..K-1={state.K - 1}, got {kept!r}")
    vS = state.v[S] if v is None else np.asarray(v, dtype=np.float64)
    return State(Q=state.Q[np.ix_(S, S)], R=state.R[S], T=state.T, v=vS, vstar=state.vstar)


@overload
def edge_state(
    state: State, scheme: Scheme | str, keep_fraction: float, return_error: Literal[False] = False
) -> State: ...
@overload
def edge_state(
    state: State, scheme: Scheme | str, keep_fraction: float, return_error: Literal[True]
) -> tuple[State, float]: ...
def edge_state(
    state: State, scheme: Scheme | str, keep_fraction: float, return_error: bool = False
) -> State | tuple[State, float]:
    """Pruned State of an edge scheme: (Q', R') of ``statmech.pruning.theory.edge.edge_overlaps``, v unchanged."""
    state = _check_state(state)
    name = V.check_choice("edge scheme", getattr(scheme, "name", scheme), EDGE_SCHEMES)
    Qp, Rp, err = _edge.edge_overlaps(state.Q, state.R, keep_fraction, name, return_error=True)
    out = State(Q=Qp, R=Rp, T=state.T, v=state.v, vstar=state.vstar)
    return (out, err) if return_error else out


def _sampling(scheme: Scheme, exact, n_samples, max_subsets) -> tuple:
    """(exact, n_samples, max_subsets) for a scheme that may sample; refused for the others (they would be ignored)."""
    given = {
        k: v for k, v in (("exact", exact), ("n_samples", n_samples), ("max_subsets", max_subsets)) if v is not None
    }
    if scheme.name not in _SAMPLED:
        if given:
            opt = next(iter(given))
            raise ValueError(
                f"{opt} sets how the expectation over kept sets is computed; {scheme.name} has none to sample "
                f"(only {', '.join(_SAMPLED)} do)"
            )
        return None, N_SAMPLES, MAX_SUBSETS
    if exact is not None and not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact must be None, True or False, got {exact!r}")
    for name, value in (("n_samples", n_samples), ("max_subsets", max_subsets)):
        if value is not None and (
            isinstance(value, bool) or int(value) != value or value < (2 if name == "n_samples" else 1)
        ):
            raise ValueError(f"{name} must be an integer >= {2 if name == 'n_samples' else 1}, got {value!r}")
    return (
        exact,
        N_SAMPLES if n_samples is None else int(n_samples),
        MAX_SUBSETS if max_subsets is None else int(max_subsets),
    )


def node_distribution(
    state: State,
    scheme: Scheme | str,
    keep: int,
    *,
    I2full: np.ndarray | None = None,
    activation: str = V.ERF,
    exact: bool | None = None,
    max_subsets: int = MAX_SUBSETS,
    n_samples: int = N_SAMPLES,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Distribution over kept sets of a node ``scheme`` (name or Scheme): (subsets (n, k), weights (n,), exact).

    Exact: weights are probabilities summing to 1 (all sets with P > 0 for random
    and DPP). Sampled (``exact=False``, or C(K, k) > max_subsets with exact=None):
    ``subsets`` are the ``n_samples`` sampled sets and weights are 1/n_samples.
    """
    scheme = as_scheme(scheme)
    K = state.K
    k = check_keep(keep, K)
    if scheme.edge:
        raise ValueError(f"node scheme must be one of {', '.join(NODE_SCHEMES)}, got {scheme.name!r}")
    if isinstance(scheme, ImportanceNode):
        scores = _node.importance_scores(state.v, scheme.score, np.diag(state.Q))
        S, p = _node.importance_distribution(scores, k, ties=scheme.ties or V.TIES_AVERAGE)
        return S, p, True
    n_sub = comb(K, k)
    if exact is None:
        exact = n_sub <= max_subsets
    elif exact and n_sub > max_subsets:
        raise ValueError(f"exact enumeration of C({K}, {k}) = {n_sub} subsets exceeds max_subsets={max_subsets}")
    rng = np.random.default_rng(rng)
    if not isinstance(scheme, DPPNode):  # random-node
        if exact:
            S = all_subsets(K, k)
            return S, np.full(S.shape[0], 1.0 / S.shape[0]), True
        S = np.sort(np.argsort(rng.random((n_samples, K)), axis=1)[:, :k], axis=1)
        return S, np.full(n_samples, 1.0 / n_samples), False

    if I2full is None:
        I2full = _node.field_i2(state.Q, state.R, state.T, activation)
    L = _node.node_kernel(
        state.Q, I2full[:K, :K], scheme.kernel, beta=scheme.width, eps=scheme.ridge, jitter=scheme.jitter
    )
    try:
        dpp = KDPP(L, k)
    except ValueError as exc:
        raise ValueError(
            f"dpp-node: {exc} (a rank-deficient kernel, e.g. exact copies, needs jitter > 0 for k above its rank)"
        ) from None
    if exact:
        S, p = dpp.enumerate(max_subsets=max_subsets)
        S, p = np.asarray(S, dtype=np.int64), np.asarray(p, dtype=np.float64)
        live = p > 0  # sets of zero probability (rank-deficient L[S,S]) are not part of the distribution
        return S[live], p[live], True
    S = np.asarray(dpp.sample(rng=rng, size=n_samples), dtype=np.int64).reshape(n_samples, k)
    return S, np.full(n_samples, 1.0 / n_samples), False


def pruned_error(
    state: State,
    scheme: Scheme | str,
    budget: Budget | int | float | None = None,
    *,
    keep: int | None = None,
    keep_fraction: float | None = None,
    N: int | None = None,
    reweight: str = V.NO_REWEIGHT,
    model: Model | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    output_scale: str | None = None,
    exact: bool | None = None,
    n_samples: int | None = None,
    max_subsets: int | None = None,
    rng: np.random.Generator | int | None = None,
    keep_distribution: bool = True,
) -> PrunedError:
    """Expected noise-free eps_g of ``state`` pruned by ``scheme`` (docs/theory/pruning.md).

    ``scheme``: a name of ``SCHEMES`` (default options) or a scheme object of
    ``statmech.pruning.schemes`` (``DPPNode(kernel=...)``, ``ImportanceNode(score=...)``, ...).
    ``budget``: a ``Budget``, an int k (units kept) or a float c (kept fraction),
    or the keywords ``keep`` / ``keep_fraction`` (with ``N``); node schemes keep
    k units (c K when whole), edge schemes the fraction c, or for k the paper's
    matching c = e/N, e = round((kN + k - K)/K) (N given), c = k/K (N -> infinity).
    ``reweight``: node schemes ``none``, ``fuse-preactivation`` (G = Q),
    ``fuse-activation`` (G = I2), ``optimal-readout`` (best v_S); edge schemes
    ``none``, ``optimal-readout`` (v re-fitted to the edge-pruned first layer),
    ``edge-lsq`` (no effect in the limit, said in ``note``). ``exact``,
    ``n_samples``, ``max_subsets`` (random and DPP node only): enumerate while
    C(K, k) <= max_subsets (exact=None), always (True), or Monte Carlo with
    n_samples exact samples (False); ``rng`` seeds those samples.

    The network is ``model`` (a :class:`~statmech.core.model.Model`) or the keywords
    ``activation`` (the student's g, default erf), ``teacher_activation`` (g*,
    default g) and ``output_scale``; only these enter the pruned eps_g (the pruned
    overlaps do not depend on the activations; eps_g and the DPP kernels built from
    the student block of I2 do). The output scaling is folded into the second
    layers, v / s_K and v* / s_M with the unpruned K and M (pruning removes units,
    not the output layer's scale), so ``v_kept`` and ``pruned`` carry v / s_K.
    """
    state = _check_state(state)
    m = resolve_model(model, activation=activation, teacher_activation=teacher_activation, output_scale=output_scale)
    activation, teacher = m.activation, m.teacher_activation
    if m.output_scale != "1":
        state = state.replace(v=state.v / m.student_scale(state.K), vstar=state.vstar / m.teacher_scale(state.M))
    em = resolve_model(activation=activation, teacher_activation=teacher)  # eps_g with the scaling folded in
    scheme = as_scheme(scheme)
    reweight = check_reweight(reweight, node=scheme.node)
    exact, n_samples, max_subsets = _sampling(scheme, exact, n_samples, max_subsets)
    budget = Budget.of(budget, keep=keep, keep_fraction=keep_fraction, N=N)
    K, M = state.K, state.M
    params = {"activation": activation, "reweight": reweight, "budget": budget.as_dict(), **scheme.options()}
    if teacher != activation or m.output_scale != "1":
        params.update(teacher_activation=teacher, output_scale=m.output_scale)
    pruned: State | None  # the pruned State when it is unique (edge schemes, a single kept set)
    if scheme.edge:
        c = budget.edge_fraction(K)
        pruned, qerr = edge_state(state, scheme, c, return_error=True)
        note = ""
        if reweight == V.EDGE_LSQ:
            note = EDGE_LSQ_NOTE
        elif reweight == V.OPTIMAL_READOUT:
            I2p = _node.field_i2(pruned.Q, pruned.R, pruned.T, activation, teacher)
            A, b, _ = _node.error_terms(I2p, K, state.vstar)
            vnew = optimal_readout(A, b, np.arange(K)[None, :])[0]
            pruned = pruned.replace(v=vnew)
            note = "optimal readout: v re-fitted to the edge-pruned first layer (retraining the second layer)"
        if scheme.name != V.RANDOM_EDGE:
            params["hypothesis"] = "Gaussian coordinates (w_1j..w_Kj, w*_1j..) with covariance [[Q,R],[R^T,T]]"
        e = eps_g_arrays(pruned.Q, pruned.R, pruned.T, pruned.v, pruned.vstar, em)
        return PrunedError(
            scheme=scheme.name,
            eps_g=e,
            stderr=0.0,
            exact=True,
            keep_fraction=c,
            reweight=reweight,
            pruned=pruned,
            quad_error=qerr,
            note=note,
            params=params,
        )

    if budget.fraction is not None:
        raise ValueError(f"node schemes take keep (an integer number of units in 1..K={K}), not keep_fraction")
    if budget.edges is not None or budget.N is not None:
        raise ValueError(
            f"{scheme.name} keeps k units (an integer in 1..K={K}): edges per unit and N belong to edge budgets"
        )
    k = budget.units(K)
    I2full = _node.field_i2(state.Q, state.R, state.T, activation, teacher)
    S, w, is_exact = node_distribution(
        state,
        scheme,
        k,
        I2full=I2full,
        activation=activation,
        exact=exact,
        max_subsets=max_subsets,
        n_samples=n_samples,
        rng=rng,
    )
    U: np.ndarray | None
    probs: np.ndarray | None
    vk: np.ndarray | None
    errs: np.ndarray | None
    if is_exact:
        U, probs, inv = S, w, None
    else:  # evaluate each distinct sampled set once
        U, inv, counts = np.unique(S, axis=0, return_inverse=True, return_counts=True)
        inv = inv.ravel()
        probs = counts / S.shape[0]
    A, b, t = _node.error_terms(I2full, K, state.vstar)
    if reweight == V.NO_REWEIGHT:
        vk = state.v[U]
    elif reweight == V.FUSE_PREACTIVATION:
        vk = fuse(state.Q, state.v, U)
    elif reweight == V.FUSE_ACTIVATION:
        vk = fuse(A, state.v, U)
    else:
        vk = optimal_readout(A, b, U)
    errs = _node.subset_errors(A, b, t, U, vk)
    if is_exact:
        mean, se, ns = float(np.dot(probs, errs)), 0.0, 0
    else:
        per = errs[inv]
        ns = per.size
        mean, se = float(per.mean()), float(per.std(ddof=1) / np.sqrt(ns))
    teacher_of = _node.teacher_assignment(state.Q, state.R, state.T)
    pruned = node_state(state, U[0], vk[0]) if U.shape[0] == 1 else None
    if not keep_distribution:
        U = probs = errs = vk = None
        copies = None
    else:
        copies = _node.count_copies(U, teacher_of, M)
    return PrunedError(
        scheme=scheme.name,
        eps_g=mean,
        stderr=se,
        exact=is_exact,
        keep=k,
        reweight=reweight,
        n_samples=ns,
        subsets=U,
        probs=probs,
        errors=errs,
        v_kept=vk,
        copies=copies,
        teacher_of=teacher_of,
        pruned=pruned,
        params=params,
    )


def pruned_error_series(
    states: Iterable[State], scheme: Scheme | str, budget: Budget | int | float | None = None, **kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``pruned_error`` over a sequence of states (e.g. the saved times of an ODE run).

    Returns (eps_g (n,), stderr (n,)); options as ``pruned_error`` (kept-set
    distributions are not stored).
    """
    kwargs.setdefault("keep_distribution", False)
    res = [pruned_error(s, scheme, budget, **kwargs) for s in states]
    return np.array([r.eps_g for r in res]), np.array([r.stderr for r in res])
