"""Selecting and grouping a sweep table (columns as numpy arrays, from :func:`read_results`).

Plain bookkeeping for figures and notebooks: filter rows, average over repeated
points (seeds) with the standard error of the mean, and pivot two parameters
into a matrix for a heatmap.

A per-unit parameter (``vstar``) is one column: a number where one value holds
for every unit, else the values separated by spaces (``"2.0 1.0"``). A column
of numbers only is read as floats, one with a list as strings: select such rows
with the same text (``select(t, {"vstar": "2.0 1.0"})``, :func:`format_units`)
and read the values with :func:`unit_values`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["select", "final_rows", "aggregate", "pivot", "difference", "format_units", "unit_values"]


def format_units(value: float | Sequence[float]) -> str:
    """The table entry of a per-unit parameter: repr of the number, or the numbers' reprs joined by spaces."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return repr(float(arr))
    return " ".join(repr(float(x)) for x in arr.ravel())


def unit_values(column: Sequence) -> list[np.ndarray]:
    """Each entry of a per-unit column (a float, or text as written by :func:`format_units`) as a float array."""
    out = []
    for x in column:
        if isinstance(x, str):
            try:
                out.append(np.array([float(t) for t in x.split()], dtype=np.float64))
            except ValueError:
                raise ValueError(f"{x!r} is not a list of numbers separated by spaces") from None
        else:
            out.append(np.array([float(x)], dtype=np.float64))
    return out


def _n(table) -> int:
    return len(next(iter(table.values()))) if table else 0


def _match(col, value):
    if callable(value):
        return np.array([bool(value(x)) for x in col])
    if col.dtype == object:  # text columns: scheme names, and per-unit columns holding a list somewhere
        if isinstance(value, (list, tuple, set)):
            return np.any([_match(col, v) for v in value], axis=0)
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            return col == format_units(value)
        return col == str(value)
    if isinstance(value, (list, tuple, set)):
        return np.any([np.isclose(col, float(v), rtol=1e-12, atol=0) for v in value], axis=0)
    return np.isclose(col, float(value), rtol=1e-12, atol=0)


def select(table: dict, where: dict | None = None, *, status: str | None = "ok") -> dict:
    """Rows whose columns match ``where`` (name -> value, list of values, or predicate), and ``status``."""
    keep = np.ones(_n(table), dtype=bool)
    if status is not None and "status" in table:
        keep &= table["status"] == status
    for name, value in (where or {}).items():
        if name not in table:
            raise ValueError(f"where: no column {name!r} in the table (columns: {', '.join(table)})")
        keep &= _match(table[name], value)
    return {k: v[keep] for k, v in table.items()}


def final_rows(table: dict) -> dict:
    """The last row of every run (for a learning curve: the value at the last saved time)."""
    if "row" not in table:
        return table
    keep = table["row"] == table["nrows"] - 1
    return {k: v[keep] for k, v in table.items()}


def aggregate(table: dict, by: str | Sequence[str], y: str = "eps_g") -> dict:
    """Mean, standard error and count of ``y`` over rows sharing the values of the ``by`` columns.

    Returns a dict with one array per ``by`` column (the distinct combinations,
    sorted) and ``mean``, ``sem`` (standard deviation / sqrt(n), 0 when n = 1), ``n``.
    NaN values of ``y`` (failed runs) are left out.
    """
    by = [by] if isinstance(by, str) else list(by)
    for name in by + [y]:
        if name not in table:
            raise ValueError(f"no column {name!r} in the table (columns: {', '.join(table)})")
    vals = np.asarray(table[y], dtype=np.float64)
    ok = np.isfinite(vals)
    keys = list(zip(*[table[b][ok] for b in by])) if by else [()] * int(ok.sum())
    groups: dict = {}
    for key, val in zip(keys, vals[ok]):
        groups.setdefault(key, []).append(val)
    order = sorted(
        groups, key=lambda k: tuple((0, x) if isinstance(x, (int, float, np.floating)) else (1, str(x)) for x in k)
    )
    out = {b: np.array([k[i] for k in order]) for i, b in enumerate(by)}
    out["mean"] = np.array([np.mean(groups[k]) for k in order])
    out["sem"] = np.array(
        [np.std(groups[k], ddof=1) / np.sqrt(len(groups[k])) if len(groups[k]) > 1 else 0.0 for k in order]
    )
    out["n"] = np.array([len(groups[k]) for k in order])
    return out


def pivot(table: dict, x: str, y: str, value: str = "eps_g") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, Z) with Z[j, i] the mean of ``value`` at x = xs[i], y = ys[j] (NaN where no run)."""
    agg = aggregate(table, [x, y], value)
    xs, ys = np.unique(agg[x]), np.unique(agg[y])
    Z = np.full((len(ys), len(xs)), np.nan)
    for xv, yv, m in zip(agg[x], agg[y], agg["mean"]):
        Z[np.searchsorted(ys, yv), np.searchsorted(xs, xv)] = m
    return xs, ys, Z


def difference(
    table: dict, x: str, y: str, *, between: str, a: object, b: object, value: str = "eps_g"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, D) with D = mean ``value`` where ``between`` == a minus where it == b, on the (x, y) grid.

    For claim C2: ``between="scheme", a=RANDOM_EDGE, b=DPP_NODE`` (the vocabulary's names); D < 0 where random edge wins.
    """
    xa, ya, Za = pivot(select(table, {between: a}, status=None), x, y, value)
    xb, yb, Zb = pivot(select(table, {between: b}, status=None), x, y, value)
    if not (np.array_equal(xa, xb) and np.array_equal(ya, yb)):
        raise ValueError(f"the grids of {between}={a!r} and {between}={b!r} differ; select a common grid first")
    return xa, ya, Za - Zb
