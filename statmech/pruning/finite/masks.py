"""Masks and reweighting on real weight matrices (finite N; docs/theory/pruning.md, section 7).

Everything here acts on a real first-layer weight matrix ``W`` (K x N, one
row per hidden unit) and second-layer weights ``v`` (K), and on real input
data, so the teacher-student simulations and real-data MLPs share it:

- masks for the six schemes of docs/architecture.md (names of ``statmech.core.vocabulary``,
  or the scheme objects of ``statmech.pruning.schemes`` with their options);
  node masks are boolean arrays (n_masks, K), edge masks (n_masks, K, N);
- kernels estimated from data, streamed in blocks so that memory stays
  O(N^2 + K N) whatever the number P of inputs: the input second moment
  S = X^T X / P, the pre-activation Gram (1/P) sum lambda lambda^T = W S W^T s^2
  and the activation Gram (1/P) sum g(lambda) g(lambda)^T;
- least-squares reweighting ("fusing", Diversity Networks) of pruned units
  into kept ones, and of pruned edges into kept edges of the same unit, with
  the pruned units truly removed;
- the pruned network's error: eps_g from its order parameters (exact for
  Gaussian inputs with covariance Sigma: Q = W Sigma W^T / N, ...) and the
  empirical test loss (phi - y)^2 / 2 on a (noisy) test set, streamed.

k-DPP sampling is ``statmech.dpp`` (exact spectral algorithm); nothing here
re-implements it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from math import sqrt
from typing import Any, cast, overload

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg as sla
from scipy import sparse
from scipy.special import erf as _erf

from statmech.core import vocabulary as V
from statmech.core.budgets import Budget
from statmech.core.validation import check_int
from statmech.core.vocabulary import EDGE_SCHEMES, IMPORTANCE_SCORES, NODE_KERNELS, NODE_SCHEMES, SCHEMES
from statmech.dpp.kdpp import KDPP, DiagonalKDPP
from statmech.ode.generalisation import eps_g_arrays
from statmech.pruning.reweight import fuse
from statmech.pruning.schemes import DPPEdge, DPPNode, ImportanceNode, Scheme, as_scheme
from statmech.pruning.theory import node as _theory_node
from statmech.pruning.theory.node import importance_distribution, importance_scores

__all__ = [
    "NODE_SCHEMES",
    "EDGE_SCHEMES",
    "SCHEMES",
    "NODE_KERNELS",
    "IMPORTANCE_SCORES",
    "DeterministicMasksWarning",
    "PaperBugWarning",
    "activation_function",
    "GaussianInputs",
    "ArrayInputs",
    "toeplitz_covariance",
    "DataMoments",
    "data_moments",
    "node_kernel",
    "edge_kernel",
    "check_node_budget",
    "check_edge_budget",
    "is_deterministic",
    "mask_budget",
    "random_node_masks",
    "importance_node_mask",
    "importance_scores",
    "dpp_node_masks",
    "random_edge_masks",
    "importance_edge_mask",
    "dpp_edge_masks",
    "sample_masks",
    "prune_nodes",
    "prune_edges",
    "fuse_nodes",
    "reweight_nodes",
    "reweight_edges",
    "order_parameters",
    "pruned_eps_g",
    "test_losses",
]

_DEFAULT_BLOCK = 4096


class DeterministicMasksWarning(UserWarning):
    """More masks were asked of a deterministic scheme than it has distinct masks."""


class PaperBugWarning(UserWarning):
    """A deliberate reproduction of a bug of the paper's code was requested."""


# --------------------------------------------------------------------- inputs
# An activation by name (erf, linear, relu) or as a numpy function of the pre-activations.
_Activation = str | Callable[[np.ndarray], np.ndarray]
_Rng = np.random.Generator | int | None


def activation_function(activation: _Activation) -> Callable[[np.ndarray], np.ndarray]:
    """g as a numpy function: ``"erf"`` (erf(u/sqrt 2)), ``"linear"``, ``"relu"``, or a callable."""
    if callable(activation):
        return activation
    if activation == V.ERF:
        return lambda u: _erf(u / sqrt(2.0))
    if activation == V.LINEAR:
        return lambda u: u
    if activation == V.RELU:
        return lambda u: np.maximum(u, 0.0)
    raise ValueError(f"activation must be one of {', '.join(V.ACTIVATIONS)} or a callable, got {activation!r}")


