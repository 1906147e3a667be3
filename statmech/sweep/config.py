"""Sweep configuration: a small TOML file expanded into a list of runs.

A config names an ``engine``, the quantities to ``record``, ``[fixed]``
parameters, ``[axes]`` (their Cartesian product is the grid), optional
``[[runs]]`` (an explicit list of parameter sets, each crossed with the grid)
and ``[derived]`` parameters computed from the others by a small arithmetic
expression (``K = "z * M"``). Example::

    engine = "ode"
    record = ["eps_g"]

    [fixed]
    M = 2
    alpha_max = 200.0

    [axes]
    z = [1, 2, 3]                        # a helper parameter, used by [derived]
    eta = { geomspace = [0.1, 1.0, 4] }  # also: linspace = [a, b, n], range = [a, b]

    [derived]
    K = "z * M"

Every problem (malformed TOML, unknown key or engine, an axis with no values,
a parameter the engine does not know, a value out of range) is a
``ValueError`` naming the key, raised by :func:`load_config` before anything
runs. Each run has a stable id: a hash of the engine name and its parameters
(:func:`run_id`), so a rerun of the same config finds what is done.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import math
import operator
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

from statmech.sweep.engines import get_engine

__all__ = ["SweepConfig", "Run", "load_config", "parse_config", "run_id"]

TOP_LEVEL_KEYS = ("engine", "record", "description", "fixed", "axes", "runs", "derived")
MAX_RUNS = 10**6  # runs of one sweep (each a row group of the results table): counted before the grid is built


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id and its full parameter set (engine parameters and helpers)."""

    id: str
    params: dict


@dataclass
class SweepConfig:
    """A validated sweep: engine, record list, and the expanded runs (in config order)."""

    engine: str
    record: list
    runs: list
    param_names: list
    raw: dict = field(repr=False)
    text: str = field(default="", repr=False)
    description: str = ""

    def __len__(self) -> int:
        return len(self.runs)


