"""Command-line interface: ``statmech COMMAND ...``.

Thin by design: each subcommand lives in its own module of
``statmech.commands`` with ``register(subparsers)`` adding an argparse parser
whose ``func(args)`` calls the library and writes files. Bad input raises
``ValueError`` (or ``UsageError``), which becomes a one-line message and exit
code 2; no science happens here.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from statmech import commands


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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"statmech {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"statmech {args.command}: interrupted; finished results were written", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
