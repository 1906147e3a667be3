"""The CLI side of hardening: option names in messages, budgets checked before work."""

from __future__ import annotations

import time

import pytest

from statmech.cli import main


def _run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["curve", "--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
        (["curve", "--alpha-max", "-5"], "argument --alpha-max: expected a number > 0, got -5"),
        (["curve", "--alpha-max", "0"], "argument --alpha-max: expected a number > 0, got 0"),
        (["simulate", "--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
        (["prune-sim", "--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
    ],
)
def test_option_messages(argv, message, tmp_path, capsys):
    code, err = _run(argv + ["--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_runaway_sizes_are_refused_before_work(tmp_path, capsys):
    code, err = _run(["curve", "--N", "1000000000000", "--alpha-max", "1", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "N=1000000000000 needs about" in err and "available" in err
    code, err = _run(
        ["curve", "--K", "10000", "--N", "10", "--alpha-max", "1", "--points", "2", "--out", str(tmp_path)], capsys
    )
    assert code == 2 and "one ODE step at K=10000, M=2 would take about" in err
    code, err = _run(
        ["simulate", "--K", "10000", "--N", "10", "--alpha-max", "1", "--points", "2", "--out", str(tmp_path / "s")],
        capsys,
    )
    assert code == 2 and "one ODE step at K=10000, M=2 would take about" in err


def test_sweep_dry_run_counts_the_axis(tmp_path, capsys):
    cfg = tmp_path / "big.toml"
    cfg.write_text('engine = "ode"\n[axes]\nK = { range = [100000000] }\n')
    t0 = time.perf_counter()
    code, err = _run(["sweep", str(cfg), "--out", str(tmp_path / "o"), "--dry-run"], capsys)
    assert code == 2 and "gives 100000000 values, more than the 1000000" in err
    assert time.perf_counter() - t0 < 5


def test_sweep_negative_seed_is_a_config_error(tmp_path, capsys):
    cfg = tmp_path / "seed.toml"
    cfg.write_text('engine = "ode"\n[fixed]\nseed = -1\n')
    code, err = _run(["sweep", str(cfg), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "parameter 'seed' must be >= 0, got -1" in err


def test_prune_checks_out_before_computing(tmp_path, monkeypatch):
    """`statmech prune STATE --out FILE` (a file in the way) fails before any pruned error is computed."""
    import statmech.pruning.theory.table as table
    from statmech import State
    from statmech.cli import main

    state = tmp_path / "s.npz"
    State.random(6, 2, 500, vstar=4.0, seed=0).save(state)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")

    def no_work(*args, **kwargs):
        raise AssertionError("computed before checking --out")

    monkeypatch.setattr(table, "pruned_error_table", no_work)
    assert main(["prune", str(state), "--schemes", "random-node", "--keep", "2", "--out", str(blocker)]) == 2


def test_prune_sim_refuses_a_K_that_conflicts_with_the_weights(tmp_path, capsys):
    """A weights file fixes K, M, N: a conflicting --K is refused (exit 2, one line), a matching one accepted."""
    from statmech import Weights
    from statmech.cli import main

    w = tmp_path / "w.npz"
    Weights.random(4, 2, 60, vstar=1.0, seed=0).save(w)
    code = main(["prune-sim", "--weights", str(w), "--K", "6", "--keep", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "--K 6 conflicts with the weights files (K = 4); drop --K" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_sweep_dry_run_checks_out_as_a_real_run(tmp_path, capsys):
    """--dry-run refuses an OUT that holds another configuration's results, as the real run does."""
    from pathlib import Path

    from statmech.cli import main

    examples = Path(__file__).resolve().parents[2] / "examples"
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.toml").write_text((examples / "sweep_c2_phase_diagram.toml").read_text())
    code = main(["sweep", str(examples / "sweep_learning_rate.toml"), "--out", str(out), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "holds the results of a different config" in err
    assert main(["sweep", str(examples / "sweep_c2_phase_diagram.toml"), "--out", str(out), "--dry-run"]) == 0


def test_a_bad_numba_thread_count_is_one_line():
    """NUMBA_NUM_THREADS=0 would make numba's import raise: exit 2 and one line naming the variable."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "NUMBA_NUM_THREADS": "0"}
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "statmech.cli", "curve", "--out", "x"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert (
        proc.stderr.strip()
        == "statmech: error: environment variable NUMBA_NUM_THREADS must be an integer >= 1, got '0'"
    )


def test_more_workers_than_runs_start_one_process_per_run(tmp_path, monkeypatch):
    """--workers 100000 for 2 runs: a fork pool starts every process at once, so it is given 2."""
    import statmech.sim.seeds as seeds

    sizes = []
    pool = seeds.ProcessPoolExecutor

    def recorded(*args, max_workers=None, **kwargs):
        sizes.append(max_workers)
        return pool(*args, max_workers=max_workers, **kwargs)

    monkeypatch.setattr(seeds, "ProcessPoolExecutor", recorded)
    argv = ["simulate", "--K", "2", "--M", "1", "--N", "30", "--alpha-max", "0.5", "--runs", "2", "--points", "3"]
    assert main([*argv, "--workers", "100000", "--out", str(tmp_path / "s")]) == 0
    assert sizes == [2]


def test_an_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    """--out "" would be the current directory: refused, nothing written there."""
    monkeypatch.chdir(tmp_path)
    code, err = _run(["curve", "--alpha-max", "1", "--points", "3", "--out", ""], capsys)
    assert code == 2 and "--out must name a directory, got an empty string" in err
    assert list(tmp_path.iterdir()) == []


def test_a_runaway_points_count_is_refused_before_work(tmp_path, capsys):
    """--points 10^12 is refused by the memory budget before 8 TB of save times are built."""
    t0 = time.perf_counter()
    code, err = _run(["curve", "--alpha-max", "1", "--points", "1000000000000", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--points 1000000000000 needs about" in err and "available" in err
    assert time.perf_counter() - t0 < 5
