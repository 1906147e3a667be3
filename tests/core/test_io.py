"""The I/O layer: provenance in every file, atomic writes, output-directory locks, broken files as one-line errors."""

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy

import statmech as sm
from statmech.cli import main
from statmech.core.io import (
    PROVENANCE_KEY,
    atomic_write,
    ensure_dir,
    read_npz,
    read_provenance,
    read_table,
    write_npz,
    write_table,
)
from statmech.core.lock import LOCK_FILE, output_lock
from statmech.core.provenance import provenance

REPO = Path(sm.__file__).resolve().parent.parent


def _leftovers(directory):
    """Temporary files of atomic writes still in ``directory``."""
    return sorted(p.name for p in Path(directory).rglob("*") if p.name.endswith(".tmp"))


def _git_head():
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# ------------------------------------------------------------------ provenance
def test_curve_sidecar_holds_the_provenance(tmp_path):
    """`statmech curve` through the CLI: version, commit, dependency versions, parameters, command line, date."""
    out = tmp_path / "c"
    argv = ["curve", "--alpha-max", "5", "--points", "3", "--out", str(out)]
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    assert main(argv) == 0
    after = datetime.datetime.now(datetime.timezone.utc)
    side = json.loads((out / "curve.json").read_text())
    rec = side["provenance"]
    assert rec["statmech_version"] == sm.__version__
    head = _git_head()
    if head is not None and (REPO / ".git").exists():  # run from a checkout: the commit is recorded
        # read once per process, so commits landing meanwhile (a shared checkout) may follow it:
        # a commit of this history, HEAD itself or an ancestor of it
        commit = rec["git_commit"]
        assert isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40}", commit), commit
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", commit, head], cwd=REPO, timeout=10)
        assert ancestor.returncode == 0, f"recorded commit {commit} is not HEAD {head} or an ancestor of it"
        assert isinstance(rec["git_dirty"], bool)
    else:
        assert rec["git_commit"] is None
    # versions as the modules report them (the record reads package metadata)
    assert rec["dependencies"] == {"numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__}
    assert rec["python"] == ".".join(map(str, sys.version_info[:3]))
    assert before <= datetime.datetime.fromisoformat(rec["date"]) <= after
    assert rec["command_line"] == ["statmech", *argv]
    assert rec["options"]["alpha_max"] == 5.0 and rec["options"]["points"] == 3 and rec["options"]["out"] == str(out)
    assert side["params"]["alpha_max"] == 5.0  # the computation's full parameters
    assert read_provenance(out / "curve.csv")["parameters"] == side["params"]
    # the saved final state carries the same record
    npz = read_provenance(out / "final_state.npz")
    assert npz["command_line"] == ["statmech", *argv] and npz["statmech_version"] == sm.__version__
    assert npz["git_commit"] == rec["git_commit"]  # one run, one commit in every file
    assert sm.State.load(out / "final_state.npz").K == 6
    # an API call after the CLI run records no command line
    assert provenance()["command_line"] is None


def test_npz_provenance_round_trip(tmp_path):
    s = sm.State.random(3, 2, 20, seed=0)
    p = s.save(tmp_path / "s.npz", params={"note": "test", "N": 20})
    rec = read_provenance(p)
    assert rec["parameters"] == {"note": "test", "N": 20} and rec["command_line"] is None
    assert sm.State.load(p) == s
    w = sm.Weights.random(3, 2, 20, seed=0)
    assert read_provenance(w.save(tmp_path / "w.npz"))["parameters"] is None
    np.savez(tmp_path / "plain.npz", Q=s.Q, R=s.R, T=s.T, v=s.v, vstar=s.vstar)
    assert read_provenance(tmp_path / "plain.npz") is None and sm.State.load(tmp_path / "plain.npz") == s
    with pytest.raises(ValueError, match="reserved"):
        write_npz(tmp_path / "x.npz", {PROVENANCE_KEY: np.ones(1)})


# -------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and _leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target, "w") as fh:
            fh.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old" and _leftovers(tmp_path) == []
    with atomic_write(target, "w") as fh:
        fh.write("new")
    assert target.read_text() == "new" and _leftovers(tmp_path) == []
    # created with the permissions a plain open() gives (0o666 less the umask)
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    # missing parents are created
    with atomic_write(tmp_path / "a" / "b" / "g.bin") as fh:
        fh.write(b"x")
    assert (tmp_path / "a" / "b" / "g.bin").read_bytes() == b"x"


def test_a_directory_or_file_in_the_way_is_a_one_line_error(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match=r"cannot write .*d\.npz: a directory is in the way"):
        sm.State.random(2, 1, 5, seed=0).save(tmp_path / "d.npz")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"a file is in the way of its directory .*file"):
        sm.Weights.random(2, 1, 5, seed=0).save(tmp_path / "file" / "w.npz")
    (tmp_path / "t.json").mkdir()  # the sidecar's place: neither file is written
    with pytest.raises(ValueError, match=r"t\.json: a directory is in the way"):
        write_table(tmp_path / "t.csv", {"a": [1.0]})
    assert not (tmp_path / "t.csv").exists()
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="exists and is not a directory"):
        ensure_dir(tmp_path / "file", "cache directory")


