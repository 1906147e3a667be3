"""Several independent SGD runs from one initial condition: mean and standard error.

Every run starts from the same initial weights (so one ODE curve is the
reference for all of them) and differs only in its stream of inputs and label
noise: run r of base seed s uses the stream seeded by (s, r) (run 0 is the
same as ``simulate(seed=s)``: numpy's SeedSequence pads entropy with zeros);
all runs share the held-out test set of seed s. Runs are spread over processes
(``concurrent.futures.ProcessPoolExecutor``; fork on Linux, spawn elsewhere, where
a script must guard its entry point with ``if __name__ == "__main__":``; one run per task,
``workers`` processes, default one per core up to the number of runs); each
run is single threaded, so R runs on C cores take about ceil(R / C) run
times. A run's numbers do not depend on the number of workers.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statmech.core.interrupt import die_with_parent, sigint_flag
from statmech.core.io import ensure_dir, write_text
from statmech.core.model import Model, resolve_model
from statmech.core.resources import check_memory, note_duration, sim_memory, sim_seconds
from statmech.core.state import State
from statmech.core.weights import Weights
from statmech.ode.integrator import IntegrateResult, integrate
from statmech.sim.run import (
    SimulationResult,
    check_mask,
    check_train_set,
    read_checkpoint,
    save_steps,
    simulate,
)

__all__ = ["simulate_seeds", "SeedsResult", "ode_reference", "checkpoint_path"]


@dataclass
class SeedsResult:
    """Runs of :func:`simulate_seeds` and their statistics per saved time.

    ``alpha``: saved times reached by every run that started (a failed or
    interrupted run shortens the table for all); ``eps_g`` (runs x times) the
    per-run noise-free errors, ``mean`` and ``stderr`` (standard deviation
    with ddof=1 over sqrt(runs); NaN for a single run) their statistics;
    ``test_loss`` / ``test_mean`` / ``test_stderr`` likewise for the empirical
    noisy test loss (None without a test set), ``train_loss`` / ``train_mean`` /
    ``train_stderr`` for the training error on a finite training set (None
    online). ``status`` is the worst run status (-1 failed, 1 interrupted,
    0 done) and ``message`` says which runs; ``model`` is the learning problem.
    """

    runs: list
    run_ids: list
    alpha: np.ndarray
    eps_g: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    test_loss: np.ndarray | None
    test_mean: np.ndarray | None
    test_stderr: np.ndarray | None
    status: int
    message: str
    params: dict = field(default_factory=dict)
    wall_seconds: float = 0.0
    model: Model = field(default_factory=Model)
    train_loss: np.ndarray | None = None
    train_mean: np.ndarray | None = None
    train_stderr: np.ndarray | None = None

    @property
    def n_runs(self) -> int:
        return self.eps_g.shape[0]

    @property
    def initial_state(self) -> State:
        return self.runs[0].initial_state

    def __repr__(self) -> str:
        return (
            f"SeedsResult(runs={len(self.runs)}, status={self.status}, saved={len(self.alpha)}, "
            f"message={self.message!r})"
        )


def _mean_stderr(a: np.ndarray):
    mean = a.mean(axis=0)
    if a.shape[0] < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, a.std(axis=0, ddof=1) / np.sqrt(a.shape[0])


def checkpoint_path(checkpoint_dir: str | Path, run_id: int) -> Path:
    """Where run ``run_id`` of :func:`simulate_seeds` keeps its checkpoint."""
    return Path(checkpoint_dir) / f"seed{run_id}.npz"


RUN_SET_FILE = "runs.json"


def _check_run_set(checkpoint_dir: Path, run_ids: list[int], seed: int, resume: bool) -> None:
    """The set of runs belongs to the run: resuming with other runs or another base seed is an error.

    A run that never reached its first checkpoint leaves no file, so the set is
    recorded once, in ``runs.json``, when the runs start.
    """
    path = checkpoint_dir / RUN_SET_FILE
    want = {"runs": sorted(run_ids), "seed": seed}
    if resume and path.exists():
        try:
            have = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} cannot be read ({exc}); delete it, or rerun without --resume") from None
        if have != want:
            raise ValueError(
                f"--resume: {checkpoint_dir} holds the runs {have.get('runs')} of seed {have.get('seed')}, "
                f"asked for {want['runs']} of seed {seed}; give the same runs, or rerun without --resume"
            )
        return
    ensure_dir(checkpoint_dir)
    write_text(path, json.dumps(want) + "\n")


# ---------------------------------------------------------------- processes
_STOP = None
_PROGRESS = None


def _worker_init(stop_event, progress, parent_pid):
    """Runs in each worker: Ctrl-C goes to the parent, which sets the stop event instead; the
    worker ends with its parent (no orphan left running when the parent is killed)."""

    global _STOP, _PROGRESS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    _STOP, _PROGRESS = stop_event, progress


def _worker_run(index, kwargs):
    def on_progress(step):
        _PROGRESS[index] = step

    return simulate(**kwargs, progress=False, _stop=_STOP.is_set, _on_progress=on_progress)


def simulate_seeds(
    weights: Weights,
    model: Model | None = None,
    *,
    seeds: Any = 5,
    seed: int = 0,
    alpha_max: float,
    save_at: ArrayLike | None = None,
    test_size: int = 0,
    train_set: float | None = None,
    max_abs: float = 1e6,
    workers: int | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: float = 60.0,
    progress: bool | None = None,
    mask: ArrayLike | None = None,
    **model_fields: Any,
) -> SeedsResult:
    """Run :func:`~statmech.sim.simulate` for several seeds from the same ``weights``.

    ``seeds``: a number of runs R (run ids 0..R-1) or a list of run ids; run r
    uses the input stream of seed (``seed``, r). Mean and standard error are
    taken over runs at every saved alpha. ``workers``: processes (default:
    min(runs, cores); 1 runs them one after another in this process).
    ``checkpoint_dir``: each run writes ``seed<r>.npz`` there; ``resume=True``
    continues them. Ctrl-C stops every run at its next chunk boundary and
    returns the partial result (status 1). ``mask``: K x N booleans for
    masked SGD (as :func:`~statmech.sim.simulate`). ``model`` or its fields
    as keywords, ``train_set`` and the other arguments as for simulate
    (with ``train_set``, run r also draws its own training set from seed (``seed``, r)).
    """
    model = resolve_model(model, **model_fields)
    train_set = check_train_set(train_set)
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (the number of independent runs), got {seeds}")
        run_ids = list(range(int(seeds)))
    else:
        try:
            run_ids = [int(r) for r in seeds]
        except (TypeError, ValueError):
            raise ValueError(f"seeds must be a number of runs >= 1 or a list of run ids, got {seeds!r}") from None
        if not run_ids or len(set(run_ids)) != len(run_ids) or min(run_ids) < 0:
            raise ValueError(f"seeds must be a non-empty list of distinct run ids >= 0, got {seeds!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if workers is None:
        workers = min(len(run_ids), os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if checkpoint_dir is not None:
        ensure_dir(checkpoint_dir, "checkpoint_dir")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    common = dict(
        model=model,
        alpha_max=alpha_max,
        save_at=save_at,
        train_set=train_set,
        test_seed=int(seed),
        test_size=test_size,
        max_abs=max_abs,
        resume=resume,
        checkpoint_every=checkpoint_every,
        mask=mask,
    )
    tasks: list[dict[str, Any]] = [
        dict(
            common,
            weights=weights,
            seed=(int(seed), r),
            checkpoint=checkpoint_path(checkpoint_dir, r) if checkpoint_dir is not None else None,
        )
        for r in run_ids
    ]
    if weights is None and not resume:
        raise ValueError("weights (the initial Weights) are required unless resuming")
    if weights is not None and not isinstance(weights, Weights):
        raise TypeError(f"weights must be a statmech.Weights, got {type(weights).__name__}")
    # validate everything once here, so bad input fails before any process starts
    if weights is not None:
        plan = save_steps(save_at, alpha_max, weights.N)
        at_once = min(int(workers), len(run_ids))
        check_memory(
            f"{at_once} simulations at once (workers)",
            f"K={weights.K}, M={weights.M}, N={weights.N}, {plan.size} save points",
            sim_memory(weights.K, weights.M, weights.N, plan.size, at_once),
        )
        note_duration(
            f"simulate {len(run_ids)} runs on {at_once} processes",
            sim_seconds(weights.K, weights.M, weights.N, plan[-1], model.batch_size) * len(run_ids) / at_once,
        )
        if mask is not None:
            check_mask(mask, weights)
    if checkpoint_dir is not None:
        _check_run_set(Path(checkpoint_dir), run_ids, int(seed), resume)
    if resume:  # a damaged checkpoint is reported here, before any process starts
        for kw in tasks:
            if kw["checkpoint"].exists():
                read_checkpoint(kw["checkpoint"])

    t0 = time.perf_counter()
    if workers == 1 or len(tasks) == 1:
        runs = _run_serial(tasks, progress)
    else:
        runs = _run_pool(tasks, min(workers, len(tasks)), progress)  # a fork pool starts all its processes at once
    wall = time.perf_counter() - t0
    return _combine(runs, run_ids, dict(seed=int(seed), runs=len(run_ids), workers=int(workers)), wall)


def _run_serial(tasks, progress):
    runs = []
    with sigint_flag() as flag:
        for kw in tasks:
            if flag["stop"]:
                break
            runs.append(simulate(**kw, progress=progress, _stop=lambda: flag["stop"]))
            if runs[-1].status == 1:
                break
    return runs


def _run_pool(tasks, workers, progress):

    from tqdm.auto import tqdm

    # fork on Linux: workers inherit the compiled kernels and scripts need no __main__ guard;
    # spawn elsewhere (fork is unsafe on macOS and absent on Windows).
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    stop = ctx.Event()
    done_steps = ctx.Array("q", len(tasks), lock=False)
    plan = [_planned_steps(kw) for kw in tasks]
    bar = tqdm(
        total=sum(plan),
        disable=(None if progress is None else not progress),
        unit="step",
        unit_scale=True,
        desc=f"simulate {len(tasks)} seeds on {workers} processes",
    )
    results = [None] * len(tasks)
    with sigint_flag() as flag:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(stop, done_steps, os.getpid())
        ) as pool:
            futures = {pool.submit(_worker_run, i, kw): i for i, kw in enumerate(tasks)}
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                    for f in finished:
                        results[futures[f]] = f.result()
                    if flag["stop"] and not stop.is_set():
                        stop.set()  # every worker stops at its next chunk and returns its partial run
                    bar.n = float(sum(done_steps[i] for i in range(len(tasks))))
                    bar.refresh()
            finally:
                bar.close()
                if pending:
                    stop.set()
    return [r for r in results if r is not None]


def _planned_steps(kw) -> int:

    w = kw["weights"]
    if w is None:  # resuming without weights: the bar counts nothing
        return 0
    return int(save_steps(kw["save_at"], kw["alpha_max"], w.N)[-1])


def _combine(runs, run_ids, extra, wall) -> SeedsResult:
    started = [(r, rid) for r, rid in zip(runs, run_ids) if len(r.alpha) > 0]
    missing = [rid for rid in run_ids[len(runs) :]]
    if not started:
        raise ValueError("no run saved any point (interrupted before the first save?)")
    n = min(len(r.alpha) for r, _ in started)
    alpha = started[0][0].alpha[:n]
    eps = np.array([r.eps_g[:n] for r, _ in started])
    mean, stderr = _mean_stderr(eps)
    test = test_mean = test_stderr = None
    if started[0][0].test_loss is not None:
        test = np.array([r.test_loss[:n] for r, _ in started])
        test_mean, test_stderr = _mean_stderr(test)
    train = train_mean = train_stderr = None
    if started[0][0].train_loss is not None:
        train = np.array([r.train_loss[:n] for r, _ in started])
        train_mean, train_stderr = _mean_stderr(train)
    statuses = [r.status for r in runs]
    status = -1 if -1 in statuses else (1 if (1 in statuses or missing) else 0)
    parts = []
    failed = [rid for r, rid in zip(runs, run_ids) if r.status == -1]
    stopped = [rid for r, rid in zip(runs, run_ids) if r.status == 1]
    if failed:
        parts.append(f"runs {failed} failed: {next(r.message for r in runs if r.status == -1)}")
    if stopped or missing:
        parts.append(
            f"interrupted (runs {stopped} stopped early"
            + (f", runs {missing} not started" if missing else "")
            + "); resume to continue"
        )
    if not parts:
        parts.append(f"all {len(runs)} runs reached alpha_max")
    if n < max(len(r.alpha) for r, _ in started):
        parts.append(f"the table stops at alpha={alpha[-1]:.6g}, the last point every run reached")
    params = dict(started[0][0].params)
    params.pop("seed", None)
    params.pop("save_steps", None)
    params.update(extra)
    params["run_ids"] = [rid for _, rid in started]
    return SeedsResult(
        runs=[r for r, _ in started],
        run_ids=[rid for _, rid in started],
        alpha=alpha,
        eps_g=eps,
        mean=mean,
        stderr=stderr,
        test_loss=test,
        test_mean=test_mean,
        test_stderr=test_stderr,
        status=status,
        message="; ".join(parts),
        params=params,
        wall_seconds=wall,
        model=started[0][0].model,
        train_loss=train,
        train_mean=train_mean,
        train_stderr=train_stderr,
    )


def ode_reference(
    result: SimulationResult | SeedsResult,
    *,
    method: str = "dopri5",
    save_at: ArrayLike | str | None = "result",
    alpha_max: float | None = None,
    **kwargs: Any,
) -> IntegrateResult:
    """The ODE solution started from the simulation's initial state, saved at its alphas.

    ``result`` is a :class:`SimulationResult` or :class:`SeedsResult`; the
    model (activations, rates, noise, weight decay, batch size, scaling) is
    the run's. ``save_at``: the result's alphas (default), or times of one's
    own (None: :func:`statmech.ode.default_save_at`) up to ``alpha_max``
    (default: the last saved alpha). A run on a finite
    training set has no online ODE (its samples are reused): a ValueError.
    Returns a :class:`statmech.IntegrateResult`.
    """

    run = result if isinstance(result, SimulationResult) else result.runs[0]
    p = run.params
    if "mask" in p:
        raise ValueError(
            "ode_reference integrates the unmasked ODE; for masked SGD use the masked-student ODE "
            "(statmech.ode.masked.integrate_masked(MaskedState.from_weights(weights, mask)), or "
            "statmech.pruning.retraining.retrain_ode(weights, mask))"
        )
    if "train_set" in p:
        raise ValueError(
            "no online ODE describes SGD on a finite training set (train_set): its samples are reused, so "
            "the weights become correlated with them; compare the training and test errors instead"
        )
    alpha = np.asarray(result.alpha, dtype=np.float64)
    if alpha_max is None:
        alpha_max = float(alpha[-1]) if alpha[-1] > 0 else 1e-9
    times = alpha if isinstance(save_at, str) and save_at == "result" else save_at
    return integrate(run.initial_state, run.model, alpha_max=alpha_max, save_at=times, method=method, **kwargs)
