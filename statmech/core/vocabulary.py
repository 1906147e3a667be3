"""The names every layer, command, sweep configuration and file uses: each spelled once, here.

Schemes (docs/architecture.md): three node schemes (keep k of the K hidden units) and
three edge schemes (keep a fraction of every unit's incoming weights), each
random, by importance (magnitude) or by a k-DPP. DPP node kernels
(docs/theory/pruning.md), DPP edge kernels, importance scores, reweighting methods
after pruning, activations g(u) and the two finite-N pruning pipelines.

Everything else refers to these constants, so a name changes in one place and a
typo is a NameError rather than a silently unmatched string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "RANDOM_NODE",
    "IMPORTANCE_NODE",
    "DPP_NODE",
    "RANDOM_EDGE",
    "IMPORTANCE_EDGE",
    "DPP_EDGE",
    "NODE_SCHEMES",
    "EDGE_SCHEMES",
    "SCHEMES",
    "ALL",
    "LINEAR_PREACTIVATION",
    "LINEAR_ACTIVATION",
    "GAUSSIAN",
    "NODE_KERNELS",
    "DATA_KERNEL",
    "DIAGONAL_KERNEL",
    "EDGE_KERNELS",
    "ABS_V",
    "ABS_V_SQRTQ",
    "SIGNED_V",
    "IMPORTANCE_SCORES",
    "TIES_AVERAGE",
    "TIES_LOWEST_INDEX",
    "TIES",
    "NO_REWEIGHT",
    "FUSE_PREACTIVATION",
    "FUSE_ACTIVATION",
    "OPTIMAL_READOUT",
    "EDGE_LSQ",
    "REWEIGHTS",
    "NODE_REWEIGHTS",
    "EDGE_REWEIGHTS",
    "ERF",
    "LINEAR",
    "RELU",
    "ACTIVATIONS",
    "OUTPUT_SCALES",
    "INITIALISATIONS",
    "PAPER_PIPELINE",
    "CLEAN_PIPELINE",
    "PIPELINE_NAMES",
    "is_node_scheme",
    "is_edge_scheme",
    "check_choice",
    "parse_schemes",
    "parse_reweights",
    "split_names",
]

# ---------------------------------------------------------------- schemes
RANDOM_NODE = "random-node"
IMPORTANCE_NODE = "importance-node"
DPP_NODE = "dpp-node"
RANDOM_EDGE = "random-edge"
IMPORTANCE_EDGE = "importance-edge"
DPP_EDGE = "dpp-edge"
NODE_SCHEMES = (RANDOM_NODE, IMPORTANCE_NODE, DPP_NODE)
EDGE_SCHEMES = (RANDOM_EDGE, IMPORTANCE_EDGE, DPP_EDGE)
SCHEMES = NODE_SCHEMES + EDGE_SCHEMES
ALL = "all"  # every scheme, wherever a list of schemes is asked for

# --------------------------------------------------- DPP kernels (docs/theory/pruning.md, 6.2)
LINEAR_PREACTIVATION = "linear-preactivation"  # L = Q (N -> infinity) or (1/P) sum lambda lambda^T: the paper's
LINEAR_ACTIVATION = "linear-activation"  # L = I2 of the student fields, or (1/P) sum g g^T
GAUSSIAN = "gaussian"  # L_ij = exp(-beta E[(g_i - g_j)^2]) + eps delta_ij (Diversity Networks)
NODE_KERNELS = (LINEAR_PREACTIVATION, LINEAR_ACTIVATION, GAUSSIAN)
DATA_KERNEL = "data"  # unit i's edge kernel diag(w_i) (X^T X / P) diag(w_i)
DIAGONAL_KERNEL = "diagonal"  # its white-input limit diag(w_i^2)
EDGE_KERNELS = (DATA_KERNEL, DIAGONAL_KERNEL)

# ------------------------------------------------------- importance-node scores
ABS_V = "abs-v"  # |v_i|
ABS_V_SQRTQ = "abs-v-sqrtq"  # |v_i| sqrt(Q_ii)
SIGNED_V = "signed-v"  # v_i itself (the paper code's quirk)
IMPORTANCE_SCORES = (ABS_V, ABS_V_SQRTQ, SIGNED_V)
TIES_AVERAGE = "average"  # exact ties averaged over every tie-breaking choice
TIES_LOWEST_INDEX = "lowest-index"  # lower index first
TIES = (TIES_AVERAGE, TIES_LOWEST_INDEX)

# ----------------------------------------------------- reweighting after pruning
NO_REWEIGHT = "none"
FUSE_PREACTIVATION = "fuse-preactivation"  # node fusion by least squares on the pre-activations (G = Q)
FUSE_ACTIVATION = "fuse-activation"  # node fusion on the activations (G = I2)
OPTIMAL_READOUT = "optimal-readout"  # the second layer re-fitted to the pruned first layer
EDGE_LSQ = "edge-lsq"  # removed part of each pre-activation regressed on the kept inputs
REWEIGHTS = (NO_REWEIGHT, FUSE_PREACTIVATION, FUSE_ACTIVATION, OPTIMAL_READOUT, EDGE_LSQ)
NODE_REWEIGHTS = (NO_REWEIGHT, FUSE_PREACTIVATION, FUSE_ACTIVATION, OPTIMAL_READOUT)
EDGE_REWEIGHTS = (NO_REWEIGHT, OPTIMAL_READOUT, EDGE_LSQ)

# ------------------------------------------------------------------ activations
ERF = "erf"  # g(u) = erf(u / sqrt 2)
LINEAR = "linear"
RELU = "relu"
ACTIVATIONS = (ERF, LINEAR, RELU)

# ---------------------------------------- output scaling phi = (1/s_K) sum_i v_i g(lambda_i)
# "1": s_K = 1 (the paper's); "sqrt": s_K = sqrt(K); "K": s_K = K (the teacher likewise with M)
OUTPUT_SCALES = ("1", "sqrt", "K")

# ---------------------------------------------- initial conditions (named as Goldt et al.'s nn2pp)
INITIALISATIONS = ("random", "small", "informed", "denoise")

# ------------------------------------------------- finite-N pruning pipelines
PAPER_PIPELINE = "paper"
CLEAN_PIPELINE = "clean"
PIPELINE_NAMES = (PAPER_PIPELINE, CLEAN_PIPELINE)


def is_node_scheme(name: str) -> bool:
    return name in NODE_SCHEMES


def is_edge_scheme(name: str) -> bool:
    return name in EDGE_SCHEMES


def check_choice(what: str, value: object, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else ValueError naming ``what``, the value and the choices."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}; got {value!r}")
    return value


def split_names(value: str | Iterable[Any], what: str) -> list[Any]:
    """A comma-separated string or a sequence -> list of (stripped) names."""
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    try:
        return list(value)
    except TypeError:
        raise ValueError(f"{what} must be a name, a comma-separated string or a list of names; got {value!r}") from None


def parse_schemes(schemes: str | Iterable[Any]) -> tuple[str, ...]:
    """``"all"``, one name, a comma-separated string or a sequence of names (or ``all``) -> tuple of scheme names.

    Scheme objects (``statmech.pruning.schemes``) pass through as their names.
    """
    names = [getattr(s, "name", s) for s in split_names(schemes, "schemes")]
    if not names:
        raise ValueError(f"schemes must be {ALL!r} or names from {', '.join(SCHEMES)}; got an empty list")
    out: list[str] = []
    for s in names:
        for t in SCHEMES if s == ALL else (check_choice("scheme", s, SCHEMES + (ALL,)),):
            if t not in out:
                out.append(t)
    return tuple(out)


def parse_reweights(reweights: str | Iterable[str], allowed: Iterable[str] = REWEIGHTS) -> tuple[str, ...]:
    """One reweighting name, a comma-separated string or a sequence -> tuple of names from ``allowed``."""
    names = split_names(reweights, "reweight")
    if not names:
        raise ValueError(f"reweight must name at least one of {', '.join(allowed)}")
    allowed = tuple(allowed)
    out: list[str] = []
    for r in names:
        if r in REWEIGHTS and r not in allowed:
            raise ValueError(f"reweight {r!r} is not available here; choose from {', '.join(allowed)}")
        check_choice("reweight", r, allowed)
        if r not in out:
            out.append(r)
    return tuple(out)
