"""Pruning schemes as small frozen objects, shared by the N -> infinity theory and the finite-N code.

Each scheme carries only its own options (docs/architecture.md, docs/theory/pruning.md):

- ``RandomNode()``, ``RandomEdge()``, ``ImportanceEdge()``: no options;
- ``ImportanceNode(score, ties)``: the score of a unit (|v_i|, |v_i| sqrt(Q_ii)
  or the paper code's signed v_i) and how exact ties are broken;
- ``DPPNode(kernel, beta, eps, jitter)``: the k-DPP kernel L (a name of
  ``NODE_KERNELS`` or a K x K array), the Gaussian kernel's width beta and
  ridge eps (the Gaussian kernel only), a ridge jitter * I added to any L;
- ``DPPEdge(edge_kernel)``: unit i's edge kernel from data diag(w_i) (X^T X/P) diag(w_i)
  or its white-input limit diag(w_i^2) (the same in the N -> infinity theory).

``scheme_from_name(name, **options)`` builds one and refuses an option the
scheme does not take; ``as_scheme`` accepts a name or an object;
``schemes_with(names, **options)`` gives each named scheme the options it takes
and refuses an option that none of them takes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from statmech.core import vocabulary as V

__all__ = [
    "Scheme",
    "RandomNode",
    "ImportanceNode",
    "DPPNode",
    "RandomEdge",
    "ImportanceEdge",
    "DPPEdge",
    "SCHEME_TYPES",
    "scheme_from_name",
    "as_scheme",
    "schemes_with",
]


@dataclass(frozen=True)
class Scheme:
    """Base of the six schemes: ``name`` (the vocabulary's), ``node`` (node or edge scheme), ``deterministic``."""

    name: ClassVar[str] = ""
    node: ClassVar[bool] = True
    deterministic: ClassVar[bool] = False

    @property
    def edge(self) -> bool:
        return not self.node

    @classmethod
    def option_names(cls) -> tuple:
        return tuple(f.name for f in dataclasses.fields(cls))

    def options(self) -> dict:
        """The scheme's options as plain data (an array kernel as ``"array"``)."""
        out = {}
        for f in dataclasses.fields(self):
            x = getattr(self, f.name)
            out[f.name] = "array" if isinstance(x, np.ndarray) else x
        return out

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class RandomNode(Scheme):
    """k of the K units, uniformly at random."""

    name: ClassVar[str] = V.RANDOM_NODE


@dataclass(frozen=True)
class ImportanceNode(Scheme):
    """The k units of largest ``score``; exact ties averaged over every choice (``average``) or lower index first.

    ``ties=None``: each code's own rule, ``average`` for the N -> infinity
    expectation, ``lowest-index`` for the one mask of real weights.
    """

    name: ClassVar[str] = V.IMPORTANCE_NODE
    deterministic: ClassVar[bool] = True
    score: str = V.ABS_V
    ties: str | None = None

    def __post_init__(self) -> None:
        V.check_choice("score (importance-node score)", self.score, V.IMPORTANCE_SCORES)
        if self.ties is not None:
            V.check_choice("ties (importance-node tie-breaking)", self.ties, V.TIES)


def _finite(name: str, value, lower: float, strict: bool) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and (x > lower if strict else x >= lower)):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {lower:g}, got {value!r}")
    return x


@dataclass(frozen=True, eq=False)
class DPPNode(Scheme):
    """A k-DPP over the units with kernel L (docs/theory/pruning.md): P(S) = det(L[S,S]) / e_k(L).

    ``beta`` (width, default 1) and ``eps`` (ridge, default 0) belong to the
    Gaussian kernel L_ij = exp(-beta E[(g_i - g_j)^2]) + eps delta_ij and are
    refused with another kernel; ``jitter`` adds jitter * I to any kernel.
    """

    name: ClassVar[str] = V.DPP_NODE
    kernel: str | ArrayLike = V.LINEAR_PREACTIVATION
    beta: float | None = None
    eps: float | None = None
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.kernel, str):
            V.check_choice("kernel (DPP node kernel)", self.kernel, V.NODE_KERNELS)
        else:
            L = np.array(self.kernel, dtype=np.float64)
            if L.ndim != 2 or L.shape[0] != L.shape[1]:
                raise ValueError(f"kernel (DPP node kernel) array must be square, got shape {L.shape}")
            L.flags.writeable = False
            object.__setattr__(self, "kernel", L)
        if not (isinstance(self.kernel, str) and self.kernel == V.GAUSSIAN):
            for opt in ("beta", "eps"):
                if getattr(self, opt) is not None:
                    raise ValueError(
                        f"{opt} sets the Gaussian DPP node kernel; it needs kernel={V.GAUSSIAN!r}, "
                        f"got kernel={self.options()['kernel']!r}"
                    )
        if self.beta is not None:
            object.__setattr__(self, "beta", _finite("beta (Gaussian kernel width)", self.beta, 0.0, True))
        if self.eps is not None:
            object.__setattr__(self, "eps", _finite("eps (Gaussian kernel ridge)", self.eps, 0.0, False))
        object.__setattr__(self, "jitter", _finite("jitter (ridge added to the DPP kernel)", self.jitter, 0.0, False))

    @property
    def width(self) -> float:
        """beta of the Gaussian kernel (1 when not given)."""
        return 1.0 if self.beta is None else self.beta

    @property
    def ridge(self) -> float:
        """eps of the Gaussian kernel (0 when not given)."""
        return 0.0 if self.eps is None else self.eps


