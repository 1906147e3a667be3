"""``statmech reproduce``: the paper's figures F1-F4, their tables and the F1 summary in one command."""

from __future__ import annotations

import argparse

from statmech.commands._common import out_dir, seed_int
from statmech.core.lock import output_lock


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="reproduce the paper's figures F1-F4 (PNG), F1.csv, F4.csv and F1_summary.md",
        description=(
            "Train the paper's 6:2 and 5:20 students (finite-N SGD and the ODE, sigma = 0 and 0.25), prune them "
            "with every scheme (N -> infinity theory on the ODE student; real masks on the SGD students) and "
            "draw F1 (error vs parameters remaining, theory + simulation + published), F2 (|Q|, |R| heatmaps), "
            "F3 (DPP kernels) and F4 (learning curves). Results are cached in DIR/.reproduce_cache, so an "
            "interrupted run resumes; F1.csv and F1_summary.md are rewritten after every pruned student. The "
            "full sizes (N = 500, alpha = 1600 / 3000, 3 students x 5 masks, kernels from P = alpha N inputs) "
            "take about 25 min on 2 cores; --quick (N = 60, alpha = 150, 2 students x 2 masks) about a minute."
        ),
    )
    p.add_argument(
        "--figure",
        nargs="+",
        default=["all"],
        choices=["F1", "F2", "F3", "F4", "all"],
        help="which figures (default all)",
    )
    p.add_argument("--quick", action="store_true", help="small sizes for a fast check (not the paper's numbers)")
    p.add_argument(
        "--seed", type=seed_int, default=0, help="seed of initial weights, SGD streams and masks (default 0)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for the SGD runs (default: one per core up to the number of students)",
    )
    p.add_argument("--cache", metavar="DIR", help="cache directory (default OUT/.reproduce_cache)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory, e.g. figures/")
    p.add_argument(
        "--replot",
        action="store_true",
        help="redraw every figure drawn from a table in DIR (F1.csv, F4.csv, *_summary.csv, ...) and rewrite "
        "F1_summary.md from F1.csv, in seconds; computes nothing",
    )
    p.add_argument(
        "--classic",
        action="store_true",
        help="instead of the paper's figures, the field's classic results (Saad & Solla 1995/1996, Goldt et al. "
        "2019): tables (CSV + JSON) and figures in DIR; about 4 min of CPU, --quick about 15 s",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from statmech.experiments import paper as ex

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.classic:
        return run_classic(args)
    if args.replot:
        flags = (("--quick", args.quick), ("--seed", args.seed), ("--workers", args.workers), ("--cache", args.cache))
        given = [f for f, v in flags + (("--figure", args.figure != ["all"]),) if v]
        if given:
            raise ValueError(f"--replot redraws from the tables in --out and computes nothing; drop {', '.join(given)}")
        print(ex.replot(out_dir(args.out), log=lambda m: None)["message"])
        return 0
    figures = ex.FIGURES if "all" in args.figure else tuple(dict.fromkeys(args.figure))
    out = out_dir(args.out)
    with output_lock(out):
        try:
            res = ex.reproduce(
                out,
                figures=figures,
                quick=args.quick,
                seed=args.seed,
                workers=args.workers,
                cache_dir=args.cache,
                log=lambda m: print(m, flush=True),
            )
        except KeyboardInterrupt:
            print(
                f"interrupted: finished stages are cached in {args.cache or out / '.reproduce_cache'}; "
                "run the same command again to resume"
            )
            raise
        print(res["message"])
        return 0


def run_classic(args: argparse.Namespace) -> int:
    from statmech.experiments import classic

    given = [f for f, v in (("--figure", args.figure != ["all"]), ("--workers", args.workers),
                            ("--cache", args.cache), ("--replot", args.replot)) if v]  # fmt: skip
    if given:
        raise ValueError(f"--classic computes its own tables and figures; drop {', '.join(given)}")
    out = out_dir(args.out)
    with output_lock(out):
        res = classic.reproduce_classic(out, quick=args.quick, seed=args.seed, log=lambda m: print(m, flush=True))
    print(res["message"])
    return 0
