"""The general model's equations of motion (docs/theory/general_model.md): sympy-derived right-hand
sides against the numba GENERAL term for every student/teacher activation pair, with weight decay,
B > 1 and each output scaling; the structure of the new terms; ``statmech derive`` with the options."""

import numpy as np
import pytest
import sympy as sp

import statmech as sm
from statmech import symbolic as sym
from statmech.cli import main
from statmech.core.model import Model
from statmech.ode import rhs

ACTS = ("erf", "linear", "relu")
PAIRS = [(a, b) for a in ACTS for b in ACTS]
SCALES = ("1", "sqrt", "K")


def _random_state(rng, K, M):
    N = 40
    W = rng.standard_normal((K, N)) * rng.uniform(0.3, 1.5)
    Ws = rng.standard_normal((M, N))
    return sm.State.from_weights(W, Ws, rng.standard_normal(K), 2 * rng.standard_normal(M))


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("student, teacher", PAIRS)
def test_symbolic_general_rhs_equals_numba(student, teacher, scale, rng):
    """Symbolic dQ, dR, dv, eps_g == statmech.ode.rhs / statmech.eps_g at 4 random states, with
    weight decay, B = 3, output noise and both layers trained, for K = 2, M = 2 (so s_K, s_M != 1).

    The same functions in float64 along different routes (sympy's common subexpressions against
    the hoisted numba sums), so they agree to rounding: 1e-12 relative to the largest component.
    A ReLU student has no closed-form I4: there the I4 values come from the quadrature kernel
    (tested against Monte Carlo in tests/integrals) and everything around them is symbolic.
    """
    eqs = sym.equations(
        2,
        2,
        student,
        teacher_activation=teacher,
        weight_decay=True,
        mini_batch=True,
        output_scale=scale,
        unevaluated_i4=student == "relu",
    )
    assert bool(eqs.numeric) == (student == "relu")
    for _ in range(4):
        s = _random_state(rng, 2, 2)
        model = Model(
            activation=student,
            teacher_activation=teacher,
            eta=rng.uniform(0.1, 1.5),
            eta_v=rng.uniform(0.1, 1.5),
            sigma=rng.uniform(0, 1),
            weight_decay=rng.uniform(0.01, 0.5),
            batch_size=3,
            output_scale=scale,
        )
        got = eqs.rhs(s, model)
        want = rhs(s, model)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))
        assert eqs.eps_g_at(s) == pytest.approx(sm.eps_g(s, model), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("student, teacher", [("erf", "relu"), ("linear", "erf")])
def test_fixed_second_layer_and_no_noise(student, teacher, rng):
    """Soft committee machine (eta_v = 0: v fixed, no decay of v) without noise, B = 5, s = K."""
    eqs = sym.equations(
        3, 1, student, False, False, teacher_activation=teacher, weight_decay=True, mini_batch=True, output_scale="K"
    )
    assert all(x == 0 for x in eqs.dv)
    for _ in range(3):
        s = _random_state(rng, 3, 1)
        model = Model(student, teacher, eta=0.8, eta_v=0.0, weight_decay=0.1, batch_size=5, output_scale="K")
        want = rhs(s, model)
        np.testing.assert_allclose(eqs.rhs(s, model), want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))
        assert np.all(want[-3:] == 0)


