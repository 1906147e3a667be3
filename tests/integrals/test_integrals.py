"""Gaussian integrals I2, J2, I3, I4 (docs/theory/integrals.md) against independent routes.

- every closed form (erf, linear, relu) against brute-force Monte Carlo over
  Gaussian samples, all index patterns (a == b, c == d, a == c, ...) included;
- the ReLU I4 (a 1-D Price-path quadrature) against Stein's lemma with the 4-D
  orthant probability from scipy quadrature of Plackett's identity, and against
  exact reductions for repeated fields;
- the hoisted weighted sums used by the ODE against plain loops over tensors;
- Price's theorem dI2/dC_ab = J2 by finite differences;
- bad input.
"""

import math

import numpy as np
import pytest
from conftest import random_covariance
from scipy import integrate as sint
from scipy import special
from scipy.stats import multivariate_normal, norm

import statmech as sm
from statmech import integrals
from statmech.integrals import kernels, relu, sums

ACTS = ["erf", "linear", "relu"]


# ----------------------------------------------------------------- helpers
def _g(act, u):
    if act == "erf":
        return special.erf(u / math.sqrt(2.0))
    if act == "linear":
        return u
    return np.maximum(u, 0.0)


def _gp(act, u):
    if act == "erf":
        return math.sqrt(2.0 / math.pi) * np.exp(-0.5 * u * u)
    if act == "linear":
        return np.ones_like(u)
    return (u > 0.0).astype(np.float64)


def _singular_covariance(rng):
    """Rank-2 covariance of 4 fields: u2 = 0.5 u0 (collinear, other scale), u3 = u0 - u1."""
    w0, w1 = rng.standard_normal((2, 50)) / math.sqrt(50)
    V = np.stack([w0, w1, 0.5 * w0, w0 - w1])
    return V @ V.T


def _covariances():
    rng = np.random.default_rng(31)
    return [
        random_covariance(rng, 4),
        random_covariance(rng, 4, scale=2.5),
        random_covariance(rng, 4, scale=0.3),
        _singular_covariance(rng),
    ]


def _samples(C, n, seed):
    """n samples of u ~ N(0, C) (C may be singular: factor by eigh)."""
    lam, U = np.linalg.eigh(C)
    L = U * np.sqrt(np.clip(lam, 0.0, None))
    z = np.random.default_rng(seed).standard_normal((C.shape[0], n))
    return L @ z


def _mc_outer(X, Y):
    """Monte Carlo mean and standard error of X_i Y_j over samples (rows of X, Y: fields x samples)."""
    n = X.shape[1]
    m = X @ Y.T / n
    m2 = (X * X) @ (Y * Y).T / n
    return m, np.sqrt(np.clip(m2 - m * m, 0.0, None) / n)


def _z_bonferroni(n_entries, alpha=1e-3):
    """Two-sided z so that n_entries independent comparisons false-alarm with prob <= alpha.

    4 standard errors per entry would give ~6e-5 false alarms per entry, i.e. a few
    percent over the ~350 entries of one covariance; the Bonferroni threshold
    (about 4.6 sigma here) keeps the whole file's false-alarm rate near 1e-3.
    """
    return max(4.0, float(norm.isf(alpha / (2.0 * n_entries))))


# ------------------------------------------------- closed forms vs Monte Carlo
N_MC = 1_000_000


@pytest.fixture(scope="module")
def mc_data():
    out = []
    for i, C in enumerate(_covariances()):
        out.append((C, _samples(C, N_MC, seed=1000 + i)))
    return out


def _check(name, closed, mean, se, z):
    tol = z * se + 1e-12
    bad = np.abs(closed - mean) > tol
    assert not bad.any(), (
        f"{name}: {bad.sum()} entries off, worst |diff|/se = "
        f"{np.max(np.abs(closed - mean) / (se + 1e-300)):.2f}, first at {np.argwhere(bad)[0]}"
    )


