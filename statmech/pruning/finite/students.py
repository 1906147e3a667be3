"""Pruning real finite-N students: the paper's pipeline, the clean one, and the theory beside them.

A trained student (statmech.sim, or loaded weights) is pruned with real
masks on its real weights (statmech.pruning.finite.masks): k-DPP samples from kernels
estimated on P streamed inputs, real magnitude thresholds, real least-squares
reweighting. Each pruned network is scored by

- ``eps_g``: the noise-free generalisation error of its order parameters
  (exact for Gaussian inputs; docs/theory/pruning.md), and
- ``test_loss``: the empirical mean of (phi - y)^2 / 2 on a test set of
  ``n_test`` inputs with noisy labels (includes about sigma^2 / 2; the paper's
  measure),

next to the N -> infinity prediction of statmech.pruning computed from the
same student's measured order parameters.

Pipelines (README "Pruning real students (finite N)"):

- ``paper``: rows rescaled to ``|w_i|^2 = N`` before pruning (v unchanged; the
  unpruned reference is this rescaled network), 5 masks, signed-v importance,
  headline measure the noisy test loss on 0.1 P test inputs;
- ``clean``: weights as trained, |v| importance, 10 masks, headline measure
  eps_g of the pruned order parameters (the test loss is reported too).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.optimize import brentq

from statmech import pruning
from statmech.core import vocabulary as V
from statmech.core.budgets import Budget
from statmech.core.model import Model, resolve_model
from statmech.core.validation import check_int
from statmech.core.weights import Weights
from statmech.ode.generalisation import eps_g_arrays
from statmech.pruning.finite import masks as pw
from statmech.pruning.schemes import DPPEdge, DPPNode, ImportanceNode, Scheme, schemes_with
from statmech.sim import simulate

__all__ = [
    "PruningPipeline",
    "PIPELINES",
    "REWEIGHTS",
    "pipeline_schemes",
    "check_reweights",
    "renormalise_rows",
    "prune_student",
    "PrunedStudent",
    "theory_predictions",
    "aggregate",
    "summarise",
    "coordinate_check",
    "inclusion_check",
    "train_student",
    "prune_students",
    "load_students",
    "coordinate_table",
    "gaussian_surrogate_errors",
]


@dataclass(frozen=True)
class PruningPipeline:
    """Choices that differ between the paper's code and the clean pipeline."""

    name: str
    renormalise: bool  # rescale rows to |w_i|^2 = N before pruning
    importance: str  # node importance score (vocabulary.IMPORTANCE_SCORES)
    n_masks: int  # masks per (scheme, budget) by default
    measure: str  # headline column: "test_loss" or "eps_g"


PIPELINES = {
    V.PAPER_PIPELINE: PruningPipeline(
        V.PAPER_PIPELINE, renormalise=True, importance=V.SIGNED_V, n_masks=5, measure="test_loss"
    ),
    V.CLEAN_PIPELINE: PruningPipeline(
        V.CLEAN_PIPELINE, renormalise=False, importance=V.ABS_V, n_masks=10, measure="eps_g"
    ),
}

# Reweightings of real weights: node schemes fuse-*, edge schemes edge-lsq; none applies to all.
REWEIGHTS = (V.NO_REWEIGHT, V.FUSE_PREACTIVATION, V.FUSE_ACTIVATION, V.EDGE_LSQ)


def _pipeline(pipeline: str) -> PruningPipeline:
    return PIPELINES[V.check_choice("pipeline", pipeline, V.PIPELINE_NAMES)]


def pipeline_schemes(
    pipeline: str = V.CLEAN_PIPELINE, schemes: Scheme | str | Sequence[Scheme | str] = V.ALL, **options: Any
) -> tuple[Scheme, ...]:
    """Scheme objects for ``schemes`` (names or objects) with ``options`` and the pipeline's defaults.

    A name ``importance-node`` gets the pipeline's score (signed v for ``paper``,
    |v| for ``clean``) unless ``score`` is given; options as
    :func:`statmech.pruning.schemes.schemes_with` (None = not given; an option no
    chosen scheme takes is an error).
    """
    pipe = _pipeline(pipeline)
    items = [schemes] if isinstance(schemes, (str, Scheme)) else list(schemes)
    named = [n for item in items if isinstance(item, str) for n in V.parse_schemes(item)]
    if options.get("score") is None and V.IMPORTANCE_NODE in named:
        options = dict(options, score=pipe.importance)
    return schemes_with(items, **options)


