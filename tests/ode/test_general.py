"""The general model in the ODE engine (docs/theory/general_model.md): the model recorded, the
old keywords, output scaling as a change of variables, weight decay and B in the exact linear
ODE, masked retraining with the general model, eps_g with mixed activations, bad input."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import statmech as sm
from statmech import integrals
from statmech.core.model import Model
from statmech.ode import MaskedState, integrate_masked, rhs


def test_model_or_keywords_give_the_same_run_and_the_model_is_recorded():
    s = sm.State.random(3, 2, 100, seed=1)
    t = np.linspace(0, 5, 6)
    m = Model(activation="erf", teacher_activation="linear", eta=0.4, eta_v=0.2, weight_decay=0.02)
    a = sm.integrate(s, m, alpha_max=5, save_at=t)
    b = sm.integrate(s, eta=0.4, eta_v=0.2, teacher_activation="linear", weight_decay=0.02, alpha_max=5, save_at=t)
    np.testing.assert_array_equal(a.eps_g, b.eps_g)
    assert a.model == m == b.model
    assert a.params["teacher_activation"] == "linear" and a.params["weight_decay"] == 0.02
    assert a.params["batch_size"] == 1 and a.params["output_scale"] == "1"
    assert "updates / N" in a.params["alpha_counts"]
    with pytest.raises(ValueError, match="give either model= or its fields, not both"):
        sm.integrate(s, m, eta=0.5, alpha_max=1)


@pytest.mark.parametrize("scale", ["sqrt", "K"])
def test_output_scaling_is_a_change_of_variables(scale):
    """phi = (1/s_K) sum v g: the scaled run from v equals the unscaled run from v~ = v/s_K,
    v*~ = v*/s_M with eta_v~ = eta_v / s_K^2 (dv~ = dv / s_K); an independent route through
    the STANDARD term."""
    K, M = 4, 2
    s = sm.State.random(K, M, 200, vstar=[1.5, -0.5], seed=4)
    sK = {"sqrt": np.sqrt(K), "K": K}[scale]
    sM = {"sqrt": np.sqrt(M), "K": M}[scale]
    t = np.linspace(0, 10, 11)
    scaled = sm.integrate(s, eta=0.7, eta_v=0.4, sigma=0.2, output_scale=scale, alpha_max=10, save_at=t, rtol=1e-11)
    plain_state = sm.State(Q=s.Q, R=s.R, T=s.T, v=s.v / sK, vstar=s.vstar / sM)
    plain = sm.integrate(plain_state, eta=0.7, eta_v=0.4 / sK**2, sigma=0.2, alpha_max=10, save_at=t, rtol=1e-11)
    np.testing.assert_allclose(scaled.Q, plain.Q, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(scaled.R, plain.R, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(scaled.v / sK, plain.v, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(scaled.eps_g, plain.eps_g, rtol=1e-8)


def _linear_exact(state, eta, sigma, kappa, B, alphas):
    """Linear g, fixed v, weight decay kappa, batch size B: Q, R obey a linear ODE (integrals
    I3 = C_bc, I4 = C_cd, J2 = 1), integrated by scipy at tolerance 1e-12 independently of numba."""
    K, M = state.K, state.M
    v, vs, T = state.v, state.vstar, state.T

    def f(_, y):
        Q, R = y[: K * K].reshape(K, K), y[K * K :].reshape(K, M)
        dR = eta * v[:, None] * (-(R.T @ v) + T @ vs)[None, :] - kappa * R
        g = -(Q @ v) + R @ vs
        two_eps = v @ Q @ v - 2 * v @ R @ vs + vs @ T @ vs
        dQ = (
            eta * (np.outer(v, g) + np.outer(g, v)) + eta**2 / B * np.outer(v, v) * (two_eps + sigma**2) - 2 * kappa * Q
        )
        return np.concatenate([dQ.ravel(), dR.ravel()])

    y0 = np.concatenate([state.Q.ravel(), state.R.ravel()])
    sol = solve_ivp(f, (0, alphas[-1]), y0, t_eval=alphas, rtol=1e-12, atol=1e-14, method="DOP853")
    return sol.y.T


@pytest.mark.parametrize("kappa, B", [(0.05, 1), (0.0, 10), (0.1, 4)])
def test_weight_decay_and_batch_size_match_the_exact_linear_ode(kappa, B):
    s = sm.State.random(3, 2, 200, vstar=[1.0, -0.5], seed=5)
    alphas = np.linspace(0, 20, 41)
    res = sm.integrate(
        s,
        eta=0.9,
        eta_v=0.0,
        sigma=0.3,
        weight_decay=kappa,
        batch_size=B,
        activation="linear",
        alpha_max=20,
        save_at=alphas,
        rtol=1e-11,
        atol=1e-13,
    )
    exact = _linear_exact(s, 0.9, 0.3, kappa, B, alphas)
    ours = np.concatenate([res.Q.reshape(len(alphas), -1), res.R.reshape(len(alphas), -1)], axis=1)
    np.testing.assert_allclose(ours, exact, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(res.v, np.tile(s.v, (len(alphas), 1)))  # eta_v = 0: v fixed, no decay


def test_weight_decay_of_the_second_layer_and_asymptotic_noise_floor():
    """dv -= kappa v when both layers learn; B = 10 lowers the noise floor of eta^2 sigma^2 J2 / B."""
    s = sm.State.random(2, 1, 100, seed=2)
    with_decay = rhs(s, eta=0.5, weight_decay=0.3)
    without = rhs(s, eta=0.5)
    np.testing.assert_allclose(with_decay[-2:] - without[-2:], -0.3 * s.v, rtol=1e-13, atol=1e-15)
    one = sm.integrate(s, eta=0.5, sigma=0.5, alpha_max=400)
    ten = sm.integrate(s, eta=0.5, sigma=0.5, batch_size=10, alpha_max=400)
    assert one.success and ten.success and ten.eps_g[-1] < one.eps_g[-1]


@pytest.mark.parametrize("teacher", ["linear", "relu"])
def test_masked_full_mask_equals_the_general_ode(teacher):
    """The masked equations with one all-ones region reduce to the GENERAL term (every model field)."""
    s = sm.State.random(3, 2, 200, seed=7)
    m = Model(
        activation="erf",
        teacher_activation=teacher,
        eta=0.6,
        eta_v=0.3,
        sigma=0.2,
        weight_decay=0.05,
        batch_size=2,
        output_scale="sqrt",
    )
    t = np.linspace(0, 5, 6)
    a = sm.integrate(s, m, alpha_max=5, save_at=t, rtol=1e-11, atol=1e-13)
    b = integrate_masked(MaskedState.random_masks(s, 1.0), m, alpha_max=5, save_at=t, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(b.eps_g, a.eps_g, rtol=1e-9)
    np.testing.assert_allclose(b.Q, a.Q, rtol=1e-9, atol=1e-12)
    assert b.model == m


@pytest.mark.parametrize("student", ["erf", "linear", "relu"])
@pytest.mark.parametrize("teacher", ["erf", "linear", "relu"])
def test_eps_g_with_mixed_activations_and_scaling_equals_the_i2_matrix(student, teacher, rng):
    """eps_g = (1/2) s^T I2 s with s = (v/s_K, -v*/s_M), I2 from statmech.integrals.I2 with one
    activation name per field (the array route, not the weighted sum)."""
    s = sm.State.random(3, 2, 60, vstar=[1.0, 2.0], seed=int(rng.integers(1000)))
    C = s.covariance()
    I2 = integrals.I2(C, activations=[student] * 3 + [teacher] * 2)
    vec = np.concatenate([s.v / 3, -s.vstar / 2])
    want = 0.5 * vec @ I2 @ vec
    got = sm.eps_g(s, Model(student, teacher, output_scale="K"))
    assert got == pytest.approx(want, rel=1e-12)
    assert sm.eps_g(s, activation=student, teacher_activation=teacher, output_scale="K") == got
    assert sm.test_loss(got, 0.3) == pytest.approx(got + 0.045, rel=1e-15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weight_decay=-0.1), "weight_decay must be a finite number >= 0, got -0.1"),
        (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
        (dict(batch_size=2.5), "batch_size must be an integer >= 1, got 2.5"),
        (dict(output_scale="N"), "output_scale must be one of 1, sqrt, K; got 'N'"),
        (dict(teacher_activation="tanh"), "teacher_activation must be one of"),
        (dict(model="erf"), "model must be a statmech.Model"),
    ],
)
def test_bad_model_input(kwargs, match):
    s = sm.State.random(2, 1, 20, seed=0)
    with pytest.raises(ValueError, match=match):
        sm.integrate(s, alpha_max=1.0, **kwargs)
    with pytest.raises(ValueError, match=match):
        integrate_masked(MaskedState.random_masks(s, 0.5), alpha_max=1.0, **kwargs)
