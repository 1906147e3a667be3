"""Gaussian integrals with an activation per field (student g, teacher g*) against independent routes.

- every mixed I2, J2, I3, I4 entry (all index patterns, derivative fields of either activation)
  against Monte Carlo, z standard errors with a Bonferroni z over the entries;
- kernels of one activation throughout equal the single-activation kernels bit for bit;
- exact identities that link different code paths (s(u) + s(-u) = 1, relu(u) - relu(-u) = u,
  erf odd), closed forms against the four-field orthant quadrature where both apply, and that
  quadrature against scipy's adaptive quadrature of Plackett's identity;
- the *_mixed weighted sums against plain loops over the tensors; eps_g; bad input.
"""

import math

import numpy as np
import pytest
from conftest import random_covariance
from scipy import integrate as sint
from scipy import special
from scipy.stats import norm

from statmech import integrals
from statmech.integrals import kernels, mixed, sums

ACTS = ["erf", "linear", "relu"]
PAIRS = [(s, t) for s in ACTS for t in ACTS if s != t]


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
    """Rank 2: u2 = 0.5 u0 (the same step as u0), u3 = u0 - u1."""
    w0, w1 = rng.standard_normal((2, 50)) / math.sqrt(50)
    V = np.stack([w0, w1, 0.5 * w0, w0 - w1])
    return V @ V.T


def _samples(C, n, seed):
    lam, U = np.linalg.eigh(C)
    L = U * np.sqrt(np.clip(lam, 0.0, None))
    return L @ np.random.default_rng(seed).standard_normal((C.shape[0], n))


def _mc_outer(X, Y):
    n = X.shape[1]
    m = X @ Y.T / n
    m2 = (X * X) @ (Y * Y).T / n
    return m, np.sqrt(np.clip(m2 - m * m, 0.0, None) / n)


def _z_bonferroni(n_entries, alpha=1e-3):
    """Two-sided z for which n_entries comparisons false-alarm with probability <= alpha in all."""
    return max(4.0, float(norm.isf(alpha / (2.0 * n_entries))))


def _check(name, got, mean, se, z):
    bad = np.abs(got - mean) > z * se + 1e-12
    assert not bad.any(), (
        f"{name}: {bad.sum()} entries off, worst |diff|/se = "
        f"{np.max(np.abs(got - mean) / (se + 1e-300)):.2f}, first at {np.argwhere(bad)[0]}"
    )


N_MC = 400_000
# 6 pairs x 2 covariances x (2 n^2 + n^3 + n^4) entries, n = 4: one z for the whole file
Z = _z_bonferroni(len(PAIRS) * 2 * (2 * 16 + 64 + 256))


@pytest.fixture(scope="module")
def mc_data():
    rng = np.random.default_rng(77)
    covs = [random_covariance(rng, 4, scale=1.5), _singular_covariance(rng)]
    return [(C, _samples(C, N_MC, seed=500 + i)) for i, C in enumerate(covs)]


@pytest.mark.parametrize("student, teacher", PAIRS)
def test_mixed_integrals_match_monte_carlo(student, teacher, mc_data):
    """Fields 0, 1 carry the student's activation, 2, 3 the teacher's; every entry of I2, J2, I3, I4."""
    acts = [student, student, teacher, teacher]
    for C, u in mc_data:
        g = np.stack([_g(a, x) for a, x in zip(acts, u)])
        gp = np.stack([_gp(a, x) for a, x in zip(acts, u)])
        _check("I2", integrals.I2(C, activations=acts), *_mc_outer(g, g), Z)
        _check("J2", integrals.J2(C, activations=acts), *_mc_outer(gp, gp), Z)
        I3 = integrals.I3(C, activations=acts)
        for a in range(4):
            _check(f"I3[{a}]", I3[a], *_mc_outer(gp[a] * u, g), Z)
        I4 = integrals.I4(C, activations=acts)
        for a in range(4):
            for b in range(4):
                _check(f"I4[{a},{b}]", I4[a, b], *_mc_outer(gp[a] * gp[b] * g, g), Z)