def check_reweights(
    reweight: str | Iterable[str], schemes: Sequence[Scheme], allowed: Iterable[str] = REWEIGHTS
) -> tuple[str, ...]:
    """Reweighting names from ``allowed``, each applying to at least one of ``schemes`` (else it would be ignored)."""
    reweight = V.parse_reweights(reweight, allowed)
    node = any(s.node for s in schemes)
    edge = any(s.edge for s in schemes)
    for r in reweight:
        if (r in (V.FUSE_PREACTIVATION, V.FUSE_ACTIVATION) and not node) or (r == V.EDGE_LSQ and not edge):
            names = ", ".join(s.name for s in schemes)
            kind = "edge" if r == V.EDGE_LSQ else "node"
            raise ValueError(f"reweight {r!r} applies to {kind} schemes only; the chosen schemes are {names}")
    return reweight


def renormalise_rows(W: ArrayLike) -> np.ndarray:
    """w_i <- sqrt(N) w_i / |w_i| so that Q_ii = 1 (the paper code's step before pruning)."""
    W = np.asarray(W, dtype=np.float64)
    norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        raise ValueError("cannot renormalise a zero row of W")
    return W * (np.sqrt(W.shape[1]) / norms)[:, None]


@dataclass
class PrunedStudent:
    """Per-mask records (dict of equal-length columns), the weights that were pruned (after the
    pipeline's renormalisation), parameters, theory columns, data moments, the student as given."""

    records: dict
    weights: Weights
    params: dict
    theory: dict = field(default_factory=dict)
    moments: pw.DataMoments | None = None  # the DataMoments the kernels came from (None if not needed)
    trained: Weights | None = None  # the student as given (before the paper pipeline's renormalisation)


