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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from statmech import pruning
from statmech.core import vocabulary as V
from statmech.core.budgets import Budget
from statmech.core.initial import initial_weights, teacher_overlaps
from statmech.core.model import MODEL_FIELDS, Model
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.generalisation import eps_g
from statmech.ode.integrator import default_save_at, integrate
from statmech.ode.steppers import METHODS, make_stepper
from statmech.pruning.finite.students import REWEIGHTS as FINITE_REWEIGHTS
from statmech.pruning.finite.students import check_reweights, pipeline_schemes, prune_student, train_student
from statmech.pruning.schemes import schemes_with
from statmech.sim import ode_reference, save_steps, simulate

__all__ = [
    "Engine",
    "Param",
    "Outcome",
    "ENGINES",
    "get_engine",
    "register_engine",
    "general_model_params",
    "TEACHER_OVERLAP_PARAM",
]

ACTIVATIONS = V.ACTIVATIONS
OUTPUT_SCALES = V.OUTPUT_SCALES
INITIALISATIONS = V.INITIALISATIONS


@dataclass(frozen=True)
class Param:
    """A parameter: ``kind`` in int, float, str, strs, floats (a list of floats), units (a number, or a list
    of numbers, one per unit: a list of one is that number), bool; ``choices`` or ``minimum``."""

    kind: str
    default: object = None
    doc: str = ""
    choices: tuple = ()
    minimum: float | None = None
    exclusive: bool = False  # minimum excluded (> rather than >=)

    def coerce(self, name: str, value: Any, where: str) -> Any:
        bad = f"{where}: parameter {name!r}"
        if self.kind == "int":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())
            ):
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
        elif self.kind == "units":
            if isinstance(value, list):
                if not value or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value
                ):
                    raise ValueError(f"{bad} must be a finite number or a non-empty list of them, got {value!r}")
                value = [float(x) for x in value]
                if len(value) == 1:  # one value means every unit: the same run (and run id) as the number
                    value = value[0]
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{bad} must be a finite number or a non-empty list of them, got {value!r}")
            else:
                value = float(value)
        elif self.kind == "floats":
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value)
            ):
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


def get_engine(name: str) -> Engine:
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
def _integrator_params() -> dict:
    """The options of statmech.integrate that a sweep can set (method, dt, rtol, atol, max_abs).

    The step options default to None, the method's own default; one of the other method is refused.
    """
    return dict(
        method=Param("str", "dopri5", "integrator", choices=METHODS),
        dt=Param("float", None, "Euler step (euler only; default 0.01)", minimum=0.0, exclusive=True),
        rtol=Param("float", None, "relative tolerance (dopri5 only; default 1e-8)", minimum=0.0, exclusive=True),
        atol=Param("float", None, "absolute tolerance (dopri5 only; default 1e-10)", minimum=0.0, exclusive=True),
        max_abs=Param("float", 1e6, "divergence threshold on |order parameters|", minimum=0.0, exclusive=True),
    )


TEACHER_OVERLAP_PARAM = Param("float", None, "teacher overlaps T = (1 - rho) I + rho 11^T (default: random)")


def general_model_params() -> dict:
    """The sweep parameters of the Model fields beyond the paper's (eta, eta_v, sigma, activation)."""
    return {
        "teacher_activation": Param(
            "str", None, "teacher activation g*(u) (default: the student's)", choices=ACTIVATIONS
        ),
        "weight_decay": Param("float", 0.0, "weight decay kappa on both layers, (1 - kappa/N) per update", minimum=0.0),
        "batch_size": Param("int", 1, "samples averaged per SGD update (alpha counts updates / N)", minimum=1),
        "output_scale": Param("str", "1", "phi = (1/s_K) sum v g: s_K = 1, sqrt K or K", choices=OUTPUT_SCALES),
    }


