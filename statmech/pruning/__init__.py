"""Pruning in the N -> infinity limit: the pruned network's eps_g for every scheme (docs/theory/pruning.md).

Public API (plain data in and out):

- ``SCHEMES`` = ("random-node", "importance-node", "dpp-node", "random-edge",
  "importance-edge", "dpp-edge"); ``NODE_KERNELS``, ``IMPORTANCE_SCORES``,
  ``REWEIGHTS``.
- ``pruned_error(state, scheme, keep=k | keep_fraction=c, ...)`` ->
  ``PruneResult`` (expected eps_g, standard error, exact flag, the distribution
  over kept sets and the copies of each teacher unit they keep).
- ``node_state(state, kept, v=None)``, ``edge_state(state, scheme, c)``: the
  pruned order parameters as a ``State``; ``edge.edge_overlaps(Q, R, c, scheme)``
  array version; ``rescale_rows`` (the paper pipeline's Q_ii = 1 step).
- ``budgets``: e = round((kN + k - K)/K) edges per unit, keep fractions,
  parameter fractions.
- ``claims(state)``, ``idealised_phase_diagram``, ``trained_phase_diagram``,
  ``z_crit_c2``: the paper's claims C1-C3 as computations.

Edge schemes other than random rest on a WORKING HYPOTHESIS: a weight
coordinate (w_1j, ..., w_Kj, w*_1j, ...) is Gaussian with covariance
[[Q, R], [R^T, T]] (docs/theory/pruning.md). The finite-N code tests it on real weights.
"""

from statmech.core import budgets
from statmech.core.budgets import (
    edge_parameter_fraction,
    edges_per_unit,
    keep_fraction_for_nodes,
    node_parameter_fraction,
)
from statmech.pruning import reweight
from statmech.pruning.reweight import EDGE_LSQ_NOTE, REWEIGHTS
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
    EDGE_SCHEMES,
    NODE_SCHEMES,
    SCHEMES,
    PruneResult,
    edge_state,
    node_distribution,
    node_state,
    pruned_error,
    pruned_errors,
    rescale_rows,
)
from statmech.pruning.theory.node import IMPORTANCE_SCORES, NODE_KERNELS

__all__ = [
    "SCHEMES",
    "NODE_SCHEMES",
    "EDGE_SCHEMES",
    "NODE_KERNELS",
    "IMPORTANCE_SCORES",
    "REWEIGHTS",
    "EDGE_LSQ_NOTE",
    "PruneResult",
    "pruned_error",
    "pruned_errors",
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
]
