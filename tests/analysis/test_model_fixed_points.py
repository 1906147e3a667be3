"""Fixed points and the critical learning rate of the general model (weight decay, noise, B, scaling, activations)."""

import math

import numpy as np
import pytest

import statmech
from statmech.analysis.asymptotics import asymptotic_fixed_point
from statmech.analysis.critical import confirm_critical_learning_rate, critical_learning_rate
from statmech.analysis.fixed_points import find_fixed_point, perfect_student, perturbed_state
from statmech.core.model import Model
from statmech.ode.integrator import pack

DECAY_NOISE = Model(eta=0.5, eta_v=0.0, sigma=0.1, weight_decay=0.05)


@pytest.mark.parametrize(
    "model",
    [
        DECAY_NOISE,
        Model(eta=0.5, eta_v=0.5, sigma=0.1, weight_decay=0.05, batch_size=2),
        Model(eta=0.5, eta_v=0.0, sigma=0.05, weight_decay=0.02, output_scale="sqrt"),
        Model(eta=0.5, eta_v=0.0, weight_decay=0.02, teacher_activation="linear"),
    ],
)
def test_fixed_point_is_a_zero_of_the_model_rhs(model):
    fp = asymptotic_fixed_point(2, 2, model)
    assert fp.kind == "asymptotic"
    # the ODE module's right-hand side, a route independent of the root finder's Flow
    assert np.max(np.abs(statmech.ode.rhs(fp.state, model))) < 1e-10
    assert fp.eps_g == pytest.approx(statmech.eps_g(fp.state, model), rel=1e-12)
    # decay pulls the student off the perfect student
    assert np.max(np.abs(fp.state.R - fp.state.T)) > 1e-3


def test_fixed_point_is_the_long_time_limit():
    fp = asymptotic_fixed_point(2, 2, DECAY_NOISE)
    assert fp.stable
    start = perturbed_state(fp.state, eps=0.3, N=200, seed=1)
    d0 = np.max(np.abs(pack(start) - pack(fp.state)))
    assert d0 > 1e-3
    alpha = 30.0 / abs(fp.max_real)
    res = statmech.integrate(start, DECAY_NOISE, alpha_max=alpha, save_at=[0.0, alpha], rtol=1e-10, atol=1e-12)
    # the linear flow shrinks the offset by e^-30; what remains is the step-size tolerance (rtol 1e-10)
    assert np.max(np.abs(pack(res.final) - pack(fp.state))) < 1e-7


def test_old_keywords_equal_the_model():
    a = asymptotic_fixed_point(2, 2, eta=0.5, sigma=0.1)
    b = asymptotic_fixed_point(2, 2, Model(eta=0.5, eta_v=0.0, sigma=0.1))
    np.testing.assert_array_equal(a.state.Q, b.state.Q)
    assert a.eps_g == b.eps_g


@pytest.mark.parametrize("K, kappa, B", [(1, 0.1, 1), (2, 0.1, 1), (2, 0.2, 2)])
def test_linear_critical_rate_with_decay_closed_form(K, kappa, B):
    # Linear soft committee, T = I, v = v* = 1: the mode S = sum_ik Q_ik obeys
    # dS/dS = -2 K eta + K^2 eta^2 / B - 2 kappa (every other mode decays at -kappa, -eta - 2 kappa, ...),
    # so eta_c = (B / K) (1 + sqrt(1 + 2 kappa / B)).
    crit = critical_learning_rate(K, K, Model(activation="linear", eta_v=0.0, weight_decay=kappa, batch_size=B))
    assert crit.tracked
    assert crit.eta_c == pytest.approx((B / K) * (1 + math.sqrt(1 + 2 * kappa / B)), rel=1e-6)


def test_critical_rate_with_decay_agrees_with_integration():
    crit = critical_learning_rate(2, 2, Model(eta_v=0.0, weight_decay=0.05))
    assert crit.tracked
    # decay lowers eta_c (2.3068 without it, the perfect student's value)
    assert crit.eta_c < critical_learning_rate(2, 2).eta_c
    out = confirm_critical_learning_rate(crit, factor=0.1)
    below, above = out["below"], out["above"]
    assert below["status"] == 0 and above["status"] == 0
    assert below["predicted_rate"] < 0 < above["predicted_rate"]
    # the leading mode changes by e^(rate alpha) = e^-+3; 20% covers the nonlinear terms at eps = 0.01
    for side, r in out.items():
        ratio = r["mode_end"] / r["mode_start"]
        assert ratio == pytest.approx(math.exp(r["predicted_rate"] * r["alpha_end"]), rel=0.2), side
    assert below["distance_end"] < 0.1 * below["distance_start"]
    assert above["distance_end"] > below["distance_end"] * 100


def test_bad_model_input():
    with pytest.raises(ValueError, match="not both"):
        asymptotic_fixed_point(2, 2, DECAY_NOISE, eta=0.5)
    with pytest.raises(ValueError, match="weight_decay"):
        find_fixed_point(perfect_student(2, 2), Model(eta=0.0, eta_v=0.0, weight_decay=0.1))
    with pytest.raises(ValueError, match="eta_v_ratio"):
        critical_learning_rate(2, 2, Model(eta_v=0.0), eta_v_ratio=1.0)
    with pytest.raises(ValueError, match="eta is required"):
        asymptotic_fixed_point(2, 2)