@pytest.mark.parametrize("blocked", ["curve.csv", "final_state.npz", "curve.png"])
def test_cli_directory_in_the_way_of_an_output(tmp_path, capsys, blocked):
    out = tmp_path / "o"
    (out / blocked).mkdir(parents=True)
    assert main(["curve", "--alpha-max", "2", "--points", "3", "--out", str(out)]) == 2
    err = _one_line_error(capsys)
    assert f"cannot write {out / blocked}: a directory is in the way" in err
    assert _leftovers(out) == [] and not (out / LOCK_FILE).exists()


def test_table_round_trip_and_broken_tables(tmp_path):
    p = write_table(tmp_path / "t.csv", {"x": [0.1, 1 / 3], "name": ["a", "b"]}, {"k": np.int64(3)})
    cols, params = read_table(p)
    assert cols["x"].tolist() == [0.1, 1 / 3] and list(cols["name"]) == ["a", "b"] and params == {"k": 3}
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match=r"table .*bin\.csv is not a CSV text file"):
        read_table(tmp_path / "bin.csv")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match=r"ragged\.csv: line 3 has a different number of fields"):
        read_table(tmp_path / "ragged.csv")
    with pytest.raises(ValueError, match="is a directory"):
        read_table(tmp_path)


# ---------------------------------------------------------------- broken npz
@pytest.fixture
def state_file(tmp_path):
    return sm.State.random(3, 2, 20, seed=0).save(tmp_path / "good.npz")


def test_broken_npz_files_name_the_file_and_the_remedy(tmp_path, state_file):
    data = state_file.read_bytes()
    cases = {
        "empty.npz": (b"", "it is empty (0 bytes"),
        "truncated.npz": (data[: len(data) // 2], "not a valid .npz file (truncated or corrupt"),
        "text.npz": (b"Q,R,T\n1,2,3\n", "not a valid .npz file (it does not begin like a zip archive"),
        "random.npz": (np.random.default_rng(5).bytes(400), "not a valid .npz file"),
        "zipnoise.npz": (b"PK\x03\x04" + np.random.default_rng(6).bytes(400), "not a valid .npz file"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError) as exc:
            sm.State.load(tmp_path / name)
        text = str(exc.value)
        assert f"state file {tmp_path / name}" in text and message in text, text
        assert "replace it with a file written by statmech" in text and "\n" not in text
    # damaged bytes inside an array: the archive's checksum finds it
    bad = bytearray(data)
    i = data.index(b"\x93NUMPY") + 140  # past the 128-byte .npy header, inside the 72 bytes of Q
    bad[i : i + 16] = bytes(16)
    (tmp_path / "crc.npz").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match=r"crc\.npz cannot be read: array 'Q' is truncated or corrupt"):
        sm.State.load(tmp_path / "crc.npz")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ValueError, match=r"dir\.npz is a directory, not an \.npz file"):
        sm.State.load(tmp_path / "dir.npz")
    np.savez(tmp_path / "obj.npz", Q=np.array([1, None], dtype=object), R=1, T=1, v=1, vstar=1)
    with pytest.raises(ValueError, match=r"array 'Q' holds Python objects \(pickled data\)"):
        sm.State.load(tmp_path / "obj.npz")


def test_read_npz_checks_numbers_and_format(tmp_path):
    np.savez(
        tmp_path / "a.npz", x=np.array([1.0, np.nan]), z=np.array([1 + 2j]), s=np.array(["a"]), kind=np.array("k1")
    )
    assert read_npz(tmp_path / "a.npz", ["x"], "data")["x"].shape == (2,)  # unchecked by default; extra keys ignored
    with pytest.raises(ValueError, match=r"array 'x' contains NaN or infinite entries; do this"):
        read_npz(tmp_path / "a.npz", ["x"], "data", finite=["x"], remedy="do this")
    with pytest.raises(ValueError, match=r"array 'z' has dtype complex128, expected real numbers"):
        read_npz(tmp_path / "a.npz", ["z"], "data", finite=["z"])
    with pytest.raises(ValueError, match=r"array 's' has dtype <U1"):
        read_npz(tmp_path / "a.npz", ["s"], "data", finite=["s"])
    assert read_npz(tmp_path / "a.npz", ["x"], "data", expect_format=("kind", "k1"))["x"].shape == (2,)
    with pytest.raises(ValueError, match=r"data file .*a\.npz is not a data \(no kind 'k2'\)"):
        read_npz(tmp_path / "a.npz", ["x"], "data", expect_format=("kind", "k2"))


def test_cli_init_state_directory_and_corrupt_file(tmp_path, capsys, state_file):
    (tmp_path / "sdir").mkdir()
    assert main(["curve", "--init-state", str(tmp_path / "sdir"), "--out", str(tmp_path / "o")]) == 2
    assert f"state file {tmp_path / 'sdir'} is a directory" in _one_line_error(capsys)
    (tmp_path / "renamed.npz").write_text("alpha,eps_g\n0,1\n")
    assert main(["curve", "--init-state", str(tmp_path / "renamed.npz"), "--out", str(tmp_path / "o")]) == 2
    err = _one_line_error(capsys)
    assert "renamed.npz cannot be read: not a valid .npz file" in err and "pickled" not in err
    np.savez(tmp_path / "cplx.npz", **{k: getattr(sm.State.load(state_file), k) for k in ("Q", "R", "T", "vstar")},
             v=np.array([0.2 + 5j, 1, 1]))  # fmt: skip
    assert main(["curve", "--init-state", str(tmp_path / "cplx.npz"), "--out", str(tmp_path / "o")]) == 2
    assert "cplx.npz: v must be real, got complex values" in _one_line_error(capsys)


def test_cli_reproduce_cache_that_is_a_file(tmp_path, capsys):
    (tmp_path / "cachefile").write_text("")
    code = main(["reproduce", "--quick", "--cache", str(tmp_path / "cachefile"), "--out", str(tmp_path / "r")])
    assert code == 2
    assert f"cache directory {tmp_path / 'cachefile'} exists and is not a directory" in _one_line_error(capsys)


# ---------------------------------------------------------------------- locks
_HOLDER = (
    "import sys, time\n"
    "from statmech.core.lock import output_lock\n"
    "with output_lock(sys.argv[1]):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(120)\n"
)


def test_a_second_writer_is_refused_and_a_dead_holder_taken_over(tmp_path):
    out = tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match=rf"another statmech run \(pid {holder.pid}\) is writing to {out}"):
            with output_lock(out):
                pass
        holder.send_signal(signal.SIGKILL)  # dies holding it: the file stays, the kernel frees the flock
        holder.wait(30)
        assert (out / LOCK_FILE).exists()
        with output_lock(out):
            assert (out / LOCK_FILE).read_text().split()[1] == str(os.getpid())
            with output_lock(out):  # re-entrant within one process
                pass
            assert (out / LOCK_FILE).exists()
        assert not (out / LOCK_FILE).exists()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)


