"""Counterexample search: minimise a claim's margin over a family of states.

Continuous families: a seeded ``scipy.optimize.differential_evolution`` of
min over the budgets of the margin (``method="de"``), or plain uniform random
sampling of the box with the same number of evaluations (``method="random"``).
Trained families: every saved state of every trajectory at every budget
(exhaustive), inline or on the sweep engine (Dask) when large. One evaluation
is one margin at one (state, budget).

The verdict says what was done: "counterexample found" with the state file,
or "no counterexample in N evaluations over FAMILY"; a search proves nothing.
"""

from __future__ import annotations

import importlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import differential_evolution

from statmech import __version__
from statmech.core.io import write_npz
from statmech.core.state import STATE_KEYS, State, read_npz
from statmech.sweep import (
    TEACHER_OVERLAP_PARAM,
    Engine,
    Outcome,
    Param,
    general_model_params,
    parse_config,
    read_results,
    register_engine,
    run_sweep,
)
from statmech.verify.claims import Claim, ClaimContext, as_claim, get_claim
from statmech.verify.families import OrderParameterFamily, SpecialisedFamily, TrainedConfig, TrainedFamily

__all__ = ["SearchResult", "search", "load_counterexample", "METADATA_KEY", "METHODS"]

METHODS = ("de", "random", "exhaustive")
# The .npz key holding the search metadata (a JSON string); State.load reads only Q, R, T, v, vstar.
METADATA_KEY = "verify_metadata"


@dataclass
class SearchResult:
    """Outcome of :func:`search`: the minimum margin, where it is, and how much was searched.

    ``margin`` is the minimum over all evaluations (>= -claim.tolerance: no
    counterexample); ``state``, ``model``, ``keep``, ``where`` locate it;
    ``per_budget`` holds the minimum at each budget; ``n_invalid`` counts points
    where the claim could not be evaluated (``invalid_message`` says why).
    """

    claim: Claim
    family: OrderParameterFamily | SpecialisedFamily | TrainedFamily
    method: str
    seed: int | None
    budgets: list
    margin: float
    state: State | None
    model: ClaimContext | None
    keep: int | None
    where: dict
    n_evaluations: int
    n_states: int
    seconds: float
    per_budget: dict = field(default_factory=dict)
    n_invalid: int = 0
    invalid_message: str = ""
    trace: list = field(default_factory=list, repr=False)
    path: Path | None = None

    @property
    def counterexample(self) -> bool:
        return self.state is not None and not self.claim.holds(self.margin)

    def verdict(self) -> str:
        if self.counterexample:
            where = f"state file {self.path}" if self.path else "state not saved yet (SearchResult.save)"
            return (
                f"counterexample found: claim {self.claim.name} has margin {self.margin:.6g} at k={self.keep} ({where})"
            )
        return f"no counterexample in {self.n_evaluations} evaluations over {self.family.name}"

    def recheck_command(self, path: str | Path | None = None) -> str:
        """The ``statmech prune`` command that recomputes the pruned errors behind the margin."""
        path = path or self.path or "STATE.npz"
        schemes = self.claim.schemes
        if not schemes or self.keep is None:
            return ""
        scheme = "all" if len(schemes) > 2 else None
        parts = [f"statmech prune {path}"]
        parts += ["--scheme all"] if scheme == "all" else []
        keeps = [self.keep, self.keep + 1] if self.claim.name.startswith("monotone:") else [self.keep]
        parts.append("--keep " + " ".join(str(k) for k in keeps))
        if self.model is not None and self.model.N is not None and any(s.endswith("-edge") for s in schemes):
            parts.append(f"--N {self.model.N}")
        if self.model is not None and self.model.activation != "erf":
            parts.append(f"--activation {self.model.activation}")
        if self.claim.name.startswith("reweight:"):
            parts.append(f"--reweight {self.claim.name.split(':')[2]}")
        cmds = []
        if scheme == "all":
            cmds.append(" ".join(parts) + " --json")
        else:
            for s in schemes:
                cmds.append(" ".join(parts[:1] + [f"--scheme {s}"] + parts[1:]) + " --json")
        if self.claim.name.startswith("reweight:"):
            cmds.append(cmds[0].replace(f" --reweight {self.claim.name.split(':')[2]}", ""))
        return "; ".join(cmds)

    def metadata(self) -> dict:
        return {
            "claim": self.claim.describe(),
            "margin": self.margin,
            "counterexample": self.counterexample,
            "keep": self.keep,
            "budgets": self.budgets,
            "per_budget": {str(k): v for k, v in self.per_budget.items()},
            "model": None if self.model is None else self.model.as_dict(),
            "family": self.family.describe(),
            "where": self.where,
            "method": self.method,
            "seed": self.seed,
            "n_evaluations": self.n_evaluations,
            "n_states": self.n_states,
            "n_invalid": self.n_invalid,
            "invalid_message": self.invalid_message,
            "seconds": self.seconds,
            "error": "eps_g (noise-free generalisation error, N -> infinity theory)",
            "statmech_version": __version__,
        }

    def save(self, path: str | Path) -> Path:
        """Write the arg-min state as an .npz: Q, R, T, v, vstar (State.load reads it) plus the metadata JSON."""
        if self.state is None:
            raise ValueError("no state was evaluated successfully: nothing to save")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        meta = self.metadata()
        meta["recheck"] = self.recheck_command(path)
        meta["verdict"] = self.verdict()
        arrays: dict[str, Any] = {k: getattr(self.state, k) for k in STATE_KEYS}
        arrays[METADATA_KEY] = np.array(json.dumps(meta))
        write_npz(path, arrays, params={"verify": meta})
        return path

    def summary(self) -> dict:
        d = self.metadata()
        d["verdict"] = self.verdict()
        d["state_file"] = str(self.path) if self.path else None
        d["recheck"] = self.recheck_command()
        return d


