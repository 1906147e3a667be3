"""The order-parameter ODE: right-hand side, integrators, paper configuration, bad input."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import statmech as sm
from statmech import integrals
from statmech.ode import pack, rhs, unpack


def _rhs_from_tensors(state, eta, eta_v, sigma, activation):
    """docs/theory/equations.md assembled with einsum from the full I2/J2/I3/I4 tensors (no hoisting)."""
    K = state.K
    C = state.covariance()
    w = np.concatenate([-state.v, state.vstar])
    I2, J2 = integrals.I2(C, activation), integrals.J2(C, activation)
    I3, I4 = integrals.I3(C, activation), integrals.I4(C, activation)
    v = state.v
    S3 = np.einsum("ibc,c->ib", I3[:K], w)  # sum_a w_a I3(i, b, a)
    dR = eta * v[:, None] * S3[:, K:]
    S4 = np.einsum("ikcd,c,d->ik", I4[:K, :K], w, w)
    dQ = eta * (v[:, None] * S3[:, :K] + (v[:, None] * S3[:, :K]).T) + eta**2 * np.outer(v, v) * (
        S4 + sigma**2 * J2[:K, :K]
    )
    dv = eta_v * I2[:K] @ w
    return np.concatenate([dQ.ravel(), dR.ravel(), dv])


@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
@pytest.mark.parametrize("K, M", [(1, 1), (3, 2), (2, 4)])
def test_rhs_equals_tensor_assembly(activation, K, M, rng):
    W, Ws = rng.standard_normal((K, 30)), rng.standard_normal((M, 30))
    s = sm.State.from_weights(W, Ws, rng.standard_normal(K), rng.standard_normal(M))
    got = rhs(s, eta=0.7, eta_v=0.3, sigma=0.4, activation=activation)
    want = _rhs_from_tensors(s, 0.7, 0.3, 0.4, activation)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


def test_pack_unpack_round_trip():
    s = sm.State.random(4, 3, 20, seed=0)
    Q, R, v = unpack(pack(s), 4, 3)
    assert np.array_equal(Q, s.Q) and np.array_equal(R, s.R) and np.array_equal(v, s.v)


@pytest.fixture(scope="module")
def paper_run():
    """The paper's main configuration (docs/guide/reproduce.md): K=6, M=2, v*=4, eta=eta_v=0.5, N=500 init."""
    s = sm.State.random(6, 2, 500, vstar=4.0, seed=0)
    return s, sm.integrate(s, eta=0.5, eta_v=0.5, alpha_max=1600)


def test_paper_configuration_learns_and_specialises(paper_run):
    s, res = paper_run
    assert res.success, res.message
    assert res.alpha[0] == 0 and res.alpha[-1] == 1600
    assert res.eps_g[0] == pytest.approx(sm.eps_g(s), rel=1e-14)
    # eps_g at random init is of order (K + M v*^2)/pi-ish (about 5.7 for its seed)
    assert 4.0 < res.eps_g[0] < 8.0
    assert res.eps_g[-1] < 0.03
    R = np.abs(res.final.R)
    # each unit's R row dominated by one teacher unit, and every teacher unit has copies
    assert np.all(R.max(axis=1) > 3 * R.min(axis=1))
    assert set(R.argmax(axis=1)) == {0, 1}


def test_euler_agrees_with_adaptive_and_is_first_order(paper_run):
    s, ref = paper_run
    tight = sm.integrate(s, eta=0.5, eta_v=0.5, alpha_max=1600, save_at=ref.alpha, rtol=1e-11, atol=1e-13)
    # the default tolerance is converged: 1e-8 per step gives ~1e-6 over the curve
    np.testing.assert_allclose(ref.eps_g, tight.eps_g, rtol=1e-6)
    e1 = sm.integrate(s, eta=0.5, eta_v=0.5, alpha_max=1600, save_at=ref.alpha, method="euler", dt=0.01)
    late = ref.alpha >= 10
    # after the initial drop Euler(dt=0.01) is within 1e-3 (measured 2.5e-4)
    np.testing.assert_allclose(e1.eps_g[late], tight.eps_g[late], rtol=1e-3)
    # in the steep transient the Euler error is O(dt): halving dt halves it, and the
    # Richardson extrapolation 2 E(dt/2) - E(dt) removes the first-order term
    early = ref.alpha < 50
    e2 = sm.integrate(s, eta=0.5, eta_v=0.5, alpha_max=50, save_at=ref.alpha[early], method="euler", dt=0.005)
    err1 = np.abs(e1.eps_g[early] - tight.eps_g[early])
    err2 = np.abs(e2.eps_g - tight.eps_g[early])
    worst = np.argmax(err1)
    assert 1.7 < err1[worst] / err2[worst] < 2.3
    rich = 2 * e2.eps_g - e1.eps_g[early]
    # what remains is O(dt^2) (measured: 9x smaller than the Euler error at dt = 0.01)
    assert np.max(np.abs(rich - tight.eps_g[early])) < 0.25 * err1.max()


