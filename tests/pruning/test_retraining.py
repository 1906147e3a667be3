"""Pruning during and after training (statmech.pruning.retraining): pruned-at-alpha curves, retraining, checks vs SGD."""

import itertools

import numpy as np
import pytest
from scipy import optimize

import statmech as sm
from statmech import pruning
from statmech.pruning import retraining as dy
from statmech.sim import simulate


@pytest.fixture(scope="module")
def six_two():
    """The paper's 6:2 ODE run (State.random(6, 2, 500, vstar=4, seed=0), eta = eta_v = 0.5), 200 log times."""
    s = sm.State.random(6, 2, 500, vstar=4.0, seed=0)
    res = sm.integrate(s, eta=0.5, eta_v=0.5, alpha_max=1600.0)
    assert res.success and len(res.alpha) == 201
    return res


def _budget(scheme):
    return dict(keep=3) if scheme in pruning.NODE_SCHEMES else dict(keep=3, N=500)


# ---------------------------------------------------------------- 1. pruned along alpha
def _hand_node_error(state, scheme, k):
    """Expected eps_g of node pruning, enumerated here: P(S) uniform (random), the k largest |v_i|
    (importance), det Q[S,S] / sum (DPP, L = Q); each pruned network built from the kept rows of Q, R, v."""
    K = state.K
    sets = [list(S) for S in itertools.combinations(range(K), k)]
    if scheme == "random-node":
        w = np.ones(len(sets))
    elif scheme == "importance-node":
        top = sorted(np.argsort(-np.abs(state.v))[:k].tolist())
        w = np.array([1.0 if S == top else 0.0 for S in sets])
    else:
        w = np.array([np.linalg.det(state.Q[np.ix_(S, S)]) for S in sets])
    w = w / w.sum()
    errs = [
        sm.eps_g(sm.State(Q=state.Q[np.ix_(S, S)], R=state.R[S], T=state.T, v=state.v[S], vstar=state.vstar))
        for S in sets
    ]
    return float(np.dot(w, errs))


def _hand_edge_error(state, scheme, c, rng, n=400_000, batches=10):
    """eps_g of edge pruning at keep fraction c by hand. Random: Q'_ii = c Q_ii, Q'_ik = c^2 Q_ik,
    R' = c R (exact, docs/theory/pruning.md). Importance / DPP: Monte Carlo over n Gaussian coordinates with
    covariance [[Q, R], [R^T, T]] (the working hypothesis), masks 1{|w| > quantile} and Bernoulli with
    pi = mu w^2 / (1 + mu w^2), E pi = c; returns (eps_g, its standard error over ``batches`` batches)."""
    K = state.K
    if scheme == "random-edge":
        Qp = c * c * state.Q
        np.fill_diagonal(Qp, c * np.diag(state.Q))
        return sm.eps_g(state.replace(Q=Qp, R=c * state.R)), 0.0
    Z = rng.multivariate_normal(np.zeros(K + state.M), state.covariance(), size=n)
    W, Ws = Z[:, :K], Z[:, K:]
    if scheme == "importance-edge":
        M = np.abs(W) > np.quantile(np.abs(W), 1.0 - c, axis=0)
    else:
        x2 = W**2 / np.diag(state.Q)
        mu = optimize.brentq(lambda m: np.mean(m * x2 / (1.0 + m * x2)) - c, 1e-6, 1e6)
        M = rng.random(W.shape) < mu * x2 / (1.0 + mu * x2)
    Wm = np.where(M, W, 0.0)
    errs = []
    for part in np.array_split(np.arange(n), batches):
        Q = Wm[part].T @ Wm[part] / part.size
        R = Wm[part].T @ Ws[part] / part.size
        errs.append(sm.eps_g(state.replace(Q=0.5 * (Q + Q.T), R=R)))
    return float(np.mean(errs)), float(np.std(errs, ddof=1) / np.sqrt(batches))


