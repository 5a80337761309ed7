"""`sidekick bench`: measure triage speed on this machine against issue #5's targets."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `bench` subcommand."""
    parser = sub.add_parser("bench", help="measure triage, ingest and API speed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true",
                        help="small samples, 200 batch tickets, API at 20 rps for 5 s")
    parser.add_argument("--tickets", type=int, default=None, metavar="N",
                        help="tickets in the batch run (default 1000)")
    parser.add_argument("--home", type=Path, default=None, metavar="DIR",
                        help="a home to (warm and) use; default a temporary one")
    parser.set_defaults(func=run)


def _clean(value: object) -> object:
    """NaN is not JSON: a value that could not be measured is null."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def run(args: argparse.Namespace) -> int:
    """Run the bench; progress goes to stderr, the table or JSON to stdout."""
    from app.bench import BenchOptions, run_bench
    from app.bench.report import table, verdicts
    from app.cli import UsageError

    if args.tickets is not None and args.tickets < 1:
        raise UsageError("--tickets must be at least 1")
    options = BenchOptions(quick=args.quick, tickets=args.tickets, home=args.home)
    results = run_bench(options, log=lambda line: print(f"bench: {line}", file=sys.stderr))
    results["targets"] = verdicts(results)
    if args.json:
        print(json.dumps({key: _clean(value) for key, value in results.items()}))
    else:
        print(table(results))
    return 0
