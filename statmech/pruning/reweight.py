"""Reweighting after pruning in the N -> infinity limit (docs/theory/pruning.md, 6.2).

- Node fusing (Diversity Networks, Mariet & Sra 2016): the pruned units'
  signals are regressed on the kept ones and their second-layer weights moved
  over, v_S <- v_S + G[S,S]^+ G[S,Sc] v_Sc, with G = Q (pre-activations,
  ``fuse-preactivation``) or G = I2 of the student fields (activations,
  ``fuse-activation``).
- Optimal readout (``optimal-readout``): the v_S minimising eps_g for the kept first
  layer, v_S = I2[S,S]^+ I2[S,teacher] vstar (what retraining only the second
  layer reaches).
- Edge least-squares reweighting of kept edges: zero effect as N -> infinity for
  white inputs (kept and removed inputs are independent, so the regression
  coefficients vanish). ``EDGE_LSQ_NOTE`` says so wherever it is requested
  (``edge-lsq``).

``G^+`` is the Moore-Penrose pseudo-inverse (minimum-norm least squares), so
exact copies (singular G[S,S], as in the idealised specialised student) are
handled: any least-squares solution gives the same pruned network output.
All functions take a batch of subsets (n, k) and return new v_S as (n, k).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from statmech.core import vocabulary as V
from statmech.core.vocabulary import EDGE_REWEIGHTS, NODE_REWEIGHTS, REWEIGHTS

__all__ = ["REWEIGHTS", "EDGE_LSQ_NOTE", "check_reweight", "fuse", "optimal_readout", "complement"]

EDGE_LSQ_NOTE = (
    "edge least-squares reweighting (regress the removed part of each pre-activation on the kept inputs) "
    "has zero effect as N -> infinity for white inputs: kept and removed inputs are independent, so the "
    "regression coefficients vanish and eps_g is unchanged; it matters only at finite data or for "
    "correlated inputs"
)

# Relative cut-off of the pseudo-inverse: singular values below 1e-10 * max are exact copies
# (or numerically so); the order parameters themselves carry ~1e-12 relative rounding.
_PINV_RCOND = 1e-10


def check_reweight(reweight: str, node: bool | None = None) -> str:
    """``reweight`` if it is a reweighting name (for a node scheme if ``node``, an edge scheme if not ``node``)."""
    V.check_choice("reweight", reweight, REWEIGHTS)
    if node is not None:
        allowed = NODE_REWEIGHTS if node else EDGE_REWEIGHTS
        if reweight not in allowed:
            kind = "node" if node else "edge"
            raise ValueError(f"reweight {reweight!r} does not apply to {kind} schemes; they take {', '.join(allowed)}")
    return reweight


def complement(subsets: ArrayLike, K: int) -> np.ndarray:
    """Rows of the units not in each subset, (n, K - k), ascending."""
    subsets = np.asarray(subsets)
    n = subsets.shape[0]
    mask = np.ones((n, K), dtype=bool)
    mask[np.arange(n)[:, None], subsets] = False
    return np.nonzero(mask)[1].reshape(n, K - subsets.shape[1])


def fuse(G: ArrayLike, v: ArrayLike, subsets: ArrayLike) -> np.ndarray:
    """v_S + G[S,S]^+ G[S,Sc] v_Sc for every row S of ``subsets`` (docs/theory/pruning.md; Diversity Networks).

    ``v`` is (K,) or (K, H2) (outgoing weights of an MLP unit); the
    pseudo-inverse (cut-off 1e-10 relative) handles kept exact copies, whose
    G[S,S] is singular. The one implementation of fusion, also used on real
    data by ``statmech.pruning.finite.masks.fuse_nodes``.
    """
    G = np.asarray(G, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    subsets = np.asarray(subsets)
    K = G.shape[0]
    vS = v[subsets]
    if subsets.shape[1] == K:
        return vS.copy()
    comp = complement(subsets, K)
    GSS = G[subsets[:, :, None], subsets[:, None, :]]
    GSc = G[subsets[:, :, None], comp[:, None, :]]
    rhs = np.einsum("nij,nj...->ni...", GSc, v[comp])
    return vS + np.einsum("nij,nj...->ni...", np.linalg.pinv(GSS, rcond=_PINV_RCOND, hermitian=True), rhs)


def optimal_readout(A: ArrayLike, b: ArrayLike, subsets: ArrayLike) -> np.ndarray:
    """argmin_{v_S} eps_g = I2[S,S]^+ (I2[S,teacher] vstar); A = I2 student block, b = I2[:K,K:] vstar."""
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    subsets = np.asarray(subsets)
    ASS = A[subsets[:, :, None], subsets[:, None, :]]
    return np.einsum("nij,nj->ni", np.linalg.pinv(ASS, rcond=_PINV_RCOND, hermitian=True), b[subsets])
