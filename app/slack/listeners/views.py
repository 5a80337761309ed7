"""Modal submissions: the edited draft, the chosen team, the reason for a rejection."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.slack.blocks import (
    DRAFT_INPUT,
    EDIT_VIEW,
    REASON_INPUT,
    REASSIGN_VIEW,
    REJECT_VIEW,
    TEAM_INPUT,
)
from app.slack.listeners._decide import apply_decision, deps_of


def _value(view: dict[str, Any], block: str) -> Any:
    element = view["state"]["values"][block][block]
    return element.get("value") or (element.get("selected_option") or {}).get("value")


#: The reason recorded when the hero leaves the reject modal's text empty.
NO_REASON = "no reason given"


def _decide_once(payload: dict[str, Any], view: dict[str, Any], client: WebClient,
                 context: Any, **decision: Any) -> None:
    """Apply the modal's decision to the ticket in its metadata (a resubmission: nothing)."""
    deps = deps_of(context)
    if not deps.seen.first_time(f"view:{view['id']}"):
        return
    meta = json.loads(view["private_metadata"])
    # A modal opened before cards carried a version has none: refused as stale.
    version = meta.get("version") if isinstance(meta.get("version"), int) else None
    apply_decision(deps, client, ticket_id=meta["ticket_id"], user=payload["user"]["id"],
                   channel=meta["channel"], ts=meta["ts"], version=version, **decision)


def edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                   context: Any) -> None:
    """Send the edited draft."""
    text = (_value(view, DRAFT_INPUT) or "").strip()
    if not text:
        ack(response_action="errors", errors={DRAFT_INPUT: "The reply can't be empty."})
        return
    ack()
    _decide_once(body, view, client, context, action="edit", body=text)


def reassign_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                       context: Any) -> None:
    """Send the ticket back through retrieval and drafting for the chosen team."""
    ack()
    _decide_once(body, view, client, context, action="reassign", team=_value(view, TEAM_INPUT))


def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     context: Any) -> None:
    """Reject the draft (nothing is sent) and record why."""
    ack()
    reason = (_value(view, REASON_INPUT) or "").strip() or NO_REASON
    _decide_once(body, view, client, context, action="reject", reason=reason)


def register(app: App) -> None:
    """Attach the modal listeners."""
    app.view(EDIT_VIEW)(edit_submitted)
    app.view(REASSIGN_VIEW)(reassign_submitted)
    app.view(REJECT_VIEW)(reject_submitted)