def load_counterexample(path: str | Path) -> tuple[State, dict]:
    """(State, metadata dict) of a file written by :meth:`SearchResult.save`."""
    state = State.load(path)
    meta = read_npz(path, (METADATA_KEY,), "counterexample")[METADATA_KEY]
    return state, json.loads(str(meta))


class _Tracker:
    """Counts evaluations, keeps the minimum, stops at the budget of evaluations."""

    class Exhausted(Exception):
        pass

    def __init__(self, claim: Claim, max_evals: int | None) -> None:
        self.claim, self.max_evals = claim, max_evals
        self.n = self.n_states = self.n_invalid = 0
        self.best = math.inf
        self.best_state: State | None = None
        self.best_model: ClaimContext | None = None
        self.best_keep: int | None = None
        self.best_where: dict = {}
        self.per_budget: dict = {}
        self.invalid_message = ""
        self.trace: list = []

    def evaluate(self, state_fn, model, budgets, where_fn) -> float:
        """min over budgets of the margin at one state (inf where the claim raises)."""
        if self.max_evals is not None and self.n >= self.max_evals:
            raise self.Exhausted
        try:
            state = state_fn()
        except ValueError as exc:
            return self._invalid(len(budgets), exc)
        self.n_states += 1
        worst = math.inf
        for k in budgets:
            if self.max_evals is not None and self.n >= self.max_evals:
                break
            self.n += 1
            try:
                m = self.claim.margin(state, model, k)
            except ValueError as exc:
                self._invalid(0, exc)
                continue
            if m < self.per_budget.get(k, math.inf):
                self.per_budget[k] = m
            if m < worst:
                worst = m
            if m < self.best:
                self.best, self.best_state, self.best_model, self.best_keep = m, state, model, k
                self.best_where = where_fn()
        self.trace.append(self.best)
        return worst

    def _invalid(self, n, exc):
        self.n += n
        self.n_invalid += max(n, 1)
        if not self.invalid_message:
            self.invalid_message = str(exc)
        return math.inf


