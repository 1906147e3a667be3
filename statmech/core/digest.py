"""A digest of statmech's own source files: the key of every on-disk cache of computed results.

A cache keyed by its inputs alone serves stale results after the code that
computed them changed; keyed also by this digest, an edit to any source that
can have contributed starts a fresh cache (compiled kernels in
:mod:`statmech.core.numba_cache`, the paper's stages in
:mod:`statmech.experiments.paper`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["source_digest", "PACKAGE_ROOT"]

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def source_digest(
    *, packages: Iterable[str] | None = None, containing: bytes | None = None, exclude: Iterable[str] = ()
) -> str:
    """A 16-hex-digit SHA-256 of the relative path and bytes of statmech's .py files, in path order.

    ``packages``: only files under these subpackages of statmech (e.g. ``("ode", "sim")``;
    None: every file); ``containing``: only files whose bytes contain this; ``exclude``:
    file names left out.
    """
    wanted = None if packages is None else set(packages)
    skip = set(exclude)
    h = hashlib.sha256()
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        rel = path.relative_to(PACKAGE_ROOT)
        if wanted is not None and (len(rel.parts) < 2 or rel.parts[0] not in wanted):
            continue
        if path.name in skip:
            continue
        text = path.read_bytes()
        if containing is not None and containing not in text:
            continue
        h.update(str(rel).encode())
        h.update(text)
    return h.hexdigest()[:16]
