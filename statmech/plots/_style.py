"""Shared matplotlib setup for the figure functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from statmech.core.io import atomic_write


def pyplot() -> Any:
    """matplotlib.pyplot with a non-interactive backend unless one is already active."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover - a backend is already in use
            pass
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str | Path, pdf: bool = False) -> Path:
    """Save a figure as PNG (and PDF beside it on request), each written atomically, then close it."""

    path = Path(path)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=path.suffix.lstrip(".") or "png", dpi=150, bbox_inches="tight")
    if pdf:
        with atomic_write(path.with_suffix(".pdf"), "wb") as fh:
            fig.savefig(fh, format="pdf", bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
