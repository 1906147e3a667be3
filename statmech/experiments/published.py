"""The paper's published numbers, from one data file (``statmech/experiments/data/published.json``).

Reconstructed values: read off the authors' final figures (about +-0.05 for
the teacher-student losses), single trained students. Teacher-student values
are *test losses* on noisy labels, eps_g + sigma^2/2; MNIST values are test
errors in percent. Every figure that shows them labels them as published.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

__all__ = [
    "published",
    "teacher_student_losses",
    "mnist_errors",
    "reading_error",
    "published_6_2",
    "published_at_budgets",
]


@lru_cache(maxsize=1)
def published() -> dict:
    """The whole data file as a dict (with its ``source`` and ``note``)."""
    with resources.files("statmech.experiments").joinpath("data/published.json").open() as fh:
        return json.load(fh)


def teacher_student_losses(config: str = "6:2", sigma: float = 0.0) -> dict:
    """{scheme: [loss at k = 1..5]} for config "6:2" or "5:20" and sigma 0 or 0.25 (losses include sigma^2/2)."""
    data = published()["teacher_student"]["losses"]
    if config not in data:
        raise ValueError(f"config must be one of {sorted(data)}, got {config!r}")
    key = "0" if float(sigma) == 0.0 else f"{float(sigma):g}"
    out = {}
    for scheme, by_sigma in data[config].items():
        if key not in by_sigma:
            raise ValueError(f"no published values for sigma={sigma}; available: 0 and 0.25")
        out[scheme] = by_sigma[key]
    return out


def reading_error() -> float:
    """Uncertainty of a teacher-student value read off the published figure (about +-0.05 in loss)."""
    return float(published()["teacher_student"]["reading_error"])


def mnist_errors() -> dict:
    """The published MNIST table: edge fractions, unpruned error and per-scheme errors (percent)."""
    return published()["mnist"]


def published_6_2() -> dict:
    """{sigma: {scheme: published noisy test losses at k = 1..5}} for 6:2 (about +-0.05)."""
    return {s: teacher_student_losses("6:2", s) for s in (0.0, 0.25)}


def published_at_budgets(config: str, K: int, M: int, sigma: float, ks_by_scheme: dict) -> dict:
    """{scheme: published losses at the node budgets k given per scheme}, each value at its own k.

    The published values are for the paper's K, M at k = 1..5 ("budgets_k"); another size, or budgets
    that are not node budgets k, would place them at the wrong x: a ValueError says which.
    """
    ts = published()["teacher_student"]
    if config not in ts["configs"]:
        raise ValueError(f"published config must be one of {sorted(ts['configs'])}, got {config!r}")
    cfg = ts["configs"][config]
    if (K, M) != (cfg["K"], cfg["M"]):
        raise ValueError(f"published {config} is for K={cfg['K']}, M={cfg['M']}; the state has K={K}, M={M}")
    budgets = list(ts["budgets_k"])
    losses = teacher_student_losses(config, sigma)
    out = {}
    for scheme, ks in ks_by_scheme.items():
        if any(k not in budgets for k in ks):
            raise ValueError(
                f"published values need node budgets keep k in {budgets} (the published budgets), got {ks}"
            )
        if scheme in losses:
            out[scheme] = [losses[scheme][budgets.index(k)] for k in ks]
    return out