_FORKING_HOLDER = (
    "import os, sys, time\n"
    "from statmech.core.lock import output_lock\n"
    "with output_lock(sys.argv[1]):\n"
    "    child = os.fork()\n"
    "    if child == 0:\n"
    "        time.sleep(120)\n"
    "        os._exit(0)\n"
    "    print(child, flush=True)\n"
    "    os._exit(0)\n"  # dies without releasing; its forked child still holds the file
)


def test_a_lock_held_by_the_workers_of_a_dead_run(tmp_path):
    out = tmp_path / "o"
    parent = subprocess.Popen([sys.executable, "-c", _FORKING_HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.wait(60)
    try:
        with pytest.raises(ValueError, match=rf"\(pid {parent.pid}, which has exited; processes it started still hold"):
            with output_lock(out):
                pass
    finally:
        os.kill(child, signal.SIGKILL)
    deadline = time.time() + 30
    while time.time() < deadline:  # the orphan is reaped by init: wait until it is gone
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with output_lock(out):  # freed with the last process that held it
        pass


def test_a_lock_file_of_a_live_process_is_respected(tmp_path):
    import socket

    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_FILE).write_text(f"{socket.gethostname()} {os.getppid()}")  # a live process, not flocked
    with pytest.raises(ValueError, match=rf"\(pid {os.getppid()}\) is writing to"):
        with output_lock(out):
            pass
    (out / LOCK_FILE).write_text("elsewhere.example 12345")
    with pytest.raises(ValueError, match="a statmech run on elsewhere.example .* remove the file if it is not running"):
        with output_lock(out):
            pass
    (out / LOCK_FILE).write_text("")  # a holder that died before writing its pid
    with output_lock(out):
        pass
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        with output_lock(tmp_path / "f"):
            pass


def test_two_simulate_runs_on_one_out(tmp_path, capsys):
    """The second `statmech simulate` on a busy --out exits 2 naming the holder; the first finishes and writes."""
    out = tmp_path / "sim"
    args = ["simulate", "--K", "3", "--M", "2", "--N", "400", "--alpha-max", "2000", "--runs", "1"]
    args += ["--workers", "1", "--points", "4", "--out", str(out)]
    first = subprocess.Popen(
        [sys.executable, "-m", "statmech.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.time() + 120
        while not (out / LOCK_FILE).exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert first.poll() is None, first.communicate()
        assert main(args) == 2
        err = _one_line_error(capsys)
        assert f"another statmech run (pid {first.pid}) is writing to {out}" in err
        stdout, stderr = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr
    assert "reached alpha_max" in stdout
    cols, params = read_table(out / "simulation.csv")
    assert params["status"] == 0 and cols["alpha"][-1] == 2000
    assert not (out / LOCK_FILE).exists()
