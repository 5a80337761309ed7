"""Ticket ids follow one pattern, and the delivery target is where the ticket came from.

An API client chooses its ids; an id shaped like `zd-123` or `slack-C1-1.2` must not choose
the Zendesk ticket or the Slack thread an approved reply is posted to. Replies go through
the real clients (zenpy, slack_sdk) to the local fake Zendesk and Slack.
"""

from __future__ import annotations

import pytest
from db_fixtures import TOKEN, runtime_of
from fakes.slack_server import FakeSlack
from fakes.zendesk_server import FakeZendesk
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import SECRET
from slack_helpers import TOKEN as SLACK_TOKEN
from sqlalchemy import insert

from agent.models import Ticket
from app.api.main import create_app
from app.api.origin import SlackIntake
from app.store.models import TicketRow, utcnow

SUBJECT, BODY = "Session recordings are blank", "Every replay shows a blank screen since Monday."


@pytest.fixture
def world():
    with FakeZendesk() as zd, FakeSlack(SLACK_TOKEN) as slack:
        zd.add_user(5, "Ada Lovelace", "ada@example.com")
        zd.add_ticket(4900, subject=SUBJECT, description=BODY, requester_id=5)
        yield zd, slack


@pytest.fixture
def client(api_settings, warm_context, world):
    zd, slack = world
    settings = api_settings.model_copy(update={
        "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
        "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
        "slack_bot_token": SecretStr(SLACK_TOKEN), "slack_signing_secret": SecretStr(SECRET),
        "slack_api_url": slack.api_url,
    })
    app = create_app(settings, context=warm_context, start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def _approve(client, ticket_id: str) -> dict:
    assert runtime_of(client).worker.drain() == [ticket_id]
    response = client.post(f"/drafts/{ticket_id}/approve", json={"by": "hero", "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"
    return response.json()


@pytest.mark.parametrize("ticket_id", ["zd-4900", "slack-C1-1.2"])
def test_an_api_ticket_id_never_chooses_where_the_reply_is_posted(client, world, ticket_id):
    zd, slack = world
    ticket = {"id": ticket_id, "source": "zendesk", "subject": SUBJECT, "body": BODY}
    assert client.post("/tickets", json=ticket).status_code == 202
    _approve(client, ticket_id)
    assert zd.posted_comments(4900) == []
    assert zd.tickets[4900].get("status") != "solved"
    assert slack.messages.get("C1", []) == []
    # The reply is recorded by the API's own ledger: the client reads it from there.
    assert [d["ticket_id"] for d in runtime_of(client).outbox.deliveries()
            if d["key"].endswith(":done")] == [ticket_id]


def test_a_slack_ticket_is_answered_in_its_own_thread(client, world):
    _, slack = world
    root = slack.post("C1", BODY, user="UCUST")
    ticket_id = f"slack-C1-{root}"
    # What the 🎫 listener hands its sink (tools.slack.ticket_from_thread's shape).
    SlackIntake(runtime_of(client).desk).accept({
        "id": ticket_id, "source": "slack", "subject": SUBJECT, "body": BODY,
        "requester": {"name": "Grace Hopper"}})
    _approve(client, ticket_id)
    [_, reply] = slack.messages["C1"]
    assert reply["thread_ts"] == root and reply["text"].startswith("Hey Grace,")


def test_a_slack_ticket_whose_ts_is_not_a_timestamp_is_refused(client):
    with pytest.raises(ValueError, match="not a Slack thread"):
        SlackIntake(runtime_of(client).desk).accept(
            {"id": "slack-C1-notats", "source": "slack", "subject": SUBJECT, "body": BODY})
    assert client.get("/tickets/slack-C1-notats").status_code == 404


@pytest.mark.parametrize("bad", ["a/b", "../x", "", " ", "-x", "x y", "x" * 129, "é"])
def test_ids_outside_the_pattern_are_422_naming_id(api, bad):
    response = api.post("/tickets", json={"id": bad, "subject": SUBJECT, "body": BODY})
    assert response.status_code == 422
    assert ["body", "id"] in [e["loc"] for e in response.json()["detail"]]


def test_ids_inside_the_pattern_are_accepted(api):
    for good in ("zd-1", "a", "T.2026:11-x_1", 4812, "x" * 128):
        response = api.post("/tickets", json={"id": good, "subject": SUBJECT, "body": BODY})
        assert response.status_code == 202, (good, response.text)
    assert api.get("/tickets/4812").json()["status"] == "accepted"


def test_a_zendesk_ticket_accepted_before_origins_were_recorded_is_still_answered(
        client, world):
    zd, _ = world
    desk = runtime_of(client).desk
    old = Ticket(id="zd-4900", source="zendesk", subject=SUBJECT, body=BODY)
    with desk.sessions.begin() as session:  # a row as the previous version stored it
        session.execute(insert(TicketRow).values(
            id=old.id, source=old.source, payload=old.model_dump(mode="json"),
            status="accepted", priority="normal", received_at=utcnow(), moved_at=utcnow()))
    assert desk.origin("zd-4900") == {"channel": "zendesk", "zendesk_id": 4900}
    _approve(client, "zd-4900")
    assert len(zd.posted_comments(4900)) == 1
