"""Gaussian integrals for g(u) = max(0, u) (ReLU, g' = step function).

I2 is the arc-cosine kernel of degree one (Cho & Saul 2009); J2 is the
orthant probability of two fields; I3 follows from Stein's lemma,
E[u_b F(u)] = sum_j C_bj E[dF/du_j] with F = step(u_a) relu(u_c):
I3 = C_ab E[delta(u_a) relu(u_c)] + C_bc E[step(u_a) step(u_c)]. The variances
C_aa of the fields entering g' or g must be positive.
"""
import math

from numba import njit

from .erf import safe_asin

INV_2PI = 1.0 / (2.0 * math.pi)


@njit(cache=True)
def _cos_angle(caa, cbb, cab):
    return cab / math.sqrt(caa * cbb)


@njit(cache=True)
def i2(caa, cbb, cab):
    """E[relu(u_a) relu(u_b)] = sqrt(C_aa C_bb) (sin t + (pi - t) cos t) / (2 pi), cos t = rho_ab."""
    rho = _cos_angle(caa, cbb, cab)
    t = 0.5 * math.pi - safe_asin(rho)
    return math.sqrt(caa * cbb) * INV_2PI * (math.sin(t) + (math.pi - t) * rho)


@njit(cache=True)
def j2(caa, cbb, cab):
    """P(u_a > 0, u_b > 0) = 1/4 + asin(rho_ab) / (2 pi)."""
    return 0.25 + INV_2PI * safe_asin(_cos_angle(caa, cbb, cab))


@njit(cache=True)
def i3(caa, cbb, ccc, cab, cac, cbc):
    """E[step(u_a) u_b relu(u_c)] = C_ab sqrt(C_aa C_cc - C_ac^2) / (2 pi C_aa) + C_bc J2(a, c)."""
    det = caa * ccc - cac * cac
    if det < 0.0:
        det = 0.0
    return cab * math.sqrt(det) * INV_2PI / caa + cbc * j2(caa, ccc, cac)


@njit(cache=True)
def i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd):
    """E[step(u_a) step(u_b) relu(u_c) relu(u_d)]: not yet implemented."""
    raise NotImplementedError("I4 for ReLU is not implemented yet")
