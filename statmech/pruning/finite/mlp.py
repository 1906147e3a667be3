"""Pruning the first layer of sigmoid MLPs trained on real data (the paper's real-data part).

The network is a scikit-learn ``MLPClassifier`` with logistic hidden units,
stored here as plain arrays (:class:`MLP`). Its first layer W1 (H x D, with
biases b1) is pruned with every scheme of :mod:`statmech.pruning.finite.masks` (the
same masks, DPP samplers and least-squares reweighting as the teacher-student
part; no second implementation):

- node schemes keep n of the H first-layer units (their outgoing weights go
  with them); importance = norm of a unit's outgoing weights (the MLP analogue
  of |v_i|); DPP node uses the Gaussian kernel of Diversity Networks on the
  units' activation vectors over the training set,
  L_ij = exp(-beta ||a_i - a_j||^2) + eps delta_ij with beta = 10 / |train|;
- edge schemes keep e of the D inputs of every unit; DPP edge uses unit i's
  kernel diag(w_i) (X^T X / P) diag(w_i) on the training inputs (plus a ridge
  of 1e-8 times its mean diagonal, because some pixels never vary);
- budgets are matched by parameter count as in the paper:
  H e + H H2 = n (D + H2), H2 the width of the next layer;
- reweighting (``REWEIGHTS``): node fusion (``fuse-activation``) regresses the
  removed units' contribution to the next layer on the kept units' activations
  (with an intercept, which goes to the next layer's bias); edge reweighting
  (``edge-lsq``) regresses the removed part of each pre-activation on the kept
  inputs (with an intercept into b1). Pixels are correlated, so here edge
  reweighting matters (unlike white inputs).

Scheme objects (``statmech.pruning.schemes``) carry the options: the default
DPP node scheme here is the Gaussian kernel with beta = 10, eps = 1e-3 (``MLP_DPP_NODE``); the
importance score is the outgoing-weight norm (``abs-v``, the only score defined
for vector-valued outgoing weights).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from statmech.core import vocabulary as V
from statmech.core.budgets import Budget, units_for_edges
from statmech.core.state import read_npz
from statmech.core.vocabulary import SCHEMES
from statmech.pruning.finite import masks as pw
from statmech.pruning.schemes import DPPEdge, DPPNode, ImportanceNode, Scheme, schemes_with

__all__ = [
    "Dataset",
    "MLP",
    "load_dataset",
    "train_mlp",
    "budgets",
    "mlp_schemes",
    "check_reweights",
    "prune_first_layer",
    "prune_mlp",
    "SCHEMES",
    "REWEIGHTS",
]

# Reweightings of the MLP's first layer (node fusion on activations, edge least squares); "none" applies to all.
REWEIGHTS = (V.NO_REWEIGHT, V.FUSE_ACTIVATION, V.EDGE_LSQ)
# The DPP node scheme of the real-data experiments: Diversity Networks' Gaussian kernel on activations,
# beta = 10 on the mean over the training set (beta_DN |train| = 10) and a ridge of 1e-3.
MLP_DPP_NODE = {"kernel": V.GAUSSIAN, "beta": 10.0, "eps": 1e-3}
DATASET_KEYS = ("X_train", "y_train", "X_test", "y_test")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set split into training and test parts."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        Xtr, Xte = np.asarray(self.X_train, dtype=np.float64), np.asarray(self.X_test, dtype=np.float64)
        ytr, yte = np.asarray(self.y_train), np.asarray(self.y_test)
        if Xtr.ndim != 2 or Xte.ndim != 2:
            raise ValueError(f"X_train and X_test must be 2-D (samples x features), got {Xtr.shape} and {Xte.shape}")
        if Xtr.shape[1] != Xte.shape[1]:
            raise ValueError(
                f"X_train and X_test must have the same number of features, got {Xtr.shape[1]} and {Xte.shape[1]}"
            )
        if ytr.shape != (Xtr.shape[0],) or yte.shape != (Xte.shape[0],):
            raise ValueError(
                f"y_train and y_test must be 1-D with one label per row of X, got {ytr.shape} for "
                f"{Xtr.shape[0]} rows and {yte.shape} for {Xte.shape[0]} rows"
            )
        if Xtr.shape[0] < 2 or Xte.shape[0] < 1:
            raise ValueError("the data set needs at least 2 training and 1 test samples")
        if not (np.all(np.isfinite(Xtr)) and np.all(np.isfinite(Xte))):
            raise ValueError("X_train or X_test contains NaN or infinite entries")
        for name, a in (("X_train", Xtr), ("X_test", Xte), ("y_train", ytr), ("y_test", yte)):
            object.__setattr__(self, name, a)

    @property
    def D(self) -> int:
        return self.X_train.shape[1]


def load_dataset(name: str = "digits", *, seed: int = 0, test_fraction: float = 0.3) -> Dataset:
    """``"digits"`` (scikit-learn's 8 x 8 handwritten digits, pixels / 16, stratified split),
    ``"mnist"`` (OpenML, needs the network; pixels / 255, the standard 60,000 / 10,000 split),
    or a path to an ``.npz`` with X_train, y_train, X_test, y_test."""
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        X, y = load_digits(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=test_fraction, random_state=seed, stratify=y)
        return Dataset("digits", Xtr, ytr, Xte, yte)
    if name == "mnist":
        try:
            from sklearn.datasets import fetch_openml

            X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False, parser="liac-arff")
        except Exception as exc:  # no network, or OpenML unreachable
            raise ValueError(
                f"could not download MNIST from OpenML ({type(exc).__name__}: {exc}); this machine is probably "
                "offline. Save MNIST as an .npz with X_train, y_train, X_test, y_test and pass its path instead"
            ) from None
        X = X / 255.0
        return Dataset("mnist", X[:60000], y[:60000], X[60000:], y[60000:])
    path = Path(name)
    if path.suffix != ".npz":
        raise ValueError(f"dataset must be 'digits', 'mnist' or a path to an .npz file, got {name!r}")

    arrays = read_npz(path, DATASET_KEYS, "dataset")
    try:
        return Dataset(path.stem, **arrays)
    except ValueError as exc:
        raise ValueError(f"dataset file {path}: {exc}") from None


@dataclass(frozen=True, eq=False)
class MLP:
    """A sigmoid MLP as plain arrays: ``coefs[l]`` (in x out) and ``intercepts[l]``; softmax output."""

    coefs: tuple
    intercepts: tuple

    def hidden(self, X: np.ndarray) -> np.ndarray:
        """First-layer activations sigma(X W1 + b1) (P x H)."""
        return expit(X @ self.coefs[0] + self.intercepts[0])

    def predict(self, X: ArrayLike) -> np.ndarray:
        a = np.asarray(X, dtype=np.float64)
        for W, b in zip(self.coefs[:-1], self.intercepts[:-1]):
            a = expit(a @ W + b)
        return np.argmax(a @ self.coefs[-1] + self.intercepts[-1], axis=1)

    def error(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike) -> float:
        """Test error (fraction misclassified)."""
        return float(np.mean(np.asarray(classes)[self.predict(X)] != y))

    def with_first_layer(self, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> MLP:
        return MLP(coefs=(W1, W2) + tuple(self.coefs[2:]), intercepts=(b1, b2) + tuple(self.intercepts[2:]))


def train_mlp(
    data: Dataset, hidden: Iterable[int] = (100, 100), *, seed: int = 0, max_iter: int = 500
) -> tuple[MLP, np.ndarray]:
    """Train scikit-learn's MLPClassifier (logistic hidden units, adam); returns (MLP, classes)."""
    hidden = tuple(int(h) for h in hidden)
    if len(hidden) == 0 or any(h < 1 for h in hidden):
        raise ValueError(f"hidden must list at least one layer width >= 1, got {hidden}")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="logistic", max_iter=int(max_iter), random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.X_train, data.y_train)
    return MLP(tuple(np.array(c) for c in clf.coefs_), tuple(np.array(b) for b in clf.intercepts_)), clf.classes_


