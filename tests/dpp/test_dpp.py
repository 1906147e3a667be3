"""Tests of statmech.dpp: exact k-DPPs against brute force, big integers and dppy.

Independent routes: ESPs against brute-force sums and exact integer
arithmetic; P(S) against det(L_S) / sum_S' det(L_S') by itertools and
numpy.linalg.det; sampling frequencies against the exact probabilities by a
chi-square test; exact inclusion probabilities against enumeration and
against their large-n (Hajek) expansion; our sampler against dppy's.

Chi-square tests: 20,000 seeded samples, pass when p > 1e-3. An exact
sampler fails such a test with probability 1e-3 for a random seed (the seeds
are fixed, so the suite is deterministic); a sampler whose probabilities are
off by a few percent gives p ~ 1e-10 or less at this sample size, so the
threshold separates the two cases sharply. Cells with expected count < 5 are
pooled so that the chi-square approximation holds.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import statmech.dpp.kdpp as dppmod
from statmech.dpp import KDPP, DiagonalKDPP, diagonal_inclusion_limit, elementary_symmetric, log_elementary_symmetric

N_CHI = 20_000
P_MIN = 1e-3


# ----------------------------------------------------------------- helpers
def wishart(rng, n, dof, scale=1.0):
    A = rng.standard_normal((n, dof))
    return scale * A @ A.T / dof


def brute_probs(L, k):
    """P(S) = det(L_S) / sum over all k-subsets of det(L_S'), with itertools and numpy.linalg.det."""
    subsets = list(itertools.combinations(range(L.shape[0]), k))
    dets = np.array([np.linalg.det(L[np.ix_(s, s)]) for s in subsets])
    return np.array(subsets), dets / dets.sum()


def counts_of(samples, subsets):
    index = {tuple(s): i for i, s in enumerate(subsets)}
    return np.bincount([index[tuple(s)] for s in samples], minlength=len(subsets))


def chisq_p(counts, probs):
    """Chi-square goodness of fit, pooling cells with expected count < 5 into one (P(S) = 0 cells must be empty)."""
    counts = np.asarray(counts, float)
    assert np.all(counts[probs == 0] == 0), "a subset of probability zero was sampled"
    counts, probs = counts[probs > 0], probs[probs > 0]
    expected = probs * counts.sum()
    small = expected < 5
    if small.any():
        counts = np.append(counts[~small], counts[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
    return stats.chisquare(counts, expected * counts.sum() / expected.sum()).pvalue


def exact_log_esp(x, k):
    """log e_j(x), j = 0..k, in exact integer arithmetic on the binary values of the floats x."""
    ratios = [float(v).as_integer_ratio() for v in x]
    s = max(den.bit_length() - 1 for _, den in ratios)  # denominators are powers of two
    ints = [num << (s - (den.bit_length() - 1)) for num, den in ratios]
    E = [1] + [0] * k
    for v in ints:
        for j in range(k, 0, -1):
            E[j] += v * E[j - 1]
    return np.array([math.log(E[j]) - j * s * math.log(2) if E[j] > 0 else -np.inf for j in range(k + 1)])


# ----------------------------------------------------------------- ESPs
def test_esp_brute_force(rng):
    x = rng.random(7) * 3
    x[2] = 0.0
    e = elementary_symmetric(x, 9)
    for j in range(10):
        brute = sum(np.prod(c) for c in itertools.combinations(x, j)) if j <= 7 else 0.0
        # relative error of the log-space recursion is O(n eps); 1e-12 leaves a wide margin
        assert e[j] == pytest.approx(brute, rel=1e-12, abs=0.0), j
    le = log_elementary_symmetric(x, 9)
    assert le[0] == 0.0
    assert np.all(np.isneginf(le[7:]))  # only 6 nonzero values: e_7, e_8, e_9 are 0
    assert np.all(np.isfinite(le[:7]))


def test_esp_exact_on_ill_scaled_large_spectrum():
    """500 x 500 kernel, eigenvalues ~ 1000, k = 166: e_k ~ exp(1450) overflows float64 (dppy's failure case)."""
    rng = np.random.default_rng(166)
    L = wishart(rng, 500, 1000, scale=1000.0)
    dpp = KDPP(L, 166)
    lam = dpp.eigenvalues
    exact = exact_log_esp(lam, 166)
    assert exact[166] > 709.8  # e_166 itself is beyond float64 range
    ours = log_elementary_symmetric(lam, 166)
    # each log e_j has absolute error of order n eps |log e_j| <~ 1e-10 (relative O(n eps) per term)
    np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-10)
    # the tilted (Poisson-binomial) route used by the sampler gives the same normaliser
    assert dpp.log_normaliser == pytest.approx(exact[166], abs=1e-10)
    assert DiagonalKDPP(lam, 166).log_normaliser == pytest.approx(exact[166], abs=1e-10)
    assert np.isinf(elementary_symmetric(lam, 166)[166])  # the true value overflows: inf, never a wrong number


def test_esp_errors():
    with pytest.raises(ValueError, match="eigvals must be >= 0"):
        log_elementary_symmetric([1.0, -0.5], 1)
    with pytest.raises(ValueError, match="eigvals must be 1-dimensional"):
        log_elementary_symmetric(np.eye(2), 1)
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        elementary_symmetric([1.0, 2.0], -1)
    with pytest.raises(ValueError, match="eigvals contains NaN"):
        elementary_symmetric([1.0, np.nan], 1)


# ----------------------------------------------------------------- enumeration and inclusion
@pytest.mark.parametrize("n", [6, 7, 8])
def test_enumeration_matches_brute_force(n):
    rng = np.random.default_rng(n)
    L = wishart(rng, n, n + 2)
    for k in range(1, n + 1):
        dpp = KDPP(L, k)
        subsets, probs = dpp.enumerate()
        bsub, bprobs = brute_probs(L, k)
        np.testing.assert_array_equal(subsets, bsub)
        # sum_S det(L_S) = e_k (Cauchy-Binet): a check of the ESP normaliser, good to rounding
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(probs, bprobs, rtol=1e-9, atol=1e-14)
        for i in (0, len(subsets) // 2, len(subsets) - 1):
            assert dpp.probability(subsets[i][::-1]) == pytest.approx(probs[i], rel=1e-12)
        incl = np.array([bprobs[(bsub == j).any(axis=1)].sum() for j in range(n)])
        np.testing.assert_allclose(dpp.inclusion_probabilities(), incl, atol=1e-12)
        assert dpp.inclusion_probabilities().sum() == pytest.approx(k, abs=1e-12)


def test_rank_deficient_kernel():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((7, 3))
    L = X @ X.T  # rank 3
    dpp = KDPP(L, 3)
    assert dpp.rank == 3
    subsets, probs = dpp.enumerate()
    _, bprobs = brute_probs(L, 3)
    np.testing.assert_allclose(probs, bprobs, atol=1e-12)
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k <= 3 \(the rank of L\), got k=4"):
        KDPP(L, 4)
    p = chisq_p(counts_of(dpp.sample(rng=11, size=N_CHI), subsets), probs)
    assert p > P_MIN
    # rank 5 of 7 with k = 5 = rank: every nonzero eigenvector is taken, and the complement path
    # samples the 2 null-space eigenvectors' projection DPP
    X = rng.standard_normal((7, 5))
    L = X @ X.T
    dpp = KDPP(L, 5)
    assert dpp.rank == 5 and dpp._cb.complement
    subsets, probs = brute_probs(L, 5)
    assert chisq_p(counts_of(dpp.sample(rng=12, size=N_CHI), subsets), probs) > P_MIN


def test_diagonal_enumeration_and_inclusion():
    w = np.array([0.3, 2.0, 0.0, 1.1, 0.7, 5.0, 0.05])
    for k in range(1, 7):
        d = DiagonalKDPP(w, k)
        subsets, probs = d.enumerate()
        prods = np.array([np.prod(w[list(s)]) for s in itertools.combinations(range(7), k)])
        np.testing.assert_allclose(probs, prods / prods.sum(), rtol=1e-12, atol=1e-15)
        incl = np.array([probs[(subsets == j).any(axis=1)].sum() for j in range(7)])
        np.testing.assert_allclose(d.inclusion_probabilities(), incl, atol=1e-13)
        # the diagonal k-DPP equals the k-DPP of the full diagonal matrix
        np.testing.assert_allclose(KDPP(np.diag(w), k).inclusion_probabilities(), incl, atol=1e-12)
        assert d.probability(subsets[0]) == pytest.approx(probs[0], rel=1e-12)
    assert DiagonalKDPP(w, 2).probability([1, 2]) == 0.0


# ----------------------------------------------------------------- exactness of sampling
@pytest.mark.parametrize("n,k", [(6, 2), (6, 3), (7, 1), (7, 4), (8, 3), (8, 6)])
def test_sampling_chi_square(n, k):
    """Covers both the direct path (k <= n/2) and the complement path (k > n/2)."""
    rng = np.random.default_rng(100 * n + k)
    L = wishart(rng, n, n + 1)
    dpp = KDPP(L, k)
    subsets, probs = brute_probs(L, k)
    samples = dpp.sample(rng=rng, size=N_CHI)
    assert samples.shape == (N_CHI, k) and samples.dtype == np.int64
    assert np.all(np.diff(samples, axis=1) > 0)
    assert chisq_p(counts_of(samples, subsets), probs) > P_MIN


def test_sampling_ill_conditioned_spectrum():
    """Eigenvalues from 1e-5 to 1e5 (condition 1e10): P(S) spans many orders of magnitude."""
    rng = np.random.default_rng(8)
    Vq, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    L = (Vq * np.logspace(-5, 5, 10)) @ Vq.T
    for k in (3, 7):
        dpp = KDPP(L, k)
        subsets, probs = dpp.enumerate()
        # det of a nearly singular L_S carries relative rounding error ~ eps cond(L) = 2e-6 at worst;
        # the observed Cauchy-Binet defect is 1e-10
        assert probs.sum() == pytest.approx(1.0, abs=1e-8)
        assert chisq_p(counts_of(dpp.sample(rng=k, size=N_CHI), subsets), probs) > P_MIN


@pytest.mark.parametrize("k", [2, 5])
def test_diagonal_sampling_chi_square(k):
    w = np.array([0.3, 2.0, 0.0, 1.1, 0.7, 5.0, 0.05, 1.0])
    d = DiagonalKDPP(w, k)
    subsets, probs = d.enumerate()
    samples = d.sample(rng=k, size=N_CHI)
    assert np.all(np.diff(samples, axis=1) > 0)
    assert not np.any(samples == 2)  # zero weight: never chosen
    assert chisq_p(counts_of(samples, subsets), probs) > P_MIN


def test_large_ill_scaled_kernel_samples():
    """500 x 500, eigenvalues up to ~1e5, k = 166: item frequencies match the exact inclusion probabilities.

    Features with log-normal scales make the inclusion probabilities range from 1e-4 to 0.97.
    Each item's count over N samples is Binomial(N, pi_j), so z_j = (f_j - pi_j) / sqrt(pi_j (1 - pi_j) / N)
    has mean 0 and variance 1 exactly. Over the items with N pi_j (1 - pi_j) >= 10 (normal approximation
    good), mean(z^2) is 1 within about sqrt(2 / n_items) = 0.07; we allow 0.3, and max|z| < 5.5
    (Bonferroni over <= 500 items, binomial tails).
    """
    rng = np.random.default_rng(1000)
    scales = np.exp(rng.standard_normal(500))
    A = rng.standard_normal((500, 1000)) * scales[:, None]
    L = 1000.0 * A @ A.T / 1000
    dpp = KDPP(L, 166)
    pi = dpp.inclusion_probabilities()
    assert pi.sum() == pytest.approx(166, abs=1e-9)
    N = 600
    s = dpp.sample(rng=1, size=N)
    assert np.all(np.diff(s, axis=1) > 0)
    f = np.bincount(s.ravel(), minlength=500) / N
    ok = N * pi * (1 - pi) >= 10
    assert ok.sum() > 300
    z = ((f - pi) / np.sqrt(pi * (1 - pi) / N))[ok]
    assert np.abs(z).max() < 5.5
    assert abs(np.mean(z**2) - 1) < 0.3
    # power: the marginals of a sampler that always took the top-k eigenvectors (what a
    # broken ESP recursion tends to do) give mean(z^2) near 85 here
    top = (dpp.eigenvectors[:, -166:] ** 2).sum(axis=1)
    assert np.mean(((top - pi) / np.sqrt(pi * (1 - pi) / N))[ok] ** 2) > 10


# ----------------------------------------------------------------- invariances and implementation paths
def test_scaling_invariance():
    rng = np.random.default_rng(4)
    L = wishart(rng, 8, 9)
    base = KDPP(L, 3)
    _, p0 = base.enumerate()
    for c in (1e-6, 1e6, 1000.0):
        d = KDPP(c * L, 3)
        _, p = d.enumerate()
        np.testing.assert_allclose(p, p0, rtol=1e-9)
        np.testing.assert_allclose(d.inclusion_probabilities(), base.inclusion_probabilities(), atol=1e-12)
    # scaling by a power of two is exact in floating point: identical samples for the same seed
    big = wishart(rng, 60, 80)
    a = KDPP(big, 20).sample(rng=5, size=50)
    b = KDPP(big * 2.0**20, 20).sample(rng=5, size=50)
    np.testing.assert_array_equal(a, b)


def test_block_path_equals_table_path(monkeypatch):
    """The checkpointed sqrt(n)-block recomputation (large n) gives bit-identical samples and inclusion."""
    rng = np.random.default_rng(9)
    w = rng.standard_normal(300) ** 2
    L = wishart(rng, 40, 50)
    ref_d = [DiagonalKDPP(w, k) for k in (30, 250)]
    ref_k = [KDPP(L, k) for k in (7, 31)]
    monkeypatch.setattr(dppmod, "_TABLE_MAX", 0)
    for ref in ref_d:
        d = DiagonalKDPP(w, ref.k)
        assert d._cb._table is None
        np.testing.assert_array_equal(d.sample(rng=3, size=20), ref.sample(rng=3, size=20))
        np.testing.assert_allclose(d.inclusion_probabilities(), ref.inclusion_probabilities(), rtol=1e-12)
        assert d.log_normaliser == pytest.approx(ref.log_normaliser, rel=1e-13)
    for ref in ref_k:
        d = KDPP(L, ref.k)
        np.testing.assert_array_equal(d.sample(rng=3, size=20), ref.sample(rng=3, size=20))


def test_sample_shapes_rng_and_with_k():
    rng = np.random.default_rng(2)
    dpp = KDPP(wishart(rng, 9, 12), 4)
    assert dpp.sample(rng=1).shape == (4,)
    assert dpp.sample(rng=1, size=0).shape == (0, 4)
    np.testing.assert_array_equal(dpp.sample(rng=7, size=5), dpp.sample(rng=np.random.default_rng(7), size=5))
    assert dpp.sample(size=3).shape == (3, 4)  # rng=None
    other = dpp.with_k(6)
    fresh = KDPP(dpp.L, 6)
    np.testing.assert_allclose(other.inclusion_probabilities(), fresh.inclusion_probabilities(), atol=1e-14)
    np.testing.assert_array_equal(other.sample(rng=4, size=10), fresh.sample(rng=4, size=10))
    d = DiagonalKDPP([1.0, 2.0, 3.0], 2)
    assert d.sample(rng=0).shape == (2,)
    assert d.sample(rng=0, size=4).shape == (4, 2)


# ----------------------------------------------------------------- diagonal k-DPP at large n
@pytest.mark.parametrize("c", [0.1, 0.5, 0.9])
def test_diagonal_inclusion_tends_to_limit(c):
    """Exact inclusion vs lam w / (1 + lam w): the gap is O(1/d), d = sum p (1 - p) ~ n.

    Hajek's (1964) expansion for conditional Poisson sampling gives
    pi_j = p_j + p_j (1 - p_j)(p_j - pbar) / d + O(1/d^2), pbar = sum p^2 (1 - p) / d;
    so |pi_j - p_j| <= p_j (1 - p_j) / d to first order, and the first-order formula is
    within O(1/d^2) of the exact values (the remainder constant is observed to be about 0.03;
    we allow 1 / d^2, still 10x below the first-order term it must reproduce).
    """
    rng = np.random.default_rng(int(10 * c))
    gaps = []
    for n in (1000, 4000):
        w = rng.standard_normal(n) ** 2  # docs/theory/pruning.md: DPP edge with weights w_ij^2
        k = int(round(c * n))
        pi = DiagonalKDPP(w, k).inclusion_probabilities()
        p, lam = diagonal_inclusion_limit(w, k, return_lambda=True)
        np.testing.assert_allclose(p, lam * w / (1 + lam * w), rtol=1e-12)
        assert p.sum() == pytest.approx(k, rel=1e-12)
        assert pi.sum() == pytest.approx(k, rel=1e-12)
        d = np.sum(p * (1 - p))
        assert np.all(np.abs(pi - p) <= p * (1 - p) / d + 1 / d**2)
        pbar = np.sum(p**2 * (1 - p)) / d
        hajek = p + p * (1 - p) * (p - pbar) / d
        assert np.abs(pi - hajek).max() < 1 / d**2
        gaps.append(np.abs(pi - p).max() * n)
    # n * max gap stays of order one (it would grow like n for a wrong O(1) limit)
    assert 0.3 < gaps[1] / gaps[0] < 3


def test_diagonal_sampler_inclusion_at_large_n():
    """n = 20,000 edges, k = 3,320 (the pruning-theory check size): frequencies vs exact inclusion."""
    rng = np.random.default_rng(20000)
    w = rng.standard_normal(20_000) ** 2
    d = DiagonalKDPP(w, 3320)
    pi = d.inclusion_probabilities()
    N = 300
    s = d.sample(rng=2, size=N)
    f = np.bincount(s.ravel(), minlength=20_000) / N
    # sum over items of (f - pi)^2 / (pi (1 - pi) / N) has mean n; items of a conditional Poisson
    # design are only weakly correlated, so its standard deviation is about sqrt(2 n) = 200
    T = np.sum((f - pi) ** 2 / (pi * (1 - pi) / N))
    assert abs(T - 20_000) < 5 * 200
    # theory-side marginals: sampled weight fraction sum_j pi_j w_j / sum w within its Monte Carlo error
    kept = w[s].sum(axis=1) / w.sum()
    assert abs(kept.mean() - (pi * w).sum() / w.sum()) < 4 * kept.std(ddof=1) / np.sqrt(N)


# ----------------------------------------------------------------- cross-check against dppy
@pytest.mark.parametrize("k", [2, 3])
def test_against_dppy(k):
    finite_dpps = pytest.importorskip("dppy.finite_dpps")
    rng = np.random.default_rng(600 + k)
    L = wishart(rng, 6, 7)
    subsets, probs = brute_probs(L, k)
    # dppy: a new FiniteDPP per k (its cached ESPs break for a larger k), a legacy RandomState
    dp = finite_dpps.FiniteDPP("likelihood", L=L)
    rs = np.random.RandomState(7 + k)
    theirs = np.sort(np.array([dp.sample_exact_k_dpp(size=k, random_state=rs) for _ in range(N_CHI)]), axis=1)
    ours = KDPP(L, k).sample(rng=8 + k, size=N_CHI)
    c_theirs, c_ours = counts_of(theirs, subsets), counts_of(ours, subsets)
    assert chisq_p(c_theirs, probs) > P_MIN
    assert chisq_p(c_ours, probs) > P_MIN
    keep = (c_theirs + c_ours) > 0
    assert stats.chi2_contingency(np.vstack([c_ours[keep], c_theirs[keep]]))[1] > P_MIN


# ----------------------------------------------------------------- bad input
def test_kdpp_bad_input():
    L = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    with pytest.raises(ValueError, match="L must be a square"):
        KDPP(np.ones((2, 3)), 1)
    with pytest.raises(ValueError, match="L must be 2-dimensional"):
        KDPP(np.ones(3), 1)
    with pytest.raises(ValueError, match="L must be symmetric"):
        KDPP(L + np.triu(np.ones((3, 3)), 1), 1)
    with pytest.raises(ValueError, match="L contains NaN"):
        KDPP(np.where(np.eye(3) > 0, np.nan, L), 1)
    with pytest.raises(ValueError, match=r"L must be positive semi-definite: smallest eigenvalue -1"):
        KDPP(np.diag([1.0, -1.0, 2.0]), 1)
    with pytest.raises(ValueError, match="L must be real"):
        KDPP(L + 1j, 1)
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k <= 3 \(the rank of L\), got k=0"):
        KDPP(L, 0)
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k <= 3 \(the rank of L\), got k=4"):
        KDPP(L, 4)
    with pytest.raises(ValueError, match="k must be an integer"):
        KDPP(L, 1.5)
    with pytest.raises(ValueError, match="rank 0"):
        KDPP(np.zeros((3, 3)), 1)
    dpp = KDPP(L, 2)
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        dpp.sample(rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="size must be None or an integer >= 0"):
        dpp.sample(size=-1)
    with pytest.raises(ValueError, match=r"S must be a sequence of 2 distinct integer indices in \[0, 3\)"):
        dpp.probability([0, 0])
    with pytest.raises(ValueError, match="S must be a sequence of 2"):
        dpp.probability([0, 3])
    with pytest.raises(ValueError, match="S must be a sequence of 2"):
        dpp.probability([0, 1, 2])
    with pytest.raises(ValueError, match=r"C\(3, 2\) = 3 subsets, more than max_subsets=2"):
        dpp.enumerate(max_subsets=2)


def test_diagonal_bad_input():
    with pytest.raises(ValueError, match="weights must be >= 0, smallest is -1"):
        DiagonalKDPP([1.0, -1.0], 1)
    with pytest.raises(ValueError, match="weights are all zero"):
        DiagonalKDPP([0.0, 0.0], 1)
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k <= 2 \(the number of positive weights\), got k=3"):
        DiagonalKDPP([1.0, 0.0, 2.0], 3)
    with pytest.raises(ValueError, match="weights must be non-empty"):
        DiagonalKDPP([], 1)
    with pytest.raises(ValueError, match="weights contains NaN"):
        DiagonalKDPP([1.0, np.inf], 1)
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k <= 2 \(number of positive weights\), got k=3"):
        diagonal_inclusion_limit([1.0, 0.0, 2.0], 3)
    # k equal to the number of positive weights: lam = inf, deterministic choice
    p, lam = diagonal_inclusion_limit([1.0, 0.0, 2.0], 2, return_lambda=True)
    assert lam == math.inf and np.array_equal(p, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(DiagonalKDPP([1.0, 0.0, 2.0], 2).sample(rng=0, size=3), [[0, 2]] * 3)


@pytest.mark.slow
@pytest.mark.parametrize("k", [4, 6])
def test_sampling_chi_square_large_sample(k):
    """200,000 samples (n = 10): sensitive to relative errors of about 1% in P(S)."""
    rng = np.random.default_rng(10 + k)
    L = wishart(rng, 10, 12)
    subsets, probs = brute_probs(L, k)
    samples = KDPP(L, k).sample(rng=k, size=200_000)
    assert chisq_p(counts_of(samples, subsets), probs) > P_MIN