def search(
    claim: Claim | str | Callable[[State, ClaimContext, int], float],
    family: OrderParameterFamily | SpecialisedFamily | TrainedFamily,
    *,
    budgets: int | Sequence[int] | None = None,
    method: str | None = None,
    evaluations: int = 2000,
    seed: int = 0,
    popsize: int = 5,
    executor: str = "inline",
    workers: int | None = None,
    sweep_dir: str | Path | None = None,
) -> SearchResult:
    """Search ``family`` for the minimum margin of ``claim`` (a Claim, a name, ``module:function`` or a callable).

    ``budgets``: node budgets k (default: the claim's, e.g. 1..K-1). Continuous
    families: ``method`` "de" (default; differential evolution, seeded, no
    polishing) or "random", stopping after ``evaluations`` margins. Trained
    families: "exhaustive" (every saved state; ``evaluations`` is ignored there
    and refused if given explicitly is not checked); ``executor`` "inline" or
    "dask" (the sweep engine on a local cluster of ``workers`` processes; the
    claim must then be a name or ``module:function``).
    """
    claim_obj = get_claim(claim) if isinstance(claim, str) else as_claim(claim)
    t0 = time.perf_counter()
    if isinstance(family, TrainedFamily):
        method = method or "exhaustive"
        if method != "exhaustive":
            raise ValueError(f"a trained family is searched exhaustively (method 'exhaustive'), got {method!r}")
        if executor not in ("inline", "dask"):
            raise ValueError(f"executor must be 'inline' or 'dask', got {executor!r}")
        if executor == "dask":
            if not isinstance(claim, str):
                raise ValueError("executor 'dask' needs the claim by name or module:function (workers import it)")
            tr = _trained_on_sweep(claim, claim_obj, family, budgets, workers, sweep_dir)
        else:
            tr = _trained_inline(claim_obj, family, budgets)
        return _result(claim_obj, family, method, None, budgets, tr, t0)
    if not isinstance(family, (OrderParameterFamily, SpecialisedFamily)):
        raise ValueError(f"family must be an OrderParameterFamily, SpecialisedFamily or TrainedFamily, got {family!r}")
    if claim_obj.needs_training:
        raise ValueError(f"claim {claim_obj.name} is about trained states; search it over a TrainedFamily")
    method = method or "de"
    if method not in ("de", "random"):
        raise ValueError(f"method must be 'de' or 'random' for a continuous family, got {method!r}")
    if isinstance(evaluations, bool) or int(evaluations) != evaluations or evaluations < 1:
        raise ValueError(f"evaluations must be an integer >= 1, got {evaluations!r}")
    ks = _budgets(claim_obj, family.K, budgets)
    tr = _Tracker(claim_obj, int(evaluations))
    model = family.model

    def objective(x):
        x = np.asarray(x, dtype=np.float64)
        return tr.evaluate(lambda: family.state(x), model, ks, lambda: family.describe(x))

    lo = np.array([b[0] for b in family.bounds], dtype=np.float64)
    hi = np.array([b[1] for b in family.bounds], dtype=np.float64)
    try:
        if method == "random":
            rng = np.random.default_rng(seed)
            while True:
                x = lo + (hi - lo) * rng.random(family.dim)
                # float bounds of whole numbers: numpy's integers takes them, its stubs want int arrays
                x[family.integrality] = rng.integers(lo[family.integrality], hi[family.integrality] + 1)  # type: ignore[arg-type]
                objective(x)
        else:
            # differential_evolution needs a non-degenerate box: fixed coordinates get a zero-width slack
            bounds = [(a, b) if b > a else (a, a + 1e-300) for a, b in zip(lo, hi)]
            differential_evolution(
                objective,
                bounds,
                seed=seed,
                popsize=popsize,
                maxiter=10**9,
                tol=0.0,
                atol=0.0,
                polish=False,
                init="latinhypercube",
                integrality=family.integrality if family.integrality.any() else None,
            )
    except _Tracker.Exhausted:
        pass
    return _result(claim_obj, family, method, seed, ks, tr, t0)


def _budgets(claim: Claim, K: int, budgets) -> list:
    ks = claim.budgets(K) if budgets is None else [int(k) for k in np.atleast_1d(budgets)]
    if not ks:
        raise ValueError(f"no budgets to evaluate (K={K})")
    hi = K - 1 if claim.name.startswith("monotone:") else K
    for k in ks:
        if not 1 <= k <= hi:
            raise ValueError(f"budget k must be in 1..{hi} for claim {claim.name} with K={K}, got {k}")
    return ks


def _result(claim, family, method, seed, budgets, tr, t0) -> SearchResult:
    return SearchResult(
        claim=claim,
        family=family,
        method=method,
        seed=seed,
        budgets=list(budgets) if budgets is not None else [],
        margin=tr.best,
        state=tr.best_state,
        model=tr.best_model,
        keep=tr.best_keep,
        where=tr.best_where,
        n_evaluations=tr.n,
        n_states=tr.n_states,
        seconds=time.perf_counter() - t0,
        per_budget=dict(sorted(tr.per_budget.items())),
        n_invalid=tr.n_invalid,
        invalid_message=tr.invalid_message,
        trace=tr.trace,
    )


# --------------------------------------------------------------- trained family
def _trained_inline(claim, family, budgets) -> _Tracker:
    tr = _Tracker(claim, None)
    for ci, cfg in enumerate(family.configs):
        ks = _budgets(claim, cfg.K, budgets)
        res = cfg.integrate()
        if res.status == -1:
            tr._invalid(0, ValueError(f"ODE run {ci} failed: {res.message}"))
        for i, a in enumerate(res.alpha):
            tr.evaluate(
                lambda i=i: res.state_at(i),
                cfg.model(float(a)),
                ks,
                lambda a=a, ci=ci: {"config": cfg.as_dict(), "config_index": ci, "alpha": float(a)},
            )
    return tr


def _run_verify_engine(p, record) -> Outcome:
    """Train one configuration by the ODEs and evaluate the claim at every saved state and budget."""
    cfg = TrainedConfig(**{k: p[k] for k in _CONFIG_KEYS})
    claim = get_claim(p["claim"])
    res = cfg.integrate()
    rows = []
    for i, a in enumerate(res.alpha):
        st = res.state_at(i)
        for k in p["keeps"]:
            try:
                m, bad = claim.margin(st, cfg.model(float(a)), int(k)), 0
            except ValueError:
                m, bad = math.nan, 1
            rows.append({"alpha": float(a), "keep": int(k), **{q: {"margin": m, "invalid": bad}[q] for q in record}})
    return Outcome(rows, 0 if res.status == 0 else -1, res.message)


