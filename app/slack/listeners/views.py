"""Modal submissions: the edited draft, the chosen team."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.slack.blocks import DRAFT_INPUT, EDIT_VIEW, REASSIGN_VIEW, TEAM_INPUT
from app.slack.listeners._decide import apply_decision, deps_of


def _value(view: dict[str, Any], block: str) -> Any:
    element = view["state"]["values"][block][block]
    return element.get("value") or (element.get("selected_option") or {}).get("value")


def edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                   context: Any) -> None:
    """Send the edited draft."""
    text = (_value(view, DRAFT_INPUT) or "").strip()
    if not text:
        ack(response_action="errors", errors={DRAFT_INPUT: "The reply can't be empty."})
        return
    ack()
    deps = deps_of(context)
    if not deps.seen.first_time(f"view:{view['id']}"):
        return
    meta = json.loads(view["private_metadata"])
    apply_decision(deps, client, ticket_id=meta["ticket_id"], user=body["user"]["id"],
                   channel=meta["channel"], ts=meta["ts"], action="edit", body=text)


def reassign_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                       context: Any) -> None:
    """Send the ticket back through retrieval and drafting for the chosen team."""
    ack()
    deps = deps_of(context)
    if not deps.seen.first_time(f"view:{view['id']}"):
        return
    meta = json.loads(view["private_metadata"])
    apply_decision(deps, client, ticket_id=meta["ticket_id"], user=body["user"]["id"],
                   channel=meta["channel"], ts=meta["ts"], action="reassign",
                   team=_value(view, TEAM_INPUT))


def register(app: App) -> None:
    """Attach the modal listeners."""
    app.view(EDIT_VIEW)(edit_submitted)
    app.view(REASSIGN_VIEW)(reassign_submitted)
