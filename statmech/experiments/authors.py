"""The authors' teacher-student pipeline, as read from their code, and checks of what explains the published gaps.

Facts about the published 6:2 and 5:20 experiments (Acharyya et al., arXiv
2006.16617; code: github boyu-zhang-25/DropConnect_DPP), collected in
:data:`AUTHORS_PIPELINE`, and three quantitative checks used by the docs page
"The paper's numbers":

- :func:`node_pruning_by_enumeration`: exact expectations of random node,
  k-DPP node and importance node pruning of a given student (every k-subset
  enumerated; k-DPP probabilities det L_S / sum det L_S with L the Gram
  matrix of the rescaled rows), the error measured against a reference
  network (the teacher, or the trained student itself as its proxy).
- :func:`teacher_scale_spread`: how much a finite-N random teacher
  (W* i.i.d. N(0, 1), T = W* W*^T / N, as in the authors' data generator)
  changes the second moment of the teacher's output against T = I.
- :func:`read_legacy_torch_state`: a reader (numpy only) for the legacy
  PyTorch checkpoint format of the authors' saved students.
"""

from __future__ import annotations

import collections
import itertools
import pickle
import struct
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.vocabulary import RANDOM_EDGE, RANDOM_NODE
from statmech.ode.generalisation import eps_g_arrays

__all__ = [
    "AUTHORS_PIPELINE",
    "node_pruning_by_enumeration",
    "teacher_scale_spread",
    "teacher_second_moment",
    "read_legacy_torch_state",
    "GAP_FINDINGS",
    "gap_finding",
    "CLAIM_VERDICTS",
]

AUTHORS_PIPELINE = {
    "teacher": "W* i.i.d. N(0, 1) (M x N, no seed), v* = 4 on every unit, g(u) = erf(u / sqrt 2); T = W* W*^T / N is "
    "random at finite N, not I",
    "data": "P training and P / 10 test points drawn once; labels y = v* . g(W* x / sqrt N) + sigma xi",
    "student_init": "w_ij and v_i i.i.d. N(0, 1) (the erf branch of their code), both layers trained",
    "training": "one pass of online SGD over the P points: dw_i = -(eta / sqrt N)(phi - y) v_i g'(lambda_i) x, "
    "dv_i = -(eta / N)(phi - y) g(lambda_i), eta = 0.5 (their default), torch seed 1",
    "sizes": {"6:2": dict(K=6, M=2, N=500, P=800_000), "5:20": dict(K=20, M=5, N=500, P=1_500_000)},
    "rescaling": "before every pruning scheme each row is rescaled to |w_i|^2 = N (Q_ii = 1), v unchanged",
    "random_edge": "each first-layer weight kept independently with probability e / N (e = edges per unit), "
    "no rescaling of kept weights",
    "random_node": "k of the K units kept uniformly at random",
    "dpp_node": "k-DPP over the units with L = (1/P) sum_mu (W x_mu)(W x_mu)^T (about N Q)",
    "importance_node": "the k units with the largest signed v_i",
    "test_loss": "(1/2) mean over the noisy test set of (phi - y)^2, averaged over the first 5 sampled masks",
    "students": "one trained student per configuration and noise level",
}


def teacher_second_moment(T: ArrayLike, vstar: ArrayLike) -> float:
    """E[y^2] of the noise-free teacher: sum_nm v*_n v*_m (2/pi) asin(T_nm / sqrt((1+T_nn)(1+T_mm))).

    Theory of erf networks, e.g. Saad & Solla 1995 (the I2 integral).
    """
    T = np.asarray(T, dtype=np.float64)
    vstar = np.broadcast_to(np.asarray(vstar, dtype=np.float64), (T.shape[0],))
    d = np.sqrt(1.0 + np.diag(T))
    return float(vstar @ ((2.0 / np.pi) * np.arcsin(T / np.outer(d, d))) @ vstar)


def teacher_scale_spread(M: int, N: int, *, vstar: float = 4.0, draws: int = 20_000, seed: int = 0) -> np.ndarray:
    """E[y^2](T) / E[y^2](I) for ``draws`` random teachers W* i.i.d. N(0, 1) (M x N), T = W* W*^T / N.

    Generator: default_rng(seed).
    """
    for name, x, lo in (("M", M, 1), ("N", N, 1), ("draws", draws, 1)):
        if isinstance(x, bool) or int(x) != x or x < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    rng = np.random.default_rng(seed)
    ref = teacher_second_moment(np.eye(M), vstar)
    out = np.empty(int(draws))
    for i in range(int(draws)):
        W = rng.standard_normal((M, N))
        out[i] = teacher_second_moment(W @ W.T / N, vstar) / ref
    return out


