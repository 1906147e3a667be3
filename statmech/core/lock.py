"""One writer per output directory: ``OUT/.lock`` naming the host and pid of the run that writes there.

The lock file is held with ``flock`` while the run lasts, so the kernel frees
it when the holder dies however it dies (a stale file is taken over), and it
names its holder so that the second run can say who has it. A file naming a
live process of this host is respected even when not flocked.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from statmech.core.io import ensure_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the pid in the file is the only guard
    fcntl = None  # type: ignore[assignment]

__all__ = ["output_lock", "LOCK_FILE", "pid_alive"]

LOCK_FILE = ".lock"
_HELD: dict = {}  # lock path -> [fd, depth]: the locks this process holds (re-entrant)
_GUARD = threading.Lock()


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OverflowError:
        return False
    return True


def _holder(text: str) -> tuple:
    """(host, pid) written in a lock file; ('', -1) when unreadable."""
    parts = text.split()
    try:
        return parts[0], int(parts[1])
    except (IndexError, ValueError):
        return "", -1


def _busy(out: Path, what: str, host: str, pid: int) -> ValueError:
    if host and host != socket.gethostname():
        return ValueError(
            f"{out / LOCK_FILE} says a {what} on {host} (pid {pid}) is writing to {out}; "
            f"remove the file if it is not running"
        )
    if pid <= 0:
        who = "a process that has not yet written its pid"
    elif pid_alive(pid):
        who = f"pid {pid}"
    else:  # flocked, yet the pid has exited: processes it started (workers) still hold the file open
        who = f"pid {pid}, which has exited; processes it started still hold the lock"
    return ValueError(
        f"another {what} ({who}) is writing to {out}; wait for it to finish or stop it, or use another --out"
    )


def _acquire(out: Path, what: str) -> int:
    path = out / LOCK_FILE
    me = f"{socket.gethostname()} {os.getpid()}\n"
    for _ in range(5):  # retried only when the file was replaced under us by another run
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except IsADirectoryError:
            raise ValueError(f"cannot lock {out}: {path} is a directory; remove it") from None
        except OSError as exc:
            raise ValueError(f"cannot lock the output directory {out}: {exc.strerror} ({path})") from None
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    host, pid = _holder(os.pread(fd, 256, 0).decode("utf-8", "replace"))
                    raise _busy(out, what, host, pid) from None
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
                if not same:  # the holder released (unlinked) it between our open and flock: retry
                    os.close(fd)
                    continue
            host, pid = _holder(os.pread(fd, 256, 0).decode("utf-8", "replace"))
            if pid > 0 and pid != os.getpid() and (host != socket.gethostname() or pid_alive(pid)):
                raise _busy(out, what, host, pid)  # a holder that does not flock (or of another host)
            # free, or left by a run that died: ours now
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode(), 0)
            return fd
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
    raise ValueError(f"cannot lock {out}: {path} keeps being replaced by other runs")  # pragma: no cover


@contextlib.contextmanager
def output_lock(out_dir: str | os.PathLike, what: str = "statmech run") -> Iterator[Path]:
    """Hold ``OUT/.lock`` while the block runs: one run writes into a directory at a time.

    A second run on the same directory gets a ``ValueError`` naming the
    directory and the holder's pid (exit code 2 in the CLI); a lock left by a
    run that died is taken over. Re-entrant within one process. ``what`` names
    the kind of run in the message (e.g. ``"sweep"``). The directory is created
    when missing.
    """
    out = ensure_dir(out_dir)
    key = os.path.realpath(out / LOCK_FILE)
    with _GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
        else:
            _HELD[key] = [_acquire(out, what), 1]
    try:
        yield out
    finally:
        with _GUARD:
            held = _HELD[key]
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                # unlink before unlocking: a run waiting on this inode sees it replaced and retries
                with contextlib.suppress(OSError):
                    os.unlink(key)
                with contextlib.suppress(OSError):
                    os.close(held[0])
