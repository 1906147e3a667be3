"""Node pruning in the N -> infinity limit (docs/theory/pruning.md).

A kept set S (|S| = k) gives the pruned order parameters Q[S,S], R[S,:], v[S]
exactly, and since those are sub-blocks of the field covariance,

    eps_g(S) = (1/2) [v_S^T I2[S,S] v_S - 2 v_S^T I2[S,teacher] vstar + vstar^T I2[teacher,teacher] vstar]

with I2 the matrix of E[g(u_a) g(u_b)] over all K + M fields, computed once
per state by ``statmech.integrals.I2``. A scheme is a distribution over S:

- random: uniform over the C(K, k) subsets;
- importance: the k largest scores (|v_i|; |v_i| sqrt(Q_ii); the paper code's
  signed v_i as an explicit option); exact ties are averaged uniformly over
  the tie-breaking choices (``ties="average"``) or broken by lower index;
- DPP: a k-DPP, P(S) = det(L[S,S]) / e_k(eigenvalues of L) with the kernels
  of docs/theory/pruning.md (``statmech.dpp.KDPP``).

The expected error is the exact sum over subsets while C(K, k) is at most
``max_subsets``; beyond, a Monte Carlo mean over exact samples with its
standard error.
"""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
from numpy.typing import ArrayLike

from statmech.core import vocabulary as V
from statmech.core.vocabulary import IMPORTANCE_SCORES, NODE_KERNELS, NODE_SCHEMES
from statmech.dpp.kdpp import all_subsets
from statmech.integrals import I2, check_covariance

__all__ = [
    "NODE_SCHEMES",
    "NODE_KERNELS",
    "IMPORTANCE_SCORES",
    "field_i2",
    "error_terms",
    "subset_errors",
    "node_kernel",
    "teacher_assignment",
    "count_copies",
    "all_subsets",
    "importance_scores",
    "importance_distribution",
]

_CHUNK = 8192  # subsets per vectorised block: memory ~ _CHUNK * k^2 * 8 bytes


def field_i2(
    Q: ArrayLike, R: ArrayLike, T: ArrayLike, activation: str = "erf", teacher_activation: str | None = None
) -> np.ndarray:
    """I2[a, b] = E[g_a(u_a) g_b(u_b)] over all K + M fields, covariance [[Q, R], [R^T, T]].

    g_a is the student's ``activation`` on the K student fields and the
    ``teacher_activation`` (default: the student's) on the M teacher fields.
    """
    C = np.block([[np.asarray(Q), np.asarray(R)], [np.asarray(R).T, np.asarray(T)]])
    if teacher_activation is None or teacher_activation == activation:
        return I2(C, activation)
    K, M = np.shape(R)
    return I2(C, activations=[activation] * K + [teacher_activation] * M)


def error_terms(I2full: ArrayLike, K: int, vstar: ArrayLike) -> tuple[np.ndarray, np.ndarray, float]:
    """(A, b, t): A = I2[:K,:K], b = I2[:K,K:] vstar, t = vstar^T I2[K:,K:] vstar."""
    I2full = np.asarray(I2full, dtype=np.float64)
    vstar = np.asarray(vstar, dtype=np.float64)
    A = I2full[:K, :K]
    b = I2full[:K, K:] @ vstar
    t = float(vstar @ I2full[K:, K:] @ vstar)
    return A, b, t


def subset_errors(A: np.ndarray, b: np.ndarray, t: float, subsets: ArrayLike, v_sub: ArrayLike) -> np.ndarray:
    """eps_g of every kept set: (1/2)(v_S^T A[S,S] v_S - 2 v_S^T b[S] + t); v_sub is (n, k)."""
    subsets = np.asarray(subsets)
    v_sub = np.asarray(v_sub, dtype=np.float64)
    out = np.empty(subsets.shape[0])
    for lo in range(0, subsets.shape[0], _CHUNK):
        s = subsets[lo : lo + _CHUNK]
        vs = v_sub[lo : lo + _CHUNK]
        ASS = A[s[:, :, None], s[:, None, :]]
        quad = np.einsum("ni,nij,nj->n", vs, ASS, vs)
        out[lo : lo + _CHUNK] = 0.5 * (quad - 2.0 * np.einsum("ni,ni->n", vs, b[s]) + t)
    return out


