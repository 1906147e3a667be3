"""Running a sweep: on Dask, on plain processes, or inline; one tidy CSV that resumes.

The client submits runs, collects them as they complete (``as_completed``) and
appends each finished run's rows to ``OUT/results.csv`` at once, flushed, so a
crash, a Ctrl-C or a killed worker loses no finished run. A rerun of the same
config reads the table, drops a truncated last line or the rows of a run that
was cut mid-write, and submits only the runs that are missing.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import io
import json
import logging
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from statmech import __version__
from statmech.core.interrupt import die_with_parent
from statmech.core.io import atomic_write, write_text
from statmech.core.lock import output_lock
from statmech.core.provenance import provenance
from statmech.sweep.config import SweepConfig, load_config, parse_config
from statmech.sweep.engines import get_engine
from statmech.sweep.tables import format_units

__all__ = ["run_sweep", "SweepSummary", "read_results", "execute_run", "results_header", "RESULTS_FILE", "CONFIG_FILE"]

RESULTS_FILE = "results.csv"
CONFIG_FILE = "config.toml"
SIDECAR_FILE = "results.json"
LEAD = ("run_id", "row", "nrows", "engine")
TAIL = ("status", "error", "elapsed_s")
STRING_COLUMNS = ("run_id", "engine", "status", "error")


@dataclass
class SweepSummary:
    """What a call of :func:`run_sweep` did. ``executed`` counts runs computed by this call."""

    total: int
    skipped: int = 0
    executed: int = 0
    failed: int = 0
    lost: int = 0
    interrupted: bool = False
    executor: str = ""
    workers: int = 0
    elapsed_s: float = 0.0
    startup_s: float = 0.0  # starting the executor (cluster, worker processes) within elapsed_s
    results: Path | None = None
    lost_messages: list = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.total - self.skipped - self.executed

    def __str__(self) -> str:
        s = (
            f"{self.total} runs: {self.skipped} already done, {self.executed} executed "
            f"({self.failed} failed) on {self.executor}"
        )
        if self.workers:
            s += f" with {self.workers} workers"
        s += f" in {self.elapsed_s:.3g} s"
        if self.lost:
            s += f"; {self.lost} lost (worker failures, e.g. {self.lost_messages[0]}); rerun to resume them"
        if self.interrupted:
            s += f"; interrupted with {self.remaining} runs left (rerun the same command to resume)"
        return s


# ---------------------------------------------------------------- the work unit
def execute_run(engine: str, params: dict, record: list) -> dict:
    """Run one parameter set (in a worker); never raises for a failure of the run itself."""
    t0 = time.perf_counter()
    try:
        out = get_engine(engine).run(params, record)
        rows, status, message = out.rows, int(out.status), str(out.message)
    except KeyboardInterrupt:
        return {"interrupted": True}
    except Exception as exc:  # recorded with its message; the sweep goes on
        rows, status, message = [], -1, f"{type(exc).__name__}: {exc}"
    if status == 1:  # the engine caught a Ctrl-C: its partial result is not a finished run
        return {"interrupted": True}
    return {"rows": rows, "status": status, "message": message, "elapsed": time.perf_counter() - t0}


# ---------------------------------------------------------------------- table
def results_header(cfg: SweepConfig) -> list:
    engine = get_engine(cfg.engine)
    header = list(LEAD) + list(cfg.param_names) + list(engine.row_keys) + list(cfg.record) + list(TAIL)
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise ValueError(f"parameter name {sorted(dup)[0]!r} is reserved for a column of the results table")
    return header


def _fmt(x) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    if isinstance(x, (list, tuple, np.ndarray)):
        return json.dumps(np.asarray(x).tolist() if isinstance(x, np.ndarray) else list(x))
    return str(x)


_DAMAGED = "delete it to compute every run again, or use a new --out directory"


def _read_text(path: Path) -> str:
    """The results table as text; ``ValueError`` naming it when it is not UTF-8 text."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not a results table (bytes that are not text at offset {exc.start}); {_DAMAGED}"
        ) from None
    except OSError as exc:
        raise ValueError(f"{path} cannot be read ({exc.strerror})") from None