# --------------------------------------------------- same activation: unchanged
def _args(C, idx):
    a, b, c, d = idx
    return (C[a, a], C[b, b], C[c, c], C[d, d], C[a, b], C[a, c], C[a, d], C[b, c], C[b, d], C[c, d])


@pytest.mark.parametrize("act", ACTS)
def test_same_activation_is_bit_for_bit_the_single_activation_kernel(act, rng):
    code = kernels.activation_code(act)
    for _ in range(20):
        C = random_covariance(rng, 5)
        for idx in ((0, 1, 2, 3), (0, 0, 1, 2), (0, 1, 0, 4), (2, 2, 2, 2)):
            x = _args(C, idx)
            assert mixed.i4(code, code, code, code, *x) == kernels.i4(code, *x)
            assert mixed.i3(code, code, x[0], x[1], x[2], x[4], x[5], x[7]) == kernels.i3(
                code, x[0], x[1], x[2], x[4], x[5], x[7]
            )
            assert mixed.i2(code, code, x[0], x[1], x[4]) == kernels.i2(code, x[0], x[1], x[4])
            assert mixed.j2(code, code, x[0], x[1], x[4]) == kernels.j2(code, x[0], x[1], x[4])
        K, w = 3, rng.standard_normal(5)
        for new, old, shape in (
            (sums.i3_weighted_mixed, sums.i3_weighted, (K, 5)),
            (sums.i4_weighted_mixed, sums.i4_weighted, (K, K)),
        ):
            o1, o2 = np.empty(shape), np.empty(shape)
            new(code, code, C, K, w, o1)
            old(code, C, K, w, o2)
            np.testing.assert_array_equal(o1, o2)
        for new, old in ((sums.i2_matrix_mixed, sums.i2_matrix), (sums.j2_matrix_mixed, sums.j2_matrix)):
            o1, o2 = np.empty((5, 5)), np.empty((5, 5))
            new(code, code, C, K, o1)
            old(code, C, o2)
            np.testing.assert_array_equal(o1, o2)
        assert sums.eps_g_cov_mixed(code, code, C, K, w) == sums.eps_g_cov(code, C, w)


# ---------------------------------------------------------- exact identities
def _flip(C, j):
    """Covariance of the fields with u_j replaced by -u_j."""
    s = np.ones(C.shape[0])
    s[j] = -1.0
    return C * np.outer(s, s)


def _i4(acts, C, idx=(0, 1, 2, 3)):
    codes = [kernels.activation_code(a) for a in acts]
    return mixed.i4(*codes, *_args(C, idx))


@pytest.mark.parametrize("act_c", ACTS)
@pytest.mark.parametrize("act_d", ACTS)
def test_identities_link_the_code_paths(act_c, act_d, rng):
    """s(u_b) + s(-u_b) = 1: I4(a,b,.) + I4(a,-b,.) = I4(a,a,.) for ReLU students; relu(u) - relu(-u) = u;
    erf(-u) = -erf(u). Each side takes a different branch (distinct fields, merged steps, other orders)."""
    for _ in range(10):
        C = random_covariance(rng, 4)
        for sa in ACTS:
            acts = (sa, sa, act_c, act_d)
            if sa == "relu":
                lhs = _i4(acts, C) + _i4(acts, _flip(C, 1))
                assert abs(lhs - _i4(acts, C, (0, 0, 2, 3))) < 1e-12 * (1 + abs(lhs))
            if act_c == "relu":
                lin = _i4((sa, sa, "linear", act_d), C)
                diff = _i4(acts, C) - _i4(acts, _flip(C, 2))
                assert abs(diff - lin) < 1e-12 * (1 + abs(lin)), (acts, diff, lin)
            if act_d == "erf":
                assert abs(_i4(acts, C) + _i4(acts, _flip(C, 3))) < 1e-12