def test_noise_raises_asymptotic_error():
    s = sm.State.random(3, 2, 500, vstar=1.0, seed=2)
    a = sm.integrate(s, eta=0.5, alpha_max=400, sigma=0.0)
    b = sm.integrate(s, eta=0.5, alpha_max=400, sigma=0.5)
    assert b.eps_g[-1] > a.eps_g[-1]


def _linear_fixed_v_exact(state, eta, sigma, alphas):
    """Linear g, fixed v: Q, R obey a linear ODE (matrix form of docs/theory/equations.md with I3 = C_bc, I4 = C_cd,
    J2 = 1), integrated here by scipy at tolerance 1e-12 independently of the numba code."""
    K, M = state.K, state.M
    v, vs, T = state.v, state.vstar, state.T

    def f(_, y):
        Q, R = y[: K * K].reshape(K, K), y[K * K :].reshape(K, M)
        dR = eta * v[:, None] * (-(R.T @ v) + T @ vs)[None, :]
        g = -(Q @ v) + R @ vs
        two_eps = v @ Q @ v - 2 * v @ R @ vs + vs @ T @ vs
        dQ = eta * (np.outer(v, g) + np.outer(g, v)) + eta**2 * np.outer(v, v) * (two_eps + sigma**2)
        return np.concatenate([dQ.ravel(), dR.ravel()])

    y0 = np.concatenate([state.Q.ravel(), state.R.ravel()])
    sol = solve_ivp(f, (0, alphas[-1]), y0, t_eval=alphas, rtol=1e-12, atol=1e-14, method="DOP853")
    return sol.y.T


def test_linear_activation_matches_independent_solution():
    s = sm.State.random(3, 2, 200, vstar=[1.0, -0.5], seed=5)
    alphas = np.linspace(0, 20, 41)
    res = sm.integrate(
        s, eta=0.3, eta_v=0.0, sigma=0.2, alpha_max=20, save_at=alphas, activation="linear", rtol=1e-11, atol=1e-13
    )
    exact = _linear_fixed_v_exact(s, 0.3, 0.2, alphas)
    ours = np.concatenate([res.Q.reshape(len(alphas), -1), res.R.reshape(len(alphas), -1)], axis=1)
    np.testing.assert_allclose(ours, exact, rtol=1e-8, atol=1e-10)
    # and eps_g for g = u is (1/2)(v^T Q v - 2 v^T R v* + v*^T T v*)
    st = res.final
    lin = 0.5 * (st.v @ st.Q @ st.v - 2 * st.v @ st.R @ st.vstar + st.vstar @ st.T @ st.vstar)
    assert res.eps_g[-1] == pytest.approx(lin, rel=1e-12, abs=1e-14)