def _teacher_student_params(**overrides) -> dict:
    """Parameters of a teacher-student start shared by the engines (the paper's 6:2 values as defaults)."""
    p = {
        "K": Param("int", 6, "student hidden units", minimum=1),
        "M": Param("int", 2, "teacher hidden units", minimum=1),
        "N": Param("int", 500, "input dimension of the random initial weights", minimum=1),
        "seed": Param("int", 0, "seed of the random initial weights (State.random)", minimum=0),
        "vstar": Param(
            "units", 4.0, "teacher second-layer weights: one value (every unit) or a list of M values, one per unit"
        ),
        "eta": Param("float", 0.5, "first-layer learning rate (scaled eta/sqrt N)", minimum=0.0),
        "eta_v": Param("float", None, "second-layer learning rate (scaled eta_v/N); default = eta", minimum=0.0),
        "sigma": Param("float", 0.0, "output-noise standard deviation", minimum=0.0),
        "alpha_max": Param("float", 1600.0, "training time alpha = steps / N", minimum=0.0, exclusive=True),
        "activation": Param("str", "erf", "student activation g(u)", choices=ACTIVATIONS),
        **general_model_params(),
        "init": Param("str", "random", "initial condition (statmech.core.initial)", choices=INITIALISATIONS),
        "teacher_overlap": TEACHER_OVERLAP_PARAM,
    }
    p.update(overrides)
    return p


def _model(p) -> Model:
    """The Model of a run's parameters."""
    return Model(**{k: p[k] for k in MODEL_FIELDS})


def _start(p) -> Weights:
    """The initial weights of a run (:func:`statmech.core.initial.initial_weights`; random: Weights.random)."""
    # engines that cache a trained student by a subset of the keys start from random weights (refused otherwise)
    init, rho = p.get("init", "random"), p.get("teacher_overlap")
    return initial_weights(p["K"], p["M"], p["N"], init=init, vstar=p["vstar"], teacher_overlap=rho, seed=p["seed"])


# the model fields and start options of statmech.integrate and statmech.sim.simulate
_GENERAL = ("teacher_activation", "weight_decay", "batch_size", "output_scale", "init", "teacher_overlap")


def _check_vstar(p, where):
    """vstar: one value (every teacher unit) or M values."""
    vstar = p.get("vstar")
    if isinstance(vstar, list) and len(vstar) != p["M"]:
        raise ValueError(
            f"{where}: parameter 'vstar' = {vstar!r} has {len(vstar)} values; allowed: 1 (every teacher unit) "
            f"or M={p['M']} (one per teacher unit)"
        )


def _hashable(value):
    """A cache key part: lists (a per-unit vstar, save times) as tuples."""
    return tuple(value) if isinstance(value, list) else value


def _check_model(p, where, supported=()):
    """Model fields and start options the engine does not take are refused by name (never ignored)."""
    _check_vstar(p, where)
    try:
        model = _model(p)
        _start_checks(p)
    except ValueError as exc:
        msg = str(exc)
        name = msg.split(" ", 1)[0]
        if name in MODEL_FIELDS or name in ("teacher_overlap", "init"):
            msg = f"parameter {name!r}" + msg[len(name) :]
        raise ValueError(f"{where}: {msg}") from None
    default = Model(activation=model.activation)
    for name in ("teacher_activation", "weight_decay", "batch_size", "output_scale"):
        if name not in supported and getattr(model, name) != getattr(default, name):
            raise ValueError(f"{where}: parameter {name!r} = {getattr(model, name)!r} is not supported by this engine")
    for name, value in (("init", "random"), ("teacher_overlap", None)):
        if name not in supported and p.get(name, value) != value:
            raise ValueError(f"{where}: parameter {name!r} = {p[name]!r} is not supported by this engine")


def _start_checks(p):
    if p.get("teacher_overlap") is not None:
        teacher_overlaps(p["M"], p["teacher_overlap"])
    if p.get("init") in ("informed", "denoise") and p["K"] < p["M"]:
        raise ValueError(f"init {p['init']!r} needs K >= M, got K={p['K']}, M={p['M']}")


def _save_times(p) -> list:
    """Saved times: ``save_at`` if given, else ``points`` log-spaced times (ode.default_save_at), else alpha_max."""
    if p.get("save_at") is not None:
        return sorted(p["save_at"])
    if p.get("points") is not None:
        return [float(a) for a in default_save_at(p["alpha_max"], p["points"])]
    return [float(p["alpha_max"])]


