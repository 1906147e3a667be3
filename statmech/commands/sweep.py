"""``statmech sweep``: run a parameter sweep described by a TOML file, on Dask, resumably."""

from __future__ import annotations

import argparse
from pathlib import Path

from statmech.commands._common import out_dir, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a grid or list of runs from a TOML config (Dask); one tidy CSV that resumes",
        description=(
            "Run every run of CONFIG.toml (engine, [fixed], [axes] grid, [[runs]], [derived], record) "
            "that is not yet in OUT/results.csv: one row per run and saved time, every parameter a column, "
            "the config copied to OUT/config.toml. Rerunning the same command resumes; finished runs are "
            "never lost or repeated. Runs on a local Dask cluster with one worker per core (or plain "
            "processes without Dask), or on an existing cluster with --scheduler."
        ),
    )
    p.add_argument("config", metavar="CONFIG.toml", help="sweep description (see README, 'Parameter sweeps')")
    p.add_argument("--out", required=True, metavar="DIR", help="results directory")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler, tcp://host:8786 (default: a local cluster)",
    )
    p.add_argument("--workers", type=positive_int, help="local workers (default: the number of cores)")
    p.add_argument("--no-dask", action="store_true", help="use plain processes (concurrent.futures) instead of Dask")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    p.add_argument("--dry-run", action="store_true", help="validate the config and list the runs, run nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from statmech.sweep import load_config, run_sweep
    from statmech.sweep.runner import check_out

    if args.no_dask and args.scheduler:
        raise ValueError("--scheduler and --no-dask exclude each other")
    cfg = load_config(args.config)
    if args.dry_run:
        check_out(cfg, Path(args.out))  # the output directory is checked as a real run checks it
        print(
            f"{args.config}: engine {cfg.engine!r}, {len(cfg)} runs, parameters {', '.join(cfg.param_names)}, "
            f"record {', '.join(cfg.record)}"
        )
        return 0
    summary = run_sweep(
        cfg,
        out_dir(args.out),
        scheduler=args.scheduler,
        workers=args.workers,
        executor="processes" if args.no_dask else "auto",
        retry_failed=args.retry_failed,
    )
    print(f"{summary}; results in {summary.results}")
    return 1 if summary.lost else 0  # failed runs are results (recorded with their message); lost ones are not
