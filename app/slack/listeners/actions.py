"""Button clicks on a review message: Approve & send, Edit, Reassign, Reject."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.slack.blocks import (
    APPROVE,
    EDIT,
    REASSIGN,
    REJECT,
    edit_modal,
    parse_button_value,
    reassign_modal,
    reject_modal,
)
from app.slack.listeners._decide import allowed, apply_decision, deps_of, fresh

log = logging.getLogger(__name__)


def _where(body: dict[str, Any]) -> tuple[str, int | None, str, str, str]:
    """(ticket id, draft version, user, channel, message ts) of a block action."""
    container = body.get("container") or {}
    ticket_id, version = parse_button_value(body["actions"][0]["value"])
    return (ticket_id, version, body["user"]["id"],
            container.get("channel_id") or body["channel"]["id"],
            container.get("message_ts") or body["message"]["ts"])


def _may_open(context: Any, client: WebClient, where: tuple[str, int | None, str, str, str]
              ) -> bool:
    """Whether to open a decision modal: the user may decide, on the waiting version."""
    tid, version, user, channel, ts = where
    deps = deps_of(context)
    return (allowed(deps, client, ticket_id=tid, user=user, channel=channel)
            and fresh(deps, client, ticket_id=tid, version=version, user=user,
                      channel=channel, ts=ts))


def _first_click(context: Any, body: dict[str, Any]) -> bool:
    """False for a delivery of a click already handled (a retry of the same request)."""
    action = body["actions"][0]
    return deps_of(context).seen.first_time(f"action:{action['action_id']}:{action['action_ts']}")


def approve(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Approve & send: the draft goes out as it is."""
    ack()
    if _first_click(context, body):
        tid, version, user, channel, ts = _where(body)
        apply_decision(deps_of(context), client, ticket_id=tid, user=user, channel=channel,
                       ts=ts, action="approve", version=version)


def reject(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Reject: open a modal asking why; its submission (views.py) rejects, sending nothing."""
    ack()
    where = tid, version, _, channel, ts = _where(body)
    if _may_open(context, client, where):
        client.views_open(trigger_id=body["trigger_id"],
                          view=reject_modal(tid, channel=channel, ts=ts, version=version or 1))


def edit(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Edit: open a modal with the draft; its submission is handled in views.py."""
    ack()
    deps = deps_of(context)
    where = tid, version, _, channel, ts = _where(body)
    if _may_open(context, client, where):
        draft = deps.service.get(tid).draft.body
        client.views_open(trigger_id=body["trigger_id"],
                          view=edit_modal(tid, draft, channel=channel, ts=ts,
                                          version=version or 1))


def reassign(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Reassign: open a team picker; its submission is handled in views.py."""
    ack()
    deps = deps_of(context)
    where = tid, version, _, channel, ts = _where(body)
    if _may_open(context, client, where):
        current = deps.service.get(tid).team
        teams = [(t.slug, t.name) for t in deps.teams]
        client.views_open(trigger_id=body["trigger_id"],
                          view=reassign_modal(tid, teams, current=current, channel=channel,
                                              ts=ts, version=version or 1))


def register(app: App) -> None:
    """Attach the button listeners."""
    app.action(APPROVE)(approve)
    app.action(REJECT)(reject)
    app.action(EDIT)(edit)
    app.action(REASSIGN)(reassign)