def toeplitz_covariance(N: int, rho: float) -> np.ndarray:
    """Sigma_ij = rho^|i-j| (unit variances, AR(1) correlations); |rho| < 1."""
    N = _int_at_least("N", N, 1)
    if not -1.0 < float(rho) < 1.0:
        raise ValueError(f"rho (input correlation) must lie in (-1, 1), got {rho}")
    idx = np.arange(N)
    return float(rho) ** np.abs(idx[:, None] - idx[None, :])


def _int_at_least(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, np.bool_):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return check_int(name, value, minimum)


class GaussianInputs:
    """Inputs x ~ N(0, Sigma) in R^N (white, Sigma = I, when ``covariance`` is None).

    Drawn on the fly in blocks (x = z A^T with Sigma = A A^T), never stored.
    """

    def __init__(self, N: int, covariance: ArrayLike | None = None) -> None:
        self.N = _int_at_least("N", N, 1)
        self.covariance: np.ndarray | None
        self._chol: np.ndarray | None
        if covariance is None:
            self.covariance = None
            self._chol = None
        else:
            C = np.array(covariance, dtype=np.float64)
            if C.shape != (self.N, self.N):
                raise ValueError(f"input covariance must have shape ({self.N}, {self.N}), got {C.shape}")
            if not np.all(np.isfinite(C)) or np.max(np.abs(C - C.T)) > 1e-9 * max(1.0, np.max(np.abs(C))):
                raise ValueError("input covariance must be a finite symmetric matrix")
            try:
                self._chol = np.linalg.cholesky(0.5 * (C + C.T))
            except np.linalg.LinAlgError:
                raise ValueError("input covariance must be positive definite (Cholesky failed)") from None
            self.covariance = 0.5 * (C + C.T)

    @property
    def white(self) -> bool:
        return self.covariance is None

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((int(n), self.N))
        return z if self._chol is None else z @ self._chol.T

    def blocks(self, P: int, rng: _Rng = None, block_size: int = _DEFAULT_BLOCK) -> Iterator[np.ndarray]:
        """Yield P inputs as arrays of at most ``block_size`` rows."""
        P = _int_at_least("P (number of inputs)", P, 1)
        rng = np.random.default_rng(rng)
        done = 0
        while done < P:
            b = min(block_size, P - done)
            yield self.sample(b, rng)
            done += b

    def __repr__(self) -> str:
        return f"GaussianInputs(N={self.N}, {'white' if self.white else 'correlated'})"


class ArrayInputs:
    """A fixed data set X (P x N), e.g. the training inputs of a real-data MLP."""

    def __init__(self, X: ArrayLike) -> None:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must be a non-empty 2-D array (P x N), got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite entries")
        self.X = X
        self.N = X.shape[1]
        self.covariance = None

    @property
    def white(self) -> bool:
        return False

    def blocks(self, P: int | None = None, rng: _Rng = None, block_size: int = _DEFAULT_BLOCK) -> Iterator[np.ndarray]:
        """Yield the first P rows of X (all when P is None) in blocks of at most ``block_size``; ``rng`` is unused."""
        P = self.X.shape[0] if P is None else _int_at_least("P (number of inputs)", P, 1)
        if P > self.X.shape[0]:
            raise ValueError(f"P={P} inputs requested but the data set has only {self.X.shape[0]}")
        for s in range(0, P, block_size):
            yield self.X[s : min(P, s + block_size)]


