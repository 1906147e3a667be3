"""The one figure style of statmech: how each pruning scheme looks, and how theory, simulation and published values look.

Every figure function in :mod:`statmech.plots` draws through this module, so a
scheme has the same colour, marker and line style in every figure.

Schemes (:data:`SCHEME_STYLE`):

- colours from the Okabe-Ito palette (distinguishable with the common colour-vision
  deficiencies): node schemes in blues and green, edge schemes in vermillion, orange, purple;
- markers: node schemes the round/square family (``o``, ``s``, ``D``), edge schemes the
  triangle family (``^``, ``v``, ``>``);
- line styles: the selection rule, so that random / importance / DPP stay apart in greyscale:
  random dashed, importance dash-dot, DPP solid.

Sources (:func:`theory_line`, :func:`simulation_points`, :func:`published_points`):

- theory (N -> infinity, ODE): a line in the scheme's colour and line style, no marker;
- simulation (finite N, SGD, real masks): filled markers of the scheme's shape with error bars
  (mean +- one standard error); joined by a thin line only where no theory line is drawn;
- published (read off the paper's figure): hollow markers of the same shape, larger, with
  their own legend entry (:func:`source_handles`).

A second variable drawn in the same axes (the label noise sigma in F1) takes the tone: sigma = 0
in the full colour, sigma = 0.25 lighter (:func:`tint`); legends say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.vocabulary import (
    DPP_EDGE,
    DPP_NODE,
    EDGE_LSQ,
    FUSE_ACTIVATION,
    FUSE_PREACTIVATION,
    IMPORTANCE_EDGE,
    IMPORTANCE_NODE,
    NO_REWEIGHT,
    OPTIMAL_READOUT,
    RANDOM_EDGE,
    RANDOM_NODE,
    SCHEMES,
)
from statmech.plots._style import pyplot, save

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.container import ErrorbarContainer
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D

__all__ = [
    "Style",
    "SCHEME_STYLE",
    "UNPRUNED",
    "SERIES",
    "REWEIGHT_LINES",
    "SIGMA_TONE",
    "THEORY_LW",
    "SIM_MS",
    "PUB_MS",
    "pyplot",
    "save",
    "scheme_style",
    "scheme_label",
    "series_style",
    "tint",
    "sigma_tone",
    "theory_line",
    "simulation_points",
    "published_points",
    "scheme_handles",
    "source_handles",
    "integer_axis",
    "integer_ticks_if_integral",
    "legend_outside",
    "config_label",
]


@dataclass(frozen=True)
class Style:
    """Colour, marker, line style and legend label of one scheme (or one series)."""

    color: str
    marker: str
    linestyle: object
    label: str


_RANDOM_LS, _IMPORTANCE_LS, _DPP_LS = (0, (5, 2)), "-.", "-"
SCHEME_STYLE: dict[str, Style] = {
    RANDOM_NODE: Style("#0072B2", "o", _RANDOM_LS, "random node"),
    IMPORTANCE_NODE: Style("#56B4E9", "s", _IMPORTANCE_LS, "importance node"),
    DPP_NODE: Style("#009E73", "D", _DPP_LS, "DPP node"),
    RANDOM_EDGE: Style("#D55E00", "^", _RANDOM_LS, "random edge"),
    IMPORTANCE_EDGE: Style("#E69F00", "v", _IMPORTANCE_LS, "importance edge"),
    DPP_EDGE: Style("#CC79A7", ">", _DPP_LS, "DPP edge"),
}

UNPRUNED = Style("0.15", "*", (0, (1, 1.5)), "unpruned")
# series that are not schemes (sigma, N, learning-rate lines): colour, marker and line style change together
SERIES = (
    Style("#000000", "o", "-", ""),
    Style("#D55E00", "s", (0, (5, 2)), ""),
    Style("#0072B2", "^", "-.", ""),
    Style("#009E73", "D", (0, (1, 1.5)), ""),
    Style("#CC79A7", "v", (0, (8, 2, 1, 2)), ""),
)
# reweighting after pruning: the line style and the marker fill (never hollow: hollow means published)
REWEIGHT_LINES: dict[str, tuple[Any, Literal["full", "left", "right", "bottom", "top", "none"]]] = {
    NO_REWEIGHT: ("-", "full"),
    FUSE_PREACTIVATION: ((0, (5, 2)), "left"),
    FUSE_ACTIVATION: ((0, (1, 1.5)), "bottom"),
    OPTIMAL_READOUT: ("-.", "top"),
    EDGE_LSQ: ((0, (5, 2)), "left"),
}
SIGMA_TONE = {0.0: 0.0, 0.25: 0.5}  # fraction of white mixed in
THEORY_LW = 1.5
SIM_MS = 4.5
PUB_MS = 7.0


def scheme_style(scheme: str) -> Style:
    """The style of ``scheme`` (a name of statmech.core.vocabulary.SCHEMES, or ``"unpruned"``).

    A label that starts with a scheme name (``"dpp-node, optimal"``) gets that scheme's style.
    """
    if scheme in SCHEME_STYLE:
        return SCHEME_STYLE[scheme]
    if scheme == "unpruned":
        return UNPRUNED
    for name in sorted(SCHEME_STYLE, key=len, reverse=True):
        if scheme.startswith(name):
            return SCHEME_STYLE[name]
    raise ValueError(f"scheme must be one of {', '.join(SCHEMES)} or 'unpruned'; got {scheme!r}")


def scheme_label(scheme: str) -> str:
    return scheme_style(scheme).label


def series_style(i: int) -> Style:
    """The ``i``-th style for series that are not schemes (cycles after len(SERIES))."""
    return SERIES[int(i) % len(SERIES)]


def tint(color: str | tuple[float, float, float], amount: float) -> tuple[float, float, float]:
    """``color`` mixed with ``amount`` (0..1) of white: an RGB tuple."""
    from matplotlib.colors import to_rgb

    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must lie in [0, 1]; got {amount!r}")
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def sigma_tone(sigma: float) -> float:
    """White mixed into a scheme's colour for the label-noise level ``sigma`` (0: full colour)."""
    return SIGMA_TONE.get(float(sigma), 0.5 if sigma else 0.0)


