"""The same request twice: a 🎫 Slack thread and the Zendesk ticket Pylon made of it.

Customer Success's Pylon turns a 🎫 thread into a Zendesk ticket, so Sidekick hears of one
request from Slack (the reaction) and from Zendesk (webhook or view). The second to arrive
is matched to the first, by the thread's permalink in the Zendesk ticket's text, or by the
same requester asking nearly the same thing within `window_s`. It is then stored as a
`merged` row pointing at the first (`payload["merged_into"]`), which no worker triages, and
its channel is recorded on the first under `payload["attached"]`: one ticket, one draft,
both channels known (where the approved reply goes is the delivery's choice).

TRICKY: a merged row is kept (not dropped) so Zendesk's redeliveries and the poller's next
round find its id known and add nothing. Messages later added to it stay on it: Pylon's
two-way sync brings the same words through the first ticket's own channel.
Only tickets that came from Zendesk or Slack themselves are matched (never `POST /tickets`,
whose client chooses ids and text).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.models import Ticket
from app.store.models import TicketRow, utcnow

#: The status of a row that is another ticket's second channel.
MERGED = "merged"
#: A Slack message link: `https://acme.slack.com/archives/C0123/p1700000000123456`
#: (a reply's link adds `?thread_ts=1700000000.123456`).
_PERMALINK = re.compile(r"https://[\w.-]+\.slack\.com/archives/([A-Z0-9]+)/p(\d{10})(\d{6})"
                        r"(?:\?[^\s]*?thread_ts=(\d{10}\.\d{6}))?")
_WORD = re.compile(r"\w{2,}")
#: Share of the shorter text's words the other must contain to count as the same request.
SAME_TEXT = 0.8
MIN_WORDS = 4
CANDIDATES = 200
_PAIRS = {"zendesk": "slack", "slack": "zendesk"}


def permalink_threads(text: str | None) -> set[str]:
    """The Slack ticket ids (`slack-<channel>-<thread ts>`) of the permalinks in `text`."""
    found = set()
    for channel, seconds, micros, thread in _PERMALINK.findall(text or ""):
        found.add(f"slack-{channel}-{thread or f'{seconds}.{micros}'}")
    return found


def _words(ticket: dict[str, Any]) -> set[str]:
    text = f"{ticket.get('subject') or ''} {ticket.get('body') or ''}".casefold()
    return set(_WORD.findall(text))


def _same_person(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ra, rb = a.get("requester") or {}, b.get("requester") or {}
    if ra.get("email") and rb.get("email"):
        return str(ra["email"]).casefold() == str(rb["email"]).casefold()
    name_a, name_b = (" ".join(str(r.get("name") or "").split()).casefold() for r in (ra, rb))
    return bool(name_a) and name_a == name_b


def _same_text(a: dict[str, Any], b: dict[str, Any]) -> bool:
    wa, wb = _words(a), _words(b)
    shorter = min(len(wa), len(wb))
    return shorter >= MIN_WORDS and len(wa & wb) / shorter >= SAME_TEXT


def find_twin(session: Session, ticket: Ticket, origin: dict[str, Any], *,
              window_s: float) -> str | None:
    """The id of the stored ticket this one repeats from the other channel, or None."""
    other = _PAIRS.get(str(origin.get("channel")))
    if other is None or _PAIRS.get(ticket.source) != other:
        return None
    # The thread's permalink is proof, at any age; words and requester are a likeness.
    if other == "slack":
        for thread_id in sorted(permalink_threads(ticket.body)):
            row = session.get(TicketRow, thread_id)
            if row is not None and row.status != MERGED and row.source == "slack":
                return row.id
    since = utcnow() - timedelta(seconds=window_s)
    rows = session.scalars(
        select(TicketRow).where(TicketRow.source == other, TicketRow.status != MERGED,
                                TicketRow.received_at >= since)
        .order_by(TicketRow.received_at.desc()).limit(CANDIDATES)).all()
    mine = ticket.model_dump(mode="json")
    rows = [r for r in rows if (r.payload.get("origin") or {}).get("channel") == other]
    if other == "zendesk":
        for row in rows:
            if ticket.id in permalink_threads(row.payload.get("body")):
                return row.id
    for row in rows:
        if _same_person(mine, row.payload) and _same_text(mine, row.payload):
            return row.id
    return None


def attach(session: Session, twin_id: str, ticket_id: str, origin: dict[str, Any]) -> None:
    """Record `origin` (the second ticket's channel) on the first ticket's payload."""
    row = session.get(TicketRow, twin_id, with_for_update=True)
    if row is None:
        return
    attached = [a for a in row.payload.get("attached") or [] if a.get("ticket_id") != ticket_id]
    row.payload = {**row.payload, "attached": [*attached, {**origin, "ticket_id": ticket_id}]}