def test_soft_committee_plateau_and_escape():
    """K = M = 2, v = v* = 1 fixed, T = I, tiny R: a symmetric plateau, then escape (docs/theory/fixed_points.md)."""
    rng = np.random.default_rng(7)
    R = 1e-3 * rng.standard_normal((2, 2))
    s = sm.State(Q=np.diag([0.2, 0.25]) + 0.01, R=R, T=np.eye(2), v=np.ones(2), vstar=np.ones(2))
    res = sm.integrate(s, eta=0.5, eta_v=0.0, alpha_max=3000)
    assert res.success
    a, e = res.alpha, res.eps_g
    plateau = (a > 30) & (a < 120)
    # flat: eps_g varies by less than 2% over a factor 4 in alpha (measured 1.6%)
    assert e[plateau].max() / e[plateau].min() < 1.02
    height = np.median(e[plateau])
    # plateau height near the small-eta Saad & Solla value K/pi (pi/6 - K asin(1/(2K))) = 0.0116 for K = 2,
    # raised at finite eta (docs/performance.md: about 0.0147 at eta = 0.5)
    assert 0.010 < height < 0.02
    # the students are unspecialised on the plateau: both R rows nearly equal
    mid = np.argmin(np.abs(a - 100))
    assert np.ptp(res.R[mid]) < 0.05 * np.abs(res.R[mid]).max()
    # escape: two orders of magnitude below the plateau by the end
    assert e[-1] < height / 100


def test_divergence_is_reported_not_nan():
    # linear K = M = 1, v fixed: 2 eps_g grows like exp((eta^2 - 2 eta) alpha), unstable for eta > 2
    s = sm.State(Q=[[0.5]], R=[[0.1]], T=[[1.0]], v=[1.0], vstar=[1.0])
    res = sm.integrate(s, eta=3.0, eta_v=0.0, alpha_max=100, activation="linear")
    assert res.status == -1 and not res.success
    assert "diverged" in res.message and "eta=3.0" in res.message
    assert np.all(np.isfinite(res.eps_g)) and res.alpha[-1] < 100
    ok = sm.integrate(s, eta=1.5, eta_v=0.0, alpha_max=100, activation="linear")
    assert ok.success and ok.eps_g[-1] < 1e-6
    eu = sm.integrate(s, eta=3.0, eta_v=0.0, alpha_max=100, activation="linear", method="euler")
    assert eu.status == -1 and "diverged" in eu.message


