"""Learning curves in the N -> infinity limit: the order-parameter ODEs.

- ``terms``: the right-hand sides (equations of motion) as numba kernels;
- ``steppers``: forward Euler and Dormand-Prince 5(4) with its step control, and
  their options as stepper objects (``Euler``, ``Dopri5``);
- ``integrator``: the one driver ``solve`` behind :func:`integrate` (and the masked
  retraining), and the result type;
- ``masked``: retraining a pruned network whose weights are masked;
- ``generalisation``: eps_g of a state.
"""

from statmech.ode.generalisation import eps_g, eps_g_arrays, test_loss
from statmech.ode.integrator import (
    METHODS,
    Dopri5,
    Euler,
    IntegrateResult,
    SavedStates,
    default_save_at,
    integrate,
    pack,
    rhs,
    rhs_into,
    unpack,
)
from statmech.ode.masked import MAX_RANDOM_MASK_UNITS, MaskedState, integrate_masked

__all__ = [
    "integrate",
    "IntegrateResult",
    "SavedStates",
    "default_save_at",
    "METHODS",
    "Dopri5",
    "Euler",
    "rhs",
    "rhs_into",
    "pack",
    "unpack",
    "eps_g",
    "eps_g_arrays",
    "test_loss",
    "integrate_masked",
    "MaskedState",
    "MAX_RANDOM_MASK_UNITS",
]
