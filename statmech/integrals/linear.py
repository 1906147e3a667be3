"""Gaussian integrals for the linear activation g(u) = u (g' = 1): polynomials.

E[u_a u_b] = C_ab gives every one of them directly (docs/theory/integrals.md).
"""

from numba import njit


@njit(cache=True)
def i2(caa, cbb, cab):
    """E[u_a u_b] = C_ab."""
    return cab


@njit(cache=True)
def j2(caa, cbb, cab):
    """E[1 * 1] = 1."""
    return 1.0


@njit(cache=True)
def i3(caa, cbb, ccc, cab, cac, cbc):
    """E[1 * u_b u_c] = C_bc."""
    return cbc


@njit(cache=True)
def i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd):
    """E[1 * 1 * u_c u_d] = C_cd."""
    return ccd