def _resolve(scheme: str | None, style: Style | None) -> Style:
    if style is None and scheme is None:
        raise ValueError("give scheme or style")
    if style is not None:
        return style
    assert scheme is not None  # one of the two is given (checked above)
    return scheme_style(scheme)


def theory_line(
    ax: Axes,
    x: ArrayLike,
    y: ArrayLike,
    scheme: str | None = None,
    *,
    style: Style | None = None,
    tone: float = 0.0,
    label: str | None = None,
    **kw: Any,
) -> Line2D:
    """Theory (N -> infinity or ODE): a line in the scheme's colour and line style, no marker."""
    st = _resolve(scheme, style)
    kw.setdefault("lw", THEORY_LW)
    kw.setdefault("ls", st.linestyle)
    return ax.plot(np.asarray(x, float), np.asarray(y, float), color=tint(st.color, tone), label=label, **kw)[0]


def simulation_points(
    ax: Axes,
    x: ArrayLike,
    y: ArrayLike,
    yerr: ArrayLike | None = None,
    scheme: str | None = None,
    *,
    style: Style | None = None,
    tone: float = 0.0,
    label: str | None = None,
    join: bool = False,
    **kw: Any,
) -> ErrorbarContainer:
    """Simulation: filled markers of the scheme's shape, +- ``yerr`` (one standard error) as error bars.

    ``join``: a thin line in the scheme's line style through the points (only where no theory line is drawn).
    """
    st = _resolve(scheme, style)
    col = tint(st.color, tone)
    x, y = np.asarray(x, float), np.asarray(y, float)
    yerr = None if yerr is None else np.nan_to_num(np.asarray(yerr, float))
    kw.setdefault("ms", SIM_MS)
    kw.setdefault("capsize", 2)
    kw.setdefault("elinewidth", 0.9)
    kw.setdefault("mec", tint("k", 0.4 if tone else 0.0))
    kw.setdefault("mew", 0.5)
    kw.setdefault("marker", st.marker)
    if join:
        kw.setdefault("ls", st.linestyle)
        kw.setdefault("lw", 1.0)
    else:
        kw["ls"] = "none"
    return ax.errorbar(x, y, yerr=yerr, color=col, mfc=col, ecolor=col, label=label, **kw)


