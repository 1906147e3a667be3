"""Tidy result files: CSV with a header plus a JSON sidecar of the parameters.

A file read alone says what it is (docs/architecture.md): ``write_table(path, columns,
params)`` writes ``path`` (CSV) and ``path.with_suffix('.json')`` holding the
parameters and column descriptions; ``read_table`` reads both back.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

__all__ = ["write_table", "read_table", "sidecar_path"]


def sidecar_path(path) -> Path:
    return Path(path).with_suffix(".json")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    return x


def write_table(path, columns: dict, params: dict | None = None, descriptions: dict | None = None) -> Path:
    """Write equal-length ``columns`` (name -> sequence) as CSV, and the JSON sidecar."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(columns)
    data = [list(np.asarray(columns[n]).tolist()) for n in names]
    lengths = {len(d) for d in data}
    if len(lengths) > 1:
        raise ValueError(f"columns of {path.name} have different lengths {sorted(lengths)}")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in zip(*data):
            w.writerow([repr(x) if isinstance(x, float) else x for x in row])
    tmp.replace(path)
    meta = {"file": path.name, "columns": names, "params": _jsonable(params or {})}
    if descriptions:
        meta["descriptions"] = descriptions
    sidecar_path(path).write_text(json.dumps(meta, indent=2) + "\n")
    return path


def read_table(path) -> tuple[dict, dict]:
    """(columns, params) of a table written by :func:`write_table`; numbers become floats."""
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{path} is empty")
    names, body = rows[0], rows[1:]
    cols = {}
    for j, n in enumerate(names):
        vals = [r[j] for r in body]
        try:
            cols[n] = np.array([float(x) for x in vals])
        except ValueError:
            cols[n] = np.array(vals, dtype=object)
    side = sidecar_path(path)
    params = json.loads(side.read_text())["params"] if side.exists() else {}
    return cols, params