def test_pruned_curves_end_at_the_hand_pruned_final_state(six_two):
    """The last point of every curve against the final state pruned by hand (kept sets enumerated here;
    random edge in closed form; importance and DPP edge by Monte Carlo over Gaussian coordinates, within
    5 standard errors plus 2% for the finite-sample quantile / mu); every curve has one point per saved time."""
    pc = dy.pruned_along(six_two, "all", keep=3, N=500)
    assert set(pc.eps_g) == set(pruning.SCHEMES) and pc.status == 0
    f = six_two.final
    rng = np.random.default_rng(7)
    for s in pruning.SCHEMES:
        assert pc.eps_g[s].shape == six_two.alpha.shape
        if s in pruning.NODE_SCHEMES:
            assert pc.eps_g[s][-1] == pytest.approx(_hand_node_error(f, s, 3), rel=1e-10), s
        else:
            want, se = _hand_edge_error(f, s, 250 / 500, rng)  # e = round((3*500 + 3 - 6)/6) = 250
            assert abs(pc.eps_g[s][-1] - want) <= 5 * se + 0.02 * want + 1e-12, (s, pc.eps_g[s][-1], want, se)
    # the pruned trained student is worse than the unpruned one (the paper's regime) but far below eps_g(0)
    assert np.all(np.array([pc.eps_g[s][-1] for s in pc.eps_g]) > six_two.eps_g[-1])
    cols = pc.columns()
    assert list(cols)[:2] == ["alpha", "eps_g"] and "pruned_dpp-edge" in cols


def test_keeping_everything_gives_the_unpruned_curve(six_two):
    """k = K (node) and c = 1 (edge) must reproduce eps_g of the ODE itself (an independent route:
    the ODE's own eps_g record vs the pruning code on the saved states)."""
    sub = type("R", (), {})()
    idx = np.arange(0, 201, 20)
    sub.alpha, sub.eps_g = six_two.alpha[idx], six_two.eps_g[idx]
    sub.states = [six_two.state_at(i) for i in idx]
    for s in pruning.NODE_SCHEMES:
        pc = dy.pruned_along(sub, s, keep=6)
        np.testing.assert_allclose(pc.eps_g[s], sub.eps_g, rtol=1e-12)
    pc = dy.pruned_along(sub, pruning.EDGE_SCHEMES, keep_fraction=1.0)
    for s in pruning.EDGE_SCHEMES:
        np.testing.assert_allclose(pc.eps_g[s], sub.eps_g, rtol=1e-12)


# ---------------------------------------------------------------- 2. retraining (ODE)
def test_retrained_scheme_starts_at_pruned_error_and_learns(six_two):
    """eps_g(0) of the retrained expectation is the pruning theory's number; retraining lowers it."""
    f = six_two.final
    for s in ("random-node", "importance-node", "dpp-node", "random-edge"):
        r = dy.retrain_scheme(f, s, keep=3, N=500, eta=0.5, alpha_max=400.0)
        ref = pruning.pruned_error(f, s, **_budget(s))
        assert r.eps_g[0] == pytest.approx(ref.eps_g, rel=1e-12), s
        assert r.eps_g[-1] < 0.5 * r.eps_g[0], s
        if s in pruning.NODE_SCHEMES:
            np.testing.assert_allclose(r.probs.sum(), 1.0, rtol=1e-12)


def test_retrain_all_units_is_the_continued_ode(six_two):
    """Keeping all K units and retraining = continuing the original ODE (two routes, rtol-limited)."""
    mid = six_two.state_at(150)
    a0 = six_two.alpha[150]
    t = six_two.alpha[150:] - a0
    r = dy.retrain_nodes(mid, np.arange(6), eta=0.5, alpha_max=t[-1], save_at=t)
    # dopri5 rtol 1e-8 on both runs: agreement to ~1e-6 relative over the remaining curve
    np.testing.assert_allclose(r.eps_g, six_two.eps_g[150:], rtol=1e-5)


# ---------------------------------------------------------------- 2. node retraining vs SGD
@pytest.fixture(scope="module")
def trained_real():
    """Real 6:2 weights at N = 400 trained by SGD to alpha = 600 (specialised)."""
    w0 = sm.Weights.random(6, 2, 400, vstar=4.0, seed=0)
    tr = simulate(w0, eta=0.5, alpha_max=600.0, seed=0, progress=False)
    assert tr.success
    return tr.weights