def _csv_rows(path: Path, text: str) -> list:
    if "\0" in text:
        raise ValueError(f"{path} is not a results table (it holds NUL bytes); {_DAMAGED}")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValueError(f"{path} is not a results table ({exc}); {_DAMAGED}") from None


class _Table:
    """The append-only results CSV of one sweep directory."""

    def __init__(self, path: Path, header: list):
        self.path = Path(path)
        self.header = header
        self.done: dict = {}  # run_id -> status ("ok" / "failed")
        self._fh: IO[str] | None = None

    def load(self, drop_failed: bool = False) -> None:
        """Read the finished runs; repair a truncated tail or a run cut mid-write (rewrite without it)."""
        if self.path.is_dir():
            raise ValueError(f"{self.path} is a directory, not the results table; remove it or use a new --out")
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._rewrite([])
            return
        text = _read_text(self.path)
        rewrite = not text.endswith("\n")
        if rewrite:  # a kill during a write left half a line: keep only whole lines
            text = text[: text.rfind("\n") + 1]
        lines = _csv_rows(self.path, text)
        if not lines or lines[0] != self.header:
            raise ValueError(
                f"{self.path} has columns {lines[0] if lines else []} but this config gives "
                f"{self.header}: use a new --out directory"
            )
        width = len(self.header)
        i_id, i_row, i_n, i_st = (self.header.index(k) for k in ("run_id", "row", "nrows", "status"))
        by_run: dict = {}
        for r in lines[1:]:
            if len(r) != width:
                rewrite = True
                continue
            by_run.setdefault(r[i_id], []).append(r)
        keep = []
        for rid, rows in by_run.items():
            try:
                n = int(rows[0][i_n])
                idx = sorted(int(r[i_row]) for r in rows)
            except ValueError:
                rewrite = True
                continue
            if idx != list(range(n)):  # cut mid-write (or duplicated): recompute the run
                rewrite = True
                continue
            status = rows[0][i_st]
            if drop_failed and status != "ok":
                rewrite = True
                continue
            self.done[rid] = status
            keep.extend(rows)
        if rewrite:
            self._rewrite(keep)

    def _rewrite(self, rows) -> None:
        with atomic_write(self.path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(self.header)
            w.writerows(rows)

    def append(
        self, run, engine: str, result: dict, record: list, row_keys: tuple, units: frozenset = frozenset()
    ) -> str:
        """Write the rows of one finished run in one flushed write; returns its status.

        ``units``: the per-unit parameters (one column each, :func:`statmech.sweep.tables.format_units`).
        """
        status = "ok" if result["status"] == 0 else "failed"
        rows = result["rows"] or [{}]  # a run that raised still gets one row holding its message
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        for i, r in enumerate(rows):
            values = {
                "run_id": run.id,
                "row": i,
                "nrows": len(rows),
                "engine": engine,
                **run.params,
                "status": status,
                "error": result["message"] if status != "ok" else "",
                "elapsed_s": round(result["elapsed"], 6),
            }
            for k in row_keys:
                values[k] = r.get(k)
            for q in record:
                values[q] = r.get(q, math.nan)
            w.writerow(
                [
                    format_units(values[h]) if h in units and values.get(h) is not None else _fmt(values.get(h))
                    for h in self.header
                ]
            )
        if self._fh is None:
            self._fh = open(self.path, "a", newline="")
        self._fh.write(buf.getvalue())
        self._fh.flush()
        self.done[run.id] = status
        return status

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def check_out(cfg: SweepConfig, out: Path) -> None:
    """Refuse an output directory that cannot take this sweep (a file in the way, another config's results).

    Reads only: ``statmech sweep --dry-run`` calls it as the real run does.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    copy = out / CONFIG_FILE
    if copy.exists():
        try:
            old = parse_config(copy.read_text(), source=str(copy))
            same = old.raw == cfg.raw
        except ValueError:
            same = False
        if not same:
            raise ValueError(f"{out} holds the results of a different config ({copy}); use a new --out directory")


def _prepare_out(cfg: SweepConfig, out: Path) -> None:
    check_out(cfg, out)
    out.mkdir(parents=True, exist_ok=True)
    copy = out / CONFIG_FILE
    if not copy.exists():
        write_text(copy, cfg.text if cfg.text else _dump_raw(cfg.raw))
    engine = get_engine(cfg.engine)

    side = {
        "file": RESULTS_FILE,
        "config": CONFIG_FILE,
        "description": cfg.description,
        "statmech_version": __version__,
        "engine": cfg.engine,
        "record": cfg.record,
        "columns": results_header(cfg),
        "row_keys": list(engine.row_keys),
        "descriptions": {
            "run_id": "hash of the engine and the run's parameters (stable across reruns)",
            "row": "index of the row within its run",
            "nrows": "rows of the run",
            "status": "ok, or failed (diverged or raised; see error)",
            "eps_g": "noise-free generalisation error (a test loss on noisy labels adds sigma^2/2)",
            "vstar": "teacher second-layer weights: one number (every unit) or M numbers separated by spaces",
            "elapsed_s": "wall time of the run in its worker",
        },
    }
    side["provenance"] = provenance(cfg.raw)
    write_text(out / SIDECAR_FILE, json.dumps(side, indent=2) + "\n")


def _dump_raw(raw) -> str:  # pragma: no cover - configs built from text keep their text
    return "# written by statmech sweep\n" + json.dumps(raw, indent=2)


# ------------------------------------------------------------------- executors
@contextlib.contextmanager
def _workers_ignore_sigint():
    """Start worker processes with SIGINT ignored (inherited), so that a Ctrl-C reaches only the client.

    The client then writes what finished, cancels the rest and shuts the workers down cleanly
    instead of every worker printing its own KeyboardInterrupt traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _Inline:
    """Runs in this process, one at a time (debugging, tests, and tiny sweeps)."""

    name = "inline"

    def __init__(self):
        self.workers = 1

    def submit(self, *args):
        f = cf.Future()
        try:
            f.set_result(execute_run(*args))
        except BaseException as exc:  # pragma: no cover - execute_run catches run failures
            f.set_exception(exc)
        return f

    def next_done(self, pending):
        k = next(iter(pending))
        return [(k, pending.pop(k))]

    def close(self, cancel=False):
        pass


class _Processes:
    """concurrent.futures processes: the fallback when Dask is not installed (or --no-dask)."""

    name = "processes"

    def __init__(self, workers):
        self.workers = workers
        self.pool = self._new_pool()

    def _new_pool(self):

        # forkserver/spawn: a fork of a client that holds threads (tqdm, numba) is not safe
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=mp.get_context(method),
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )

    def start(self):
        """Start every worker process now (the pool starts them lazily otherwise)."""
        for f in [self.pool.submit(os.getpid) for _ in range(self.workers)]:
            f.result()

    def submit(self, *args):
        try:
            return self.pool.submit(execute_run, *args)
        except cf.process.BrokenProcessPool:
            # a worker process died, which breaks the whole pool: continue on a fresh one
            self.pool.shutdown(wait=False, cancel_futures=True)
            with _workers_ignore_sigint():
                self.pool = self._new_pool()
            return self.pool.submit(execute_run, *args)

    def next_done(self, pending):
        done, _ = cf.wait(list(pending.values()), return_when=cf.FIRST_COMPLETED)
        return self._pop(pending, done)

    @staticmethod
    def _pop(pending, done):
        keys = [k for k, f in pending.items() if f in done]
        return [(k, pending.pop(k)) for k in keys]

    def close(self, cancel=False):
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class _Dask:
    """A dask.distributed client: a LocalCluster sized to the cores, or an existing scheduler."""

    name = "dask"

    def __init__(self, workers, scheduler):
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None
            self.name = f"dask scheduler {scheduler}"
        else:
            # one single-threaded worker process per core: the numba kernels hold the GIL
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        self.workers = len(self.client.scheduler_info().get("workers", {})) or workers
        from dask.distributed import as_completed

        self.ac = as_completed([], with_results=False)

    def submit(self, engine, params, record, key=None):
        f = self.client.submit(execute_run, engine, params, record, key=key, pure=False, retries=0)
        self.ac.add(f)
        return f

    def next_done(self, pending):
        f = next(self.ac)
        for k, g in list(pending.items()):
            if g is f:
                return [(k, pending.pop(k))]
        return []  # pragma: no cover

    def close(self, cancel=False):
        try:
            if cancel:
                self.client.cancel(list(self.ac.futures), force=True)
        finally:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def _make_executor(executor, workers, scheduler):
    if executor not in ("auto", "dask", "processes", "inline"):
        raise ValueError(f"executor must be auto, dask, processes or inline, got {executor!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if scheduler and executor not in ("auto", "dask"):
        raise ValueError(f"--scheduler needs the dask executor, not {executor!r}")
    if executor == "auto":
        try:
            import dask.distributed  # noqa: F401

            executor = "dask"
        except ImportError:
            if scheduler:
                raise ValueError("--scheduler needs dask: pip install 'statmech[sweep]'") from None
            executor = "processes"
    n = workers or os.cpu_count() or 1
    if executor == "inline":
        return _Inline()
    if executor == "processes":
        return _Processes(n)
    try:
        return _Dask(n, scheduler)
    except ImportError:
        raise ValueError("the dask executor needs dask: pip install 'statmech[sweep]'") from None


# ---------------------------------------------------------------------- driver
def run_sweep(
    config: SweepConfig | str | Path,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    executor: str = "auto",
    progress: bool | None = None,
    retry_failed: bool = False,
    max_in_flight: int | None = None,
    on_result: Callable[[Any, str], object] | None = None,
) -> SweepSummary:
    """Run every run of ``config`` not yet in ``OUT/results.csv``; return a :class:`SweepSummary`.

    ``config``: a :class:`SweepConfig` or the path of a TOML file. ``executor``:
    ``"auto"`` (Dask if installed, else processes), ``"dask"``, ``"processes"``
    or ``"inline"``; ``workers`` defaults to the number of cores; ``scheduler``
    is the address of an existing Dask scheduler. ``retry_failed`` reruns the
    runs recorded as failed. ``on_result(run, status)`` is called after each
    run is written. A Ctrl-C stops the sweep after writing what finished, then
    re-raises ``KeyboardInterrupt``.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, SweepConfig) else load_config(config)
    out = Path(out)
    header = results_header(cfg)
    with output_lock(out, what="sweep"):
        _prepare_out(cfg, out)
        return _run_locked(
            cfg,
            out,
            header,
            t0,
            scheduler=scheduler,
            workers=workers,
            executor=executor,
            progress=progress,
            retry_failed=retry_failed,
            max_in_flight=max_in_flight,
            on_result=on_result,
        )


def _run_locked(
    cfg, out, header, t0, *, scheduler, workers, executor, progress, retry_failed, max_in_flight, on_result
) -> SweepSummary:
    table = _Table(out / RESULTS_FILE, header)
    table.load(drop_failed=retry_failed)
    todo = [r for r in cfg.runs if r.id not in table.done]
    summary = SweepSummary(total=len(cfg.runs), skipped=len(cfg.runs) - len(todo), results=table.path)
    if not todo:
        summary.executor = "nothing to do"
        summary.elapsed_s = time.perf_counter() - t0
        return summary

    engine = get_engine(cfg.engine)
    units = frozenset(n for n in cfg.param_names if n in engine.params and engine.params[n].kind == "units")
    t_start = time.perf_counter()
    with _workers_ignore_sigint():
        ex = _make_executor(executor, None if executor == "inline" else workers, scheduler)
        if isinstance(ex, _Processes):
            ex.start()
    summary.startup_s = time.perf_counter() - t_start
    summary.executor, summary.workers = ex.name, ex.workers
    window = max_in_flight or max(8, 4 * ex.workers)  # bounded: a million-run sweep is not a million futures
    from tqdm import tqdm  # plain text bar (tqdm.auto wants ipywidgets in notebooks)

    bar = tqdm(total=len(todo), unit="run", desc="sweep", disable=(None if progress is None else not progress))
    pending: dict = {}
    queue = iter(todo)
    runs = {r.id: r for r in todo}
    retries: dict = {}
    cancel = False
    try:

        def fill():
            while len(pending) < window:
                run = next(queue, None)
                if run is None:
                    return
                if isinstance(ex, _Dask):
                    pending[run.id] = ex.submit(cfg.engine, run.params, cfg.record, f"statmech-sweep-{run.id}")
                else:
                    pending[run.id] = ex.submit(cfg.engine, run.params, cfg.record)

        fill()
        while pending:
            for rid, fut in ex.next_done(pending):
                run = runs[rid]
                try:
                    result = fut.result()
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # the worker died or was cancelled: not the run's fault
                    if isinstance(exc, cf.process.BrokenProcessPool) and retries.get(rid, 0) < 2:
                        # a dead process broke the pool: resubmit its runs (to a fresh pool; Dask
                        # reschedules the runs of a dead worker by itself)
                        retries[rid] = retries.get(rid, 0) + 1
                        pending[rid] = ex.submit(cfg.engine, run.params, cfg.record)
                        continue
                    summary.lost += 1
                    summary.lost_messages.append(f"{type(exc).__name__}: {exc}")
                    continue
                if result.get("interrupted"):
                    summary.lost += 1
                    summary.lost_messages.append("interrupted in its worker")
                    continue
                status = table.append(run, cfg.engine, result, cfg.record, engine.row_keys, units)
                summary.executed += 1
                summary.failed += status != "ok"
                bar.update(1)
                if summary.failed:
                    bar.set_postfix(failed=summary.failed, refresh=False)
                if on_result is not None:
                    on_result(run, status)
            fill()
    except KeyboardInterrupt:
        summary.interrupted = True
        cancel = True
        raise
    finally:
        bar.close()
        table.close()
        try:
            ex.close(cancel=cancel)
        except Exception:  # pragma: no cover - shutting down after an interrupt
            pass
        summary.elapsed_s = time.perf_counter() - t0
        if summary.interrupted:
            print(f"statmech sweep: {summary}", file=sys.stderr)
    return summary


# --------------------------------------------------------------------- reading
def read_results(path: str | Path) -> dict:
    """Columns of a sweep's results (a directory or its results.csv) as numpy arrays.

    Columns whose every entry is a number (empty = NaN) become float arrays;
    the others stay arrays of strings.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.exists():
        raise ValueError(f"no sweep results at {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a sweep's results table")
    rows = _csv_rows(path, _read_text(path))
    if not rows:
        raise ValueError(f"{path} is empty")
    header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    cols = {}
    for j, name in enumerate(header):
        vals = [r[j] for r in body]
        if name in STRING_COLUMNS:  # a hex run id can look like a number
            cols[name] = np.array(vals, dtype=object)
            continue
        try:
            cols[name] = np.array([float(x) if x != "" else math.nan for x in vals], dtype=np.float64)
        except ValueError:
            cols[name] = np.array(vals, dtype=object)
    return cols
