"""Subcommands of the ``statmech`` CLI, one module each (see ``statmech.cli``).

A module here defines ``register(subparsers)``; it imports heavy parts of the
library inside its handler so that ``statmech --help`` stays fast.
"""