def prune_student(
    weights: Weights,
    *,
    n_train: int,
    pipeline: str = V.CLEAN_PIPELINE,
    schemes: Scheme | str | Sequence[Scheme | str] = V.ALL,
    keep: Iterable[int] | None = None,
    n_masks: int | None = None,
    sigma: float | None = None,
    n_kernel: int | None = None,
    n_test: int | None = None,
    input_covariance: ArrayLike | None = None,
    reweight: str | Iterable[str] = (V.NO_REWEIGHT,),
    model: Model | None = None,
    activation: str | None = None,
    teacher_activation: str | None = None,
    output_scale: str | None = None,
    seed: int | Sequence[int] = 0,
    theory: bool = True,
    progress: bool | None = None,
) -> PrunedStudent:
    """Prune one trained student with every scheme and budget and score every pruned network.

    ``n_train`` = P, the number of training samples (alpha N): the kernels are
    estimated on ``n_kernel`` (default P) fresh inputs from the training
    distribution and the test set has ``n_test`` (default 0.1 P) inputs with
    labels of output noise ``sigma``. ``keep``: node budgets k (default
    1..K-1); edge schemes keep e = round((k N + k - K)/K) edges per unit
    (the paper's parameter matching). ``input_covariance`` (N x N) switches to
    correlated Gaussian inputs for kernels, reweighting, test set and eps_g.
    ``schemes``: names (with the pipeline's defaults, :func:`pipeline_schemes`)
    or scheme objects carrying their options. ``reweight``: names of
    ``REWEIGHTS``; each is applied to the schemes it belongs to.

    The network is ``model`` (:class:`~statmech.core.model.Model`) or the keywords
    ``activation`` (the student's g, default erf), ``teacher_activation`` (g*,
    default g) and ``output_scale``: phi = (1/s_K) sum_i v_i g(lambda_i) against
    y = (1/s_M) sum_n v*_n g*(nu_n), a pruned network keeping the s_K of the
    unpruned K (docs/theory/general_model.md). The model's training fields (eta,
    weight decay, batch size) are recorded, not used; ``sigma`` is the test
    labels' noise (a model's sigma when not given).
    """
    pipe = _pipeline(pipeline)
    if not isinstance(weights, Weights):
        raise ValueError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    net = resolve_model(model, activation=activation, teacher_activation=teacher_activation, output_scale=output_scale)
    if sigma is None:
        sigma = net.sigma
    elif model is not None and net.sigma not in (0.0, sigma):
        raise ValueError(f"sigma={sigma} conflicts with the model's sigma={net.sigma}; give one of them")
    net = net.replace(sigma=sigma)
    activation, teacher = net.activation, net.teacher_activation
    s_K, s_M = net.student_scale(weights.K), net.teacher_scale(weights.M)
    schemes = pipeline_schemes(pipeline, schemes)
    reweight = check_reweights(reweight, schemes)
    K, N = weights.K, weights.N
    n_train = check_int("n_train (number of training samples P)", n_train, 1)
    n_kernel = n_train if n_kernel is None else check_int("n_kernel", n_kernel, 1)
    n_test = max(1, int(round(0.1 * n_train))) if n_test is None else check_int("n_test", n_test, 1)
    n_masks = pipe.n_masks if n_masks is None else check_int("n_masks", n_masks, 1)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    keep = tuple(range(1, K)) if keep is None else tuple(pw.check_node_budget(k, K) for k in keep)
    if not keep:
        raise ValueError("keep (node budgets k) is empty: K must be >= 2 or budgets given explicitly")
    ss = np.random.SeedSequence(seed)
    rng_data, rng_masks, rng_test = (np.random.default_rng(s) for s in ss.spawn(3))

    W = renormalise_rows(weights.W) if pipe.renormalise else weights.W.copy()
    wts = weights.replace(W=W)
    inputs = pw.GaussianInputs(N, input_covariance)
    cov = inputs.covariance
    need_sxx = any(isinstance(s, DPPEdge) and s.edge_kernel == V.DATA_KERNEL for s in schemes) or V.EDGE_LSQ in reweight
    need_moments = (
        need_sxx
        or any(isinstance(s, DPPNode) and isinstance(s.kernel, str) for s in schemes)
        or any(r in (V.FUSE_PREACTIVATION, V.FUSE_ACTIVATION) for r in reweight)
    )
    moments = (
        pw.data_moments(
            W, inputs, n_kernel, rng=rng_data, activation=activation, second_moment=need_sxx, progress=progress
        )
        if need_moments
        else None
    )

    rows: dict[str, Any] = {c: [] for c in ("scheme", "k", "budget", "param_fraction", "mask", "reweight", "eps_g")}
    nets: list[tuple[np.ndarray, np.ndarray]] = []

    def add(scheme: str, k: int, budget: int, frac: float, t: int, rw: str, Wp: np.ndarray, vp: np.ndarray) -> None:
        rows["scheme"].append(scheme)
        rows["k"].append(k)
        rows["budget"].append(budget)
        rows["param_fraction"].append(frac)
        rows["mask"].append(t)
        rows["reweight"].append(rw)
        rows["eps_g"].append(
            pw.pruned_eps_g(
                Wp, vp, wts.Wstar, wts.vstar, cov, activation, teacher_activation=teacher, student_scale=s_K,
                teacher_scale=s_M,
            )
        )  # fmt: skip
        nets.append((Wp, vp))

    add("unpruned", K, K, 1.0, 0, V.NO_REWEIGHT, W, wts.v)
    notes: list[tuple[str, str]] = []
    for scheme in schemes:
        node = scheme.node
        for k in keep:
            budget = pw.mask_budget(scheme, Budget(keep=k, N=N), K, N)
            frac = k / K if node else (budget + 1) / (N + 1)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pw.DeterministicMasksWarning)
                masks = pw.sample_masks(scheme, W, wts.v, budget, n_masks, rng_masks, moments=moments)
            if caught and scheme.name not in [n_[0] for n_ in notes]:
                notes.append((scheme.name, str(caught[0].message)))
            for t, m in enumerate(masks):
                for rw in reweight:
                    if rw == V.NO_REWEIGHT:
                        Wp, vp = pw.prune_nodes(W, wts.v, m) if node else (pw.prune_edges(W, m), wts.v)
                    elif node and rw in (V.FUSE_PREACTIVATION, V.FUSE_ACTIVATION):
                        signal = "preactivation" if rw == V.FUSE_PREACTIVATION else "activation"
                        assert moments is not None  # need_moments: every fusion reweighting
                        Wp, vp = pw.reweight_nodes(W, wts.v, m, moments, signal=signal)
                    elif not node and rw == V.EDGE_LSQ:
                        assert moments is not None and moments.Sxx is not None  # need_sxx: edge-lsq
                        Wp, vp = pw.reweight_edges(W, m, moments.Sxx), wts.v
                    else:
                        continue
                    add(scheme.name, k, budget, frac, t, rw, Wp, vp)
    for _name, msg in notes:
        # said once per scheme, not once per budget (the scheme is deterministic at every budget)
        warnings.warn(msg, pw.DeterministicMasksWarning, stacklevel=2)
    tl = pw.test_losses(
        nets,
        wts.Wstar,
        wts.vstar,
        inputs,
        n_test,
        sigma=sigma,
        rng=rng_test,
        activation=activation,
        teacher_activation=teacher,
        student_scale=s_K,
        teacher_scale=s_M,
        progress=progress,
    )
    rows.update(tl)
    records = {c: np.asarray(v) for c, v in rows.items()}
    params = dict(
        pipeline=pipeline,
        K=K,
        M=weights.M,
        N=N,
        n_train=n_train,
        n_kernel=n_kernel,
        n_test=n_test,
        n_masks=n_masks,
        sigma=sigma,
        importance=next((s.score for s in schemes if isinstance(s, ImportanceNode)), pipe.importance),
        scheme_options={s.name: s.options() for s in schemes},
        input_covariance="white" if cov is None else "given",
        activation=activation,
        model=net.to_dict(),
        renormalised=pipe.renormalise,
        seed=seed,
        keep=list(keep),
        schemes=[s.name for s in schemes],
        reweight=list(reweight),
        deterministic_notes=[m for _, m in notes],
    )
    res = PrunedStudent(records=records, weights=wts, params=params, moments=moments, trained=weights)
    if theory and cov is not None:
        # statmech.pruning is the white-input theory; with correlated inputs no prediction is given
        params["theory"] = "none: the N -> infinity pruning theory is for white inputs"
    elif theory:
        res.theory = theory_predictions(wts, schemes, keep, model=net, reweight=reweight)
    return res


