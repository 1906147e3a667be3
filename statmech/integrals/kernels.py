"""Dispatch of the scalar Gaussian-integral kernels on an activation code.

Activation codes are small integers so that numba-compiled callers can pass
them through: see :data:`ACTIVATIONS`. The formulas themselves live in the
per-activation modules ``erf``, ``linear`` and ``relu`` of this package.
"""

from __future__ import annotations

from numba import njit

from statmech.core import vocabulary
from statmech.integrals import erf, linear, relu

ERF, LINEAR, RELU = 0, 1, 2
ACTIVATIONS = dict(zip(vocabulary.ACTIVATIONS, (ERF, LINEAR, RELU)))  # name -> code, the vocabulary's order


def activation_code(activation: object) -> int:
    """The integer code of an activation name; ``ValueError`` for unknown names."""
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")


@njit(cache=True)
def i2(act: int, caa: float, cbb: float, cab: float) -> float:
    if act == ERF:
        return erf.i2(caa, cbb, cab)
    elif act == LINEAR:
        return linear.i2(caa, cbb, cab)
    return relu.i2(caa, cbb, cab)


@njit(cache=True)
def j2(act: int, caa: float, cbb: float, cab: float) -> float:
    if act == ERF:
        return erf.j2(caa, cbb, cab)
    elif act == LINEAR:
        return linear.j2(caa, cbb, cab)
    return relu.j2(caa, cbb, cab)


@njit(cache=True)
def i3(act: int, caa: float, cbb: float, ccc: float, cab: float, cac: float, cbc: float) -> float:
    if act == ERF:
        return erf.i3(caa, cbb, ccc, cab, cac, cbc)
    elif act == LINEAR:
        return linear.i3(caa, cbb, ccc, cab, cac, cbc)
    return relu.i3(caa, cbb, ccc, cab, cac, cbc)


@njit(cache=True)
def i4(
    act: int,
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
    if act == ERF:
        return erf.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    elif act == LINEAR:
        return linear.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    return relu.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
