"""statmech.symbolic: derived integrals vs the literature and the numba kernels, erf I4 checks,
symbolic equations of motion vs the numba right-hand side, the exact linear ODE, the CLI."""

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import random_covariance
from scipy.integrate import solve_ivp

import statmech as sm
from statmech import symbolic as sym
from statmech.cli import main
from statmech.integrals import erf, kernels, linear, relu
from statmech.ode import pack, rhs
from statmech.symbolic.integrals import C

caa, cbb, ccc, cdd = C["aa"], C["bb"], C["cc"], C["dd"]
cab, cac, cad, cbc, cbd, ccd = C["ab"], C["ac"], C["ad"], C["bc"], C["bd"], C["cd"]
L3 = (1 + caa) * (1 + ccc) - cac**2
L4 = (1 + caa) * (1 + cbb) - cab**2


def _is_zero(expr, positive=()):
    """Symbolic proof that expr == 0 for valid covariances (``positive``: quantities known > 0)."""
    e = sp.simplify(sp.sympify(expr).rewrite(sp.asin))
    for p in positive:
        e = sp.refine(e, sp.Q.positive(p))
    return sp.simplify(e) == 0


# ------------------------------------------------------------------- start-up
def test_importing_statmech_does_not_import_sympy():
    code = (
        "import sys, statmech, statmech.cli, statmech.commands.derive; "
        "assert 'sympy' not in sys.modules, 'sympy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------- derivation vs literature
@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
def test_j2_i3_derived_equal_literature_symbolically(activation):
    """Price (J2 = dI2/dC_ab) and Stein + Price (I3) reproduce the printed closed forms exactly."""
    ints, lit = sym.derive(activation), sym.literature(activation)
    assert ints.i2 == sym.starting_i2(activation)
    for kind in ("j2", "i3"):
        assert _is_zero(getattr(ints, kind) - lit[kind]), (activation, kind)
    if activation == "linear":
        assert ints.i4 == ccd  # g' = 1: I4 = I2(c, d), derived
    if activation == "relu":
        assert ints.i4 is None


def test_price_and_stein_helpers_on_a_monte_carlo_free_case():
    """Price on the linear I2 = C_ab: E[g'g'] = 1 and E[g'' g] = 0 (g'' = 0)."""
    assert sym.price(cab, "a", "b") == 1
    assert sym.price(cab, "a", "a") == 0


def _valid_points(rng, n_fields, n_points):
    """Random valid covariances: PSD n x n with scales 0.1..10; a tenth of them with fields
    0 and 1 coinciding and a tenth with the last two coinciding (the ODE calls the kernels so)."""
    out = []
    for j in range(n_points):
        Cm = random_covariance(rng, n_fields) * 10 ** rng.uniform(-1, 1)
        if j % 10 == 1:
            Cm[1, :] = Cm[0, :]
            Cm[:, 1] = Cm[:, 0]
        elif j % 10 == 2:
            Cm[-1, :] = Cm[-2, :]
            Cm[:, -1] = Cm[:, -2]
        out.append(Cm)
    return out


def _entries(Cm, kind):
    """Kernel arguments (same order as statmech.symbolic.ARGS) from a covariance matrix."""
    d = np.diag(Cm)
    if kind in ("i2", "j2"):
        return (d[0], d[1], Cm[0, 1])
    if kind == "i3":
        return (d[0], d[1], d[2], Cm[0, 1], Cm[0, 2], Cm[1, 2])
    return (d[0], d[1], d[2], d[3], Cm[0, 1], Cm[0, 2], Cm[0, 3], Cm[1, 2], Cm[1, 3], Cm[2, 3])


KERNELS = [
    (act, kind)
    for act in ("erf", "linear", "relu")
    for kind in ("i2", "j2", "i3", "i4")
    if not (act == "relu" and kind == "i4")
]


@pytest.mark.parametrize("activation, kind", KERNELS)
def test_numba_kernels_match_symbolic(activation, kind, rng):
    """The single source of truth: each hand-written numba kernel equals the derived sympy
    expression (evaluated in 30-digit mpmath) at 1,000 random valid covariances to 1e-12 relative.

    Both are float64-rounding-exact evaluations of the same function, so the only discrepancy is
    the kernel's rounding, a few 1e-16 relative; 1e-12 leaves room for mild cancellation in I3.
    """
    expr = getattr(sym.derive(activation), kind)
    f = sp.lambdify(sym.ARGS[kind], expr, modules="mpmath")
    module = {"erf": erf, "linear": linear, "relu": relu}[activation]
    kernel = getattr(module, kind)
    dispatch = getattr(kernels, kind)
    code = kernels.activation_code(activation)
    n_fields = {"i2": 2, "j2": 2, "i3": 3, "i4": 4}[kind]
    got, want = [], []
    with mpmath.workdps(30):
        for Cm in _valid_points(rng, n_fields, 1000):
            args = _entries(Cm, kind)
            got.append(kernel(*args))
            assert dispatch(code, *args) == got[-1]
            want.append(float(sp.re(f(*[mpmath.mpf(float(a)) for a in args]))))
    got, want = np.array(got), np.array(want)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


# -------------------------------------------------------------- erf I4 checks
def test_erf_i4_equals_the_tilted_gaussian_derivation():
    """Literature I4 == J2(a,b) I2(tilted covariance S), proved symbolically: equal prefactors and
    S_cd = L0/L4, 1 + S_cc = L1/L4, 1 + S_dd = L2/L4, so the asin arguments agree because L4 > 0.
    The whole value is also compared at 1,000 random valid covariances to 1e-12."""
    lit, tilt = sym.derive("erf").i4, sym.i4_erf_tilted()
    (a_lit,), (a_tilt,) = lit.atoms(sp.asin), tilt.atoms(sp.asin)
    assert sp.simplify(lit / a_lit - tilt / a_tilt) == 0
    S = sym.tilted_covariance()
    x = a_lit.args[0]
    L0 = sp.numer(sp.together(x))
    L1L2 = sp.expand(L0**2 / x**2)
    L1 = L4 * (1 + ccc) - cbc**2 * (1 + caa) - cac**2 * (1 + cbb) + 2 * cab * cac * cbc
    L2 = L4 * (1 + cdd) - cbd**2 * (1 + caa) - cad**2 * (1 + cbb) + 2 * cab * cad * cbd
    assert sp.expand(L1L2 - L1 * L2) == 0
    assert sp.cancel(S[0, 1] * L4 - L0) == 0
    assert sp.cancel((1 + S[0, 0]) * L4 - L1) == 0 and sp.cancel((1 + S[1, 1]) * L4 - L2) == 0
    f_lit = sp.lambdify(sym.ARGS["i4"], lit, "numpy")
    f_tilt = sp.lambdify(sym.ARGS["i4"], tilt, "numpy")
    rng = np.random.default_rng(4)
    pts = np.array([_entries(Cm, "i4") for Cm in _valid_points(rng, 4, 1000)]).T
    np.testing.assert_allclose(f_tilt(*pts), f_lit(*pts), rtol=1e-12, atol=1e-14)


def test_erf_i4_first_price_relation_is_a_polynomial_identity():
    """dI4/dC_cd = (4/pi^2) L4 / (sqrt(L4) sqrt(L1 L2 - L0^2)) equals (4/pi^2) det(I+C)^(-1/2)
    because L1 L2 - L0^2 = L4 det(I + C) identically (checked by expansion)."""
    lit = sym.derive("erf").i4
    (asin,) = lit.atoms(sp.asin)
    x = asin.args[0]
    L0 = sp.numer(sp.together(x))  # x = L0 / sqrt(L1 L2)
    L1L2 = sp.expand(L0**2 / x**2)
    det = (4 / sp.pi**2 / sym.j4()) ** 2
    assert sp.expand(sp.simplify(L1L2) - L0**2 - sp.expand(L4 * det)) == 0


@pytest.mark.parametrize("index", range(len(sym.i4_price_identities())))
def test_erf_i4_price_identities(index, rng):
    """Each Price relation holds at 200 random valid covariances (30-digit mpmath) to 1e-12 relative
    (exact identities: agreement is limited only by the 30-digit evaluation)."""
    desc, lhs, rhs_ = sym.i4_price_identities()[index]
    f = sp.lambdify(sym.ARGS["i4"], [lhs, rhs_], modules="mpmath")
    with mpmath.workdps(30):
        for Cm in _valid_points(rng, 4, 200):
            left, right = f(*[mpmath.mpf(float(a)) for a in _entries(Cm, "i4")])
            scale = max(abs(right), mpmath.mpf(1e-30))
            assert abs(left - right) <= 1e-12 * scale, (desc, Cm)


def test_erf_i4_special_cases_reduce_to_lower_integrals():
    cases = sym.i4_special_cases()
    assert len(cases) == 5
    for desc, lhs, rhs_ in cases:
        assert _is_zero(lhs - rhs_, positive=(L4, L3)), desc


def test_collapsed_patterns_equal_the_generic_integral(rng):
    """Merging coinciding fields (and |L1| -> L1) does not change any value (1e-12 at 50 points)."""
    for kind, n in (("i2", 2), ("j2", 2), ("i3", 3), ("i4", 4)):
        generic = sp.lambdify(sym.ARGS[kind], getattr(sym.derive("erf"), kind), "numpy")
        for pattern in (
            ("aa", "ab")
            if n == 2
            else ("aaa", "aba", "abb", "aab", "abc")
            if n == 3
            else ("aaaa", "aabb", "abcc", "abab", "abca", "abcd")
        ):
            expr = sym.integrals.collapsed("erf", kind, pattern)
            for _ in range(50):
                Cfull = random_covariance(rng, n)
                idx = ["abcd".index(p) for p in pattern]
                Cm = Cfull[np.ix_(idx, idx)]  # coinciding fields: identical rows and columns
                want = generic(*_entries(Cm, kind))
                sub = {s: Cfull["abcd".index(s.name[2]), "abcd".index(s.name[3])] for s in expr.free_symbols}
                assert float(expr.xreplace(sub)) == pytest.approx(want, rel=1e-12, abs=1e-14), (kind, pattern)


def test_collapsed_rejects_bad_patterns():
    with pytest.raises(ValueError, match="invalid field pattern"):
        sym.integrals.collapsed("erf", "i3", "abd")
    with pytest.raises(ValueError, match="no closed form"):
        sym.integrals.collapsed("relu", "i4", "abcd")


# ---------------------------------------------------- ReLU I4 (a quadrature)


@pytest.mark.parametrize("index", [0, 1])
def test_relu_i4_kernel_matches_closed_forms_on_special_manifolds(index, rng):
    """ReLU I4 has no closed form; on the manifolds of relu_i4_closed_forms() it does. The kernel
    (a quadrature with absolute error ~1e-13 sqrt(C_cc C_dd), its docstring) agrees at 1,000 random
    valid covariances to 1e-12 sqrt(C_cc C_dd) (I4 is homogeneous of degree one in C)."""
    kernel = relu.i4
    desc, sub, expr = sym.relu_i4_closed_forms()[index]
    f = sp.lambdify(sym.ARGS["i4"], expr, "numpy")
    n = 0
    for Cm in _valid_points(rng, 4, 1000):
        for s_, val in sub.items():
            i, j = "abcd".index(s_.name[2]), "abcd".index(s_.name[3])
            Cm[i, j] = Cm[j, i] = val
        if np.linalg.eigvalsh(Cm)[0] <= 1e-12 * np.trace(Cm):
            continue  # zeroing entries of a duplicated field can leave the PSD cone
        args = _entries(Cm, "i4")
        assert abs(kernel(*args) - f(*args)) <= 1e-12 * np.sqrt(Cm[2, 2] * Cm[3, 3]), (desc, Cm)
        n += 1
    assert n > 700


def test_relu_i4_kernel_satisfies_price_in_c_ab(rng):
    """dI4/dC_ab = p(u_a = u_b = 0) E[relu_c relu_d | u_a = u_b = 0] (closed form) vs a Richardson
    central difference of the kernel, step h = 1e-3 sqrt(det C_ab,ab): truncation ~h^4, the kernel's
    ~1e-13 error over h gives <~1e-9; measured at most 1.5e-8 of the scale sqrt(C_cc C_dd) /
    (2 pi sqrt(det)) over 1,000 points, so 1e-6 of that scale (a wrong formula is off by O(1))."""
    kernel = relu.i4
    desc, sub, expr = sym.relu_i4_closed_forms()[2]
    f = sp.lambdify(sym.ARGS["i4"], expr, "numpy")
    for _ in range(200):
        Cm = random_covariance(rng, 4) * 10 ** rng.uniform(-1, 1)
        a = list(_entries(Cm, "i4"))
        det = a[0] * a[1] - a[4] ** 2

        def central(h):
            up, dn = list(a), list(a)
            up[4] += h
            dn[4] -= h
            return (kernel(*up) - kernel(*dn)) / (2 * h)

        h = 1e-3 * np.sqrt(det)
        fd = (4 * central(h / 2) - central(h)) / 3
        scale = np.sqrt(a[2] * a[3]) / (2 * np.pi * np.sqrt(det))
        assert abs(fd - f(*a)) <= 1e-6 * scale, (desc, Cm)


# --------------------------------------------------------- equations of motion
def _random_state(rng, K, M):
    N = 40
    W = rng.standard_normal((K, N)) * rng.uniform(0.3, 1.5)
    Ws = rng.standard_normal((M, N))
    return sm.State.from_weights(W, Ws, rng.standard_normal(K), 2 * rng.standard_normal(M))


@pytest.mark.parametrize("activation", ["erf", "linear"])
@pytest.mark.parametrize(
    "K, M, second, noise", [(2, 1, True, True), (3, 2, True, True), (2, 1, False, True), (2, 2, True, False)]
)
def test_symbolic_rhs_equals_numba_rhs(activation, K, M, second, noise, rng):
    """Symbolic dQ, dR, dv, eps_g at 20 random states == statmech.ode.rhs and statmech.eps_g.

    Same functions evaluated in float64 along different routes (hoisted sums in numba), so they
    agree to rounding: 1e-12 relative to the largest component of the vector.
    """
    eqs = sym.equations(K, M, activation, train_second_layer=second, noise=noise)
    for _ in range(20):
        s = _random_state(rng, K, M)
        eta, eta_v, sigma = (
            rng.uniform(0.1, 1.5),
            (rng.uniform(0.1, 1.5) if second else 0.0),
            (rng.uniform(0, 1) if noise else 0.0),
        )
        got = eqs.rhs(s, eta=eta, eta_v=eta_v, sigma=sigma)
        want = rhs(s, eta=eta, eta_v=eta_v, sigma=sigma, activation=activation)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))
        assert eqs.eps_g_at(s) == pytest.approx(sm.eps_g(s, activation), rel=1e-12, abs=1e-14)


