"""Vectorised erf sums (private helpers of statmech/integrals/erf.py) against independent routes.

- ``_asin_fast`` (branch-free polynomial asin) against math.asin (glibc, < 1 ulp) on a dense
  grid over [-1, 1] (endpoints, the |x| = 1/2 branch switch, tiny and subnormal arguments) and
  against mpmath at 40 digits; safe_asin's clamping rule and NaN propagation;
- ``_i2_matrix``, ``_i3_weighted``, ``_i4_weighted`` against plain loops over the scalar kernels
  (math.asin based), for pair counts that are and are not multiples of the SIMD padding (8);
- NaN (not silent garbage) for a covariance that is not positive semi-definite.
"""

import math

import mpmath
import numpy as np
import pytest
from conftest import random_covariance
from numba import njit

from statmech.integrals import erf


@njit(fastmath=erf._FASTMATH, error_model="numpy")  # the flags of the production loops
def _asin_all(x, out):
    for j in range(x.shape[0]):
        out[j] = erf._asin_fast(x[j])


def _fast_asin(x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _asin_all(x, out)
    return out


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_asin_fast_vs_math_asin_dense_grid():
    """<= 3 ulp everywhere (2 measured: the pi/2 - 2u step of the |x| >= 1/2 branch)."""
    half = np.nextafter(0.5, 0.0)
    x = np.concatenate(
        [
            np.linspace(-1.0, 1.0, 2_000_001),  # endpoints included
            half + np.arange(-64, 64) * 2.0**-54,  # the branch switch
            np.nextafter(1.0, 0.0) - np.arange(512) * 2.0**-53,  # the last doubles below 1
            np.logspace(-320, -1, 2000),  # tiny, subnormal
        ]
    )
    x = np.concatenate([x, -x])
    want = np.array([math.asin(v) for v in x])
    got = _fast_asin(x)
    assert np.all(np.isfinite(got))
    assert _ulps(got, want).max() <= 3.0
    assert got[x == 1.0][0] == math.pi / 2 and got[x == -1.0][0] == -math.pi / 2
    assert np.all(np.signbit(got) == np.signbit(x))


def test_asin_fast_vs_mpmath():
    """Against 40-digit asin: <= 3 ulp (math.asin itself is within 1 ulp)."""
    x = np.random.default_rng(7).uniform(-1.0, 1.0, 4000)
    mpmath.mp.dps = 40
    want = np.array([float(mpmath.asin(mpmath.mpf(v))) for v in x])
    assert _ulps(_fast_asin(x), want).max() <= 3.0


def test_asin_fast_clamping_rule_and_nan():
    """safe_asin's rule: |x| up to 1 + 1e-9 is clamped to +-1; beyond it, and NaN, give NaN."""
    x = np.array([1.0 + 5e-10, -1.0 - 5e-10, 1.0 + 2e-9, -1.0 - 2e-9, 1.5, np.inf, -np.inf, np.nan])
    got = _fast_asin(x)
    assert got[0] == math.pi / 2 and got[1] == -math.pi / 2
    assert np.all(np.isnan(got[2:]))
    want = [erf.i2(0.0, 0.0, v) for v in x]  # the scalar kernel: (2/pi) safe_asin(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


# ---------------------------------------------------- sums vs scalar kernels
@njit
def _ref_sums(C, K, w):
    """Plain loops over the scalar kernels; also sum |terms| for the tolerance."""
    n = C.shape[0]
    S3 = np.zeros((K, n))
    S4 = np.zeros((K, K))
    A4 = np.zeros((K, K))
    for i in range(K):
        for b in range(n):
            for c in range(n):
                if w[c] != 0.0:
                    S3[i, b] += w[c] * erf.i3(C[i, i], C[b, b], C[c, c], C[i, b], C[i, c], C[b, c])
        for k in range(K):
            for c in range(n):
                for d in range(n):
                    t = (
                        w[c]
                        * w[d]
                        * erf.i4(
                            C[i, i], C[k, k], C[c, c], C[d, d], C[i, k], C[i, c], C[i, d], C[k, c], C[k, d], C[c, d]
                        )
                    )
                    S4[i, k] += t
                    A4[i, k] += abs(t)
    I2 = np.empty((n, n))
    for a in range(n):
        for b in range(n):
            I2[a, b] = erf.i2(C[a, a], C[b, b], C[a, b])
    return I2, S3, S4, A4


def _fast_sums(C, K, w):
    n = C.shape[0]
    I2, S3, S4 = np.empty((n, n)), np.empty((K, n)), np.empty((K, K))
    erf._i2_matrix(C, I2)
    erf._i3_weighted(C, K, w, S3)
    erf._i4_weighted(C, K, w, S4)
    return I2, S3, S4


@pytest.mark.parametrize("K, M", [(1, 0), (1, 2), (4, 1), (6, 2), (15, 3), (20, 5)])
@pytest.mark.parametrize("scale", [0.2, 1.0, 4.0])
def test_vectorised_sums_vs_scalar_kernels(K, M, scale, rng):
    """Each I4 term differs by a few ulp of its asin and of its argument (the argument is
    regrouped), so a sum may differ by ~1e-15 of the sum of |terms|: 1e-13 leaves room.
    K = 15 gives 120 pairs (no padding), the others pad; scale 4 puts most asin arguments
    in the |x| > 1/2 branch. One zero weight exercises the skipped-weight path of I3."""
    n = K + M
    C = random_covariance(rng, n, scale=scale)
    w = rng.standard_normal(n)
    w[n // 2] = 0.0
    I2, S3, S4 = _fast_sums(C, K, w)
    rI2, rS3, rS4, A4 = _ref_sums(C, K, w)
    np.testing.assert_allclose(I2, rI2, rtol=0, atol=1e-14)  # |I2| < 1, a few ulp
    assert np.array_equal(I2, I2.T)
    A3 = np.abs(rS3).max() + 1.0
    np.testing.assert_allclose(S3, rS3, rtol=0, atol=1e-13 * A3)
    assert np.all(np.abs(S4 - rS4) <= 1e-13 * A4)
    assert np.array_equal(S4, S4.T)


def test_vectorised_sums_nan_for_non_psd_covariance():
    """An impossible correlation (|C_02| > sqrt(C_00 C_22)) must give NaN where the scalar kernels do."""
    C = np.array([[1.0, 0.3, 2.5, 0.1], [0.3, 1.0, 0.2, 0.0], [2.5, 0.2, 1.0, 0.4], [0.1, 0.0, 0.4, 1.0]])
    w = np.array([0.7, -1.1, 1.3, 0.9])
    K = 3
    I2, S3, S4 = _fast_sums(C, K, w)
    rI2, rS3, rS4, _ = _ref_sums(C, K, w)
    assert np.isnan(S4).any()
    for got, want in ((I2, rI2), (S3, rS3), (S4, rS4)):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-12, atol=1e-12)