@dataclass(frozen=True)
class RandomEdge(Scheme):
    """Every weight kept independently with probability c (docs/theory/pruning.md)."""

    name: ClassVar[str] = V.RANDOM_EDGE
    node: ClassVar[bool] = False


@dataclass(frozen=True)
class ImportanceEdge(Scheme):
    """The largest |w_ij| of every unit (magnitude pruning)."""

    name: ClassVar[str] = V.IMPORTANCE_EDGE
    node: ClassVar[bool] = False
    deterministic: ClassVar[bool] = True


@dataclass(frozen=True)
class DPPEdge(Scheme):
    """Per unit a k-DPP over its incoming edges, kernel from data (``data``) or its white-input limit (``diagonal``).

    For white inputs the two agree as P -> infinity, so the N -> infinity theory
    (inclusion probability lam w^2 / (1 + lam w^2)) serves both.
    """

    name: ClassVar[str] = V.DPP_EDGE
    node: ClassVar[bool] = False
    edge_kernel: str = V.DATA_KERNEL

    def __post_init__(self) -> None:
        V.check_choice("edge_kernel (DPP edge kernel)", self.edge_kernel, V.EDGE_KERNELS)


SCHEME_TYPES = {cls.name: cls for cls in (RandomNode, ImportanceNode, DPPNode, RandomEdge, ImportanceEdge, DPPEdge)}


def scheme_from_name(name: str, **options: Any) -> Scheme:
    """The scheme ``name`` with ``options``; an option it does not take is a ValueError naming both."""
    V.check_choice("scheme", name, V.SCHEMES)
    cls = SCHEME_TYPES[name]
    allowed = cls.option_names()
    for opt in options:
        if opt not in allowed:
            takes = f"its options are {', '.join(allowed)}" if allowed else "it takes no options"
            raise ValueError(f"{name} does not take the option {opt!r} ({takes})")
    return cls(**options)


def as_scheme(scheme: Scheme | str, **options: Any) -> Scheme:
    """A Scheme from a Scheme (no further options) or a name (with ``options``, see :func:`scheme_from_name`)."""
    if isinstance(scheme, Scheme):
        if options:
            raise ValueError(
                f"options {sorted(options)} given beside the scheme object {scheme!r}: set them on the object"
            )
        return scheme
    return scheme_from_name(scheme, **options)


def schemes_with(schemes: Scheme | str | Iterable[Scheme | str], **options: Any) -> tuple[Scheme, ...]:
    """Scheme objects for ``schemes`` (``"all"``, names or objects), each with those of ``options`` it takes.

    Options whose value is None count as not given. An option that none of the
    named schemes takes is a ValueError naming it (it would be ignored).
    """
    given = {k: v for k, v in options.items() if v is not None}
    if isinstance(schemes, Scheme):
        schemes = [schemes]
    items = [schemes] if isinstance(schemes, str) else list(schemes)
    out: list[Scheme] = []
    used: set[str] = set()
    for item in items:
        if isinstance(item, Scheme):
            out.append(item)
            continue
        for name in V.parse_schemes(item):
            takes = SCHEME_TYPES[name].option_names()
            mine = {k: v for k, v in given.items() if k in takes}
            used.update(mine)
            out.append(scheme_from_name(name, **mine))
    unused = [k for k in given if k not in used]
    if unused:
        names = ", ".join(s.name for s in out) or "none"
        raise ValueError(f"option {unused[0]!r} is taken by none of the chosen schemes ({names})")
    if not out:
        raise ValueError(f"schemes must name at least one of {', '.join(V.SCHEMES)}")
    return tuple(out)