def test_equations_structure_and_symbols():
    eqs = sym.equations(2, 1, "erf", train_second_layer=False, noise=False)
    assert eqs.dQ.shape == (2, 2) and eqs.dR.shape == (2, 1) and eqs.dv.shape == (2, 1)
    assert eqs.dQ == eqs.dQ.T
    assert all(x == 0 for x in eqs.dv)
    free = set().union(*[x.free_symbols for x in eqs.packed])
    assert eqs.sigma not in free and eqs.eta_v not in free
    assert {s.name for s in free} == {"Q_11", "Q_12", "Q_22", "R_11", "R_21", "T_11", "v_1", "v_2", "vstar_1", "eta"}
    full = sym.equations(2, 1, "erf")
    free = set().union(*[x.free_symbols for x in full.packed])
    assert full.sigma in free and full.eta_v in free
    assert sym.equations(2, 1, "erf") is full  # cached


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(K=0, M=1), "K must be an integer >= 1"),
        (dict(K=2, M=1.5), "M must be an integer >= 1"),
        (dict(K=1, M=1, activation="tanh"), "activation must be one of"),
        (dict(K=1, M=1, activation="relu"), "no closed-form I4"),
    ],
)
def test_equations_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        sym.equations(**bad)


def test_equations_state_mismatch():
    eqs = sym.equations(1, 1, "linear")
    with pytest.raises(ValueError, match="state has K=2, M=1"):
        eqs.rhs(sm.State.random(2, 1, 10, seed=0), eta=0.1, eta_v=0.1)
    with pytest.raises(ValueError, match="T must be 1x1"):
        eqs.packed_rhs(np.eye(2), [1.0], eta=0.1, eta_v=0.1)
    with pytest.raises(ValueError, match="eta_v must be a finite number >= 0"):
        eqs.rhs(sm.State.random(1, 1, 10, seed=0), eta=0.1, eta_v=-1.0)
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        eqs.packed_rhs(np.eye(1), [1.0], eta=0.1, eta_v=0.0, sigma=float("nan"))
    with pytest.raises(ValueError, match="activation must be one of"):
        sym.derive("tanh")


