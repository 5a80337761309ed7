"""Read tickets from files, folders or standard input, refusing bad ones with the field named."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from agent.models import Ticket

TICKET_SUFFIXES = (".json", ".jsonl")
#: A ticket file larger than this is not a ticket.
MAX_FILE_BYTES = 20 * 1024 * 1024


class TicketError(ValueError):
    """A ticket that cannot be read, with where it came from and which field is wrong."""


@dataclass(frozen=True)
class LoadedTicket:
    """A valid ticket and the place it was read from (for messages)."""

    ticket: Ticket
    origin: str


def describe_validation_error(exc: ValidationError) -> str:
    """One clause per problem, each naming its field (`field `body`: ...`)."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error["loc"]) or "subject/body"
        message = error["msg"]
        if error["type"] == "string_too_long":
            message += " (ticket too large)"
        parts.append(f"field `{location}`: {message}")
    return "; ".join(parts)


def parse_ticket(raw: object, origin: str) -> Ticket:
    """Validate one decoded JSON value as a Ticket."""
    if not isinstance(raw, dict):
        raise TicketError(f"{origin}: a ticket must be a JSON object, got {type(raw).__name__}")
    if "id" not in raw:
        raise TicketError(f"{origin}: field `id`: Field required")
    try:
        return Ticket.model_validate(raw)
    except ValidationError as exc:
        ident = raw.get("id")
        where = f"{origin} (ticket {ident})" if isinstance(ident, str | int) else origin
        raise TicketError(f"{where}: {describe_validation_error(exc)}") from None


def _decode(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TicketError(
            f"{origin}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8"
        ) from None


def parse_document(data: bytes, origin: str) -> list[LoadedTicket]:
    """A JSON object, a JSON array of objects, or JSON Lines."""
    if len(data) > MAX_FILE_BYTES:
        raise TicketError(f"{origin}: {len(data)} bytes is larger than {MAX_FILE_BYTES}")
    text = _decode(data, origin).strip()
    if not text:
        raise TicketError(f"{origin}: empty input, no ticket")
    try:
        value = json.loads(text)
        items = value if isinstance(value, list) else [value]
        return [LoadedTicket(parse_ticket(v, f"{origin}[{i}]" if isinstance(value, list)
                                          else origin), origin) for i, v in enumerate(items)]
    except json.JSONDecodeError as whole_error:
        if "\n" not in text:
            raise TicketError(f"{origin}: invalid JSON: {whole_error.msg} "
                              f"(line {whole_error.lineno}, column {whole_error.colno})") from None
    return list(_parse_lines(text, origin))


def _parse_lines(text: str, origin: str) -> Iterable[LoadedTicket]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TicketError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        yield LoadedTicket(parse_ticket(value, where), where)


def load_tickets(paths: list[str]) -> list[LoadedTicket]:
    """Every ticket in the given files, folders (their .json/.jsonl files) or `-` (stdin)."""
    loaded: list[LoadedTicket] = []
    for name in paths:
        if name == "-":
            loaded += parse_document(sys.stdin.buffer.read(), "<stdin>")
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in TICKET_SUFFIXES)
            if not files:
                raise TicketError(f"{name}: no .json or .jsonl ticket files in this folder")
        elif path.is_file():
            files = [path]
        else:
            raise TicketError(f"{name}: no such file or folder")
        for file in files:
            loaded += parse_document(file.read_bytes(), str(file))
    seen: dict[str, str] = {}
    for item in loaded:
        if item.ticket.id in seen:
            raise TicketError(
                f"{item.origin}: field `id`: {item.ticket.id!r} is also used at "
                f"{seen[item.ticket.id]}"
            )
        seen[item.ticket.id] = item.origin
    return loaded