def test_new_terms_have_the_derived_structure():
    """d/dkappa: -2Q, -R, -v; the eta^2 part of dQ scales as 1/B and dR, dv carry no B;
    with s_K = K the student's v enters as v / K (Model docstring)."""
    eqs = sym.equations(2, 1, "erf", weight_decay=True, mini_batch=True)
    kappa, B = eqs.kappa, eqs.B
    for i in range(2):
        assert sp.diff(eqs.dR[i, 0], kappa) == -eqs.R[i, 0]
        assert sp.diff(eqs.dv[i], kappa) == -eqs.v[i]
        for k in range(2):
            assert sp.diff(eqs.dQ[i, k], kappa) == -2 * eqs.Q[i, k]
    assert all(B not in x.free_symbols for x in [*eqs.dR, *eqs.dv])
    # B dQ is linear in B: its slope is the O(eta) part (with the decay), its value at B = 0 the
    # O(eta^2) part, so exactly the eta^2 terms are divided by B
    d = sp.expand(eqs.dQ[0, 1] * B)
    assert sp.diff(d, B, 2) == 0
    assert sp.diff(d, B, eqs.eta, eqs.eta) == 0
    assert sp.diff(sp.expand(d.subs(B, 0) / eqs.eta**2), eqs.eta) == 0 and d.subs(B, 0) != 0
    base = sym.equations(2, 1, "erf")
    assert sp.simplify(eqs.dQ[0, 1].subs({kappa: 0, B: 1}) - base.dQ[0, 1]) == 0
    scaled = sym.equations(2, 1, "linear", output_scale="K")
    lin = sym.equations(2, 1, "linear")
    v = lin.v
    # linear: eps_g with s_K = 2, s_M = 1 equals the unscaled one at v / 2
    assert sp.expand(scaled.eps_g - lin.eps_g.xreplace({v[0]: v[0] / 2, v[1]: v[1] / 2})) == 0


def test_general_term_at_the_default_model_equals_the_standard_term(rng):
    """The GENERAL kernel with the default model's parameters gives the STANDARD kernel's numbers."""
    from statmech.integrals import activation_code
    from statmech.ode.integrator import general_rhs_into, model_parameters, pack

    for act in ACTS:
        s = _random_state(rng, 3, 2)
        m = Model(act, eta=0.7, eta_v=0.3, sigma=0.4)
        y = pack(s)
        dy = np.empty_like(y)
        code = activation_code(act)
        general_rhs_into(code, code, y, 3, 2, s.T, s.vstar, model_parameters(m, 3, 2), dy)
        np.testing.assert_allclose(dy, rhs(s, m), rtol=1e-14, atol=1e-15 * np.max(np.abs(dy)))


def test_equations_refuse_what_they_do_not_contain(rng):
    eqs = sym.equations(1, 1, "linear", teacher_activation="erf")
    s = _random_state(rng, 1, 1)
    with pytest.raises(ValueError, match="weight_decay=0.1 but the equations have no weight decay term"):
        eqs.rhs(s, eta=0.5, eta_v=0.5, weight_decay=0.1)
    with pytest.raises(ValueError, match="batch_size=2 but the equations were derived for B = 1"):
        eqs.rhs(s, eta=0.5, eta_v=0.5, batch_size=2)
    with pytest.raises(ValueError, match=r"model.teacher_activation='relu' but the equations were derived for 'erf'"):
        eqs.rhs(s, Model("linear", "relu"))
    with pytest.raises(ValueError, match="output_scale must be one of"):
        sym.equations(1, 1, "erf", output_scale="N")
    with pytest.raises(ValueError, match="activation must be one of"):
        sym.equations(1, 1, "erf", teacher_activation="tanh")
    with pytest.raises(ValueError, match="no closed-form I4"):
        sym.equations(1, 1, "relu", teacher_activation="erf")


def test_cli_derive_general_options(capsys):
    args = ["derive", "--K", "1", "--M", "1", "--teacher-activation", "relu", "--weight-decay", "--batch-size"]
    assert main([*args, "--output-scale", "sqrt"]) == 0
    out = capsys.readouterr().out
    assert "teacher_activation=relu" in out and "weight decay kappa" in out and "batch size B" in out
    assert "R_11*kappa" in out and "/B" in out
    assert main(["derive", "--K", "2", "--M", "1", "--weight-decay", "0.25", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "kappa" not in out.split("\n", 2)[2] and "weight decay 0.25" in out and "B = 4" in out
    assert "R_11/4" in out
    with pytest.raises(SystemExit):
        main(["derive", "--output-scale", "N"])
    with pytest.raises(SystemExit):
        main(["derive", "--weight-decay", "-1"])
    with pytest.raises(SystemExit):
        main(["derive", "--batch-size", "0"])
