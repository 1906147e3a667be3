"""Masked students: restricted overlaps and their closed equations of motion."""

import numpy as np
import pytest

import statmech as sm
from statmech.integrals import activation_code
from statmech.integrals.sums import i3_weighted
from statmech.ode.masked import MaskedState, integrate_masked
from statmech.ode.terms import stein_coefficients


@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
def test_stein_coefficients_reproduce_i3_sums(activation, rng):
    """sum_f C_bf G[k, f] must equal sum_a w_a I3(k, b, a) for every field b (Stein's lemma)."""
    K, M = 3, 2
    s = sm.State.from_weights(
        rng.standard_normal((K, 40)), rng.standard_normal((M, 40)), rng.standard_normal(K), rng.standard_normal(M)
    )
    C = s.covariance()
    w = np.concatenate([-s.v, s.vstar])
    act = activation_code(activation)
    G = np.empty((K, K + M))
    stein_coefficients(act, C, K, w, G)
    S3 = np.empty((K, K + M))
    i3_weighted(act, C, K, w, S3)
    np.testing.assert_allclose(G @ C, S3, rtol=1e-12, atol=1e-13)


def test_full_mask_equals_standard_ode():
    s = sm.State.random(4, 2, 300, vstar=2.0, seed=1)
    ms = MaskedState.random_masks(s, 1.0)
    assert ms.member.shape == (1, 4)
    t = np.linspace(0, 20, 11)
    a = integrate_masked(ms, eta=0.5, sigma=0.1, alpha_max=20, save_at=t, rtol=1e-10)
    b = sm.integrate(s, eta=0.5, sigma=0.1, alpha_max=20, save_at=t, rtol=1e-10)
    np.testing.assert_allclose(a.eps_g, b.eps_g, rtol=1e-8)
    np.testing.assert_allclose(a.Q, b.Q, rtol=1e-8, atol=1e-12)


def test_random_mask_limit_matches_random_edge_formulas():
    """Summed over regions: Q'_ii = c Q_ii, Q'_ik = c^2 Q_ik, R' = c R (docs/theory/pruning.md)."""
    s = sm.State.random(4, 3, 500, seed=2)
    c = 0.3
    p = MaskedState.random_masks(s, c).state()
    Qexp = c**2 * s.Q + (c - c**2) * np.diag(np.diag(s.Q))
    np.testing.assert_allclose(p.Q, Qexp, rtol=1e-12)
    np.testing.assert_allclose(p.R, c * s.R, rtol=1e-12)


def test_from_weights_regions_sum_to_masked_overlaps(rng):
    w = sm.Weights.random(3, 2, 400, seed=3)
    masks = rng.random((3, 400)) < 0.5
    ms = MaskedState.from_weights(w, masks)
    Wm = w.W * masks
    np.testing.assert_allclose(ms.state().Q, Wm @ Wm.T / 400, rtol=1e-12)
    np.testing.assert_allclose(ms.state().R, Wm @ w.Wstar.T / 400, rtol=1e-12)
    # regions are the distinct non-empty membership patterns; fractions count the inputs
    patterns = {tuple(col) for col in masks.T.astype(int) if col.any()}
    assert {tuple(r) for r in ms.member} == patterns
    assert ms.frac.sum() == pytest.approx(np.mean(masks.any(0)), abs=1e-15)


def test_masked_retraining_lowers_error_and_keeps_sparsity():
    s = sm.integrate(sm.State.random(4, 2, 500, vstar=2.0, seed=0), eta=0.5, alpha_max=300).final
    ms = MaskedState.random_masks(s, 0.5)
    res = integrate_masked(ms, eta=0.5, alpha_max=200)
    assert res.success, res.message
    assert res.eps_g[-1] < 0.5 * res.eps_g[0]
    fin = res.params["final_masked"]
    outside = (1 - fin.member)[:, :, None]
    assert np.all(fin.QA * outside == 0) and np.all(fin.RA * outside == 0)


def test_bad_input():
    s = sm.State.random(3, 1, 50, seed=0)
    with pytest.raises(ValueError, match=r"keep_fraction must be in \(0, 1\]"):
        MaskedState.random_masks(s, 0.0)
    with pytest.raises(ValueError, match="K must be <= 12"):
        MaskedState.random_masks(sm.State.random(13, 1, 50, seed=0), 0.5)
    w = sm.Weights.random(3, 1, 50, seed=0)
    with pytest.raises(ValueError, match="masks must have the shape of W"):
        MaskedState.from_weights(w, np.ones((3, 49), bool))
    with pytest.raises(TypeError, match="MaskedState"):
        integrate_masked(s, eta=0.5, alpha_max=1.0)
