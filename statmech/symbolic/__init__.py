"""statmech.symbolic: the Gaussian integrals and the equations of motion derived with sympy.

The single source of truth of the formulas in ``statmech.integrals`` (the
hand-written numba kernels) and ``statmech.ode`` (the numba right-hand side):
:func:`derive` gets J2 and I3 from I2 by Price's theorem and Stein's lemma
(docs/theory/integrals.md), checks the literature I4 of erf (:func:`i4_erf_tilted`,
:func:`i4_price_identities`, :func:`i4_special_cases`), and :func:`equations`
assembles dQ, dR, dv and eps_g (docs/theory/equations.md). tests/symbolic/test_symbolic.py
checks every numba kernel and the numba right-hand side against these
expressions to 1e-12.

sympy is imported here only: ``import statmech`` does not load this subpackage.
"""

from statmech.symbolic.equations import Equations, equations
from statmech.symbolic.integrals import (
    ACTIVATIONS,
    ARGS,
    C,
    Integrals,
    activation_function,
    derive,
    i4_erf_tilted,
    i4_price_identities,
    i4_special_cases,
    j4,
    literature,
    price,
    relu_i4_closed_forms,
    starting_i2,
    tilted_covariance,
)

__all__ = [
    "ACTIVATIONS",
    "ARGS",
    "C",
    "Integrals",
    "activation_function",
    "derive",
    "i4_erf_tilted",
    "i4_price_identities",
    "i4_special_cases",
    "j4",
    "literature",
    "price",
    "relu_i4_closed_forms",
    "starting_i2",
    "tilted_covariance",
    "Equations",
    "equations",
]
