"""A ticket is a conversation: the first message is the `Ticket`, the rest are `Message`s.

Each customer message after the first starts a new turn on the same thread. The nodes read
the turn through the helpers here, so the first turn and a follow-up go through the same
graph: `turn_ticket` is the ticket as this turn sees it (the new customer text as its body),
`conversation_text` is everything the customer has said (so a draft never asks again for
what was already given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.models import Ticket, id_as_text
from agent.quoting import strip_quoted

Author = Literal["customer", "hero", "sidekick", "cs"]
AUTHORS: tuple[Author, ...] = ("customer", "hero", "sidekick", "cs")

#: Channel message ids: Zendesk comment ids, Slack timestamps, e-mail Message-IDs, API ids.
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9<][A-Za-z0-9._:@<>+=/-]{0,299}$"
MAX_MESSAGE_CHARS = 50_000
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+")
#: How much of the first message a follow-up's retrieval query keeps for context.
CONTEXT_CHARS = 400


class Message(BaseModel):
    """One turn of a ticket's conversation (DESIGN: Message)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(pattern=MESSAGE_ID_PATTERN)
    author: Author
    body: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    public: bool = True
    created_at: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: object) -> object:
        return id_as_text(value)  # Zendesk comment ids are integers on the wire

    @field_validator("body")
    @classmethod
    def _has_visible_text(cls, value: str) -> str:
        if not _INVISIBLE.sub("", value):
            raise ValueError("must contain visible text")
        return value

    @field_validator("created_at")
    @classmethod
    def _is_a_time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time") from None
        return value


#: The models of this module stored in graph checkpoints (see `agent.models.CHECKPOINTED`).
CHECKPOINTED = (Message,)


def add_messages(left: Sequence[Message] | None, right: Sequence[Message] | None
                 ) -> list[Message]:
    """The state's reducer: append messages in order, each channel message id once."""
    merged = list(left or [])
    seen = {m.id for m in merged}
    for message in right or []:
        if message.id not in seen:
            merged.append(message)
            seen.add(message.id)
    return merged


def unanswered(messages: Sequence[Message], answered: int) -> list[Message]:
    """The customer's messages after the first `answered` messages of the conversation."""
    return [m for m in messages[answered:] if m.author == "customer"]


def new_customer_text(state: Mapping[str, Any]) -> str:
    """What the customer wrote since the last draft (empty on the first turn)."""
    fresh = state.get("turn_messages") or []
    return "\n\n".join(m.body for m in fresh)


def turn_ticket(state: Mapping[str, Any]) -> Ticket:
    """The ticket as this turn reads it: on a follow-up, the new customer text as its body."""
    ticket: Ticket = state["ticket"]
    text = new_customer_text(state)
    if not text:
        return ticket
    if not is_follow_up(state):  # messages that came before the first triage join the body
        return ticket.model_copy(update={"body": "\n\n".join(filter(None, [ticket.body, text]))})
    return ticket.model_copy(update={"body": text})


def conversation_text(state: Mapping[str, Any]) -> str:
    """Everything the customer has written on this ticket, first message included."""
    ticket: Ticket = state["ticket"]
    said = [strip_quoted(m.body) for m in state.get("messages") or [] if m.author == "customer"]
    return "\n\n".join([ticket.text, *said])


def customer_text(state: Mapping[str, Any]) -> str:
    """The body of the first message and every customer reply after it."""
    ticket: Ticket = state["ticket"]
    said = [strip_quoted(m.body) for m in state.get("messages") or [] if m.author == "customer"]
    return "\n\n".join(filter(None, [ticket.body, *said]))


def retrieval_text(state: Mapping[str, Any]) -> str:
    """The search query: the new message first, in the context of the first one."""
    if not is_follow_up(state):
        return turn_ticket(state).text
    ticket: Ticket = state["ticket"]
    return f"{new_customer_text(state)}\n\n{ticket.text[:CONTEXT_CHARS]}"


def is_follow_up(state: Mapping[str, Any]) -> bool:
    """Whether this run answers a later message rather than the ticket itself."""
    return int(state.get("turn") or 1) > 1


def turn_record(state: Mapping[str, Any], outcome: str, **extra: object) -> dict[str, Any]:
    """One line of the ticket's audit trail: this turn's draft and what became of it."""
    draft = state.get("draft")
    return {
        "turn": int(state.get("turn") or 1),
        "stage": state.get("stage"),
        "team": (state.get("classification") or {}).get("team"),
        "priority": state.get("priority"),
        "answered": [m.id for m in state.get("turn_messages") or []],
        "draft": draft.model_dump(mode="json") if draft is not None else None,
        "decision": state.get("decision"),
        "outcome": outcome,
        **extra,
    }