def budgets(D: int, H: int, H2: int, fractions: Iterable[float]) -> list[tuple[float, int, int]]:
    """[(fraction, e, n)]: e = round(fraction D) edges per unit and n units with H e + H H2 = n (D + H2)."""
    out: list[tuple[float, int, int]] = []
    for f in fractions:
        try:
            b = Budget(fraction=f)
        except ValueError:
            raise ValueError(f"fractions must lie in (0, 1], got {f}") from None
        e = b.edges_per_unit(H, D)
        out.append((cast(float, b.fraction), e, units_for_edges(e, H, D, outputs=H2)))  # a fraction budget
    return out


def mlp_schemes(schemes: Scheme | str | Sequence[Scheme | str] = V.ALL, **options: Any) -> tuple[Scheme, ...]:
    """Scheme objects for the MLP: names get the real-data DPP node defaults (``MLP_DPP_NODE``) unless options say.

    Only the outgoing-weight-norm importance (``abs-v``) and ``ties="lowest-index"``
    (the one mask) exist for an MLP; another score is refused.
    """
    items = [schemes] if isinstance(schemes, (str, Scheme)) else list(schemes)
    named = [n for item in items if isinstance(item, str) for n in V.parse_schemes(item)]
    if V.DPP_NODE in named and options.get("kernel") is None:
        options = dict(MLP_DPP_NODE, **{k: v for k, v in options.items() if v is not None})
    out = schemes_with(items, **options)
    for s in out:
        if isinstance(s, ImportanceNode) and (s.score != V.ABS_V or s.ties not in (None, V.TIES_LOWEST_INDEX)):
            raise ValueError(
                f"importance-node on an MLP ranks units by the norm of their outgoing weights (score {V.ABS_V!r}, "
                f"ties {V.TIES_LOWEST_INDEX!r}); got score={s.score!r}, ties={s.ties!r}"
            )
    return out


