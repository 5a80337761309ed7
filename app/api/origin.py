"""Where a ticket came from, recorded at intake: the only source of its delivery target.

The surface that accepts a ticket records its origin in the ticket row's JSON payload
(`payload["origin"]`, no migration): the signed Zendesk webhook and the view poller record
the Zendesk ticket, the Slack app the channel and thread, and `POST /tickets` (whatever id
the client chose) the API itself, so its approved reply is only recorded in the ledger.
`tools.channels.ChannelOutbox` asks for it by ticket id (`Desk.origin`).

TRICKY: the shape of an id (`zd-123`, `slack-C1-1.2`) never chooses a target: an API client
picks its ids, so it could otherwise choose which Zendesk ticket or Slack thread an
approved reply is posted to.
"""

from __future__ import annotations

from typing import Any

from agent.models import Ticket

KEY = "origin"

#: `POST /tickets` and anything else without a channel of its own: the ledger only.
API: dict[str, Any] = {"channel": "api"}


def zendesk(zendesk_id: int) -> dict[str, Any]:
    """A ticket the Zendesk webhook or the view poller accepted."""
    return {"channel": "zendesk", "zendesk_id": int(zendesk_id)}


def slack(channel: str, thread_ts: str) -> dict[str, Any]:
    """A 🎫 thread (or a CS message) the Slack app accepted."""
    return {"channel": "slack", "slack_channel": channel, "thread_ts": thread_ts}


def recorded(payload: dict[str, Any]) -> dict[str, Any]:
    """The origin a stored ticket's payload holds.

    TRICKY: a row accepted before origins were recorded has none; it is read from its id
    only when its source agrees (a `zd-N` from Zendesk, a Slack thread id from Slack), so a
    ticket waiting across the upgrade is still answered where it came from. Every row
    accepted since has its origin, and the API records its own.
    """
    if KEY in payload:
        return dict(payload[KEY] or API)
    from tools.slack import parse_slack_ticket_id
    from tools.zendesk import zendesk_id

    ticket_id, source = str(payload.get("id", "")), payload.get("source")
    zid, thread = zendesk_id(ticket_id), parse_slack_ticket_id(ticket_id)
    if source == "zendesk" and zid is not None:
        return zendesk(zid)
    if source == "slack" and thread is not None:
        return slack(*thread)
    return dict(API)


class SlackIntake:
    """The Slack app's ticket sink: validates as an integration, records the thread."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk

    def accept(self, ticket: dict[str, Any]) -> str:
        """Accept a ticket the Slack listeners built from a real event; its id."""
        from tools.slack import parse_slack_ticket_id

        model = Ticket.from_integration(ticket)
        # The id was made by the listener from the event's channel and thread ts (never by a
        # client), so reading the thread back from it is reading the event.
        thread = parse_slack_ticket_id(model.id)
        if thread is None:
            raise ValueError(f"ticket id {model.id!r} is not a Slack thread (channel-ts)")
        self.desk.accept(model, origin=slack(*thread))
        return model.id
