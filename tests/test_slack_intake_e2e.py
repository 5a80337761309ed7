"""A 🎫 thread end to end: Slack's event, the Bolt app, the store and the worker, then the
Zendesk ticket Pylon makes of the same thread through the signed webhook.

Against the local fake Slack and fake Zendesk: the thread's draft is high priority (no plan
known, the newer handbook page), a mapped customer channel gives its organization and plan
(which then decides),
and the Pylon-made Zendesk ticket that links the thread is the same ticket (one draft).
"""

from __future__ import annotations

import json

from db_fixtures import TOKEN, WEBHOOK_SECRET
from fakes.slack_server import FakeSlack
from fakes.zendesk_server import FakeZendesk
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import CS, SECRET, event_callback, post_event, wait_for
from slack_helpers import TOKEN as SLACK_TOKEN

from app.api.main import create_app
from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign
from app.settings import ChannelOrg
from app.store import repo


def _reaction(channel: str, ts: str, event_id: str) -> dict:
    return event_callback({"type": "reaction_added", "user": CS, "reaction": "ticket",
                           "item": {"type": "message", "channel": channel, "ts": ts},
                           "event_ts": "1.0"}, event_id)


def _webhook(client: TestClient, tid: int):
    body = json.dumps({"type": "zen:event-type:ticket.created", "id": f"e{tid}",
                       "detail": {"id": str(tid), "subject": "x", "description": "x"}}).encode()
    return client.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, "t", body), TIMESTAMP: "t",
        "Content-Type": "application/json"})


def test_a_ticket_thread_is_high_and_its_pylon_ticket_is_the_same_one(api_settings,
                                                                       warm_context):
    with FakeSlack(SLACK_TOKEN) as slack, FakeZendesk() as zd:
        slack.add_user("UCUST", "Cory Customer")
        settings = api_settings.model_copy(update={
            "slack_bot_token": SecretStr(SLACK_TOKEN), "slack_signing_secret": SecretStr(SECRET),
            "slack_api_url": slack.api_url, "slack_customer_channels": ["CCUST", "CACME"],
            "slack_channel_orgs": {"CACME": ChannelOrg(name="Acme", plan="paid")},
            "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
            "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
            "zendesk_max_retries": 0})
        app = create_app(settings, context=warm_context, start_worker=False)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            root = slack.post("CCUST", "Our surveys stopped showing on the pricing page",
                              user="UCUST")
            mapped = slack.post("CACME", "Cohort exports time out since this morning",
                                user="UCUST")
            assert post_event(client, _reaction("CCUST", root, "EvE2E1")).status_code == 200
            assert post_event(client, _reaction("CACME", mapped, "EvE2E2")).status_code == 200
            thread_id, mapped_id = f"slack-CCUST-{root}", f"slack-CACME-{mapped}"
            wait_for(lambda: client.get(f"/tickets/{mapped_id}").status_code == 200
                     and client.get(f"/tickets/{thread_id}").status_code == 200)
            # Pylon's Zendesk ticket for the first thread links it.
            zd.add_organization(7, "Bluebird", plan="paid")
            zd.add_user(5, "Cory Customer", "cory@bluebird.example", 7)
            permalink = f"https://bluebird.slack.com/archives/CCUST/p{root.replace('.', '')}"
            zd.add_ticket(7100, subject="Surveys stopped showing",
                          description=f"Created from Slack: {permalink}", requester_id=5,
                          priority="high", via="api")
            assert _webhook(client, 7100).status_code == 202
            drafted = client.app.state.runtime.worker.drain()
            assert sorted(drafted) == sorted([thread_id, mapped_id])  # not zd-7100
            thread = client.get(f"/drafts/{thread_id}").json()
            acme = client.get(f"/drafts/{mapped_id}").json()
            assert client.get("/tickets/zd-7100").json()["status"] == "merged"
            with client.app.state.desk.sessions() as session:
                attached = repo.get_ticket(session, thread_id).payload["attached"]
                acme_org = repo.get_ticket(session, mapped_id).payload["organization"]
    assert thread["priority"] == "high"  # a 🎫 thread, no plan known
    # The mapped channel's customer and plan: a paying customer, queue item 3.
    assert acme_org == {"name": "Acme", "plan": "paid"} and acme["priority"] == "normal"
    assert attached == [{"channel": "zendesk", "zendesk_id": 7100, "ticket_id": "zd-7100"}]