def test_interrupt_keeps_finished_points(monkeypatch):
    import statmech.ode.steppers as solvers

    calls = {"n": 0}
    real = solvers.dopri_advance

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(solvers, "dopri_advance", flaky)
    res = sm.integrate(sm.State.random(2, 1, 50, seed=0), eta=0.5, alpha_max=10, save_at=np.arange(11.0))
    assert res.status == 1 and "interrupted" in res.message
    np.testing.assert_array_equal(res.alpha, [0, 1, 2, 3, 4])
    assert res.final.K == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eta=-0.1), "eta must be a finite number >= 0"),
        (dict(eta_v=-1.0), "eta_v must be"),
        (dict(sigma=float("nan")), "sigma must be"),
        (dict(alpha_max=0.0), "alpha_max must be a finite number > 0"),
        (dict(method="rk4"), "method must be one of"),
        (dict(dt=0.0, method="euler"), "dt must be > 0"),
        (dict(save_at=[0.0, 2.0, 1.0]), "strictly increasing"),
        (dict(save_at=[0.0, 20.0]), r"save_at must lie in \[0, alpha_max"),
        (dict(activation="tanh"), "activation must be one of"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(eta=0.5, alpha_max=10.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sm.integrate(sm.State.random(2, 1, 20, seed=0), **args)


def test_state_type_checked():
    with pytest.raises(TypeError, match="statmech.State"):
        sm.integrate({"Q": 1}, eta=0.5, alpha_max=1.0)


@pytest.mark.parametrize(
    "method, option, value, owner",
    [
        ("dopri5", "dt", 0.5, "euler"),
        ("euler", "rtol", 1e-3, "dopri5"),
        ("euler", "atol", 1e-6, "dopri5"),
        ("euler", "first_step", 1e-4, "dopri5"),
        ("euler", "max_steps", 100, "dopri5"),
    ],
)
def test_option_of_the_other_method_is_refused(method, option, value, owner):
    """An option the chosen stepper does not use is an error naming the option and both methods."""
    from statmech.ode.masked import MaskedState, integrate_masked

    s = sm.State.random(2, 1, 20, seed=0)
    match = rf"{option}={value!r} is an option of method '{owner}', not of method '{method}'"
    with pytest.raises(ValueError, match=match):
        sm.integrate(s, eta=0.5, alpha_max=1, method=method, **{option: value})
    with pytest.raises(ValueError, match=match):  # the masked retraining goes through the same driver
        integrate_masked(MaskedState.random_masks(s, 0.5), eta=0.5, alpha_max=1, method=method, **{option: value})


def test_issue_examples_are_refused():
    s = sm.State.random(6, 2, 500, vstar=4.0, seed=0)
    with pytest.raises(ValueError, match=r"dt=0\.5 .* method 'dopri5'"):
        sm.integrate(s, eta=0.5, alpha_max=1, method="dopri5", dt=0.5)
    with pytest.raises(ValueError, match=r"rtol=0\.001 .* method 'euler'"):
        sm.integrate(s, eta=0.5, alpha_max=1, method="euler", rtol=1e-3)


def test_stepper_objects_carry_their_options():
    """method=Dopri5(...) / Euler(...) runs exactly as the same options given as keywords."""
    from statmech.ode import Dopri5, Euler

    s = sm.State.random(3, 2, 100, seed=5)
    t = np.linspace(0, 5, 6)
    a = sm.integrate(s, eta=0.5, alpha_max=5, save_at=t, method=Dopri5(rtol=1e-10, atol=1e-12))
    b = sm.integrate(s, eta=0.5, alpha_max=5, save_at=t, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.eps_g, b.eps_g)
    assert a.nfev == b.nfev and a.params["rtol"] == 1e-10 and a.params["dt"] is None
    c = sm.integrate(s, eta=0.5, alpha_max=5, save_at=t, method=Euler(dt=0.02))
    d = sm.integrate(s, eta=0.5, alpha_max=5, save_at=t, method="euler", dt=0.02)
    np.testing.assert_array_equal(c.eps_g, d.eps_g)
    assert c.params["method"] == "euler" and c.params["dt"] == 0.02 and c.params["rtol"] is None
    with pytest.raises(ValueError, match="is a stepper object with its options; do not also pass rtol"):
        sm.integrate(s, eta=0.5, alpha_max=5, method=Dopri5(), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(first_step=0.0), "first_step must be > 0, got 0.0"),
        (dict(max_steps=0), "max_steps must be an integer >= 1, got 0"),
        (dict(max_steps=2.5), "max_steps must be an integer >= 1, got 2.5"),
        (dict(rtol=-1.0), "rtol and atol must be > 0"),
        (dict(method="euler", dt=float("inf")), "dt must be > 0, got inf"),
        (dict(max_abs=0.0), "max_abs must be > 0, got 0.0"),
    ],
)
def test_bad_stepper_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sm.integrate(sm.State.random(2, 1, 20, seed=0), eta=0.5, alpha_max=1.0, **kwargs)


def test_masked_relu_needs_positive_q_ii_like_the_standard_ode():
    """Both front-ends refuse a ReLU unit with Q_ii = 0 (its g' is undefined), through the one driver."""
    from statmech.ode.masked import MaskedState, integrate_masked

    w = sm.Weights.random(2, 1, 40, seed=1)
    mask = np.ones((2, 40), dtype=bool)
    mask[1] = False  # unit 1 loses every input: Q_11 = 0
    ms = MaskedState.from_weights(w, mask)
    with pytest.raises(ValueError, match="activation 'relu' needs every Q_ii > 0"):
        integrate_masked(ms, eta=0.5, alpha_max=1.0, activation="relu")
    with pytest.raises(ValueError, match="activation 'relu' needs every Q_ii > 0"):
        sm.integrate(ms.state(), eta=0.5, alpha_max=1.0, activation="relu")


def test_masked_interrupt_keeps_finished_points(monkeypatch):
    """Ctrl-C handling is the driver's: the masked ODE keeps its finished points too (status 1)."""
    import statmech.ode.steppers as steppers
    from statmech.ode.masked import MaskedState, integrate_masked

    calls = {"n": 0}
    real = steppers.dopri_advance

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(steppers, "dopri_advance", flaky)
    ms = MaskedState.random_masks(sm.State.random(2, 1, 50, seed=0), 0.5)
    res = integrate_masked(ms, eta=0.5, alpha_max=10, save_at=np.arange(11.0))
    assert res.status == 1 and "interrupted" in res.message
    np.testing.assert_array_equal(res.alpha, [0, 1, 2])
    assert res.params["final_masked"] is not None
