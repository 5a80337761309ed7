"""Events: a 🎫 reaction makes a ticket of a thread; a CS mention of the hero escalates one.

Slack redelivers an event it thinks was not acknowledged (`X-Slack-Retry-Num`); each event is
handled once by its `event_id`, and the ticket sink is idempotent by ticket id as well.

TRICKY: Bolt acknowledges an event (200) before its listener runs, so Slack never redelivers
an event whose handling failed afterwards (a 429 that outlasted the client's retries, Slack
or the store down). An event is therefore recorded as handled only once its ticket is
accepted, and a failed handling is tried again here, after each of `SlackDeps.event_retry_s`
(a timer in this process: a restart before it fires loses that retry); a redelivery
Slack does send (our answer was late) is handled too while none has succeeded.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from app.slack.app import SlackDeps
from app.slack.listeners._decide import deps_of
from tools.slack import plain_text, slack_ticket_id, thread_messages, ticket_from_thread

log = logging.getLogger(__name__)

TICKET_REACTION = "ticket"
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
#: Ticket references a CS message may carry: a Sidekick id or a Zendesk agent URL.
_REFERENCE = re.compile(r"\b(zd-\d+|slack-[A-Z0-9]+-\d+\.\d+)\b|/agent/tickets/(\d+)")


def _retryable(exc: Exception) -> bool:
    """Whether trying again later may succeed (not a thread that does not exist)."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code if exc.response is not None else 0
        return status == 429 or status >= 500
    return isinstance(exc, OSError | OperationalError)


def handle_once(deps: SlackDeps, body: dict[str, Any], work: Callable[[], None], *,
                attempt: int = 0) -> None:
    """Run `work` for an event not handled yet, record it once `work` returned, else retry."""
    key = f"event:{body.get('event_id')}"
    try:
        if deps.seen.handled(key):
            return
        work()
        deps.seen.first_time(key)  # a failure here: tried again, the sink dedupes by id
    except Exception as exc:
        if not _retryable(exc) or attempt >= len(deps.event_retry_s):
            log.error("Slack event %s not handled (%s, attempt %d); no retry left", key,
                      type(exc).__name__, attempt + 1)
            raise
        delay = deps.event_retry_s[attempt]
        log.warning("Slack event %s failed (%s); trying again in %.0f s", key,
                    type(exc).__name__, delay)
        timer = threading.Timer(delay, handle_once, (deps, body, work), {"attempt": attempt + 1})
        timer.daemon = True
        timer.start()


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
    sink = deps.sink

    def make_ticket() -> None:
        ticket = ticket_from_thread(client, channel, thread_messages(client, channel, item["ts"]))
        org = deps.settings.slack_channel_orgs.get(channel)
        if org is not None:  # the customer this channel is shared with: name and plan
            ticket["organization"] = org.model_dump()
        log.info("Slack thread %s -> ticket %s", item["ts"], sink.accept(ticket))

    handle_once(deps, body, make_ticket)


def _thread_reply(deps: SlackDeps, event: dict[str, Any]) -> None:
    """A reply in a 🎫 ticket's thread joins its conversation (the bot's own posts do not).

    Who wrote it: in a Slack Connect channel the customer is from another workspace
    (`user_team` differs from `team`); someone of ours is a person at PostHog, whose
    public answer supersedes a waiting draft. Without those fields, the rotation decides.
    """
    from agent.conversation import Author, Message
    from app.service import UnknownTicket

    assert deps.conversation is not None
    team, user_team = event.get("team"), event.get("user_team")
    author: Author
    if team and user_team:
        author = "customer" if team != user_team else "hero"
    else:
        author = "hero" if event.get("user") in deps.heroes() else "customer"
    text = plain_text(event.get("text") or "").strip()
    if not text:
        return
    ticket_id = slack_ticket_id(event["channel"], event["thread_ts"])
    message = Message(id=f"slack:{event['channel']}:{event['ts']}", author=author, body=text,
                      public=True, created_at=_slack_time(event["ts"]))
    try:
        deps.conversation(ticket_id, message)
    except UnknownTicket:  # a thread nobody marked 🎫: not a ticket
        return


def _slack_time(ts: str) -> str | None:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError):
        return None


def message(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: Any
            ) -> None:
    """A 🎫 thread's reply joins its ticket; a CS message that mentions a hero escalates."""
    deps = deps_of(context)
    if event.get("subtype") or event.get("bot_id"):
        return
    thread = event.get("thread_ts")
    if thread and thread != event.get("ts") and deps.conversation is not None \
            and event.get("channel") != deps.settings.slack_cs_channel:
        handle_once(deps, body, lambda: _thread_reply(deps, event))
        return
    if event.get("channel") != deps.settings.slack_cs_channel:
        return
    mentioned = set(_MENTION.findall(event.get("text") or ""))
    heroes = deps.heroes()
    if not mentioned or (heroes and not mentioned & heroes):
        return
    handle_once(deps, body, lambda: _escalate(deps, client, event))


def _escalate(deps: SlackDeps, client: WebClient, event: dict[str, Any]) -> None:
    """Mark the tickets a CS message names as escalated, or make one of the message."""
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
