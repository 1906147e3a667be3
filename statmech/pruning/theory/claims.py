"""The paper's claims as computations (docs/theory/pruning.md).

- C1: DPP node pruning has lower expected eps_g than random node pruning.
- C2: at equal parameters, random edge pruning beats DPP node pruning.
- C3: DPP edge pruning beats every other scheme.

``claims(state)`` evaluates them for one state at every node budget k;
``idealised_phase_diagram`` and ``trained_phase_diagram`` map them over the
redundancy z = K/M and the kept fraction; ``z_crit_c2`` is the boundary of C2
for the idealised specialised student with balanced copies (our derivation).

The idealised specialised student (docs/theory/pruning.md): K = zM units, each an exact
copy of one teacher unit (z copies per teacher), v = vstar/z, T = I. Its
linear node kernels (L = Q or L = I2) have rank M, so a k-DPP with k > M is
taken as the limit of L + jitter I, jitter -> 0: P(S) proportional to
e_r(L[S,S]) over the sets of maximal rank r = min(k, M), i.e. over copy
numbers j (sum k, min(k, M) teachers present) P(j) proportional to
prod_{m: j_m > 0} C(z, j_m) j_m (``idealised_copies_distribution``; the tests
check it against the general code with a small jitter). Importance pruning
ties on this student (all |v_i| equal) and equals random node pruning.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from math import comb
from typing import Any

import numpy as np

from statmech.core.budgets import Budget, check_keep_fraction, keep_fraction_for_nodes
from statmech.core.state import State
from statmech.core.vocabulary import (
    DPP_EDGE,
    DPP_NODE,
    EDGE_SCHEMES,
    ERF,
    IMPORTANCE_EDGE,
    IMPORTANCE_NODE,
    NODE_SCHEMES,
    RANDOM_EDGE,
    RANDOM_NODE,
    SCHEMES,
)
from statmech.ode.integrator import integrate
from statmech.pruning.schemes import DPPNode, ImportanceNode, scheme_from_name
from statmech.pruning.theory import node as _node
from statmech.pruning.theory.errors import N_SAMPLES, pruned_error

__all__ = [
    "phase_diagram_tables",
    "CLAIMS",
    "claims",
    "idealised_state",
    "idealised_copies_distribution",
    "idealised_errors",
    "idealised_phase_diagram",
    "trained_phase_diagram",
    "z_crit_c2",
]

CLAIMS = {
    "C1": "DPP node beats random node",
    "C2": "random edge beats DPP node at equal parameters",
    "C3": "DPP edge beats every other scheme",
    "C3x": "DPP edge beats every scheme except importance edge",
}


def _verdict(a, b, se):
    """'holds' if a < b beyond 3 standard errors (and a relative 1e-10), 'fails' if a > b likewise, else 'tie'."""
    tol = 3.0 * se + 1e-10 * max(abs(a), abs(b), 1e-300)
    if a < b - tol:
        return "holds"
    if a > b + tol:
        return "fails"
    return "tie"


def claims(
    state: State,
    keeps: Iterable[int] | None = None,
    *,
    N: int | None = None,
    activation: str = ERF,
    dpp_node: DPPNode | None = None,
    importance_node: ImportanceNode | None = None,
    rng: np.random.Generator | int | None = None,
    n_samples: int = N_SAMPLES,
) -> dict:
    """C1, C2, C3 for ``state`` at node budgets ``keeps`` (default 1..K-1).

    Edge schemes use the matched fraction c = e/N (``N`` given) or k/K (limit).
    ``dpp_node``, ``importance_node``: the node schemes with their options
    (default ``DPPNode()``, the paper's kernel L = Q, and ``ImportanceNode()``, |v_i|).
    Returns plain data: ``keep``, ``keep_fraction`` lists, ``eps_g`` and
    ``stderr`` {scheme: list}, and ``C1``, ``C2``, ``C3`` lists of
    'holds' / 'fails' / 'tie' (a difference within 3 Monte Carlo standard
    errors), ``C3x`` (C3 without importance edge), and ``C3_beaten_by``: the
    schemes at or below DPP edge.
    """
    K = state.K
    keeps = list(range(1, K)) if keeps is None else [int(k) for k in keeps]
    rng = np.random.default_rng(rng)
    dpp_node = DPPNode() if dpp_node is None else dpp_node
    importance_node = ImportanceNode() if importance_node is None else importance_node
    schemes = {
        RANDOM_NODE: scheme_from_name(RANDOM_NODE),
        IMPORTANCE_NODE: importance_node,
        DPP_NODE: dpp_node,
    }
    out: dict[str, Any] = {
        "keep": keeps,
        "keep_fraction": [],
        "eps_g": {s: [] for s in SCHEMES},
        "stderr": {s: [] for s in SCHEMES},
        "C1": [],
        "C2": [],
        "C3": [],
        "C3x": [],
        "C3_beaten_by": [],
        "params": {
            "N": N,
            "activation": activation,
            "kernel": dpp_node.options()["kernel"],
            "importance": importance_node.score,
        },
    }
    for k in keeps:
        c = keep_fraction_for_nodes(k, K, N)
        out["keep_fraction"].append(c)
        res = {}
        for s in SCHEMES:
            if s in EDGE_SCHEMES:
                r = pruned_error(state, s, Budget(fraction=c), activation=activation)
            else:
                sampled: dict[str, Any] = {} if s == IMPORTANCE_NODE else {"n_samples": n_samples}
                r = pruned_error(
                    state, schemes[s], k, activation=activation, rng=rng, keep_distribution=False, **sampled
                )
            res[s] = r
            out["eps_g"][s].append(r.eps_g)
            out["stderr"][s].append(r.stderr)
        e = {s: res[s].eps_g for s in SCHEMES}
        se = {s: res[s].stderr for s in SCHEMES}
        out["C1"].append(_verdict(e[DPP_NODE], e[RANDOM_NODE], np.hypot(se[DPP_NODE], se[RANDOM_NODE])))
        out["C2"].append(_verdict(e[RANDOM_EDGE], e[DPP_NODE], se[DPP_NODE]))
        others = [s for s in SCHEMES if s != DPP_EDGE]
        v = [_verdict(e[DPP_EDGE], e[s], se[s]) for s in others]
        out["C3"].append(_all(v))
        out["C3x"].append(_all([x for s, x in zip(others, v) if s != IMPORTANCE_EDGE]))
        out["C3_beaten_by"].append([s for s, x in zip(others, v) if x != "holds"])
    return out


def _all(verdicts):
    """'holds' if every verdict holds, 'fails' if any fails, else 'tie'."""
    if all(x == "holds" for x in verdicts):
        return "holds"
    return "fails" if "fails" in verdicts else "tie"


# ------------------------------------------------------------ idealised student
def idealised_state(M: int, z: int, vstar: float = 1.0) -> State:
    """K = zM exact copies (unit i copies teacher i // z), v = vstar / z, T = I (docs/theory/pruning.md)."""
    if isinstance(M, bool) or int(M) != M or M < 1:
        raise ValueError(f"M (teacher units) must be an integer >= 1, got {M!r}")
    if isinstance(z, bool) or int(z) != z or z < 1:
        raise ValueError(f"z (copies per teacher unit) must be an integer >= 1, got {z!r}")
    M, z = int(M), int(z)
    P = np.kron(np.eye(M), np.ones((z, 1)))  # (K, M) copy assignment
    return State(Q=P @ P.T, R=P, T=np.eye(M), v=np.full(M * z, vstar / z), vstar=np.full(M, float(vstar)))


def _copy_vectors(M, z, k):
    return [j for j in itertools.product(range(min(z, k) + 1), repeat=M) if sum(j) == k]


def idealised_copies_distribution(M: int, z: int, keep: int, scheme: str = DPP_NODE) -> dict:
    """{j: P(j)} of the copy numbers kept by random or DPP node pruning of the idealised student.

    random-node (and importance-node, all scores tie): multivariate hypergeometric,
    prod_m C(z, j_m) / C(zM, k). dpp-node (linear kernels, jitter -> 0 limit):
    proportional to prod_{j_m > 0} C(z, j_m) j_m over j with min(k, M) teachers present.
    """
    K = M * z
    if not 1 <= keep <= K:
        raise ValueError(f"keep must be in 1..K={K}, got {keep}")
    js = _copy_vectors(M, z, keep)
    if scheme in (RANDOM_NODE, IMPORTANCE_NODE):
        w = np.array([np.prod([comb(z, x) for x in j]) for j in js], dtype=float)
    elif scheme == DPP_NODE:
        r = min(keep, M)
        w = np.array(
            [np.prod([comb(z, x) * x for x in j if x > 0]) if sum(x > 0 for x in j) == r else 0.0 for j in js],
            dtype=float,
        )
    else:
        raise ValueError(f"scheme must be one of {', '.join(NODE_SCHEMES)}, got {scheme!r}")
    w /= w.sum()
    return {j: float(p) for j, p in zip(js, w) if p > 0}


def idealised_errors(M: int, z: int, vstar: float = 1.0, activation: str = "erf") -> dict:
    """eps_g of every scheme for the idealised student at k = 1..K-1 (c = k/K for edges).

    Node errors per copy vector j come from the general node code (a kept set
    with those copies); edge errors from ``pruned_error`` on the idealised State.
    """
    st = idealised_state(M, z, vstar)
    K = st.K
    I2full = _node.field_i2(st.Q, st.R, st.T, activation)
    A, b, t = _node.error_terms(I2full, K, st.vstar)
    out: dict[str, Any] = {"z": z, "K": K, "M": M, "keep": [], "keep_fraction": [], "eps_g": {s: [] for s in SCHEMES}}
    for k in range(1, K):
        out["keep"].append(k)
        out["keep_fraction"].append(k / K)
        for s in NODE_SCHEMES:
            dist = idealised_copies_distribution(M, z, k, s)
            sets = np.array(
                [np.concatenate([m * z + np.arange(x) for m, x in enumerate(j)]) for j in dist], dtype=np.int64
            )
            errs = _node.subset_errors(A, b, t, sets, st.v[sets])
            out["eps_g"][s].append(float(np.dot(list(dist.values()), errs)))
        for s in EDGE_SCHEMES:
            out["eps_g"][s].append(pruned_error(st, s, Budget(fraction=k / K), activation=activation).eps_g)
    return out


def _claims_from_errors(e: dict, n: int):
    c1, c2, c3, c3x = [], [], [], []
    others = [s for s in SCHEMES if s != DPP_EDGE]
    for i in range(n):
        c1.append(_verdict(e[DPP_NODE][i], e[RANDOM_NODE][i], 0.0))
        c2.append(_verdict(e[RANDOM_EDGE][i], e[DPP_NODE][i], 0.0))
        v = [_verdict(e[DPP_EDGE][i], e[s][i], 0.0) for s in others]
        c3.append(_all(v))
        c3x.append(_all([x for s, x in zip(others, v) if s != IMPORTANCE_EDGE]))
    return c1, c2, c3, c3x


def idealised_phase_diagram(
    z_values: Iterable[int] = range(1, 11), M: int = 2, vstar: float = 1.0, activation: str = "erf"
) -> dict:
    """Claims C1-C3 over (z, k/K) for the idealised student; flat lists, one row per (z, k)."""
    rows: dict[str, Any] = {
        "z": [],
        "K": [],
        "keep": [],
        "keep_fraction": [],
        "C1": [],
        "C2": [],
        "C3": [],
        "C3x": [],
        **{f"eps_g[{s}]": [] for s in SCHEMES},
    }
    for z in z_values:
        r = idealised_errors(M, int(z), vstar, activation)
        n = len(r["keep"])
        c1, c2, c3, c3x = _claims_from_errors(r["eps_g"], n)
        rows["z"] += [float(z)] * n
        rows["K"] += [r["K"]] * n
        rows["keep"] += r["keep"]
        rows["keep_fraction"] += r["keep_fraction"]
        rows["C1"] += c1
        rows["C2"] += c2
        rows["C3"] += c3
        rows["C3x"] += c3x
        for s in SCHEMES:
            rows[f"eps_g[{s}]"] += r["eps_g"][s]
    rows["params"] = {"M": M, "vstar": vstar, "activation": activation, "student": "idealised (exact copies)"}
    return rows


def trained_phase_diagram(
    K_values: Iterable[int],
    M: int = 2,
    *,
    N: int = 500,
    vstar: float = 4.0,
    seed: int = 0,
    eta: float = 0.5,
    eta_v: float = 0.5,
    alpha_max: float = 1600.0,
    activation: str = "erf",
    progress: bool | None = None,
) -> dict:
    """Claims C1-C3 over (z = K/M, k/K) for ODE-trained students (State.random(K, M, N, vstar, seed)).

    Edges at the limit fraction c = k/K. ``progress``: None (tqdm, off when not a
    terminal) or False. Rows of finished K values are kept if interrupted.
    """
    from tqdm import tqdm

    rows: dict[str, Any] = {
        "z": [],
        "K": [],
        "keep": [],
        "keep_fraction": [],
        "C1": [],
        "C2": [],
        "C3": [],
        "C3x": [],
        "eps_g[unpruned]": [],
        **{f"eps_g[{s}]": [] for s in SCHEMES},
    }
    try:
        for K in tqdm(list(K_values), disable=None if progress is None else not progress, desc="trained states"):
            res = integrate(
                State.random(int(K), M, N, vstar=vstar, seed=seed),
                eta=eta,
                eta_v=eta_v,
                alpha_max=alpha_max,
                activation=activation,
            )
            if res.status != 0:
                raise RuntimeError(f"ODE for K={K} failed: {res.message}")
            cl = claims(res.final, activation=activation)
            n = len(cl["keep"])
            rows["z"] += [K / M] * n
            rows["K"] += [int(K)] * n
            rows["keep"] += cl["keep"]
            rows["keep_fraction"] += cl["keep_fraction"]
            rows["eps_g[unpruned]"] += [float(res.eps_g[-1])] * n
            for c in ("C1", "C2", "C3", "C3x"):
                rows[c] += cl[c]
            for s in SCHEMES:
                rows[f"eps_g[{s}]"] += cl["eps_g"][s]
    except KeyboardInterrupt:
        pass
    rows["params"] = {
        "M": M,
        "N": N,
        "vstar": vstar,
        "seed": seed,
        "eta": eta,
        "eta_v": eta_v,
        "alpha_max": alpha_max,
        "activation": activation,
        "student": "ODE-trained",
    }
    return rows


def z_crit_c2(keep_fraction: float, M: int = 1, activation: str = "erf") -> float:
    """Redundancy above which random edge beats balanced DPP node pruning (C2), idealised student.

    For the idealised student random edge gives eps_re(z) = A + B / z exactly
    (same-teacher pairs have overlap c^2, self-overlaps c), and balanced DPP node
    pruning (j_m = c z copies of every teacher) gives D = (1 - c)^2 eps_g(empty
    network). A, B are read off eps_re at z = 1, 2 from the general edge code;
    z_crit = B / (D - A), inf when D <= A (C2 never holds).
    """

    c = check_keep_fraction(keep_fraction)
    e1 = pruned_error(idealised_state(M, 1), RANDOM_EDGE, Budget(fraction=c), activation=activation).eps_g
    e2 = pruned_error(idealised_state(M, 2), RANDOM_EDGE, Budget(fraction=c), activation=activation).eps_g
    B = 2.0 * (e1 - e2)
    A = e1 - B
    st = idealised_state(M, 1)
    I2full = _node.field_i2(st.Q, st.R, st.T, activation)
    empty = 0.5 * float(st.vstar @ I2full[M:, M:] @ st.vstar)
    D = (1.0 - c) ** 2 * empty
    return float(B / (D - A)) if D > A else float("inf")


def phase_diagram_tables(z_max: int = 8, M: int = 2, activation: str = ERF) -> dict:
    """The claims phase diagram: idealised students z = 1..z_max, ODE-trained K = M..M z_max, and the
    C2 boundary z_crit(c) on 49 kept fractions c in [0.02, 0.98]. {"idealised", "trained", "zcrit"}."""
    cs = np.linspace(0.02, 0.98, 49)
    return {
        "idealised": idealised_phase_diagram(range(1, z_max + 1), M=M, activation=activation),
        "trained": trained_phase_diagram(range(M, M * z_max + 1), M=M, activation=activation),
        "zcrit": {"keep_fraction": cs, "z_crit": np.array([z_crit_c2(c, activation=activation) for c in cs])},
    }
