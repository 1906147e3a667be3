"""Dispatch of the scalar Gaussian-integral kernels on an activation code.

Activation codes are small integers so that numba-compiled callers can pass
them through: see :data:`ACTIVATIONS`. The formulas themselves live in the
per-activation modules ``erf``, ``linear`` and ``relu`` of this package.
"""

from numba import njit

from statmech.core import vocabulary
from statmech.integrals import erf, linear, relu

ERF, LINEAR, RELU = 0, 1, 2
ACTIVATIONS = dict(zip(vocabulary.ACTIVATIONS, (ERF, LINEAR, RELU)))  # name -> code, the vocabulary's order


def activation_code(activation) -> int:
    """The integer code of an activation name; ``ValueError`` for unknown names."""
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")


@njit(cache=True)
def i2(act, caa, cbb, cab):
    if act == ERF:
        return erf.i2(caa, cbb, cab)
    elif act == LINEAR:
        return linear.i2(caa, cbb, cab)
    return relu.i2(caa, cbb, cab)


@njit(cache=True)
def j2(act, caa, cbb, cab):
    if act == ERF:
        return erf.j2(caa, cbb, cab)
    elif act == LINEAR:
        return linear.j2(caa, cbb, cab)
    return relu.j2(caa, cbb, cab)


@njit(cache=True)
def i3(act, caa, cbb, ccc, cab, cac, cbc):
    if act == ERF:
        return erf.i3(caa, cbb, ccc, cab, cac, cbc)
    elif act == LINEAR:
        return linear.i3(caa, cbb, ccc, cab, cac, cbc)
    return relu.i3(caa, cbb, ccc, cab, cac, cbc)


@njit(cache=True)
def i4(act, caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd):
    if act == ERF:
        return erf.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    elif act == LINEAR:
        return linear.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
    return relu.i4(caa, cbb, ccc, cdd, cab, cac, cad, cbc, cbd, ccd)