def _check_ode(p, where):
    if "method" in p:
        try:
            make_stepper(p["method"], {k: p.get(k) for k in ("dt", "rtol", "atol")})
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if p.get("save_at") is not None and p.get("points") is not None:
        raise ValueError(f"{where}: give either 'save_at' or 'points', not both")
    if p.get("save_at") is not None:
        s = p["save_at"]
        if len(set(s)) != len(s) or min(s) < 0 or max(s) > p["alpha_max"] * (1 + 1e-12):
            raise ValueError(
                f"{where}: parameter 'save_at' must hold distinct times in [0, alpha_max={p['alpha_max']:g}], got {s}"
            )


def _check_ode_engine(p, where):
    _check_ode(p, where)
    _check_model(p, where, supported=_GENERAL)


def _initial_state(p) -> State:
    return _start(p).state()


def _run_ode(p, record) -> Outcome:
    """Learning curve from the order-parameter ODEs (docs/theory/equations.md) via statmech.integrate."""

    times = _save_times(p)
    res = integrate(
        _initial_state(p),
        _model(p),
        alpha_max=p["alpha_max"],
        save_at=times,
        method=p["method"],
        dt=p["dt"],
        rtol=p["rtol"],
        atol=p["atol"],
        max_abs=p["max_abs"],
        progress=False,
    )
    reached = {float(a): i for i, a in enumerate(res.alpha)}
    rows = []
    for a in times:  # every requested time gets a row; times a failed run never reached hold NaN
        i = reached.get(float(a))
        e = float(res.eps_g[i]) if i is not None else math.nan
        values = {
            "eps_g": e,
            "test_loss": e + 0.5 * p["sigma"] ** 2,
            "nfev": res.nfev,
            "Q_diag_mean": float(res.Q[i].diagonal().mean()) if i is not None else math.nan,
            "v_abs_mean": float(abs(res.v[i]).mean()) if i is not None else math.nan,
        }
        rows.append({"alpha": float(a), **{q: values[q] for q in record}})
    return Outcome(rows, res.status, res.message)


register_engine(
    Engine(
        name="ode",
        doc="learning curve eps_g(alpha) of the order-parameter ODEs from State.random(K, M, N, vstar, seed)",
        params=_teacher_student_params(
            **_integrator_params(),
            save_at=Param("floats", None, "times to record (default: alpha_max only)", minimum=0.0),
            points=Param("int", None, "record 0 and this many log-spaced times up to alpha_max", minimum=2),
        ),
        quantities=("eps_g", "test_loss", "nfev", "Q_diag_mean", "v_abs_mean"),
        default_record=("eps_g",),
        row_keys=("alpha",),
        function=_run_ode,
        check=_check_ode_engine,
    )
)


# ---------------------------------------------------------------------- prune
PRUNE_SCHEMES = V.SCHEMES
_TRAIN_KEYS = (
    "K",
    "M",
    "N",
    "seed",
    "vstar",
    "eta",
    "eta_v",
    "sigma",
    "alpha_max",
    *MODEL_FIELDS,
    "init",
    "teacher_overlap",
    "method",
    "dt",
    "rtol",
    "atol",
    "max_abs",
)


def _train(p, times):
    """The ODE-trained student (cached per worker process: runs differing only in the pruning share it)."""
    key = tuple(_hashable(p[k]) for k in _TRAIN_KEYS) + (tuple(times),)
    return _train_cached(key)


_TRAINED: dict = {}


def _train_cached(key, _cache=_TRAINED):
    if key not in _cache:
        p = dict(zip(_TRAIN_KEYS, key[:-1]))
        if len(_cache) >= 16:
            _cache.pop(next(iter(_cache)))
        _cache[key] = integrate(
            _initial_state(p),
            _model(p),
            alpha_max=p["alpha_max"],
            save_at=list(key[-1]),
            method=p["method"],
            dt=p["dt"],
            rtol=p["rtol"],
            atol=p["atol"],
            max_abs=p["max_abs"],
            progress=False,
        )
    return _cache[key]


def _prune_budget(p, where) -> Budget:
    """The run's Budget: exactly one of 'keep' (units k; edges then keep c = k/K) and 'keep_fraction' (c)."""
    if (p.get("keep") is None) == (p.get("keep_fraction") is None):
        raise ValueError(
            f"{where}: give exactly one of 'keep' (kept units k; edges then keep c = k/K) "
            f"or 'keep_fraction' (c in (0, 1])"
        )
    try:
        return Budget(keep=p.get("keep"), fraction=p.get("keep_fraction"))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _prune_schemes(p):
    """Scheme objects of the run: each named scheme with the options it takes (kernel, score)."""
    return schemes_with(
        p["schemes"], **{k: p[k] for k in ("kernel", "score") if any(k in _TAKES[s] for s in p["schemes"])}
    )


