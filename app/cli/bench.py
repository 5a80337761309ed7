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
    parser.add_argument("--workers", default=None, metavar="N,M",
                        help="only the scale-out bench: one API replica and N, then M "
                             "`sidekick worker` processes on PostgreSQL (e.g. 1,2)")
    parser.add_argument("--postgres", default=None, metavar="URL",
                        help="with --workers: a PostgreSQL server's URL where scratch "
                             "databases may be created (default "
                             "postgresql://postgres@127.0.0.1:5432/test)")
    parser.set_defaults(func=run)


def _counts(text: str) -> list[int]:
    from app.cli import UsageError

    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise UsageError(f"--workers must be worker counts like 1,2 (got {text!r})")
    return counts


def _run_workers(args: argparse.Namespace) -> int:
    """`sidekick bench --workers 1,2`: the scale-out bench alone."""
    import shutil
    import tempfile

    from app.bench.workers import workers_bench, workers_table

    counts = _counts(args.workers)
    workdir = Path(tempfile.mkdtemp(prefix="sidekick-bench-workers-"))
    try:
        results = workers_bench(
            counts, tickets=args.tickets or (60 if args.quick else 200),
            admin_url=args.postgres or "postgresql://postgres@127.0.0.1:5432/test",
            home=args.home or workdir / "home", workdir=workdir,
            log=lambda line: print(f"bench: {line}", file=sys.stderr))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps({"workers_runs": [{k: _clean(v) for k, v in run.items()}
                                           for run in results["workers_runs"]]}))
    else:
        print(workers_table(results))
    return 0


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
    if args.workers is not None:
        return _run_workers(args)
    options = BenchOptions(quick=args.quick, tickets=args.tickets, home=args.home)
    results = run_bench(options, log=lambda line: print(f"bench: {line}", file=sys.stderr))
    results["targets"] = verdicts(results)
    if args.json:
        print(json.dumps({key: _clean(value) for key, value in results.items()}))
    else:
        print(table(results))
    return 0
