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

import hashlib
import os
from pathlib import Path

from numba import config


def source_digest() -> str:
    """A short hash of every statmech .py file that mentions numba (path and contents)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        text = path.read_bytes()
        if b"numba" in text and path.name != "numba_cache.py":
            h.update(str(path.relative_to(root)).encode())
            h.update(text)
    return h.hexdigest()[:16]


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

    config.CACHE_DIR = str(path)
    return str(path)


CACHE_DIR = configure()
