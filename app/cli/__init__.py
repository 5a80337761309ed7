"""The `sidekick` command. Each subcommand lives in its own module with a `register()`.

Imports stay lazy: `sidekick triage` must not pay for FastAPI, openai or sklearn when it
does not use them, so command modules import their heavy libraries inside the handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

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


def package_version() -> str:
    """The installed package's version (its metadata, so it is the one pyproject.toml names)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sidekick-triage")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _configure_logging() -> None:
    """The one logging configuration (app/logs.py); `serve` reconfigures it for its role."""
    from pydantic import ValidationError

    from app.logs import configure_logging
    from app.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError:  # the command reads the settings again and reports the field
        return
    configure_logging(settings, "cli")


class UsageError(Exception):
    """Bad input from the user: printed as `sidekick: error: ...`, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="sidekick", description="Triage support tickets for the support hero."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.cli.{name}").register(sub)
    return parser


def _setting_errors(exc: Any) -> list[str]:
    """`SIDEKICK_CHROMA_URL: must be ...`: the variable a person set, and what is wrong."""
    return [f"SIDEKICK_{'_'.join(map(str, err['loc'])).upper()}: "
            f"{err['msg'].removeprefix('Value error, ')}" for err in exc.errors()]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging()
    try:
        _check_settings()
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"sidekick: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        if getattr(exc, "title", None) != "Settings":  # pydantic's, for a bad SIDEKICK_ value
            raise
        for line in _setting_errors(exc):
            print(f"sidekick: error: {line}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        from tools.chroma import ChromaUnavailable

        if not isinstance(exc, ChromaUnavailable):
            raise
        print(f"sidekick: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _check_settings() -> None:
    """Refuse a bad environment before any command runs: a setting or a handbook file.

    Raises:
        UsageError: naming the setting (SIDEKICK_...) or the file and its key.

    """
    from pydantic import ValidationError

    from agent.handbook import HandbookError, use_handbook
    from app.settings import get_settings

    try:
        settings = get_settings()
        use_handbook(policy_file=settings.policy_file, playbooks_file=settings.playbooks_file,
                     templates_file=settings.templates_file)
    except ValidationError as exc:
        problems = "; ".join(
            f"SIDEKICK_{str(e['loc'][0]).upper()}"
            f"{''.join(f'[{part!r}]' for part in e['loc'][1:])}: {e['msg']}"
            for e in exc.errors(include_url=False))
        raise UsageError(problems) from None
    except HandbookError as exc:
        raise UsageError(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