@pytest.mark.parametrize("act", ACTS)
def test_closed_forms_match_monte_carlo(act, mc_data):
    """I2, J2, I3, I4 tensors (all index patterns, incl. repeated ones) vs 1e6-sample Monte Carlo."""
    n = 4
    z = _z_bonferroni(n**2 * 2 + n**3 + n**4)
    for C, u in mc_data:
        g, gp = _g(act, u), _gp(act, u)
        # I2, J2 (pairs)
        _check("I2", integrals.I2(C, act), *_mc_outer(g, g), z)
        _check("J2", integrals.J2(C, act), *_mc_outer(gp, gp), z)
        # I3[a, b, c] = E[g'(u_a) u_b g(u_c)]
        I3 = integrals.I3(C, act)
        for a in range(n):
            _check(f"I3[{a}]", I3[a], *_mc_outer(gp[a] * u, g), z)
        # I4[a, b, c, d] = E[g'(u_a) g'(u_b) g(u_c) g(u_d)]
        I4 = integrals.I4(C, act)
        for a in range(n):
            for b in range(n):
                _check(f"I4[{a},{b}]", I4[a, b], *_mc_outer(gp[a] * gp[b] * g, g), z)


# ----------------------------------- ReLU I4 against an independent numerical route
def _cond(S, keep, given):
    """Covariance of u[keep] given u[given] = 0 (Schur complement)."""
    keep, given = list(keep), list(given)
    A = S[np.ix_(keep, keep)]
    B = S[np.ix_(keep, given)]
    return A - B @ np.linalg.solve(S[np.ix_(given, given)], B.T)


def _phi0(var):
    return 1.0 / math.sqrt(2.0 * math.pi * var)


def _p2(S):
    return 0.25 + math.asin(S[0, 1] / math.sqrt(S[0, 0] * S[1, 1])) / (2.0 * math.pi)


def _p3(S):
    """3-D orthant probability, 1/8 + (asin r01 + asin r02 + asin r12) / (4 pi)."""
    d = np.sqrt(np.diag(S))
    R = S / np.outer(d, d)
    return 0.125 + (math.asin(R[0, 1]) + math.asin(R[0, 2]) + math.asin(R[1, 2])) / (4.0 * math.pi)


