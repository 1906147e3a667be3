"""Mixed-activation integrals: the sympy derivation (statmech.symbolic.integrals) against the numba
kernels of statmech.integrals.mixed in 30-digit mpmath, and against 2-D mpmath quadrature."""

import math

import mpmath
import pytest
import sympy as sp
from conftest import random_covariance

from statmech.integrals import kernels, mixed
from statmech.symbolic import integrals as si

ACTS = ("erf", "linear", "relu")
PAIRS = [(a, b) for a in ACTS for b in ACTS if a != b]


def _code(a):
    return kernels.activation_code(a)


def _points(rng, n, count):
    return [random_covariance(rng, n) * 10 ** rng.uniform(-1, 1) for _ in range(count)]


def _mp(f, args):
    with mpmath.workdps(30):
        return float(sp.re(f(*[mpmath.mpf(float(x)) for x in args])))


@pytest.mark.parametrize("act_a, act_c", PAIRS)
def test_mixed_i2_j2_i3_kernels_equal_the_derivation(act_a, act_c, rng):
    """numba mixed.i2, j2, i3 == derived sympy expressions at 100 random covariances, 1e-12 relative."""
    ints = si.derive_mixed(act_a, act_c)
    f2 = sp.lambdify(si.ARGS["i2"], ints["i2"], "mpmath")
    fj = sp.lambdify(si.ARGS["j2"], ints["j2"], "mpmath")
    f3 = sp.lambdify(si.ARGS["i3"], ints["i3"], "mpmath")
    ca, cc = _code(act_a), _code(act_c)
    for Cm in _points(rng, 3, 100):
        a2 = (Cm[0, 0], Cm[1, 1], Cm[0, 1])
        a3 = (Cm[0, 0], Cm[1, 1], Cm[2, 2], Cm[0, 1], Cm[0, 2], Cm[1, 2])
        assert mixed.i2(ca, cc, *a2) == pytest.approx(_mp(f2, a2), rel=1e-12, abs=1e-300)
        assert mixed.j2(ca, cc, *a2) == pytest.approx(_mp(fj, a2), rel=1e-12)
        assert mixed.i3(ca, cc, *a3) == pytest.approx(_mp(f3, a3), rel=1e-12, abs=1e-14)


def _g_mp(act, x):
    if act == "erf":
        return mpmath.erf(x / mpmath.sqrt(2))
    if act == "linear":
        return x
    return max(x, mpmath.mpf(0))


@pytest.mark.slow
@pytest.mark.parametrize("act_a, act_b", [p for p in PAIRS if p[0] < p[1]])
def test_mixed_i2_derivation_vs_2d_quadrature(act_a, act_b, rng):
    """The derived I2 (Price + oddness argument) against an mpmath quadrature of E[g_a(u_a) E[g_b(u_b) | u_a]]:
    u_a = sqrt(C_aa) x, and given x, u_b ~ N(m, s^2) with m = rho sqrt(C_bb) x, s^2 = C_bb (1 - rho^2), whose
    conditional means are elementary (linear m; ReLU m Phi(m/s) + s phi(m/s); erf(u/sqrt 2): erf(m / sqrt(2 (1 + s^2))))."""
    f = sp.lambdify(si.ARGS["i2"], si.mixed_i2(act_a, act_b), "mpmath")
    for Cm in _points(rng, 2, 3):
        sa, sb = math.sqrt(Cm[0, 0]), math.sqrt(Cm[1, 1])
        rho = Cm[0, 1] / (sa * sb)
        with mpmath.workdps(20):
            s = mpmath.mpf(sb) * mpmath.sqrt(1 - mpmath.mpf(rho) ** 2)

            def given(m):
                if act_b == "linear":
                    return m
                if act_b == "relu":
                    return m * mpmath.ncdf(m / s) + s * mpmath.npdf(m / s)
                return mpmath.erf(m / mpmath.sqrt(2 * (1 + s * s)))

            def integrand(x):
                return _g_mp(act_a, sa * x) * mpmath.npdf(x) * given(rho * sb * x)

            want = mpmath.quad(integrand, [-mpmath.inf, 0, mpmath.inf])  # split at the ReLU kink of g_a
            assert float(want) == pytest.approx(
                float(f(mpmath.mpf(Cm[0, 0]), mpmath.mpf(Cm[1, 1]), mpmath.mpf(Cm[0, 1]))), rel=1e-10, abs=1e-14
            )


@pytest.mark.parametrize("act_ab", ["erf", "linear"])
@pytest.mark.parametrize("act_c, act_d", [(c, d) for c in ACTS for d in ACTS])
def test_mixed_i4_tilted_kernels_equal_the_derivation(act_ab, act_c, act_d, rng):
    """numba mixed.i4 with erf or linear derivative fields == the tilted-measure derivation at 10 random covariances, 1e-12."""
    f = sp.lambdify(si.ARGS["i4"], si.mixed_i4_tilted(act_ab, act_c, act_d), "mpmath")
    codes = (_code(act_ab), _code(act_ab), _code(act_c), _code(act_d))
    for Cm in _points(rng, 4, 10):
        args = (Cm[0, 0], Cm[1, 1], Cm[2, 2], Cm[3, 3], Cm[0, 1], Cm[0, 2], Cm[0, 3], Cm[1, 2], Cm[1, 3], Cm[2, 3])
        assert mixed.i4(*codes, *args) == pytest.approx(_mp(f, args), rel=1e-12, abs=1e-14)


def test_same_activation_derivation_is_the_single_activation_one():
    for a in ACTS:
        assert si.mixed_i2(a, a) == si.starting_i2(a)
    with pytest.raises(ValueError, match="act_ab must be"):
        si.mixed_i4_tilted("relu", "erf", "erf")
