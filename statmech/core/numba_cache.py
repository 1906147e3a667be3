"""Where numba's on-disk cache of statmech's compiled functions lives.

numba's ``cache=True`` invalidates a cached function only when its own source
file changes: a caller in an unchanged file keeps the compiled code of an
edited kernel it calls (found here when a Gaussian-integral kernel was
replaced). To make stale machine code impossible, the cache directory is keyed
by a digest of every statmech source file that uses numba (only those can end
up in compiled code), so an edit to any of them starts a fresh cache. A user
who sets ``NUMBA_CACHE_DIR`` keeps full control. Must run before any module
with ``@njit(cache=True)`` is imported (numba reads the directory when a
function is decorated). When numba is not imported yet the directory is
handed over as ``NUMBA_CACHE_DIR`` (numba reads it on import; worker processes
inherit it), so importing statmech does not import numba.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from statmech.core import digest


def source_digest() -> str:
    """The digest of every statmech .py file that mentions numba (:func:`statmech.core.digest.source_digest`)."""
    return digest.source_digest(containing=b"numba", exclude=("numba_cache.py",))


def configure() -> str | None:
    """Point numba's cache at ~/.cache/statmech/numba/<digest> unless the user set NUMBA_CACHE_DIR."""
    if os.environ.get("NUMBA_CACHE_DIR") and not os.environ.get("STATMECH_NUMBA_CACHE_SET"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "statmech" / "numba"
    path = base / source_digest()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # unwritable home: numba falls back to __pycache__ beside the sources

    if "numba" in sys.modules:  # numba read its configuration already: set it there
        from numba import config

        config.CACHE_DIR = str(path)  # type: ignore[attr-defined]  # numba.config sets its attributes at run time
    else:
        os.environ["NUMBA_CACHE_DIR"] = str(path)
        os.environ["STATMECH_NUMBA_CACHE_SET"] = "1"  # ours, not the user's: a child process recomputes it
    return str(path)


CACHE_DIR = configure()