def node_pruning_by_enumeration(
    W: ArrayLike, v: ArrayLike, W_ref: ArrayLike, v_ref: ArrayLike, *, rescale: bool = True
) -> dict:
    """Exact expected eps_g of random, k-DPP and importance node pruning, k = 1..K-1, by enumeration.

    ``W`` (K x N) and ``v`` are the student; with ``rescale`` its rows are
    first rescaled to |w_i|^2 = N (the authors' step before pruning). The
    error is the noise-free eps_g of the pruned network against the
    reference network (``W_ref``, ``v_ref``: the teacher, or the trained
    student as a proxy for it). Random node: mean over all k-subsets; k-DPP
    node: weights det L_S with L = W W^T / N of the rescaled rows (the
    authors' kernel up to a factor, which a k-DPP ignores); importance node:
    the k largest signed v_i. Returns {"unpruned": eps, k: {"random", "min",
    "max", "dpp", "importance"}}.
    """
    W = np.asarray(W, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64).ravel()
    W_ref = np.asarray(W_ref, dtype=np.float64)
    v_ref = np.asarray(v_ref, dtype=np.float64).ravel()
    if W.ndim != 2 or W.shape[0] != v.size or W_ref.ndim != 2 or W_ref.shape[1] != W.shape[1]:
        raise ValueError(
            f"W must be K x N with K = len(v) and W_ref M x N with the same N; got W {W.shape}, v {v.shape}, "
            f"W_ref {W_ref.shape}"
        )
    K, N = W.shape
    if rescale:
        W = np.asarray(W / np.linalg.norm(W, axis=1, keepdims=True) * np.sqrt(N))
    Q, R, T = W @ W.T / N, W @ W_ref.T / N, W_ref @ W_ref.T / N

    def err(keep):
        m = np.zeros(K)
        m[list(keep)] = 1.0
        return float(eps_g_arrays(Q, R, T, v * m, v_ref, "erf"))

    out: dict = {"unpruned": err(range(K))}
    for k in range(1, K):
        subs = list(itertools.combinations(range(K), k))
        e = np.array([err(s) for s in subs])
        det = np.array([np.linalg.det(Q[np.ix_(s, s)]) for s in subs])
        out[k] = dict(
            random=float(e.mean()),
            min=float(e.min()),
            max=float(e.max()),
            dpp=float(det @ e / det.sum()),
            importance=err(np.argsort(v)[K - k :]),
        )
    return out


class _Storage:
    def __init__(self, key, dtype):
        self.key, self.dtype = key, dtype


def _rebuild(storage, offset, size, stride, *_):
    return storage, int(offset), tuple(size), tuple(stride)


class _LegacyUnpickler(pickle.Unpickler):
    # only the names a legacy state dict of float tensors needs; anything else is refused
    storages: dict

    def find_class(self, module, name):
        if name == "_rebuild_tensor_v2":
            return _rebuild
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if name in ("FloatStorage", "DoubleStorage"):
            return name
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a legacy state dict")

    def persistent_load(self, pid):
        _, stype, key, _location, _size, _view = pid
        dtype = {"FloatStorage": np.float32, "DoubleStorage": np.float64}[stype]
        return self.storages.setdefault(key, _Storage(key, dtype))


def read_legacy_torch_state(path: str | Path) -> dict:
    """The float tensors of a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format, as float64 arrays.

    Layout: pickled magic number, protocol version and system info, the
    pickled state dict (tensors as persistent storage references), the
    pickled list of storage keys, then per key an int64 element count and
    the raw little-endian data.
    """
    path = Path(path)
    with path.open("rb") as f:
        for _ in range(3):
            pickle.load(f)  # noqa: S301 - magic number, protocol, sys info
        u = _LegacyUnpickler(f)
        u.storages = {}
        obj = u.load()
        keys = pickle.load(f)  # noqa: S301
        data = {}
        for key in keys:
            n = struct.unpack("<q", f.read(8))[0]
            st = u.storages[key]
            data[key] = np.frombuffer(f.read(n * np.dtype(st.dtype).itemsize), dtype=st.dtype)
    out = {}
    for name, (st, offset, size, stride) in obj.items():
        a = data[st.key]
        out[name] = np.lib.stride_tricks.as_strided(a[offset:], size, [s * a.itemsize for s in stride]).astype(
            np.float64
        )
    return out


# What the investigation of the published numbers showed, per (configuration, sigma, scheme); the numbers and
# how they were obtained are in docs/guide/paper_numbers.md. None = any sigma / any scheme.
GAP_FINDINGS: tuple[tuple[str, float | None, str | None, str], ...] = (
    (
        "6:2",
        0.0,
        RANDOM_EDGE,
        "the published curve lies 0.20 below the authors' own logged losses, which agree with our theory to 0.03-0.06",
    ),
    (
        "6:2",
        None,
        RANDOM_NODE,
        "single-student spread: the authors' saved students give 0.31-0.57 at k = 5 (ours 0.29-0.34); "
        "not the seed spread of our training",
    ),
    (
        "5:20",
        0.25,
        None,
        "every published loss is 1.03 x ours: within the spread of the authors' random finite-N teacher (sd 0.056)",
    ),
    (
        "5:20",
        0.0,
        None,
        "every published loss is 0.85 x ours; a random finite-N teacher gives this in 0.3% of draws: not explained",
    ),
    (
        "6:2",
        None,
        None,
        "the authors' single student is less converged than ours (unpruned 0.051 against 0.027 at sigma = 0); "
        "which training difference causes it is not shown",
    ),
)


def gap_finding(config: str, sigma: float, scheme: str) -> str:
    """What was shown about a published point that differs from ours (the first matching finding)."""
    for cfg, sig, sch, text in GAP_FINDINGS:
        if cfg == config and (sig is None or sig == float(sigma)) and (sch is None or sch == scheme):
            return text
    return "not investigated"


# The paper's claims C1 and C2 restated with what the investigation showed (docs/guide/paper_numbers.md).
CLAIM_VERDICTS: tuple[str, ...] = (
    "C1 (DPP node beats random node) cannot hold at k = 1 in expectation: after the paper's row rescaling the "
    "node kernel has a constant diagonal, so the 1-DPP is uniform and DPP node equals random node exactly; "
    "it holds weakly at k = 2-4 and ties at k = 5",
    "C2 (random edge beats DPP node) holds at 6:2 only at k = 1 (sigma = 0) and k = 1, 2 (sigma = 0.25) in the "
    "authors' own logged losses (our theory: k = 1, and k = 1-3); the figure's support for C2 at 6:2 rests on a "
    "random-edge curve that lies 0.20 below those logs. At 5:20 it holds at every budget",
)
