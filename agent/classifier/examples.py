"""Labeled examples: parsing rows of the eval-dataset format, validation and identity.

A row is a Ticket (DESIGN.md) plus `"expected": {"team": ..., "kind": ...}`. Either label may
be null: a row with only a kind still trains the kind head, and the other way round.

The shipped rows from ex-0252 on carry a kind only. They were written to teach the
question / bug boundary in support-desk prose; with their teams too, the team head drifted
from real GitHub issues (5-fold CV on the dev issues: team 0.862 with, 0.885 without).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.jsonl import JsonlLineError, iter_jsonl
from agent.models import KINDS, Ticket

#: The examples shipped with Sidekick, in the eval-dataset format.
SHIPPED_EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples.jsonl"


class ExampleError(ValueError):
    """A row that is not a valid labeled example; `field` names the offending key."""

    def __init__(self, field: str, message: str, *, line: int | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}`{field}`: {message}")
        self.field, self.message, self.line = field, message, line


@dataclass(frozen=True)
class Example:
    """One labeled ticket, reduced to what the classifier reads."""

    id: str
    subject: str | None
    body: str | None
    team: str | None
    kind: str | None
    origin: str = "user"

    @property
    def text(self) -> str:
        """Subject and body, exactly as `Ticket.text` joins them."""
        return "\n\n".join(part for part in (self.subject, self.body) if part)

    @property
    def subject_text(self) -> str:
        """What the subject embedding reads: the subject, or the whole text without one."""
        return self.subject or self.text

    @property
    def key(self) -> str:
        """The identity used for deduplication: a hash of the text."""
        return text_key(self.text)

    def to_row(self) -> dict[str, Any]:
        """Return the eval-dataset row this example is stored as."""
        return {
            "id": self.id,
            "subject": self.subject,
            "body": self.body,
            "expected": {"team": self.team, "kind": self.kind},
            "origin": self.origin,
        }


def text_key(text: str, namespace: str = "") -> str:
    """Hash a text, short and stable (optionally scoped, e.g. by embedding model)."""
    data = f"{namespace}\0{text}".encode("utf-8", "replace")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _first_error_field(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error.get("loc", ())) or "row"
    return field, error.get("msg", "invalid value")


def _label(expected: dict[str, Any], name: str) -> str | None:
    value = expected.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ExampleError(f"expected.{name}", f"must be a non-empty string or null, got {value!r}")
    return value.strip()


def parse_example(row: Any, *, origin: str = "user") -> Example:
    """Validate one row and return it as an Example.

    Raises:
        ExampleError: naming the field that is missing or malformed.

    """
    if not isinstance(row, dict):
        raise ExampleError("row", "must be a JSON object")
    try:
        ticket = Ticket.model_validate(row)
    except ValidationError as exc:
        raise ExampleError(*_first_error_field(exc)) from None
    expected = row.get("expected")
    if not isinstance(expected, dict):
        raise ExampleError("expected", "must be an object with `team` and/or `kind`")
    team, kind = _label(expected, "team"), _label(expected, "kind")
    if kind is not None and kind not in KINDS:
        raise ExampleError("expected.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    return Example(
        id=ticket.id, subject=ticket.subject, body=ticket.body, team=team, kind=kind,
        origin=str(row.get("origin") or origin),
    )


def read_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, decoded JSON) for each non-blank line of a JSONL file.

    Raises:
        ExampleError: for a line that is not JSON (the message names the line).

    """
    try:
        yield from iter_jsonl(path)
    except JsonlLineError as exc:
        raise ExampleError("row", f"not valid JSON ({exc.msg})", line=exc.line) from None


def load_examples(path: Path, *, origin: str) -> list[Example]:
    """Every example of a JSONL file; a bad row raises with its line number."""
    examples = []
    for number, row in read_rows(path):
        try:
            examples.append(parse_example(row, origin=origin))
        except ExampleError as exc:
            raise ExampleError(exc.field, exc.message, line=number) from None
    return examples


def dedupe(existing: Iterable[Example], new: Iterable[Example]) -> tuple[list[Example], int]:
    """Keep the new examples whose id and text are both unseen; count the duplicates."""
    ids = set()
    keys = set()
    for example in existing:
        ids.add(example.id)
        keys.add(example.key)
    fresh, duplicates = [], 0
    for example in new:
        if example.id in ids or example.key in keys:
            duplicates += 1
            continue
        ids.add(example.id)
        keys.add(example.key)
        fresh.append(example)
    return fresh, duplicates
