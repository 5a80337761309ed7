"""`sidekick triage FILE|DIR|-`: triage tickets up to the review and print the drafts."""

from __future__ import annotations

import argparse
import sys

from app.cli import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `triage` subcommand."""
    parser = sub.add_parser("triage", help="triage tickets (files, folders, or - for stdin)")
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR|-")
    parser.add_argument("--json", action="store_true", help="one JSON result per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate every ticket first; triage only when all of them are valid."""
    from app.ticket_files import TicketError, load_tickets

    try:
        loaded = load_tickets(args.paths)
    except TicketError as exc:
        raise UsageError(str(exc)) from None

    from app.cli.render import ticket_block, totals
    from app.service import open_service
    from app.settings import get_settings

    results = []
    with open_service(get_settings()) as service:
        # Embeddings are computed a chunk ahead, on another thread, while the graph runs.
        outcomes = service.triage_many([item.ticket for item in loaded])
        for item, outcome in zip(loaded, outcomes, strict=True):
            results.append(outcome.result)
            if args.json:
                print(outcome.result.model_dump_json(), flush=True)
            else:
                note = "" if outcome.created else "  (already triaged)"
                print(ticket_block(outcome.result, item.ticket.subject) + note + "\n")
    if not args.json:
        print(totals(results))
        print("Review one with: sidekick review TICKET_ID", file=sys.stderr)
    return 0

