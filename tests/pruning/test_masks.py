"""Masks and reweighting on real weight matrices (statmech.pruning.finite.masks).

Every check compares two independent routes: streamed moments vs moments of
the materialised data, our least squares vs numpy/scikit-learn regressions on
the raw data, mask frequencies vs exact probabilities enumerated here with
determinants, eps_g from order parameters vs Monte Carlo test sets.
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import erf

from statmech import Weights
from statmech.ode.generalisation import eps_g_arrays
from statmech.pruning.finite import masks as pw
from statmech.pruning.schemes import DPPEdge


def _g(u):
    return erf(u / np.sqrt(2))


# ------------------------------------------------------------------ moments
def test_streamed_moments_equal_direct_moments(rng):
    K, N, P = 4, 30, 1000
    W = rng.standard_normal((K, N))
    X = rng.standard_normal((P, N))
    m = pw.data_moments(W, X, activation="erf", block_size=77, progress=False)  # 13 uneven blocks
    lam = X @ W.T / np.sqrt(N)
    # same sums, different association: rounding only
    np.testing.assert_allclose(m.Sxx, X.T @ X / P, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(m.G_pre, lam.T @ lam / P, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(m.G_act, _g(lam).T @ _g(lam) / P, rtol=1e-12, atol=1e-13)
    # the paper's node kernel is W (X^T X / P) W^T / N exactly
    np.testing.assert_allclose(m.G_pre, W @ m.Sxx @ W.T / N, rtol=1e-10)
    # Gaussian kernel: exp(-beta mean (g_i - g_j)^2) + eps
    L = pw.node_kernel(m, "gaussian", beta=0.7, eps=0.1)
    a = _g(lam)
    D = ((a[:, :, None] - a[:, None, :]) ** 2).mean(0)
    np.testing.assert_allclose(L, np.exp(-0.7 * D) + 0.1 * np.eye(K), rtol=1e-10, atol=1e-12)


def test_gaussian_inputs_have_the_requested_covariance(rng):
    N, P = 6, 40_000
    C = pw.toeplitz_covariance(N, 0.6)
    m = pw.data_moments(np.ones((1, N)), pw.GaussianInputs(N, C), P, rng=rng, progress=False)
    # Var(x_i x_j) = C_ii C_jj + C_ij^2: 5 standard errors per entry (36 entries)
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / P)
    assert np.all(np.abs(m.Sxx - C) < 5 * se)


# -------------------------------------------------------------- node masks
def test_random_node_masks_are_uniform(rng):
    K, k, n = 5, 2, 6000
    masks = pw.random_node_masks(K, k, n, rng)
    assert masks.shape == (n, K) and np.all(masks.sum(1) == k)
    subsets = [tuple(np.flatnonzero(r)) for r in masks]
    counts = np.array([subsets.count(s) for s in itertools.combinations(range(K), k)])
    expected = n / len(counts)
    chi2 = np.sum((counts - expected) ** 2 / expected)
    from scipy.stats import chi2 as chi2_dist

    assert chi2_dist.sf(chi2, len(counts) - 1) > 1e-3


def test_importance_node_scores():
    v = np.array([1.5, -2.0, 0.3, -0.1])
    assert list(np.flatnonzero(pw.importance_node_mask(v, 2))) == [0, 1]  # |v|
    assert list(np.flatnonzero(pw.importance_node_mask(v, 2, "signed-v"))) == [0, 2]  # paper quirk
    q = np.array([0.1, 0.1, 100.0, 1.0])  # |v| sqrt(Q_ii) = 0.47, 0.63, 3, 0.1
    assert list(np.flatnonzero(pw.importance_node_mask(v, 2, "abs-v-sqrtq", q))) == [1, 2]


def _dpp_subset_probabilities(L, k):
    """P(S) = det(L_S) / sum_S' det(L_S'), enumerated with determinants (independent of statmech.dpp)."""
    subsets = list(itertools.combinations(range(L.shape[0]), k))
    d = np.array([np.linalg.det(L[np.ix_(s, s)]) for s in subsets])
    return subsets, d / d.sum()


def test_dpp_node_masks_follow_det_of_the_data_kernel(rng):
    K, N, k, n = 5, 40, 2, 4000
    W = rng.standard_normal((K, N))
    W[1] = W[0] + 0.3 * rng.standard_normal(N)  # a near copy: pairs {0,1} are rare
    m = pw.data_moments(W, pw.GaussianInputs(N), 3000, rng=rng, progress=False)
    L = pw.node_kernel(m)
    masks = pw.sample_masks("dpp-node", W, np.ones(K), k, n, rng, moments=m)
    subsets, p = _dpp_subset_probabilities(L, k)
    got = [tuple(np.flatnonzero(r)) for r in masks]
    counts = np.array([got.count(s) for s in subsets])
    from scipy.stats import chisquare

    assert chisquare(counts, n * p).pvalue > 1e-3


# -------------------------------------------------------------- edge masks
def test_random_edge_masks_keep_fraction(rng):
    K, N, e, n = 3, 400, 100, 20
    masks = pw.random_edge_masks(K, N, e, n, rng)
    kept = masks.mean()
    # binomial standard error of the mean over n K N independent Bernoulli(e/N)
    assert abs(kept - e / N) < 4 * np.sqrt(0.25 * 0.75 / masks.size)


def test_importance_edge_mask_is_a_magnitude_threshold(rng):
    W = rng.standard_normal((4, 50))
    mask = pw.importance_edge_mask(W, 12)
    assert np.all(mask.sum(1) == 12)
    for i in range(4):
        thr = np.sort(np.abs(W[i]))[::-1][11]  # 12th largest magnitude
        np.testing.assert_array_equal(mask[i], np.abs(W[i]) >= thr)


def test_dpp_edge_masks_have_lambda_w2_inclusion_probabilities(rng):
    """Real kernel diag(w) (X^T X/P) diag(w) -> inclusion lam w^2 / (1 + lam w^2) (docs/theory/pruning.md)."""
    from scipy.optimize import brentq

    K, N, e, P, n = 2, 120, 30, 200_000, 1500
    W = rng.standard_normal((K, N))
    m = pw.data_moments(W, pw.GaussianInputs(N), P, rng=rng, progress=False)
    masks = pw.dpp_edge_masks(W, e, n, rng, Sxx=m.Sxx)
    assert masks.shape == (n, K, N) and np.all(masks.sum(2) == e)
    for i in range(K):
        w2 = W[i] ** 2
        lam = brentq(lambda t: np.sum(t * w2 / (1 + t * w2)) - e, 1e-8, 1e8)
        pi = lam * w2 / (1 + lam * w2)
        freq = masks[:, i, :].mean(0)
        z = (freq - pi) / np.sqrt(pi * (1 - pi) / n)
        # the large-N formula carries O(1/N) and O(sqrt(N/P)) corrections; the z-scores of 120
        # edges must look like standard normals: rms below 1.3 (1.0 expected) and none beyond 4.5
        assert np.sqrt(np.mean(z**2)) < 1.3 and np.max(np.abs(z)) < 4.5


def test_dpp_edge_white_limit_masks_without_data(rng):
    W = rng.standard_normal((2, 60))
    masks = pw.sample_masks(DPPEdge(edge_kernel="diagonal"), W, np.ones(2), 20, 3, rng)
    assert masks.shape == (3, 2, 60) and np.all(masks.sum(2) == 20)


# ------------------------------------------------------------- reweighting
def test_fusing_an_exact_copy_restores_the_network(rng):
    wts = Weights.random(4, 2, 100, vstar=2.0, seed=1)
    W, v = wts.W.copy(), wts.v.copy()
    W[3] = W[1]  # unit 3 is an exact copy of unit 1
    m = pw.data_moments(W, pw.GaussianInputs(100), 2000, rng=rng, progress=False)
    keep = np.array([True, True, True, False])
    for signal in ("preactivation", "activation"):
        Wp, vp = pw.reweight_nodes(W, v, keep, m, signal=signal)
        assert Wp.shape == (3, 100)
        # the removed copy's role passes to unit 1: v_1 + v_3 (closed form), others unchanged
        np.testing.assert_allclose(vp, [v[0], v[1] + v[3], v[2]], atol=1e-8)
        full = pw.pruned_eps_g(W, v, wts.Wstar, wts.vstar)
        assert abs(pw.pruned_eps_g(Wp, vp, wts.Wstar, wts.vstar) - full) < 1e-8
    # without fusion the error changes
    assert abs(pw.pruned_eps_g(*pw.prune_nodes(W, v, keep), wts.Wstar, wts.vstar) - full) > 1e-3


def test_fuse_nodes_is_the_least_squares_regression_on_data(rng):
    from sklearn.linear_model import LinearRegression

    K, N, P = 5, 40, 3000
    W = rng.standard_normal((K, N))
    v = rng.standard_normal(K)
    X = rng.standard_normal((P, N))
    m = pw.data_moments(W, X, progress=False)
    keep = np.array([True, False, True, True, False])
    a = _g(X @ W.T / np.sqrt(N))
    target = a[:, ~keep] @ v[~keep]
    coef = LinearRegression(fit_intercept=False).fit(a[:, keep], target).coef_
    _, vS = pw.reweight_nodes(W, v, keep, m, signal="activation")
    np.testing.assert_allclose(vS, v[keep] + coef, rtol=1e-8, atol=1e-10)


def test_paper_bug_is_reproduced_only_on_request_with_a_warning(rng):
    W = rng.standard_normal((3, 20))
    v = np.array([1.0, 2.0, 3.0])
    m = pw.data_moments(W, pw.GaussianInputs(20), 500, rng=rng, progress=False)
    keep = np.array([True, True, False])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Wp, vp = pw.reweight_nodes(W, v, keep, m)  # default: no warning, unit removed
    assert Wp.shape == (2, 20)
    with pytest.warns(pw.PaperBugWarning, match="pruned units stay active"):
        Wb, vb = pw.reweight_nodes(W, v, keep, m, keep_pruned_active=True)
    assert Wb.shape == (3, 20) and vb[2] == 3.0
    np.testing.assert_allclose(vb[:2], vp)


def test_edge_reweighting_is_per_unit_least_squares(rng):
    K, N, P = 3, 25, 400
    W = rng.standard_normal((K, N))
    X = rng.standard_normal((P, N)) @ np.linalg.cholesky(pw.toeplitz_covariance(N, 0.7)).T
    mask = pw.random_edge_masks(K, N, 10, 1, rng)[0]
    Wr = pw.reweight_edges(W, mask, X.T @ X / P)
    for i in range(K):
        kept, rem = mask[i], ~mask[i]
        coef = np.linalg.lstsq(X[:, kept], X[:, rem] @ W[i, rem], rcond=None)[0]
        np.testing.assert_allclose(Wr[i, kept], W[i, kept] + coef, rtol=1e-8, atol=1e-10)
        assert np.all(Wr[i, rem] == 0)


def test_edge_reweighting_matters_only_for_correlated_inputs(rng):
    """White inputs: the correction shrinks like sqrt(N/P); correlated inputs: it lowers eps_g."""
    wts = Weights.random(3, 2, 60, vstar=2.0, seed=3)
    mask = pw.random_edge_masks(3, 60, 20, 1, rng)[0]
    Wp = pw.prune_edges(wts.W, mask)
    shifts = []
    for P in (2_000, 200_000):
        m = pw.data_moments(wts.W, pw.GaussianInputs(60), P, rng=rng, progress=False)
        shifts.append(np.linalg.norm(pw.reweight_edges(wts.W, mask, m.Sxx) - Wp))
    # 100 x more data: the shift falls by about 10; allow a factor 2 of randomness
    assert shifts[1] < shifts[0] / 5
    C = pw.toeplitz_covariance(60, 0.9)
    m = pw.data_moments(wts.W, pw.GaussianInputs(60, C), 200_000, rng=rng, progress=False)
    Wr = pw.reweight_edges(wts.W, mask, m.Sxx)
    e_plain = pw.pruned_eps_g(Wp, wts.v, wts.Wstar, wts.vstar, covariance=C)
    e_rew = pw.pruned_eps_g(Wr, wts.v, wts.Wstar, wts.vstar, covariance=C)
    e_full = pw.pruned_eps_g(wts.W, wts.v, wts.Wstar, wts.vstar, covariance=C)
    # least squares per unit: the pre-activation error (w'-w)^T C (w'-w) must not exceed the plain mask's
    for Wx in (Wr,):
        d_r = np.einsum("ij,jk,ik->i", Wx - wts.W, C, Wx - wts.W)
        d_p = np.einsum("ij,jk,ik->i", Wp - wts.W, C, Wp - wts.W)
        assert np.all(d_r < d_p)
    assert abs(e_rew - e_full) < 0.5 * abs(e_plain - e_full)


# ------------------------------------------------------------------ errors
def test_eps_g_from_order_parameters_matches_a_test_set(rng):
    wts = Weights.random(3, 2, 50, vstar=1.5, seed=4)
    C = pw.toeplitz_covariance(50, 0.5)
    nets = [(wts.W, wts.v), (wts.W[:2], wts.v[:2])]
    out = pw.test_losses(
        nets, wts.Wstar, wts.vstar, pw.GaussianInputs(50, C), 60_000, sigma=0.5, rng=rng, progress=False
    )
    for t, (W, v) in enumerate(nets):
        eg = pw.pruned_eps_g(W, v, wts.Wstar, wts.vstar, covariance=C)
        # noisy test loss = eps_g + sigma^2/2 within 4 of its standard errors
        assert abs(out["test_loss"][t] - (eg + 0.125)) < 4 * out["test_loss_stderr"][t]
        # eps_g of the order parameters with covariance C: explicit formula route
        Q, R, T = W @ C @ W.T / 50, W @ C @ wts.Wstar.T / 50, wts.Wstar @ C @ wts.Wstar.T / 50
        assert eg == pytest.approx(eps_g_arrays(Q, R, T, v, wts.vstar), rel=1e-12)


def test_bad_input_messages(rng):
    W = rng.standard_normal((3, 10))
    v = np.ones(3)
    with pytest.raises(ValueError, match=r"e \(edges kept per unit\) must be an integer in 1..N=10, got 11"):
        pw.sample_masks("random-edge", W, v, 11)
    with pytest.raises(ValueError, match=r"k \(units kept\) must be an integer in 1..K=3, got 4"):
        pw.sample_masks("random-node", W, v, 4)
    with pytest.raises(ValueError, match="k \\(units kept\\).*got 0"):
        pw.sample_masks("importance-node", W, v, 0)
    with pytest.raises(ValueError, match="scheme must be one of"):
        pw.sample_masks("magic", W, v, 1)
    with pytest.raises(ValueError, match="v must have length K=3"):
        pw.sample_masks("random-node", W, np.ones(4), 1)
    with pytest.raises(ValueError, match="dpp-node needs data moments"):
        pw.sample_masks("dpp-node", W, v, 1)
    with pytest.raises(ValueError, match="n_masks must be an integer >= 1"):
        pw.sample_masks("random-node", W, v, 1, 0)
    with pytest.raises(ValueError, match="node kernel must be one of"):
        pw.node_kernel(pw.data_moments(W, pw.GaussianInputs(10), 20, rng=rng, progress=False), "cosine")
    with pytest.raises(ValueError, match=r"input covariance must have shape \(10, 10\)"):
        pw.GaussianInputs(10, np.eye(3))
    with pytest.raises(ValueError, match="rho .* must lie in"):
        pw.toeplitz_covariance(5, 1.0)
    with pytest.raises(ValueError, match="inputs have dimension 7 but W has N=10"):
        pw.data_moments(W, pw.GaussianInputs(7), 5, progress=False)


def test_deterministic_scheme_returns_one_mask_and_says_so(rng):
    W = rng.standard_normal((3, 10))
    with pytest.warns(pw.DeterministicMasksWarning, match="deterministic: it has one mask"):
        m = pw.sample_masks("importance-edge", W, np.ones(3), 4, n_masks=5)
    assert m.shape == (1, 3, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pw.sample_masks("importance-node", W, np.ones(3), 2, n_masks=1).shape == (1, 3)


def test_test_losses_equal_the_explicit_sum(rng):
    """Shared rows are computed once: the losses still equal the plain per-network formula."""
    wts = Weights.random(3, 2, 20, vstar=1.0, seed=9)
    X = rng.standard_normal((500, 20))
    mask = pw.random_edge_masks(3, 20, 7, 1, rng)[0]
    nets = [(wts.W, wts.v), (wts.W[[0, 2]], np.array([0.3, -1.0])), (pw.prune_edges(wts.W, mask), wts.v)]
    out = pw.test_losses(nets, wts.Wstar, wts.vstar, pw.ArrayInputs(X), 500, block_size=128, progress=False)
    y = _g(X @ wts.Wstar.T / np.sqrt(20)) @ wts.vstar
    for t, (W, v) in enumerate(nets):
        loss = 0.5 * (_g(X @ W.T / np.sqrt(20)) @ v - y) ** 2
        assert out["test_loss"][t] == pytest.approx(loss.mean(), rel=1e-12)
        assert out["eps_emp"][t] == pytest.approx(loss.mean(), rel=1e-12)  # sigma = 0
