"""Parameter sweeps (statmech.sweep): config validation, resumable tables, Dask execution, failures."""

import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import statmech as sm
from statmech.sweep import load_config, parse_config, read_results, run_sweep
from statmech.sweep.tables import aggregate, final_rows, pivot, select

ODE_GRID = """
engine = "ode"
record = ["eps_g", "test_loss"]
[fixed]
M = 2
alpha_max = 20.0
save_at = [5.0, 20.0]
sigma = 0.1
[axes]
z = [1, 2]
eta = [0.5, 1.0]
seed = [0, 1]
[derived]
K = "z * M"
"""


def write(tmp_path, text, name="sweep.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def rows_by_run(path):
    with open(path, newline="") as fh:
        body = list(csv.DictReader(fh))
    runs = {}
    for r in body:
        runs.setdefault(r["run_id"], []).append(r)
    return body, runs


def comparable(path):
    """The table without the wall-time column, rows sorted: equal for equal results in any order."""
    body, _ = rows_by_run(path)
    return sorted(tuple((k, v) for k, v in r.items() if k != "elapsed_s") for r in body)


# --------------------------------------------------------------------- config
def test_grid_expansion_derived_parameters_and_ids(tmp_path):
    cfg = load_config(write(tmp_path, ODE_GRID))
    assert len(cfg) == 2 * 2 * 2
    assert {(r.params["z"], r.params["K"]) for r in cfg.runs} == {(1, 2), (2, 4)}
    assert len({r.id for r in cfg.runs}) == len(cfg)
    # ids are a function of the parameters only: reorder the axes and write eta = 1 as an integer
    text = ODE_GRID.replace("eta = [0.5, 1.0]", "eta = [1, 0.5]")
    again = parse_config(text)
    assert {r.id for r in again.runs} == {r.id for r in cfg.runs}
    gen = parse_config('engine = "ode"\n[axes]\neta = { linspace = [0.1, 0.3, 3] }\nseed = { range = [2] }\n')
    assert sorted({r.params["eta"] for r in gen.runs}) == [0.1, 0.2, 0.3]
    assert sorted({r.params["seed"] for r in gen.runs}) == [0, 1]
    listed = parse_config('engine = "ode"\n[fixed]\nM = 1\n[[runs]]\nK = 1\n[[runs]]\nK = 3\neta = 0.2\n')
    assert [(r.params["K"], r.params.get("eta")) for r in listed.runs] == [(1, None), (3, 0.2)]


@pytest.mark.parametrize(
    "text, match",
    [
        ('engine = "odee"\n', r"unknown engine 'odee'"),
        ('engine = "ode"\n[axes]\neta = []\n', r"axes\.eta has no values"),
        (
            'engine = "ode"\n[fixed]\nlearning_rate = 0.1\n',
            r"parameter 'learning_rate' does not exist for engine 'ode'",
        ),
        ('engine = "ode"\n[axes\neta = [1]\n', r"malformed TOML"),
        ('engine = "ode"\nrecord = ["eps"]\n', r"unknown quantity 'eps'"),
        ('engine = "ode"\n[fixed]\nK = 0\n', r"parameter 'K' must be >= 1, got 0"),
        ('engine = "ode"\n[fixed]\nK = 2.5\n', r"parameter 'K' must be an integer"),
        ('engine = "ode"\n[fixed]\nactivation = "tanh"\n', r"parameter 'activation' must be one of erf, linear, relu"),
        ('engine = "ode"\n[fixed]\neta = 0.1\n[axes]\neta = [0.2]\n', r"'eta' is given in both \[fixed\] and \[axes\]"),
        ('engine = "ode"\n[fixed]\nsave_at = [1.0]\npoints = 3\n', r"either 'save_at' or 'points'"),
        ('engine = "ode"\n[fixed]\nalpha_max = 10.0\nsave_at = [20.0]\n', r"'save_at' must hold distinct times"),
        (
            'engine = "ode"\n[axes]\nz = [1]\n[derived]\nK = "__import__(\'os\').getpid()"\n',
            r"derived\.K: only arithmetic",
        ),
        (
            'engine = "ode"\n[axes]\nz = [1]\n[derived]\nK = "z * Mx"\n',
            r"parameter 'Mx' does not exist|unknown parameter 'Mx'",
        ),
        ('engine = "ode"\nworkers = 3\n', r"unknown top-level key 'workers'"),
        ('engine = "ode"\n[fixed]\ndt = 0.5\n', r"dt=0.5 is an option of method 'euler', not of method 'dopri5'"),
        (
            'engine = "ode"\n[fixed]\nmethod = "euler"\n[axes]\nrtol = [1e-6]\n',
            r"rtol=1e-06 is an option of method 'dopri5', not of method 'euler'",
        ),
        ('record = ["eps_g"]\n', r"missing key 'engine'"),
    ],
)
def test_bad_config_is_a_clear_error_before_anything_runs(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=match):
        load_config(path)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=match):
        run_sweep(path, out, executor="inline")
    assert not out.exists()  # nothing ran, nothing was written