# ------------------------------------------------ the four-field orthant probability
def _p4_plackett(S):
    """P4 by scipy's adaptive quadrature of Plackett's identity along R(t) = t R + (1 - t) I,
    partial correlations from the inverse of R(t) (an independent route to mixed.orthant4)."""
    d = np.sqrt(np.diag(S))
    R = S / np.outer(d, d)
    total = 1.0 / 16.0
    for i in range(4):
        for j in range(i + 1, 4):
            m, k = [x for x in range(4) if x not in (i, j)]
            r = R[i, j]

            def f(t, m=m, k=k, r=r):
                P = np.linalg.inv(t * R + (1.0 - t) * np.eye(4))
                pc = -P[m, k] / math.sqrt(P[m, m] * P[k, k])
                return r * math.asin(pc) / (4.0 * math.pi**2 * math.sqrt(1.0 - t * t * r * r))

            total += math.asin(r) / (8.0 * math.pi) + sint.quad(f, 0.0, 1.0, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    return total


@pytest.mark.parametrize("seed", range(4))
def test_orthant4_vs_adaptive_plackett_quadrature(seed):
    rng = np.random.default_rng(seed)
    C = random_covariance(rng, 4, scale=0.5 + seed)
    assert abs(mixed.orthant4(*_args(C, (0, 1, 2, 3))) - _p4_plackett(C)) < 1e-11


def test_orthant4_closed_form_limits(rng):
    """Where a closed form exists: an independent field halves P3; a repeated field gives P3."""
    for _ in range(20):
        C = random_covariance(rng, 4)
        C[3, :3] = C[:3, 3] = 0.0
        d = np.sqrt(np.diag(C))
        R = C / np.outer(d, d)
        p3 = 0.125 + (math.asin(R[0, 1]) + math.asin(R[0, 2]) + math.asin(R[1, 2])) / (4.0 * math.pi)
        assert abs(mixed.orthant4(*_args(C, (0, 1, 2, 3))) - 0.5 * p3) < 1e-13
        assert abs(mixed.orthant4(*_args(C, (0, 0, 1, 2))) - p3) < 1e-13


def test_relu_students_erf_teacher_near_repeated_students(rng):
    """The quadrature branch (distinct ReLU students, two erf teacher fields) tends to the closed form
    with the students merged (three-field orthant probabilities) like sqrt(1 - rho^2) = O(eps)."""
    W = rng.standard_normal((4, 8)) / math.sqrt(8)
    V0 = W.copy()
    V0[1] = W[0]
    exact = _i4(("relu", "relu", "erf", "erf"), V0 @ V0.T)
    for eps in (1e-3, 1e-5, 1e-7):
        V = V0.copy()
        V[1] = W[0] + eps * W[1]
        got = _i4(("relu", "relu", "erf", "erf"), V @ V.T)
        assert abs(got - exact) < 0.5 * eps, (eps, got, exact)


# --------------------------------------------------------- sums and eps_g
@pytest.mark.parametrize("student, teacher", PAIRS)
def test_mixed_sums_vs_tensor_loops(student, teacher, rng):
    n, K = 5, 3
    C = random_covariance(rng, n)
    w = rng.standard_normal(n)
    w[1] = 0.0
    acts = [student] * K + [teacher] * (n - K)
    cs, ct = kernels.activation_code(student), kernels.activation_code(teacher)
    I2, J2 = integrals.I2(C, activations=acts), integrals.J2(C, activations=acts)
    I3, I4 = integrals.I3(C, activations=acts), integrals.I4(C, activations=acts)
    out = np.empty((n, n))
    sums.i2_matrix_mixed(cs, ct, C, K, out)
    np.testing.assert_array_equal(out, I2)
    sums.j2_matrix_mixed(cs, ct, C, K, out)
    np.testing.assert_array_equal(out, J2)
    S3 = np.empty((K, n))
    sums.i3_weighted_mixed(cs, ct, C, K, w, S3)
    np.testing.assert_allclose(S3, np.einsum("ibc,c->ib", I3[:K], w), rtol=0, atol=1e-12)
    S4 = np.empty((K, K))
    sums.i4_weighted_mixed(cs, ct, C, K, w, S4)
    np.testing.assert_allclose(S4, np.einsum("ikcd,c,d->ik", I4[:K, :K], w, w), rtol=0, atol=1e-12)
    s = np.concatenate([w[:K], -w[K:]])
    want = 0.5 * (w[:K] @ I2[:K, :K] @ w[:K] - 2 * w[:K] @ I2[:K, K:] @ w[K:] + w[K:] @ I2[K:, K:] @ w[K:])
    assert abs(sums.eps_g_cov_mixed(cs, ct, C, K, s) - want) < 1e-12


@pytest.mark.parametrize("student, teacher", PAIRS)
def test_price_theorem_mixed_dI2_dCab_equals_J2(student, teacher, rng):
    """dI2/dC_ab = J2 for fields of different activations (central differences, h = 1e-5: error ~1e-10)."""
    C = random_covariance(rng, 2)
    cs, ct = kernels.activation_code(student), kernels.activation_code(teacher)
    h = 1e-5
    fd = (mixed.i2(cs, ct, C[0, 0], C[1, 1], C[0, 1] + h) - mixed.i2(cs, ct, C[0, 0], C[1, 1], C[0, 1] - h)) / (2 * h)
    assert abs(fd - mixed.j2(cs, ct, C[0, 0], C[1, 1], C[0, 1])) < 1e-8


# ----------------------------------------------------------------- bad input
def test_bad_activation_arguments():
    C = np.eye(3)
    with pytest.raises(ValueError, match="not both"):
        integrals.I2(C, activation="erf", activations=["erf"] * 3)
    with pytest.raises(ValueError, match="activations must be a sequence of 3"):
        integrals.I4(C, activations=["erf", "relu"])
    with pytest.raises(ValueError, match="activation must be one of"):
        integrals.J2(C, activations=["erf", "tanh", "relu"])
    with pytest.raises(ValueError, match="I3 with activation 'relu' needs every variance"):
        integrals.I3(np.diag([1.0, 0.0, 1.0]), activations=["erf", "relu", "erf"])
    # a zero-variance field through g' only matters where it is ReLU
    assert np.all(np.isfinite(integrals.I3(np.diag([1.0, 0.0, 1.0]), activations=["relu", "erf", "relu"])))


def test_rank_one_covariance_rounded_by_float64_matches_monte_carlo():
    """Fields collinear up to rounding (C = a a^T in float64) are one field scaled: every I4 is finite and
    equals the Monte Carlo mean over u = a z, z ~ N(0, 1), within the Bonferroni z of the 81 comparisons."""
    rng = np.random.default_rng(12345)
    a = rng.standard_normal(4) * 1.7
    C = np.outer(a, a)
    args = _args(C, (0, 1, 2, 3))
    z = np.random.default_rng(7).standard_normal(400_000)
    u = a[:, None] * z
    zcrit = _z_bonferroni(81)
    codes = {name: integrals.activation_code(name) for name in ACTS}
    for acts in [(p, q, r, s) for p in ACTS for q in ACTS for r in ACTS for s in ACTS]:
        got = mixed.i4(*(codes[x] for x in acts), *args)
        f = _gp(acts[0], u[0]) * _gp(acts[1], u[1]) * _g(acts[2], u[2]) * _g(acts[3], u[3])
        mean, se = f.mean(), f.std() / math.sqrt(f.size)
        assert np.isfinite(got), acts
        assert abs(got - mean) <= zcrit * se + 1e-12, (acts, got, mean, se)
