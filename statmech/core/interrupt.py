"""Ctrl-C as a flag that long loops check between chunks of work."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["sigint_flag", "die_with_parent"]

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@contextmanager
def sigint_flag() -> Iterator[dict[str, bool]]:
    """Turn Ctrl-C into a flag checked between chunks (a second Ctrl-C raises at once)."""
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # not allowed off the main thread; SIG_IGN: a worker process whose parent decides when to stop
        yield flag
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    try:
        old = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not allowed here (embedded interpreter): plain KeyboardInterrupt
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, old)


def die_with_parent(parent_pid: int) -> None:
    """In a worker process: end it (SIGTERM) when the process ``parent_pid`` dies.

    Linux: the kernel's parent-death signal (prctl PR_SET_PDEATHSIG), which also
    stops a worker busy in compiled code. Elsewhere, and as a second guard, a
    daemon thread polls the parent's pid every 0.5 s.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no libc symbol: the watchdog alone
            pass
    ppid = os.getppid()  # the direct parent (the given one, or a fork server started by it)

    def orphaned() -> bool:
        # a dead parent may linger as a zombie (kill(pid, 0) still succeeds): a new ppid tells
        return os.getppid() != ppid or not _alive(parent_pid)

    if orphaned():  # the parent died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while not orphaned():
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="statmech-parent-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
