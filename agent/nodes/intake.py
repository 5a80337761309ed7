"""intake: normalise the ticket's text before anything reads it."""

from __future__ import annotations

import re
from time import perf_counter

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


def intake(state: State) -> dict:
    """Normalise subject and body; start a fresh review cycle."""
    started = perf_counter()
    ticket: Ticket = state["ticket"]
    clean = ticket.model_copy(
        update={"subject": normalize_text(ticket.subject), "body": normalize_text(ticket.body)}
    )
    return {
        "ticket": clean,
        "team_override": None,
        "status": "triaging",
        "timings_ms": {"intake": elapsed_ms(started)},
    }