class _Layer:
    """First-layer quantities shared by all masks: augmented weights, data moments, kernels."""

    def __init__(self, mlp: MLP, X_train: np.ndarray) -> None:
        W1, b1 = mlp.coefs[0], mlp.intercepts[0]
        self.D, self.H = W1.shape
        self.W = np.ascontiguousarray(W1.T)  # H x D
        self.b = b1.copy()
        self.Waug = np.hstack([self.W, self.b[:, None]])  # bias as an always-kept input
        Xaug = np.hstack([X_train, np.ones((X_train.shape[0], 1))])
        self.moments = pw.data_moments(self.Waug, Xaug, activation=expit, input_scale=1.0)
        assert self.moments.Sxx is not None  # data_moments computes it by default (second_moment=True)
        self.Sxx_aug = self.moments.Sxx
        S = self.Sxx_aug[: self.D, : self.D]
        self.Sxx_kernel = S + 1e-8 * np.mean(np.diag(S)) * np.eye(self.D)
        A = expit(Xaug @ self.Waug.T)
        Aaug = np.hstack([A, np.ones((A.shape[0], 1))])
        self.G_act_aug = Aaug.T @ Aaug / A.shape[0]  # activations and a constant unit
        self.W2, self.b2 = mlp.coefs[1], mlp.intercepts[1]
        self.importance = np.linalg.norm(self.W2, axis=1)  # outgoing-weight norm, the MLP's |v_i|


def check_reweights(reweight: str | Iterable[str], schemes: Sequence[Scheme]) -> tuple[str, ...]:
    """Reweighting names of ``REWEIGHTS``, each applying to at least one of the scheme objects ``schemes``."""
    reweight = V.parse_reweights(reweight, REWEIGHTS)
    node_any, edge_any = any(s.node for s in schemes), any(s.edge for s in schemes)
    for r in reweight:
        if (r == V.FUSE_ACTIVATION and not node_any) or (r == V.EDGE_LSQ and not edge_any):
            raise ValueError(
                f"reweight {r!r} applies to {'node' if r == V.FUSE_ACTIVATION else 'edge'} schemes only; "
                f"the chosen schemes are {', '.join(s.name for s in schemes)}"
            )
    return reweight


def prune_first_layer(
    mlp: MLP, layer: _Layer, scheme: Scheme | str, mask: ArrayLike, reweight: str = V.NO_REWEIGHT
) -> MLP:
    """The MLP with its first layer pruned by ``mask`` ((H,) for nodes, (H, D) for edges).

    ``reweight``: ``none``, ``fuse-activation`` (node schemes) or ``edge-lsq`` (edge schemes).
    """
    L = layer
    node = V.check_choice("scheme", getattr(scheme, "name", scheme), SCHEMES) in V.NODE_SCHEMES
    V.check_choice("reweight", reweight, REWEIGHTS)
    if reweight != V.NO_REWEIGHT and (reweight == V.FUSE_ACTIVATION) != node:
        kind = "node" if node else "edge"
        raise ValueError(f"reweight {reweight!r} does not apply to {kind} schemes")
    if node:
        keep = np.asarray(mask, dtype=bool)
        if reweight == V.FUSE_ACTIVATION:
            Vaug = np.vstack([L.W2, L.b2[None, :]])
            fused = pw.fuse_nodes(L.G_act_aug, Vaug, np.append(keep, True))
            W2, b2 = fused[:-1], fused[-1]
        else:
            W2, b2 = L.W2[keep], L.b2
        return mlp.with_first_layer(L.W.T[:, keep], L.b[keep], W2, b2)
    mask = np.asarray(mask, dtype=bool)
    if reweight == V.EDGE_LSQ:
        Waug = pw.reweight_edges(L.Waug, np.hstack([mask, np.ones((L.H, 1), bool)]), L.Sxx_aug)
        W, b = Waug[:, :-1], Waug[:, -1]
    else:
        W, b = pw.prune_edges(L.W, mask), L.b
    return mlp.with_first_layer(np.ascontiguousarray(W.T), b, L.W2, L.b2)


