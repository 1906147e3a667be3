"""Ctrl-C on a running command: exit 130 within 2 s of SIGINT, the finished results kept, no traceback.

The signal is sent only once the command demonstrably computes (a progress bar past alpha = 0 on a
terminal, a checkpoint on disk), never while it imports or loads its compiled kernels; the kernels
are compiled in this process first, so the child finds numba's cache warm.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

import statmech as sm
from statmech.cli import main
from statmech.core.io import read_table

REPO = Path(__file__).resolve().parents[2]
EXIT_WITHIN_S = 2.0
START_TIMEOUT_S = 300.0  # imports and, with a cold cache, compiles: never counted in the 2 s


def _start(argv: list[str], env: dict | None = None) -> tuple[subprocess.Popen, int]:
    """``python -m statmech.cli ARGV`` with stderr on a pseudo-terminal (where the progress bar is drawn)."""
    master, slave = pty.openpty()
    # a terminal of 100 columns: on a fresh one of 0 columns the bar is drawn empty
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "statmech.cli", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    os.close(slave)
    return proc, master


def _read(master: int, timeout: float) -> bytes:
    ready, _, _ = select.select([master], [], [], timeout)
    if not ready:
        return b""
    try:
        return os.read(master, 65536)
    except OSError:  # EIO: the child closed its end of the terminal
        return b""


def _wait_for(proc: subprocess.Popen, master: int, started) -> bytes:
    """Read the terminal until ``started(text_so_far)`` holds; fail if the process ends first."""
    out = b""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        out += _read(master, 0.05)
        if started(out):
            return out
        if proc.poll() is not None:
            raise AssertionError(f"ended (exit {proc.returncode}) before it computed: {out.decode(errors='replace')}")
    proc.kill()
    raise AssertionError(f"no sign of computing after {START_TIMEOUT_S:.0f} s: {out.decode(errors='replace')}")


def _interrupt(proc: subprocess.Popen, master: int) -> tuple[float, bytes]:
    """SIGINT, then the seconds until the process ended (the terminal drained meanwhile, so a full
    buffer cannot hold the child up) and what it wrote there."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out = b""
    while proc.poll() is None and time.monotonic() - sent < 60:
        out += _read(master, 0.01)
    took = time.monotonic() - sent
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    while chunk := _read(master, 0.05):
        out += chunk
    os.close(master)
    return took, out


def _bar_past_zero(total: str):
    pattern = re.compile(rb"\|\s*([0-9.e+-]+)/" + re.escape(total.encode()))

    def started(text: bytes) -> bool:
        return any(float(n) > 0 for n in pattern.findall(text))

    return started


def test_ctrl_c_exits_130_and_keeps_the_partial_curve(tmp_path):
    """`statmech curve` integrating a run of minutes: exit 130 within 2 s of SIGINT, the points so far written."""
    sm.integrate(sm.State.random(6, 2, 50, vstar=4.0, seed=0), eta=0.5, alpha_max=0.01)  # a warm cache
    out = tmp_path / "int"
    argv = ["curve", "--N", "50", "--alpha-max", "1e8", "--points", "5", "--out", str(out)]
    # every progress update drawn: the first one past alpha = 0 shows that the integration runs
    proc, master = _start(argv, env={"TQDM_MININTERVAL": "0"})
    _wait_for(proc, master, _bar_past_zero("1e+08"))
    took, text = _interrupt(proc, master)
    stdout = proc.stdout.read().decode()
    terminal = text.decode(errors="replace")
    assert proc.returncode == 130, terminal + stdout
    assert took < EXIT_WITHIN_S, f"exit {took:.2f} s after SIGINT"
    assert "Traceback" not in terminal
    cols, params = read_table(out / "curve.csv")
    assert params["status"] == 1 and "interrupted" in params["message"]
    assert 0 < len(cols["alpha"]) < 6 and np.all(np.isfinite(cols["eps_g"]))
    assert cols["alpha"][1] == pytest.approx(0.01)  # the point the bar showed is kept
    assert sm.State.load(out / "final_state.npz").K == 6
    # written atomically: the finished files and nothing else (no temporary file left behind)
    assert {p.name for p in out.iterdir()} == {"curve.csv", "curve.json", "final_state.npz"}
    assert "curve.png not drawn" in stdout


def test_ctrl_c_stops_simulate_within_2_s_and_keeps_the_checkpoints(tmp_path):
    """`statmech simulate` on two processes: exit 130 within 2 s of SIGINT, checkpoints and partial table kept."""
    main(["simulate", "--K", "6", "--M", "2", "--N", "50", "--alpha-max", "0.1", "--runs", "1",
          "--points", "3", "--out", str(tmp_path / "warm")])  # fmt: skip
    out = tmp_path / "int"
    argv = ["simulate", "--K", "6", "--M", "2", "--N", "500", "--alpha-max", "1e5", "--runs", "2",
            "--workers", "2", "--points", "20", "--out", str(out)]  # fmt: skip
    proc, master = _start(argv)
    checkpoints = [out / "checkpoints" / f"seed{r}.npz" for r in (0, 1)]
    _wait_for(proc, master, lambda _: all(p.exists() for p in checkpoints))  # both runs past a save point
    took, text = _interrupt(proc, master)
    stdout = proc.stdout.read().decode()
    terminal = text.decode(errors="replace")
    assert proc.returncode == 130, terminal + stdout
    assert took < EXIT_WITHIN_S, f"exit {took:.2f} s after SIGINT"
    assert "Traceback" not in terminal
    partial = json.loads((out / "simulation.json").read_text())["params"]
    assert partial["status"] == 1 and "resume" in partial["message"]
    cols, _ = read_table(out / "simulation.csv")
    assert len(cols["alpha"]) >= 2 and np.all(np.isfinite(cols["eps_g_mean"]))
    for path in checkpoints:
        with np.load(path) as ck:  # whole files (written atomically), at least as far as the table
            assert ck["W"].shape == (6, 500) and int(ck["status"]) == 1
    assert {p.name for p in (out / "checkpoints").iterdir()} <= {"seed0.npz", "seed1.npz", "runs.json"}
    assert "simulation.png not drawn" in stdout
