"""statmech: statistical mechanics of online learning in two-layer networks.

Teacher-student learning curves from the order-parameter ODEs, finite-N SGD
simulations, and the generalisation error of pruned networks (Acharyya et al.,
arXiv 2006.16617). See the README for a tour.
"""

from statmech.core import numba_cache as _numba_cache  # noqa: F401  (first: numba reads the cache directory at decoration)
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.generalisation import eps_g, test_loss
from statmech.ode.integrator import IntegrateResult, integrate

__version__ = "0.1.0"
__all__ = ["State", "Weights", "eps_g", "test_loss", "integrate", "IntegrateResult", "__version__"]