# Which scheme takes which of the engine's scheme options.
_TAKES_OWN: dict[str, tuple[str, ...]] = {V.DPP_NODE: ("kernel",), V.IMPORTANCE_NODE: ("score",)}
_TAKES = {s: _TAKES_OWN.get(s, ()) for s in V.SCHEMES}


def _check_prune(p, where):
    _check_ode(p, where)
    _check_model(p, where, supported=_GENERAL)
    b = _prune_budget(p, where)
    try:
        for s in _prune_schemes(p):
            if s.node:
                b.units(p["K"])
            else:
                b.edge_fraction(p["K"])
            pruning.reweight.check_reweight(p["reweight"], node=s.node)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _run_prune(p, record) -> Outcome:
    """Train by the ODEs, then the expected pruned eps_g of each scheme (statmech.pruning.pruned_error)."""

    times = _save_times(p)
    res = _train(p, times)
    reached = {float(a): i for i, a in enumerate(res.alpha)}
    budget = _prune_budget(p, "prune")
    model = _model(p)
    rows = []
    for a in times:
        i = reached.get(float(a))
        state = res.state_at(i) if i is not None else None
        if state is not None and p["rescale"]:
            state = pruning.rescale_rows(state)
        unpruned = math.nan if state is None else eps_g(state, model)
        for scheme in _prune_schemes(p):
            values = dict.fromkeys(("eps_g", "stderr", "test_loss", "exact"), math.nan)
            if state is not None:
                opts = dict(model=model, reweight=p["reweight"], keep_distribution=False)
                if scheme.name in (V.RANDOM_NODE, V.DPP_NODE):
                    opts.update(n_samples=p["n_samples"], rng=p["sample_seed"])
                # the engine's matching: node schemes keep k = c K units, edge schemes a fraction c (or k / K)
                own = (
                    Budget(keep=budget.units(p["K"])) if scheme.node else Budget(fraction=budget.edge_fraction(p["K"]))
                )
                r = pruning.pruned_error(state, scheme, own, **opts)
                values = {
                    "eps_g": r.eps_g,
                    "stderr": r.stderr,
                    "test_loss": r.eps_g + 0.5 * p["sigma"] ** 2,
                    "exact": r.exact,
                }
            values["eps_g_unpruned"] = unpruned
            rows.append({"alpha": float(a), "scheme": scheme.name, **{q: values[q] for q in record}})
    return Outcome(rows, res.status, res.message)


register_engine(
    Engine(
        name="prune",
        doc="train by the ODEs from State.random(K, M, N, vstar, seed), then the N -> infinity pruned eps_g "
        "of each scheme (statmech.pruning.pruned_error) at every saved time",
        params=_teacher_student_params(
            **_integrator_params(),
            save_at=Param("floats", None, "training times at which to prune (default: alpha_max only)", minimum=0.0),
            points=Param("int", None, "prune at 0 and this many log-spaced times up to alpha_max", minimum=2),
            schemes=Param("strs", list(PRUNE_SCHEMES), "pruning schemes (one row each)", choices=PRUNE_SCHEMES),
            keep=Param("int", None, "node budget k (edge schemes keep the fraction c = k/K)", minimum=1),
            keep_fraction=Param(
                "float", None, "kept fraction c (node schemes keep k = cK units)", minimum=0.0, exclusive=True
            ),
            kernel=Param("str", V.LINEAR_PREACTIVATION, "dpp-node kernel", choices=V.NODE_KERNELS),
            score=Param("str", V.ABS_V, "importance-node score", choices=V.IMPORTANCE_SCORES),
            reweight=Param("str", V.NO_REWEIGHT, "reweighting (one per run)", choices=V.REWEIGHTS),
            rescale=Param("bool", False, "rescale rows to Q_ii = 1 before pruning (the paper's pipeline)"),
            n_samples=Param("int", 20_000, "Monte Carlo kept sets when C(K, k) is too large to enumerate", minimum=2),
            sample_seed=Param("int", 0, "seed of those samples", minimum=0),
        ),
        quantities=("eps_g", "stderr", "test_loss", "eps_g_unpruned", "exact"),
        default_record=("eps_g", "stderr", "eps_g_unpruned"),
        row_keys=("alpha", "scheme"),
        function=_run_prune,
        check=_check_prune,
        requires=("statmech.pruning",),
    )
)


