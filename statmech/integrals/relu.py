"""Gaussian integrals for g(u) = max(0, u) (ReLU, g' = step function).

I2 is the arc-cosine kernel of degree one (Cho & Saul 2009); J2 is the
orthant probability of two fields; I3 follows from Stein's lemma,
E[u_b F(u)] = sum_j C_bj E[dF/du_j] with F = step(u_a) relu(u_c):
I3 = C_ab E[delta(u_a) relu(u_c)] + C_bc E[step(u_a) step(u_c)]. The variances
C_aa of the fields entering g' or g must be positive.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from statmech.integrals.erf import safe_asin

INV_2PI = 1.0 / (2.0 * math.pi)


@njit(cache=True)
def _cos_angle(caa, cbb, cab):
    return cab / math.sqrt(caa * cbb)


@njit(cache=True)
def i2(caa: float, cbb: float, cab: float) -> float:
    """E[relu(u_a) relu(u_b)] = sqrt(C_aa C_bb) (sin t + (pi - t) cos t) / (2 pi), cos t = rho_ab.

    A field of zero variance is identically 0, and relu(0) = 0: then I2 = 0 exactly.
    """
    if caa <= 0.0 or cbb <= 0.0:
        return 0.0
    rho = _cos_angle(caa, cbb, cab)
    t = 0.5 * math.pi - safe_asin(rho)
    return math.sqrt(caa * cbb) * INV_2PI * (math.sin(t) + (math.pi - t) * rho)


@njit(cache=True)
def j2(caa: float, cbb: float, cab: float) -> float:
    """P(u_a > 0, u_b > 0) = 1/4 + asin(rho_ab) / (2 pi); NaN for a zero variance (step(0) undefined, as I4)."""
    if not (caa > 0.0 and cbb > 0.0):
        return math.nan
    return 0.25 + INV_2PI * safe_asin(_cos_angle(caa, cbb, cab))


@njit(cache=True)
def i3(caa: float, cbb: float, ccc: float, cab: float, cac: float, cbc: float) -> float:
    """E[step(u_a) u_b relu(u_c)] = C_ab sqrt(C_aa C_cc - C_ac^2) / (2 pi C_aa) + C_bc J2(a, c).

    NaN when C_aa = 0 (step(0) undefined, as I4); 0 when C_cc = 0 (relu(u_c) = 0).
    """
    if not caa > 0.0:
        return math.nan
    if ccc <= 0.0:
        return 0.0
    det = caa * ccc - cac * cac
    if det < 0.0:
        det = 0.0
    return cab * math.sqrt(det) * INV_2PI / caa + cbc * j2(caa, ccc, cac)


# --- I4: one-dimensional integral along a Price path ----------------------
#
# Standardise z_j = u_j / sqrt(C_jj) (correlation matrix R) and write
# I4 = sqrt(C_cc C_dd) G(R), G(R) = E[s(z0) s(z1) z2^+ z3^+] with slots
# (0, 1, 2, 3) = (a, b, c, d). Along R(t) = t R + (1 - t) I, Price's theorem
# gives dG/dt = sum_{i<j} rho_ij E_t[d_i d_j F]; every such expectation is a
# Gaussian density at 0 times a closed-form orthant quantity of the law
# conditioned on z_i = z_j = 0, except d_2 d_3 F = s0 s1 s2 s3 (the 4-D orthant
# probability P4), which Plackett's identity P4' = sum_p rho_p phi2_p P2_p and
# an integration by parts turn into the same kind of term. Hence
#   G = 1/(8 pi) + rho_23/16 + int_0^1 g(t) dt,
#   g = rho_01 phi_01 A_01 + sum_{k=0,1; q=2,3} rho_kq sum_{x != k} S^k_{q'x} phi_kx P_kx
#       + rho_23 (1 - t) sum_p rho_p phi_p P_p,
# where, at correlation t rho: phi_p = 1/(2 pi sqrt(1 - t^2 rho_p^2)) (density of
# the pair p at 0), P_p = 1/4 + asin(partial correlation of the other two given
# p)/(2 pi), A_01 = E[z2^+ z3^+ | z0 = z1 = 0] (arc-cosine kernel of the
# conditional law), S^k_{q'x} = t rho_q'x - t^2 rho_kq' rho_kx (covariance given
# z_k = 0, q' the other relu slot; Stein's lemma on z_q'). Derived here from
# Price (1958) and Plackett (1954); tests/integrals/test_integrals.py checks it against
# Stein's lemma + an independent P4 quadrature and Monte Carlo.
# All conditional quantities are ratios of minors of R(t); those are polynomials in t and tc = 1 - t with
# non-negative coefficients (the principal minors of R), so they stay accurate
# when R is singular (repeated or perfectly correlated fields, which the ODE
# produces) and no regularisation is needed: the path never reaches t = 1.
# The integrand's singularities are all at real t outside (0, 1) (zeros of the
# principal minors of R(t)); with t = 1/(1 + exp(-w)) they lie on Im w = +-pi,
# so the trapezoidal rule in w converges geometrically whatever the
# conditioning (a near-singular minor mu only moves a singularity to
# Re w = log(1/mu)); tails are compressed double-exponentially beyond the
# last possible singularity. Node tables for a few such cut-offs are built
# once at import. When every non-zero principal minor is large (all
# singularities far from [0, 1]), Gauss-Legendre in s with t = 1 - s^2 (which
# also makes the 1/sqrt(1 - t) of a repeated field analytic) needs only 16 or
# 24 nodes; thresholds measured on 2400 random covariances with repeated-index
# patterns, worst error 3e-13 (16 nodes, mu >= 0.03) and 6e-15 (24, mu >= 0.01).
# price_path carries this integral; with the integrand dP4/dt alone it gives the
# orthant probability P4 of ``statmech.integrals.mixed``.

_I4_H = 0.35  # trapezoidal step in x; error ~ exp(-c / h), c ~ 10 measured: ~1e-14 relative
_I4_XL = -2.5  # left singularities of the integrand have Re w >= -log 4 = -1.39
_I4_XR0 = 2.5  # right cut-offs x_r = 2.5, 4.5, ..., 40.5 >= log(1/mu) + 2.5
_I4_NTAB = 20
# smallest-minor bound mu above which 16 / 24 Gauss-Legendre nodes suffice
_I4_MU16, _I4_MU24 = 3e-2, 1e-2
_I4_GL = ((_I4_MU16, 16), (_I4_MU24, 24))


def _i4_nodes():
    """Quadrature tables (t, 1 - t, weight) for the trapezoidal and Gauss-Legendre rules."""

    nmax = 0
    tabs = []
    for k in range(_I4_NTAB):
        xr = _I4_XR0 + 2.0 * k
        # tails: 3.5 left (t < e^-38), 4.5 right (sqrt(tc) < e^-45, for a 1/sqrt(tc) endpoint)
        xs = np.arange(_I4_XL - 3.5, xr + 4.5 + 1e-9, _I4_H)
        w = xs + np.exp(xs - xr) - np.exp(_I4_XL - xs)  # w = psi(x)
        dw = 1.0 + np.exp(xs - xr) + np.exp(_I4_XL - xs)  # psi'(x)
        # t = 1 / (1 + e^-w), tc = 1 - t computed separately (accurate near t = 1)
        e = np.exp(-np.abs(w))
        t = np.where(w >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        tc = np.where(w >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
        wt = _I4_H * dw * t * tc  # dt = t tc dw
        keep = wt > 1e-300
        tabs.append((t[keep], tc[keep], wt[keep]))
        nmax = max(nmax, int(keep.sum()))
    for _, n in _I4_GL:
        x, w = np.polynomial.legendre.leggauss(n)
        sn, ws = 0.5 * (1.0 + x), 0.5 * w
        tabs.append((1.0 - sn * sn, sn * sn, 2.0 * sn * ws))  # t = 1 - s^2, dt = 2 s ds
    ntab = len(tabs)
    T = np.zeros((ntab, nmax))
    TC = np.zeros((ntab, nmax))
    WT = np.zeros((ntab, nmax))
    N = np.zeros(ntab, dtype=np.int64)
    for k, (t, tc, wt) in enumerate(tabs):
        n = t.shape[0]
        T[k, :n], TC[k, :n], WT[k, :n], N[k] = t, tc, wt, n
    return T, TC, WT, N


_I4_T, _I4_TC, _I4_W, _I4_N = _i4_nodes()
INV_8PI = 1.0 / (8.0 * math.pi)


@njit(cache=True, inline="always")
def _d2(cii, cjj, cij):
    """1 - rho_ij^2 from raw entries (exactly 0 for a repeated field)."""
    v = (cii * cjj - cij * cij) / (cii * cjj)
    return v if v > 0.0 else 0.0


@njit(cache=True, inline="always")
def _rho(cii, cjj, cij):
    r = cij / math.sqrt(cii * cjj)
    if r > 1.0:
        r = 1.0
    elif r < -1.0:
        r = -1.0
    return r


@njit(cache=True, inline="always")
def _pos(x):
    return x if x > 0.0 else 0.0


@njit(cache=True, inline="always")
def _clip(x, bound2):
    """x clipped to [-sqrt(bound2), sqrt(bound2)] (Cauchy-Schwarz for minors of a PSD matrix)."""
    b = math.sqrt(bound2)
    if x > b:
        return b
    if x < -b:
        return -b
    return x


@njit(cache=True)
def price_path(
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
    relu_cd: bool,
) -> float:
    """int_0^1 g(t) dt along R(t) = t R + (1 - t) I, R the correlation matrix of the four fields.

    ``relu_cd``: g of G(R) = E[s(z_a) s(z_b) z_c^+ z_d^+] (comment above, for :func:`i4`); otherwise
    g = sum_p rho_p phi_p P_p = dP4/dt, Plackett (1954), for the orthant probability P4 = 1/16 + int g.
    Minors, clamps and node choice are shared (repeated fields are exact limits). Needs positive variances.
    """
    # correlations (slots 0=a, 1=b, 2=c, 3=d)
    r01 = _rho(caa, cbb, cab)
    r02 = _rho(caa, ccc, cac)
    r03 = _rho(caa, cdd, cad)
    r12 = _rho(cbb, ccc, cbc)
    r13 = _rho(cbb, cdd, cbd)
    r23 = _rho(ccc, cdd, ccd)
    # 2x2 principal minors 1 - rho^2
    d01 = _d2(caa, cbb, cab)
    d02 = _d2(caa, ccc, cac)
    d03 = _d2(caa, cdd, cad)
    d12 = _d2(cbb, ccc, cbc)
    d13 = _d2(cbb, cdd, cbd)
    d23 = _d2(ccc, cdd, ccd)
    # Y(k; m, n) = rho_mn - rho_km rho_kn: covariance of (m, n) given slot k
    y0_12 = r12 - r01 * r02
    y0_13 = r13 - r01 * r03
    y0_23 = r23 - r02 * r03
    y1_02 = r02 - r01 * r12
    y1_03 = r03 - r01 * r13
    y1_23 = r23 - r12 * r13
    y2_01 = r01 - r02 * r12
    y2_03 = r03 - r02 * r23
    y2_13 = r13 - r12 * r23
    y3_01 = r01 - r03 * r13
    y3_02 = r02 - r03 * r23
    y3_12 = r12 - r13 * r23
    # keep the minors consistent with a PSD matrix (|Y(k;m,n)| <= sqrt(D_km D_kn)):
    # rounding in nearly repeated fields must not produce a non-integrable integrand
    y0_12 = _clip(y0_12, d01 * d02)
    y0_13 = _clip(y0_13, d01 * d03)
    y0_23 = _clip(y0_23, d02 * d03)
    y1_02 = _clip(y1_02, d01 * d12)
    y1_03 = _clip(y1_03, d01 * d13)
    y1_23 = _clip(y1_23, d12 * d13)
    y2_01 = _clip(y2_01, d02 * d12)
    y2_03 = _clip(y2_03, d02 * d23)
    y2_13 = _clip(y2_13, d12 * d23)
    y3_01 = _clip(y3_01, d03 * d13)
    y3_02 = _clip(y3_02, d03 * d23)
    y3_12 = _clip(y3_12, d13 * d23)
    # 3x3 principal minors (pivot on the first slot), clamped by their 2x2 minors
    e3 = _pos(d12 * d13 - y1_23 * y1_23)  # {1,2,3}
    e2 = _pos(d02 * d03 - y0_23 * y0_23)  # {0,2,3}
    e1 = _pos(d01 * d03 - y0_13 * y0_13)  # {0,1,3}
    e0 = _pos(d01 * d02 - y0_12 * y0_12)  # {0,1,2}
    e3 = min(e3, d12, d13, d23)
    e2 = min(e2, d02, d03, d23)
    e1 = min(e1, d01, d03, d13)
    e0 = min(e0, d01, d02, d12)
    # off-diagonal 3x3 minors X_p = det R[{i,j,m},{i,j,n}] for pair p = (i, j), (m, n) its complement
    x01 = d01 * y0_23 - y0_13 * y0_12
    x02 = d02 * y0_13 - y0_23 * y0_12
    x03 = d03 * y0_12 - y0_23 * y0_13
    x12 = d12 * y1_03 - y1_23 * y1_02
    x13 = d13 * y1_02 - y1_23 * y1_03
    x23 = d23 * y2_01 - y2_13 * y2_03
    x01 = _clip(x01, e0 * e1)
    x02 = _clip(x02, e0 * e2)
    x03 = _clip(x03, e1 * e2)
    x12 = _clip(x12, e0 * e3)
    x13 = _clip(x13, e1 * e3)
    x23 = _clip(x23, e2 * e3)
    # 4x4 determinant by Desnanot-Jacobi on the best-conditioned pair, clamped
    # by Fischer's inequality so that it is exactly 0 when a minor is
    best = d01
    e4 = (e0 * e1 - x01 * x01) / d01 if d01 > 0.0 else 0.0
    if d02 > best:
        best = d02
        e4 = (e0 * e2 - x02 * x02) / d02
    if d03 > best:
        best = d03
        e4 = (e1 * e2 - x03 * x03) / d03
    if d12 > best:
        best = d12
        e4 = (e0 * e3 - x12 * x12) / d12
    if d13 > best:
        best = d13
        e4 = (e1 * e3 - x13 * x13) / d13
    if d23 > best:
        best = d23
        e4 = (e2 * e3 - x23 * x23) / d23
    e4 = _pos(min(e4, e0, e1, e2, e3, d01 * d23, d02 * d13, d03 * d12))
    # smallest positive minor -> lower bound on the smallest eigenvalue mu of a
    # principal submatrix, mu >= det / lambda_max^(n-1) with lambda_max bounded by
    # Gershgorin -> where the singularity closest to t = 1 sits (Re w = log(1/mu))
    gmax = 1.0 + max(
        abs(r01) + abs(r02) + abs(r03),
        abs(r01) + abs(r12) + abs(r13),
        abs(r02) + abs(r12) + abs(r23),
        abs(r03) + abs(r13) + abs(r23),
    )
    mu = 1.0
    for v in (d01, d02, d03, d12, d13, d23):
        if v > 0.0 and v / gmax < mu:
            mu = v / gmax
    for v in (e0, e1, e2, e3):
        if v > 0.0 and v / (gmax * gmax) < mu:
            mu = v / (gmax * gmax)
    if e4 > 0.0 and e4 / (gmax * gmax * gmax) < mu:
        mu = e4 / (gmax * gmax * gmax)
    if mu >= _I4_MU16:
        k = _I4_NTAB  # Gauss-Legendre, 16 nodes
    elif mu >= _I4_MU24:
        k = _I4_NTAB + 1  # Gauss-Legendre, 24 nodes
    else:
        k = int(math.ceil(0.5 * (math.log(1.0 / mu) - _I4_XR0 + 2.5)))
        if k < 0:
            k = 0
        if k >= _I4_NTAB:
            k = _I4_NTAB - 1
    s2 = d01 + d02 + d03 + d12 + d13 + d23
    s3 = e0 + e1 + e2 + e3
    total = 0.0
    TWO_PI = 2.0 * math.pi
    for q in range(_I4_N[k]):
        t = _I4_T[k, q]
        tc = _I4_TC[k, q]
        t2 = t * t
        t3 = t2 * t
        ttc = t * tc * tc
        tc2 = tc * tc
        tc3 = tc2 * tc
        base2 = tc * (1.0 + t)
        # principal minors of R(t) = t R + tc I
        D01 = t2 * d01 + base2
        D02 = t2 * d02 + base2
        D03 = t2 * d03 + base2
        D12 = t2 * d12 + base2
        D13 = t2 * d13 + base2
        D23 = t2 * d23 + base2
        E4 = t2 * t2 * e4 + t3 * tc * s3 + t2 * tc2 * s2 + 4.0 * t * tc3 + tc2 * tc2
        # conditional covariance of the complement pair given each pair, times D_p
        X01 = t3 * x01 + t2 * tc * (y0_23 + y1_23) + ttc * r23
        X02 = t3 * x02 + t2 * tc * (y0_13 + y2_13) + ttc * r13
        X03 = t3 * x03 + t2 * tc * (y0_12 + y3_12) + ttc * r12
        X12 = t3 * x12 + t2 * tc * (y1_03 + y2_03) + ttc * r03
        X13 = t3 * x13 + t2 * tc * (y1_02 + y3_02) + ttc * r02
        X23 = t3 * x23 + t2 * tc * (y2_01 + y3_01) + ttc * r01
        # asin of the partial correlation = atan2(X_p, sqrt(D_p det R(t)))
        s01 = math.sqrt(D01)
        s02 = math.sqrt(D02)
        s03 = math.sqrt(D03)
        s12 = math.sqrt(D12)
        s13 = math.sqrt(D13)
        s23 = math.sqrt(D23)
        sq4 = math.sqrt(E4)
        a01 = math.atan2(X01, s01 * sq4)
        # F_p = phi2(0, 0; r_p(t)) * P(complement > 0 | pair = 0)
        F01 = (0.25 + a01 / TWO_PI) / (TWO_PI * s01)
        F02 = (0.25 + math.atan2(X02, s02 * sq4) / TWO_PI) / (TWO_PI * s02)
        F03 = (0.25 + math.atan2(X03, s03 * sq4) / TWO_PI) / (TWO_PI * s03)
        F12 = (0.25 + math.atan2(X12, s12 * sq4) / TWO_PI) / (TWO_PI * s12)
        F13 = (0.25 + math.atan2(X13, s13 * sq4) / TWO_PI) / (TWO_PI * s13)
        F23 = (0.25 + math.atan2(X23, s23 * sq4) / TWO_PI) / (TWO_PI * s23)
        # dP4/dt = sum_p rho_p phi_p P_p (Plackett)
        dp4 = r01 * F01 + r02 * F02 + r03 * F03 + r12 * F12 + r13 * F13 + r23 * F23
        if relu_cd:
            # (a, b): phi2 * E[z_c^+ z_d^+ | z_a = z_b = 0] (arc-cosine kernel of the conditional law)
            g = r01 * (s01 * sq4 + (0.5 * math.pi + a01) * X01) / (TWO_PI * TWO_PI * D01 * s01)
            # (k, q) with k in {a, b}, q in {c, d}: E[delta(z_k) s s z_q'^+] by Stein's lemma on z_q'
            g += r02 * ((t * r13 - t2 * r01 * r03) * F01 + (t * r23 - t2 * r02 * r03) * F02 + D03 * F03)
            g += r03 * ((t * r12 - t2 * r01 * r02) * F01 + D02 * F02 + (t * r23 - t2 * r03 * r02) * F03)
            g += r12 * ((t * r03 - t2 * r01 * r13) * F01 + (t * r23 - t2 * r12 * r13) * F12 + D13 * F13)
            g += r13 * ((t * r02 - t2 * r01 * r12) * F01 + D12 * F12 + (t * r23 - t2 * r13 * r12) * F13)
            # (c, d): rho_cd P4(t), integrated by parts: rho_cd (1 - t) P4'(t)
            g += r23 * tc * dp4
        else:
            g = dp4
        total += _I4_W[k, q] * g
    return total


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
    """E[step(u_a) step(u_b) relu(u_c) relu(u_d)] = sqrt(C_cc C_dd) (1/(8 pi) + rho_cd/16 + int_0^1 g dt).

    Price's theorem along R(t) = t R + (1 - t) I plus Plackett's identity for the
    4-D orthant term (derivation in the comment above; docs/theory/integrals.md);
    trapezoidal rule after t = 1/(1 + e^-w), abs. error ~1e-13 sqrt(C_cc C_dd).
    Repeated / perfectly correlated fields are exact limits. Needs C_aa, C_bb > 0
    (step(0) is undefined; NaN otherwise); a field c or d of zero variance gives 0.
    """
    if not (caa > 0.0 and cbb > 0.0):
        return math.nan
    if ccc <= 0.0 or cdd <= 0.0:
        return 0.0
    total = price_path(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd, True)
    return math.sqrt(ccc * cdd) * (INV_8PI + _rho(ccc, cdd, ccd) / 16.0 + total)
