"""End to end through `sidekick serve`'s app: Zendesk webhook → triage → Slack → click → once.

The real clients (zenpy, slack_sdk, httpx) talk to the local fake servers; the store and
checkpointer run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from db_fixtures import TOKEN, WEBHOOK_SECRET, runtime_of
from fakes.github_server import FakeGitHub
from fakes.slack_server import FakeSlack
from fakes.zendesk_server import FakeZendesk
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import HERO, SECRET, block_action, post_interaction, wait_for
from sqlalchemy.orm import Session

from app.api.main import create_app
from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign
from app.slack.blocks import APPROVE
from app.store import repo

SLACK_TOKEN = "xoxb-test"


@pytest.fixture
def world():
    with FakeZendesk() as zd, FakeGitHub() as gh, FakeSlack(SLACK_TOKEN) as slack:
        yield zd, gh, slack


def _webhook(client: TestClient, detail: dict) -> int:
    event = {"type": "zen:event-type:ticket.created", "account_id": 1, "id": "e1",
             "time": "2026-11-26T01:00:00Z", "zendesk_event_version": "2022-11-06",
             "subject": f"zen:ticket:{detail['id']}", "detail": detail, "event": {}}
    body = json.dumps(event).encode()
    stamp = "2026-11-26T01:00:00Z"
    return client.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, stamp, body), TIMESTAMP: stamp,
        "Content-Type": "application/json"}).status_code


def test_webhook_to_slack_click_to_one_zendesk_comment_and_one_issue(
        api_settings, warm_context, world):
    zd, gh, slack = world
    zd.add_user(5, "Ada Lovelace", "ada@example.com")
    zd.add_ticket(4900, subject="Session recordings are blank",
                  description="Every replay shows a blank screen.", requester_id=5)
    teams = warm_context.teams
    settings = api_settings.model_copy(update={
        "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
        "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
        "github_repo": gh.repo, "github_token": SecretStr(gh.token), "github_api_url": gh.url,
        "slack_bot_token": SecretStr(SLACK_TOKEN), "slack_signing_secret": SecretStr(SECRET),
        "slack_api_url": slack.api_url,
        "slack_team_channels": {t.slug: f"C{t.slug.upper().replace('-', '')}" for t in teams},
        "slack_rotation": {t.slug: [HERO] for t in teams},
    })
    app = create_app(settings, context=warm_context, start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert _webhook(client, {"id": "4900", "subject": "Session recordings are blank",
                                 "description": "Every replay shows a blank screen.",
                                 "requester_id": "5", "priority": "NORMAL"}) == 202
        assert runtime_of(client).worker.drain() == ["zd-4900"]
        [call] = slack.posted("chat.postMessage")
        [message] = slack.messages[call["channel"]]
        result = client.get("/drafts/zd-4900").json()
        assert result["issue"]["action"] == "create"
        for action_ts in ("9.1", "9.1", "9.2"):  # Slack's retry, then a double click
            response = post_interaction(client, block_action(
                APPROVE, "zd-4900", user=HERO, channel=call["channel"], ts=message["ts"],
                action_ts=action_ts))
            assert response.status_code == 200
        wait_for(lambda: client.get("/tickets/zd-4900").json()["status"] == "delivered")
        wait_for(lambda: slack.posted("chat.update"))
        [comment] = zd.posted_comments(4900)
        [issue] = gh.issues
        assert comment["public"] is True and issue["html_url"] in comment["body"]
        assert zd.tickets[4900]["status"] == result["draft"]["status_after"]
        ledger = runtime_of(client).outbox.deliveries("zd-4900")
        assert sum(d["key"].endswith(":done") for d in ledger) == 1
        with Session(runtime_of(client).engine) as session:
            assert [d.action for d in repo.decisions(session, "zd-4900")] == ["approve"]
        assert client.post("/drafts/zd-4900/approve", json={"version": 1}).status_code == 409
        assert len(zd.posted_comments(4900)) == 1


def test_a_reassign_through_the_api_replaces_the_slack_card(api_settings, warm_context, world):
    """The old card loses its buttons, the new card decides on version 2, and a click on
    the old one sends nothing."""
    from app.slack.blocks import parse_button_value

    _, _, slack = world
    teams = warm_context.teams
    settings = api_settings.model_copy(update={
        "slack_bot_token": SecretStr(SLACK_TOKEN), "slack_signing_secret": SecretStr(SECRET),
        "slack_api_url": slack.api_url,
        "slack_team_channels": {t.slug: f"C{t.slug.upper().replace('-', '')}" for t in teams},
        "slack_rotation": {t.slug: [HERO] for t in teams},
    })
    ticket = {"id": "e2e-ver", "source": "zendesk", "subject": "Session recordings are blank",
              "body": "Every replay shows a blank screen.", "requester": {"name": "Ada"}}

    def buttons(message: dict) -> list[tuple[str, int | None]]:
        return [parse_button_value(e["value"]) for b in message["blocks"]
                if b["type"] == "actions" for e in b["elements"]]

    app = create_app(settings, context=warm_context, start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert client.post("/tickets", json=ticket).status_code == 202
        runtime_of(client).worker.drain()
        [call] = slack.posted("chat.postMessage")
        [old] = slack.messages[call["channel"]]
        assert set(buttons(old)) == {("e2e-ver", 1)}
        team = "growth" if client.get("/drafts/e2e-ver").json()["team"] != "growth" else "pipeline"
        response = client.post("/drafts/e2e-ver/reassign", json={"team": team, "version": 1})
        assert response.status_code == 200, response.text
        assert buttons(old) == [] and "Replaced by draft version 2" in str(old["blocks"])
        [new] = [m for m in slack.messages[settings.slack_team_channels[team]] if buttons(m)]
        assert set(buttons(new)) == {("e2e-ver", 2)}
        post_interaction(client, block_action(APPROVE, "e2e-ver", user=HERO,
                                              channel=call["channel"], ts=old["ts"], version=1))
        [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
        assert "replaced by version 2" in note["text"]
        assert runtime_of(client).outbox.deliveries("e2e-ver") == []
        assert client.get("/tickets/e2e-ver").json()["status"] == "awaiting_review"


class _FailsOnce:
    """The engine, except that the first draft after `arm()` dies (a request killed mid-run)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.armed = inner, inner.name, False

    def arm(self) -> None:
        self.armed = True

    def classify(self, *args, **kwargs):
        return self.inner.classify(*args, **kwargs)

    def draft(self, request):
        if self.armed:
            self.armed = False
            raise RuntimeError("killed while re-drafting")
        return self.inner.draft(request)


