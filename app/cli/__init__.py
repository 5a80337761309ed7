"""The `sidekick` command. Each subcommand lives in its own module with a `register()`.

Imports stay lazy: `sidekick triage` must not pay for FastAPI, openai or sklearn when it
does not use them, so command modules import their heavy libraries inside the handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules under app.cli that each add one or more subcommands.
COMMAND_MODULES = (
    "triage",
    "review",
    "message",
    "knowledge_cmds",
    "train",
    "eval",
    "serve",
    "worker",
    "bench",
)


class UsageError(Exception):
    """Bad input from the user: printed as `sidekick: error: ...`, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="sidekick", description="Triage support tickets for the support hero."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"sidekick: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
