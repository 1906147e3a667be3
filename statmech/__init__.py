"""statmech: statistical mechanics of online learning in two-layer networks.

Teacher-student learning curves from the order-parameter ODEs, finite-N SGD
simulations, and the generalisation error of pruned networks (Acharyya et al.,
arXiv 2006.16617). See the README for a tour.
"""
from . import _numba_cache  # noqa: F401  (first: numba reads the cache directory at decoration)
from .state import State
from .weights import Weights
from .generalisation import eps_g, test_loss
from .ode import integrate, IntegrateResult

__version__ = "0.1.0"
__all__ = ["State", "Weights", "eps_g", "test_loss", "integrate", "IntegrateResult", "__version__"]