def test_missing_config_and_cli_error(tmp_path, capsys):
    from statmech.cli import main

    with pytest.raises(ValueError, match=r"config file .* does not exist"):
        load_config(tmp_path / "nope.toml")
    assert main(["sweep", str(write(tmp_path, 'engine = "nope"\n')), "--out", str(tmp_path / "o")]) == 2
    assert "unknown engine 'nope'" in capsys.readouterr().err


def test_other_config_in_same_directory_is_refused(tmp_path):
    out = tmp_path / "out"
    small = 'engine = "ode"\n[fixed]\nalpha_max = 1.0\nK = 2\n'
    run_sweep(parse_config(small), out, executor="inline")
    with pytest.raises(ValueError, match="different config"):
        run_sweep(parse_config(small.replace("K = 2", "K = 3")), out, executor="inline")


def test_one_writer_per_results_directory(tmp_path):
    import socket

    cfg = parse_config('engine = "ode"\n[fixed]\nalpha_max = 1.0\nK = 2\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text(f"{socket.gethostname()} {os.getppid()}")  # a live process holds it
    with pytest.raises(ValueError, match="another sweep .* is writing to"):
        run_sweep(cfg, out, executor="inline")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / ".lock").write_text(f"{socket.gethostname()} {int(dead.stdout)}")  # left by a killed client
    assert run_sweep(cfg, out, executor="inline").executed == 1
    assert not (out / ".lock").exists()


