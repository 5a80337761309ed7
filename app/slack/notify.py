"""Post a waiting draft to its team's Slack channel (the worker calls this after triage).

One card per draft version: when a newer draft replaces the one a card shows (a
reassignment), the old card is updated to say so and loses its buttons.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from slack_sdk import WebClient

from app.service import TriageService
from app.settings import Settings
from app.slack.blocks import draft_message, replaced_message, superseded_message
from tools.slack import METADATA_EVENT, post_once


def draft_key(ticket_id: str, body: str, version: int = 1) -> str:
    """One message per ticket and draft version: a re-run of the worker finds the first one."""
    return f"{ticket_id}:draft:v{version}:{hashlib.sha256(body.encode()).hexdigest()[:16]}"


def _card_version(ticket_id: str, key: str) -> int | None:
    """The draft version of a card's key for this ticket (1 for a card from before versions)."""
    match = re.fullmatch(re.escape(ticket_id) + r":draft:(?:v(\d+):)?[0-9a-f]{16}", key)
    if match is None:
        return None
    return int(match.group(1) or 1)


def post_draft(client: WebClient, settings: Settings, service: TriageService, ticket_id: str
               ) -> dict[str, Any] | None:
    """Post the review message to the team's channel: channel and ts, None if it has none.

    Then every older card of the ticket in the team channels says it was replaced.
    """
    result = service.get(ticket_id).model_dump(mode="json")
    channel = settings.slack_team_channels.get(result["team"])
    if result.get("status") == "superseded":  # a person answered outside Sidekick
        replace_old_cards(client, settings, service, ticket_id, superseded=True)
        return None
    if not channel or result.get("status") != "awaiting_review":
        return None
    ticket = service.state(ticket_id)["ticket"].model_dump(mode="json")
    text, blocks = draft_message(result, ticket)
    posted = post_once(client, channel, text, blocks=blocks, plain=False,  # blocks.py escaped it
                       key=draft_key(ticket_id, result["draft"]["body"], result["version"]))
    if result["version"] > 1:
        replace_old_cards(client, settings, service, ticket_id, where=channel)
    return posted


def _redraft_detail(service: TriageService, ticket_id: str) -> str | None:
    """Why the draft was replaced, from the decision that did it (a reassignment)."""
    decision = service.state(ticket_id).get("decision") or {}
    if decision.get("action") != "reassign":
        return None
    by = str(decision.get("by") or "someone")
    who = f"<@{by.removeprefix('slack:')}>" if by.startswith("slack:") else by
    return f"reassigned to {decision.get('team')} by {who}"


def replace_card(client: WebClient, service: TriageService, ticket_id: str, *, channel: str,
                 ts: str, shown: int | None, where: str | None = None) -> None:
    """Turn one card showing draft `shown` into "replaced by version N", without buttons."""
    result = service.get(ticket_id).model_dump(mode="json")
    ticket = service.state(ticket_id)["ticket"].model_dump(mode="json")
    text, blocks = replaced_message(result, ticket, shown=shown, where=where,
                                    detail=_redraft_detail(service, ticket_id))
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def replace_old_cards(client: WebClient, settings: Settings, service: TriageService,
                      ticket_id: str, *, where: str | None = None,
                      superseded: bool = False) -> int:
    """Mark every card of an older draft version of this ticket as replaced; how many.

    `superseded`: the current draft too was made moot (a person answered outside
    Sidekick): every card with buttons says so, and none is left to decide on.

    TRICKY: the cards are found as `post_once` finds its own, by the key in their message
    metadata among each team channel's latest 100 messages (the old card may be in the
    old team's channel). One older than that keeps its buttons, but a click on it is
    refused as stale, and that refusal replaces it too (`listeners/_decide.py`).
    """
    current = service.get(ticket_id).version
    replaced = 0
    for channel in dict.fromkeys(settings.slack_team_channels.values()):
        history = client.conversations_history(channel=channel, limit=100,
                                               include_all_metadata=True)["messages"]
        for msg in history:
            metadata = msg.get("metadata") or {}
            key = (metadata.get("event_payload") or {}).get("key") or ""
            shown = _card_version(ticket_id, key) if metadata.get(
                "event_type") == METADATA_EVENT else None
            has_buttons = any(b.get("type") == "actions" for b in msg.get("blocks") or [])
            if shown is None or not has_buttons:
                continue
            if superseded and shown <= current:
                result = service.get(ticket_id).model_dump(mode="json")
                ticket = service.state(ticket_id)["ticket"].model_dump(mode="json")
                text, blocks = superseded_message(result, ticket, shown=shown)
                client.chat_update(channel=channel, ts=msg["ts"], text=text, blocks=blocks)
                replaced += 1
            elif shown < current:
                replace_card(client, service, ticket_id, channel=channel, ts=msg["ts"],
                             shown=shown, where=where)
                replaced += 1
    return replaced
