"""Gaussian integrals with an activation per field: student fields g, teacher fields g*.

For jointly Gaussian zero-mean fields u ~ N(0, C), each field x with its own
activation g_x in {erf(u/sqrt 2), u, max(0, u)} (codes of ``kernels``):

- I2(a,b) = E[g_a(u_a) g_b(u_b)], J2(a,b) = E[g_a'(u_a) g_b'(u_b)];
- I3(a,b,c) = E[g_a'(u_a) u_b g_c(u_c)];
- I4(a,b,c,d) = E[g_a'(u_a) g_b'(u_b) g_c(u_c) g_d(u_d)].

When every field involved has the same activation the single-activation
kernels of ``kernels`` are called, so those values are bit-for-bit unchanged.
Otherwise (docs/theory/mixed_integrals.md):

- two different activations: I2(a,b) = C_ab J2(a,b) with J2(a,b) = m_erf h, where
  m_erf = sqrt(2/pi) / sqrt(1 + C_ee) for the erf field e (1 without one) and h = 1/2
  if one of them is ReLU (1 otherwise): E[g_b] and E[g_a''] vanish and Stein's lemma
  gives I2 = C_ab E[g_a' g_b'], the erf' factor tilts the Gaussian (its mass is m_erf)
  and a step of a zero-mean field has probability 1/2;
- I3(a,b,c) = C_ab E[g_a'' g_c] + C_bc J2(a,c) (Stein's lemma on u_b), with
  E[g_a'' g_c] = -C_ac J2(a,c) / (1 + C_aa) for erf a (Price: 2 dI2/dC_aa) and 0 for
  linear or ReLU a (E[g_c | u_a = 0] = 0 for odd g_c);
- I4 with an erf derivative field: g_e'(u) = sqrt(2/pi) exp(-u^2/2) tilts the
  measure (mass m_erf, the other fields stay Gaussian, covariance by Woodbury), so
  I4 reduces to I2 or to the ReLU case under the tilted covariance (Saad & Solla 1995
  for the erf-erf form);
- I4 with step derivatives (ReLU): erf(u_c/sqrt 2) = 2 P(xi < u_c) - 1 with an
  independent xi ~ N(0, 1) turns erf into a step of the field c' = u_c - xi
  (variance 1 + C_cc), ReLU is u s(u); Stein's lemma then reduces everything to
  orthant probabilities of at most three fields (closed forms, Sheppard) except
  E[s_a s_b erf_c erf_d], which needs the four-field orthant probability
  :func:`orthant4`: Plackett's identity integrated along R(t) = t R + (1 - t) I by the
  path integral of ``relu.i4`` (``relu.price_path``; abs. error ~1e-13).

A ReLU field entering through g' needs a positive variance (NaN otherwise, as ``relu``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from statmech.integrals import erf, kernels, relu
from statmech.integrals.erf import safe_asin
from statmech.integrals.kernels import ERF, LINEAR, RELU

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# 64 ulps: the smallest 1 - rho^2 that float64 covariance entries resolve (see _steps)
COLLINEAR_RTOL = 64.0 * 2.220446049250313e-16
TWO_PI = 2.0 * math.pi


@njit(cache=True)
def mean_gprime(act: int, caa: float) -> float:
    """E[g'(u)] for u ~ N(0, C_aa): erf sqrt(2/pi) / sqrt(1 + C_aa), linear 1, ReLU 1/2."""
    if act == ERF:
        return SQRT_2_OVER_PI / math.sqrt(1.0 + caa)
    if act == LINEAR:
        return 1.0
    return 0.5


@njit(cache=True)
def i2(act_a: int, act_b: int, caa: float, cbb: float, cab: float) -> float:
    """E[g_a(u_a) g_b(u_b)]; different activations: C_ab J2(a, b) (Stein's lemma, see the module)."""
    if act_a == act_b:
        return kernels.i2(act_a, caa, cbb, cab)
    return cab * j2(act_a, act_b, caa, cbb, cab)


@njit(cache=True)
def j2(act_a: int, act_b: int, caa: float, cbb: float, cab: float) -> float:
    """E[g_a'(u_a) g_b'(u_b)]; different activations: m_erf h (module docstring), NaN for a ReLU of zero variance."""
    if act_a == act_b:
        return kernels.j2(act_a, caa, cbb, cab)
    if (act_a == RELU and not caa > 0.0) or (act_b == RELU and not cbb > 0.0):
        return math.nan
    return mean_gprime(act_a, caa) * mean_gprime(act_b, cbb)


@njit(cache=True)
def i3(act_a: int, act_c: int, caa: float, cbb: float, ccc: float, cab: float, cac: float, cbc: float) -> float:
    """E[g_a'(u_a) u_b g_c(u_c)] = C_ab E[g_a'' g_c] + C_bc J2(a, c) (Stein's lemma on u_b)."""
    if act_a == act_c:
        return kernels.i3(act_a, caa, cbb, ccc, cab, cac, cbc)
    jac = j2(act_a, act_c, caa, ccc, cac)
    if act_a == ERF:
        return jac * (cbc - cab * cac / (1.0 + caa))
    return jac * cbc


# ------------------------------------------------------ orthant probabilities
@njit(cache=True)
def orthant4(
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
    """P(u_a > 0, u_b > 0, u_c > 0, u_d > 0) = 1/16 + int_0^1 sum_p rho_p phi_p(t) P2_p(t) dt.

    Plackett (1954): dP4/drho_p = phi2(0, 0; rho_p) P(complement > 0 | pair p = 0), integrated
    along R(t) = t R + (1 - t) I by ``relu.price_path``, the path integral of ``relu.i4``
    (exact limits for repeated fields; abs. error ~1e-13). Needs positive variances.
    """
    return 0.0625 + relu.price_path(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd, False)


@njit(cache=True)
def _orthant(G, st, n):
    """P(u_j > 0 for the n fields j = st[:n]) under covariance G: closed forms up to three fields."""
    if n == 0:
        return 1.0
    if n == 1:
        return 0.5
    if n == 2:
        x, y = st[0], st[1]
        return 0.25 + safe_asin(G[x, y] / math.sqrt(G[x, x] * G[y, y])) / TWO_PI
    if n == 3:
        x, y, z = st[0], st[1], st[2]
        sxy = safe_asin(G[x, y] / math.sqrt(G[x, x] * G[y, y]))
        sxz = safe_asin(G[x, z] / math.sqrt(G[x, x] * G[z, z]))
        syz = safe_asin(G[y, z] / math.sqrt(G[y, y] * G[z, z]))
        return 0.125 + (sxy + sxz + syz) / (2.0 * TWO_PI)
    a, b, c, d = st[0], st[1], st[2], st[3]
    return orthant4(G[a, a], G[b, b], G[c, c], G[d, d], G[a, b], G[a, c], G[a, d], G[b, c], G[b, d], G[c, d])


@njit(cache=True)
def _given(G, j):
    """Covariance of the fields given u_j = 0 (Schur complement)."""
    n = G.shape[0]
    out = np.empty((n, n))
    gjj = G[j, j]
    for x in range(n):
        f = G[x, j] / gjj
        for y in range(n):
            out[x, y] = G[x, y] - f * G[j, y]
    return out


@njit(cache=True)
def _without(st, n, j):
    out = np.empty(4, dtype=np.int64)
    m = 0
    for q in range(n):
        if st[q] != j:
            out[m] = st[q]
            m += 1
    return out


@njit(cache=True)
def _e_u_steps(G, x, st, n):
    """E[u_x prod_j s(u_j)] = sum_j G_xj p_j(0) P(others > 0 | u_j = 0) (Stein's lemma)."""
    total = 0.0
    for q in range(n):
        j = st[q]
        if G[x, j] == 0.0:
            continue
        total += G[x, j] * INV_SQRT_2PI / math.sqrt(G[j, j]) * _orthant(_given(G, j), _without(st, n, j), n - 1)
    return total


@njit(cache=True)
def _e_uu_steps(G, x, y, st, n):
    """E[u_x u_y prod_j s(u_j)] = G_xy P(all > 0) + sum_j G_xj p_j(0) E[u_y prod_{l != j} s_l | u_j = 0]."""
    total = G[x, y] * _orthant(G, st, n)
    for q in range(n):
        j = st[q]
        if G[x, j] == 0.0:
            continue
        total += G[x, j] * INV_SQRT_2PI / math.sqrt(G[j, j]) * _e_u_steps(_given(G, j), y, _without(st, n, j), n - 1)
    return total


@njit(cache=True)
def _steps(G, idx, m):
    """The distinct step fields among idx[:m]: s(u_x) s(u_y) = s(u_x) when u_y = lambda u_x, lambda > 0.

    Returns (fields, count, zero): zero when two of them are opposite (s(u) s(-u) = 0).
    Two fields coincide when C_xx C_yy - C_xy^2 <= COLLINEAR_RTOL C_xx C_yy: inputs rounded at
    relative eps_mach leave 1 - rho^2 uncertain at that order, and conditioning on one of two such
    fields would leave the other a variance of rounding size (a division by zero).
    """
    st = np.empty(4, dtype=np.int64)
    n = 0
    for q in range(m):
        y = idx[q]
        dup = False
        for r in range(n):
            x = st[r]
            if G[x, x] * G[y, y] - G[x, y] * G[x, y] <= COLLINEAR_RTOL * (G[x, x] * G[y, y]):
                if G[x, y] < 0.0:
                    return st, 0, True
                dup = True
                break
        if not dup:
            st[n] = y
            n += 1
    return st, n, False


@njit(cache=True)
def _i4_steps(act_c, act_d, caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd):
    """E[s(u_a) s(u_b) g_c(u_c) g_d(u_d)]: ``relu.i4`` for two ReLU fields c, d, else the reduction below.

    Fields 0..3 = a, b, c, d and 4, 5 = c' = u_c - xi_c, d' = u_d - xi_d (erf = 2 s(c') - 1);
    ReLU = u s(u); Stein's lemma on the linear factors (module docstring).
    """
    if act_c == RELU and act_d == RELU:
        return relu.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    if act_c < act_d:  # order: ReLU, linear, erf
        act_c, act_d = act_d, act_c
        ccc, cdd = cdd, ccc
        cac, cad = cad, cac
        cbc, cbd = cbd, cbc
    if act_c == RELU and not ccc > 0.0:
        return 0.0
    G = np.empty((6, 6))
    G[0, 0], G[1, 1], G[2, 2], G[3, 3] = caa, cbb, ccc, cdd
    G[0, 1], G[0, 2], G[0, 3], G[1, 2], G[1, 3], G[2, 3] = cab, cac, cad, cbc, cbd, ccd
    G[4, 4], G[5, 5] = 1.0 + ccc, 1.0 + cdd
    G[0, 4], G[1, 4], G[2, 4], G[3, 4] = cac, cbc, ccc, ccd
    G[0, 5], G[1, 5], G[2, 5], G[3, 5] = cad, cbd, ccd, cdd
    G[4, 5] = ccd
    for x in range(6):
        for y in range(x):
            G[x, y] = G[y, x]
    idx = np.empty(4, dtype=np.int64)
    idx[0], idx[1] = 0, 1
    if act_c == RELU:
        idx[2] = 2
        st, n, zero = _steps(G, idx, 3)
        if zero:
            return 0.0
        if act_d == LINEAR:  # u_c u_d s_a s_b s_c
            return _e_uu_steps(G, 2, 3, st, n)
        # erf d: u_c s_a s_b s_c (2 s_d' - 1)
        plain = _e_u_steps(G, 2, st, n)
        st[n] = 5
        return 2.0 * _e_u_steps(G, 2, st, n + 1) - plain
    st, n, zero = _steps(G, idx, 2)
    if zero:
        return 0.0
    if act_c == LINEAR:
        if act_d == LINEAR:
            return _e_uu_steps(G, 2, 3, st, n)
        plain = _e_u_steps(G, 2, st, n)  # u_c s_a s_b (2 s_d' - 1)
        st[n] = 5
        return 2.0 * _e_u_steps(G, 2, st, n + 1) - plain
    # erf c, erf d: s_a s_b (2 s_c' - 1)(2 s_d' - 1)
    p_ab = _orthant(G, st, n)
    st[n] = 4
    p_abc = _orthant(G, st, n + 1)
    st[n] = 5
    p_abd = _orthant(G, st, n + 1)
    st[n + 1] = 4
    p_abcd = _orthant(G, st, n + 2)
    return 4.0 * p_abcd - 2.0 * p_abc - 2.0 * p_abd + p_ab


@njit(cache=True)
def _tilt(cee, cxe, cye, cxy):
    """Covariance of (u_x, u_y) under the measure tilted by exp(-u_e^2 / 2): C_xy - C_xe C_ye / (1 + C_ee)."""
    return cxy - cxe * cye / (1.0 + cee)


@njit(cache=True)
def i4(
    act_a: int,
    act_b: int,
    act_c: int,
    act_d: int,
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
    """E[g_a'(u_a) g_b'(u_b) g_c(u_c) g_d(u_d)], an activation per field (module docstring for the forms)."""
    if act_a == act_b and act_c == act_a and act_d == act_a:
        return kernels.i4(act_a, caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    if (act_a == RELU and not caa > 0.0) or (act_b == RELU and not cbb > 0.0):
        return math.nan
    if act_a == LINEAR and act_b == LINEAR:
        return i2(act_c, act_d, ccc, cdd, ccd)
    if act_a == ERF and act_b == ERF:
        # tilt by both: mass J2(a, b) = (2/pi) / sqrt(L4), (c, d) with the Woodbury covariance S
        l4 = (1.0 + caa) * (1.0 + cbb) - cab * cab
        ia, ib, iab = (1.0 + cbb) / l4, (1.0 + caa) / l4, -cab / l4
        scc = ccc - (ia * cac * cac + 2.0 * iab * cac * cbc + ib * cbc * cbc)
        sdd = cdd - (ia * cad * cad + 2.0 * iab * cad * cbd + ib * cbd * cbd)
        scd = ccd - (ia * cac * cad + iab * (cac * cbd + cad * cbc) + ib * cbc * cbd)
        return erf.j2(caa, cbb, cab) * i2(act_c, act_d, max(scc, 0.0), max(sdd, 0.0), scd)
    if act_a == RELU and act_b == RELU:
        return _i4_steps(act_c, act_d, caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    # different derivative activations: put the erf (else the linear) one in slot a
    if act_b == ERF or (act_b == LINEAR and act_a == RELU):
        act_a, act_b = act_b, act_a
        caa, cbb = cbb, caa
        cac, cbc = cbc, cac
        cad, cbd = cbd, cad
    if act_a == LINEAR:  # g_a' = 1, b ReLU: s_b s_b = s_b
        return _i4_steps(act_c, act_d, cbb, cbb, ccc, cdd, cbb, cbc, cbd, cbc, cbd, ccd)
    # a erf: tilt by u_a (mass E[g_a']); b linear -> I2 of (c, d), b ReLU -> the step case with a = b
    m = mean_gprime(ERF, caa)
    scc = max(_tilt(caa, cac, cac, ccc), 0.0)
    sdd = max(_tilt(caa, cad, cad, cdd), 0.0)
    scd = _tilt(caa, cac, cad, ccd)
    if act_b == LINEAR:
        return m * i2(act_c, act_d, scc, sdd, scd)
    sbb = _tilt(caa, cab, cab, cbb)
    sbc = _tilt(caa, cab, cac, cbc)
    sbd = _tilt(caa, cab, cad, cbd)
    return m * _i4_steps(act_c, act_d, sbb, sbb, scc, sdd, sbb, sbc, sbd, sbc, sbd, scd)