# ------------------------------------------------------------------- simulate
def _check_simulate(p, where):
    _check_ode(p, where)
    _check_model(p, where, supported=_GENERAL)


def _run_simulate(p, record) -> Outcome:
    """Online SGD at finite N (statmech.sim.simulate) from Weights.random(K, M, N, vstar, seed)."""

    times = _save_times(p)
    stream = p["seed"] if p["stream_seed"] is None else p["stream_seed"]
    res = simulate(
        _start(p),
        _model(p),
        alpha_max=p["alpha_max"],
        save_at=times,
        seed=stream,
        test_size=p["test_size"],
        max_abs=p["max_abs"],
        progress=False,
    )
    if res.status == 1:
        return Outcome([], 1, res.message)
    steps = save_steps(times, p["alpha_max"], p["N"])  # the saved times rounded to whole SGD steps
    index = {int(s): i for i, s in enumerate(res.steps)}
    ode = None
    if "eps_g_ode" in record and len(res.alpha):
        ode = ode_reference(res)  # the N -> infinity curve from the same initial state, at the same times
    rows = []
    for s in steps:
        i = index.get(int(s))
        nan = math.nan
        values = {
            "eps_g": float(res.eps_g[i]) if i is not None else nan,
            "test_loss": float(res.test_loss[i]) if i is not None and res.test_loss is not None else nan,
            "eps_g_ode": float(ode.eps_g[i]) if i is not None and ode is not None and i < len(ode.eps_g) else nan,
            "Q_diag_mean": float(np.mean(np.diagonal(res.Q[i]))) if i is not None else nan,
            "v_abs_mean": float(np.mean(np.abs(res.v[i]))) if i is not None else nan,
            "sgd_seconds": res.sgd_seconds,
        }
        rows.append({"alpha": int(s) / p["N"], **{q: values[q] for q in record}})
    return Outcome(rows, res.status, res.message)


register_engine(
    Engine(
        name="simulate",
        doc="finite-N online SGD (statmech.sim) from Weights.random(K, M, N, vstar, seed)",
        params=_teacher_student_params(
            stream_seed=Param("int", None, "seed of the input and label-noise stream (default: seed)", minimum=0),
            test_size=Param("int", 0, "held-out noisy test samples for the empirical test loss (0: none)", minimum=0),
            max_abs=Param("float", 1e6, "divergence threshold on Q_ii and |v_i|", minimum=0.0, exclusive=True),
            save_at=Param(
                "floats", None, "times to record, rounded to whole steps (default: alpha_max only)", minimum=0.0
            ),
            points=Param("int", None, "record 0 and this many log-spaced times up to alpha_max", minimum=2),
        ),
        quantities=("eps_g", "test_loss", "eps_g_ode", "Q_diag_mean", "v_abs_mean", "sgd_seconds"),
        default_record=("eps_g",),
        row_keys=("alpha",),
        function=_run_simulate,
        check=_check_simulate,
        requires=("statmech.sim",),
    )
)


# ------------------------------------------------------------------ prune-sim
_STUDENTS: dict = {}  # per worker process, shared by runs that differ only in the pruning


def _student(p):
    """The SGD-trained student (cached per worker process, shared by runs that differ only in the pruning)."""
    names = ("K", "M", "N", "alpha_max", "seed", "vstar", *MODEL_FIELDS)
    key = tuple(_hashable(p[k]) for k in names)
    cache = _STUDENTS
    if key not in cache:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = train_student(
            p["K"],
            p["M"],
            p["N"],
            p["alpha_max"],
            p["sigma"],
            p["seed"],
            vstar=p["vstar"],
            model=_model(p),
            progress=False,
        )
    return cache[key]


