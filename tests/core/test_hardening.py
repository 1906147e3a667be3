"""Bad sizes, bad types, Ctrl-C inside compiled loops and orphaned workers (the shared validation layer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import statmech as sm
from statmech.core import resources
from statmech.core.initial import initial_weights
from statmech.core.state import random_weights
from statmech.sweep.config import parse_config


@pytest.fixture
def state():
    return sm.State.random(2, 1, 50, seed=0)


@pytest.mark.parametrize("save_at", [[1, np.nan, 10], [np.nan], [1, np.inf], [1 + 1j, 2], ["1", "2"]])
def test_save_at_with_nan_complex_or_strings_is_refused(state, save_at):
    with pytest.raises(ValueError, match="save_at"):
        sm.integrate(state, eta=0.5, alpha_max=10, save_at=save_at)


@pytest.mark.parametrize("field", ["eta", "sigma", "eta_v", "weight_decay"])
@pytest.mark.parametrize("value", ["0.5", True, 1j, np.nan])
def test_model_numbers_refuse_strings_bools_complex_nan(state, field, value):
    with pytest.raises(ValueError, match=rf"{field} must be a finite number >= 0, got"):
        sm.integrate(state, alpha_max=1, **{field: value})


def test_huge_q_is_checked_not_an_eigenvalue_failure():
    s = sm.State(Q=np.eye(2) * 1e308, R=np.ones((2, 1)), T=np.eye(1), v=np.ones(2), vstar=np.ones(1))
    assert s.K == 2  # a valid (PSD) covariance, checked on the scaled matrix
    with pytest.raises(ValueError, match=r"initial state has an order parameter of magnitude 1e\+308, above max_abs"):
        sm.integrate(s, eta=0.5, alpha_max=1)


def test_euler_step_budget(state):
    with pytest.raises(ValueError, match=r"Euler with alpha_max=1e\+308 and dt=0.01 takes .* steps, more than"):
        sm.integrate(state, eta=0.5, alpha_max=1e308, method="euler")


def test_one_ode_step_too_long_is_refused():
    # K = 10000 (the curve --K 10000): a single step is estimated at years
    with pytest.raises(ValueError, match=r"one ODE step at K=10000, M=2 would take about .* reduce K"):
        resources.check_steps(1.0, "dopri5", None, 10**7, 10000, 2)


def test_memory_budget_names_parameters_and_available_memory():
    avail = resources.available_memory()
    assert avail is not None and avail > 0
    with pytest.raises(ValueError, match=r"random weights with K=6, M=2, N=1000000000000 needs about .* available"):
        random_weights(6, 2, 10**12)
    with pytest.raises(ValueError, match=r"the initial weights with K=6, M=2, N=1000000000000 needs"):
        initial_weights(6, 2, 10**12, init="small")


def test_memory_estimates_scale_as_stated():
    assert resources.weights_memory(6, 2, 10**8) == 2 * 8 * 8 * 10**8
    assert resources.sim_memory(6, 2, 100, 10, runs=3) == 3 * resources.sim_memory(6, 2, 100, 10)
    assert resources.ode_memory(10, 2, 0) > 8 * 12 * (100 + 20 + 10)


def test_sweep_axis_counted_before_it_is_built():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"axes.K.range = \[100000000\] gives 100000000 values, more than"):
        parse_config('engine = "ode"\n[axes]\nK = { range = [100000000] }\n')
    assert time.perf_counter() - t0 < 1.0


def test_sweep_first_bad_axis_value_and_grid_size():
    with pytest.raises(ValueError, match=r"axes.K: parameter 'K' must be >= 1, got 0"):
        parse_config('engine = "ode"\n[axes]\nK = { range = [0, 5] }\n')
    with pytest.raises(ValueError, match=r"the grid has 1000000000000 runs"):
        parse_config('engine = "ode"\n[axes]\nK = { range = [1, 1000001] }\neta = { linspace = [0.1, 1.0, 1000000] }\n')


def test_sweep_negative_seed_is_a_config_error():
    with pytest.raises(ValueError, match=r"parameter 'seed' must be >= 0, got -1"):
        parse_config('engine = "ode"\n[fixed]\nseed = -1\n')


def test_ctrl_c_inside_a_long_ode_interval(state):
    """One save interval of ~10^7 steps: Ctrl-C is seen between compiled chunks (well under a second)."""
    sm.integrate(state, eta=0.5, alpha_max=1.0)  # compiled before the clock starts
    sent = {}

    def fire():
        sent["t"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(1.0, fire)
    timer.start()
    res = sm.integrate(state, eta=0.5, alpha_max=1e8, save_at=[0.0, 1.0, 1e8])
    latency = time.monotonic() - sent["t"]
    timer.join()
    assert res.status == 1 and "interrupted" in res.message
    np.testing.assert_array_equal(res.alpha, [0.0, 1.0])
    assert latency < 1.0


def test_chunked_dopri_is_the_same_trajectory(state, monkeypatch):
    """Chunks of one step continue the trajectory exactly (h and alpha carried over)."""
    from statmech.ode import steppers

    ref = sm.integrate(state, eta=0.5, alpha_max=5.0, save_at=[0, 5.0])
    monkeypatch.setattr(steppers, "CHUNK_SECONDS", 1e-9)  # every chunk shrinks to one step
    res = sm.integrate(state, eta=0.5, alpha_max=5.0, save_at=[0, 5.0])
    np.testing.assert_array_equal(res.Q, ref.Q)
    assert res.nsteps == ref.nsteps


def test_chunks_grow_from_the_steps_really_run(monkeypatch):
    """A call that ends early at a save point ran fewer steps than its budget: the next budget is at
    most 4 times the steps it ran (budgets inflated by quick save intervals made one chunk run for
    seconds, and Ctrl-C waited for it)."""
    from statmech.ode import steppers

    s = sm.State.random(6, 2, 50, vstar=4.0, seed=0)
    sm.integrate(s, eta=0.5, alpha_max=0.01)  # compiled before the calls are recorded
    calls = []
    compiled = steppers.dopri_advance

    def recorded(*args):
        out = compiled(*args)
        calls.append((args[-2], out[3]))  # (budget, steps run)
        return out

    monkeypatch.setattr(steppers, "dopri_advance", recorded)
    res = sm.integrate(s, eta=0.5, alpha_max=1e3, save_at=[0.0, 0.01, 3.16, 1e3])
    assert res.status == 0
    assert len(calls) > 3 and any(ran < budget for budget, ran in calls)  # some calls ended at a save point
    for (_, ran), (budget, _) in zip(calls, calls[1:]):
        assert budget <= 4 * max(ran, 1), calls


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_worker_outlives_a_killed_parent():
    script = textwrap.dedent(
        """
        from statmech.core.weights import Weights
        from statmech.sim import simulate, simulate_seeds
        w = Weights.random(4, 2, 200, vstar=1.0, seed=0)
        simulate(w, eta=0.5, alpha_max=0.1, seed=0)  # compiled before the fork
        print("ready", flush=True)
        simulate_seeds(w, eta=0.5, alpha_max=1e5, seeds=2, workers=2, progress=False)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children(parent.pid)
        assert len(workers) >= 2, "the pool did not start"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        killed = time.monotonic()
        while any(_alive(p) for p in workers) and time.monotonic() - killed < 5.0:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "a worker outlived its SIGKILLed parent by 5 s"
    finally:
        if parent.poll() is None:
            parent.kill()
