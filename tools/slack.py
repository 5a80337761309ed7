"""Slack's Web API through slack_sdk: the client factory and the few calls Sidekick makes.

Slack-sourced tickets carry their thread in the id (`slack-C123-1700000000.000100`), so the
delivery channel knows where to reply without a lookup. Replies Sidekick posts carry Slack
message metadata (`sidekick_delivery` with the idempotency key): a retry after a crash reads
the thread and finds the reply it already posted.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

ID_PREFIX = "slack-"
METADATA_EVENT = "sidekick_delivery"
_ID = re.compile(r"^slack-([A-Z0-9]+)-(\d+\.\d+)$")


def make_slack_client(settings: Any) -> WebClient:
    """A WebClient from process settings (`slack_bot_token`, `slack_api_url`)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if settings.slack_api_url:
        return WebClient(token=token, base_url=settings.slack_api_url)
    return WebClient(token=token)


def slack_ticket_id(channel: str, thread_ts: str) -> str:
    """The ticket id of a Slack thread."""
    return f"{ID_PREFIX}{channel}-{thread_ts}"


def parse_slack_ticket_id(ticket_id: str) -> tuple[str, str] | None:
    """`slack-C1-17.0001` -> (channel, thread_ts); None for other tickets."""
    match = _ID.match(ticket_id)
    return (match.group(1), match.group(2)) if match else None


def thread_messages(client: WebClient, channel: str, ts: str) -> list[dict[str, Any]]:
    """The whole thread `ts` belongs to (its root first), metadata included."""
    first = client.conversations_replies(channel=channel, ts=ts, include_all_metadata=True)
    messages = first["messages"]
    root_ts = messages[0].get("thread_ts") if messages else None
    if root_ts and root_ts != ts:  # `ts` is a reply: read its thread from the root
        messages = client.conversations_replies(
            channel=channel, ts=root_ts, include_all_metadata=True)["messages"]
    return messages


def user_name(client: WebClient, user_id: str | None) -> str | None:
    """A member's real name (or handle); None when unknown."""
    if not user_id:
        return None
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError:  # a deleted user, a guest from another workspace: no name
        return None
    profile = user.get("profile") or {}
    return profile.get("real_name") or user.get("real_name") or user.get("name")


def find_delivery(messages: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The message in `messages` that Sidekick posted under idempotency `key`, if any."""
    for msg in messages:
        metadata = msg.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT and \
                (metadata.get("event_payload") or {}).get("key") == key:
            return msg
    return None


def post_once(client: WebClient, channel: str, text: str, *, key: str,
              thread_ts: str | None = None, blocks: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    """Post `text` (in a thread) unless a message with this key is already there: channel, ts.

    A thread is read whole; for a top-level post the channel's latest 100 messages are read.
    """
    if thread_ts:
        recent = thread_messages(client, channel, thread_ts)
    else:
        recent = client.conversations_history(
            channel=channel, limit=100, include_all_metadata=True)["messages"]
    found = find_delivery(recent, key)
    if found is not None:
        return {"channel": channel, "ts": found["ts"], "already_posted": True}
    response = client.chat_postMessage(
        channel=channel, text=text, thread_ts=thread_ts, blocks=blocks,
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
        unfurl_links=False)
    return {"channel": channel, "ts": response["ts"], "already_posted": False}


def ticket_from_thread(client: WebClient, channel: str, messages: list[dict[str, Any]], *,
                       cs_escalated: bool = False) -> dict[str, Any]:
    """A Ticket-contract dict from a Slack thread (its root first); bots' messages left out."""
    root = messages[0]
    people = [m for m in messages if not m.get("bot_id") and m.get("subtype") is None] or [root]
    first_line = (root.get("text") or "").strip().splitlines() or [""]
    return {
        "id": slack_ticket_id(channel, root.get("thread_ts") or root["ts"]),
        "source": "slack",
        "subject": first_line[0][:200] or None,
        "body": "\n\n".join((m.get("text") or "").strip() for m in people) or None,
        "requester": {"name": user_name(client, root.get("user"))},
        "cs_escalated": cs_escalated,
        "tags": ["slack", f"channel:{channel}"],
    }
