"""Engines a sweep can run: each is a named function of one parameter set.

An :class:`Engine` declares its parameters (type, default, allowed range), the
quantities it can record, and the keys that index the rows of one run (``alpha``
for a learning curve: one row per saved time). Its function takes the coerced
parameters and the record list and returns an :class:`Outcome`: the rows, a
status (0 done, 1 interrupted, -1 failed) and a message. Engines import the
heavy parts of the library inside their function, so that the config can be
validated cheaply and workers import only what they run.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable

__all__ = ["Engine", "Param", "Outcome", "ENGINES", "get_engine", "register_engine"]

ACTIVATIONS = ("erf", "linear", "relu")


@dataclass(frozen=True)
class Param:
    """A parameter: ``kind`` in int, float, str, floats (a list of floats), bool; ``choices`` or ``check``."""

    kind: str
    default: object = None
    doc: str = ""
    choices: tuple = ()
    minimum: float | None = None
    exclusive: bool = False  # minimum excluded (> rather than >=)

    def coerce(self, name, value, where):
        bad = f"{where}: parameter {name!r}"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"{bad} must be an integer, got {value!r}")
            value = int(value)
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{bad} must be a finite number, got {value!r}")
            value = float(value)
        elif self.kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"{bad} must be a string, got {value!r}")
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{bad} must be true or false, got {value!r}")
        elif self.kind == "strs":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
                raise ValueError(f"{bad} must be a non-empty list of strings, got {value!r}")
            if len(set(value)) != len(value):
                raise ValueError(f"{bad} lists a value twice: {value!r}")
            for x in value:
                if self.choices and x not in self.choices:
                    raise ValueError(f"{bad} must hold values among {', '.join(self.choices)}, got {x!r}")
            return value
        elif self.kind == "floats":
            if not isinstance(value, list) or not value or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value):
                raise ValueError(f"{bad} must be a non-empty list of finite numbers, got {value!r}")
            value = [float(x) for x in value]
        if self.choices and value not in self.choices:
            raise ValueError(f"{bad} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        if self.minimum is not None:
            vals = value if isinstance(value, list) else [value]
            for x in vals:
                if x < self.minimum or (self.exclusive and x == self.minimum):
                    op = ">" if self.exclusive else ">="
                    raise ValueError(f"{bad} must be {op} {self.minimum:g}, got {x!r}")
        return value


@dataclass
class Outcome:
    """What one run returns: ``rows`` (dicts with the row keys and the recorded quantities), status, message."""

    rows: list
    status: int = 0
    message: str = ""


@dataclass(frozen=True)
class Engine:
    name: str
    params: dict
    quantities: tuple
    default_record: tuple
    row_keys: tuple
    function: Callable
    doc: str = ""
    check: Callable | None = None  # cross-parameter check(params, where) raising ValueError
    requires: tuple = ()  # modules the engine needs (checked when a config names the engine)

    def coerce(self, params: dict, where: str = "<config>") -> dict:
        """Engine parameters typed and range-checked (helper parameters pass through unchanged)."""
        out = {}
        for name, value in params.items():
            spec = self.params.get(name)
            out[name] = spec.coerce(name, value, where) if spec is not None else value
        if self.check is not None:
            self.check({**self.defaults(), **{k: v for k, v in out.items() if k in self.params}}, where)
        return out

    def defaults(self) -> dict:
        return {k: p.default for k, p in self.params.items()}

    def run(self, params: dict, record: list) -> Outcome:
        """Run with the engine defaults filled in (helper parameters are dropped)."""
        full = self.defaults()
        full.update({k: v for k, v in params.items() if k in self.params})
        return self.function(full, list(record))


ENGINES: dict = {}


def register_engine(engine: Engine) -> Engine:
    ENGINES[engine.name] = engine
    return engine


def get_engine(name) -> Engine:
    if not isinstance(name, str) or name not in ENGINES:
        raise ValueError(f"unknown engine {name!r} (available: {', '.join(ENGINES)})")
    engine = ENGINES[name]
    for module in engine.requires:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ValueError(f"engine {name!r} needs {module}, which cannot be imported here: {exc}") from None
    return engine


# ------------------------------------------------------------------------ ode
def _teacher_student_params(**overrides) -> dict:
    """Parameters of a teacher-student start shared by the engines (the paper's 6:2 values as defaults)."""
    p = {
        "K": Param("int", 6, "student hidden units", minimum=1),
        "M": Param("int", 2, "teacher hidden units", minimum=1),
        "N": Param("int", 500, "input dimension of the random initial weights", minimum=1),
        "seed": Param("int", 0, "seed of the random initial weights (State.random)"),
        "vstar": Param("float", 4.0, "teacher second-layer weight, every unit"),
        "eta": Param("float", 0.5, "first-layer learning rate (scaled eta/sqrt N)", minimum=0.0),
        "eta_v": Param("float", None, "second-layer learning rate (scaled eta_v/N); default = eta", minimum=0.0),
        "sigma": Param("float", 0.0, "output-noise standard deviation", minimum=0.0),
        "alpha_max": Param("float", 1600.0, "training time alpha = steps / N", minimum=0.0, exclusive=True),
        "activation": Param("str", "erf", "g(u)", choices=ACTIVATIONS),
    }
    p.update(overrides)
    return p


def _save_times(p) -> list:
    """Saved times: ``save_at`` if given, else ``points`` log-spaced times (ode.default_save_at), else alpha_max."""
    if p.get("save_at") is not None:
        return sorted(p["save_at"])
    if p.get("points") is not None:
        from ..ode import default_save_at

        return [float(a) for a in default_save_at(p["alpha_max"], p["points"])]
    return [float(p["alpha_max"])]


def _check_ode(p, where):
    if p.get("save_at") is not None and p.get("points") is not None:
        raise ValueError(f"{where}: give either 'save_at' or 'points', not both")
    if p.get("save_at") is not None:
        s = p["save_at"]
        if len(set(s)) != len(s) or min(s) < 0 or max(s) > p["alpha_max"] * (1 + 1e-12):
            raise ValueError(f"{where}: parameter 'save_at' must hold distinct times in [0, alpha_max="
                             f"{p['alpha_max']:g}], got {s}")
    if p["activation"] == "relu" and p.get("sigma", 0) < 0:  # pragma: no cover - covered by minimum
        raise ValueError(f"{where}: sigma must be >= 0")


def _initial_state(p):
    from ..state import State

    return State.random(p["K"], p["M"], p["N"], vstar=p["vstar"], seed=p["seed"])


def _run_ode(p, record) -> Outcome:
    """Learning curve from the order-parameter ODEs (theory.md section 4) via statmech.integrate."""
    from ..ode import integrate

    times = _save_times(p)
    res = integrate(_initial_state(p), eta=p["eta"], eta_v=p["eta_v"], sigma=p["sigma"],
                    alpha_max=p["alpha_max"], save_at=times, activation=p["activation"], method=p["method"],
                    dt=p["dt"], rtol=p["rtol"], atol=p["atol"], max_abs=p["max_abs"], progress=False)
    reached = {float(a): i for i, a in enumerate(res.alpha)}
    rows = []
    for a in times:  # every requested time gets a row; times a failed run never reached hold NaN
        i = reached.get(float(a))
        e = float(res.eps_g[i]) if i is not None else math.nan
        values = {"eps_g": e, "test_loss": e + 0.5 * p["sigma"] ** 2, "nfev": res.nfev,
                  "Q_diag_mean": float(res.Q[i].diagonal().mean()) if i is not None else math.nan,
                  "v_abs_mean": float(abs(res.v[i]).mean()) if i is not None else math.nan}
        rows.append({"alpha": float(a), **{q: values[q] for q in record}})
    return Outcome(rows, res.status, res.message)


register_engine(Engine(
    name="ode",
    doc="learning curve eps_g(alpha) of the order-parameter ODEs from State.random(K, M, N, vstar, seed)",
    params=_teacher_student_params(
        method=Param("str", "dopri5", "integrator", choices=("dopri5", "euler")),
        dt=Param("float", 0.01, "Euler step", minimum=0.0, exclusive=True),
        rtol=Param("float", 1e-8, "dopri5 relative tolerance", minimum=0.0, exclusive=True),
        atol=Param("float", 1e-10, "dopri5 absolute tolerance", minimum=0.0, exclusive=True),
        max_abs=Param("float", 1e6, "divergence threshold on |order parameters|", minimum=0.0, exclusive=True),
        save_at=Param("floats", None, "times to record (default: alpha_max only)", minimum=0.0),
        points=Param("int", None, "record 0 and this many log-spaced times up to alpha_max", minimum=2),
    ),
    quantities=("eps_g", "test_loss", "nfev", "Q_diag_mean", "v_abs_mean"),
    default_record=("eps_g",),
    row_keys=("alpha",),
    function=_run_ode,
    check=_check_ode,
))


# ---------------------------------------------------------------------- prune
# Scheme names users type (design.md); the engine checks them against statmech.pruning.SCHEMES when it runs.
PRUNE_SCHEMES = ("random-node", "importance-node", "dpp-node", "random-edge", "importance-edge", "dpp-edge")
NODE_SCHEMES = PRUNE_SCHEMES[:3]
_TRAIN_KEYS = ("K", "M", "N", "seed", "vstar", "eta", "eta_v", "sigma", "alpha_max", "activation", "method", "dt",
               "rtol", "atol", "max_abs")


def _train(p, times):
    """The ODE-trained student (cached per worker process: runs differing only in the pruning share it)."""
    key = tuple(p[k] for k in _TRAIN_KEYS) + (tuple(times),)
    return _train_cached(key)


def _train_cached(key, _cache={}):
    if key not in _cache:
        from ..ode import integrate

        p = dict(zip(_TRAIN_KEYS, key[:-1]))
        if len(_cache) >= 16:
            _cache.pop(next(iter(_cache)))
        _cache[key] = integrate(_initial_state(p), eta=p["eta"], eta_v=p["eta_v"], sigma=p["sigma"],
                                alpha_max=p["alpha_max"], save_at=list(key[-1]), activation=p["activation"],
                                method=p["method"], dt=p["dt"], rtol=p["rtol"], atol=p["atol"],
                                max_abs=p["max_abs"], progress=False)
    return _cache[key]


def _node_keep(p):
    """k for node schemes: ``keep``, or keep_fraction * K when that is an integer."""
    if p.get("keep") is not None:
        return p["keep"]
    k = p["keep_fraction"] * p["K"]
    return int(round(k)) if abs(k - round(k)) < 1e-9 else None


def _check_prune(p, where):
    _check_ode(p, where)
    if (p.get("keep") is None) == (p.get("keep_fraction") is None):
        raise ValueError(f"{where}: give exactly one of 'keep' (kept units k; edges then keep c = k/K) "
                         f"or 'keep_fraction' (c in (0, 1])")
    if p.get("keep") is not None and p["keep"] > p["K"]:
        raise ValueError(f"{where}: parameter 'keep' must be in 1..K={p['K']}, got {p['keep']}")
    if p.get("keep_fraction") is not None and p["keep_fraction"] > 1:
        raise ValueError(f"{where}: parameter 'keep_fraction' must be in (0, 1], got {p['keep_fraction']}")
    if any(s in NODE_SCHEMES for s in p["schemes"]) and _node_keep(p) is None:
        raise ValueError(f"{where}: node schemes need keep_fraction * K to be an integer number of units, got "
                         f"keep_fraction={p['keep_fraction']} with K={p['K']} (choose K or the fraction to match)")


def _run_prune(p, record) -> Outcome:
    """Train by the ODEs, then the expected pruned eps_g of each scheme (statmech.pruning.pruned_error)."""
    from .. import pruning

    times = _save_times(p)
    res = _train(p, times)
    reached = {float(a): i for i, a in enumerate(res.alpha)}
    k = _node_keep(p)
    c = p["keep_fraction"] if p.get("keep_fraction") is not None else p["keep"] / p["K"]
    rows = []
    for a in times:
        i = reached.get(float(a))
        state = res.state_at(i) if i is not None else None
        if state is not None and p["rescale"]:
            state = pruning.rescale_rows(state)
        unpruned = math.nan if state is None else _eps(state, p["activation"])
        for scheme in p["schemes"]:
            values = dict.fromkeys(("eps_g", "stderr", "test_loss", "exact"), math.nan)
            if state is not None:
                opts = dict(activation=p["activation"], reweight=p["reweight"], keep_distribution=False)
                if scheme in NODE_SCHEMES:
                    opts.update(kernel=p["kernel"], importance=p["importance"], n_samples=p["n_samples"],
                                rng=p["sample_seed"])
                    r = pruning.pruned_error(state, scheme, k, **opts)
                else:
                    r = pruning.pruned_error(state, scheme, keep_fraction=c, **opts)
                values = {"eps_g": r.eps_g, "stderr": r.stderr, "test_loss": r.eps_g + 0.5 * p["sigma"] ** 2,
                          "exact": r.exact}
            values["eps_g_unpruned"] = unpruned
            rows.append({"alpha": float(a), "scheme": scheme, **{q: values[q] for q in record}})
    return Outcome(rows, res.status, res.message)


def _eps(state, activation):
    from ..generalisation import eps_g

    return eps_g(state, activation)


register_engine(Engine(
    name="prune",
    doc="train by the ODEs from State.random(K, M, N, vstar, seed), then the N -> infinity pruned eps_g "
        "of each scheme (statmech.pruning.pruned_error) at every saved time",
    params=_teacher_student_params(
        method=Param("str", "dopri5", "integrator", choices=("dopri5", "euler")),
        dt=Param("float", 0.01, "Euler step", minimum=0.0, exclusive=True),
        rtol=Param("float", 1e-8, "dopri5 relative tolerance", minimum=0.0, exclusive=True),
        atol=Param("float", 1e-10, "dopri5 absolute tolerance", minimum=0.0, exclusive=True),
        max_abs=Param("float", 1e6, "divergence threshold on |order parameters|", minimum=0.0, exclusive=True),
        save_at=Param("floats", None, "training times at which to prune (default: alpha_max only)", minimum=0.0),
        points=Param("int", None, "prune at 0 and this many log-spaced times up to alpha_max", minimum=2),
        schemes=Param("strs", list(PRUNE_SCHEMES), "pruning schemes (one row each)", choices=PRUNE_SCHEMES),
        keep=Param("int", None, "node budget k (edge schemes keep the fraction c = k/K)", minimum=1),
        keep_fraction=Param("float", None, "kept fraction c (node schemes keep k = cK units)", minimum=0.0,
                            exclusive=True),
        kernel=Param("str", "linear-preactivation", "dpp-node kernel (statmech.pruning.NODE_KERNELS)"),
        importance=Param("str", "abs-v", "importance-node score (statmech.pruning.IMPORTANCE_SCORES)"),
        reweight=Param("str", "none", "reweighting (statmech.pruning.REWEIGHTS)"),
        rescale=Param("bool", False, "rescale rows to Q_ii = 1 before pruning (the paper's pipeline)"),
        n_samples=Param("int", 20_000, "Monte Carlo kept sets when C(K, k) is too large to enumerate", minimum=2),
        sample_seed=Param("int", 0, "seed of those samples"),
    ),
    quantities=("eps_g", "stderr", "test_loss", "eps_g_unpruned", "exact"),
    default_record=("eps_g", "stderr", "eps_g_unpruned"),
    row_keys=("alpha", "scheme"),
    function=_run_prune,
    check=_check_prune,
    requires=("statmech.pruning",),
))
