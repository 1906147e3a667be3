"""Argument checks shared by every layer: one message style, naming the parameter, its value and the range."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["as_float_array", "check_nonneg", "check_int"]


def as_float_array(name: str, x: ArrayLike, ndim: int) -> np.ndarray:
    """``x`` as a float64 array of ``ndim`` dimensions with finite entries, or a ValueError naming ``name``.

    Complex values are refused (casting would drop the imaginary part), and
    so are strings and Python objects (which numpy would otherwise parse or
    cast one by one).
    """
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array ({exc})") from None
    if raw.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex values (dtype {raw.dtype})")
    if raw.dtype.kind in "OSUV":
        kind = {"O": "Python objects", "S": "bytes", "U": "strings", "V": "structured records"}[raw.dtype.kind]
        raise ValueError(f"{name} must be a numeric array, got {kind} (dtype {raw.dtype})")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {raw.dtype}")
    try:
        a = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array ({exc})") from None
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def check_nonneg(name: str, value: Any) -> float:
    """``value`` as a float that is finite and >= 0, or a ValueError naming ``name``.

    Strings and bools are refused (a number is expected, not text that parses as one).
    """
    if isinstance(value, (bool, str, bytes, np.bool_)):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (bools refused), or a ValueError naming ``name``."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and int(value) >= minimum
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