# ------------------------------------------------------------ the linear case
def test_linear_equations_are_polynomial():
    eqs = sym.equations(3, 2, "linear")
    gens = eqs.arguments
    for x in [*eqs.packed, eqs.eps_g]:
        assert x.is_polynomial(*gens)


def test_linear_balance_law():
    """For g(u) = u and eta_v = eta: d(Q - v v^T)/dalpha = eta^2 v v^T (2 eps_g + sigma^2), exactly
    (the O(eta) terms cancel: gradient flow conserves W W^T / N - v v^T, cf. Saxe et al. 2014)."""
    eqs = sym.equations(2, 2, "linear")
    for i in range(2):
        for k in range(2):
            lhs = eqs.dQ[i, k] - eqs.v[k] * eqs.dv[i] - eqs.v[i] * eqs.dv[k]
            want = eqs.eta**2 * eqs.v[i] * eqs.v[k] * (2 * eqs.eps_g + eqs.sigma**2)
            assert sp.expand((lhs - want).subs(eqs.eta_v, eqs.eta)) == 0


def test_linear_soft_committee_closed_form_matches_integrate():
    """K = M = 1, fixed v: the symbolic ODE is linear with constant coefficients, solved exactly
    (matrix exponential, exact rationals); statmech.integrate(rtol=1e-11) agrees to 1e-8 relative."""
    eqs = sym.equations(1, 1, "linear", train_second_layer=False)
    vals = {
        eqs.eta: sp.Rational(3, 10),
        eqs.v[0]: sp.Rational(4, 5),
        eqs.vstar[0]: sp.Rational(6, 5),
        eqs.T[0, 0]: sp.Rational(11, 10),
        eqs.sigma: sp.Rational(1, 5),
    }
    y = sp.Matrix([eqs.Q[0, 0], eqs.R[0, 0]])
    F = sp.Matrix([eqs.dQ[0, 0], eqs.dR[0, 0]]).subs(vals)
    A, minus_b = sp.linear_eq_to_matrix(list(F), list(y))  # F = A y - minus_b
    t = sp.Symbol("t", nonnegative=True)
    y0 = sp.Matrix([sp.Rational(13, 10), sp.Rational(1, 10)])
    ystar = A.solve(minus_b)  # fixed point
    sol = (A * t).exp() * (y0 - ystar) + ystar
    assert sp.simplify(sol.diff(t) - (A * sol - minus_b)) == sp.zeros(2, 1)
    s0 = sm.State(Q=[[1.3]], R=[[0.1]], T=[[1.1]], v=[0.8], vstar=[1.2])
    times = np.array([0.0, 0.5, 2.0, 10.0, 40.0])
    res = sm.integrate(
        s0, eta=0.3, eta_v=0.0, sigma=0.2, alpha_max=40.0, save_at=times, activation="linear", rtol=1e-11, atol=1e-13
    )
    assert res.success
    exact = np.array([[float(x.subs(t, a)) for x in sol] for a in times])
    np.testing.assert_allclose(res.Q[:, 0, 0], exact[:, 0], rtol=1e-8)
    np.testing.assert_allclose(res.R[:, 0, 0], exact[:, 1], rtol=1e-8)


