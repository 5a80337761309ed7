"""`sidekick review TICKET_ID`: show the waiting draft, or decide on it.

A decision is on one draft version: the one this command reads and shows, or the one
`--version N` pins. A newer draft having replaced it exits 1 and sends nothing.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from app.cli import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `review` subcommand."""
    parser = sub.add_parser("review", help="show a waiting draft, or approve/edit/reassign/reject")
    parser.add_argument("ticket_id")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--approve", action="store_true", help="send the draft as it is")
    action.add_argument("--edit", metavar="FILE", help="send the reply in FILE instead (- = stdin)")
    action.add_argument("--reassign", metavar="TEAM", help="re-draft for another team")
    action.add_argument("--reject", metavar="REASON", help="send nothing, and say why")
    parser.add_argument("--version", type=_positive, metavar="N", dest="draft_version",
                        help="decide only if the waiting draft is still version N")
    parser.add_argument("--by", default=None, help="who decides (default: your user name)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a draft version (1, 2, ...), not {text!r}")
    return int(text)


def _decision(args: argparse.Namespace):
    from pydantic import ValidationError

    from agent.decisions import Decision

    by = args.by or getpass.getuser()
    fields: dict[str, Any]
    if args.approve:
        fields = {"action": "approve"}
    elif args.edit:
        fields = {"action": "edit", "body": _read_edit(args.edit)}
    elif args.reassign:
        fields = {"action": "reassign", "team": args.reassign}
    elif args.reject:
        fields = {"action": "reject", "reason": args.reject}
    else:
        if args.draft_version is not None:
            raise UsageError("--version names the draft to decide on: add --approve, --edit, "
                             "--reassign or --reject")
        return None
    try:
        return Decision(by=by, **fields)
    except ValidationError as exc:
        raise UsageError("; ".join(e["msg"] for e in exc.errors())) from None


def _read_edit(name: str) -> str:
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        return data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"--edit: no such file: {name}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--edit: {name} is not valid UTF-8") from None


def run(args: argparse.Namespace) -> int:
    """Show or decide; an unknown ticket or a bad team is a usage error (exit 2)."""
    from agent.decisions import StaleDraft
    from app.cli.render import ticket_block
    from app.service import NotAwaitingReview, UnknownTicket, open_service
    from app.settings import get_settings

    decision = _decision(args)
    with open_service(get_settings()) as service:
        try:
            result = service.get(args.ticket_id)
            if decision is not None:
                # The version read here (and shown below) unless --version pinned another.
                version = args.draft_version or result.version
                result = service.decide(args.ticket_id,
                                        decision.model_copy(update={"version": version}))
            state = service.state(args.ticket_id)
        except UnknownTicket:
            raise UsageError(f"no triaged ticket with id {args.ticket_id!r}") from None
        except NotAwaitingReview as exc:
            raise UsageError(str(exc)) from None
        except StaleDraft as exc:  # not bad usage: the draft changed under the decision
            print(f"sidekick: {exc}: see it with `sidekick review {args.ticket_id}`",
                  file=sys.stderr)
            return 1
        except ValueError as exc:  # a team outside the taxonomy
            raise UsageError(str(exc)) from None
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(ticket_block(result, state["ticket"].subject, full=True))
    print(f"\nstatus: {result.status} (draft version {result.version})")
    if state.get("delivery") and result.status == "delivered":
        delivery = state["delivery"]
        again = "" if delivery.get("first_delivery", True) else " (already sent before)"
        print(f"delivered via {delivery['channel']} at {delivery['delivered_at']}{again}")
    elif result.status == "awaiting_review":
        print("decide with --approve, --edit FILE, --reassign TEAM or --reject REASON; "
              f"add --version {result.version} to decide only on this version")
    return 0
