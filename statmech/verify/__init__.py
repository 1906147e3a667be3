"""Counterexample search for claimed inequalities about pruned networks (``statmech verify``).

- Claims (:mod:`statmech.verify.claims`): margins m(state, model, k) >= 0 where
  a claim holds: the paper's ``C1``, ``C2``, ``C3``, ``C3x``; ``monotone:SCHEME``;
  ``reweight:SCHEME:REWEIGHT``; ``random-node-all-kept`` (true by construction);
  ``goldt`` (Goldt et al. 2019's small-noise asymptotic error, approximate);
  or any callable / ``module:function``.
- Families (:mod:`statmech.verify.families`): ``OrderParameterFamily`` (all
  valid states in a box), ``SpecialisedFamily`` (groups of near-copies of the
  teacher units), ``TrainedFamily`` (states along ODE trajectories).
- Search (:mod:`statmech.verify.search`): ``search(claim, family)`` ->
  ``SearchResult`` (minimum margin, arg-min state, evaluations, time, verdict;
  ``save`` writes the arg-min state with its metadata, ``load_counterexample``
  reads it back).
"""

from statmech.verify.claims import (
    CLAIMS,
    Claim,
    ClaimContext,
    as_claim,
    claim_names,
    get_claim,
    goldt_claim,
    monotone_claim,
    paper_claim,
    pruned_eps_g,
    reweight_claim,
)
from statmech.verify.families import (
    PAPER_CONFIGS,
    OrderParameterFamily,
    SpecialisedFamily,
    TrainedConfig,
    TrainedFamily,
    compositions,
)
from statmech.verify.search import METADATA_KEY, SearchResult, load_counterexample, search

__all__ = [
    "CLAIMS",
    "Claim",
    "ClaimContext",
    "as_claim",
    "claim_names",
    "get_claim",
    "goldt_claim",
    "monotone_claim",
    "paper_claim",
    "pruned_eps_g",
    "reweight_claim",
    "PAPER_CONFIGS",
    "OrderParameterFamily",
    "SpecialisedFamily",
    "TrainedConfig",
    "TrainedFamily",
    "compositions",
    "METADATA_KEY",
    "SearchResult",
    "load_counterexample",
    "search",
]
