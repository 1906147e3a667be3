"""Pruning during and after training: pruned error along a trajectory, retraining after pruning.

Three questions the paper (which prunes once, at the end) leaves open:

1. When is it safe to prune? :func:`pruned_along` gives, for every scheme of
   :mod:`statmech.pruning` at one budget, the eps_g of the network pruned at
   each saved time alpha of an ODE run. It calls
   :func:`statmech.pruning.pruned_error` on every saved state.
2. How much does retraining recover after node pruning? The pruned network
   is again a K = k student, so the ODE (docs/theory/equations.md) continues from
   ``pruning.node_state(state, S, v_S)`` (:func:`retrain_nodes`; expected over
   the scheme's distribution of kept sets in :func:`retrain_scheme`).
3. After edge pruning with a fixed mask (pruned weights stay zero) the
   masked-student ODE of :mod:`statmech.ode.masked` (docs/theory/masked.md) continues
   from the restricted overlaps: in the N -> infinity limit for random masks
   (``MaskedState.random_masks``), from the real masks otherwise
   (:func:`retrain_ode` with ``mask``).

Finite-N checks: :func:`prune_real` prunes real weights with one mask of a
scheme (``statmech.pruning.finite.masks``), :func:`retrain_check` continues SGD from
them (``statmech.sim``, masked for edge masks) next to the ODE started from
the same pruned weights, and reports the deviation in standard errors.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from statmech import pruning
from statmech.core import vocabulary as V
from statmech.core.budgets import Budget
from statmech.core.model import Model, resolve_model
from statmech.core.state import State
from statmech.core.vocabulary import parse_schemes
from statmech.core.weights import Weights
from statmech.ode.generalisation import eps_g_arrays
from statmech.ode.integrator import IntegrateResult, default_save_at, integrate
from statmech.ode.masked import MaskedState, integrate_masked
from statmech.pruning.finite import masks as pw
from statmech.pruning.reweight import check_reweight, fuse, optimal_readout
from statmech.pruning.schemes import DPPEdge, DPPNode, ImportanceNode, Scheme, as_scheme, schemes_with
from statmech.pruning.theory import node as _node
from statmech.sim import simulate, simulate_seeds

__all__ = [
    "PrunedCurves",
    "pruned_along",
    "budget_arguments",
    "parse_schemes",
    "RetrainResult",
    "learning_model",
    "retrain_nodes",
    "retrain_scheme",
    "prune_real",
    "retrain_ode",
    "RetrainCheck",
    "retrain_check",
    "simulate_pruned_along",
    "weights_for_state",
]


# ---------------------------------------------------------------- budgets
def budget_arguments(scheme: Scheme | str, K: int, budget: Budget) -> dict:
    """The budget of one scheme as ``pruned_error`` keywords: {"keep": k} (node), {"keep": k, "N": N} or
    {"keep_fraction": c} (edge), checked against K (a fraction c gives node schemes k = cK when whole;
    a budget of edges per unit is refused for node schemes)."""
    scheme = as_scheme(scheme)
    if scheme.node:  # N of a keep budget is the matching of the edge schemes run beside it
        return {"keep": budget.units(K)}
    c = budget.edge_fraction(K)  # validates
    if budget.keep is not None:
        return {"keep": budget.keep, "N": budget.N}
    return {"keep_fraction": c}


# Options of pruned_error that only the schemes sampling kept sets take.
_SAMPLING = ("exact", "n_samples", "max_subsets")


def _split_sampling(schemes: Sequence[Scheme], options: dict) -> dict:
    """{scheme name: options}: the sampling options go to the schemes that sample; unused ones are errors."""
    sampled = {k: options[k] for k in _SAMPLING if options.get(k) is not None}
    rest = {k: v for k, v in options.items() if k not in _SAMPLING}
    takers = [s for s in schemes if s.name in (V.RANDOM_NODE, V.DPP_NODE)]
    if sampled and not takers:
        raise ValueError(
            f"{next(iter(sampled))} sets how kept sets are sampled; none of the chosen schemes "
            f"({', '.join(s.name for s in schemes)}) samples them"
        )
    return {s.name: dict(rest, **(sampled if s in takers else {})) for s in schemes}


# ------------------------------------------------------- 1. pruned along alpha
@dataclass
class PrunedCurves:
    """eps_g of the network pruned at each saved time, per scheme.

    ``alpha`` (n,), ``unpruned`` (n,) eps_g of the unpruned student; ``eps_g``
    and ``stderr``: scheme -> (n,) arrays (stderr 0 where the expectation over
    kept sets is exact); ``budget``: scheme -> the pruned_error budget
    arguments; ``seconds``: scheme -> wall time; ``status`` 0, or 1 when
    interrupted (only the finished schemes are present).
    """

    alpha: np.ndarray
    unpruned: np.ndarray
    eps_g: dict
    stderr: dict
    budget: dict
    seconds: dict
    status: int = 0
    message: str = ""
    params: dict = field(default_factory=dict)

    def columns(self) -> dict:
        """Tidy columns alpha, eps_g, pruned_<scheme> (and stderr_<scheme> where not exact)."""
        cols = {"alpha": self.alpha, "eps_g": self.unpruned}
        for s in self.eps_g:
            cols[f"pruned_{s}"] = self.eps_g[s]
            if np.any(self.stderr[s] > 0):
                cols[f"stderr_{s}"] = self.stderr[s]
        return cols


def pruned_along(
    result: IntegrateResult,
    schemes: Scheme | str | Sequence[Scheme | str] = V.ALL,
    budget: Budget | int | float | None = None,
    *,
    keep: int | None = None,
    keep_fraction: float | None = None,
    N: int | None = None,
    model: Model | None = None,
    activation: str | None = None,
    progress: bool | None = None,
    **options: Any,
) -> PrunedCurves:
    """eps_g of each scheme's pruned network as a function of the time alpha of pruning.

    ``result``: an :class:`~statmech.ode.IntegrateResult` (or anything with
    ``alpha``, ``eps_g`` and ``states``). ``schemes``: ``"all"``, names or scheme
    objects; budget a ``Budget`` (or k, or c) or the keywords ``keep`` /
    ``keep_fraction`` with ``N``; ``options`` go to
    :func:`statmech.pruning.pruned_error` (reweight, and exact, n_samples,
    max_subsets for the schemes that sample kept sets), which is called on every
    saved state. The network's activations and output scaling come from ``model``
    or ``activation`` (the student's, one activation), by default the run's
    (``result.model``: a ReLU teacher of an erf student stays one); ``rng`` (for sampled kept
    sets) defaults to seed 0 at every time. Ctrl-C keeps the finished schemes (status 1).
    """
    objs = schemes_with(schemes)
    if not hasattr(result, "states") or not len(result.alpha):
        raise ValueError("result must be an IntegrateResult with at least one saved state")
    run_model = getattr(result, "model", None)
    if model is None and activation is None and isinstance(run_model, Model):
        model = run_model
    if model is None and activation is None:
        activation = getattr(result, "params", {}).get("activation", V.ERF)
    net = resolve_model(model, activation=activation)
    netkw: dict[str, Any] = dict(
        activation=net.activation, teacher_activation=net.teacher_activation, output_scale=net.output_scale
    )
    activation = net.activation
    states = result.states
    K = states[0].K
    b = Budget.of(budget, keep=keep, keep_fraction=keep_fraction, N=N)
    budgets = {s.name: budget_arguments(s, K, b) for s in objs}  # all checked before any work
    per_scheme = _split_sampling(objs, options)
    for o in objs:
        check_reweight(per_scheme[o.name].get("reweight", V.NO_REWEIGHT), node=o.node)
    names = tuple(s.name for s in objs)
    # sampled kept sets (exact=False or too many subsets): the same seeded stream at every time (common random
    # numbers, so the curve is smooth in alpha and reproducible)
    options.setdefault("rng", 0)
    from tqdm.auto import tqdm

    eps: dict[str, np.ndarray] = {}
    se: dict[str, np.ndarray] = {}
    secs: dict[str, float] = {}
    status, message = 0, f"{len(names)} schemes at {len(states)} saved times"
    bar = tqdm(
        total=len(names) * len(states),
        disable=(None if progress is None else not progress),
        desc="pruned along alpha",
        leave=False,
    )
    try:
        for obj in objs:
            s = obj.name
            t0 = time.perf_counter()
            e = np.empty(len(states))
            d = np.empty(len(states))
            for i, st in enumerate(states):
                r = pruning.pruned_error(st, obj, **netkw, keep_distribution=False, **budgets[s], **per_scheme[s])
                e[i], d[i] = r.eps_g, r.stderr
                bar.update(1)
            eps[s], se[s], secs[s] = e, d, time.perf_counter() - t0
    except KeyboardInterrupt:
        status, message = 1, f"interrupted: finished schemes {list(eps)}"
    finally:
        bar.close()
    params = dict(
        budget=b.as_dict(),
        activation=activation,
        **({} if net.teacher_activation == activation else {"teacher_activation": net.teacher_activation}),
        **({} if net.output_scale == "1" else {"output_scale": net.output_scale}),
        schemes={s.name: s.options() for s in objs},
        options={k: (v if isinstance(v, (str, int, float, bool, type(None))) else repr(v)) for k, v in options.items()},
    )
    return PrunedCurves(
        alpha=np.asarray(result.alpha, dtype=np.float64).copy(),
        unpruned=np.asarray(result.eps_g, dtype=np.float64).copy(),
        eps_g=eps,
        stderr=se,
        budget={s: budgets[s] for s in eps},
        seconds=secs,
        status=status,
        message=message,
        params=params,
    )


# ------------------------------------------------------- 2. retraining (ODE)
def learning_model(
    model: Model | None = None,
    *,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
) -> Model:
    """The Model of a retraining call: ``model`` or its fields as keywords, not both
    (:func:`statmech.core.model.resolve_model`); without a model ``eta`` is required."""
    if model is None and eta is None:
        raise ValueError("eta (the first-layer learning rate) is required unless model= is given")
    return resolve_model(
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


def retrain_nodes(
    state: State,
    kept: ArrayLike,
    *,
    model: Model | None = None,
    reweight: str = V.NO_REWEIGHT,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    **ode: Any,
) -> IntegrateResult:
    """Continue the ODE from the node-pruned state Q[S,S], R[S,:], v_S (after reweighting).

    ``reweight`` as ``pruning.pruned_error`` (``none``, ``fuse-preactivation``,
    ``fuse-activation``, ``optimal-readout``; docs/theory/pruning.md): v_S is computed by the same
    functions, then ``statmech.integrate`` runs the K = k student under ``model`` (or its fields:
    :func:`learning_model`). With an output scale s_K other than 1 the kept v_S are multiplied by
    s_k / s_K, so that the k-unit student of the model computes the pruned network's output
    (pruning removes units, not the output layer's scale, as in ``pruned_error``). Alpha counts
    from the pruning time.
    """
    m = learning_model(
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
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    S = np.asarray(kept, dtype=np.int64)
    start = pruning.node_state(state, S)  # validates kept
    vS = _reweighted_v(state, S[None, :], reweight, m)[0]
    start = start.replace(v=vS)
    return integrate(start, m, alpha_max=alpha_max, save_at=save_at, **ode)


def _rescaled(v: np.ndarray, model: Model, K: int, k: int) -> np.ndarray:
    """Second-layer weights v of a pruned K-unit network (scale s_K) as those of a k-unit student (scale s_k)."""
    if model.output_scale == "1":
        return v
    return v * (model.student_scale(k) / model.student_scale(K))


def _reweighted_v(state: State, subsets: np.ndarray, reweight: str, model: Model) -> np.ndarray:
    """v_S of each kept set for the k-unit student of ``model`` (the formulas of ``pruning.reweight``)."""
    reweight = check_reweight(reweight, node=True)
    K, k = state.K, subsets.shape[1]
    if reweight == V.NO_REWEIGHT:
        return _rescaled(state.v[subsets], model, K, k)
    if reweight == V.FUSE_PREACTIVATION:
        return _rescaled(fuse(state.Q, state.v, subsets), model, K, k)
    I2full = _node.field_i2(state.Q, state.R, state.T, model.activation, model.teacher_activation)
    if reweight == V.FUSE_ACTIVATION:
        A, _b, _t = _node.error_terms(I2full, K, state.vstar)
        return _rescaled(fuse(A, state.v, subsets), model, K, k)
    # the best readout of phi = (1/s_K) sum v g against (1/s_M) sum v* g*: fit v / s_K to v* / s_M
    scale_M = 1.0 if model.output_scale == "1" else model.teacher_scale(state.M)
    A, b, _t = _node.error_terms(I2full, K, state.vstar if scale_M == 1.0 else state.vstar / scale_M)
    v = optimal_readout(A, b, subsets)
    return v if model.output_scale == "1" else v * model.student_scale(k)


@dataclass
class RetrainResult:
    """Expected eps_g of a scheme's pruned network retrained by the ODE.

    ``alpha``: retraining time (0 = the moment of pruning); ``eps_g``: the
    expectation over the scheme's kept sets (node schemes) or the single
    N -> infinity curve (random edge); ``stderr``: Monte Carlo error when the
    kept sets were sampled (else 0); ``curves`` (n_sets, n_times), ``probs``,
    ``subsets``: per kept set; ``pruned_eps_g``: ``pruned_error`` of the
    same scheme (equal to eps_g[0]).
    """

    scheme: str
    alpha: np.ndarray
    eps_g: np.ndarray
    stderr: np.ndarray
    curves: np.ndarray
    probs: np.ndarray
    subsets: np.ndarray | None
    pruned_eps_g: float
    status: int
    message: str
    params: dict = field(default_factory=dict)


def retrain_scheme(
    state: State,
    scheme: Scheme | str,
    budget: Budget | int | float | None = None,
    *,
    keep: int | None = None,
    keep_fraction: float | None = None,
    N: int | None = None,
    reweight: str = V.NO_REWEIGHT,
    model: Model | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    prune_options: dict[str, Any] | None = None,
    **ode: Any,
) -> RetrainResult:
    """Prune ``state`` with ``scheme`` (N -> infinity) and retrain: expected eps_g(alpha).

    Node schemes: every kept set S of ``pruned_error``'s distribution (exact
    or sampled) is retrained with :func:`retrain_nodes` and the curves are
    averaged with its probabilities. ``random-edge``: the masked-student ODE
    from ``MaskedState.random_masks(state, c)`` (exact as N -> infinity).
    Importance and DPP edge masks depend on the weights themselves; their
    restricted overlaps are not functions of (Q, R), so they need real
    weights: :func:`prune_real` then :func:`retrain_ode`. The learning problem is
    ``model`` or its fields (:func:`learning_model`); the pruned error uses its
    activations and output scale, the ODE all of it (v_S rescaled as in :func:`retrain_nodes`).
    """
    m = learning_model(
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
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    obj = as_scheme(scheme)
    scheme = obj.name
    K = state.K
    budget_kw = budget_arguments(obj, K, Budget.of(budget, keep=keep, keep_fraction=keep_fraction, N=N))
    opts = dict(prune_options or {})
    opts.setdefault("rng", 0)  # sampled kept sets are reproducible
    if save_at is None:
        save_at = default_save_at(alpha_max, 100)
    odekw = dict(alpha_max=alpha_max, save_at=save_at, **ode)
    if scheme in (V.IMPORTANCE_EDGE, V.DPP_EDGE):
        raise ValueError(
            f"{scheme}: retraining needs the overlaps restricted to the real masks, which (Q, R) do "
            f"not determine; prune real weights (statmech.pruning.retraining.prune_real) and use retrain_ode"
        )
    if obj.name not in (V.RANDOM_NODE, V.DPP_NODE):
        opts.pop("rng")  # nothing to sample
    pr = pruning.pruned_error(state, obj, reweight=reweight, model=m, **budget_kw, **opts)
    if scheme == V.RANDOM_EDGE:
        ms = MaskedState.random_masks(state, cast(float, pr.keep_fraction))  # an edge result carries it
        if reweight != V.NO_REWEIGHT:
            assert pr.pruned is not None  # an edge result carries its pruned State
            # pruned_error's v carries v / s_K; the masked student keeps K units and the model's scale
            v_new = _rescaled(pr.pruned.v, m, 1, K)
            ms = MaskedState(
                member=ms.member, frac=ms.frac, QA=ms.QA, RA=ms.RA, TA=ms.TA, T=ms.T, v=v_new, vstar=ms.vstar
            )
        res = integrate_masked(ms, m, **odekw)
        curves = res.eps_g[None, :]
        return RetrainResult(
            scheme=scheme,
            alpha=res.alpha,
            eps_g=res.eps_g.copy(),
            stderr=np.zeros_like(res.eps_g),
            curves=curves,
            probs=np.ones(1),
            subsets=None,
            pruned_eps_g=pr.eps_g,
            status=res.status,
            message=res.message,
            params=dict(budget_kw, reweight=reweight, keep_fraction=pr.keep_fraction, model=m.to_dict(), **res.params),
        )
    # a node result keeps its distribution (keep_distribution defaults to True)
    assert pr.subsets is not None and pr.v_kept is not None and pr.probs is not None
    curve_list: list[np.ndarray] = []
    status, alpha = 0, None
    messages: list[str] = []
    for S, vS in zip(pr.subsets, pr.v_kept):
        # pruned_error's v_kept carries v / s_K: the k-unit student of the model has v_S s_k
        start = pruning.node_state(state, S, _rescaled(vS, m, 1, len(S)))
        res = integrate(start, m, **odekw)
        if res.status != 0:
            status = res.status
            messages.append(f"kept set {S.tolist()}: {res.message}")
            break
        alpha = res.alpha
        curve_list.append(res.eps_g)
    if status != 0:
        raise ValueError("retraining failed: " + "; ".join(messages))
    assert alpha is not None  # a node distribution has at least one kept set
    curves = np.array(curve_list)
    probs = np.asarray(pr.probs, dtype=np.float64)
    mean = probs @ curves
    if pr.exact:
        stderr = np.zeros_like(mean)
    else:  # probs are sample frequencies of n_samples draws: variance of the sample mean
        var = probs @ (curves - mean) ** 2
        stderr = np.sqrt(var * pr.n_samples / max(pr.n_samples - 1, 1) / pr.n_samples)
    return RetrainResult(
        scheme=scheme,
        alpha=alpha,
        eps_g=mean,
        stderr=stderr,
        curves=curves,
        probs=probs,
        subsets=pr.subsets,
        pruned_eps_g=pr.eps_g,
        status=0,
        message=f"{len(curves)} kept sets retrained to alpha={alpha[-1]:g}",
        params=dict(
            budget_kw,
            reweight=reweight,
            exact=pr.exact,
            eta=m.eta,
            eta_v=m.eta_v,
            sigma=m.sigma,
            activation=m.activation,
            model=m.to_dict(),
        ),
    )


# ------------------------------------------------ real weights (finite N)
def prune_real(
    weights: Weights,
    scheme: Scheme | str,
    budget: Budget | int | float | None = None,
    *,
    keep: int | None = None,
    keep_fraction: float | None = None,
    reweight: str = V.NO_REWEIGHT,
    rng: np.random.Generator | int | None = 0,
    model: Model | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    output_scale: str | None = None,
) -> tuple[Weights, np.ndarray]:
    """One pruned network of ``scheme`` (name or scheme object) on real weights: (pruned Weights, mask).

    Node schemes return the K = k student (W[S], v_S) and the (K,) boolean
    mask; ``reweight`` (node schemes) computes v_S with the
    ``statmech.pruning.reweight`` formulas from the real order parameters (the
    population Gram matrices for white Gaussian inputs). Edge schemes return
    the masked weights m * W and the (K, N) mask. Masks come from
    ``statmech.pruning.finite.masks``; the DPP kernels are the white-input limits
    (node: ``DPPNode``'s kernel of Q = W W^T / N and I2; edge: diag(w_i^2), so
    ``DPPEdge(edge_kernel="diagonal")``; a name ``dpp-edge`` means that one).
    Budget a ``Budget``, k or c, or ``keep`` / ``keep_fraction`` (edge: e =
    round((kN + k - K)/K) or round(c N) edges per unit). ``rng``: seed or
    Generator of the random and DPP masks. The network is ``model`` or the keywords
    ``activation``, ``teacher_activation``, ``output_scale`` (only these enter); with an
    output scale the kept v_S are rescaled to the k-unit student as in :func:`retrain_nodes`.
    """
    net = resolve_model(model, activation=activation, teacher_activation=teacher_activation, output_scale=output_scale)
    activation = net.activation
    if not isinstance(weights, Weights):
        raise TypeError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    (obj,) = _white_input_schemes(scheme) if isinstance(scheme, str) else (as_scheme(scheme),)
    K, N = weights.K, weights.N
    b = Budget.of(budget, keep=keep, keep_fraction=keep_fraction)
    rng = np.random.default_rng(rng)
    W, v = weights.W, weights.v
    if obj.node:
        check_reweight(reweight, node=True)
        k = b.units(K)
        Q = W @ W.T / N
        Q = 0.5 * (Q + Q.T)
        if isinstance(obj, DPPNode) and isinstance(obj.kernel, str) and obj.kernel != V.LINEAR_PREACTIVATION:
            st = weights.state()
            I2s = _node.field_i2(st.Q, st.R, st.T, activation, net.teacher_activation)[:K, :K]
            L = _node.node_kernel(Q, I2s, obj.kernel, beta=obj.width, eps=obj.ridge, jitter=obj.jitter)
            mask = pw.dpp_node_masks(L, k, 1, rng)[0]
        elif isinstance(obj, DPPNode):
            L = Q if isinstance(obj.kernel, str) else cast(np.ndarray, obj.kernel)  # DPPNode stores arrays as ndarray
            mask = pw.dpp_node_masks(L + obj.jitter * np.eye(K), k, 1, rng)[0]
        elif isinstance(obj, ImportanceNode):
            if obj.ties not in (None, V.TIES_LOWEST_INDEX):
                raise ValueError("prune_real returns one mask: importance-node takes ties='lowest-index' here")
            mask = pw.importance_node_mask(v, k, obj.score, Q_diag=np.diag(Q))
        else:
            mask = pw.random_node_masks(K, k, 1, rng)[0]
        S = np.flatnonzero(mask)
        vS = _reweighted_v(weights.state(), S[None, :], reweight, net)[0]
        return Weights(W=W[S], Wstar=weights.Wstar, v=vS, vstar=weights.vstar), mask
    if reweight != V.NO_REWEIGHT:
        raise ValueError(f"reweight={reweight!r} is for node schemes; edge schemes take reweight='none' here")
    if isinstance(obj, DPPEdge) and obj.edge_kernel != V.DIAGONAL_KERNEL:
        raise ValueError(
            "prune_real has no data set: DPP edge uses the white-input kernel diag(w^2), "
            "DPPEdge(edge_kernel='diagonal')"
        )
    mask = pw.sample_masks(obj, W, v, b.edges_per_unit(K, N), 1, rng)[0]
    return weights.replace(W=np.where(mask, W, 0.0)), mask


def _white_input_schemes(schemes: Scheme | str | Sequence[Scheme | str]) -> tuple[Scheme, ...]:
    """Scheme objects for real weights without a data set: the name dpp-edge means its white-input kernel."""
    items = [schemes] if isinstance(schemes, (str, Scheme)) else list(schemes)
    out: list = []
    for item in items:
        if isinstance(item, str):
            out += [DPPEdge(edge_kernel=V.DIAGONAL_KERNEL) if n == V.DPP_EDGE else n for n in parse_schemes(item)]
        else:
            out.append(item)
    return schemes_with(out)


def _check_mask(weights: Weights, mask: ArrayLike | None) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != weights.W.shape:
        raise ValueError(f"mask must be a K x N boolean array with the shape of W {weights.W.shape}, got {mask.shape}")
    mask = mask.astype(bool)
    if np.any(weights.W[~mask] != 0):
        raise ValueError(
            "mask does not match the weights: some masked-out weights are non-zero (prune them first, e.g. W * mask)"
        )
    return mask


def retrain_ode(
    weights: Weights,
    mask: ArrayLike | None = None,
    *,
    model: Model | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    **ode: Any,
) -> IntegrateResult:
    """ODE started from pruned real weights: ``integrate(weights.state(), model)``, or with an edge
    ``mask`` (K x N) the masked-student ODE from ``MaskedState.from_weights(weights, mask)``;
    ``model`` or its fields as :func:`learning_model`, ``ode`` the integrator's options."""
    m = learning_model(
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
    if not isinstance(weights, Weights):
        raise TypeError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    mask = _check_mask(weights, mask)
    kw = dict(alpha_max=alpha_max, save_at=save_at, **ode)
    if mask is None:
        return integrate(weights.state(), m, **kw)
    return integrate_masked(MaskedState.from_weights(weights, mask), m, **kw)


@dataclass
class RetrainCheck:
    """ODE vs SGD from the same pruned weights.

    ``alpha``; ``ode`` (n,) eps_g of the ODE; ``mean``, ``stderr`` (n,) over
    seeds; ``z`` = (mean - ode) / stderr (0 where both are exactly equal, at
    alpha = 0); ``max_abs_z``; ``rms`` = RMS over seeds and times of
    (single run - ODE), the size of the finite-N fluctuations; ``sim`` the
    SeedsResult; ``ode_result`` the IntegrateResult.
    """

    alpha: np.ndarray
    ode: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    z: np.ndarray
    max_abs_z: float
    rms: float
    sim: object
    ode_result: IntegrateResult
    params: dict = field(default_factory=dict)


def retrain_check(
    weights: Weights,
    mask: ArrayLike | None = None,
    *,
    seeds: int = 5,
    seed: int = 0,
    model: Model | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> RetrainCheck:
    """Retrain pruned real ``weights`` by SGD (``seeds`` runs; masked SGD with an edge ``mask``)
    and by the ODE from the same weights (:func:`retrain_ode`) under the same ``model`` (or its
    fields, :func:`learning_model`); deviation in standard errors. ``params["model"]`` records it."""
    m = learning_model(
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
    if not isinstance(weights, Weights):
        raise TypeError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    mask = _check_mask(weights, mask)
    kw: dict[str, Any] = dict(alpha_max=alpha_max, save_at=save_at)
    if mask is not None:
        kw["mask"] = mask
    sim = simulate_seeds(weights, m, seeds=seeds, seed=seed, workers=workers, progress=progress, **kw)
    if sim.status != 0:
        raise ValueError(f"retraining by SGD did not finish: {sim.message}")
    ode = retrain_ode(
        weights,
        mask,
        model=m,
        alpha_max=float(sim.alpha[-1]),
        save_at=sim.alpha,
        rtol=rtol,
        atol=atol,
    )
    if ode.status != 0:
        raise ValueError(f"the retraining ODE did not finish: {ode.message}")
    dev = sim.mean - ode.eps_g
    # alpha = 0: every run starts at the ODE's initial state (stderr 0, deviation at rounding level)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sim.stderr > 0, dev / sim.stderr, np.where(np.abs(dev) <= 1e-12, 0.0, np.inf))
    rms = float(np.sqrt(np.mean((sim.eps_g - ode.eps_g) ** 2)))
    return RetrainCheck(
        alpha=sim.alpha,
        ode=ode.eps_g,
        mean=sim.mean,
        stderr=sim.stderr,
        z=z,
        max_abs_z=float(np.max(np.abs(z))),
        rms=rms,
        sim=sim,
        ode_result=ode,
        params=dict(
            N=weights.N,
            K=weights.K,
            seeds=sim.n_runs,
            masked=mask is not None,
            eta=m.eta,
            eta_v=m.eta_v,
            sigma=m.sigma,
            alpha_max=alpha_max,
            activation=m.activation,
            model=m.to_dict(),
        ),
    )


# ------------------------------------------- pruning real SGD students along alpha
def simulate_pruned_along(
    weights: Weights,
    schemes: Scheme | str | Sequence[Scheme | str] = V.ALL,
    budget: Budget | int | float | None = None,
    *,
    keep: int | None = None,
    keep_fraction: float | None = None,
    save_at: ArrayLike,
    seeds: int = 5,
    seed: int = 0,
    model: Model | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    sigma: float | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    weight_decay: float | None = None,
    batch_size: int | None = None,
    output_scale: str | None = None,
    n_masks: int = 10,
    progress: bool | None = None,
) -> dict:
    """Finite-N counterpart of :func:`pruned_along`: SGD students pruned with real masks at each time.

    Each of ``seeds`` runs trains ``weights`` by online SGD (``statmech.sim``)
    from one save time to the next (segment i of run r uses the input stream
    (seed, r, i)); at each time the real weights are pruned with ``n_masks``
    masks of every scheme (names or scheme objects, :func:`prune_real`; one for importance schemes) and
    scored by eps_g of the pruned order parameters (exact for Gaussian inputs).
    Returns {"alpha", "runs", "model" (the Model as a dict), "unpruned": (mean, stderr),
    scheme: (mean, stderr)}: the mask-averaged error per run, then mean and standard error over runs.
    Ctrl-C keeps the finished runs. The learning problem is ``model`` or its fields
    (:func:`learning_model`): SGD uses all of it, the scoring its activations and output scale.
    """
    m = learning_model(
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
    objs = _white_input_schemes(schemes)
    names = tuple(s.name for s in objs)
    if not isinstance(weights, Weights):
        raise TypeError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    b = Budget.of(budget, keep=keep, keep_fraction=keep_fraction)
    for o in objs:
        budget_arguments(o, weights.K, b)
    times = np.asarray(save_at, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0) or times[0] < 0:
        raise ValueError("save_at must be a non-empty increasing sequence of times >= 0")
    n_runs = int(seeds)
    from tqdm.auto import tqdm

    per: dict[str, list[list[float]]] = {s: [] for s in ("unpruned",) + names}
    bar = tqdm(
        total=n_runs * times.size,
        disable=(None if progress is None else not progress),
        desc="SGD pruned along alpha",
        leave=False,
    )
    try:
        for r in range(n_runs):
            rng = np.random.default_rng((seed, r, 10**6))
            w, now = weights, 0.0
            rows: dict[str, list[float]] = {s: [] for s in per}
            for i, t in enumerate(times):
                if t > now:
                    res = simulate(
                        w,
                        m,
                        alpha_max=t - now,
                        save_at=[t - now],
                        seed=(seed, r, i),
                        progress=False,
                    )
                    if res.status != 0:
                        raise ValueError(f"SGD run {r} failed: {res.message}")
                    w, now = res.weights, t
                rows["unpruned"].append(_weights_eps_g(w, m))
                for obj in objs:
                    n = 1 if obj.deterministic else n_masks
                    errs = []
                    for _ in range(n):
                        p, _m = prune_real(w, obj, b, rng=rng, model=m)
                        errs.append(_weights_eps_g(p, m))
                    rows[obj.name].append(float(np.mean(errs)))
                bar.update(1)
            for s in per:
                per[s].append(rows[s])
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    done = len(per["unpruned"])
    if done == 0:
        raise ValueError("interrupted before the first run finished")
    out: dict[str, Any] = {"alpha": times, "runs": done, "model": m.to_dict()}
    for s, run_rows in per.items():
        a = np.array(run_rows[:done])
        se = a.std(axis=0, ddof=1) / np.sqrt(done) if done > 1 else np.full(times.size, np.nan)
        out[s] = (a.mean(axis=0), se)
    return out


def _weights_eps_g(w: Weights, model: Model) -> float:
    """eps_g of real weights from their order parameters (exact for white Gaussian inputs)."""
    if model.teacher_activation == model.activation and model.output_scale == "1":
        return pw.pruned_eps_g(w.W, w.v, w.Wstar, w.vstar, activation=model.activation)
    Q, R, T = pw.order_parameters(w.W, w.Wstar)
    return eps_g_arrays(Q, R, T, w.v, w.vstar, model)


def weights_for_state(state: State, N: int, rng: np.random.Generator | int | None = None) -> Weights:
    """Real weights (W, Wstar) at input dimension N whose overlaps are exactly ``state``'s Q, R, T.

    [W; Wstar] = L Z with L L^T = [[Q, R], [R^T, T]] (Cholesky, or eigen-decomposition when
    singular) and Z (K+M) x N with Z Z^T / N = I (orthonormalised Gaussian rows): the same initial
    order parameters at every N, so finite-N checks at several N differ only in N.
    """
    if not isinstance(state, State):
        raise TypeError(f"state must be a statmech.State, got {type(state).__name__}")
    n = state.K + state.M
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < n:
        raise ValueError(f"N must be an integer >= K + M = {n}, got {N!r}")
    C = state.covariance()
    lam, U = np.linalg.eigh(C)
    L = U * np.sqrt(np.maximum(lam, 0.0))
    q, _ = np.linalg.qr(np.random.default_rng(rng).standard_normal((int(N), n)))
    X = L @ (q.T * np.sqrt(N))
    return Weights(W=X[: state.K], Wstar=X[state.K :], v=state.v, vstar=state.vstar)
