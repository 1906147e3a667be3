"""Closed forms of the Gaussian integrals for g(u) = erf(u / sqrt 2).

Saad & Solla (1995), Biehl & Schwarze (1995); as collected in theory.md
section 3. Arguments are covariance entries ``cab = C[a, b]``. These scalar
kernels are the only place the erf formulas live (the hoisted weighted sums in
``statmech.integrals.sums`` call them or reuse their pieces, documented there).
The symbolic module (``statmech.symbolic``) re-derives and checks them.
"""
import math

from numba import njit

TWO_OVER_PI = 2.0 / math.pi
FOUR_OVER_PI2 = 4.0 / math.pi**2
# asin arguments that exceed 1 by rounding only (a == b fields) are clamped;
# anything larger is left to become NaN so a non-PSD covariance is detected.
ASIN_SLACK = 1e-9


@njit(cache=True, inline="always")
def safe_asin(x):
    if x > 1.0 and x < 1.0 + ASIN_SLACK:
        x = 1.0
    elif x < -1.0 and x > -1.0 - ASIN_SLACK:
        x = -1.0
    return math.asin(x)


@njit(cache=True)
def i2(caa, cbb, cab):
    """E[g(u_a) g(u_b)] = (2/pi) asin(C_ab / sqrt((1+C_aa)(1+C_bb)))."""
    return TWO_OVER_PI * safe_asin(cab / math.sqrt((1.0 + caa) * (1.0 + cbb)))


@njit(cache=True)
def j2(caa, cbb, cab):
    """E[g'(u_a) g'(u_b)] = (2/pi) / sqrt((1+C_aa)(1+C_bb) - C_ab^2)."""
    return TWO_OVER_PI / math.sqrt((1.0 + caa) * (1.0 + cbb) - cab * cab)


@njit(cache=True)
def i3(caa, cbb, ccc, cab, cac, cbc):
    """E[g'(u_a) u_b g(u_c)] = (2/pi) (C_bc (1+C_aa) - C_ab C_ac) / ((1+C_aa) sqrt(L3))."""
    l3 = (1.0 + caa) * (1.0 + ccc) - cac * cac
    return TWO_OVER_PI / math.sqrt(l3) * (cbc * (1.0 + caa) - cab * cac) / (1.0 + caa)


@njit(cache=True)
def i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd):
    """E[g'(u_a) g'(u_b) g(u_c) g(u_d)] = (4/pi^2) asin(L0 / sqrt(L1 L2)) / sqrt(L4)."""
    l4 = (1.0 + caa) * (1.0 + cbb) - cab * cab
    l0 = (l4 * ccd - cbc * cbd * (1.0 + caa) - cac * cad * (1.0 + cbb)
          + cab * cac * cbd + cab * cad * cbc)
    l1 = l4 * (1.0 + ccc) - cbc * cbc * (1.0 + caa) - cac * cac * (1.0 + cbb) + 2.0 * cab * cac * cbc
    l2 = l4 * (1.0 + cdd) - cbd * cbd * (1.0 + caa) - cad * cad * (1.0 + cbb) + 2.0 * cab * cad * cbd
    return FOUR_OVER_PI2 / math.sqrt(l4) * safe_asin(l0 / math.sqrt(l1 * l2))


# --- Hoisted weighted sums for the equations of motion --------------------
# The same formulas as i3 / i4 above, regrouped so that the parts depending
# only on the pair (i, k) (L4) or on (i, k, c) (L1) are computed once instead
# of once per (c, d). tests/test_integrals.py checks them against i3 / i4.

@njit(cache=True)
def i3_weighted_row(C, i, w, out):
    """out[b] = sum_c w_c I3(i, b, c) for every field b (the erf I3 above, regrouped)."""
    n = C.shape[0]
    one_ii = 1.0 + C[i, i]
    s_b = 0.0  # sum_c f_c C_ic
    for b in range(n):
        out[b] = 0.0
    for c in range(n):
        if w[c] == 0.0:
            continue
        l3 = one_ii * (1.0 + C[c, c]) - C[i, c] * C[i, c]
        f = w[c] * TWO_OVER_PI / (math.sqrt(l3) * one_ii)
        s_b += f * C[i, c]
        for b in range(n):
            out[b] += f * one_ii * C[b, c]
    for b in range(n):
        out[b] -= C[i, b] * s_b


@njit(cache=True)
def i4_weighted_pair(C, i, k, w, x, y, r):
    """sum_{c,d} w_c w_d I4(i, k, c, d) (the erf I4 above, regrouped; x, y, r are scratch)."""
    n = C.shape[0]
    one_ii = 1.0 + C[i, i]
    one_kk = 1.0 + C[k, k]
    cik = C[i, k]
    l4 = one_ii * one_kk - cik * cik
    for c in range(n):
        x[c] = C[i, c]
        y[c] = C[k, c]
        l1 = l4 * (1.0 + C[c, c]) - y[c] * y[c] * one_ii - x[c] * x[c] * one_kk + 2.0 * cik * x[c] * y[c]
        r[c] = 1.0 / math.sqrt(l1)
    total = 0.0
    for c in range(n):
        xc, yc, rc = x[c], y[c], r[c]
        # diagonal term c == d counts once, the pairs c < d twice
        l0 = l4 * C[c, c] - yc * yc * one_ii - xc * xc * one_kk + 2.0 * cik * xc * yc
        acc = 0.5 * w[c] * safe_asin(l0 * rc * rc)
        for d in range(c + 1, n):
            l0 = l4 * C[c, d] - yc * y[d] * one_ii - xc * x[d] * one_kk + cik * (xc * y[d] + x[d] * yc)
            acc += w[d] * safe_asin(l0 * rc * r[d])
        total += 2.0 * w[c] * acc
    return FOUR_OVER_PI2 / math.sqrt(l4) * total
