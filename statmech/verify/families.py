"""Families of states to search: two continuous boxes and the states that training reaches.

- :class:`OrderParameterFamily`: every valid (Q, R, v) of K students and M
  teacher units with T = I, Q_ii in [q_min, q_max], |v_i| <= v_max, vstar
  given. Student i is sqrt(Q_ii) d_i with d_i a unit vector in the span of the
  M teacher directions and i + 1 further orthonormal directions (the
  Cholesky-like lower-triangular shape loses no state up to a rotation of the
  teacher's orthogonal complement), so R = D[:, :M] sqrt(Q_ii) and Q is a Gram
  matrix: every point of the box is a valid (PSD) covariance.
- :class:`SpecialisedFamily`: groups of near-copies of each teacher unit.
  Unit i of group m is w_i = sqrt(q) (a t_m + b g_m + c e_i + d h) with
  orthonormal teacher t_m, group g_m, own e_i and shared h directions and
  a^2 + b^2 + c^2 + d^2 = 1: teacher overlap R_im / sqrt(q) = a, within-group
  overlap a^2 + b^2 + d^2, across-group overlap d^2; v_i = v_m. Parameters:
  the group sizes (one integer: an index into the compositions of K), a, the
  shares of d^2 and b^2, q, v per group.
- :class:`TrainedFamily`: the states along ODE trajectories (``statmech.integrate``)
  over a grid or a sample of (K, M, eta, eta_v, sigma, seed), from the paper's
  random N(0, 1) weights (``init="paper"``) or a soft committee machine start
  (``init="scm"``: T = I exactly, v = vstar = 1).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.initial import initial_weights, teacher_overlaps
from statmech.core.model import Model
from statmech.core.state import State
from statmech.core.validation import check_int
from statmech.ode.integrator import IntegrateResult, default_save_at, integrate
from statmech.verify.claims import ClaimContext

__all__ = [
    "OrderParameterFamily",
    "SpecialisedFamily",
    "TrainedConfig",
    "TrainedFamily",
    "PAPER_CONFIGS",
    "compositions",
]

# The paper's teacher-student configurations (Acharyya et al. 2020, published values).
PAPER_CONFIGS: dict[str, dict[str, Any]] = {
    "6:2": dict(K=6, M=2, N=500, vstar=4.0, eta=0.5, eta_v=0.5, alpha_max=1600.0),
    "5:20": dict(K=20, M=5, N=500, vstar=4.0, eta=0.5, eta_v=0.5, alpha_max=3000.0),
}
PAPER_SIGMAS = (0.0, 0.25)


def _range(name, lo_hi, lo_min=-math.inf):
    try:
        lo, hi = (float(x) for x in lo_hi)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {lo_hi!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo_min <= lo <= hi):
        raise ValueError(f"{name} must be finite with {lo_min:g} <= low <= high, got ({lo}, {hi})")
    return lo, hi


def _vstar(vstar, M):
    vs = np.asarray(vstar, dtype=np.float64)
    vs = np.full(M, float(vs)) if vs.ndim == 0 else vs
    if vs.shape != (M,) or not np.all(np.isfinite(vs)):
        raise ValueError(f"vstar must be a finite number or M={M} finite numbers, got {vstar!r}")
    return vs


class OrderParameterFamily:
    """All valid states of K students and M teacher units (T = I) with Q_ii in q_range and |v_i| <= v_max."""

    kind = "order-parameters"

    def __init__(
        self,
        K: int,
        M: int,
        *,
        q_range: tuple[float, float] = (0.05, 4.0),
        v_max: float = 3.0,
        vstar: float | ArrayLike = 1.0,
        model: ClaimContext | None = None,
    ) -> None:
        self.K, self.M = check_int("K", K), check_int("M", M)
        self.q_range = _range("q_range (bounds of Q_ii)", q_range, lo_min=0.0)
        if not (math.isfinite(v_max) and v_max > 0):
            raise ValueError(f"v_max (bound of |v_i|) must be a finite number > 0, got {v_max!r}")
        self.v_max = float(v_max)
        self.vstar = _vstar(vstar, self.M)
        self.model = ClaimContext() if model is None else model
        K, M = self.K, self.M
        self._dir_slices: list[slice] = []
        start = 2 * K
        for i in range(K):
            self._dir_slices.append(slice(start, start + M + i + 1))
            start += M + i + 1
        # scatter indices of the direction coordinates into the lower-triangular K x (M + K) factor
        self._rows = np.concatenate([np.full(M + i + 1, i) for i in range(K)])
        self._cols = np.concatenate([np.arange(M + i + 1) for i in range(K)])
        self._starts = np.array([sl.start for sl in self._dir_slices]) - 2 * K
        self.dim = start
        self.bounds = [self.q_range] * K + [(-self.v_max, self.v_max)] * K + [(-1.0, 1.0)] * (start - 2 * K)
        self.integrality = np.zeros(self.dim, dtype=bool)

    @property
    def name(self) -> str:
        q0, q1 = self.q_range
        return (
            f"order-parameter states K={self.K}, M={self.M} (T=I, Q_ii in [{q0:g}, {q1:g}], |v_i| <= {self.v_max:g}, "
            f"vstar={_fmt_vec(self.vstar)})"
        )

    def state(self, x: ArrayLike) -> State:
        x = np.asarray(x, dtype=np.float64)
        K, M = self.K, self.M
        d = x[2 * K :].copy()
        norms = np.sqrt(np.add.reduceat(d * d, self._starts))
        zero = norms < 1e-12
        if zero.any():  # a zero direction: take the unit's own new direction
            last = np.append(self._starts[1:], d.size) - 1
            for i in np.flatnonzero(zero):
                d[self._starts[i] : last[i] + 1] = 0.0
                d[last[i]] = 1.0
            norms[zero] = 1.0
        G = np.zeros((K, M + K))
        G[self._rows, self._cols] = d * (np.sqrt(x[:K]) / norms)[self._rows]
        return State(Q=G @ G.T, R=G[:, :M].copy(), T=np.eye(M), v=x[K : 2 * K].copy(), vstar=self.vstar)

    def describe(self, x: ArrayLike | None = None) -> dict:
        d: dict[str, Any] = {
            "family": self.kind,
            "name": self.name,
            "K": self.K,
            "M": self.M,
            "q_range": list(self.q_range),
            "v_max": self.v_max,
            "vstar": self.vstar.tolist(),
        }
        if x is not None:
            d["x"] = np.asarray(x, dtype=float).tolist()
        return d


def compositions(K: int, M: int, min_size: int = 1) -> list:
    """Group sizes (n_1, ..., n_M) with sum K and every n_m >= min_size, lexicographic."""
    return [c for c in itertools.product(range(min_size, K + 1), repeat=M) if sum(c) == K]


class SpecialisedFamily:
    """Groups of near-copies of each teacher unit (T = I); see the module docstring for the construction."""

    kind = "specialised"

    def __init__(
        self,
        K: int,
        M: int,
        *,
        min_group: int = 1,
        teacher_overlap: tuple[float, float] = (0.0, 0.999),
        q_range: tuple[float, float] = (0.25, 4.0),
        v_range: tuple[float, float] = (-3.0, 3.0),
        share_max: float = 0.999,
        vstar: float | ArrayLike = 1.0,
        model: ClaimContext | None = None,
    ) -> None:
        self.K, self.M = check_int("K", K), check_int("M", M)
        self.min_group = check_int("min_group", min_group, minimum=0)
        self.groups = compositions(self.K, self.M, self.min_group)
        if not self.groups:
            raise ValueError(f"no group sizes with K={self.K}, M={self.M} and min_group={self.min_group}")
        a0, a1 = _range("teacher_overlap", teacher_overlap, lo_min=0.0)
        if a1 >= 1.0:
            raise ValueError(f"teacher_overlap must stay below 1 (exact copies have a rank-deficient kernel), got {a1}")
        if not (0.0 <= share_max < 1.0):
            raise ValueError(f"share_max must be in [0, 1), got {share_max!r}")
        self.teacher_overlap = (a0, a1)
        self.q_range = _range("q_range", q_range, lo_min=0.0)
        if self.q_range[0] <= 0:
            raise ValueError(f"q_range must have a low end > 0, got {self.q_range}")
        self.v_range = _range("v_range", v_range)
        self.share_max = float(share_max)
        self.vstar = _vstar(vstar, self.M)
        self.model = ClaimContext() if model is None else model
        # x = [group index, a, share of d^2, share of b^2, q, v_1..v_M]
        self.bounds: list[tuple[float, float]] = [
            (0, len(self.groups) - 1),
            self.teacher_overlap,
            (0.0, self.share_max),
            (0.0, self.share_max),
        ]
        self.bounds += [self.q_range] + [self.v_range] * self.M
        self.dim = len(self.bounds)
        self.integrality = np.zeros(self.dim, dtype=bool)
        self.integrality[0] = True

    @property
    def name(self) -> str:
        return (
            f"specialised students K={self.K}, M={self.M} (groups >= {self.min_group}, teacher overlap in "
            f"[{self.teacher_overlap[0]:g}, {self.teacher_overlap[1]:g}], Q_ii in [{self.q_range[0]:g}, "
            f"{self.q_range[1]:g}], v in [{self.v_range[0]:g}, {self.v_range[1]:g}], vstar={_fmt_vec(self.vstar)})"
        )

    def parameters(self, x: ArrayLike) -> dict:
        """The physical parameters of the point x (group sizes, overlaps, q, v per group)."""
        x = np.asarray(x, dtype=np.float64)
        g = int(np.clip(round(x[0]), 0, len(self.groups) - 1))
        a = float(x[1])
        d2 = float(x[2]) * (1.0 - a * a)
        b2 = float(x[3]) * (1.0 - a * a - d2)
        return {
            "group_sizes": list(self.groups[g]),
            "teacher_overlap": a,
            "within_group_overlap": a * a + b2 + d2,
            "across_group_overlap": d2,
            "q": float(x[4]),
            "v_per_group": [float(t) for t in x[5 : 5 + self.M]],
        }

    def state(self, x: ArrayLike) -> State:
        p = self.parameters(x)
        K, M = self.K, self.M
        a = p["teacher_overlap"]
        d2 = p["across_group_overlap"]
        b2 = p["within_group_overlap"] - a * a - d2
        c2 = max(0.0, 1.0 - a * a - b2 - d2)
        # directions: teachers 0..M-1, groups M..2M-1, shared 2M, own 2M+1..2M+K
        G = np.zeros((K, 2 * M + 1 + K))
        v = np.empty(K)
        i = 0
        for m, n in enumerate(p["group_sizes"]):
            for _ in range(n):
                G[i, m] = a
                G[i, M + m] = math.sqrt(b2)
                G[i, 2 * M] = math.sqrt(d2)
                G[i, 2 * M + 1 + i] = math.sqrt(c2)
                v[i] = p["v_per_group"][m]
                i += 1
        G *= math.sqrt(p["q"])
        return State(Q=G @ G.T, R=G[:, :M].copy(), T=np.eye(M), v=v, vstar=self.vstar)

    def describe(self, x: ArrayLike | None = None) -> dict:
        d: dict[str, Any] = {
            "family": self.kind,
            "name": self.name,
            "K": self.K,
            "M": self.M,
            "min_group": self.min_group,
            "teacher_overlap": list(self.teacher_overlap),
            "q_range": list(self.q_range),
            "v_range": list(self.v_range),
            "vstar": self.vstar.tolist(),
        }
        if x is not None:
            d["x"] = np.asarray(x, dtype=float).tolist()
            d["parameters"] = self.parameters(x)
        return d


@dataclass(frozen=True)
class TrainedConfig:
    """One ODE trajectory: teacher-student sizes, learning rates, noise, initial weights, saved times."""

    K: int
    M: int
    eta: float
    eta_v: float
    sigma: float = 0.0
    seed: int = 0
    N: int = 500
    vstar: float = 4.0
    alpha_max: float = 1600.0
    points: int = 20
    init: str = "paper"
    activation: str = "erf"
    method: str = "dopri5"
    teacher_activation: str | None = None
    weight_decay: float = 0.0
    batch_size: int = 1
    output_scale: str = "1"
    teacher_overlap: float | None = None

    def __post_init__(self) -> None:
        check_int("K", self.K)
        check_int("M", self.M)
        check_int("N", self.N)
        for name in ("eta", "eta_v", "sigma"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not (math.isfinite(self.alpha_max) and self.alpha_max > 0):
            raise ValueError(f"alpha_max must be a finite number > 0, got {self.alpha_max!r}")
        if self.points != 0:
            check_int("points (saved times; 0 = the final state only)", self.points, minimum=2)
        if self.init not in ("paper", "scm"):
            raise ValueError(
                f"init must be 'paper' (random N(0,1) weights) or 'scm' (T=I, v=vstar=1), got {self.init!r}"
            )
        if self.init == "scm" and (self.vstar != 1.0 or self.eta_v != 0.0):
            raise ValueError(
                f"init 'scm' is the soft committee machine: vstar=1 and eta_v=0, got {self.vstar}, {self.eta_v}"
            )
        if self.init == "scm" and self.teacher_overlap is not None:
            raise ValueError(
                f"init 'scm' has the teacher T = I: teacher_overlap must be unset, got {self.teacher_overlap}"
            )
        if self.teacher_overlap is not None:
            teacher_overlaps(self.M, self.teacher_overlap)
        self.learning_model()  # the model fields, checked by Model

    def save_at(self) -> list:
        """Saved times: 0 and ``points`` log-spaced times up to alpha_max (ode.default_save_at), or alpha_max."""
        if self.points == 0:
            return [float(self.alpha_max)]
        return [float(a) for a in default_save_at(self.alpha_max, self.points)]

    def initial_state(self) -> State:
        if self.init == "paper" and self.teacher_overlap is not None:
            w = initial_weights(
                self.K, self.M, self.N, vstar=self.vstar, teacher_overlap=self.teacher_overlap, seed=self.seed
            )
            return w.state()
        if self.init == "paper":
            return State.random(self.K, self.M, self.N, vstar=self.vstar, seed=self.seed)
        rng = np.random.default_rng(self.seed)
        B = np.linalg.qr(rng.standard_normal((self.N, self.M)))[0].T  # orthonormal teacher rows
        Wstar = math.sqrt(self.N) * B
        W = rng.standard_normal((self.K, self.N))
        st = State.from_weights(W, Wstar, np.ones(self.K), np.ones(self.M))
        return st.replace(T=np.eye(self.M))  # exactly I (rounding of W* W*^T / N is ~1e-16)

    def integrate(self) -> IntegrateResult:
        return integrate(
            self.initial_state(),
            self.learning_model(),
            alpha_max=self.alpha_max,
            save_at=self.save_at(),
            method=self.method,
            progress=False,
        )

    def learning_model(self) -> Model:
        """The Model of this trajectory."""
        return Model(
            activation=self.activation,
            teacher_activation=self.teacher_activation,
            eta=float(self.eta),
            eta_v=float(self.eta_v),
            sigma=float(self.sigma),
            weight_decay=float(self.weight_decay),
            batch_size=self.batch_size,
            output_scale=self.output_scale,
        )

    def model(self, alpha: float | None = None) -> ClaimContext:
        return ClaimContext(
            model=self.learning_model(),
            N=self.N,
            alpha=None if alpha is None else float(alpha),
            seed=int(self.seed),
        )

    def as_dict(self) -> dict:
        return asdict(self)


class TrainedFamily:
    """The states along ODE trajectories of a list of :class:`TrainedConfig` (grid, sample or the paper's)."""

    kind = "trained"

    def __init__(self, configs: Iterable[TrainedConfig | Mapping[str, Any]], label: str = "") -> None:
        self.configs = [c if isinstance(c, TrainedConfig) else TrainedConfig(**c) for c in configs]
        if not self.configs:
            raise ValueError("a trained family needs at least one configuration")
        self.label = label

    @classmethod
    def grid(
        cls,
        K: int | Sequence[int],
        M: int | Sequence[int],
        *,
        eta: Iterable[float] = (0.5,),
        eta_v: Iterable[float] = (0.5,),
        sigma: Iterable[float] = (0.0,),
        seeds: Iterable[int] = (0,),
        **common: Any,
    ) -> TrainedFamily:
        """Cartesian product over (K, M) pairs (ints or lists of equal length), eta, eta_v, sigma, seeds."""
        Ks = _as_list(K)
        Ms = _as_list(M)
        if len(Ms) == 1 and len(Ks) > 1:
            Ms = Ms * len(Ks)
        if len(Ks) != len(Ms):
            raise ValueError(f"K and M must pair up (equal lengths), got K={Ks}, M={Ms}")
        cfgs = [
            TrainedConfig(K=int(k), M=int(m), eta=float(e), eta_v=float(ev), sigma=float(s), seed=int(sd), **common)
            for (k, m), e, ev, s, sd in itertools.product(zip(Ks, Ms), eta, eta_v, sigma, seeds)
        ]
        return cls(cfgs, label="grid")

    @classmethod
    def sample(
        cls,
        n: int,
        *,
        K: int | Sequence[int],
        M: int | Sequence[int],
        eta: tuple[float, float] = (0.1, 1.0),
        eta_v: tuple[float, float] = (0.1, 1.0),
        sigma: tuple[float, float] = (0.0, 0.5),
        seed: int = 0,
        **common: Any,
    ) -> TrainedFamily:
        """``n`` configurations with eta, eta_v, sigma uniform in their ranges, (K, M) drawn from the pairs given."""
        n = check_int("n (configurations)", n)
        rng = np.random.default_rng(seed)
        Ks = _as_list(K)
        Ms = _as_list(M)
        if len(Ms) == 1 and len(Ks) > 1:
            Ms = Ms * len(Ks)
        ranges = {k: _range(k, r, lo_min=0.0) for k, r in (("eta", eta), ("eta_v", eta_v), ("sigma", sigma))}
        cfgs = []
        for i in range(n):
            j = int(rng.integers(len(Ks)))
            draw: dict[str, Any] = {k: float(rng.uniform(*r)) for k, r in ranges.items()}
            cfgs.append(TrainedConfig(K=int(Ks[j]), M=int(Ms[j]), seed=int(rng.integers(2**31)), **draw, **common))
        return cls(cfgs, label=f"sample of {n}")

    @classmethod
    def paper(
        cls,
        names: Sequence[str] = ("6:2",),
        *,
        sigmas: Iterable[float] = PAPER_SIGMAS,
        seeds: Iterable[int] = (0,),
        points: int = 20,
    ) -> TrainedFamily:
        """The paper's configurations (6:2: K=6, M=2; 5:20: K=20, M=5; N=500, vstar=4, eta=eta_v=0.5)."""
        cfgs = []
        for name in names:
            if name not in PAPER_CONFIGS:
                raise ValueError(f"paper configuration must be one of {sorted(PAPER_CONFIGS)}, got {name!r}")
            for s, sd in itertools.product(sigmas, seeds):
                cfgs.append(TrainedConfig(**PAPER_CONFIGS[name], sigma=float(s), seed=int(sd), points=points))
        return cls(cfgs, label="paper " + "+".join(names))

    def with_points(self, points: int) -> TrainedFamily:
        return TrainedFamily([replace(c, points=points) for c in self.configs], self.label)

    @property
    def name(self) -> str:
        c = self.configs
        KM = sorted({f"{x.K}:{x.M}" for x in c})
        vals = lambda f: sorted({getattr(x, f) for x in c})
        times = "final states" if all(x.points == 0 for x in c) else "states along the trajectories"
        lab = f"{self.label}: " if self.label else ""
        return (
            f"trained ({lab}{len(c)} ODE runs, K:M {', '.join(KM)}, eta {_fmt_list(vals('eta'))}, "
            f"eta_v {_fmt_list(vals('eta_v'))}, sigma {_fmt_list(vals('sigma'))}, seeds {_fmt_list(vals('seed'))}, "
            f"init {', '.join(vals('init'))}; {times})"
        )

    def describe(self) -> dict:
        return {"family": self.kind, "name": self.name, "configs": [c.as_dict() for c in self.configs]}

    def __len__(self) -> int:
        return len(self.configs)


def _as_list(x: int | Sequence[int]) -> list[int]:
    """[x] for a scalar (Python or numpy), else the list of its items."""
    # np.ndim (not isinstance) so that numpy integers count as scalars; mypy cannot narrow on it
    return [cast(int, x)] if np.ndim(x) == 0 else list(cast(Sequence[int], x))


def _fmt_vec(a) -> str:
    a = np.asarray(a)
    return f"{a[0]:g}" if np.all(a == a[0]) else "[" + ", ".join(f"{x:g}" for x in a) + "]"


def _fmt_list(xs) -> str:
    return "{" + ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in xs) + "}"
