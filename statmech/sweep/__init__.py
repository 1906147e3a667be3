"""Parameter sweeps: a TOML config expanded into runs, executed on Dask, one tidy resumable table.

``load_config(path)`` validates a config and expands its grid (see
:mod:`statmech.sweep.config`); ``run_sweep(config, out)`` runs what is not yet in
``OUT/results.csv`` on a local Dask cluster (or an existing one, or plain
processes) and appends each finished run's rows as it completes;
``read_results(out)`` reads the table back as numpy columns; ``aggregate``
groups it for figures. Engines (:mod:`statmech.sweep.engines`): ``ode`` and the
ones whose modules are installed (``simulate``, ``prune``, ``prune-sim``).
"""

from statmech.sweep.config import Run, SweepConfig, load_config, parse_config, run_id
from statmech.sweep.engines import (
    ENGINES,
    TEACHER_OVERLAP_PARAM,
    Engine,
    Outcome,
    Param,
    general_model_params,
    get_engine,
    register_engine,
)
from statmech.sweep.runner import SweepSummary, execute_run, read_results, run_sweep
from statmech.sweep.tables import aggregate, difference, final_rows, pivot, select

__all__ = [
    "Run",
    "SweepConfig",
    "load_config",
    "parse_config",
    "run_id",
    "ENGINES",
    "Engine",
    "Outcome",
    "Param",
    "get_engine",
    "register_engine",
    "general_model_params",
    "TEACHER_OVERLAP_PARAM",
    "SweepSummary",
    "execute_run",
    "read_results",
    "run_sweep",
    "aggregate",
    "difference",
    "final_rows",
    "pivot",
    "select",
]