@pytest.mark.parametrize("activation, alpha_max", [("linear", 30.0), ("erf", 20.0)])
def test_solve_ivp_on_symbolic_rhs_matches_integrate(activation, alpha_max):
    """scipy DOP853 (rtol 1e-12) on the lambdified symbolic RHS vs statmech.integrate (dopri5,
    rtol 1e-11): both errors ~1e-10, so 1e-7 relative is a safe bound."""
    s0 = sm.State.random(2, 1, 200, vstar=1.0, seed=3)
    eta, eta_v, sigma = 0.4, 0.3, 0.1
    eqs = sym.equations(2, 1, activation)
    times = np.array([0.0, 1.0, 5.0, alpha_max])
    sol = solve_ivp(
        eqs.packed_rhs(s0.T, s0.vstar, eta=eta, eta_v=eta_v, sigma=sigma),
        (0, alpha_max),
        pack(s0),
        method="DOP853",
        t_eval=times,
        rtol=1e-12,
        atol=1e-14,
    )
    assert sol.success
    res = sm.integrate(
        s0,
        eta=eta,
        eta_v=eta_v,
        sigma=sigma,
        alpha_max=alpha_max,
        save_at=times,
        activation=activation,
        rtol=1e-11,
        atol=1e-13,
    )
    assert res.success
    mine = np.array([pack(st) for st in res.states])
    np.testing.assert_allclose(mine, sol.y.T, rtol=1e-7, atol=1e-9)