@pytest.mark.parametrize("scheme,reweight", [("importance-node", "none"), ("random-node", "optimal-readout")])
def test_node_retraining_ode_matches_sgd(trained_real, scheme, reweight):
    """Pruned real weights retrained by SGD (16 seeds, N = 400) vs the ODE from the same pruned weights.

    Tolerance: 4 standard errors (16 seeds: P(|t_15| > 4) ~ 1e-3 per point, 15 points) plus the
    O(1/N) finite-size bias allowance of tests/sim/test_simulate.py (10 eps_g / N). The issue's
    3-standard-error check at N = 500 with 5 seeds is the slow test below and the notebook.
    """
    pruned, mask = dy.prune_real(trained_real, scheme, keep=3, reweight=reweight, rng=3)
    assert pruned.K == 3 and mask.sum() == 3
    chk = dy.retrain_check(
        pruned, seeds=16, eta=0.5, alpha_max=40.0, save_at=np.geomspace(0.1, 40.0, 15), workers=2, progress=False
    )
    allowed = 4 * chk.stderr + 10 * chk.ode / 400
    assert np.all(np.abs(chk.mean - chk.ode) <= allowed), np.c_[chk.alpha, chk.mean, chk.ode, chk.z]
    # not trivial: the error changes by a factor > 2 along the comparison, and the band is narrow
    # (median < 15% of eps_g; SGD fluctuations are largest in the transient after reweighting)
    assert max(chk.ode) > 2 * min(chk.ode)
    assert np.median(allowed / chk.ode) < 0.15, allowed / chk.ode


@pytest.mark.slow
def test_node_retraining_full_check_n500_five_seeds():
    """The issue's check: 6:2 trained by SGD at N = 500 to alpha = 1600, importance-node k = 3,
    retrained by 5 SGD seeds to alpha = 200: within 3 standard errors of the ODE at every saved time."""
    w0 = sm.Weights.random(6, 2, 500, vstar=4.0, seed=0)
    tr = simulate(w0, eta=0.5, alpha_max=1600.0, seed=0, progress=False)
    pruned, _ = dy.prune_real(tr.weights, "importance-node", keep=3)
    chk = dy.retrain_check(
        pruned, seeds=5, eta=0.5, alpha_max=200.0, save_at=np.geomspace(0.1, 200.0, 20), progress=False
    )
    assert chk.max_abs_z <= 3.0, np.c_[chk.alpha, chk.mean, chk.ode, chk.z]