def run_id(engine: str, params: dict) -> str:
    """Stable id of a run: the first 16 hex digits of sha256 over the engine and its sorted parameters (JSON)."""
    blob = json.dumps({"engine": engine, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep config file (TOML); see the module docstring for its shape."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist (or is not a regular file)")
    return parse_config(path.read_text(), source=str(path))


def parse_config(text: str, source: str = "<config>") -> SweepConfig:
    """Validate TOML ``text`` and expand it into runs (a ``ValueError`` naming the key on any problem)."""
    if tomllib is None:  # pragma: no cover
        raise ValueError("reading TOML needs Python >= 3.11 (tomllib) or the 'tomli' package")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: malformed TOML: {exc}") from None
    cfg = _expand(raw, source)
    cfg.text = text
    return cfg


# ------------------------------------------------------------------ expansion
def _expand(raw: dict, source: str) -> SweepConfig:
    unknown = [k for k in raw if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise ValueError(f"{source}: unknown top-level key {unknown[0]!r} (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    if "engine" not in raw:
        raise ValueError(f"{source}: missing key 'engine'")
    engine = get_engine(raw["engine"])  # ValueError naming the unknown engine
    record = raw.get("record", list(engine.default_record))
    if isinstance(record, str):
        record = [record]
    if not isinstance(record, list) or not record:
        raise ValueError(f"{source}: 'record' must be a non-empty list of quantity names")
    for q in record:
        if q not in engine.quantities:
            raise ValueError(
                f"{source}: record: unknown quantity {q!r} for engine {engine.name!r} "
                f"(available: {', '.join(engine.quantities)})"
            )
    if len(set(record)) != len(record):
        raise ValueError(f"{source}: 'record' lists a quantity twice")
    description = raw.get("description", "")

    fixed = _table(raw, "fixed", source)
    axes_raw = _table(raw, "axes", source)
    derived = _table(raw, "derived", source)
    runs_raw = raw.get("runs", [{}])
    if not isinstance(runs_raw, list) or not all(isinstance(r, dict) for r in runs_raw):
        raise ValueError(f"{source}: 'runs' must be an array of tables ([[runs]])")
    if not runs_raw:
        raise ValueError(f"{source}: 'runs' is empty: give at least one [[runs]] table or leave it out")

    axes = {name: _axis_values(name, spec, source) for name, spec in axes_raw.items()}
    for name, expr in derived.items():
        if not isinstance(expr, str):
            raise ValueError(f'{source}: derived.{name} must be an expression string like "z * M"')
    _no_overlap(source, fixed=fixed, axes=axes, derived=derived)
    for i, r in enumerate(runs_raw):
        for name in r:
            if name in axes or name in derived:
                raise ValueError(f"{source}: runs[{i}].{name} is also an axis or a derived parameter")

    # helper parameters (like z) are allowed only when a derived expression uses them
    used_by_derived = set()
    parsed = {}
    for name, expr in derived.items():
        tree = _parse_expr(f"derived.{name}", expr, source)
        parsed[name] = tree
        used_by_derived |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}

    names = list(dict.fromkeys(list(fixed) + list(axes) + [k for r in runs_raw for k in r] + list(derived)))
    for name in names:
        if name not in engine.params and name not in used_by_derived:
            raise ValueError(
                f"{source}: parameter {name!r} does not exist for engine {engine.name!r} "
                f"(known: {', '.join(engine.params)}; other names must be used in [derived])"
            )

    # every axis value checked alone and the grid counted before any run is built
    for name, values in axes.items():
        spec = engine.params.get(name)
        if spec is not None:
            for value in values:
                spec.coerce(name, value, f"{source}: axes.{name}")
    size = len(runs_raw) * math.prod(len(v) for v in axes.values())
    if size > MAX_RUNS:
        shape = " x ".join(f"{len(v)} ({k})" for k, v in axes.items())
        raise ValueError(
            f"{source}: the grid has {size} runs ({len(runs_raw)} [[runs]] x {shape}), more than the "
            f"{MAX_RUNS} a sweep holds; split it into several sweeps"
        )
    runs, seen = [], set()
    grid = itertools.product(*axes.values()) if axes else [()]
    if len(runs_raw) > 1:
        grid = list(grid)
    for r in runs_raw:
        for point in grid:
            p = dict(fixed)
            p.update(r)
            p.update(zip(axes.keys(), point))
            for name, tree in parsed.items():
                p[name] = _eval(tree, p, f"derived.{name}", source)
            p = {k: p[k] for k in names if k in p}
            p = engine.coerce(p, source)  # ValueError naming a bad value
            rid = run_id(engine.name, p)
            if rid in seen:
                continue  # the same parameter set twice (e.g. a [[runs]] repeating a grid point)
            seen.add(rid)
            runs.append(Run(rid, p))
    return SweepConfig(
        engine=engine.name, record=list(record), runs=runs, param_names=names, raw=raw, description=str(description)
    )


def _table(raw, key, source) -> dict:
    t = raw.get(key, {})
    if not isinstance(t, dict):
        raise ValueError(f"{source}: '{key}' must be a table ([{key}])")
    return t


def _no_overlap(source, **tables):
    owner = {}
    for tname, t in tables.items():
        for name in t:
            if name in owner:
                raise ValueError(f"{source}: parameter {name!r} is given in both [{owner[name]}] and [{tname}]")
            owner[name] = tname


def _axis_values(name, spec, source) -> list:
    where = f"{source}: axes.{name}"
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict):
        if len(spec) != 1:
            raise ValueError(f"{where}: give a list of values or one of linspace/geomspace/range")
        ((kind, args),) = spec.items()
        if kind not in ("linspace", "geomspace", "range"):
            raise ValueError(f"{where}: unknown generator {kind!r} (allowed: linspace, geomspace, range)")
        if not isinstance(args, list) or not all(isinstance(a, (int, float)) for a in args):
            raise ValueError(f"{where}.{kind} must be a list of numbers")
        if kind == "range":
            if len(args) not in (1, 2, 3) or not all(isinstance(a, int) for a in args):
                raise ValueError(f"{where}.range must be [stop], [start, stop] or [start, stop, step] integers")
            if len(args) == 3 and args[2] == 0:
                raise ValueError(f"{where}.range: the step must not be 0")
            lazy = range(*args)
            if len(lazy) > MAX_RUNS:
                raise ValueError(
                    f"{where}.range = {args} gives {len(lazy)} values, more than the {MAX_RUNS} a sweep holds"
                )
            values = list(lazy)
        else:
            if len(args) != 3 or not isinstance(args[2], int) or args[2] < 1:
                raise ValueError(f"{where}.{kind} must be [start, stop, n] with an integer n >= 1")
            if args[2] > MAX_RUNS:
                raise ValueError(f"{where}.{kind}: n = {args[2]} values, more than the {MAX_RUNS} a sweep holds")
            if not all(math.isfinite(a) for a in args[:2]):
                raise ValueError(f"{where}.{kind}: start and stop must be finite, got {args[:2]}")
            a, b, n = float(args[0]), float(args[1]), args[2]
            if kind == "geomspace" and (a <= 0 or b <= 0):
                raise ValueError(f"{where}.geomspace needs start and stop > 0")
            if n == 1:
                values = [a]
            elif kind == "linspace":
                values = [a + (b - a) * i / (n - 1) for i in range(n)]
            else:
                values = [a * (b / a) ** (i / (n - 1)) for i in range(n)]
            # 12 significant digits: grid points have short, reproducible decimal forms (stable run ids)
            values = [float(f"{x:.12g}") for x in values]
    else:
        raise ValueError(f"{where} must be a list of values, got {type(spec).__name__}")
    if not values:
        raise ValueError(f"{where} has no values")
    return values


# --------------------------------------------------- derived-parameter expressions
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCS = {
    "round": round,
    "int": int,
    "float": float,
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "ceil": math.ceil,
    "floor": math.floor,
    "log": math.log,
    "exp": math.exp,
}


def _parse_expr(where, expr, source):
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"{source}: {where}: cannot parse expression {expr!r}") from None
    for node in ast.walk(tree):
        ok = (
            isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Call))
            or type(node) in _BINOPS
            or type(node) in _UNARY
            or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)))
        )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords
        ):
            ok = False
        if not ok:
            raise ValueError(
                f"{source}: {where}: only arithmetic on parameters and numbers, and the functions "
                f"{', '.join(_FUNCS)} are allowed, got {expr!r}"
            )
    return tree


def _eval(tree, params, where, source):
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in _FUNCS:
                return _FUNCS[node.id]
            if node.id not in params:
                raise ValueError(f"{source}: {where}: unknown parameter {node.id!r}")
            return params[node.id]
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Call):
            return ev(node.func)(*[ev(a) for a in node.args])
        raise ValueError(f"{source}: {where}: unsupported expression")  # pragma: no cover

    try:
        value = ev(tree)
    except (ArithmeticError, TypeError) as exc:
        raise ValueError(f"{source}: {where}: {exc}") from None
    # an integral float (3.0 from z * M) becomes an int so that integer parameters accept it
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return value