@overload
def _check_W(W: ArrayLike, v: None = None) -> np.ndarray: ...
@overload
def _check_W(W: ArrayLike, v: ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...
def _check_W(W: ArrayLike, v: ArrayLike | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"W must be a non-empty K x N matrix, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or infinite entries")
    if v is None:
        return W
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (W.shape[0],):
        raise ValueError(f"v must have length K={W.shape[0]} (rows of W), got shape {v.shape}")
    return W, v


# -------------------------------------------------------------- data moments
@dataclass(frozen=True)
class DataMoments:
    """Second moments of P inputs and of the K units' signals on them.

    ``Sxx`` = X^T X / P (N x N, or None when not requested), ``G_pre`` =
    (1/P) sum_mu lambda_mu lambda_mu^T (the paper's linear node kernel),
    ``G_act`` = (1/P) sum_mu g(lambda_mu) g(lambda_mu)^T, with
    lambda = s W x + b (s = ``input_scale``, 1/sqrt(N) in teacher-student).
    """

    P: int
    Sxx: np.ndarray | None
    G_pre: np.ndarray
    G_act: np.ndarray
    input_scale: float


def data_moments(
    W: ArrayLike,
    inputs: GaussianInputs | ArrayInputs | np.ndarray,
    P: int | None = None,
    *,
    rng: _Rng = None,
    activation: _Activation = "erf",
    input_scale: float | None = None,
    bias: ArrayLike | None = None,
    second_moment: bool = True,
    block_size: int = _DEFAULT_BLOCK,
    progress: bool | None = None,
) -> DataMoments:
    """Stream P inputs once and accumulate S = X^T X/P, (1/P) sum lambda lambda^T, (1/P) sum g g^T.

    Memory O(N^2 + K N + block_size N): no K x P x N (or P x N) array is ever
    built. ``inputs``: a :class:`GaussianInputs` (then P is required and ``rng``
    seeds the draws) or an :class:`ArrayInputs` / array X (P defaults to all rows).
    """
    W = _check_W(W)
    K, N = W.shape
    if isinstance(inputs, np.ndarray):
        inputs = ArrayInputs(inputs)
    if inputs.N != N:
        raise ValueError(f"inputs have dimension {inputs.N} but W has N={N} columns")
    if P is None:
        if not isinstance(inputs, ArrayInputs):
            raise ValueError("P (number of inputs) is required for Gaussian inputs")
        P = inputs.X.shape[0]
    P = _int_at_least("P (number of inputs)", P, 1)
    scale = 1.0 / sqrt(N) if input_scale is None else float(input_scale)
    b = np.zeros(K) if bias is None else np.asarray(bias, dtype=np.float64).reshape(K)
    g = activation_function(activation)
    S = np.zeros((N, N)) if second_moment else None
    Gp = np.zeros((K, K))
    Ga = np.zeros((K, K))
    from tqdm.auto import tqdm

    bar = tqdm(total=P, desc="data moments", unit="x", disable=None if progress is None else not progress, leave=False)
    try:
        for X in inputs.blocks(P, rng, block_size):
            lam = scale * (X @ W.T) + b
            Gp += lam.T @ lam
            a = g(lam)
            Ga += a.T @ a
            if S is not None:
                # X^T X is the O(P N^2) part of the cost; a general BLAS product (measured faster here
                # than syrk, which computes half the flops, with this machine's OpenBLAS)
                S += X.T @ X
            bar.update(X.shape[0])
    finally:
        bar.close()
    if S is not None:
        S = 0.5 * (S + S.T) / P
    return DataMoments(P=P, Sxx=S, G_pre=0.5 * (Gp + Gp.T) / P, G_act=0.5 * (Ga + Ga.T) / P, input_scale=scale)


def node_kernel(
    moments: DataMoments,
    kind: str | ArrayLike = V.LINEAR_PREACTIVATION,
    beta: float = 1.0,
    eps: float = 0.0,
    jitter: float = 0.0,
) -> np.ndarray:
    """K x K node kernel estimated from data (docs/theory/pruning.md), by the theory's one implementation.

    ``linear-preactivation`` (the paper's): (1/P) sum lambda lambda^T;
    ``linear-activation``: (1/P) sum g g^T; ``gaussian`` (Diversity Networks,
    Mariet & Sra 2016): exp(-beta (1/P) sum (g_i - g_j)^2) + eps delta_ij;
    ``jitter`` adds jitter * I (:func:`statmech.pruning.theory.node.node_kernel`
    with the data Grams in place of Q and I2).
    """
    if isinstance(kind, str) and kind not in NODE_KERNELS:
        raise ValueError(f"node kernel must be one of {', '.join(NODE_KERNELS)}, got {kind!r}")
    return _theory_node.node_kernel(moments.G_pre, moments.G_act, kind, beta=beta, eps=eps, jitter=jitter)


def edge_kernel(w: ArrayLike, Sxx: np.ndarray) -> np.ndarray:
    """Unit i's edge kernel (1/P) sum_mu (x_mu * w)(x_mu * w)^T = diag(w) (X^T X / P) diag(w)."""
    w = np.asarray(w, dtype=np.float64)
    return w[:, None] * Sxx * w[None, :]


# -------------------------------------------------------------------- budgets
def check_node_budget(k: Any, K: int) -> int:
    """k as an int in 1..K (bools refused), else ValueError naming the range."""
    if isinstance(k, (bool, np.bool_)) or not float(k).is_integer() or not 1 <= int(k) <= K:
        raise ValueError(f"k (units kept) must be an integer in 1..K={K}, got {k!r}")
    return int(k)


def check_edge_budget(e: Any, N: int) -> int:
    """e as an int in 1..N (bools refused), else ValueError naming the range."""
    if isinstance(e, (bool, np.bool_)) or not float(e).is_integer() or not 1 <= int(e) <= N:
        raise ValueError(f"e (edges kept per unit) must be an integer in 1..N={N}, got {e!r}")
    return int(e)


def is_deterministic(scheme: Scheme | str) -> bool:
    """Importance schemes give one mask; random and DPP schemes are distributions."""
    return as_scheme(scheme).deterministic


def _check_n_masks(n_masks: Any) -> int:
    return _int_at_least("n_masks", n_masks, 1)


def _deterministic_count(scheme: str, n_masks: int) -> int:
    if n_masks > 1:
        warnings.warn(
            f"{scheme} is deterministic: it has one mask, returned once instead of {n_masks} identical copies",
            DeterministicMasksWarning,
            stacklevel=3,
        )
    return 1


# ---------------------------------------------------------------- node masks
def random_node_masks(K: int, k: int, n_masks: int = 1, rng: _Rng = None) -> np.ndarray:
    """n_masks independent uniform k-subsets of the K units, as (n_masks, K) booleans."""
    k = check_node_budget(k, K)
    n = _check_n_masks(n_masks)
    rng = np.random.default_rng(rng)
    masks = np.zeros((n, K), dtype=bool)
    for t in range(n):
        masks[t, rng.choice(K, size=k, replace=False)] = True
    return masks


def importance_node_mask(v: ArrayLike, k: int, score: str = V.ABS_V, Q_diag: ArrayLike | None = None) -> np.ndarray:
    """Keep the k units with the largest score (ties: lower index first). Returns (K,) booleans."""
    s = importance_scores(v, score, Q_diag)
    k = check_node_budget(k, s.shape[0])
    mask = np.zeros(s.shape[0], dtype=bool)
    mask[np.argsort(-s, kind="stable")[:k]] = True
    return mask


def dpp_node_masks(L: ArrayLike, k: int, n_masks: int = 1, rng: _Rng = None) -> np.ndarray:
    """n_masks exact k-DPP samples over the K units, P(S) = det(L_S) / e_k(L)."""

    L = np.asarray(L, dtype=np.float64)
    K = L.shape[0]
    k = check_node_budget(k, K)
    n = _check_n_masks(n_masks)
    try:
        dpp = KDPP(L, k)
    except ValueError as exc:
        raise ValueError(f"dpp-node with k={k}: {exc}") from None
    idx = np.atleast_2d(dpp.sample(rng=np.random.default_rng(rng), size=n))
    masks = np.zeros((n, K), dtype=bool)
    np.put_along_axis(masks, idx, True, axis=1)
    return masks


# ---------------------------------------------------------------- edge masks
def random_edge_masks(K: int, N: int, e: int, n_masks: int = 1, rng: _Rng = None) -> np.ndarray:
    """Each weight kept independently with probability e/N (docs/theory/pruning.md): (n_masks, K, N)."""
    e = check_edge_budget(e, N)
    n = _check_n_masks(n_masks)
    rng = np.random.default_rng(rng)
    return rng.random((n, K, N)) < e / N


def importance_edge_mask(W: ArrayLike, e: int) -> np.ndarray:
    """Keep the e largest |w_ij| of each unit (ties: lower index first): (K, N) booleans."""
    W = _check_W(W)
    e = check_edge_budget(e, W.shape[1])
    order = np.argsort(-np.abs(W), axis=1, kind="stable")[:, :e]
    mask = np.zeros(W.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def dpp_edge_masks(
    W: ArrayLike, e: int, n_masks: int = 1, rng: _Rng = None, *, Sxx: ArrayLike | None = None
) -> np.ndarray:
    """Per unit i, n_masks exact k-DPP samples (k = e) over its N incoming edges.

    Kernel diag(w_i) S diag(w_i) with S = X^T X / P from data (``Sxx``); with
    ``Sxx=None`` the white-input limit diag(w_i^2) (statmech.dpp.DiagonalKDPP,
    O(N e) per sample without eigendecomposition). Returns (n_masks, K, N).
    """

    W = _check_W(W)
    K, N = W.shape
    e = check_edge_budget(e, N)
    n = _check_n_masks(n_masks)
    rng = np.random.default_rng(rng)
    if Sxx is not None:
        Sxx = np.asarray(Sxx, dtype=np.float64)
        if Sxx.shape != (N, N):
            raise ValueError(f"Sxx (input second moment) must have shape ({N}, {N}), got {Sxx.shape}")
    masks = np.zeros((n, K, N), dtype=bool)
    for i in range(K):
        try:
            dpp = DiagonalKDPP(W[i] ** 2, e) if Sxx is None else KDPP(edge_kernel(W[i], Sxx), e)
        except ValueError as exc:
            raise ValueError(
                f"dpp-edge for unit {i} with e={e}: {exc} (the kernel's rank is limited by the "
                f"number of nonzero weights and by the number P of data points)"
            ) from None
        idx = np.atleast_2d(dpp.sample(rng=rng, size=n))
        np.put_along_axis(masks[:, i, :], idx, True, axis=1)
    return masks


def mask_budget(scheme: Scheme | str, budget: Budget | int, K: int, N: int) -> int:
    """The mask-level count of a budget: k units (node schemes) or e edges per unit (edge schemes).

    ``budget``: a :class:`~statmech.core.budgets.Budget` (k units are matched to e
    by the paper's rule, a fraction c gives round(c N)), or an int that is already
    that count.
    """
    scheme = as_scheme(scheme)
    if isinstance(budget, Budget):
        return budget.units(K) if scheme.node else budget.edges_per_unit(K, N)
    return check_node_budget(budget, K) if scheme.node else check_edge_budget(budget, N)


def sample_masks(
    scheme: Scheme | str,
    W: ArrayLike,
    v: ArrayLike,
    budget: Budget | int,
    n_masks: int = 1,
    rng: _Rng = None,
    *,
    moments: DataMoments | None = None,
) -> np.ndarray:
    """Masks of any scheme: (n, K) booleans for node schemes, (n, K, N) for edge schemes.

    ``scheme``: a name (default options) or a scheme object of
    ``statmech.pruning.schemes`` (importance score and ties, DPP node kernel,
    DPP edge kernel ``data`` or ``diagonal``). ``budget``: see :func:`mask_budget`
    (an int is k for node schemes, e for edge schemes). Deterministic
    (importance) schemes return a single mask (with a
    :class:`DeterministicMasksWarning` when more were asked; with
    ``ties="average"`` every tie-breaking mask once, so that their mean is the
    tie average). DPP node and DPP edge with the data kernel need ``moments``
    (from :func:`data_moments`).
    """
    scheme = as_scheme(scheme)
    W, v = _check_W(W, v)
    K, N = W.shape
    n = _check_n_masks(n_masks)
    b = mask_budget(scheme, budget, K, N)
    name = scheme.name
    if name == V.RANDOM_NODE:
        return random_node_masks(K, b, n, rng)
    if isinstance(scheme, ImportanceNode):
        q = np.sum(W * W, axis=1) / N
        if scheme.ties == V.TIES_AVERAGE:
            sets, _ = importance_distribution(importance_scores(v, scheme.score, q), b, ties=V.TIES_AVERAGE)
            masks = np.zeros((sets.shape[0], K), dtype=bool)
            np.put_along_axis(masks, sets, True, axis=1)
            return masks if sets.shape[0] > 1 else np.repeat(masks, _deterministic_count(name, n), axis=0)
        mask = importance_node_mask(v, b, scheme.score, Q_diag=q)
        return np.repeat(mask[None], _deterministic_count(name, n), axis=0)
    if isinstance(scheme, DPPNode):
        if isinstance(scheme.kernel, str):
            if moments is None:
                raise ValueError(
                    "dpp-node needs data moments (statmech.pruning.finite.masks.data_moments) for its kernel"
                )
            L = node_kernel(moments, scheme.kernel, scheme.width, scheme.ridge, scheme.jitter)
        else:
            L = cast(np.ndarray, scheme.kernel) + scheme.jitter * np.eye(K)  # DPPNode stores an array kernel as ndarray
        return dpp_node_masks(L, b, n, rng)
    if name == V.RANDOM_EDGE:
        return random_edge_masks(K, N, b, n, rng)
    if name == V.IMPORTANCE_EDGE:
        mask = importance_edge_mask(W, b)
        return np.repeat(mask[None], _deterministic_count(name, n), axis=0)
    assert isinstance(scheme, DPPEdge)
    if scheme.edge_kernel == V.DATA_KERNEL:
        if moments is None or moments.Sxx is None:
            raise ValueError(
                "dpp-edge with the data kernel needs data moments with the input second moment "
                "(data_moments(..., second_moment=True)); DPPEdge(edge_kernel='diagonal') needs none"
            )
        return dpp_edge_masks(W, b, n, rng, Sxx=moments.Sxx)
    return dpp_edge_masks(W, b, n, rng)


# -------------------------------------------------------- pruning, reweighting
def prune_nodes(W: ArrayLike, v: ArrayLike, keep: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The pruned network (W[S], v[S]): removed units are gone, not zeroed and left active."""
    W, v = _check_W(W, v)
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != v.shape or not keep.any():
        raise ValueError(f"node mask must be K={v.shape[0]} booleans with at least one True")
    return W[keep], v[keep]


def prune_edges(W: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """m * W: every unit keeps the edges its mask row marks."""
    W = _check_W(W)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != W.shape:
        raise ValueError(f"edge mask must have the shape of W {W.shape}, got {mask.shape}")
    return np.where(mask, W, 0.0)


def fuse_nodes(G: ArrayLike, v: ArrayLike, keep: ArrayLike) -> np.ndarray:
    """Least-squares fusion v_S <- v_S + G_SS^+ G_{S,Sc} v_Sc (docs/theory/pruning.md; Diversity Networks).

    Regresses the removed units' contribution sum_{j in Sc} v_j s_j on the kept
    signals s_S, G being their Gram matrix (1/P) sum s s^T; ``v`` may be (K,) or
    (K, H2). Computed by :func:`statmech.pruning.reweight.fuse`.
    """

    keep = np.asarray(keep, dtype=bool)
    return fuse(G, v, np.flatnonzero(keep)[None, :])[0]


def reweight_nodes(
    W: ArrayLike,
    v: ArrayLike,
    keep: ArrayLike,
    moments: DataMoments,
    signal: str = "preactivation",
    keep_pruned_active: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Prune to the kept units and fuse the removed ones into them by least squares on data.

    ``signal``: ``"preactivation"`` (G = (1/P) sum lambda lambda^T) or
    ``"activation"`` (G = (1/P) sum g g^T). Returns (W[S], v_S fused).
    ``keep_pruned_active=True`` reproduces the paper code's bug (all K units
    stay in the network, the removed ones with their old v): only on explicit
    request, with a :class:`PaperBugWarning`; returns (W, v with v_S fused).
    """
    W, v = _check_W(W, v)
    keep = np.asarray(keep, dtype=bool)
    if signal == "preactivation":
        G = moments.G_pre
    elif signal == "activation":
        G = moments.G_act
    else:
        raise ValueError(f"signal must be 'preactivation' or 'activation', got {signal!r}")
    if G.shape != (W.shape[0],) * 2:
        raise ValueError(f"data moments are for K={G.shape[0]} units but W has K={W.shape[0]} rows")
    vS = fuse_nodes(G, v, keep)
    if keep_pruned_active:
        warnings.warn(
            "reproducing the paper code's bug: after reweighting, the pruned units stay active "
            "with their old second-layer weights, so the network is not pruned at all",
            PaperBugWarning,
            stacklevel=2,
        )
        v_new = v.copy()
        v_new[keep] = vS
        return W.copy(), v_new
    return prune_nodes(W, v, keep)[0], vS


def reweight_edges(W: ArrayLike, mask: ArrayLike, Sxx: ArrayLike) -> np.ndarray:
    """Per unit, regress the removed part of the pre-activation on the kept inputs (least squares).

    w_i[K] <- w_i[K] + S_KK^+ S_KR w_i[R], w_i[R] <- 0, with S = X^T X / P
    (K = kept, R = removed edges of unit i). For white inputs S -> I and the
    correction vanishes as P -> infinity (docs/theory/pruning.md).
    """
    W = _check_W(W)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != W.shape:
        raise ValueError(f"edge mask must have the shape of W {W.shape}, got {mask.shape}")
    Sxx = np.asarray(Sxx, dtype=np.float64)
    if Sxx.shape != (W.shape[1],) * 2:
        raise ValueError(f"Sxx must have shape ({W.shape[1]}, {W.shape[1]}), got {Sxx.shape}")
    out = np.zeros_like(W)
    for i in range(W.shape[0]):
        kept, rem = np.flatnonzero(mask[i]), np.flatnonzero(~mask[i])
        if kept.size == 0:
            continue
        wi = W[i, kept].copy()
        if rem.size:
            rhs = Sxx[np.ix_(kept, rem)] @ W[i, rem]
            A = Sxx[np.ix_(kept, kept)]
            try:
                wi += sla.solve(A, rhs, assume_a="pos", check_finite=False)
            except (sla.LinAlgError, np.linalg.LinAlgError):
                wi += np.linalg.lstsq(A, rhs, rcond=None)[0]
        out[i, kept] = wi
    return out


# ------------------------------------------------------------------ errors
def order_parameters(
    W: ArrayLike, Wstar: ArrayLike, covariance: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Q, R, T) = (W S W^T, W S W*^T, W* S W*^T) / N, S the input covariance (I by default)."""
    W = _check_W(W)
    Wstar = _check_W(Wstar)
    N = W.shape[1]
    if Wstar.shape[1] != N:
        raise ValueError(f"W and Wstar must share N, got {W.shape[1]} and {Wstar.shape[1]}")
    if covariance is None:
        A, B = W, Wstar
    else:
        C = np.asarray(covariance, dtype=np.float64)
        A, B = W @ C, Wstar @ C
    Q = A @ W.T / N
    return 0.5 * (Q + Q.T), A @ Wstar.T / N, 0.5 * (B @ Wstar.T + (B @ Wstar.T).T) / N


def _check_scale(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if isinstance(value, (bool, np.bool_)) or not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def pruned_eps_g(
    W: ArrayLike,
    v: ArrayLike,
    Wstar: ArrayLike,
    vstar: ArrayLike,
    covariance: ArrayLike | None = None,
    activation: str = "erf",
    *,
    teacher_activation: str | None = None,
    student_scale: float = 1.0,
    teacher_scale: float = 1.0,
) -> float:
    """eps_g of the (pruned) network from its order parameters (docs/theory/pruning.md; exact for Gaussian x).

    The network phi = (1/s) sum_i v_i g(w_i x / sqrt N) against the teacher
    (1/s*) sum_n v*_n g*(w*_n x / sqrt N): g = ``activation``, g* =
    ``teacher_activation`` (default g), s = ``student_scale`` and s* =
    ``teacher_scale`` (docs/theory/general_model.md). A pruned network keeps the
    s of the unpruned one (pruning removes units, not the output layer's scale).
    """

    W, v = _check_W(W, v)
    s = _check_scale("student_scale", student_scale)
    s_star = _check_scale("teacher_scale", teacher_scale)
    Q, R, T = order_parameters(W, Wstar, covariance)
    vstar = np.asarray(vstar, dtype=np.float64)
    return eps_g_arrays(Q, R, T, v / s, vstar / s_star, activation=activation, teacher_activation=teacher_activation)


def test_losses(
    networks: Sequence[tuple[ArrayLike, ArrayLike]],
    Wstar: ArrayLike,
    vstar: ArrayLike,
    inputs: GaussianInputs | ArrayInputs,
    n_test: int,
    *,
    sigma: float = 0.0,
    rng: _Rng = None,
    activation: _Activation = "erf",
    teacher_activation: _Activation | None = None,
    student_scale: float = 1.0,
    teacher_scale: float = 1.0,
    block_size: int = _DEFAULT_BLOCK,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Empirical losses of many networks on one streamed test set of ``n_test`` inputs.

    ``networks``: list of (W, v), each phi = (1/s) sum_i v_i g(w_i x / sqrt N)
    with g = ``activation`` and s = ``student_scale``; labels y = (1/s*) sum_n
    v*_n g*(w*_n x / sqrt N) + sigma zeta with g* = ``teacher_activation``
    (default g) and s* = ``teacher_scale``. Returns a dict of arrays (one entry
    per network): ``test_loss`` = mean (phi - y)^2/2 (the paper's measure;
    includes about sigma^2/2), ``test_loss_stderr`` (its standard error over
    test inputs), ``eps_emp`` = mean (phi - y_noiseless)^2/2 (a Monte Carlo
    estimate of eps_g) and ``eps_emp_stderr``.
    """
    Wstar, vstar = _check_W(Wstar, vstar)
    s_phi = _check_scale("student_scale", student_scale)
    s_star = _check_scale("teacher_scale", teacher_scale)
    N = Wstar.shape[1]
    n_test = _int_at_least("n_test (test-set size)", n_test, 1)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if not networks:
        raise ValueError("networks must be a non-empty list of (W, v)")
    rows, vs, seg = [], [], []
    for t, (W, v) in enumerate(networks):
        W, v = _check_W(W, v)
        if W.shape[1] != N:
            raise ValueError(f"network {t} has N={W.shape[1]} inputs, the teacher has N={N}")
        rows.append(W)
        vs.append(v)
        seg.append(W.shape[0])
    # Node-pruned (and reweighted) networks share their rows with the unpruned W: compute every distinct
    # row's activations once, then each network's output as a sparse combination of them.

    U, inv = np.unique(np.vstack(rows), axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    net_of_row = np.repeat(np.arange(len(networks)), seg)
    B = sparse.csr_matrix((np.concatenate(vs), (inv, net_of_row)), shape=(U.shape[0], len(networks)))
    Wall = np.vstack([U, Wstar])
    n_net = len(networks)
    g = activation_function(activation)
    g_star = g if teacher_activation is None else activation_function(teacher_activation)
    rng = np.random.default_rng(rng)
    s1 = np.zeros(n_net)
    s2 = np.zeros(n_net)
    e1 = np.zeros(n_net)
    e2 = np.zeros(n_net)
    n_u = U.shape[0]
    scale = 1.0 / sqrt(N)
    from tqdm.auto import tqdm

    bar = tqdm(total=n_test, desc="test set", unit="x", disable=None if progress is None else not progress, leave=False)
    try:
        for X in inputs.blocks(n_test, rng, block_size):
            pre = scale * (X @ Wall.T)
            y0 = g_star(pre[:, n_u:]) @ vstar / s_star
            y = y0 + sigma * rng.standard_normal(X.shape[0]) if sigma > 0 else y0
            phi = np.asarray((B.T @ g(pre[:, :n_u]).T).T) / s_phi  # (block, n_net)
            loss = 0.5 * (phi - y[:, None]) ** 2
            s1 += loss.sum(0)
            s2 += (loss**2).sum(0)
            loss0 = 0.5 * (phi - y0[:, None]) ** 2
            e1 += loss0.sum(0)
            e2 += (loss0**2).sum(0)
            bar.update(X.shape[0])
    finally:
        bar.close()
    mean, mean0 = s1 / n_test, e1 / n_test
    var = np.maximum(s2 / n_test - mean**2, 0.0)
    var0 = np.maximum(e2 / n_test - mean0**2, 0.0)
    return {
        "test_loss": mean,
        "test_loss_stderr": np.sqrt(var / max(n_test - 1, 1)),
        "eps_emp": mean0,
        "eps_emp_stderr": np.sqrt(var0 / max(n_test - 1, 1)),
    }


test_losses.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name
