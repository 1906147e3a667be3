"""Plain data every layer passes around: states, weights, budgets, validation, file I/O.

Nothing here imports another statmech layer. ``numba_cache`` runs first: it
points numba's on-disk cache at a directory keyed by the compiled sources.
"""

from statmech.core import numba_cache  # noqa: F401  (first: numba reads the cache directory at decoration)
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.weights import Weights

__all__ = ["Model", "State", "Weights"]