def test_corrupt_results_table_is_a_one_line_error(tmp_path, capsys):
    """Random bytes, NUL bytes or a directory in place of results.csv: the file named, and what to do."""
    from statmech.cli import main

    text = 'engine = "ode"\n[fixed]\nalpha_max = 1.0\nK = 2\n'
    cfg = parse_config(text)
    out = tmp_path / "out"
    run_sweep(cfg, out, executor="inline")
    table = out / "results.csv"
    damaged = {
        "not text": np.random.default_rng(7).bytes(300) + b"\xff",
        "NUL bytes": table.read_bytes().replace(b",", b"\x00", 3),
    }
    for what, content in damaged.items():
        table.write_bytes(content)
        for call in (lambda: run_sweep(cfg, out, executor="inline"), lambda: read_results(out)):
            with pytest.raises(ValueError) as exc:
                call()
            msg = str(exc.value)
            assert f"{table} is not a results table" in msg and "\n" not in msg, (what, msg)
        assert "delete it to compute every run again, or use a new --out directory" in msg
    assert main(["sweep", str(write(tmp_path, text)), "--no-dask", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and f"{table} is not a results table" in err
    assert not (out / ".lock").exists()  # released on the error
    table.unlink()
    table.mkdir()
    with pytest.raises(ValueError, match=r"results\.csv is a directory, not the results table"):
        run_sweep(cfg, out, executor="inline")
    with pytest.raises(ValueError, match=r"results\.csv is a directory, not a sweep's results table"):
        read_results(out)


# --------------------------------------------------------------- the ode engine
def test_ode_rows_match_direct_integration(tmp_path):
    out = tmp_path / "out"
    s = run_sweep(load_config(write(tmp_path, ODE_GRID)), out, executor="inline")
    assert (s.executed, s.failed, s.skipped) == (8, 0, 0)
    t = read_results(out)
    assert len(t["run_id"]) == 8 * 2  # one row per run and saved time
    assert (out / "config.toml").read_text() == ODE_GRID
    # an independent route: statmech.integrate called directly for one grid point
    direct = sm.integrate(
        sm.State.random(4, 2, 500, vstar=4.0, seed=1), eta=1.0, sigma=0.1, alpha_max=20.0, save_at=[5.0, 20.0]
    )
    row = select(t, {"K": 4, "eta": 1.0, "seed": 1})
    np.testing.assert_array_equal(row["alpha"], [5.0, 20.0])
    # the same computation in the same process: equal to rounding of the CSV repr (exact)
    np.testing.assert_array_equal(row["eps_g"], direct.eps_g)
    np.testing.assert_allclose(row["test_loss"], direct.eps_g + 0.1**2 / 2, rtol=1e-15)
    fin = final_rows(t)
    assert np.all(fin["alpha"] == 20.0) and len(fin["run_id"]) == 8


def test_failures_are_recorded_and_the_sweep_goes_on(tmp_path):
    import statmech.sweep.engines as engines

    # linear K = M = 1 with fixed v is unstable once eta v^2 > 2 (test_ode: v = 1, 2 eps_g ~
    # exp((eta^2 - 2 eta) alpha)); State.random(1, 1, 500, seed=0) has v = 1.18, so eta = 1 is stable
    # (error -> 0) and eta = 3 diverges
    text = (
        'engine = "ode"\n[fixed]\nK = 1\nM = 1\nvstar = 1.0\neta_v = 0.0\nactivation = "linear"\n'
        "alpha_max = 100.0\nsave_at = [1.0, 100.0]\n[axes]\neta = [1.0, 3.0, 0.5]\n"
    )
    real = engines._run_ode

    def flaky(p, record):  # a run that raises (not a divergence)
        if p["eta"] == 0.5:
            raise RuntimeError("disk on fire")
        return real(p, record)

    object.__setattr__(engines.ENGINES["ode"], "function", flaky)
    try:
        s = run_sweep(parse_config(text), tmp_path / "out", executor="inline")
    finally:
        object.__setattr__(engines.ENGINES["ode"], "function", real)
    assert (s.executed, s.failed) == (3, 2)
    t = read_results(tmp_path / "out")
    ok = select(t, {"eta": 1.0})
    assert list(ok["status"]) == ["ok", "ok"] and ok["eps_g"][-1] < 1e-6
    div = select(t, {"eta": 3.0}, status="failed")
    assert "diverged" in div["error"][0] and np.isnan(div["eps_g"][-1])  # never reached alpha = 100
    boom = select(t, {"eta": 0.5}, status="failed")
    assert len(boom["run_id"]) == 1 and boom["error"][0] == "RuntimeError: disk on fire"
    # failed runs count as done; --retry-failed reruns exactly them
    again = run_sweep(parse_config(text), tmp_path / "out", executor="inline")
    assert again.executed == 0
    retry = run_sweep(parse_config(text), tmp_path / "out", executor="inline", retry_failed=True)
    assert (retry.executed, retry.failed) == (2, 1)  # the divergence is deterministic; the raise is gone


# ------------------------------------------------------------ resume, on Dask
def test_dask_two_workers_equal_inline_and_resume_does_no_work(tmp_path):
    pytest.importorskip("dask.distributed")
    cfg = load_config(write(tmp_path, ODE_GRID))
    ref = run_sweep(cfg, tmp_path / "inline", executor="inline")
    s = run_sweep(cfg, tmp_path / "dask", executor="dask", workers=2)
    assert (s.executor, s.workers, s.executed, s.lost) == ("dask", 2, ref.executed, 0)
    assert comparable(tmp_path / "dask" / "results.csv") == comparable(tmp_path / "inline" / "results.csv")
    before = (tmp_path / "dask" / "results.csv").read_bytes()
    again = run_sweep(cfg, tmp_path / "dask", executor="dask", workers=2)
    assert (again.executed, again.skipped) == (0, len(cfg))
    assert (tmp_path / "dask" / "results.csv").read_bytes() == before


def test_without_dask_plain_processes_run_the_sweep(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if the optional extra were not installed
    cfg = parse_config('engine = "ode"\n[fixed]\nalpha_max = 5.0\nK = 2\n[axes]\nseed = [0, 1]\n')
    with pytest.raises(ValueError, match="--scheduler needs dask"):
        run_sweep(cfg, tmp_path / "a", scheduler="tcp://127.0.0.1:8786")
    s = run_sweep(cfg, tmp_path / "b", workers=1)
    assert (s.executor, s.executed) == ("processes", 2)


def test_interrupted_sweep_resumes_without_lost_or_duplicated_rows(tmp_path):
    cfg = load_config(write(tmp_path, ODE_GRID))
    out = tmp_path / "out"
    seen = []

    def stop_after_three(run, status):
        seen.append(run.id)
        if len(seen) == 3:
            raise KeyboardInterrupt  # what a Ctrl-C in the client does

    with pytest.raises(KeyboardInterrupt):
        run_sweep(cfg, out, executor="processes", workers=2, on_result=stop_after_three)
    _, runs = rows_by_run(out / "results.csv")
    assert set(runs) == set(seen)  # everything reported finished was written
    resumed = run_sweep(cfg, out, executor="inline")  # any executor resumes the same table
    assert resumed.executed == len(cfg) - 3 and resumed.skipped == 3
    body, runs = rows_by_run(out / "results.csv")
    assert set(runs) == {r.id for r in cfg.runs}
    assert all(sorted(int(r["row"]) for r in rows) == [0, 1] for rows in runs.values())  # no duplicates
    run_sweep(cfg, tmp_path / "ref", executor="inline")
    assert comparable(out / "results.csv") == comparable(tmp_path / "ref" / "results.csv")


def test_truncated_write_is_repaired_and_only_that_run_redone(tmp_path):
    cfg = load_config(write(tmp_path, ODE_GRID))
    out = tmp_path / "out"
    run_sweep(cfg, out, executor="inline")
    full = comparable(out / "results.csv")
    path = out / "results.csv"
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    # a kill in the middle of the last run's write: its first row complete, the second cut mid-line
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    s = run_sweep(cfg, out, executor="inline")
    assert (s.skipped, s.executed) == (len(cfg) - 1, 1)
    assert comparable(path) == full


def test_killed_worker_loses_and_duplicates_nothing(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    # slow enough runs (Euler, 80,000 steps, about 0.1 s each) that a worker is killed while it computes one
    text = (
        'engine = "ode"\n[fixed]\nK = 3\nM = 2\nalpha_max = 40.0\nmethod = "euler"\ndt = 0.0005\n'
        "save_at = [10.0, 40.0]\n[axes]\nseed = { range = [6] }\n"
    )
    cfg = parse_config(text)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        killed = []

        def kill_one(run, status):
            if not killed:  # after the first finished run the other worker is busy with a run: kill it
                pid = next(iter(pids.values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        s = run_sweep(cfg, tmp_path / "out", scheduler=cluster.scheduler_address, on_result=kill_one)
    assert killed
    if s.lost:  # the scheduler gave up on a run: a rerun finishes it
        s2 = run_sweep(cfg, tmp_path / "out", executor="inline")
        assert s2.executed == s.lost
    body, runs = rows_by_run(tmp_path / "out" / "results.csv")
    assert set(runs) == {r.id for r in cfg.runs} and len(body) == 2 * len(cfg)
    run_sweep(cfg, tmp_path / "ref", executor="inline")
    assert comparable(tmp_path / "out" / "results.csv") == comparable(tmp_path / "ref" / "results.csv")


def test_killed_process_worker_resubmits_without_dask(tmp_path):
    psutil = pytest.importorskip("psutil")
    text = (
        'engine = "ode"\n[fixed]\nK = 3\nM = 2\nalpha_max = 40.0\nmethod = "euler"\ndt = 0.0005\n'
        "[axes]\nseed = { range = [6] }\n"
    )
    cfg = parse_config(text)
    killed = []

    def kill_a_worker(run, status):
        if killed:
            return
        # pool workers are forked by the forkserver, a child of this process
        for child in psutil.Process().children(recursive=True):
            if child.ppid() != os.getpid():
                child.kill()
                killed.append(child.pid)
                return

    s = run_sweep(cfg, tmp_path / "out", executor="processes", workers=2, on_result=kill_a_worker)
    assert killed and s.lost == 0 and s.executed == len(cfg)
    body, runs = rows_by_run(tmp_path / "out" / "results.csv")
    assert set(runs) == {r.id for r in cfg.runs} and len(body) == len(cfg)


def test_cli_ctrl_c_then_hard_kill_then_resume(tmp_path):
    """`statmech sweep` stopped by Ctrl-C (SIGINT to its process group, as a terminal sends it), then by
    SIGKILL (no cleanup at all), then the same command again: every run exactly once."""
    import time

    # ~0.5 s of work per run (measured 0.46 s idle): long against the 0.05 s polling below, so the
    # interrupts land partway through the 12 runs even when the kernels get faster or the machine idles
    text = (
        'engine = "ode"\n[fixed]\nK = 3\nM = 2\nalpha_max = 200.0\nmethod = "euler"\ndt = 0.0005\n'
        "[axes]\nseed = { range = [12] }\n"
    )
    cfg_path = write(tmp_path, text)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "statmech.cli",
        "sweep",
        str(cfg_path),
        "--out",
        str(out),
        "--no-dask",
        "--workers",
        "1",
    ]

    def finished():
        try:
            return len(rows_by_run(out / "results.csv")[1])
        except (FileNotFoundError, KeyError):
            return 0

    def start_and_stop(sig, after):
        # SIGINT must not be ignored in the child (a non-interactive shell would ignore it in background jobs)
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.time() + 60
        while time.time() < deadline and finished() < after and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err

    rc, err = start_and_stop(signal.SIGINT, 2)
    assert rc == 130 and "interrupted" in err and "Traceback" not in err
    n1 = finished()
    assert 2 <= n1 < 12
    rc, _ = start_and_stop(signal.SIGKILL, n1 + 2)
    assert rc == -signal.SIGKILL
    n2 = finished()
    assert n1 < n2 < 12
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"{n2} already done, {12 - n2} executed" in res.stdout
    body, runs = rows_by_run(out / "results.csv")
    assert len(runs) == 12 and len(body) == 12  # one row per run (alpha_max only), none twice


# ------------------------------------------------------------- tables, figures
def test_aggregate_and_pivot_against_numpy(tmp_path):
    rng = np.random.default_rng(5)
    x = np.repeat([1.0, 2.0, 3.0], 4)
    y = np.tile([0.1, 0.2], 6)
    v = rng.standard_normal(12)
    t = {"x": x, "y": y, "eps_g": v, "status": np.array(["ok"] * 12, dtype=object)}
    agg = aggregate(t, ["x", "y"])
    for xv, yv, m, e, n in zip(agg["x"], agg["y"], agg["mean"], agg["sem"], agg["n"]):
        vals = v[(x == xv) & (y == yv)]
        assert n == len(vals) == 2
        assert m == pytest.approx(vals.mean()) and e == pytest.approx(vals.std(ddof=1) / np.sqrt(2))
    xs, ys, Z = pivot(t, "x", "y")
    assert Z.shape == (2, 3) and Z[1, 2] == pytest.approx(v[(x == 3.0) & (y == 0.2)].mean())
    with pytest.raises(ValueError, match="no column 'w'"):
        aggregate(t, ["w"])


def test_figures_from_a_sweep_table(tmp_path):
    from statmech.plots.sweep import against_parameter, heatmap

    run_sweep(load_config(write(tmp_path, ODE_GRID)), tmp_path / "out", executor="inline")
    t = final_rows(read_results(tmp_path / "out"))
    p1 = against_parameter(t, "eta", tmp_path / "line.png", line="K")
    p2 = heatmap(t, "eta", "K", tmp_path / "heat.png", annotate=True)
    assert p1.stat().st_size > 5000 and p2.stat().st_size > 5000


# ---------------------------------------------------------------- the examples
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_configs_are_valid(path):
    cfg = load_config(path)
    assert len(cfg) > 1 and cfg.description


def test_c2_example_small_on_local_cluster(tmp_path):
    pytest.importorskip("dask.distributed")
    pytest.importorskip("statmech.pruning")
    from statmech.pruning import pruned_error

    text = (EXAMPLES / "sweep_c2_phase_diagram.toml").read_text()
    small = (
        text.replace("z = [2, 4, 6, 8]", "z = [1, 2]")
        .replace("seed = [0, 1, 2]", "seed = [0]")
        .replace("keep_fraction = [0.25, 0.5, 0.75]", "keep_fraction = [0.5]")
        .replace("alpha_max = 1600.0", "alpha_max = 100.0")
    )
    assert small.count("z = [1, 2]") == 1 and "alpha_max = 100.0" in small
    cfg = parse_config(small)
    s = run_sweep(cfg, tmp_path / "c2", executor="dask", workers=2)
    assert (s.executed, s.failed, s.lost, s.workers) == (2, 0, 0, 2)
    again = run_sweep(cfg, tmp_path / "c2", executor="dask", workers=2)
    assert (again.executed, again.skipped) == (0, 2)  # the resumed run repeats nothing
    t = read_results(tmp_path / "c2")
    assert sorted(t["scheme"]) == ["dpp-node", "dpp-node", "random-edge", "random-edge"]
    # the table against the library called directly: train K = 4 (z = 2), keep half the units / weights
    state = sm.integrate(
        sm.State.random(4, 2, 500, vstar=4.0, seed=0), eta=0.5, eta_v=0.5, alpha_max=100.0, save_at=[100.0]
    ).final
    for scheme, kw in (("dpp-node", {"keep": 2}), ("random-edge", {"keep_fraction": 0.5})):
        direct = pruned_error(state, scheme, **kw).eps_g
        got = select(t, {"z": 2, "scheme": scheme})["eps_g"]
        np.testing.assert_allclose(got, [direct], rtol=1e-12)  # same computation, different process
    assert np.allclose(select(t, {"z": 2})["eps_g_unpruned"], sm.eps_g(state), rtol=1e-12)


# ------------------------------------------------------ the finite-N engines
def test_simulate_engine_rows_match_direct_simulation(tmp_path):
    pytest.importorskip("statmech.sim")
    from statmech.sim import simulate

    text = (
        'engine = "simulate"\nrecord = ["eps_g", "test_loss", "eps_g_ode"]\n[fixed]\nK = 3\nM = 2\nN = 100\n'
        "alpha_max = 10.0\nsave_at = [1.0, 10.0]\ntest_size = 100\n[axes]\nseed = [0, 1]\n"
    )
    s = run_sweep(parse_config(text), tmp_path / "sim", executor="inline")
    assert (s.executed, s.failed) == (2, 0)
    t = select(read_results(tmp_path / "sim"), {"seed": 1})
    direct = simulate(
        sm.Weights.random(3, 2, 100, vstar=4.0, seed=1),
        eta=0.5,
        sigma=0.0,
        alpha_max=10.0,
        save_at=[1.0, 10.0],
        seed=1,
        test_size=100,
    )
    np.testing.assert_array_equal(t["alpha"], direct.alpha)
    np.testing.assert_allclose(t["eps_g"], direct.eps_g, rtol=1e-12)  # bit-reproducible SGD stream
    np.testing.assert_allclose(t["test_loss"], direct.test_loss, rtol=1e-12)
    ode = sm.integrate(sm.State.random(3, 2, 100, vstar=4.0, seed=1), eta=0.5, alpha_max=10.0, save_at=[1.0, 10.0])
    np.testing.assert_allclose(t["eps_g_ode"], ode.eps_g, rtol=1e-7)  # dopri5 at rtol 1e-8 either way


def test_prune_sim_engine_one_row_per_scheme_and_mask(tmp_path):
    pytest.importorskip("statmech.pruning.finite.students")
    text = (
        'engine = "prune-sim"\n[fixed]\nK = 4\nM = 2\nN = 100\nalpha_max = 10.0\nn_masks = 2\n'
        'schemes = ["random-edge", "dpp-node"]\n[axes]\nkeep = [1, 2]\n'
    )
    s = run_sweep(parse_config(text), tmp_path / "ps", executor="inline")
    assert (s.executed, s.failed) == (2, 0)
    t = read_results(tmp_path / "ps")
    # per run: the unpruned network, then 2 masks of each scheme
    assert len(t["run_id"]) == 2 * (1 + 2 * 2)
    un = select(t, {"scheme": "unpruned"})
    # the unpruned network's eps_g is exact from its order parameters: theory and measurement coincide
    np.testing.assert_allclose(un["eps_g"], un["eps_g_theory"], rtol=1e-10)
    with pytest.raises(ValueError, match="parameter 'keep'.*is required"):
        parse_config(text.replace("[axes]\nkeep = [1, 2]\n", ""))


# ------------------------------------------------------ the model and per-unit vstar
def test_every_model_field_and_start_option_is_a_key_of_every_engine_and_documented():
    """Every Model field, vstar, init and teacher_overlap are keys of every engine, and the TOML section of
    docs/guide/sweeps.md names every key of every engine."""
    from statmech.core.model import MODEL_FIELDS
    from statmech.sweep import ENGINES

    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "sweeps.md").read_text()
    section = page[page.index("## The TOML format") : page.index("## Engines and their parameters")]
    listed = set(re.findall(r"`([A-Za-z_]+)`", section))
    for name, engine in ENGINES.items():
        assert set(MODEL_FIELDS) | {"vstar", "init", "teacher_overlap"} <= set(engine.params), name
        assert set(engine.params) <= listed, (name, sorted(set(engine.params) - listed))


PER_UNIT = """
engine = "ode"
[fixed]
K = 3
M = 2
alpha_max = 10.0
save_at = [2.0, 10.0]
[axes]
vstar = [4.0, [2.0, 1.0], [3]]
"""


def test_per_unit_vstar_as_fixed_key_and_axis_value():
    cfg = parse_config(PER_UNIT)
    assert [r.params["vstar"] for r in cfg.runs] == [4.0, [2.0, 1.0], 3.0]  # a list of one is that number
    # one value for every unit is the same run whichever way it is written
    assert parse_config(PER_UNIT.replace("[3]", "3")).runs[2].id == cfg.runs[2].id
    fixed = parse_config(PER_UNIT.replace("[axes]\nvstar = [4.0, [2.0, 1.0], [3]]", "vstar = [2, 1]"))
    assert [r.params["vstar"] for r in fixed.runs] == [[2.0, 1.0]] and fixed.runs[0].id == cfg.runs[1].id


@pytest.mark.parametrize(
    "change, match",
    [
        (("[3]", "[1, 2, 3]"), r"parameter 'vstar' = \[1.0, 2.0, 3.0\] has 3 values; allowed: 1 .* or M=2"),
        (("[axes]\nvstar = [4.0, [2.0, 1.0], [3]]", "vstar = [1, 2, 3]"), r"'vstar' = \[1.0, 2.0, 3.0\] has 3 values"),
        (("[3]", "[]"), r"parameter 'vstar' must be a finite number or a non-empty list of them, got \[\]"),
        (("[3]", '"big"'), r"parameter 'vstar' must be a finite number or a non-empty list of them, got 'big'"),
    ],
)
def test_per_unit_vstar_of_the_wrong_length_is_refused_before_work(tmp_path, capsys, change, match):
    from statmech.cli import main

    path = write(tmp_path, PER_UNIT.replace(*change))
    with pytest.raises(ValueError, match=match):
        load_config(path)
    out = tmp_path / "out"
    for extra in (["--dry-run"], ["--no-dask"]):
        assert main(["sweep", str(path), "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.search(match, err), err
    assert not out.exists()


def test_per_unit_vstar_sweep_equals_the_direct_call(tmp_path):
    """A real sweep over vstar = 4 and (2, 1): its rows equal statmech.integrate with the same vstar, and the
    vstar column holds the number or the space-separated values."""
    from statmech.sweep.tables import unit_values

    s = run_sweep(parse_config(PER_UNIT), tmp_path / "o", executor="inline")
    assert (s.executed, s.failed) == (3, 0)
    t = read_results(tmp_path / "o")
    assert t["vstar"].tolist() == ["4.0", "4.0", "2.0 1.0", "2.0 1.0", "3.0", "3.0"]
    assert [v.tolist() for v in unit_values(t["vstar"])[::2]] == [[4.0], [2.0, 1.0], [3.0]]
    for vstar, key in (([2.0, 1.0], "2.0 1.0"), (4.0, 4.0)):
        direct = sm.integrate(
            sm.State.random(3, 2, 500, vstar=vstar, seed=0), eta=0.5, alpha_max=10.0, save_at=[2.0, 10.0]
        )
        np.testing.assert_array_equal(select(t, {"vstar": key})["eps_g"], direct.eps_g)
    assert sm.State.random(3, 2, 500, vstar=[2.0, 1.0], seed=0).vstar.tolist() == [2.0, 1.0]


def test_prune_engine_general_model_and_per_unit_vstar_equal_the_direct_call(tmp_path):
    """The prune engine under an erf student of a ReLU teacher with weight decay, sqrt output scaling and
    vstar = (2, 1): the same numbers as integrate + pruned_error called with that model."""
    from statmech.pruning import pruned_error

    text = (
        'engine = "prune"\n[fixed]\nK = 4\nM = 2\nalpha_max = 20.0\nvstar = [2.0, 1.0]\nteacher_activation = "relu"\n'
        'weight_decay = 0.05\noutput_scale = "sqrt"\nbatch_size = 2\nschemes = ["random-node", "random-edge"]\n'
        "keep = 2\n"
    )
    s = run_sweep(parse_config(text), tmp_path / "p", executor="inline")
    assert (s.executed, s.failed) == (1, 0)
    t = read_results(tmp_path / "p")
    model = sm.Model(teacher_activation="relu", weight_decay=0.05, output_scale="sqrt", batch_size=2)
    start = sm.State.random(4, 2, 500, vstar=[2.0, 1.0], seed=0)
    state = sm.integrate(start, model, alpha_max=20.0, save_at=[20.0]).final  # the engine saves alpha_max only
    for scheme, kw in (("random-node", {"keep": 2}), ("random-edge", {"keep_fraction": 0.5})):
        direct = pruned_error(state, scheme, model=model, **kw).eps_g
        np.testing.assert_allclose(select(t, {"scheme": scheme})["eps_g"], [direct], rtol=1e-12)
    np.testing.assert_allclose(t["eps_g_unpruned"], sm.eps_g(state, model), rtol=1e-12)


def test_prune_sim_engine_general_model_and_per_unit_vstar(tmp_path):
    """prune-sim under the same model and vstar = (2, 1): the unpruned row is eps_g of the student that
    train_student gives for that model, from its order parameters; init (Weights.random only) is refused."""
    pytest.importorskip("statmech.pruning.finite.students")
    from statmech.pruning.finite.students import train_student

    text = (
        'engine = "prune-sim"\n[fixed]\nK = 4\nM = 2\nN = 100\nalpha_max = 5.0\nn_masks = 1\nkeep = 2\n'
        'vstar = [2.0, 1.0]\nteacher_activation = "relu"\nweight_decay = 0.05\noutput_scale = "sqrt"\n'
        'batch_size = 2\nschemes = ["random-node"]\n'
    )
    s = run_sweep(parse_config(text), tmp_path / "ps", executor="inline")
    assert (s.executed, s.failed) == (1, 0)
    un = select(read_results(tmp_path / "ps"), {"scheme": "unpruned"})
    model = sm.Model(teacher_activation="relu", weight_decay=0.05, output_scale="sqrt", batch_size=2)
    w = train_student(4, 2, 100, 5.0, 0.0, 0, vstar=[2.0, 1.0], model=model, progress=False)
    np.testing.assert_allclose(un["eps_g"], sm.eps_g(w.state(), model), rtol=1e-10)
    with pytest.raises(ValueError, match=r"parameter 'init' = 'informed' is not supported by this engine"):
        parse_config(text + 'init = "informed"\n')