def node_kernel(
    Q: ArrayLike,
    I2_students: ArrayLike,
    kernel: str | ArrayLike = V.LINEAR_PREACTIVATION,
    beta: float = 1.0,
    eps: float = 0.0,
    jitter: float = 0.0,
) -> np.ndarray:
    """K x K DPP kernel L from the units' pre-activation Gram ``Q`` and activation Gram ``I2_students`` (docs/theory/pruning.md).

    ``linear-preactivation`` (the paper's): L = Q; ``linear-activation``:
    L = I2[:K,:K]; ``gaussian`` (Diversity Networks): L_ij = exp(-beta
    E[(g_i - g_j)^2]) + eps delta_ij with E[(g_i - g_j)^2] = I2_ii + I2_jj - 2 I2_ij;
    or an explicit K x K array. ``jitter`` adds jitter * I (a ridge that makes
    rank-deficient kernels, e.g. exact copies, usable for k > rank). The Grams
    are the N -> infinity ones (Q, I2) or those estimated from data
    (``statmech.pruning.finite.masks.node_kernel``): one implementation.
    Raises ValueError unless L is symmetric PSD.
    """
    Q = np.asarray(Q, dtype=np.float64)
    K = Q.shape[0]
    if not (np.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter (ridge added to the DPP kernel) must be a finite number >= 0, got {jitter}")
    if isinstance(kernel, str):
        if kernel == V.LINEAR_PREACTIVATION:
            L = Q.copy()
        elif kernel == V.LINEAR_ACTIVATION:
            L = np.array(I2_students, dtype=np.float64)
        elif kernel == V.GAUSSIAN:
            if not (np.isfinite(beta) and beta > 0):
                raise ValueError(f"beta (Gaussian kernel width) must be a finite number > 0, got {beta}")
            if not (np.isfinite(eps) and eps >= 0):
                raise ValueError(f"eps (Gaussian kernel ridge) must be a finite number >= 0, got {eps}")
            G = np.asarray(I2_students, dtype=np.float64)
            d = np.diag(G)
            D = np.maximum(d[:, None] + d[None, :] - 2.0 * G, 0.0)  # E[(g_i - g_j)^2] >= 0
            L = np.exp(-beta * D) + eps * np.eye(K)
        else:
            raise ValueError(f"kernel must be one of {NODE_KERNELS} or a K x K array, got {kernel!r}")
    else:
        L = np.array(kernel, dtype=np.float64)
        if L.shape != (K, K):
            raise ValueError(f"kernel array must have shape (K, K) = {(K, K)}, got {L.shape}")
    L = check_covariance(L, name="DPP kernel L")
    return L + jitter * np.eye(K)


def teacher_assignment(Q: ArrayLike, R: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Teacher unit each student unit copies: argmax_n |R_in| / sqrt(Q_ii T_nn)."""
    Q, R, T = (np.asarray(a, dtype=np.float64) for a in (Q, R, T))
    q = np.sqrt(np.maximum(np.diag(Q), 1e-300))
    t = np.sqrt(np.maximum(np.diag(T), 1e-300))
    return np.argmax(np.abs(R) / q[:, None] / t[None, :], axis=1)


def count_copies(subsets: ArrayLike, teacher_of: ArrayLike, M: int) -> np.ndarray:
    """j[s, m] = number of kept units of subset s that copy teacher m, (n, M) ints."""
    subsets = np.asarray(subsets)
    t = np.asarray(teacher_of)[subsets]
    return np.stack([(t == m).sum(axis=1) for m in range(M)], axis=1)


def importance_scores(v: ArrayLike, score: str = V.ABS_V, Q_diag: ArrayLike | None = None) -> np.ndarray:
    """|v_i| (``abs-v``), |v_i| sqrt(Q_ii) (``abs-v-sqrtq``, needs ``Q_diag``) or v_i (``signed-v``, the paper code's quirk)."""
    V.check_choice("score (importance-node score)", score, IMPORTANCE_SCORES)
    v = np.asarray(v, dtype=np.float64)
    if score == V.ABS_V:
        return np.abs(v)
    if score == V.ABS_V_SQRTQ:
        if Q_diag is None:
            raise ValueError(f"importance score {V.ABS_V_SQRTQ!r} needs Q_diag (the squared row norms / N)")
        return np.abs(v) * np.sqrt(np.maximum(np.asarray(Q_diag, dtype=np.float64), 0.0))
    return v.copy()


def importance_distribution(
    scores: ArrayLike, k: int, ties: str = V.TIES_AVERAGE, rtol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Kept sets of importance pruning: the k largest scores.

    Scores equal within ``rtol`` to the k-th largest are ties; ``ties="average"``
    returns every way of filling the remaining slots from the tied units with
    equal probability, ``ties="lowest-index"`` one set (lower index first, as
    ``statmech.pruning.finite.masks``). Returns (subsets (n, k), probs (n,)).
    """
    s = np.asarray(scores, dtype=np.float64)
    K = s.shape[0]
    V.check_choice("ties (importance-node tie-breaking)", ties, V.TIES)
    order = np.argsort(-s, kind="stable")
    if ties == V.TIES_LOWEST_INDEX or k == K:
        return np.sort(order[:k])[None, :], np.ones(1)
    kth = s[order[k - 1]]
    tol = rtol * max(1.0, abs(kth))
    above = np.nonzero(s > kth + tol)[0]
    tied = np.nonzero(np.abs(s - kth) <= tol)[0]
    free = k - above.size
    n = comb(tied.size, free)
    if n > 200_000:
        raise ValueError(f"{tied.size} tied importance scores give {n} tie-breaking sets; use ties='lowest-index'")
    rows = [np.sort(np.concatenate([above, c])) for c in itertools.combinations(tied, free)]
    return np.array(rows, dtype=np.int64).reshape(n, k), np.full(n, 1.0 / n)
