"""A ticket's conversation and audit trail, as `GET /tickets/{id}` shows them.

The stored triage result holds what the graph read (the conversation up to the current
turn, and each finished turn's draft, decision and delivery); the store may already hold
messages the worker has not answered yet. Both are merged here, and written out as lines a
person reads top to bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.conversation import Message
from agent.models import ConversationEntry, TurnRecord
from app.store.models import DecisionRow, TicketRow

EXCERPT_CHARS = 120


@dataclass
class Trail:
    """The conversation (the ticket first) and the turns that reached an end."""

    conversation: list[ConversationEntry]
    turns: list[TurnRecord]
    unanswered: set[str]


def conversation_of(row: TicketRow, result: dict[str, Any] | None,
                    stored: Sequence[Message]) -> Trail:
    """Merge what the last turn read with the messages stored since."""
    read = [ConversationEntry.model_validate(e) for e in (result or {}).get("conversation", [])]
    if not read:
        payload = row.payload
        read = [ConversationEntry(id=row.id, author="customer",
                                  body=payload.get("body") or payload.get("subject") or "",
                                  created_at=payload.get("created_at"))]
    seen = {e.id for e in read}
    later = [ConversationEntry(**m.model_dump()) for m in stored if m.id not in seen]
    turns = [TurnRecord.model_validate(t) for t in (result or {}).get("history", [])]
    return Trail(conversation=read + later, turns=turns, unanswered={e.id for e in later})


def _excerpt(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 1] + "…"


def _turn_line(turn: TurnRecord) -> str:
    decision = turn.decision or {}
    who = f" by {decision['by']}" if decision.get("by") else ""
    when = f" at {decision['at']}" if decision.get("at") else ""
    line = f"turn {turn.turn} ({turn.stage or 'no stage'}): draft {turn.outcome}{who}{when}"
    if turn.draft is not None:
        visibility = "public" if turn.draft.public else "internal"
        line += f"; reply {visibility}, then {turn.draft.status_after}"
    results = (turn.delivery or {}).get("results") or {}
    if results:
        line += "; sent to " + ", ".join(sorted(results))
    if turn.delivery and turn.delivery.get("first_delivery") is False:
        line += " (already sent before: not sent again)"
    return line


def audit_lines(trail: Trail, decisions: Sequence[DecisionRow]) -> list[str]:
    """The conversation, the turns and the decisions, one readable line each."""
    lines = []
    for n, entry in enumerate(trail.conversation):
        when = entry.created_at or "time unknown"
        kind = "first message" if n == 0 else ("public" if entry.public else "internal")
        pending = " (not answered yet)" if entry.id in trail.unanswered else ""
        lines.append(f"{when} · {entry.author} · {kind}{pending}: {_excerpt(entry.body)}")
    lines += [_turn_line(turn) for turn in trail.turns]
    for d in decisions:
        changed = f" {d.changes}" if d.changes else ""
        lines.append(f"{d.at.isoformat(timespec='seconds')} · decision {d.action} by {d.by}"
                     f"{changed}")
    return lines
