"""Shared matplotlib setup for the figure functions."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot with a non-interactive backend unless one is already active."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover - a backend is already in use
            pass
    import matplotlib.pyplot as plt

    return plt


def save(fig, path, pdf: bool = False):
    """Save a figure as PNG (and PDF beside it on request), then close it."""

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    if pdf:
        fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
