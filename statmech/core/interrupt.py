"""Ctrl-C as a flag that long loops check between chunks of work."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["sigint_flag"]


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