def theory_predictions(
    weights: Weights,
    schemes: Scheme | str | Sequence[Scheme | str],
    keep: Iterable[int],
    *,
    model: Model | None = None,
    activation: str | None = None,
    reweight: Sequence[str] = (V.NO_REWEIGHT,),
) -> dict:
    """N -> infinity pruned eps_g (statmech.pruning) from the measured order parameters of ``weights``.

    The network is ``model`` (its activation, teacher activation and output
    scale; :func:`statmech.pruning.pruned_error`) or the student's ``activation``
    for both networks. ``schemes``: names or scheme objects (the theory takes the same objects);
    returns columns scheme, k, reweight, eps_g_theory. Edge schemes use keep
    fraction c = e / N with the paper's e for each k; ``edge-lsq`` rows repeat
    the plain edge value (no effect in the limit for white inputs).
    """
    m = resolve_model(model, activation=activation)
    state = weights.state()
    K, N = weights.K, weights.N
    out: dict[str, list[Any]] = {
        "scheme": ["unpruned"],
        "k": [K],
        "reweight": [V.NO_REWEIGHT],
        "eps_g_theory": [eps_g_arrays(state.Q, state.R, state.T, state.v, state.vstar, m)],
    }
    for scheme in schemes_with(schemes):
        for k in keep:
            variants = [V.NO_REWEIGHT]
            if scheme.node:
                variants += [r for r in reweight if r in (V.FUSE_PREACTIVATION, V.FUSE_ACTIVATION)]
            elif V.EDGE_LSQ in reweight:
                variants += [V.EDGE_LSQ]  # no effect as N -> infinity for white inputs (docs/theory/pruning.md)
            for rw in variants:
                if scheme.node:
                    res = pruning.pruned_error(
                        state, scheme, Budget(keep=k), model=m, reweight=rw, keep_distribution=False
                    )
                else:  # the plain edge value (edge-lsq has no effect in the limit)
                    res = pruning.pruned_error(state, scheme, Budget(keep=k, N=N), model=m, keep_distribution=False)
                out["scheme"].append(scheme.name)
                out["k"].append(k)
                out["reweight"].append(rw)
                out["eps_g_theory"].append(res.eps_g)
    return {c: np.asarray(v) for c, v in out.items()}