_CONFIG_KEYS = tuple(TrainedConfig.__dataclass_fields__)

register_engine(
    Engine(
        name="verify",
        doc="train by the ODEs (statmech.verify.TrainedConfig) and evaluate a claim's margin at every saved state",
        params={
            "K": Param("int", 6, "student hidden units", minimum=1),
            "M": Param("int", 2, "teacher hidden units", minimum=1),
            "eta": Param("float", 0.5, "first-layer learning rate", minimum=0.0),
            "eta_v": Param("float", 0.5, "second-layer learning rate", minimum=0.0),
            "sigma": Param("float", 0.0, "output-noise standard deviation", minimum=0.0),
            "seed": Param("int", 0, "seed of the initial weights"),
            "N": Param("int", 500, "input dimension", minimum=1),
            "vstar": Param("float", 4.0, "teacher second-layer weight"),
            "alpha_max": Param("float", 1600.0, "training time", minimum=0.0, exclusive=True),
            "points": Param("int", 20, "log-spaced saved times (0: the final state only)", minimum=0),
            "init": Param("str", "paper", "initial weights", choices=("paper", "scm")),
            "activation": Param("str", "erf", "g(u)", choices=("erf", "linear", "relu")),
            "method": Param("str", "dopri5", "integrator", choices=("dopri5", "euler")),
            **general_model_params(),
            "teacher_overlap": TEACHER_OVERLAP_PARAM,
            "claim": Param("str", "C1", "claim name or module:function (statmech.verify.get_claim)"),
            "keeps": Param("floats", [1.0], "node budgets k", minimum=1.0),
        },
        quantities=("margin", "invalid"),
        default_record=("margin", "invalid"),
        row_keys=("alpha", "keep"),
        function=_run_verify_engine,
        requires=("statmech.verify",),
    )
)


def _toml(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(float(v)) if isinstance(v, float) else str(int(v))


def _trained_on_sweep(spec, claim, family, budgets, workers, sweep_dir) -> _Tracker:
    """Evaluate on the sweep engine (Dask LocalCluster whose workers import statmech.verify), then
    recompute the arg-min state by integrating its configuration again (the ODE is deterministic)."""
    from dask.distributed import Client, LocalCluster

    lines = ['engine = "verify"', 'record = ["margin", "invalid"]', "[fixed]", f"claim = {_toml(spec)}"]
    for cfg in family.configs:
        ks = _budgets(claim, cfg.K, budgets)
        lines.append("[[runs]]")
        # TOML has no null: a None field (the engine's default, e.g. teacher_activation) is left out
        lines += [f"{k} = {_toml(v)}" for k, v in cfg.as_dict().items() if v is not None]
        lines.append(f"keeps = {_toml([float(k) for k in ks])}")
    cfg_sweep = parse_config("\n".join(lines) + "\n", source="<verify>")
    out = Path(sweep_dir) if sweep_dir else Path(tempfile.mkdtemp(prefix="statmech-verify-"))
    n = workers or 2
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.run(importlib.import_module, "statmech.verify")
            summary = run_sweep(cfg_sweep, out, scheduler=cluster.scheduler_address, progress=False)
    table = read_results(out)
    tr = _Tracker(claim, None)
    margins = np.asarray(table["margin"], dtype=float)
    invalid = np.asarray(table["invalid"], dtype=float)
    ok = np.isfinite(margins) & (invalid == 0)
    tr.n = int(margins.size)
    tr.n_invalid = int((~ok).sum()) + summary.failed
    if tr.n_invalid and summary.failed:
        tr.invalid_message = f"{summary.failed} ODE runs failed (see {out}/results.csv)"
    keys = np.asarray(table["keep"], dtype=float).astype(int)
    for k in sorted(set(keys[ok].tolist())):
        tr.per_budget[k] = float(margins[ok & (keys == k)].min())
    tr.n_states = int(len({(r, a) for r, a in zip(table["run_id"], table["alpha"])}))
    if ok.any():
        j = int(np.flatnonzero(ok)[np.argmin(margins[ok])])
        ci = [r.id for r in cfg_sweep.runs].index(str(table["run_id"][j]))
        cfg = family.configs[ci]
        res = cfg.integrate()
        i = int(np.argmin(np.abs(res.alpha - float(table["alpha"][j]))))
        st, model, k = res.state_at(i), cfg.model(float(res.alpha[i])), int(keys[j])
        tr.best, tr.best_state, tr.best_model, tr.best_keep = claim.margin(st, model, k), st, model, k
        tr.best_where = {"config": cfg.as_dict(), "config_index": ci, "alpha": float(res.alpha[i]), "sweep": str(out)}
    return tr