def _sgd_linear(W0, Ws, v0, vstar, eta, eta_v, sigma, steps, n_runs, seed):
    """Online SGD of docs/theory/model.md with g(u) = u, ``n_runs`` independent input streams
    from the same initial weights (vectorised over runs); returns the order parameters at ``steps``."""
    rng = np.random.default_rng(seed)
    K, N = W0.shape
    W = np.repeat(W0[None], n_runs, axis=0)
    v = np.repeat(v0[None], n_runs, axis=0)
    out = {}
    for step in range(max(steps) + 1):
        if step in steps:
            Q = np.einsum("rkn,rln->rkl", W, W) / N
            R = np.einsum("rkn,mn->rkm", W, Ws) / N
            out[step] = (Q, R, v.copy())
        x = rng.standard_normal((n_runs, N))
        lam = np.einsum("rkn,rn->rk", W, x) / np.sqrt(N)
        nu = x @ Ws.T / np.sqrt(N)
        delta = nu @ vstar + sigma * rng.standard_normal(n_runs) - np.einsum("rk,rk->r", v, lam)
        W += (eta / np.sqrt(N)) * (v * delta[:, None])[:, :, None] * x[:, None, :]
        v = v + (eta_v / N) * lam * delta[:, None]
    return out


def test_linear_ode_matches_finite_n_sgd():
    """The symbolic linear ODE vs 64 finite-N (N = 400) online-SGD runs from the same weights.

    Deviations: the run-to-run spread is O(1/sqrt N) (standard error of the mean = sd / 8) and the
    mean is off by O(1/N) (measured deviations are all below 3 standard errors); tolerance
    4 standard errors + 1/N.
    """
    K, M, N = 2, 1, 400
    wts = sm.Weights.random(K, M, N, vstar=1.0, seed=11)
    s0 = wts.state()
    eta, eta_v, sigma = 0.5, 0.5, 0.2
    alphas = [0.5, 2.0, 5.0]
    steps = [int(a * N) for a in alphas]
    sim = _sgd_linear(
        np.array(wts.W),
        np.array(wts.Wstar),
        np.array(wts.v),
        np.array(wts.vstar),
        eta,
        eta_v,
        sigma,
        steps,
        n_runs=64,
        seed=12,
    )
    eqs = sym.equations(K, M, "linear")
    sol = solve_ivp(
        eqs.packed_rhs(s0.T, s0.vstar, eta=eta, eta_v=eta_v, sigma=sigma),
        (0, alphas[-1]),
        pack(s0),
        method="DOP853",
        t_eval=alphas,
        rtol=1e-10,
        atol=1e-12,
    )
    n_checked = 0
    for j, step in enumerate(steps):
        Q, R, v = sim[step]
        runs = np.concatenate([Q.reshape(64, -1), R.reshape(64, -1), v], axis=1)
        mean, se = runs.mean(axis=0), runs.std(axis=0, ddof=1) / np.sqrt(64)
        dev = np.abs(mean - sol.y[:, j])
        assert np.all(dev <= 4 * se + 1.0 / N), (alphas[j], dev, se)
        n_checked += dev.size
    # the test can fail: the ODE moved the order parameters far more than the tolerance
    assert np.max(np.abs(sol.y[:, -1] - pack(s0))) > 20 * (4 * se.max() + 1.0 / N)
    assert n_checked == 3 * (K * K + K * M + K)