def _prune_sim_schemes(p):
    """Scheme objects with the pipeline's defaults and the run's kernel and score (where a chosen scheme takes them)."""
    opts = {"kernel": p["kernel"] if V.DPP_NODE in p["schemes"] else None, "score": p["score"]}
    return pipeline_schemes(p["pipeline"], p["schemes"], **opts)


def _check_prune_sim(p, where):
    # every Model field; the start is Weights.random (train_student), so init and teacher_overlap are refused
    _check_model(p, where, supported=("teacher_activation", "weight_decay", "batch_size", "output_scale"))
    if p["keep"] is None:
        raise ValueError(
            f"{where}: parameter 'keep' (node budget k in 1..K-1; edges keep the paper's "
            f"e = round((kN + k - K)/K) per unit) is required"
        )
    try:
        Budget(keep=p["keep"], N=p["N"]).units(p["K"])
        check_reweights(p["reweight"], _prune_sim_schemes(p))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _run_prune_sim(p, record) -> Outcome:
    """Train by SGD (statmech.pruning.finite.students.train_student), prune the real weights (prune_student), score each mask."""

    weights = _student(p)
    res = prune_student(
        weights,
        n_train=int(round(p["alpha_max"] * p["N"])),
        pipeline=p["pipeline"],
        schemes=_prune_sim_schemes(p),
        keep=[p["keep"]],
        n_masks=p["n_masks"],
        sigma=p["sigma"],
        n_kernel=p["n_kernel"],
        n_test=p["n_test"],
        reweight=p["reweight"],
        model=_model(p),
        seed=p["prune_seed"],
        theory="eps_g_theory" in record,
        progress=False,
    )
    rec = res.records
    theory = {}
    if res.theory:
        th = res.theory
        theory = {
            (str(s), int(k), str(r)): float(e)
            for s, k, r, e in zip(th["scheme"], th["k"], th["reweight"], th["eps_g_theory"])
        }
    rows = []
    for i in range(len(rec["scheme"])):
        key = (str(rec["scheme"][i]), int(rec["k"][i]), str(rec["reweight"][i]))
        values = {
            q: (float(rec[q][i]) if q in rec else math.nan)
            for q in ("eps_g", "test_loss", "test_loss_stderr", "param_fraction", "budget")
        }
        values["eps_g_theory"] = theory.get(key, math.nan)
        rows.append(
            {"scheme": key[0], "reweight": key[2], "mask": int(rec["mask"][i]), **{q: values[q] for q in record}}
        )
    return Outcome(rows, 0, "")


register_engine(
    Engine(
        name="prune-sim",
        doc="train a real student by SGD, prune its real weights (statmech.pruning.finite.students.prune_student): one row per "
        "scheme, reweighting and mask, with the N -> infinity theory of the same student beside it",
        params=_teacher_student_params(
            keep=Param("int", None, "node budget k (edge schemes keep the paper's matching e per unit)", minimum=1),
            pipeline=Param("str", V.CLEAN_PIPELINE, "the paper's pipeline or the clean one", choices=V.PIPELINE_NAMES),
            schemes=Param("strs", list(PRUNE_SCHEMES), "pruning schemes", choices=PRUNE_SCHEMES),
            n_masks=Param("int", None, "masks per scheme (default: the pipeline's, 5 or 10)", minimum=1),
            n_kernel=Param("int", None, "inputs for the kernels (default alpha_max N)", minimum=1),
            n_test=Param("int", None, "noisy test inputs (default 0.1 alpha_max N)", minimum=1),
            kernel=Param("str", V.LINEAR_PREACTIVATION, "dpp-node kernel", choices=V.NODE_KERNELS),
            score=Param("str", None, "importance-node score (default: the pipeline's)", choices=V.IMPORTANCE_SCORES),
            reweight=Param("strs", [V.NO_REWEIGHT], "reweightings", choices=FINITE_REWEIGHTS),
            prune_seed=Param("int", 0, "seed of the kernel data, masks and test set", minimum=0),
        ),
        quantities=("eps_g", "test_loss", "test_loss_stderr", "eps_g_theory", "param_fraction", "budget"),
        default_record=("eps_g", "test_loss", "eps_g_theory"),
        row_keys=("scheme", "reweight", "mask"),
        function=_run_prune_sim,
        check=_check_prune_sim,
        requires=("statmech.pruning.finite.students", "statmech.sim"),
    )
)
