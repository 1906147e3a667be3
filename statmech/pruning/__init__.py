"""Pruning in the N -> infinity limit: the pruned network's eps_g for every scheme (docs/theory/pruning.md).

Public API (plain data in and out):

- ``SCHEMES``, ``NODE_SCHEMES``, ``EDGE_SCHEMES``, ``NODE_KERNELS``,
  ``IMPORTANCE_SCORES``, ``REWEIGHTS``: the names of ``statmech.core.vocabulary``.
- Scheme objects (``statmech.pruning.schemes``): ``RandomNode()``,
  ``ImportanceNode(score, ties)``, ``DPPNode(kernel, beta, eps, jitter)``,
  ``RandomEdge()``, ``ImportanceEdge()``, ``DPPEdge(edge_kernel)``;
  ``scheme_from_name(name, **options)`` refuses an option the scheme does not take.
- ``pruned_error(state, scheme, budget, *, reweight=...)`` -> ``PrunedError``
  (expected eps_g, standard error, exact flag, the distribution over kept sets
  and the copies of each teacher unit they keep); ``budget`` a ``Budget`` (keep
  k units, a fraction c, or e edges per unit, with N), an int k or a float c.
- ``node_state(state, kept, v=None)``, ``edge_state(state, scheme, c)``: the
  pruned order parameters as a ``State``; ``edge.edge_overlaps(Q, R, c, scheme)``
  array version; ``rescale_rows`` (the paper pipeline's Q_ii = 1 step).
- ``Budget`` and ``budgets``: e = round((kN + k - K)/K) edges per unit, keep
  fractions, parameter fractions.
- ``claims(state)``, ``idealised_phase_diagram``, ``trained_phase_diagram``,
  ``z_crit_c2``: the paper's claims C1-C3 as computations.

Edge schemes other than random rest on a WORKING HYPOTHESIS: a weight
coordinate (w_1j, ..., w_Kj, w*_1j, ...) is Gaussian with covariance
[[Q, R], [R^T, T]] (docs/theory/pruning.md). The finite-N code tests it on real weights.
"""

from statmech.core import budgets
from statmech.core.budgets import (
    Budget,
    edge_parameter_fraction,
    edges_per_unit,
    keep_fraction_for_nodes,
    node_parameter_fraction,
)
from statmech.core.vocabulary import EDGE_SCHEMES, IMPORTANCE_SCORES, NODE_KERNELS, NODE_SCHEMES, REWEIGHTS, SCHEMES
from statmech.pruning import reweight, schemes
from statmech.pruning.reweight import EDGE_LSQ_NOTE
from statmech.pruning.schemes import (
    DPPEdge,
    DPPNode,
    ImportanceEdge,
    ImportanceNode,
    RandomEdge,
    RandomNode,
    Scheme,
    as_scheme,
    scheme_from_name,
    schemes_with,
)
from statmech.pruning.theory import edge, node
from statmech.pruning.theory.claims import (
    CLAIMS,
    claims,
    idealised_copies_distribution,
    idealised_errors,
    idealised_phase_diagram,
    idealised_state,
    trained_phase_diagram,
    z_crit_c2,
)
from statmech.pruning.theory.errors import (
    PrunedError,
    edge_state,
    node_distribution,
    node_state,
    pruned_error,
    pruned_error_series,
    rescale_rows,
)

__all__ = [
    "SCHEMES",
    "NODE_SCHEMES",
    "EDGE_SCHEMES",
    "NODE_KERNELS",
    "IMPORTANCE_SCORES",
    "REWEIGHTS",
    "EDGE_LSQ_NOTE",
    "Budget",
    "Scheme",
    "RandomNode",
    "ImportanceNode",
    "DPPNode",
    "RandomEdge",
    "ImportanceEdge",
    "DPPEdge",
    "scheme_from_name",
    "as_scheme",
    "schemes_with",
    "PrunedError",
    "pruned_error",
    "pruned_error_series",
    "node_state",
    "edge_state",
    "node_distribution",
    "rescale_rows",
    "edges_per_unit",
    "keep_fraction_for_nodes",
    "node_parameter_fraction",
    "edge_parameter_fraction",
    "CLAIMS",
    "claims",
    "idealised_state",
    "idealised_copies_distribution",
    "idealised_errors",
    "idealised_phase_diagram",
    "trained_phase_diagram",
    "z_crit_c2",
    "budgets",
    "edge",
    "node",
    "reweight",
    "schemes",
]
