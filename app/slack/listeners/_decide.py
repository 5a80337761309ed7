"""The decision flow shared by buttons and modals: check the rotation, decide, update."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_sdk import WebClient

from agent.decisions import Decision, StaleDraft
from app.service import NotAwaitingReview, UnknownTicket
from app.slack.app import SlackDeps
from app.slack.blocks import decided_message
from app.slack.notify import post_draft, replace_card
from tools.slack import escape

log = logging.getLogger(__name__)


def deps_of(context: Any) -> SlackDeps:
    """The SlackDeps the app's middleware put in the context."""
    return context["sidekick"]


#: What a person who may not decide is told when no rotation names anyone for the team.
NO_ROTATION = ("Nobody can decide on {team} drafts from Slack yet: no rotation is configured "
               "for {team}. Set SIDEKICK_SLACK_ROTATION to the team's Slack user ids, e.g. "
               '{{"{team}": ["U0123ABCD"]}}, and restart Sidekick.')


def tell(client: WebClient, channel: str, user: str, text: str) -> None:
    """An ephemeral message only `user` sees (its mrkdwn escaped by the caller)."""
    client.chat_postEphemeral(channel=channel, user=user, text=text)


def allowed(deps: SlackDeps, client: WebClient, *, ticket_id: str, user: str, channel: str
            ) -> bool:
    """Whether `user` is on the rotation of the ticket's team (else tell them)."""
    try:
        team = deps.service.get(ticket_id).team
    except UnknownTicket:
        tell(client, channel, user, f"Sidekick has no ticket {escape(ticket_id)}.")
        return False
    if deps.may_decide(team, user):
        return True
    if not deps.settings.slack_rotation.get(team):
        tell(client, channel, user, NO_ROTATION.format(team=escape(team)))
        return False
    tell(client, channel, user, f"You're not on the {escape(team)} rotation, so you can't "
                                f"decide on {escape(ticket_id)}. Ask this week's support hero.")
    return False


def stale(deps: SlackDeps, client: WebClient, *, ticket_id: str, user: str, channel: str,
          ts: str, shown: int | None) -> None:
    """A click on a card whose draft was replaced: say so, replace the card, show the new one.

    `shown` is None for a card posted before cards carried a version.
    """
    posted = post_draft(client, deps.settings, deps.service, ticket_id)
    if not posted or (posted["channel"], posted["ts"]) != (channel, ts):  # not the new card
        replace_card(client, deps.service, ticket_id, channel=channel, ts=ts, shown=shown,
                     where=posted["channel"] if posted else None)
    current = deps.service.get(ticket_id).version
    tell(client, channel, user, f"This draft was replaced by version {current}; see the "
                                "updated card. Nothing was sent.")


def fresh(deps: SlackDeps, client: WebClient, *, ticket_id: str, version: int | None,
          user: str, channel: str, ts: str) -> bool:
    """Whether the card's draft version is the waiting one (else `stale` handles the click)."""
    if version is not None and version == deps.service.get(ticket_id).version:
        return True
    stale(deps, client, ticket_id=ticket_id, user=user, channel=channel, ts=ts, shown=version)
    return False


def apply_decision(deps: SlackDeps, client: WebClient, *, ticket_id: str, user: str,
                   channel: str, ts: str, **decision: Any) -> bool:
    """Resume the ticket's thread once, on the card's draft version, and show the outcome."""
    if not allowed(deps, client, ticket_id=ticket_id, user=user, channel=channel):
        return False
    action, version = decision["action"], decision.get("version")
    with deps.ticket_lock(ticket_id):
        try:
            if version is None:  # a card from before versions: it cannot say what it shows
                waiting = deps.service.get(ticket_id)
                if waiting.status != "awaiting_review":
                    raise NotAwaitingReview(ticket_id)
                raise StaleDraft(ticket_id, 0, waiting.version)
            decide = deps.decide or deps.service.decide
            result = decide(ticket_id, Decision(by=f"slack:{user}", **decision))
        except StaleDraft:
            stale(deps, client, ticket_id=ticket_id, user=user, channel=channel, ts=ts,
                  shown=version)
            return False
        except NotAwaitingReview:
            tell(client, channel, user, f"{escape(ticket_id)} was already decided on; nothing "
                                        "was sent again.")
            return False
        except (UnknownTicket, ValueError, ValidationError) as exc:
            tell(client, channel, user, f"Could not {action} {escape(ticket_id)}: "
                                        f"{escape(exc)}")
            return False
    state = deps.service.state(ticket_id)
    res = result.model_dump(mode="json")
    delivery = state.get("delivery") or {}
    sent = delivery.get("body") or (res["draft"]["body"] if action in ("approve", "edit")
                                     else None)
    if action == "reassign":  # a new version: its card, and this one says it was replaced
        posted = post_draft(client, deps.settings, deps.service, ticket_id)
        replace_card(client, deps.service, ticket_id, channel=channel, ts=ts,
                     shown=version, where=posted["channel"] if posted else None)
        return True
    detail = {"reject": decision.get("reason")}.get(action)
    text, blocks = decided_message(res, state["ticket"].model_dump(mode="json"), action=action,
                                   user_id=user, sent=sent, detail=detail)
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    return True