def published_points(
    ax: Axes,
    x: ArrayLike,
    y: ArrayLike,
    scheme: str | None = None,
    *,
    style: Style | None = None,
    tone: float = 0.0,
    label: str | None = None,
    **kw: Any,
) -> Line2D:
    """Published values: hollow markers of the scheme's shape (larger than the simulation markers)."""
    st = _resolve(scheme, style)
    kw.setdefault("ms", PUB_MS)
    kw.setdefault("mew", 1.3)
    return ax.plot(
        np.asarray(x, float),
        np.asarray(y, float),
        ls="none",
        marker=st.marker,
        mfc="none",
        mec=tint(st.color, tone),
        label=label,
        **kw,
    )[0]


def scheme_handles(schemes: Iterable[str], *, lines: bool = True, markers: bool = True) -> list[Line2D]:
    """Legend handles, one per scheme, showing its colour, marker and line style."""
    from matplotlib.lines import Line2D

    out = []
    for s in schemes:
        st = scheme_style(s)
        out.append(
            Line2D(
                [],
                [],
                color=st.color,
                ls=st.linestyle if lines else "none",
                lw=THEORY_LW,
                marker=st.marker if markers else None,
                ms=SIM_MS,
                mec="k",
                mew=0.5,
                label=st.label,
            )
        )
    return out


def source_handles(
    *,
    theory: str | None = "theory",
    simulation: str | None = r"simulation $\pm$ s.e.",
    published: str | None = "published",
    tone: Mapping[str, float] | None = None,
) -> list[Line2D]:
    """Legend handles for the three sources in neutral grey; pass None to leave one out.

    ``tone``: optional {label suffix: white fraction} adding the sigma tones (e.g. F1's two sigmas).
    """
    from matplotlib.lines import Line2D

    out = []
    if theory:
        out.append(Line2D([], [], color="0.2", lw=THEORY_LW, label=f"{theory} (line)"))
    if simulation:
        out.append(
            Line2D(
                [], [], color="0.45", ls="none", marker="o", ms=SIM_MS, mec="k", mew=0.5, label=f"{simulation} (filled)"
            )
        )
    if published:
        out.append(
            Line2D(
                [],
                [],
                color="0.2",
                ls="none",
                marker="o",
                ms=PUB_MS,
                mfc="none",
                mew=1.3,
                label=f"{published} (hollow)",
            )
        )
    for lab, t in (tone or {}).items():
        out.append(Line2D([], [], color=tint("0.1", t), lw=4, label=lab))
    return out


def integer_axis(axis: Axis) -> None:
    """Only integer ticks on ``axis`` (ax.xaxis / ax.yaxis): budgets, counts."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def integer_ticks_if_integral(ax: Axes, values: ArrayLike, which: str = "x") -> bool:
    """Integer ticks on the linear ``which`` axis when every value drawn there is an integer."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    axis = ax.xaxis if which == "x" else ax.yaxis
    scale = ax.get_xscale() if which == "x" else ax.get_yscale()
    if v.size and scale == "linear" and np.all(v == np.round(v)):
        integer_axis(axis)
        return True
    return False


def legend_outside(
    ax: Axes, handles: Sequence[Any] | None = None, labels: Sequence[str] | None = None, **kw: Any
) -> Legend:
    """A legend to the right of ``ax``, outside the axes (never over the data)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    elif labels is None:
        labels = [h.get_label() for h in handles]
    kw.setdefault("fontsize", 7.5)
    kw.setdefault("frameon", False)
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)


def config_label(name: str, K: int | None = None, M: int | None = None) -> str:
    """``"K:M = 6:2"``: one convention (K student units, M teacher units) for the paper's configurations.

    The paper labels its second configuration "5:20" (M:K); it reads ``"K:M = 20:5 (paper's 5:20)"``.
    """
    if K is None or M is None:
        return str(name)
    lab = f"K:M = {int(K)}:{int(M)}"
    return lab if str(name) == f"{int(K)}:{int(M)}" else f"{lab} (paper's {name})"
