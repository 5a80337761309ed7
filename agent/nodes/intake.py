"""intake: normalise the ticket's text before anything reads it."""

from __future__ import annotations

import re
from time import perf_counter

from agent.conversation import Message, turn_record, unanswered
from agent.models import Ticket
from agent.nodes._timing import elapsed_ms
from agent.quoting import strip_quoted
from agent.state import State

_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"[ \t\u00a0]{2,}")


def normalize_text(text: str | None) -> str | None:
    """Drop quoted e-mail history, control characters and runs of blank space."""
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    # Replies quoted from earlier e-mails repeat the thread and drown the new question.
    text = strip_quoted(text)
    text = _SPACE_RUNS.sub(" ", _BLANK_RUNS.sub("\n\n", text))
    return text.strip()


def _clean(message: Message) -> Message:
    body = normalize_text(message.body) or message.body
    return message.model_copy(update={"body": body})


#: A turn ends with one of these; a draft in any other status was still waiting.
CLOSED_STATUSES = ("delivered", "rejected", "superseded")


def intake(state: State) -> dict:
    """Normalise the ticket and the customer's new messages; start this turn's review cycle.

    A turn answers every customer message since the last reply that went out: the first
    turn the ticket (and what the customer added before anyone answered). A message that
    arrives while a draft waits re-drafts the same turn, so the new draft answers both and
    there is never more than one waiting draft.
    """
    started = perf_counter()
    ticket: Ticket = state["ticket"]
    clean = ticket.model_copy(
        update={"subject": normalize_text(ticket.subject), "body": normalize_text(ticket.body)}
    )
    messages = state.get("messages") or []
    # A thread from before conversations has a draft but no turn number: its turn 1.
    previous = int(state.get("turn") or (1 if state.get("draft") is not None else 0))
    waiting = state.get("draft") is not None and state.get("status") not in CLOSED_STATUSES
    turn = previous if waiting and previous else previous + 1
    update: dict = {
        "ticket": clean,
        "turn": turn,
        "read_upto": len(messages),
        "turn_messages": [_clean(m) for m in unanswered(messages, state.get("answered") or 0)],
        "status": "triaging",
        "timings_ms": {"intake": elapsed_ms(started)},
    }
    if waiting:
        update["turns"] = [turn_record(state, "replaced")]
    if turn == 1:  # a later turn keeps the team a person chose
        update["team_override"] = None
    return update
