"""Command-line interface: ``statmech COMMAND ...``.

Thin by design: each subcommand lives in its own module of
``statmech.commands`` with ``register(subparsers)`` adding an argparse parser
whose ``func(args)`` calls the library and writes files. Bad input raises
``ValueError`` (or ``UsageError``), which becomes a one-line message and exit
code 2; no science happens here.

Exit codes are decided here, once for every command: 0 done, 1 failed, 2 bad
input, 130 interrupted by Ctrl-C (also when the library caught the interrupt
and returned its partial result), 141 when the reader of stdout went away
(``statmech ... | head``). A command returns an exit code or a result whose
``status`` is 0 (done), 1 (interrupted) or -1 (failed).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import pkgutil
import signal
import sys
import threading
from contextlib import contextmanager

from statmech import commands
from statmech.core.provenance import cli_run


class UsageError(ValueError):
    """A user error in command-line arguments (reported in one line, exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statmech",
        description="Statistical mechanics of online learning in two-layer networks, and pruning.",
    )
    parser.add_argument("--version", action="version", version=f"statmech {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def _version() -> str:
    from statmech import __version__

    return __version__


# exit codes of a result's status: done, interrupted by the user (128 + SIGINT), failed
STATUS_EXIT = {0: 0, 1: 130, -1: 1}
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


@contextmanager
def _record_sigint():
    """Note every Ctrl-C (then raise KeyboardInterrupt as Python does), so that an interrupt the
    library caught and turned into a partial result still exits 130."""
    seen = {"sigint": False}
    default = signal.default_int_handler
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not default:
        yield seen  # SIGINT ignored (a background job) or handled by the embedding program: leave it
        return

    def handler(signum, frame):
        seen["sigint"] = True
        default(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, default)


def _exit_code(returned) -> int:
    status = getattr(returned, "status", None)
    if status is not None:
        return STATUS_EXIT.get(int(status), 1)
    return int(returned or 0)


def _quiet_broken_pipe() -> int:
    """The reader of stdout is gone: send what is left to /dev/null so that the interpreter's
    final flush does not fail again (the recipe of Python's signal documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    """Run ``statmech`` with ``argv`` (None: this process's own arguments) and return its exit code.

    With ``argv=None`` the process is the command and ends when this returns: the
    collector is frozen then, since its passes over every compiled function at
    interpreter shutdown take about a second (longer under load), which would
    hold up the exit after a Ctrl-C.
    """
    if argv is None:
        try:
            return _main(None)
        finally:
            gc.freeze()
    return _main(argv)


def _environment_error() -> str | None:
    """An environment variable that would make numba's import fail with a traceback, said in one line."""
    threads = os.environ.get("NUMBA_NUM_THREADS")
    if threads is not None and not (threads.strip().isdigit() and int(threads) >= 1):
        return f"environment variable NUMBA_NUM_THREADS must be an integer >= 1, got {threads!r}"
    return None


def _main(argv: list[str] | None) -> int:
    problem = _environment_error()
    if problem is not None:  # before the commands import numba
        print(f"statmech: error: {problem}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _record_sigint() as seen:
            try:
                code = _exit_code(cli_run(args.func, args, argv))
            except (ValueError, TypeError) as exc:
                print(f"statmech {args.command}: error: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                # it may land before any result exists (while numba loads): claim only what atomic writes guarantee
                print(
                    f"statmech {args.command}: interrupted; files already written are complete (no partial file is left)",
                    file=sys.stderr,
                )
                return EXIT_INTERRUPTED
            sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    return EXIT_INTERRUPTED if seen["sigint"] else code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
