"""Shared pieces of the Slack tests: a real service, the fake Web API, signed requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from fakes.slack_server import FakeSlack, interaction_body, sign

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"
HERO, STRANGER, CS = "UHERO", "USTRANGER", "UCS"


class SpyService:
    """The real TriageService, counting decisions."""

    def __init__(self, service: Any) -> None:
        self._service = service
        self.decisions: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def decide(self, ticket_id: str, decision: Any) -> Any:
        with self._lock:
            self.decisions.append((ticket_id, decision))
        return self._service.decide(ticket_id, decision)


class StubService:
    """One waiting draft and what a decision does to it, without the graph (fast tests)."""

    def __init__(self, result: Any, ticket: Any) -> None:
        from agent.teams import load_teams

        self.result, self.ticket = result, ticket
        self.decisions: list[Any] = []
        self.delivery: dict[str, Any] = {}
        self.context = type("Context", (), {"teams": load_teams()})()

    def get(self, ticket_id: str) -> Any:
        if ticket_id != self.result.ticket_id:
            from app.service import UnknownTicket

            raise UnknownTicket(ticket_id)
        return self.result

    def state(self, ticket_id: str) -> dict[str, Any]:
        return {"ticket": self.ticket, "delivery": self.delivery}

    def decide(self, ticket_id: str, decision: Any) -> Any:
        self.decisions.append(decision)
        if decision.action in ("approve", "edit"):
            self.delivery = {"body": decision.body or self.result.draft.body}
        status = {"reject": "rejected", "reassign": "awaiting_review"}.get(decision.action,
                                                                            "delivered")
        self.result = self.result.model_copy(update={"status": status})
        return self.result


class RecordingSink:
    """A TicketSink (and EscalationSink) that keeps what it was given, one per id."""

    def __init__(self) -> None:
        self.tickets: dict[str, dict[str, Any]] = {}
        self.accepted: list[str] = []
        self.escalated: list[str] = []

    def accept(self, ticket: dict[str, Any]) -> str:
        self.accepted.append(ticket["id"])
        self.tickets.setdefault(ticket["id"], ticket)
        return ticket["id"]

    def escalate(self, ticket_id: str, *, by: str) -> bool:
        self.escalated.append(ticket_id)
        return True


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until `predicate()` is truthy (the listeners run after the ack)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the Slack listener")


def block_action(action_id: str, ticket_id: str, *, user: str, channel: str, ts: str,
                 action_ts: str = "1700000100.000001", version: int | None = 1
                 ) -> dict[str, Any]:
    """An interactive `block_actions` payload shaped as Slack sends it.

    The button's value names the draft version (None: a card from before versions, whose
    value was the bare ticket id).
    """
    from app.slack.blocks import button_value

    value = ticket_id if version is None else button_value(ticket_id, version)
    return {
        "type": "block_actions", "api_app_id": "A1", "token": "legacy-token",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                      "is_ephemeral": False},
        "trigger_id": "123.456.abc", "channel": {"id": channel, "name": "support"},
        "message": {"type": "message", "ts": ts, "text": "draft", "user": "UBOT"},
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "sidekick_decision",
                     "value": value, "action_ts": action_ts,
                     "text": {"type": "plain_text", "text": action_id}}],
    }


def view_submission(callback_id: str, meta: dict[str, Any], values: dict[str, Any], *,
                    user: str, view_id: str = "V1") -> dict[str, Any]:
    """A `view_submission` payload."""
    return {"type": "view_submission", "api_app_id": "A1", "team": {"id": "T1"},
            "user": {"id": user, "name": user.lower(), "team_id": "T1"}, "trigger_id": "1.2.3",
            "view": {"id": view_id, "type": "modal", "callback_id": callback_id, "hash": "h1",
                     "team_id": "T1", "app_id": "A1", "bot_id": "B1",
                     "private_metadata": json.dumps(meta), "state": {"values": values}}}


def event_callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """An Events API `event_callback` envelope."""
    return {"token": "legacy-token", "team_id": "T1", "api_app_id": "A1", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": 1700000000,
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]}


def post_interaction(client: Any, payload: dict[str, Any], *, secret: str = SECRET) -> Any:
    body = interaction_body(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(secret, body)}
    return client.post("/slack/events", content=body, headers=headers)


def post_event(client: Any, envelope: dict[str, Any], *, retry: int | None = None) -> Any:
    body = json.dumps(envelope)
    headers = {"Content-Type": "application/json", **sign(SECRET, body)}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return client.post("/slack/events", content=body, headers=headers)


__all__ = ["FakeSlack"]
