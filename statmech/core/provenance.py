"""Where a result file came from: code version, git commit, dependency versions, date, parameters.

Every file statmech writes carries this record (the JSON sidecar of a table
under ``"provenance"``, an ``.npz`` under the key ``__provenance__``), so a
file read alone says which code, which environment and which command made it.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["provenance", "set_command_line", "cli_run", "command_line", "jsonable"]

_GIT_TIMEOUT_S = 2.0  # a provenance record must never hold up a run
_DEPENDENCIES = ("numpy", "scipy", "numba")
# The command line of this process's CLI run, registered by the CLI entry point.
_COMMAND: dict[str, Any] = {"argv": None, "options": None}


def set_command_line(argv: list | None, options: dict | None = None) -> None:
    """Register the command line (and the parsed options, defaults included) of a CLI run.

    Recorded in every file written afterwards by this process; ``argv=None``
    forgets it (the API then records only the parameters it is given).
    """
    _COMMAND["argv"] = None if argv is None else [str(a) for a in argv]
    _COMMAND["options"] = None if options is None else jsonable({k: v for k, v in options.items() if not callable(v)})


def cli_run(func: Callable[[argparse.Namespace], Any], args: argparse.Namespace, argv: list | None = None) -> Any:
    """``func(args)`` with the command line recorded in every file written meanwhile (the CLI's entry point).

    ``argv``: the arguments after the program name (None: this process's
    ``sys.argv[1:]``), recorded after the name ``statmech`` as one would
    type them again; the options are ``vars(args)``, defaults included.
    """
    saved = dict(_COMMAND)
    set_command_line(["statmech", *(sys.argv[1:] if argv is None else argv)], vars(args))
    try:
        return func(args)
    finally:
        _COMMAND.update(saved)


def command_line() -> list | None:
    """The command line of the CLI run in progress in this process, or None (an API call)."""
    return None if _COMMAND["argv"] is None else list(_COMMAND["argv"])


def jsonable(x: Any) -> Any:
    """``x`` with numpy arrays and scalars, paths and tuples turned into plain JSON values."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return repr(x)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package_version() -> str | None:
    root = sys.modules.get("statmech")  # the package itself (core must not import the layers above it)
    version = getattr(root, "__version__", None)
    return version if version is not None else _version("statmech")


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
    deps = tuple((name, _version(name)) for name in _DEPENDENCIES)
    return (platform.python_version(), deps)


def _git(args, cwd: Path) -> str | None:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")  # read only: never take the index lock
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, env=env, check=False
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hangs
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple:
    """(commit, dirty) of the checkout holding this package, (None, None) when it is not run from one."""
    package = Path(__file__).resolve().parent.parent
    top = _git(["rev-parse", "--show-toplevel"], package)
    # only the package's own repository: an installed copy inside some other checkout has no commit
    if top is None or Path(top).resolve() not in (package.parent, package.parent.parent):
        return (None, None)
    commit = _git(["rev-parse", "HEAD"], package)
    if commit is None:
        return (None, None)
    status = _git(["status", "--porcelain", "--untracked-files=no"], package)
    return (commit, None if status is None else bool(status))


def provenance(params: dict | None = None) -> dict:
    """The provenance record of a file written now, as a JSON-ready dict.

    Keys: ``statmech_version``; ``git_commit`` and ``git_dirty`` (tracked files
    changed since that commit) when run from a git checkout of the package,
    else None; ``python`` and ``dependencies`` (numpy, scipy, numba versions);
    ``date`` (UTC, ISO 8601); ``command_line`` and ``options`` (every parsed
    option, defaults included) for a CLI run, else None; ``parameters``: the
    ``params`` given (the full parameters of the computation), or None.
    """
    commit, dirty = _git_state()
    python, deps = _environment()
    return {
        "statmech_version": _package_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "python": python,
        "dependencies": dict(deps),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command_line": command_line(),
        "options": None if _COMMAND["options"] is None else dict(_COMMAND["options"]),
        "parameters": None if params is None else jsonable(params),
    }
