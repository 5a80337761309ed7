"""Post a waiting draft to its team's Slack channel (the worker calls this after triage)."""

from __future__ import annotations

import hashlib
from typing import Any

from slack_sdk import WebClient

from app.service import TriageService
from app.settings import Settings
from app.slack.blocks import draft_message
from tools.slack import post_once


def draft_key(ticket_id: str, body: str) -> str:
    """One message per ticket and draft: a re-run of the worker finds the first one."""
    return f"{ticket_id}:draft:{hashlib.sha256(body.encode()).hexdigest()[:16]}"


def post_draft(client: WebClient, settings: Settings, service: TriageService, ticket_id: str
               ) -> dict[str, Any] | None:
    """Post the review message to the team's channel: channel and ts, None if it has none."""
    result = service.get(ticket_id).model_dump(mode="json")
    channel = settings.slack_team_channels.get(result["team"])
    if not channel or result.get("status") != "awaiting_review":
        return None
    ticket = service.state(ticket_id)["ticket"].model_dump(mode="json")
    text, blocks = draft_message(result, ticket)
    return post_once(client, channel, text, blocks=blocks, plain=False,  # blocks.py escaped it
                     key=draft_key(ticket_id, result["draft"]["body"]))