# ---------------------------------------------------------------- CLI
def test_cli_curve_prune_columns(tmp_path, capsys):
    from statmech.cli import main
    from statmech.core.io import read_table

    out = tmp_path / "c"
    assert (
        main(["curve", "--out", str(out), "--alpha-max", "50", "--points", "10", "--prune", "all", "--keep", "2"]) == 0
    )
    cols, params = read_table(out / "curve.csv")
    assert {f"pruned_{s}" for s in pruning.SCHEMES} <= set(cols)
    final = sm.State.load(out / "final_state.npz")
    for s in pruning.SCHEMES:
        ref = pruning.pruned_error(final, s, keep=2, **({} if s in pruning.NODE_SCHEMES else {"N": 500}))
        assert float(cols[f"pruned_{s}"][-1]) == pytest.approx(ref.eps_g, rel=1e-12)
    assert (out / "curve.png").exists()
    # without --prune the table is the old one
    assert main(["curve", "--out", str(tmp_path / "d"), "--alpha-max", "5", "--points", "5"]) == 0
    cols, _ = read_table(tmp_path / "d" / "curve.csv")
    assert list(cols) == ["alpha", "eps_g"]


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["--prune", "all", "--keep", "7"], r"keep \(number of kept units k\) must be in 1..K=6, got 7"),
        (["--prune", "bogus", "--keep", "2"], r"scheme must be one of .*, all; got 'bogus'"),
        (["--prune", "all", "--fraction", "0.3"], r"keeps c\*K = 1.8 of the K=6 units"),
        (["--prune", "random-edge", "--fraction", "1.5"], r"keep_fraction must be in \(0, 1\], got 1.5"),
        (["--prune", "all"], r"--schemes needs a budget"),
        (["--keep", "2"], r"--keep and --fraction are budgets for --schemes"),
    ],
)
def test_cli_curve_prune_bad_input(tmp_path, capsys, argv, msg):
    import re

    from statmech.cli import main

    assert main(["curve", "--out", str(tmp_path), "--alpha-max", "2", "--points", "3"] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("statmech curve: error: ") and re.search(msg, err), err


# ---------------------------------------------------------------- bad input
def test_bad_input_messages(six_two):
    f = six_two.final
    with pytest.raises(ValueError, match=r"keep \(number of kept units k\) must be in 1..K=6, got 0"):
        dy.pruned_along(six_two, "random-node", keep=0)
    with pytest.raises(ValueError, match=r"keep_fraction must be in \(0, 1\], got 1.5"):
        dy.pruned_along(six_two, "dpp-edge", keep_fraction=1.5)
    with pytest.raises(ValueError, match="give either keep .* or keep_fraction .*, not both"):
        dy.pruned_along(six_two, "dpp-edge", keep=2, keep_fraction=0.5)
    with pytest.raises(ValueError, match="a budget is needed"):
        dy.pruned_along(six_two, "dpp-edge")
    with pytest.raises(ValueError, match=r"scheme must be one of .*, all; got 'magnitude'"):
        dy.pruned_along(six_two, "magnitude", keep=2)
    with pytest.raises(ValueError, match=r"scheme must be one of .*got 'magnitude'"):
        dy.retrain_scheme(f, "magnitude", keep=2, eta=0.5, alpha_max=1.0)
    with pytest.raises(ValueError, match="importance-edge: retraining needs the overlaps restricted to the real"):
        dy.retrain_scheme(f, "importance-edge", keep_fraction=0.5, eta=0.5, alpha_max=1.0)
    with pytest.raises(ValueError, match=r"kept must be distinct unit indices in 0..K-1=5"):
        dy.retrain_nodes(f, [0, 6], eta=0.5, alpha_max=1.0)
    with pytest.raises(ValueError, match="reweight must be one of"):
        dy.retrain_nodes(f, [0, 1], reweight="fuse", eta=0.5, alpha_max=1.0)
    w = sm.Weights.random(3, 2, 40, vstar=1.0, seed=0)
    with pytest.raises(ValueError, match=r"mask must be a K x N boolean array with the shape of W \(3, 40\)"):
        dy.retrain_ode(w, np.ones((3, 39), bool), eta=0.5, alpha_max=1.0)
    half = np.zeros((3, 40), bool)
    half[:, :20] = True
    with pytest.raises(ValueError, match="mask does not match the weights: some masked-out weights are non-zero"):
        dy.retrain_ode(w, half, eta=0.5, alpha_max=1.0)
    with pytest.raises(ValueError, match=r"e \(edges kept per unit\) must be an integer in 1..N=40|keep_fraction"):
        dy.prune_real(w, "random-edge", keep_fraction=0.0)
    with pytest.raises(ValueError, match="reweight='optimal-readout' is for node schemes"):
        dy.prune_real(w, "importance-edge", keep=1, reweight="optimal-readout")


# ---------------------------------------------------------------- 3. masked retraining vs masked SGD
def test_masked_sgd_keeps_pruned_weights_zero_and_full_mask_changes_nothing():
    w = sm.Weights.random(4, 2, 120, vstar=2.0, seed=5)
    rng = np.random.default_rng(8)
    mask = rng.random(w.W.shape) < 0.4
    wm = w.replace(W=np.where(mask, w.W, 0.0))
    r = simulate(wm, eta=0.5, alpha_max=5.0, seed=2, mask=mask, progress=False)
    assert r.success
    assert np.all(r.weights.W[~mask] == 0.0)  # exactly zero, not small
    assert np.any(r.weights.W[mask] != wm.W[mask])
    # an all-True mask is the unmasked run, bit for bit
    a = simulate(w, eta=0.5, alpha_max=5.0, seed=2, progress=False)
    b = simulate(w, eta=0.5, alpha_max=5.0, seed=2, mask=np.ones(w.W.shape, bool), progress=False)
    assert np.array_equal(a.weights.W, b.weights.W) and np.array_equal(a.eps_g, b.eps_g)


@pytest.mark.parametrize("scheme", ["random-edge", "importance-edge"])
def test_masked_retraining_ode_matches_masked_sgd(trained_real, scheme):
    """Edge-pruned real weights (c = 0.5) retrained by masked SGD (16 seeds, N = 400) vs the masked ODE
    from MaskedState.from_weights of the same weights; tolerance as the node test above."""
    pruned, mask = dy.prune_real(trained_real, scheme, keep_fraction=0.5, rng=4)
    chk = dy.retrain_check(
        pruned, mask, seeds=16, eta=0.5, alpha_max=30.0, save_at=np.geomspace(0.1, 30.0, 15), workers=2, progress=False
    )
    assert chk.params["masked"]
    allowed = 4 * chk.stderr + 10 * chk.ode / 400
    assert np.all(np.abs(chk.mean - chk.ode) <= allowed), np.c_[chk.alpha, chk.mean, chk.ode, chk.z]
    assert max(chk.ode) > 1.3 * min(chk.ode)
    assert np.median(allowed / chk.ode) < 0.15, allowed / chk.ode
    # the retrained weights kept their sparsity
    assert all(np.all(run.weights.W[~mask] == 0.0) for run in chk.sim.runs)


@pytest.mark.slow
def test_masked_deviation_shrinks_like_inverse_sqrt_n():
    """Masked ODE vs masked SGD at N = 500, 2000, 8000 from the same initial order parameters (the 6:2
    ODE state at alpha = 1600 realised as real weights, random edge mask c = 0.5), 8 seeds to alpha = 30:
    the mean stays within 3 standard errors + the O(1/N) bias allowance of tests/sim/test_simulate.py
    (10 eps_g / N; measured: a bias of ~ -0.02 at N = 500 in the initial drop, shrinking with N, from the
    63 regions of ~N/64 inputs each) at every time and N, and the RMS of (single run - ODE) falls like
    N^(-1/2): slope in [-0.7, -0.3] (each RMS over 8 seeds is uncertain by ~15%)."""
    f = sm.integrate(sm.State.random(6, 2, 500, vstar=4.0, seed=0), eta=0.5, alpha_max=1600.0).final
    Ns, rms = (500, 2000, 8000), []
    for N in Ns:
        w = dy.weights_for_state(f, N, rng=N)
        pruned, mask = dy.prune_real(w, "random-edge", keep_fraction=0.5, rng=2)
        chk = dy.retrain_check(
            pruned, mask, seeds=8, eta=0.5, alpha_max=30.0, save_at=np.geomspace(0.1, 30.0, 12), progress=False
        )
        assert np.all(np.abs(chk.mean - chk.ode) <= 3 * chk.stderr + 10 * chk.ode / N), (N, chk.z)
        rms.append(chk.rms)
        print(
            f"N={N}: RMS(run - ODE) {chk.rms:.4f}, max |z| {chk.max_abs_z:.2f}, "
            f"max |mean - ODE| {np.max(np.abs(chk.mean - chk.ode)):.4f}"
        )  # the numbers in docs/theory/masked.md
    slope = np.polyfit(np.log(Ns), np.log(rms), 1)[0]
    print(f"slope {slope:.2f}")
    assert -0.7 < slope < -0.3, (rms, slope)


def test_weights_for_state_reproduce_the_overlaps(rng):
    f = sm.State.random(4, 2, 300, vstar=2.0, seed=3)
    w = dy.weights_for_state(f, 50, rng=rng)
    assert w.state().allclose(f, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"N must be an integer >= K \+ M = 6, got 5"):
        dy.weights_for_state(f, 5)


def test_masked_sgd_bad_input():
    from statmech.sim import simulate_seeds

    w = sm.Weights.random(3, 2, 40, vstar=1.0, seed=0)
    with pytest.raises(
        ValueError, match=r"mask must be a K x N boolean array with the shape of W \(3, 40\), got \(3, 4\)"
    ):
        simulate(w, eta=0.5, alpha_max=1.0, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="mask does not match the weights: some masked-out weights are non-zero"):
        simulate_seeds(w, seeds=2, eta=0.5, alpha_max=1.0, mask=np.eye(3, 40, dtype=bool))
    with pytest.raises(ValueError, match="mask must hold booleans"):
        simulate(w, eta=0.5, alpha_max=1.0, mask=np.full((3, 40), 2))


def test_retrain_scheme_sampled_kept_sets_agree_with_exact(six_two):
    """DPP node, k = 3: the expectation over 400 exact k-DPP samples (Monte Carlo, with its standard error)
    vs the exact sum over all 20 kept sets, at every retraining time: within 4 standard errors."""
    f = six_two.final
    t = np.r_[0.0, np.geomspace(0.1, 50.0, 8)]
    ex = dy.retrain_scheme(f, "dpp-node", keep=3, eta=0.5, alpha_max=50.0, save_at=t)
    mc = dy.retrain_scheme(
        f, "dpp-node", keep=3, eta=0.5, alpha_max=50.0, save_at=t, prune_options=dict(exact=False, n_samples=400, rng=7)
    )
    assert ex.params["exact"] and not mc.params["exact"]
    assert np.all(ex.stderr == 0) and np.all(mc.stderr > 0)
    assert np.all(np.abs(mc.eps_g - ex.eps_g) <= 4 * mc.stderr), np.c_[mc.eps_g, ex.eps_g, mc.stderr]


# ---------------------------------------------------------------- the general model in retraining
# the brief's non-default problem: erf student, ReLU teacher, weight decay, 1/sqrt(K) output scaling
GENERAL = sm.Model(activation="erf", teacher_activation="relu", eta=0.5, weight_decay=0.05, output_scale="sqrt")


@pytest.fixture(scope="module")
def general_final():
    """The 4:2 student (vstar = (2, 1)) trained by the ODE of GENERAL to alpha = 200."""
    res = sm.integrate(sm.State.random(4, 2, 500, vstar=[2.0, 1.0], seed=0), GENERAL, alpha_max=200.0)
    assert res.success
    return res.final


@pytest.mark.parametrize(
    "scheme,budget",
    [("random-edge", dict(keep_fraction=0.5)), ("importance-node", dict(keep=2, reweight="optimal-readout"))],
)
def test_general_model_retraining_ode_matches_sgd(general_final, scheme, budget):
    """Pruned real weights (N = 500, exactly the ODE state's overlaps) retrained under GENERAL by (masked) SGD,
    10 seeds, vs the (masked) ODE of the same model from the same weights.

    Tolerance: 3 standard errors plus the O(1/N) allowance 10 eps_g / N of tests/sim/test_simulate.py (measured
    there; here the largest |mean - ODE| is ~0.002, under 2 eps_g / N). The model must reach both routes: the
    ODE of the model with one field set back to its default (no weight decay, an erf teacher, output scale 1)
    leaves that band at some time.
    """
    N = 500
    w = dy.weights_for_state(general_final, N, rng=1)
    pruned, mask = dy.prune_real(w, scheme, rng=2, model=GENERAL, **budget)
    mask = mask if scheme.endswith("edge") else None
    save = np.r_[0.0, np.geomspace(0.1, 20.0, 12)]
    chk = dy.retrain_check(
        pruned, mask, model=GENERAL, seeds=10, alpha_max=20.0, save_at=save, workers=2, progress=False
    )
    allowed = 3 * chk.stderr + 10 * chk.ode / N
    assert np.all(np.abs(chk.mean - chk.ode) <= allowed), np.c_[chk.alpha, chk.mean, chk.ode, chk.z]
    assert chk.params["model"] == GENERAL.to_dict() and chk.ode_result.model == GENERAL
    assert chk.sim.model == GENERAL
    # the start is the pruned network of the model (pruned_error folds the scale into v; the ODE applies s_k)
    if mask is None:
        ref = pruning.pruned_error(w.state(), scheme, model=GENERAL, **budget)
        assert chk.ode_result.eps_g[0] == pytest.approx(ref.eps_g, rel=1e-10)
    for default in (dict(weight_decay=0.0), dict(teacher_activation="erf"), dict(output_scale="1")):
        wrong = dy.retrain_ode(pruned, mask, model=GENERAL.replace(**default), alpha_max=20.0, save_at=chk.alpha)
        assert np.any(np.abs(wrong.eps_g - chk.mean) > allowed), default


def test_general_model_retrain_scheme_starts_at_pruned_error(general_final):
    """retrain_scheme under GENERAL starts at pruned_error of the same model (two routes for the output scale:
    v / s_K in pruned_error, the k-unit student's v_S s_k / s_K in the ODE) and records the model."""
    f = general_final
    for s in ("random-node", "importance-node", "dpp-node", "random-edge"):
        for rw in ("none", "optimal-readout"):
            budget = dict(keep=2) if s in pruning.NODE_SCHEMES else dict(keep_fraction=0.5)
            r = dy.retrain_scheme(f, s, model=GENERAL, reweight=rw, alpha_max=5.0, **budget)
            ref = pruning.pruned_error(f, s, model=GENERAL, reweight=rw, **budget)
            assert r.eps_g[0] == pytest.approx(ref.eps_g, rel=1e-10), (s, rw)
            assert r.params["model"] == GENERAL.to_dict()
    one = dy.retrain_nodes(f, [0, 3], model=GENERAL, reweight="fuse-activation", alpha_max=5.0)
    ref = pruning.pruned_error(f, "importance-node", keep=2, model=GENERAL, reweight="fuse-activation")
    assert one.model == GENERAL
    if sorted(ref.subsets[0].tolist()) == [0, 3]:
        assert one.eps_g[0] == pytest.approx(ref.eps_g, rel=1e-10)


def test_retraining_model_keywords_and_defaults(six_two):
    """The default problem given as keywords or as a Model is the same run, bit for bit; a model beside one of
    its fields, and no learning rate at all, are refused in one line."""
    f = six_two.final
    a = dy.retrain_nodes(f, [0, 2, 4], eta=0.5, alpha_max=5.0)
    b = dy.retrain_nodes(f, [0, 2, 4], model=sm.Model(eta=0.5), alpha_max=5.0)
    assert np.array_equal(a.eps_g, b.eps_g) and a.model == b.model
    w = sm.Weights.random(3, 2, 60, vstar=1.0, seed=0)
    pruned, mask = dy.prune_real(w, "random-edge", keep_fraction=0.5, rng=0)
    c = dy.retrain_ode(pruned, mask, eta=0.5, alpha_max=2.0)
    d = sm.ode.integrate_masked(sm.ode.MaskedState.from_weights(pruned, mask), eta=0.5, alpha_max=2.0)
    assert np.array_equal(c.eps_g, d.eps_g)
    m = sm.Model(eta=0.5)
    for call in (
        lambda: dy.retrain_nodes(f, [0, 1], model=m, eta=0.5, alpha_max=1.0),
        lambda: dy.retrain_scheme(f, "random-node", keep=2, model=m, sigma=0.1, alpha_max=1.0),
        lambda: dy.retrain_ode(pruned, mask, model=m, weight_decay=0.1, alpha_max=1.0),
        lambda: dy.retrain_check(pruned, mask, model=m, activation="relu", alpha_max=1.0),
        lambda: dy.simulate_pruned_along(w, "random-node", keep=2, save_at=[1.0], model=m, eta_v=0.0),
        lambda: dy.prune_real(w, "random-node", keep=2, model=m, output_scale="sqrt"),
    ):
        with pytest.raises(ValueError, match=r"give either model= or its fields, not both: got model and \['\w+'\]"):
            call()
    with pytest.raises(ValueError, match=r"eta \(the first-layer learning rate\) is required unless model= is given"):
        dy.retrain_nodes(f, [0, 1], alpha_max=1.0)


def test_simulate_pruned_along_under_the_general_model(general_final):
    """SGD students of GENERAL pruned along alpha: at alpha = 0 the importance-node score of the real weights
    (v_S rescaled to the k-unit student) is pruned_error of their order parameters under the same model (v / s_K
    folded), and the unpruned score is eps_g of the model; the result records the model."""
    w = dy.weights_for_state(general_final, 100, rng=0)
    out = dy.simulate_pruned_along(
        w, ["importance-node"], keep=2, save_at=[0.0, 1.0], seeds=2, model=GENERAL, n_masks=1, progress=False
    )
    assert out["model"] == GENERAL.to_dict() and out["runs"] == 2
    ref = pruning.pruned_error(w.state(), "importance-node", keep=2, model=GENERAL).eps_g
    assert out["importance-node"][0][0] == pytest.approx(ref, rel=1e-10)
    assert out["unpruned"][0][0] == pytest.approx(sm.eps_g(w.state(), GENERAL), rel=1e-10)
    assert np.all(np.isfinite(out["unpruned"][0])) and out["unpruned"][0][1] != out["unpruned"][0][0]
