"""Closed forms of the Gaussian integrals for g(u) = erf(u / sqrt 2).

Saad & Solla (1995), Biehl & Schwarze (1995); as collected in the Theory pages (docs/theory/)
section 3. Arguments are covariance entries ``cab = C[a, b]``. These scalar
kernels are the only place the erf formulas live; the vectorised sums below
(used by ``statmech.integrals.sums`` for the equations of motion) regroup the
same formulas and are tested against these kernels.
The symbolic module (``statmech.symbolic``) re-derives and checks them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TWO_OVER_PI = 2.0 / math.pi
FOUR_OVER_PI2 = 4.0 / math.pi**2
# asin arguments that exceed 1 by rounding only (a == b fields) are clamped;
# anything larger is left to become NaN so a non-PSD covariance is detected.
ASIN_SLACK = 1e-9


@njit(cache=True, inline="always")
def safe_asin(x: float) -> float:
    if x > 1.0 and x < 1.0 + ASIN_SLACK:
        x = 1.0
    elif x < -1.0 and x > -1.0 - ASIN_SLACK:
        x = -1.0
    return math.asin(x)


@njit(cache=True)
def i2(caa: float, cbb: float, cab: float) -> float:
    """E[g(u_a) g(u_b)] = (2/pi) asin(C_ab / sqrt((1+C_aa)(1+C_bb)))."""
    return TWO_OVER_PI * safe_asin(cab / math.sqrt((1.0 + caa) * (1.0 + cbb)))


@njit(cache=True)
def j2(caa: float, cbb: float, cab: float) -> float:
    """E[g'(u_a) g'(u_b)] = (2/pi) / sqrt((1+C_aa)(1+C_bb) - C_ab^2)."""
    return TWO_OVER_PI / math.sqrt((1.0 + caa) * (1.0 + cbb) - cab * cab)


@njit(cache=True)
def i3(caa: float, cbb: float, ccc: float, cab: float, cac: float, cbc: float) -> float:
    """E[g'(u_a) u_b g(u_c)] = (2/pi) (C_bc (1+C_aa) - C_ab C_ac) / ((1+C_aa) sqrt(L3))."""
    l3 = (1.0 + caa) * (1.0 + ccc) - cac * cac
    return TWO_OVER_PI / math.sqrt(l3) * (cbc * (1.0 + caa) - cab * cac) / (1.0 + caa)


@njit(cache=True)
def i4(
    caa: float,
    cbb: float,
    ccc: float,
    cdd: float,
    cab: float,
    cac: float,
    cad: float,
    cbc: float,
    cbd: float,
    ccd: float,
) -> float:
    """E[g'(u_a) g'(u_b) g(u_c) g(u_d)] = (4/pi^2) asin(L0 / sqrt(L1 L2)) / sqrt(L4)."""
    l4 = (1.0 + caa) * (1.0 + cbb) - cab * cab
    l0 = l4 * ccd - cbc * cbd * (1.0 + caa) - cac * cad * (1.0 + cbb) + cab * cac * cbd + cab * cad * cbc
    l1 = l4 * (1.0 + ccc) - cbc * cbc * (1.0 + caa) - cac * cac * (1.0 + cbb) + 2.0 * cab * cac * cbc
    l2 = l4 * (1.0 + cdd) - cbd * cbd * (1.0 + caa) - cad * cad * (1.0 + cbb) + 2.0 * cab * cad * cbd
    return FOUR_OVER_PI2 / math.sqrt(l4) * safe_asin(l0 / math.sqrt(l1 * l2))


# --- Vectorised sums for the right-hand side (private) ---------------------
# The same closed forms once more, laid out so that LLVM vectorises the inner
# loops (contiguous 1-D trips, no branches, a polynomial asin). fastmath keeps
# IEEE NaN/inf semantics (no 'nnan'/'ninf': a NaN must still flag a non-PSD
# covariance) and allows only FMA contraction, reciprocal division and
# signed-zero freedom; error_model="numpy" lets x/0 give inf/NaN instead of a
# branch to a ZeroDivisionError (which blocks vectorisation).
# tests/test_fast_kernels.py checks them against the scalar kernels above.
_FASTMATH = {"contract", "arcp", "nsz"}
_FASTMATH_SUM = _FASTMATH | {"reassoc"}  # plus reordered sums, for vectorised dot products

# asin(s) = s + s z P(z), z = s^2 in [0, 1/4]: P is the degree-12 Chebyshev
# fit of (asin(sqrt z) - sqrt z) / z^1.5 on [0, 1/4] (mpmath.chebyfit, 60
# digits; fit error 1.5e-17), rounded to double.
_A0 = 0.16666666666666669
_A1 = 0.07499999999998433
_A2 = 0.04464285714635543
_A3 = 0.030381944138531247
_A4 = 0.02237217294214989
_A5 = 0.017352392720869973
_A6 = 0.013971212973552933
_A7 = 0.011479177415184906
_A8 = 0.01032281435018578
_A9 = 0.005457506718640358
_A10 = 0.01740087944269402
_A11 = -0.014851887071247204
_A12 = 0.028757851367421566
_PI_OVER_2 = math.pi / 2.0


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy", inline="always")
def _asin_fast(x):
    """asin(x) without branches (<= 2 ulp from math.asin), with safe_asin's clamping rule.

    |x| < 1/2: asin(x) = x + x z P(z), z = x^2; otherwise the half-angle identity
    asin(|x|) = pi/2 - 2 asin(sqrt((1 - |x|)/2)) (as in fdlibm/Cephes). |x| > 1 + 1e-9
    and NaN give NaN through the sqrt of a negative (or NaN) number.
    """
    a = abs(x)
    if a > 1.0 and a < 1.0 + ASIN_SLACK:
        a = 1.0
    small = a < 0.5
    z = x * x if small else (1.0 - a) * 0.5
    s = a if small else math.sqrt(z)
    z2 = z * z
    z4 = z2 * z2
    p = (
        ((_A0 + z * _A1) + z2 * (_A2 + z * _A3))
        + z4 * ((_A4 + z * _A5) + z2 * (_A6 + z * _A7))
        + (z4 * z4) * (((_A8 + z * _A9) + z2 * (_A10 + z * _A11)) + z4 * _A12)
    )
    u = s + s * z * p
    r = u if small else _PI_OVER_2 - 2.0 * u
    return math.copysign(r, x)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _i2_matrix(C, out):
    """out[a, b] = (2/pi) asin(C_ab r_a r_b), r_a = (1 + C_aa)^(-1/2): i2 above for all a, b."""
    n = C.shape[0]
    last = n - 1
    for b in range(n):  # the last row holds r (no allocation) until it is computed itself
        out[last, b] = 1.0 / math.sqrt(1.0 + C[b, b])
    for a in range(last):
        ra = out[last, a]
        for b in range(n):
            # C_ab (r_a r_b) rather than (C_ab r_a) r_b keeps out exactly symmetric
            out[a, b] = TWO_OVER_PI * _asin_fast(C[a, b] * (ra * out[last, b]))
    ra = out[last, last]
    for b in range(n):
        out[last, b] = TWO_OVER_PI * _asin_fast(C[last, b] * (ra * out[last, b]))


@njit(cache=True, fastmath=_FASTMATH_SUM, error_model="numpy")
def _i3_weighted(C, K, w, out):
    """out[i, b] = sum_c w_c I3(i, b, c), i < K (i3 above, regrouped).

    With f_ic = w_c (2/pi) / sqrt(L3_ic) / (1 + C_ii) (0 for a zero weight):
    out[i, b] = (1 + C_ii) sum_c f_ic C_bc - C_ib sum_c f_ic C_ic.
    """
    n = C.shape[0]
    f = np.empty(n)
    for i in range(K):
        one_ii = 1.0 + C[i, i]
        g = TWO_OVER_PI / one_ii
        for c in range(n):
            l3 = one_ii * (1.0 + C[c, c]) - C[i, c] * C[i, c]
            f[c] = 0.0 if w[c] == 0.0 else w[c] * g / math.sqrt(l3)
        s = 0.0
        for c in range(n):
            s += f[c] * C[i, c]
        for b in range(n):
            t = 0.0
            for c in range(n):  # C_bc = C_cb: a contiguous dot product
                t += f[c] * C[b, c]
            out[i, b] = one_ii * t - C[i, b] * s


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _i4_weighted(C, K, w, out):
    """out[i, k] = sum_{c,d} w_c w_d I4(i, k, c, d) for students i, k (i4 above, vectorised).

    For a student pair p = (i, k), L0 / sqrt(L1 L2) = R_c R_d C_cd - U_c U_d - V_c V_d:
    (U_c, V_c) = L^T (C_ic, C_kc) / sqrt(L1_c), L L^T = [[1+C_kk, -C_ik], [-C_ik, 1+C_ii]]
    (so U U + V V is the quadratic form of L0), R_c = sqrt(L4 / L1_c). The innermost loop
    runs over the pairs p (contiguous, padded to a multiple of 8) for each c <= d.
    """
    n = C.shape[0]
    P = K * (K + 1) // 2
    Pp = (P + 7) // 8 * 8
    buf = np.empty((3 * n + 7) * Pp)
    U = buf[0 : n * Pp].reshape((n, Pp))
    V = buf[n * Pp : 2 * n * Pp].reshape((n, Pp))
    R = buf[2 * n * Pp : 3 * n * Pp].reshape((n, Pp))
    o = 3 * n * Pp
    acc = buf[o : o + Pp]
    sa = buf[o + Pp : o + 2 * Pp]  # sqrt(1 + C_kk)
    sb = buf[o + 2 * Pp : o + 3 * Pp]  # -C_ik / sqrt(1 + C_kk)
    sv = buf[o + 3 * Pp : o + 4 * Pp]  # sqrt(L4 / (1 + C_kk))
    sl = buf[o + 4 * Pp : o + 5 * Pp]  # sqrt(L4)
    pi = buf[o + 5 * Pp : o + 6 * Pp]  # the pair (i, k), as floats: one allocation in all
    pk = buf[o + 6 * Pp : o + 7 * Pp]
    p = 0
    for i in range(K):
        one_ii = 1.0 + C[i, i]
        for k in range(i, K):
            one_kk = 1.0 + C[k, k]
            cik = C[i, k]
            s = math.sqrt(one_kk)
            t = math.sqrt(one_ii * one_kk - cik * cik)
            pi[p] = i
            pk[p] = k
            sa[p] = s
            sb[p] = -cik / s
            sv[p] = t / s
            sl[p] = t
            acc[p] = 0.0
            p += 1
    for p in range(P, Pp):  # padding pairs: finite values, results discarded
        sa[p] = 1.0
        sb[p] = 0.0
        sv[p] = 1.0
        sl[p] = 1.0
        acc[p] = 0.0
    for c in range(n):
        for p in range(P):
            U[c, p] = C[c, int(pi[p])]
            V[c, p] = C[c, int(pk[p])]
        for p in range(P, Pp):
            U[c, p] = 0.0
            V[c, p] = 0.0
        one_cc = 1.0 + C[c, c]
        for p in range(Pp):
            xh = sa[p] * U[c, p] + sb[p] * V[c, p]
            yh = sv[p] * V[c, p]
            t = sl[p]
            rc = 1.0 / math.sqrt(t * t * one_cc - xh * xh - yh * yh)  # L1_c^(-1/2)
            U[c, p] = xh * rc
            V[c, p] = yh * rc
            R[c, p] = t * rc
    for c in range(n):
        wc = w[c]
        for d in range(c, n):
            f = (1.0 if d == c else 2.0) * wc * w[d]  # c < d counts twice
            ccd = C[c, d]
            for p in range(Pp):
                acc[p] += f * _asin_fast(ccd * R[c, p] * R[d, p] - U[c, p] * U[d, p] - V[c, p] * V[d, p])
    for p in range(P):
        i = int(pi[p])
        k = int(pk[p])
        val = FOUR_OVER_PI2 / sl[p] * acc[p]
        out[i, k] = val
        out[k, i] = val