def _p4_plackett(S):
    """4-D orthant probability: Plackett's identity integrated along R(t) = t R + (1 - t) I.

    P4 = 1/16 + sum_p asin(r_p) / (8 pi) + sum_p int_0^1 r_p asin(pc_p(t)) / (4 pi^2 sqrt(1 - t^2 r_p^2)) dt,
    pc_p the partial correlation of the other two fields given the pair p (from the inverse of R(t)).
    """
    d = np.sqrt(np.diag(S))
    R = S / np.outer(d, d)
    total = 1.0 / 16.0
    for i in range(4):
        for j in range(i + 1, 4):
            m, k = [x for x in range(4) if x not in (i, j)]
            r = R[i, j]

            def f(t, i=i, j=j, m=m, k=k, r=r):
                P = np.linalg.inv(t * R + (1.0 - t) * np.eye(4))
                pc = -P[m, k] / math.sqrt(P[m, m] * P[k, k])
                return r * math.asin(pc) / (4.0 * math.pi**2 * math.sqrt(1.0 - t * t * r * r))

            integral = sint.quad(f, 0.0, 1.0, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
            total += math.asin(r) / (8.0 * math.pi) + integral
    return total


def _e_step_relu(S):
    """E[step(u_x) relu(u_z)] for a 2x2 covariance (Stein on u_z)."""
    return 0.5 * (S[1, 0] * _phi0(S[0, 0]) + S[1, 1] * _phi0(S[1, 1]))


def _t3(S):
    """E[step(u_x) step(u_y) relu(u_z)] for a 3x3 covariance of (x, y, z) (Stein on u_z)."""
    out = 0.0
    for j in range(3):
        others = [x for x in range(3) if x != j]
        out += S[2, j] * _phi0(S[j, j]) * _p2(_cond(S, others, [j]))
    return out


def _stein_i4(C, p4):
    """E[s_a s_b relu_c relu_d] = sum_{j in a,b,c} C_cj E[delta_j ...] + C_cd P4 (Stein on u_c)."""
    out = C[2, 3] * p4
    for j, rest in ((0, [1, 2, 3]), (1, [0, 2, 3]), (2, [0, 1, 3])):
        out += C[2, j] * _phi0(C[j, j]) * _t3(_cond(C, rest, [j]))
    return out


def _relu_i4(C, idx):
    a, b, c, d = idx
    return relu.i4(C[a, a], C[b, b], C[c, c], C[d, d], C[a, b], C[a, c], C[a, d], C[b, c], C[b, d], C[c, d])


def test_orthant_reference_agrees_with_scipy_mvn(rng):
    """The test's own P4 (Plackett quadrature) vs scipy's Genz algorithm (abseps 1e-6)."""
    C = random_covariance(rng, 4)
    p_mvn = multivariate_normal(mean=np.zeros(4), cov=C, abseps=1e-7, releps=0.0).cdf(np.zeros(4))
    # Genz's randomised QMC error estimate is ~abseps; allow 5e-6
    assert abs(_p4_plackett(C) - p_mvn) < 5e-6


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_relu_i4_distinct_fields_vs_stein_and_plackett(seed):
    """Four distinct fields: our Price-path I4 vs Stein's lemma + quadrature P4, to 1e-9 (quad ~1e-12)."""
    rng = np.random.default_rng(seed)
    C = random_covariance(rng, 4, scale=1.0 + seed)
    want = _stein_i4(C, _p4_plackett(C))
    scale = math.sqrt(C[2, 2] * C[3, 3])
    for perm in ((0, 1, 2, 3), (1, 0, 2, 3), (0, 1, 3, 2)):  # I4 symmetric in (a,b) and (c,d)
        got = _relu_i4(C, perm)
        assert abs(got - want) < 1e-9 * scale, (perm, got, want)


def test_relu_i4_repeated_fields_exact_reductions(rng):
    """Repeated indices as the ODE passes them, against exact reductions to other closed forms."""
    for _ in range(5):
        C = random_covariance(rng, 3)
        a, b = 0, 1
        # I4(a,b,a,b) = E[relu_a relu_b] = I2 (arc-cosine kernel)
        assert abs(_relu_i4(C, (a, b, a, b)) - relu.i2(C[a, a], C[b, b], C[a, b])) < 1e-12
        # I4(a,a,a,a) = E[u_a^2 step(u_a)] = C_aa / 2
        assert abs(_relu_i4(C, (a, a, a, a)) - 0.5 * C[a, a]) < 1e-12
        # I4(a,a,c,d) = E[s_a relu_c relu_d]
        #   = C_ca E[delta_a s_c relu_d] + C_cc E[s_a delta_c relu_d] + C_cd P3(a,c,d)
        S = C  # fields (a, c, d) = (0, 1, 2)
        want = (
            S[1, 0] * _phi0(S[0, 0]) * _e_step_relu(_cond(S, [1, 2], [0]))
            + S[1, 1] * _phi0(S[1, 1]) * _e_step_relu(_cond(S, [0, 2], [1]))
            + S[1, 2] * _p3(S)
        )
        assert abs(_relu_i4(C, (0, 0, 1, 2)) - want) < 1e-11
        assert abs(_relu_i4(C, (0, 1, 1, 2)) - want) < 1e-11  # s_c relu_c = relu_c
        # I4(a,b,c,c) = E[s_a s_b u_c^2 s_c]
        #   = C_ca E[delta_a s_b relu_c] + C_cb E[s_a delta_b relu_c] + C_cc P3(a,b,c)
        want = (
            S[2, 0] * _phi0(S[0, 0]) * _e_step_relu(_cond(S, [1, 2], [0]))
            + S[2, 1] * _phi0(S[1, 1]) * _e_step_relu(_cond(S, [0, 2], [1]))
            + S[2, 2] * _p3(S)
        )
        assert abs(_relu_i4(C, (0, 1, 2, 2)) - want) < 1e-11
        # I4(a,a,c,c) = E[s_a u_c^2 s_c] = C_ca phi_a(0) E[relu_c | u_a = 0] + C_cc P2(a,c)
        S2 = C[np.ix_([0, 1], [0, 1])]
        want = S2[1, 0] * _phi0(S2[0, 0]) * _e_relu(_cond(S2, [1], [0])[0, 0]) + S2[1, 1] * _p2(S2)
        assert abs(_relu_i4(C, (0, 0, 1, 1)) - want) < 1e-11


def _e_relu(var):
    """E[relu(u)] for u ~ N(0, var)."""
    return math.sqrt(var / (2.0 * math.pi))


def test_relu_i4_anticorrelated_and_zero_variance():
    """u_b = -u_a: step(u_a) step(-u_a) = 0, so I4 = 0; a field c of zero variance gives relu = 0."""
    C = np.array([[1.0, -1.0, 0.3, 0.2], [-1.0, 1.0, -0.3, -0.2], [0.3, -0.3, 1.2, 0.1], [0.2, -0.2, 0.1, 0.9]])
    assert abs(_relu_i4(C, (0, 1, 2, 3))) < 1e-12
    assert relu.i4(1.0, 1.0, 0.0, 1.0, 0.2, 0.0, 0.1, 0.0, 0.1, 0.0) == 0.0
    assert math.isnan(relu.i4(0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.2, 0.1, 0.3))


@pytest.mark.parametrize(
    "pattern", [[(1, 0)], [(2, 0)], [(3, 2)], [(1, 0), (2, 0)]], ids=["a~b", "c~a", "d~c", "b~a,c~a"]
)
def test_relu_i4_continuous_at_repeated_fields(pattern, rng):
    """Nearly repeated fields approach the exactly repeated value like sqrt(1 - rho^2) = O(eps)."""
    W = rng.standard_normal((4, 8)) / math.sqrt(8)
    V0 = W.copy()
    for i, j in pattern:
        V0[i] = W[j]
    exact = _relu_i4(V0 @ V0.T, (0, 1, 2, 3))
    for eps in (1e-3, 1e-5, 1e-7):
        V = V0.copy()
        for i, j in pattern:
            V[i] = W[j] + eps * W[i]
        got = _relu_i4(V @ V.T, (0, 1, 2, 3))
        # orthant probabilities move like sqrt(1 - rho^2) ~ eps; the slope is of order
        # |w_i| |w_j| / (2 pi) ~ 0.1 for these unit-scale rows (measured 0.02-0.1)
        assert abs(got - exact) < 0.5 * eps, (eps, got, exact)


def test_relu_i4_homogeneous_degree_one(rng):
    """E[s s relu relu] scales like C: I4(lambda C) = lambda I4(C)."""
    C = random_covariance(rng, 4)
    for lam in (1e-3, 7.0):
        assert abs(_relu_i4(lam * C, (0, 1, 2, 3)) - lam * _relu_i4(C, (0, 1, 2, 3))) < 1e-12 * max(1.0, lam)


# ------------------------------------------------ hoisted sums vs plain loops
def _cov_w(rng, n):
    C = random_covariance(rng, n)
    w = rng.standard_normal(n)
    w[1] = 0.0  # zero weights are skipped by the sums: exercise that branch
    return C, w


@pytest.mark.parametrize("act", ACTS)
def test_sums_vs_tensor_loops(act, rng):
    n, K = 5, 3
    C, w = _cov_w(rng, n)
    code = kernels.activation_code(act)
    I2, J2 = integrals.I2(C, act), integrals.J2(C, act)
    I3, I4 = integrals.I3(C, act), integrals.I4(C, act)
    out = np.empty((n, n))
    sums.i2_matrix(code, C, out)
    np.testing.assert_allclose(out, I2, rtol=0, atol=1e-12)
    sums.j2_matrix(code, C, out)
    np.testing.assert_allclose(out, J2, rtol=0, atol=1e-12)
    S3 = np.empty((K, n))
    sums.i3_weighted(code, C, K, w, S3)
    np.testing.assert_allclose(S3, np.einsum("ibc,c->ib", I3[:K], w), rtol=0, atol=1e-12)
    S4 = np.empty((K, K))
    sums.i4_weighted(code, C, K, w, S4)
    np.testing.assert_allclose(S4, np.einsum("ikcd,c,d->ik", I4[:K, :K], w, w), rtol=0, atol=1e-12)
    assert abs(sums.eps_g_cov(code, C, w) - 0.5 * w @ I2 @ w) < 1e-12


# ------------------------------------------------------------ Price's theorem
@pytest.mark.parametrize("act", ACTS)
def test_price_theorem_dI2_dCab_equals_J2(act, rng):
    """d/dC_ab E[g(u_a) g(u_b)] = E[g'(u_a) g'(u_b)] (a != b): central differences, h = 1e-5.

    The truncation error is h^2/6 * d3 I2 ~ 1e-11 and the rounding error ~1e-16 / h ~ 1e-11,
    so 1e-8 is a safe tolerance.
    """
    C = random_covariance(rng, 3)
    h = 1e-5
    code = kernels.activation_code(act)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        f = lambda cab: kernels.i2(code, C[a, a], C[b, b], cab)  # noqa: E731
        fd = (f(C[a, b] + h) - f(C[a, b] - h)) / (2 * h)
        assert abs(fd - kernels.j2(code, C[a, a], C[b, b], C[a, b])) < 1e-8


# ----------------------------------------------------------------- bad input
def test_bad_covariance_and_activation():
    good = np.eye(3)
    with pytest.raises(ValueError, match="symmetric"):
        integrals.I2(np.array([[1.0, 0.5], [0.2, 1.0]]))
    with pytest.raises(ValueError, match="positive semi-definite"):
        integrals.I2(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="square"):
        integrals.I2(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        integrals.I2(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="activation must be one of"):
        integrals.I2(good, "tanh")
    for f in (integrals.J2, integrals.I3, integrals.I4):
        with pytest.raises(ValueError, match="symmetric"):
            f(np.array([[1.0, 0.5], [0.2, 1.0]]), "relu")


# ------------------------------------------------------------------- slow
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_relu_i4_many_covariances_vs_stein(seed):
    """Ten more random covariances, 5 fields, every ordered 4-tuple of distinct fields."""
    rng = np.random.default_rng(100 + seed)
    C = random_covariance(rng, 5)
    for idx in [(0, 1, 2, 3), (4, 2, 1, 0), (3, 4, 0, 2)]:
        S = C[np.ix_(idx, idx)]
        want = _stein_i4(S, _p4_plackett(S))
        assert abs(_relu_i4(C, idx) - want) < 1e-9 * math.sqrt(S[2, 2] * S[3, 3])


@pytest.mark.slow
@pytest.mark.parametrize("eps", [1e-2, 1e-3])
def test_relu_i4_nearly_parallel_fields_vs_stein(eps):
    """b = a + eps * noise (1 - rho_ab^2 ~ eps^2): the regime of a trained student, against Stein + Plackett."""
    rng = np.random.default_rng(7)
    W = rng.standard_normal((4, 10)) / math.sqrt(10)
    for i, j in ((1, 0), (2, 0), (3, 2)):
        V = W.copy()
        V[i] = W[j] + eps * W[i]
        C = V @ V.T
        want = _stein_i4(C, _p4_plackett(C))
        # the naive Stein reference loses up to ~1e-16 / (1 - rho^2) ~ 1e-10 to cancellation
        # (measured differences 5e-13 at eps = 1e-3): 1e-9 is safe
        assert abs(_relu_i4(C, (0, 1, 2, 3)) - want) < 1e-9, (i, j)


def test_relu_ode_is_usable():
    """The ODE with relu (every I4 through relu.i4, repeated indices included) runs and learns.

    Gradient flow at small eta (0.1) must lower eps_g at every saved alpha; from the random
    3:2 start it falls from 4.36 to 0.87 by alpha = 10 (a halving is required here).
    """
    import statmech as sm

    res = sm.integrate(sm.State.random(3, 2, 500, seed=0), eta=0.1, alpha_max=10, activation="relu")
    assert res.status == 0, res.message
    assert np.all(np.isfinite(res.eps_g))
    assert np.all(np.diff(res.eps_g) < 0)
    assert res.eps_g[-1] < 0.5 * res.eps_g[0]


def test_relu_field_of_zero_variance():
    """A ReLU unit with zero weights: relu(0) = 0, so I2 = 0 and eps_g is the teacher's alone (was a
    ZeroDivisionError); g' = step(0) is undefined, so J2, I3, I4 refuse with a ValueError."""
    C = np.diag([0.0, 2.0])
    np.testing.assert_array_equal(integrals.I2(C, "relu"), [[0.0, 0.0], [0.0, 1.0]])  # E[relu(u)^2] = C/2
    for name in ("J2", "I3", "I4"):
        with pytest.raises(ValueError, match=f"{name} with activation 'relu' needs every variance C_aa > 0"):
            getattr(integrals, name)(C, "relu")
    # eps_g = (1/2) vstar^2 E[relu(nu)^2] = vstar^2 T / 4 for a student whose only unit is zero
    s = sm.State(Q=np.zeros((1, 1)), R=np.zeros((1, 1)), T=np.full((1, 1), 1.5), v=[0.7], vstar=[2.0])
    assert sm.eps_g(s, "relu") == pytest.approx(4.0 * 1.5 / 4, rel=1e-15)
