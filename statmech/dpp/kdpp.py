"""Exact k-DPP machinery: stable elementary symmetric polynomials, sampling,
enumeration and inclusion probabilities.

A k-DPP with likelihood kernel L (n x n, symmetric PSD) picks a k-subset S
with probability P(S) = det(L_S) / e_k(lambda_1, ..., lambda_n), where e_k is
the k-th elementary symmetric polynomial (ESP) of L's eigenvalues
(Kulesza & Taskar 2012, "Determinantal point processes for machine
learning", section 5.2; docs/theory/pruning.md). Sampling is the spectral
algorithm (their Alg. 8): pick k eigenvectors, eigenvector n with the ESP
recursion, then sample the projection DPP they span by sequential
conditioning (Gram-Schmidt on the rows of the eigenvector matrix).

Numerical method (why it is stable). The eigenvector selection of Alg. 8 is
a *conditional Bernoulli* distribution: independent Bernoulli(p_n) draws
conditioned on exactly k successes, with p_n = lam mu_n / (1 + lam mu_n) for
any lam > 0 (the odds lam mu_n only rescale P(S) by lam^k). We fix lam so
that sum_n p_n = k (the "tilt"); the ESP table then becomes the table of
Poisson-binomial probabilities F[j, m] = P(first m Bernoullis sum to j),
every entry in [0, 1], computed by convex combinations
F[j, m] = (1 - p_m) F[j, m-1] + p_m F[j-1, m-1] with relative error
O(m eps) and no overflow, whatever the scale of L (dppy 0.3.3's plain
recursion overflows for a 500 x 500 kernel with eigenvalues near 1000 and
k = 166). Entries below 1e-300 are flushed to zero: they belong to states the
sampler reaches with probability < 1e-290. The same lam at large n gives the
asymptotic inclusion probabilities lam w / (1 + lam w) of a diagonal k-DPP
(docs/theory/pruning.md, DPP edge).

For k > n/2 everything runs on the complement (the complement of a
conditional Bernoulli sample is conditional Bernoulli with 1 - p_n and
n - k successes; the complement of a projection DPP with kernel V V^T is the
projection DPP with kernel I - V V^T, spanned by the unselected
eigenvectors), so the cost scales with min(k, n - k).

Costs: the ESP table is O(n min(k, n-k)) once per kernel (kept in memory up to
4M entries, otherwise recomputed in sqrt(n) blocks from checkpoints, memory
O(k sqrt(n))); a sample costs O(n) for the selection and
O(n min(k, n-k)^2) for the projection DPP. The eigendecomposition of L,
O(n^3), is done once per ``KDPP`` object and reused by every sample.
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import Literal, overload

import numpy as np
from numba import njit
from numpy.typing import ArrayLike

from statmech.core.validation import as_float_array

__all__ = [
    "KDPP",
    "DiagonalKDPP",
    "elementary_symmetric",
    "log_elementary_symmetric",
    "diagonal_inclusion_limit",
    "all_subsets",
]

# Values below this are flushed to zero in the tilted ESP tables (see module
# docstring); it also keeps the recursion out of slow subnormal arithmetic.
_FLUSH = 1e-300
# Keep the whole (n+1) x (r+1) table in memory up to this many entries (32 MB).
_TABLE_MAX = 1 << 22
# Uniform draws per sampling batch (bounds the memory of one batch to 16 MB).
_BATCH_DRAWS = 1 << 21
# Eigenvalues within _PSD_FACTOR * n * eps * max|eigenvalue| of zero are zero:
# the rounding of a symmetric eigensolver (and of a kernel formed as X X^T) is
# of order n * eps * ||L||; numpy.linalg.matrix_rank uses the same scale.
_PSD_FACTOR = 10.0
# Relative tolerance for the symmetry of L (kernels computed in float64).
_SYM_RTOL = 1e-10


# ----------------------------------------------------------------- numba kernels
@njit(cache=True)
def _log_esp(mu, k):
    """log e_j(mu), j = 0..k, by e_j <- e_j + mu_m e_{j-1} in log space (logaddexp)."""
    out = np.full(k + 1, -np.inf)
    out[0] = 0.0
    npos = 0
    for m in range(mu.size):
        if mu[m] <= 0.0:
            continue
        npos += 1
        lm = np.log(mu[m])
        for j in range(min(k, npos), 0, -1):
            b = out[j - 1] + lm
            a = out[j]
            if a == -np.inf:
                out[j] = b
            elif a >= b:
                out[j] = a + np.log1p(np.exp(b - a))
            else:
                out[j] = b + np.log1p(np.exp(a - b))
    return out


@njit(cache=True)
def _solve_tilt(logmu, k):
    """t = log lam with sum_n expit(t + log mu_n) = k (0 < k < len(logmu)); safeguarded Newton."""
    r = logmu.size
    mx = logmu.max()
    s = 0.0
    for i in range(r):
        s += np.exp(logmu[i] - mx)
    # f(lo) <= 0: lam = k / sum(mu) gives sum p <= sum lam mu = k.
    lo = np.log(k) - (mx + np.log(s))
    # f(hi) >= 0: every p_n >= k / r once lam mu_min >= k / (r - k).
    hi = np.log(k) - np.log(r - k) - logmu.min()
    t = 0.5 * (lo + hi)
    for _ in range(200):
        f = -float(k)
        df = 0.0
        for i in range(r):
            p = 1.0 / (1.0 + np.exp(-(t + logmu[i])))
            f += p
            df += p * (1.0 - p)
        if abs(f) <= 1e-13 * k:
            break
        if f < 0.0:
            lo = t
        else:
            hi = t
        if hi - lo <= 1e-15 * max(1.0, abs(t)):
            break
        tn = t - f / df if df > 0.0 else 0.5 * (lo + hi)
        if not (lo < tn < hi):
            tn = 0.5 * (lo + hi)
        t = tn
    return t


@njit(cache=True)
def _forward_table(p, q, k, m0, m1, col0):
    """Columns m0..m1 of F[j, m] = P(Bernoulli(p_1..p_m) sum to j), j = 0..k; shape (m1-m0+1, k+1)."""
    tab = np.zeros((m1 - m0 + 1, k + 1))
    for j in range(k + 1):
        tab[0, j] = col0[j]
    for m in range(m0 + 1, m1 + 1):
        i = m - m0
        pm = p[m - 1]
        qm = q[m - 1]
        v = qm * tab[i - 1, 0]
        tab[i, 0] = v if v >= _FLUSH else 0.0
        for j in range(1, k + 1):
            v = qm * tab[i - 1, j] + pm * tab[i - 1, j - 1]
            tab[i, j] = v if v >= _FLUSH else 0.0
    return tab


@njit(cache=True)
def _checkpoints(p, q, k, B):
    """Columns m = 0, B, 2B, ..., n of the table F (rows of the result); the last row is column n."""
    n = p.size
    nb = (n + B - 1) // B
    ck = np.zeros((nb + 1, k + 1))
    cur = np.zeros(k + 1)
    cur[0] = 1.0
    ck[0, 0] = 1.0
    for m in range(1, n + 1):
        pm = p[m - 1]
        qm = q[m - 1]
        for j in range(k, 0, -1):
            v = qm * cur[j] + pm * cur[j - 1]
            cur[j] = v if v >= _FLUSH else 0.0
        v = qm * cur[0]
        cur[0] = v if v >= _FLUSH else 0.0
        if m % B == 0 or m == n:
            b = (m + B - 1) // B
            for j in range(k + 1):
                ck[b, j] = cur[j]
    return ck


@njit(cache=True)
def _select_block(p, m0, tab, u, lstate, out):
    """Backward pass of Alg. 8 over items m1-1 .. m0 (tab holds columns m0..m1).

    Item m-1 is taken with probability p_m F[l-1, m-1] / F[l, m] when l items
    remain; chosen items fill out[s, l-1] so each row ends up sorted.
    """
    m1 = m0 + tab.shape[0] - 1
    for s in range(u.shape[0]):
        l = lstate[s]
        m = m1
        while m > m0 and l > 0:
            i = m - m0
            den = tab[i, l]
            if den > 0.0:
                prob = p[m - 1] * tab[i - 1, l - 1] / den
            else:
                # unreachable in exact arithmetic (probability < 1e-290); keep the count feasible
                prob = 1.0 if l >= m else 0.0
            if u[s, m - 1] < prob:
                l -= 1
                out[s, l] = m - 1
            m -= 1
        lstate[s] = l


@njit(cache=True)
def _inclusion_block(p, q, k, m0, tab, G, Z, pi):
    """pi_m = p_m sum_a F[a, m-1] G[k-1-a] / Z for items in the block; G = table of the items after m."""
    m1 = m0 + tab.shape[0] - 1
    for m in range(m1, m0, -1):
        i = m - m0
        acc = 0.0
        for a in range(k):
            acc += tab[i - 1, a] * G[k - 1 - a]
        pi[m - 1] = p[m - 1] * acc / Z
        pm = p[m - 1]
        qm = q[m - 1]
        for j in range(k, 0, -1):
            v = qm * G[j] + pm * G[j - 1]
            G[j] = v if v >= _FLUSH else 0.0
        v = qm * G[0]
        G[0] = v if v >= _FLUSH else 0.0


@njit(cache=True)
def _projection_sample(VT, sel, u, out):
    """Projection DPP with kernel V V^T, V = VT[sel[s]].T, by sequential conditioning.

    Item i is drawn with probability ||residual of row i of V||^2 / (r - it)
    (Gillenwater 2014 Alg. 2; Tremblay et al. 2018 Alg. 3, dppy's 'GS'): after
    choosing j, the unit vector e_it along the residual of V_j is removed from
    every row, norms_i -= (V_i . e_it)^2. The coefficients V_j . e_b needed to
    orthogonalise are the stored C[j, b] (Gram-Schmidt / Cholesky update).
    O(n r^2 + r^3 / 2) per sample. Rows of ``out`` are sorted.
    """
    size, r = sel.shape
    n = VT.shape[1]
    Vs = np.empty((r, n))
    E = np.zeros((r, r))
    C = np.zeros((n, r))
    norms = np.empty(n)
    c = np.empty(n)
    e = np.empty(r)
    for s in range(size):
        for a in range(r):
            row = sel[s, a]
            for i in range(n):
                Vs[a, i] = VT[row, i]
        for i in range(n):
            norms[i] = 0.0
        for a in range(r):
            for i in range(n):
                norms[i] += Vs[a, i] * Vs[a, i]
        for it in range(r):
            total = 0.0
            for i in range(n):
                if norms[i] > 0.0:
                    total += norms[i]
            target = u[s, it] * total
            acc = 0.0
            j = -1
            for i in range(n):
                if norms[i] > 0.0:
                    acc += norms[i]
                    j = i
                    if acc > target:
                        break
            out[s, it] = j
            if it == r - 1:
                break
            for a in range(r):
                e[a] = Vs[a, j]
            for b in range(it):
                d = C[j, b]
                for a in range(r):
                    e[a] -= d * E[b, a]
            nrm = 0.0
            for a in range(r):
                nrm += e[a] * e[a]
            nrm = np.sqrt(nrm)
            for a in range(r):
                e[a] /= nrm
                E[it, a] = e[a]
            # c_i = V_i . e_it, four rows per pass over c (as fast as BLAS gemv here, and
            # no call into a second BLAS thread pool, which contends with numpy's eigh)
            for i in range(n):
                c[i] = 0.0
            a = 0
            while a + 4 <= r:
                e0 = e[a]
                e1 = e[a + 1]
                e2 = e[a + 2]
                e3 = e[a + 3]
                for i in range(n):
                    c[i] += e0 * Vs[a, i] + e1 * Vs[a + 1, i] + e2 * Vs[a + 2, i] + e3 * Vs[a + 3, i]
                a += 4
            while a < r:
                ea = e[a]
                for i in range(n):
                    c[i] += ea * Vs[a, i]
                a += 1
            for i in range(n):
                norms[i] -= c[i] * c[i]
                C[i, it] = c[i]
            norms[j] = 0.0
        out[s].sort()


@njit(cache=True)
def _complement_rows(comp, n, out):
    """Rows of out = sorted complement in range(n) of the rows of comp."""
    mark = np.zeros(n, dtype=np.bool_)
    for s in range(comp.shape[0]):
        mark[:] = False
        for a in range(comp.shape[1]):
            mark[comp[s, a]] = True
        pos = 0
        for i in range(n):
            if not mark[i]:
                out[s, pos] = i
                pos += 1


# ---------------------------------------------------------------- validation
def _check_k(k, upper: int, what: str) -> int:
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"k must be an integer with 1 <= k <= {upper} ({what}), got {k!r}")
    try:
        k = operator.index(k)
    except TypeError:
        raise ValueError(f"k must be an integer with 1 <= k <= {upper} ({what}), got {k!r}") from None
    if not 1 <= k <= upper:
        raise ValueError(f"k must satisfy 1 <= k <= {upper} ({what}), got k={k}")
    return k


def _check_size(size):
    if size is None:
        return None
    if isinstance(size, (bool, np.bool_)):
        raise ValueError(f"size must be None or an integer >= 0, got {size!r}")
    try:
        size = operator.index(size)
    except TypeError:
        raise ValueError(f"size must be None or an integer >= 0, got {size!r}") from None
    if size < 0:
        raise ValueError(f"size must be None or an integer >= 0, got {size}")
    return size


def _as_rng(rng: object) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, bool):
        try:
            return np.random.default_rng(rng)
        except ValueError as exc:
            raise ValueError(f"rng: {exc}") from None
    raise ValueError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def _float_array(x, name: str, ndim: int) -> np.ndarray:
    if np.iscomplexobj(x):
        raise ValueError(f"{name} must be real, got a complex array")
    return as_float_array(name, x, ndim)


def _nonneg_values(x, name: str) -> np.ndarray:
    """1-D finite values >= 0; values within the eigensolver tolerance below zero are set to 0."""
    a = _float_array(x, name, 1)
    if a.size and a.min() < 0:
        tol = _PSD_FACTOR * a.size * np.finfo(float).eps * np.abs(a).max()
        if a.min() < -tol:
            raise ValueError(
                f"{name} must be >= 0 (eigenvalues of a PSD kernel), smallest is {a.min():.6g} "
                f"(tolerance {tol:.3g} = {_PSD_FACTOR:g} n eps max|value|)"
            )
        a = np.maximum(a, 0.0)
    return a


def _check_subset(S, n: int, k: int) -> np.ndarray:
    try:
        s = np.asarray(S)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ValueError(f"S must be a sequence of {k} distinct indices in [0, {n}) ({exc})") from None
    if s.ndim != 1 or s.size != k or (s.size and not np.issubdtype(s.dtype, np.integer)):
        raise ValueError(f"S must be a sequence of {k} distinct integer indices in [0, {n}), got {S!r}")
    s = np.sort(s.astype(np.int64))
    if s.size and (s[0] < 0 or s[-1] >= n or np.any(np.diff(s) == 0)):
        raise ValueError(f"S must be a sequence of {k} distinct integer indices in [0, {n}), got {S!r}")
    return s


# ---------------------------------------------------------------- public ESPs
def log_elementary_symmetric(eigvals: ArrayLike, k: int) -> np.ndarray:
    """log e_j(eigvals) for j = 0..k (-inf where e_j = 0), stable at any scale.

    e_j(x) = sum_{|S| = j} prod_{i in S} x_i, by the recursion
    e_j^(m) = e_j^(m-1) + x_m e_{j-1}^(m-1) (Kulesza & Taskar 2012, Alg. 7)
    carried out in log space (logaddexp of non-negative terms: relative error
    O(n eps) per entry, no overflow). eigvals must be >= 0 (tiny negative
    eigensolver rounding, within 10 n eps max|x|, is treated as zero). O(n k).
    """
    x = _nonneg_values(eigvals, "eigvals")
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    try:
        k = operator.index(k)
    except TypeError:
        raise ValueError(f"k must be an integer >= 0, got {k!r}") from None
    if k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k}")
    return _log_esp(x, k)


def elementary_symmetric(eigvals: ArrayLike, k: int) -> np.ndarray:
    """e_j(eigvals) for j = 0..k, exp of :func:`log_elementary_symmetric` (inf only where the true value overflows)."""
    with np.errstate(over="ignore"):
        return np.exp(log_elementary_symmetric(eigvals, k))


@overload
def diagonal_inclusion_limit(weights: ArrayLike, k: int, return_lambda: Literal[False] = False) -> np.ndarray: ...
@overload
def diagonal_inclusion_limit(weights: ArrayLike, k: int, return_lambda: Literal[True]) -> tuple[np.ndarray, float]: ...
def diagonal_inclusion_limit(
    weights: ArrayLike, k: int, return_lambda: bool = False
) -> np.ndarray | tuple[np.ndarray, float]:
    """Large-n inclusion probabilities of a diagonal k-DPP: pi_j = lam w_j / (1 + lam w_j), sum_j pi_j = k.

    docs/theory/pruning.md (DPP edge, with weights w_j = w_ij^2). This is the
    Bernoulli tilt that makes the conditional Bernoulli draw exact; the exact
    finite-n probabilities (:meth:`DiagonalKDPP.inclusion_probabilities`) differ
    by O(1/d), d = sum_j pi_j (1 - pi_j) (Hajek 1964). With k equal to the number
    of positive weights, lam = inf and pi_j = 1 on them. Returns pi, or
    (pi, lam) with ``return_lambda=True``.
    """
    w = _float_array(weights, "weights", 1)
    if w.size == 0:
        raise ValueError("weights must be non-empty")
    if w.min() < 0:
        raise ValueError(f"weights must be >= 0, smallest is {w.min():.6g}")
    npos = int(np.count_nonzero(w > 0))
    if npos == 0:
        raise ValueError("weights are all zero: no k-subset has positive probability")
    k = _check_k(k, npos, "number of positive weights")
    logits, t = _logits(w, k)
    p = _expit(logits)
    return (p, math.exp(t) if np.isfinite(t) else math.inf) if return_lambda else p


# ---------------------------------------------------------------- conditional Bernoulli core
def _expit(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _logits(mu: np.ndarray, k: int):
    """Logits x_n = log(lam mu_n) of the tilted Bernoulli probabilities, and t = log lam."""
    pos = mu > 0
    npos = int(np.count_nonzero(pos))
    x = np.full(mu.size, -np.inf)
    if k == npos:
        x[pos] = np.inf  # every positive item is taken: p = 1
        return x, np.inf
    logmu = np.log(mu[pos])
    t = _solve_tilt(logmu, k)
    x[pos] = t + logmu
    return x, t


class _CondBernoulli:
    """P(S) proportional to prod_{n in S} mu_n over k-subsets = Bernoulli(p_n) conditioned on |S| = k."""

    def __init__(self, mu: np.ndarray, k: int):
        self.n = n = mu.size
        self.k = k
        x, t = _logits(mu, k)
        self.p = _expit(x)
        self.q = _expit(-x)
        self.complement = 2 * k > n
        self.r = n - k if self.complement else k
        pp, qq = (self.q, self.p) if self.complement else (self.p, self.q)
        self._pp, self._qq = pp, qq
        r = self.r
        if (n + 1) * (r + 1) <= _TABLE_MAX:
            self._B = n
            col0 = np.zeros(r + 1)
            col0[0] = 1.0
            self._table = _forward_table(pp, qq, r, 0, n, col0)
            Z = self._table[n, r]
        else:
            self._B = max(1, math.isqrt(n - 1) + 1)
            self._table = None
            self._ckpt = _checkpoints(pp, qq, r, self._B)
            Z = self._ckpt[-1, r]
        if np.isinf(t):
            self.log_ek = float(np.sum(np.log(mu[mu > 0])))
        else:
            # e_k(mu) = P(|S| = k) prod_n (1 + lam mu_n) / lam^k
            softplus = np.logaddexp(0.0, x[np.isfinite(x)])
            self.log_ek = float(math.log(Z) + softplus.sum() - k * t)

    def _blocks(self, pp, qq, r, B, ckpt):
        """Yield (m0, table of columns m0..m1) from the last block to the first."""
        n = self.n
        nb = ckpt.shape[0] - 1
        for b in range(nb - 1, -1, -1):
            m0 = b * B
            m1 = min(m0 + B, n)
            yield m0, _forward_table(pp, qq, r, m0, m1, ckpt[b])

    def sample_raw(self, u: np.ndarray) -> np.ndarray:
        """Sorted r-subsets (complement ones when self.complement) for uniforms u of shape (size, n)."""
        size = u.shape[0]
        out = np.empty((size, self.r), dtype=np.int64)
        lstate = np.full(size, self.r, dtype=np.int64)
        if self._table is not None:
            _select_block(self._pp, 0, self._table, u, lstate, out)
        else:
            for m0, tab in self._blocks(self._pp, self._qq, self.r, self._B, self._ckpt):
                _select_block(self._pp, m0, tab, u, lstate, out)
        return out

    def to_k(self, raw: np.ndarray) -> np.ndarray:
        if not self.complement:
            return raw
        out = np.empty((raw.shape[0], self.k), dtype=np.int64)
        _complement_rows(raw, self.n, out)
        return out

    def inclusion(self) -> np.ndarray:
        """Exact P(n in S) by forward-backward over the (non-complemented) table, O(n k)."""
        n, k, p, q = self.n, self.k, self.p, self.q
        if (n + 1) * (k + 1) <= _TABLE_MAX:
            B = n
        else:
            B = max(1, math.isqrt(n - 1) + 1)
        ckpt = _checkpoints(p, q, k, B)
        Z = ckpt[-1, k]
        G = np.zeros(k + 1)
        G[0] = 1.0
        pi = np.empty(n)
        for m0, tab in self._blocks(p, q, k, B, ckpt):
            _inclusion_block(p, q, k, m0, tab, G, Z, pi)
        return pi


def _batches(size: int, per_sample: int):
    b = max(1, _BATCH_DRAWS // max(per_sample, 1))
    for start in range(0, size, b):
        yield min(b, size - start)


def all_subsets(n: int, k: int, max_subsets: int | None = None) -> np.ndarray:
    """All C(n, k) k-subsets of range(n) as sorted rows, lexicographic order (at most ``max_subsets``)."""
    count = math.comb(n, k)
    if max_subsets is not None and count > max_subsets:
        raise ValueError(
            f"enumeration needs C({n}, {k}) = {count} subsets, more than max_subsets={max_subsets}; "
            f"sample instead or raise max_subsets"
        )
    idx = np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(n), k)), dtype=np.int64, count=count * k
    )
    return idx.reshape(count, k)


# ---------------------------------------------------------------- k-DPPs
class KDPP:
    """k-DPP with likelihood kernel L: P(S) = det(L_S) / e_k(eigenvalues of L), |S| = k.

    Kulesza & Taskar 2012 (section 5.2, Alg. 8); docs/theory/pruning.md.
    ``L`` must be a finite, symmetric (relative tolerance 1e-10), positive
    semi-definite n x n array (eigenvalues >= -10 n eps max|eigenvalue|;
    eigenvalues within that tolerance of zero are set to zero, which defines
    the rank), and 1 <= k <= rank(L). The eigendecomposition is computed once
    and reused by every method and every sample. Scaling L by c > 0 leaves
    the distribution unchanged.
    """

    def __init__(self, L: ArrayLike, k: int) -> None:
        Lm = _float_array(L, "L", 2)
        n = Lm.shape[0]
        if Lm.shape != (n, n) or n == 0:
            raise ValueError(f"L must be a square non-empty matrix, got shape {Lm.shape}")
        scale = np.abs(Lm).max()
        asym = np.abs(Lm - Lm.T).max()
        if asym > _SYM_RTOL * scale:
            raise ValueError(
                f"L must be symmetric: max|L - L^T| = {asym:.3g} exceeds {_SYM_RTOL:g} max|L| = {_SYM_RTOL * scale:.3g}"
            )
        Lm = 0.5 * (Lm + Lm.T)
        lam, V = np.linalg.eigh(Lm)
        tol = _PSD_FACTOR * n * np.finfo(float).eps * (np.abs(lam).max() if n else 0.0)
        if lam[0] < -tol:
            raise ValueError(
                f"L must be positive semi-definite: smallest eigenvalue {lam[0]:.6g} < -{tol:.3g} "
                f"(tolerance {_PSD_FACTOR:g} n eps max|eigenvalue|)"
            )
        lam = np.where(lam > tol, lam, 0.0)
        self._init(Lm, lam, V, k)

    def _init(self, L, lam, V, k):
        self.L = L
        self.L.setflags(write=False)
        self.n = L.shape[0]
        self.eigenvalues = lam
        self.eigenvalues.setflags(write=False)
        self.eigenvectors = V
        self.eigenvectors.setflags(write=False)
        self.rank = int(np.count_nonzero(lam > 0))
        if self.rank == 0:
            raise ValueError("L has rank 0 (all eigenvalues are zero): no k-subset has positive probability")
        self.k = _check_k(k, self.rank, "the rank of L")
        self._cb = _CondBernoulli(lam, self.k)
        self._VT = np.ascontiguousarray(V.T)
        self._inclusion = None

    def with_k(self, k: int) -> KDPP:
        """The k-DPP of the same kernel with another k, reusing the eigendecomposition."""
        new = object.__new__(type(self))
        new._init(self.L, self.eigenvalues, self.eigenvectors, k)
        return new

    @property
    def log_normaliser(self) -> float:
        """log e_k(eigenvalues of L)."""
        return self._cb.log_ek

    def probability(self, S: ArrayLike) -> float:
        """P(S) = det(L_S) / e_k(eigenvalues), via slogdet (no overflow for large or ill-scaled L)."""
        s = _check_subset(S, self.n, self.k)
        sign, logdet = np.linalg.slogdet(self.L[np.ix_(s, s)])
        return float(np.exp(logdet - self.log_normaliser)) if sign > 0 else 0.0

    def enumerate(self, max_subsets: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
        """All k-subsets (rows sorted, lexicographic order) and P(S) = det(L_S) / e_k; probabilities sum to 1.

        The sum is a check (Cauchy-Binet: sum_S det(L_S) = e_k), not a normalisation.
        Raises ValueError when C(n, k) > max_subsets.
        """
        subsets = all_subsets(self.n, self.k, max_subsets)
        probs = np.empty(subsets.shape[0])
        chunk = max(1, 2_000_000 // max(self.k * self.k, 1))
        for a in range(0, subsets.shape[0], chunk):
            s = subsets[a : a + chunk]
            sign, logdet = np.linalg.slogdet(self.L[s[:, :, None], s[:, None, :]])
            probs[a : a + chunk] = np.where(sign > 0, np.exp(logdet - self.log_normaliser), 0.0)
        return subsets, probs

    def eigen_inclusion_probabilities(self) -> np.ndarray:
        """P(eigenvector m selected) = mu_m e_{k-1}(mu without m) / e_k(mu) (Alg. 8, phase 1)."""
        return self._cb.inclusion()

    def inclusion_probabilities(self) -> np.ndarray:
        """P(j in S) = sum_m V_jm^2 mu_m e_{k-1}(mu without m) / e_k(mu) (Kulesza & Taskar 2012, eq. 5.4 per k)."""
        if self._inclusion is None:
            pi = (self.eigenvectors**2) @ self._cb.inclusion()
            self._inclusion = np.clip(pi, 0.0, 1.0)
            self._inclusion.setflags(write=False)
        return self._inclusion

    def sample(self, rng: np.random.Generator | int | None = None, size: int | None = None) -> np.ndarray:
        """Exact k-DPP samples: sorted int64 indices, shape (k,) or (size, k).

        Alg. 8 of Kulesza & Taskar 2012: eigenvectors chosen by the (tilted,
        stable) ESP recursion, then the projection DPP they span. ``rng``: a
        numpy Generator, an int seed or None.
        """
        rng = _as_rng(rng)
        size_ = _check_size(size)
        m = 1 if size_ is None else size_
        cb, n = self._cb, self.n
        out = np.empty((m, self.k), dtype=np.int64)
        pos = 0
        for b in _batches(m, n + cb.r):
            u1 = rng.random((b, n))
            u2 = rng.random((b, cb.r))
            sel = cb.sample_raw(u1)
            items = np.empty((b, cb.r), dtype=np.int64)
            _projection_sample(self._VT, sel, u2, items)
            out[pos : pos + b] = cb.to_k(items)
            pos += b
        return out[0] if size_ is None else out

    def __repr__(self) -> str:
        return f"KDPP(n={self.n}, k={self.k}, rank={self.rank})"


class DiagonalKDPP:
    """k-DPP with a diagonal kernel diag(weights): P(S) = prod_{j in S} w_j / e_k(w), |S| = k.

    The conditional Bernoulli (conditional Poisson) design; the white-input
    limit of the DPP-edge kernel, with w_j = w_ij^2 (docs/theory/pruning.md).
    Sampling (sequential selection with the tilted ESP table, Kulesza & Taskar
    2012 Alg. 8 phase 1 with eigenvalues = weights) and inclusion probabilities
    cost O(n min(k, n - k)) for the table plus O(n) per sample; no
    eigendecomposition. weights >= 0 and finite; 1 <= k <= number of positive
    weights.
    """

    def __init__(self, weights: ArrayLike, k: int) -> None:
        w = _float_array(weights, "weights", 1)
        if w.size == 0:
            raise ValueError("weights must be non-empty")
        if w.min() < 0:
            raise ValueError(f"weights must be >= 0, smallest is {w.min():.6g}")
        self.n = w.size
        self.weights = w
        self.weights.setflags(write=False)
        self.rank = int(np.count_nonzero(w > 0))
        if self.rank == 0:
            raise ValueError("weights are all zero: no k-subset has positive probability")
        self.k = _check_k(k, self.rank, "the number of positive weights")
        self._cb = _CondBernoulli(w, self.k)
        self._inclusion: np.ndarray | None = None

    @property
    def eigenvalues(self) -> np.ndarray:
        return self.weights

    @property
    def eigenvectors(self) -> np.ndarray:
        """The identity (n x n, built on request)."""
        return np.eye(self.n)

    @property
    def log_normaliser(self) -> float:
        """log e_k(weights)."""
        return self._cb.log_ek

    def with_k(self, k: int) -> DiagonalKDPP:
        return DiagonalKDPP(self.weights, k)

    def probability(self, S: ArrayLike) -> float:
        """P(S) = prod_{j in S} w_j / e_k(w)."""
        s = _check_subset(S, self.n, self.k)
        ws = self.weights[s]
        if np.any(ws == 0):
            return 0.0
        return float(np.exp(np.sum(np.log(ws)) - self.log_normaliser))

    def enumerate(self, max_subsets: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
        """All k-subsets (sorted rows) and P(S) = prod w_S / e_k; probabilities sum to 1 (a check, not a normalisation)."""
        subsets = all_subsets(self.n, self.k, max_subsets)
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)
        probs = np.exp(logw[subsets].sum(axis=1) - self.log_normaliser)
        return subsets, probs

    def inclusion_probabilities(self) -> np.ndarray:
        """Exact P(j in S) = w_j e_{k-1}(w without j) / e_k(w), by a stable forward-backward pass, O(n k)."""
        if self._inclusion is None:
            self._inclusion = np.clip(self._cb.inclusion(), 0.0, 1.0)
            self._inclusion.setflags(write=False)
        return self._inclusion

    def sample(self, rng: np.random.Generator | int | None = None, size: int | None = None) -> np.ndarray:
        """Exact samples: sorted int64 indices, shape (k,) or (size, k). O(n) per sample after the table."""
        rng = _as_rng(rng)
        size_ = _check_size(size)
        m = 1 if size_ is None else size_
        cb = self._cb
        out = np.empty((m, self.k), dtype=np.int64)
        pos = 0
        for b in _batches(m, self.n):
            u = rng.random((b, self.n))
            out[pos : pos + b] = cb.to_k(cb.sample_raw(u))
            pos += b
        return out[0] if size_ is None else out

    def __repr__(self) -> str:
        return f"DiagonalKDPP(n={self.n}, k={self.k})"
