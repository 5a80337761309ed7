"""Events: a 🎫 reaction makes a ticket of a thread; a CS mention of the hero escalates one.

Slack redelivers an event it thinks was not acknowledged (`X-Slack-Retry-Num`); each event is
handled once by its `event_id`, and the ticket sink is idempotent by ticket id as well.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from app.slack.listeners._decide import deps_of
from tools.slack import thread_messages, ticket_from_thread

log = logging.getLogger(__name__)

TICKET_REACTION = "ticket"
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
#: Ticket references a CS message may carry: a Sidekick id or a Zendesk agent URL.
_REFERENCE = re.compile(r"\b(zd-\d+|slack-[A-Z0-9]+-\d+\.\d+)\b|/agent/tickets/(\d+)")


def _first_delivery(context: Any, body: dict[str, Any]) -> bool:
    return deps_of(context).seen.first_time(f"event:{body.get('event_id')}")


def reaction_added(event: dict[str, Any], body: dict[str, Any], client: WebClient,
                   context: Any) -> None:
    """🎫 on a message in a customer channel: its thread becomes a ticket."""
    deps = deps_of(context)
    item = event.get("item") or {}
    channel = item.get("channel", "")
    customer = deps.settings.slack_customer_channels
    if event.get("reaction") != TICKET_REACTION or item.get("type") != "message" or \
            (customer and channel not in customer) or deps.sink is None:
        return
    if not _first_delivery(context, body):
        return
    ticket = ticket_from_thread(client, channel, thread_messages(client, channel, item["ts"]))
    log.info("Slack thread %s -> ticket %s", item["ts"], deps.sink.accept(ticket))


def message(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: Any
            ) -> None:
    """A CS channel message that mentions a hero: escalate the ticket it names (or itself)."""
    deps = deps_of(context)
    if event.get("subtype") or event.get("channel") != deps.settings.slack_cs_channel:
        return
    mentioned = set(_MENTION.findall(event.get("text") or ""))
    heroes = deps.heroes()
    if not mentioned or (heroes and not mentioned & heroes):
        return
    if not _first_delivery(context, body):
        return
    by = f"slack:{event.get('user')}"
    refs = [a or f"zd-{b}" for a, b in _REFERENCE.findall(event.get("text") or "")]
    if refs and deps.escalations is not None:
        for ref in refs:
            if not deps.escalations.escalate(ref, by=by):
                log.warning("CS escalation names unknown ticket %s", ref)
        return
    if deps.sink is not None:
        ticket = ticket_from_thread(client, event["channel"], [event], cs_escalated=True)
        deps.sink.accept(ticket)


def register(app: App) -> None:
    """Attach the event listeners."""
    app.event("reaction_added")(reaction_added)
    app.event("message")(message)
