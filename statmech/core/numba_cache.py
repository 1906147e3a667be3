"""Where numba's on-disk cache of statmech's compiled functions lives.

numba's ``cache=True`` invalidates a cached function only when its own source
file changes: a caller in an unchanged file keeps the compiled code of an
edited kernel it calls (found here when a Gaussian-integral kernel was
replaced). To make stale machine code impossible, the cache directory is keyed
by a digest of every statmech source file that uses numba (only those can end
up in compiled code), so an edit to any of them starts a fresh cache. A user
who sets ``NUMBA_CACHE_DIR`` keeps full control. Must run before any module
with ``@njit(cache=True)`` is imported (numba reads the directory when a
function is decorated).
"""

from __future__ import annotations

import os
from pathlib import Path

from numba import config

from statmech.core import digest


def source_digest() -> str:
    """The digest of every statmech .py file that mentions numba (:func:`statmech.core.digest.source_digest`)."""
    return digest.source_digest(containing=b"numba", exclude=("numba_cache.py",))


def configure() -> str | None:
    """Point numba's cache at ~/.cache/statmech/numba/<digest> unless NUMBA_CACHE_DIR is set."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "statmech" / "numba"
    path = base / source_digest()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # unwritable home: numba falls back to __pycache__ beside the sources

    config.CACHE_DIR = str(path)  # type: ignore[attr-defined]  # numba.config sets its attributes at run time
    return str(path)


CACHE_DIR = configure()