def test_linear_ode_matches_statmech_simulate():
    """The same comparison with the package's own simulator (statmech.sim, numba SGD), on eps_g:
    32 runs, N = 400; |mean - ODE| <= 4 standard errors + 1/N (measured: at most 1.2 SE)."""
    simulate = pytest.importorskip("statmech.sim")
    K, M, N = 2, 1, 400
    wts = sm.Weights.random(K, M, N, vstar=1.0, seed=11)
    s0 = wts.state()
    res = simulate.simulate_seeds(
        wts,
        seeds=32,
        seed=5,
        eta=0.5,
        eta_v=0.5,
        sigma=0.2,
        alpha_max=5.0,
        save_at=[0.5, 2.0, 5.0],
        activation="linear",
        workers=1,
    )
    assert res.status == 0, res.message
    eqs = sym.equations(K, M, "linear")
    sol = solve_ivp(
        eqs.packed_rhs(s0.T, s0.vstar, eta=0.5, eta_v=0.5, sigma=0.2),
        (0, 5.0),
        pack(s0),
        method="DOP853",
        t_eval=res.alpha,
        rtol=1e-10,
        atol=1e-12,
    )
    ode = np.array(
        [
            eqs.eps_g_at(sm.State(Q=y[:4].reshape(2, 2), R=y[4:6].reshape(2, 1), T=s0.T, v=y[6:], vstar=s0.vstar))
            for y in sol.y.T
        ]
    )
    assert np.all(np.abs(res.mean - ode) <= 4 * res.stderr + 1.0 / N), (res.mean, res.stderr, ode)
    assert ode[0] - ode[-1] > 50 * (4 * res.stderr[-1] + 1.0 / N)  # the curve moves far more than the bound


# ------------------------------------------------------------------------ CLI
def test_cli_derive_text_and_latex(capsys):
    assert main(["derive", "--K", "1", "--M", "1"]) == 0
    out = capsys.readouterr().out
    assert "dQ_11/dalpha = " in out and "dR_11/dalpha = " in out and "dv_1/dalpha = " in out
    assert "eps_g = " in out and "asin" in out and "sigma" in out
    assert (
        main(["derive", "--K", "2", "--M", "1", "--latex", "--soft-committee", "--no-noise", "--activation", "linear"])
        == 0
    )
    out = capsys.readouterr().out
    assert r"\frac{d Q_{12}}{d\alpha}" in out and r"v^{*}_{1}" in out
    assert "dv" not in out and r"\frac{d v_{1}}" not in out and "sigma" not in out


def test_cli_derive_bad_input(capsys):
    assert main(["derive", "--K", "40", "--M", "2"]) == 2
    assert "too many I4 terms" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["derive", "--activation", "relu"])
    with pytest.raises(SystemExit):
        main(["derive", "--K", "0"])
