"""Gaussian integrals for the linear activation g(u) = u (g' = 1): polynomials.

E[u_a u_b] = C_ab gives every one of them directly (docs/theory/integrals.md).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def i2(caa: float, cbb: float, cab: float) -> float:
    """E[u_a u_b] = C_ab."""
    return cab


@njit(cache=True)
def j2(caa: float, cbb: float, cab: float) -> float:
    """E[1 * 1] = 1."""
    return 1.0


@njit(cache=True)
def i3(caa: float, cbb: float, ccc: float, cab: float, cac: float, cbc: float) -> float:
    """E[1 * u_b u_c] = C_bc."""
    return cbc


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
    """E[1 * 1 * u_c u_d] = C_cd."""
    return ccd
