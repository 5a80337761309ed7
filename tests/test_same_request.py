"""The same request twice: a 🎫 thread and the Zendesk ticket Pylon made of it are one ticket.

The 🎫 thread arrives through the Slack app's sink, the Pylon-made ticket through the signed
webhook (read from the local fake Zendesk): matched by the thread's permalink, or by the
same requester with nearly the same words, they give one draft, and the first ticket
records the second's channel. A different requester, or other words, stays two tickets.
"""

from __future__ import annotations

import json

import pytest
from db_fixtures import TOKEN, WEBHOOK_SECRET
from fakes.zendesk_server import FakeZendesk
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.api.main import create_app
from app.api.origin import SlackIntake
from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign
from app.store import repo

THREAD = "1764000000.123456"
PERMALINK = "https://acme-corp.slack.com/archives/CACME/p1764000000123456"
TEXT = "Our feature flags stopped evaluating on the checkout page since this morning's deploy"


@pytest.fixture
def world(api_settings, warm_context):
    with FakeZendesk() as zd:
        zd.add_organization(7, "Acme", plan="enterprise")
        zd.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        zd.add_user(6, "Grace Hopper", "grace@example.com", 7)
        settings = api_settings.model_copy(update={
            "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
            "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
            "zendesk_max_retries": 0})
        app = create_app(settings, context=warm_context, start_worker=False)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client, zd


def _thread(client, *, name="Ada Lovelace", text=TEXT, ts=THREAD) -> str:
    return SlackIntake(client.app.state.desk).accept({
        "id": f"slack-CACME-{ts}", "source": "slack", "subject": text[:60], "body": text,
        "requester": {"name": name}, "tags": ["slack", "channel:CACME"]})


def _webhook(client, zd, tid: int, description: str, requester: int = 5):
    zd.add_ticket(tid, subject="Feature flags stopped evaluating", description=description,
                  requester_id=requester, priority="high", via="api")
    body = json.dumps({"type": "zen:event-type:ticket.created", "id": f"e{tid}",
                       "detail": {"id": str(tid), "subject": "x", "description": "x"}}).encode()
    return client.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, "t", body), TIMESTAMP: "t",
        "Content-Type": "application/json"})


def _row(client, ticket_id):
    with client.app.state.desk.sessions() as session:
        row = repo.get_ticket(session, ticket_id)
        return (row.status, dict(row.payload)) if row else (None, {})


def test_a_pylon_ticket_with_the_threads_permalink_is_the_same_ticket(world):
    client, zd = world
    slack_id = _thread(client)
    # Pylon's words differ from the thread's; the permalink is what matches them.
    response = _webhook(client, zd, 6100, f"Slack thread: {PERMALINK}\n\nFlags broken.")
    assert response.status_code == 202
    assert client.app.state.runtime.worker.drain() == [slack_id]  # one draft
    assert client.get(f"/drafts/{slack_id}").status_code == 200
    assert client.get("/drafts/zd-6100").status_code == 404
    status, merged = _row(client, "zd-6100")
    assert status == "merged" and merged["merged_into"] == slack_id
    _, first = _row(client, slack_id)
    assert first["origin"] == {"channel": "slack", "slack_channel": "CACME",
                               "thread_ts": THREAD}
    assert first["attached"] == [{"channel": "zendesk", "zendesk_id": 6100,
                                  "ticket_id": "zd-6100"}]
    # Zendesk's redelivery adds nothing, and the queue shows one ticket.
    assert _webhook(client, zd, 6100, "again").json()["duplicate"] is True
    assert [t["id"] for t in client.get("/queue").json()] == [slack_id]


def test_the_same_requester_with_nearly_the_same_words_is_the_same_ticket(world):
    client, zd = world
    assert _webhook(client, zd, 6200, f"{TEXT}.\n\nSent from Slack").status_code == 202
    slack_id = _thread(client, text=TEXT + " — please help")
    assert client.app.state.runtime.worker.drain() == ["zd-6200"]
    assert _row(client, slack_id)[0] == "merged"
    assert _row(client, "zd-6200")[1]["attached"][0]["ticket_id"] == slack_id


@pytest.mark.parametrize("other", [
    {"name": "Grace Hopper"},  # someone else with the same words
    {"text": "Can we get SAML SSO on the teams plan, and what does it cost per seat?"},
])
def test_another_requester_or_other_words_stay_two_tickets(world, other):
    client, zd = world
    assert _webhook(client, zd, 6300, TEXT).status_code == 202
    slack_id = _thread(client, **other)
    assert sorted(client.app.state.runtime.worker.drain()) == sorted(["zd-6300", slack_id])
