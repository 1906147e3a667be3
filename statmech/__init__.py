"""statmech: statistical mechanics of online learning in two-layer networks.

Teacher-student learning curves from the order-parameter ODEs, finite-N SGD
simulations, and the generalisation error of pruned networks (Acharyya et al.,
arXiv 2006.16617). See the README and the documentation site for a tour.

The top-level namespace is curated: the plain data types (:class:`State`,
:class:`Weights`, :class:`Model`) are loaded at once; the compiled engines
(:func:`integrate`, :func:`eps_g`, ...) and the subpackages (``statmech.ode``,
``statmech.pruning``, ...) on first use, so ``import statmech`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from statmech.core import Model, State, Weights  # core first: it points numba at statmech's cache

__version__ = "0.1.0"

_LAZY = {
    "integrate": "statmech.ode.integrator",
    "IntegrateResult": "statmech.ode.integrator",
    "eps_g": "statmech.ode.generalisation",
    "test_loss": "statmech.ode.generalisation",
}
_SUBPACKAGES = (
    "analysis",
    "cli",
    "commands",
    "core",
    "dpp",
    "experiments",
    "integrals",
    "ode",
    "plots",
    "pruning",
    "sim",
    "sweep",
    "symbolic",
    "verify",
)

__all__ = ["Model", "State", "Weights", "eps_g", "test_loss", "integrate", "IntegrateResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"statmech.{name}")
    raise AttributeError(f"module 'statmech' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))