def test_a_reassign_the_worker_finishes_replaces_the_slack_card(api_settings, warm_context,
                                                                world):
    from dataclasses import replace

    from app.slack.blocks import parse_button_value

    _, _, slack = world
    teams = warm_context.teams
    engine = _FailsOnce(warm_context.engine)
    settings = api_settings.model_copy(update={
        "slack_bot_token": SecretStr(SLACK_TOKEN), "slack_signing_secret": SecretStr(SECRET),
        "slack_api_url": slack.api_url,
        "slack_team_channels": {t.slug: f"C{t.slug.upper().replace('-', '')}" for t in teams},
    })
    ticket = {"id": "e2e-sweep", "source": "zendesk", "subject": "Session recordings are blank",
              "body": "Every replay shows a blank screen.", "requester": {"name": "Ada"}}
    app = create_app(settings, context=replace(warm_context, engine=engine),
                     start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert client.post("/tickets", json=ticket).status_code == 202
        worker = runtime_of(client).worker
        worker.drain()
        [call] = slack.posted("chat.postMessage")
        [old] = slack.messages[call["channel"]]
        before = client.get("/drafts/e2e-sweep").json()["team"]
        team = "growth" if before != "growth" else "pipeline"
        engine.arm()
        response = client.post("/drafts/e2e-sweep/reassign", json={"team": team, "version": 1})
        assert response.status_code == 502 and response.json()["status"] == "failed"
        # The client retries as the answer says; the worker's sweep finishes the re-draft.
        assert client.post(response.json()["retry"].split()[1]).status_code == 202
        assert worker.sweep() == ["e2e-sweep"]
        assert client.get("/drafts/e2e-sweep").json()["version"] == 2
        assert not [b for b in old["blocks"] if b["type"] == "actions"]
        [new] = [m for m in slack.messages[settings.slack_team_channels[team]]
                 if any(b["type"] == "actions" for b in m["blocks"])]
        values = {parse_button_value(e["value"]) for b in new["blocks"]
                  if b["type"] == "actions" for e in b["elements"]}
        assert values == {("e2e-sweep", 2)}
