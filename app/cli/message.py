"""`sidekick message TICKET_ID FILE|-`: add a message to a ticket's conversation.

The message is the API's JSON (`{"id", "author", "body", "public", "created_at"}`). A
customer's message drafts the next turn at once; `sidekick review TICKET_ID` shows it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import UsageError

#: A message file larger than this is not a message.
MAX_MESSAGE_BYTES = 1024 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `message` subcommand."""
    parser = sub.add_parser("message", help="add a customer's (or a person's) message to a ticket")
    parser.add_argument("ticket_id")
    parser.add_argument("file", metavar="FILE|-", help="the message as JSON (- = stdin)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def read_message(name: str):
    """The message in FILE (or stdin), validated; a usage error names the bad field."""
    from pydantic import ValidationError

    from agent.conversation import Message
    from app.ticket_files import describe_validation_error

    origin = "<stdin>" if name == "-" else name
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such file: {name}") from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise UsageError(f"{origin}: {len(data)} bytes is larger than {MAX_MESSAGE_BYTES}")
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{origin}: not a JSON message: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{origin}: a message must be a JSON object")
    try:
        return Message.model_validate(raw)
    except ValidationError as exc:
        raise UsageError(f"{origin}: {describe_validation_error(exc)}") from None


def run(args: argparse.Namespace) -> int:
    """Add the message; print the follow-up draft (or what was recorded)."""
    from app.cli.render import ticket_block
    from app.service import TicketBusy, UnknownTicket, open_service
    from app.settings import get_settings

    message = read_message(args.file)
    with open_service(get_settings()) as service:
        try:
            outcome = service.converse(args.ticket_id, [message])
            state = service.state(args.ticket_id)
        except UnknownTicket:
            raise UsageError(f"no triaged ticket with id {args.ticket_id!r}") from None
        except TicketBusy as exc:
            print(f"sidekick: {exc}", file=sys.stderr)
            return 1
    result = outcome.result
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    if not outcome.created:
        print(f"message {message.id} is already in ticket {args.ticket_id}: nothing changed")
    print(ticket_block(result, state["ticket"].subject, full=result.status == "awaiting_review"))
    print(f"\nstatus: {result.status} (turn {result.turn}, stage {result.stage})")
    if result.status == "awaiting_review":
        print(f"decide with: sidekick review {args.ticket_id} --approve")
    return 0