# --------------------------------------------------------------- aggregation
def aggregate(
    records: dict,
    by: Sequence[str] = ("sigma", "scheme", "k", "reweight"),
    measures: Sequence[str] = ("eps_g", "test_loss"),
) -> dict:
    """Mean and standard errors per setting: over masks within a seed, then over seeds.

    For each group of ``by`` (plus ``seed``): the mean over masks; then
    ``<m>_mean`` = mean over seeds of those means, ``<m>_stderr`` = their
    standard error across seeds (with one seed: the standard error over
    masks), ``<m>_mask_stderr`` = the mean within-seed standard error over masks,
    ``<m>_pooled_stderr`` = std / sqrt(n) of all (seed, mask) values pooled (with
    few seeds the across-seed error is itself uncertain; this one is steadier).
    """
    cols = {c: np.asarray(v) for c, v in records.items()}
    n = len(next(iter(cols.values())))
    by = [b for b in by if b in cols]
    seeds = cols["seed"] if "seed" in cols else np.zeros(n, dtype=int)
    keys = sorted({tuple(cols[b][i] for b in by) for i in range(n)}, key=lambda t: tuple(map(str, t)))
    out: dict[str, list[Any]] = {b: [] for b in by}
    out["n_seeds"] = []
    out["n_masks"] = []
    for m in measures:
        for suffix in ("mean", "stderr", "mask_stderr", "pooled_stderr"):
            out[f"{m}_{suffix}"] = []
    for key in keys:
        sel = np.ones(n, dtype=bool)
        for b, val in zip(by, key):
            sel &= cols[b] == val
        useeds = np.unique(seeds[sel])
        for b, val in zip(by, key):
            out[b].append(val)
        out["n_seeds"].append(len(useeds))
        out["n_masks"].append(int(sel.sum() // max(len(useeds), 1)))
        for m in measures:
            seed_means, mask_se = [], []
            for s in useeds:
                x = cols[m][sel & (seeds == s)].astype(float)
                seed_means.append(x.mean())
                mask_se.append(x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0)
            per_seed = np.asarray(seed_means)
            out[f"{m}_mean"].append(per_seed.mean())
            if len(per_seed) > 1:
                out[f"{m}_stderr"].append(per_seed.std(ddof=1) / np.sqrt(len(per_seed)))
            else:
                out[f"{m}_stderr"].append(mask_se[0])
            out[f"{m}_mask_stderr"].append(float(np.mean(mask_se)))
            allx = cols[m][sel].astype(float)
            out[f"{m}_pooled_stderr"].append(allx.std(ddof=1) / np.sqrt(len(allx)) if len(allx) > 1 else 0.0)
    return {c: np.asarray(v) for c, v in out.items()}


# ------------------------------------------------- Gaussian-coordinate check
def coordinate_check(weights: Weights) -> dict:
    """Test the working hypothesis of docs/theory/pruning.md on real weights.

    The coordinates z_j = (w_1j, ..., w_Kj, w*_1j, ..., w*_Mj), j = 1..N, are
    hypothesised to be N(0, C) with C = [[Q, R], [R^T, T]]. Second moments
    agree by construction (C is their empirical second moment), so the check
    is on the shape: for every coordinate a, the Kolmogorov-Smirnov statistic
    of z_aj / sqrt(C_aa) against N(0, 1) and the excess kurtosis (0 for a
    Gaussian, standard error sqrt(24/N)); for every student-teacher pair the KS
    statistic of the residual w_ij - (R_in / T_nn) w*_nj (Gaussian with
    variance Q_ii - R_in^2 / T_nn under the hypothesis); and a pooled KS
    statistic of all whitened coordinates C^{-1/2} z_j. The p-values are
    those of the standard KS test, conservative here because the variances
    are estimated from the same data.
    """

    st = weights.state()
    Z = np.vstack([weights.W, weights.Wstar]).T  # N x (K + M)
    N, D = Z.shape
    C = st.covariance()
    names = [f"w{i}" for i in range(st.K)] + [f"w*{n}" for n in range(st.M)]
    out: dict[str, list[Any]] = {"name": [], "ks": [], "ks_pvalue": [], "excess_kurtosis": [], "kurtosis_stderr": []}
    for a in range(D):
        z = Z[:, a] / np.sqrt(C[a, a])
        ks = stats.kstest(z, "norm")
        out["name"].append(names[a])
        out["ks"].append(ks.statistic)
        out["ks_pvalue"].append(ks.pvalue)
        out["excess_kurtosis"].append(float(np.mean(z**4) - 3.0))
        out["kurtosis_stderr"].append(np.sqrt(24.0 / N))
    pairs: dict[str, list[Any]] = {"pair": [], "ks": [], "ks_pvalue": []}
    for i in range(st.K):
        for n in range(st.M):
            b = st.R[i, n] / st.T[n, n]
            var = st.Q[i, i] - st.R[i, n] ** 2 / st.T[n, n]
            r = (weights.W[i] - b * weights.Wstar[n]) / np.sqrt(max(var, 1e-300))
            ks = stats.kstest(r, "norm")
            pairs["pair"].append(f"w{i}|w*{n}")
            pairs["ks"].append(ks.statistic)
            pairs["ks_pvalue"].append(ks.pvalue)
    lam, U = np.linalg.eigh(C)
    ok = lam > 1e-10 * lam.max()
    Y = (Z @ U[:, ok]) / np.sqrt(lam[ok])
    pooled = stats.kstest(Y.ravel(), "norm")
    return {
        "marginals": {c: np.asarray(v) for c, v in out.items()},
        "pairs": {c: np.asarray(v) for c, v in pairs.items()},
        "whitened_ks": float(pooled.statistic),
        "whitened_ks_pvalue": float(pooled.pvalue),
        "ks_critical_1pct": 1.63 / np.sqrt(N),
        "N": N,
    }


def inclusion_check(
    w: ArrayLike, Sxx: ArrayLike, e: int, n_masks: int, rng: np.random.Generator | int | None = None
) -> dict:
    """Inclusion frequencies of DPP-edge masks from the real kernel vs lam w^2 / (1 + lam w^2).

    lam solves sum_j lam w_j^2 / (1 + lam w_j^2) = e (docs/theory/pruning.md at finite
    N). Returns the frequencies, the prediction, z-scores (freq - pi) /
    sqrt(pi (1 - pi) / n_masks) and their root mean square (about 1 when the
    masks follow the prediction within sampling error).
    """

    w = np.asarray(w, dtype=np.float64)
    masks = pw.dpp_edge_masks(w[None, :], e, n_masks, rng, Sxx=Sxx)[:, 0, :]
    w2 = w**2
    lam = brentq(lambda t: np.sum(t * w2 / (1 + t * w2)) - e, 1e-12, 1e12)
    pi = lam * w2 / (1 + lam * w2)
    freq = masks.mean(0)
    z = (freq - pi) / np.sqrt(np.maximum(pi * (1 - pi), 1e-300) / n_masks)
    return {
        "freq": freq,
        "pi": pi,
        "z": z,
        "z_rms": float(np.sqrt(np.mean(z**2))),
        "max_abs_z": float(np.max(np.abs(z))),
        "lam": lam,
        "n_masks": n_masks,
    }


# ------------------------------------------------------------- experiments
def train_student(
    K: int,
    M: int,
    N: int,
    alpha: float,
    sigma: float,
    seed: int,
    *,
    vstar: float | ArrayLike = 4.0,
    model: Model | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    activation: str | None = None,
    progress: bool | None = None,
) -> Weights:
    """A student trained by online SGD (statmech.sim) from Weights.random(K, M, N, vstar, seed).

    The learning problem is ``model`` (every field: activations, rates, weight
    decay, batch size, output scale; its sigma replaced by ``sigma``) or the
    keywords ``eta`` (default 0.5), ``eta_v`` (default eta) and ``activation``.
    """

    m = resolve_model(model, eta=eta, eta_v=eta_v, activation=activation).replace(sigma=sigma)
    init = Weights.random(K, M, N, vstar=vstar, seed=seed)
    r = simulate(init, m, alpha_max=alpha, seed=seed, progress=progress)
    if r.status != 0:
        raise ValueError(f"training the student of seed {seed} did not finish: {r.message}")
    return r.weights


def _concat(parts: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    keys = list(parts[0])
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in keys}


def prune_students(
    *,
    K: int = 6,
    M: int = 2,
    N: int = 500,
    alpha: float = 1600.0,
    sigmas: float | Sequence[float] = (0.0,),
    seeds: int = 3,
    seed0: int = 0,
    students: Iterable[Weights] | None = None,
    vstar: float | ArrayLike = 4.0,
    model: Model | None = None,
    eta: float | None = None,
    eta_v: float | None = None,
    activation: str | None = None,
    pipeline: str = V.PAPER_PIPELINE,
    on_student: Callable[[dict[str, Any]], object] | None = None,
    progress: bool | None = None,
    **prune_kwargs: Any,
) -> dict:
    """Train (or take) students, prune each with every scheme and budget, and compare with the theory.

    For every sigma and student seed (seed0, seed0+1, ...): train with
    ``train_student`` (or use ``students[i]``, a list of Weights), then
    ``prune_student(..., n_train = alpha N)``. Returns {"records": per-mask
    columns with seed and sigma, "theory": per-student theory, "summary":
    aggregated with theory columns, "results": the PruneResults}.
    ``on_student(partial)`` is called after each student with the same dict
    (so a caller can write files as it goes and keep them on Ctrl-C).
    ``model`` (or ``eta``, ``eta_v``, ``activation``): the learning problem the
    students are trained on and scored with (:func:`train_student`,
    :func:`prune_student`), its sigma replaced by each of ``sigmas``; given
    ``students`` are not trained, so a weight decay or batch size is refused.
    """
    sigmas = tuple(float(x) for x in np.atleast_1d(sigmas))
    m = resolve_model(model, eta=eta, eta_v=eta_v, activation=activation)
    if students is not None:
        if m.weight_decay != 0 or m.batch_size != 1:
            raise ValueError(
                f"weight_decay={m.weight_decay} and batch_size={m.batch_size} are training options; "
                "the given students are not trained (use weight_decay=0, batch_size=1)"
            )
        students = list(students)
        if not students:
            raise ValueError("students must be a non-empty list of Weights")
        seed_list = list(range(seed0, seed0 + len(students)))
        N = students[0].N
    else:
        seed_list = list(range(seed0, seed0 + check_int("runs (number of students)", seeds, 1)))
    n_train = max(1, int(round(alpha * N)))
    recs: list[dict[str, Any]] = []
    ths: list[dict[str, Any]] = []
    results: list[PrunedStudent] = []
    notes: list[str] = []
    out: dict[str, Any] = {}
    for si, sigma in enumerate(sigmas):
        for j, seed in enumerate(seed_list):
            w = (
                students[j]
                if students is not None
                else train_student(
                    K,
                    M,
                    N,
                    alpha,
                    sigma,
                    seed,
                    vstar=vstar,
                    model=m,
                    progress=progress,
                )
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pw.DeterministicMasksWarning)
                res = prune_student(
                    w,
                    n_train=n_train,
                    pipeline=pipeline,
                    model=m.replace(sigma=sigma),
                    seed=(seed, si, 8),
                    progress=progress,
                    **prune_kwargs,
                )
            for c in caught:
                if issubclass(c.category, pw.DeterministicMasksWarning):
                    if str(c.message) not in notes:  # said once for the whole experiment
                        notes.append(str(c.message))
                        warnings.warn(str(c.message), pw.DeterministicMasksWarning, stacklevel=2)
                else:
                    warnings.warn_explicit(c.message, c.category, c.filename, c.lineno)
            n = len(res.records["scheme"])
            rec = dict(res.records, seed=np.full(n, seed), sigma=np.full(n, sigma))
            recs.append(rec)
            if res.theory:
                n_th = len(res.theory["scheme"])
                ths.append(dict(res.theory, seed=np.full(n_th, seed), sigma=np.full(n_th, sigma)))
            results.append(res)
            out = {"records": _concat(recs), "theory": _concat(ths) if ths else {}, "results": results, "notes": notes}
            out["summary"] = summarise(out["records"], out["theory"])
            if on_student is not None:
                on_student(out)
    return out


def summarise(records: dict, theory: dict) -> dict:
    """``aggregate`` of the records plus theory columns: ``eps_g_theory_mean`` / ``_stderr`` over
    students and ``test_loss_theory_mean`` = eps_g theory + sigma^2/2 (the expected noisy test loss)."""
    summ = aggregate(records)
    n = len(summ["scheme"])
    tm, ts = np.full(n, np.nan), np.full(n, np.nan)
    if theory:
        for i in range(n):
            sel = (
                (theory["sigma"] == summ["sigma"][i])
                & (theory["scheme"] == summ["scheme"][i])
                & (theory["k"] == summ["k"][i])
                & (theory["reweight"] == summ["reweight"][i])
            )
            if np.any(sel):
                x = theory["eps_g_theory"][sel].astype(float)
                tm[i] = x.mean()
                ts[i] = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
    summ["eps_g_theory_mean"] = tm
    summ["eps_g_theory_stderr"] = ts
    summ["test_loss_theory_mean"] = tm + 0.5 * summ["sigma"].astype(float) ** 2
    return summ


def gaussian_surrogate_errors(
    weights: Weights,
    scheme: Scheme | str,
    e: int,
    n_draws: int = 20,
    rng: np.random.Generator | int | None = None,
    activation: str | None = None,
    *,
    model: Model | None = None,
    match_order_parameters: bool = False,
) -> np.ndarray:
    """Finite-N spread of an edge scheme's pruned eps_g if the coordinates were exactly Gaussian.

    Draws ``n_draws`` surrogate weight sets whose N coordinates are i.i.d.
    N(0, C), C = [[Q, R], [R^T, T]] of ``weights`` (same N), prunes each with one
    mask of ``scheme`` keeping e edges per unit (DPP edge with its white-input
    kernel diag(w^2)) and returns the pruned eps_g of each: the scatter a
    single real student shows around the N -> infinity prediction even when
    the Gaussian-coordinate hypothesis holds. The network is ``model`` (its
    activations and output scale) or the student's ``activation`` (default erf).
    ``match_order_parameters=True``: every surrogate has exactly the order
    parameters of ``weights`` (Z = A G with A A^T = C and G G^T = N I, G the
    scaled orthonormalised rows of a Gaussian matrix, so Z Z^T / N = C), and the
    spread is the one edge pruning adds at fixed order parameters.
    """
    m = resolve_model(model, activation=activation)
    name = V.check_choice("scheme", getattr(scheme, "name", scheme), V.EDGE_SCHEMES)
    # DPP edge with its white-input kernel diag(w^2): the surrogate has no data set
    surrogate: Scheme | str = DPPEdge(edge_kernel=V.DIAGONAL_KERNEL) if name == V.DPP_EDGE else name
    rng = np.random.default_rng(rng)
    st = weights.state()
    K, N = weights.K, weights.N
    C = st.covariance()
    lam, U = np.linalg.eigh(C)
    A = U * np.sqrt(np.maximum(lam, 0.0))
    if match_order_parameters and N < C.shape[0]:
        raise ValueError(f"match_order_parameters needs N >= K + M = {C.shape[0]} coordinates, got N={N}")
    out = np.empty(check_int("n_draws", n_draws, 1))
    for t in range(out.size):
        G = rng.standard_normal((C.shape[0], N))
        if match_order_parameters:
            # N^(1/2) times the orthonormalised rows: G G^T = N I exactly (uniform on the Stiefel manifold)
            G = np.sqrt(N) * np.linalg.qr(G.T)[0].T
        Z = A @ G
        W, Wstar = Z[:K], Z[K:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pw.DeterministicMasksWarning)
            mask = pw.sample_masks(surrogate, W, st.v, e, 1, rng)[0]
        out[t] = pw.pruned_eps_g(
            pw.prune_edges(W, mask),
            st.v,
            Wstar,
            st.vstar,
            activation=m.activation,
            teacher_activation=m.teacher_activation,
            student_scale=m.student_scale(K),
            teacher_scale=m.teacher_scale(weights.M),
        )
    return out


def load_students(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Weights], tuple[int, int, int]]:
    """(list of Weights, (K, M, N)) from ``statmech.Weights`` files, which must share (K, M, N)."""
    students = [Weights.load(f) for f in paths]
    if not students:
        raise ValueError("weights: give at least one statmech.Weights file")
    shapes = {(w.K, w.M, w.N) for w in students}
    if len(shapes) > 1:
        raise ValueError(f"weights files must share (K, M, N), got {sorted(shapes)}")
    return students, shapes.pop()


def coordinate_table(checks: Iterable[dict[str, Any]]) -> dict:
    """One table of :func:`coordinate_check` results (one per student): marginals, pairs and the pooled test."""
    cols: dict[str, list[Any]] = {
        "student": [],
        "name": [],
        "ks": [],
        "ks_pvalue": [],
        "excess_kurtosis": [],
        "kurtosis_stderr": [],
    }
    for i, chk in enumerate(checks):
        mg = chk["marginals"]
        rows = list(zip(mg["name"], mg["ks"], mg["ks_pvalue"], mg["excess_kurtosis"], mg["kurtosis_stderr"]))
        rows += [
            (n, k, p, np.nan, np.nan)
            for n, k, p in zip(chk["pairs"]["pair"], chk["pairs"]["ks"], chk["pairs"]["ks_pvalue"])
        ]
        rows += [("whitened (pooled)", chk["whitened_ks"], chk["whitened_ks_pvalue"], np.nan, np.nan)]
        for r in rows:
            cols["student"].append(i)
            for c, x in zip(list(cols)[1:], r):
                cols[c].append(x)
    return cols