def _masks(layer: _Layer, scheme: Scheme, budget: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    L = layer
    if isinstance(scheme, DPPNode) and isinstance(scheme.kernel, str):
        L_ = pw.node_kernel(L.moments, scheme.kernel, scheme.width, scheme.ridge, scheme.jitter)[: L.H, : L.H]
        return pw.dpp_node_masks(L_, budget, rounds, rng)
    if scheme.name == V.DPP_EDGE and cast(DPPEdge, scheme).edge_kernel == V.DATA_KERNEL:  # the name fixes the type
        return pw.dpp_edge_masks(L.W, budget, rounds, rng, Sxx=L.Sxx_kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.DeterministicMasksWarning)  # one mask, reported via n_distinct
        return pw.sample_masks(scheme, L.W, L.importance, budget, rounds, rng)


def prune_mlp(
    data: Dataset,
    mlp: MLP,
    classes: ArrayLike,
    *,
    schemes: Scheme | str | Sequence[Scheme | str] = V.ALL,
    fractions: Iterable[float] = (0.2, 0.5, 0.8),
    rounds: int = 5,
    reweight: str | Iterable[str] = REWEIGHTS,
    seed: int = 0,
    on_row: Callable[[dict[str, Any]], object] | None = None,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Test error of every scheme and budget, for every reweighting that applies to it; a list of dict rows.

    ``schemes``: names (with the real-data defaults, :func:`mlp_schemes`) or
    scheme objects. ``reweight``: names of ``REWEIGHTS``; ``fuse-activation``
    applies to node schemes, ``edge-lsq`` to edge schemes (a method that applies
    to none of the chosen schemes is an error). Each row: scheme, reweight,
    fraction (edges kept per unit / D), edges_per_unit, nodes_kept,
    params_fraction (first-layer + outgoing parameters kept), mean and std of
    the test error over ``rounds`` masks, and how many distinct masks that was
    (1 for the deterministic importance schemes). ``on_row(row)`` is called as
    each row completes (so a caller can write it at once).
    """
    schemes = mlp_schemes(schemes)
    reweight = check_reweights(reweight, schemes)
    if int(rounds) < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if len(mlp.coefs) < 2:
        raise ValueError("the MLP needs at least one hidden layer")
    layer = _Layer(mlp, data.X_train)
    H2 = mlp.coefs[1].shape[1]
    grid = budgets(layer.D, layer.H, H2, fractions)
    rng = np.random.default_rng(seed)
    total_params = layer.H * (layer.D + H2)
    rows = []
    from tqdm.auto import tqdm

    bar = tqdm(total=len(schemes) * len(grid), desc="realdata", disable=None if progress is None else not progress)
    try:
        for scheme in schemes:
            rw_values = [r for r in reweight if r == V.NO_REWEIGHT or (r == V.FUSE_ACTIVATION) == scheme.node]
            for f, e, n in grid:
                budget = n if scheme.node else e
                masks = _masks(layer, scheme, budget, int(rounds), rng)
                distinct = len({m.tobytes() for m in masks})
                params = n * (layer.D + H2) if scheme.node else layer.H * (e + H2)
                for rw in rw_values:
                    errs = [
                        prune_first_layer(mlp, layer, scheme, m, rw).error(data.X_test, data.y_test, classes)
                        for m in masks
                    ]
                    row = dict(
                        scheme=scheme.name,
                        reweight=rw,
                        fraction=f,
                        edges_per_unit=e,
                        nodes_kept=n,
                        params_fraction=params / total_params,
                        error_mean=float(np.mean(errs)),
                        error_std=float(np.std(errs, ddof=1)) if len(errs) > 1 else 0.0,
                        rounds=len(errs),
                        distinct_masks=distinct,
                    )
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
                bar.update(1)
    finally:
        bar.close()
    return rows
