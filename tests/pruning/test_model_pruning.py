"""Pruning theory of the general model: a ReLU teacher learned by an erf student, with output scaling."""

import itertools
import math

import numpy as np
import pytest
from scipy.special import erf

import statmech
from statmech.core.model import Model
from statmech.core.state import State
from statmech.pruning.theory.errors import pruned_error

MIXED = Model(activation="erf", teacher_activation="relu")
SCALED = Model(activation="erf", teacher_activation="relu", output_scale="sqrt")


def _state(K=4, M=2, N=400, seed=3) -> State:
    rng = np.random.default_rng(seed)
    Wstar = rng.standard_normal((M, N))
    W = 0.8 * Wstar[rng.integers(0, M, K)] + 0.6 * rng.standard_normal((K, N))
    return State.from_weights(W, Wstar, rng.uniform(0.5, 1.5, K), np.array([1.0, 2.0]))


def _mc_expected(state, model, subsets, weights, n=400_000, seed=11):
    """sum_S weights_S eps_g(S) by Monte Carlo over the fields (u, nu) ~ N(0, [[Q, R], [R^T, T]]): (mean, s.e.).

    The pruned network is phi = (1/s_K) sum_{i in S} v_i g(u_i) against y = (1/s_M) sum_n v*_n g*(nu_n); the
    standard error is that of the per-sample weighted sum (the sets share the samples).
    """
    K, M = state.K, state.M
    C = np.block([[state.Q, state.R], [state.R.T, state.T]])
    x = np.random.default_rng(seed).multivariate_normal(np.zeros(K + M), C, size=n, method="eigh")
    g = erf(x[:, :K] / math.sqrt(2))  # statmech's erf activation, erf(u / sqrt 2)
    y = np.maximum(x[:, K:], 0.0) @ state.vstar / model.teacher_scale(M)
    per = np.zeros(n)
    for S, w in zip(subsets, weights):
        per += w * 0.5 * (g[:, list(S)] @ state.v[list(S)] / model.student_scale(K) - y) ** 2
    return per.mean(), per.std(ddof=1) / math.sqrt(n)


@pytest.mark.parametrize("scheme", ["random-node", "importance-node", "dpp-node"])
def test_keep_all_is_the_unpruned_error(scheme):
    st = _state()
    for model in (MIXED, SCALED):
        r = pruned_error(st, scheme, st.K, model=model)
        assert r.eps_g == pytest.approx(statmech.eps_g(st, model), rel=1e-12)
    # the teacher's activation enters: a ReLU teacher is not an erf one
    assert abs(pruned_error(st, "random-node", st.K, model=MIXED).eps_g - statmech.eps_g(st)) > 1e-3


def test_node_schemes_against_enumeration_and_monte_carlo():
    st = _state()
    K, k = st.K, 2
    subsets = list(itertools.combinations(range(K), k))
    # random node: uniform over the C(4, 2) kept sets
    r = pruned_error(st, "random-node", k, model=SCALED)
    assert r.exact
    mean, se = _mc_expected(st, SCALED, subsets, np.full(len(subsets), 1 / len(subsets)))
    assert abs(r.eps_g - mean) < 4 * se, (r.eps_g, mean, se)
    # DPP node, kernel L = Q: P(S) = det Q[S, S] / sum_S' det Q[S', S'], enumerated by hand
    det = np.array([np.linalg.det(st.Q[np.ix_(S, S)]) for S in subsets])
    d = pruned_error(st, "dpp-node", k, model=SCALED)
    mean, se = _mc_expected(st, SCALED, subsets, det / det.sum())
    assert abs(d.eps_g - mean) < 4 * se, (d.eps_g, mean, se)
    # importance node keeps the k largest |v|
    top = tuple(sorted(np.argsort(-np.abs(st.v))[:k]))
    i = pruned_error(st, "importance-node", k, model=SCALED)
    mean, se = _mc_expected(st, SCALED, [top], [1.0])
    assert abs(i.eps_g - mean) < 4 * se, (i.eps_g, mean, se)


@pytest.mark.parametrize("scheme", ["random-edge", "importance-edge", "dpp-edge"])
def test_edge_overlaps_do_not_depend_on_the_activations(scheme):
    st = _state()
    a = pruned_error(st, scheme, 0.5, activation="erf")
    b = pruned_error(st, scheme, 0.5, model=MIXED)
    np.testing.assert_array_equal(a.pruned.Q, b.pruned.Q)
    np.testing.assert_array_equal(a.pruned.R, b.pruned.R)
    assert b.eps_g == pytest.approx(statmech.eps_g(b.pruned, MIXED), rel=1e-12)
    assert b.params["teacher_activation"] == "relu"


def test_pruned_along_takes_the_run_model():
    from statmech.pruning.retraining import pruned_along

    model = Model(activation="erf", teacher_activation="relu", eta=0.5, output_scale="sqrt")
    res = statmech.integrate(_state(), model, alpha_max=2.0, save_at=[0.0, 1.0, 2.0])
    curves = pruned_along(res, ["random-node"], 4, progress=False)
    # keeping every unit is the unpruned network: the run's eps_g, with the run's teacher and scaling
    np.testing.assert_allclose(curves.eps_g["random-node"], res.eps_g, rtol=1e-12)
    assert curves.params["teacher_activation"] == "relu"


def test_fields_that_cannot_apply_are_refused():
    st = _state()
    with pytest.raises(TypeError):
        pruned_error(st, "random-node", 2, weight_decay=0.1)
    with pytest.raises(ValueError, match="not both"):
        pruned_error(st, "random-node", 2, model=MIXED, activation="erf")
