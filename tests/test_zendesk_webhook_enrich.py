"""The Zendesk webhook reads the ticket, its requester and organization before accepting it.

The event's `detail` has no requester name, no organization and no plan: against the local
fake Zendesk the webhook's ticket must be the one the view poller makes of the same ticket,
a 500 then a 429 are waited out, and a Zendesk that stays down is answered 503 with a
Retry-After (Zendesk redelivers) with nothing accepted, so the redelivery is not lost.
"""

from __future__ import annotations

import json

import pytest
from db_fixtures import TOKEN, WEBHOOK_SECRET
from fakes.zendesk_server import FakeZendesk
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.api.main import create_app
from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign

VIEW = 360009


def _event(tid: int, **detail) -> dict:
    return {"type": "zen:event-type:ticket.created", "account_id": 1, "id": f"evt-{tid}",
            "time": "2026-11-26T01:00:00Z", "subject": f"zen:ticket:{tid}",
            "detail": {"id": str(tid), "status": "NEW", "priority": "NORMAL",
                       "requester_id": "5", "subject": "Batch export to BigQuery failing",
                       "description": "Our BigQuery batch export fails every hour.",
                       "tags": [], "via": {"channel": "web"}, **detail}}


def _post(client: TestClient, payload: dict):
    body = json.dumps(payload).encode()
    stamp = "2026-11-26T01:00:00Z"
    return client.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, stamp, body), TIMESTAMP: stamp,
        "Content-Type": "application/json"})


@pytest.fixture
def zd():
    with FakeZendesk() as fake:
        fake.add_organization(7, "Acme", plan="enterprise")
        fake.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        fake.add_ticket(35436, subject="Batch export to BigQuery failing",
                        description="Our BigQuery batch export fails every hour.",
                        requester_id=5, priority="urgent", tags=["bigquery"], view=VIEW)
        yield fake


@pytest.fixture
def zd_api(api_settings, warm_context, zd):
    settings = api_settings.model_copy(update={
        "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
        "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
        "zendesk_views": {"pipeline": VIEW}, "zendesk_max_retries": 2,
        "zendesk_ratelimit_budget_s": 5})
    app = create_app(settings, context=warm_context, start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def _stored(client: TestClient, ticket_id: str) -> dict:
    from app.store import repo

    with client.app.state.desk.sessions() as session:
        row = repo.get_ticket(session, ticket_id)
        return dict(row.payload) if row is not None else {}


def test_the_webhook_ticket_carries_what_zendesk_knows(zd_api, zd):
    response = _post(zd_api, _event(35436))
    assert response.status_code == 202, response.text
    stored = _stored(zd_api, "zd-35436")
    assert stored["requester"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert stored["organization"] == {"name": "Acme", "plan": "enterprise"}
    assert stored["priority"] == "high"  # Zendesk's urgent, not the event's NORMAL
    assert stored["tags"] == ["bigquery"] and stored["via"] == "web"
    # The poller makes the same Ticket of the same ticket (its view tag aside).
    [poller] = zd_api.app.state.runtime.worker.intake
    [polled] = poller.client.poll({"pipeline": VIEW})
    polled["tags"].remove("view:pipeline")
    assert {k: v for k, v in stored.items() if k not in ("origin", "cs_escalated")} == \
        {k: v for k, v in polled.items() if v is not None or k in stored}
    # A redelivery of a known ticket is not read again.
    reads = len(zd.calls("GET", "/api/v2/tickets/35436.json"))
    assert _post(zd_api, _event(35436)).json()["duplicate"] is True
    assert len(zd.calls("GET", "/api/v2/tickets/35436.json")) == reads


def test_a_500_then_a_429_are_waited_out(zd_api, zd):
    zd.fail_next(500, path_contains="/tickets/35436")
    zd.fail_next(429, retry_after="1", path_contains="/tickets/35436")
    response = _post(zd_api, _event(35436))
    assert response.status_code == 202, response.text
    assert len(zd.calls("GET", "/api/v2/tickets/35436.json")) == 3
    assert _stored(zd_api, "zd-35436")["organization"]["plan"] == "enterprise"


def test_a_zendesk_that_stays_down_is_503_and_the_redelivery_is_accepted(zd_api, zd):
    zd.fail_next(503, times=3, path_contains="/tickets/35436")
    response = _post(zd_api, _event(35436))
    assert response.status_code == 503
    assert 0 < int(response.headers["Retry-After"]) < 60  # Zendesk redelivers under a minute
    assert _stored(zd_api, "zd-35436") == {}  # nothing half-accepted
    again = _post(zd_api, _event(35436))  # Zendesk's redelivery
    assert again.status_code == 202 and again.json()["duplicate"] is False
    assert _stored(zd_api, "zd-35436")["requester"]["name"] == "Ada Lovelace"


def test_a_community_question_through_zendesk_is_the_community_tier(zd_api, zd):
    link = "https://posthog.com/questions/why-are-my-funnels-empty"
    zd.add_ticket(35500, subject="Why are my funnels empty?",
                  description=f"Question asked on {link}\n\nMy funnels show no data.",
                  requester_id=5, priority="normal", via="api")
    assert _post(zd_api, _event(35500)).status_code == 202
    zd_api.app.state.runtime.worker.drain()
    draft = zd_api.get("/drafts/zd-35500").json()
    assert (draft["priority"], draft["playbook"]) == ("community", "community_question")
    assert link in draft["draft"]["internal_note"]  # the page to answer on
    assert _stored(zd_api, "zd-35500")["origin"] == {"channel": "zendesk", "zendesk_id": 35500}


def test_a_pasted_community_link_in_an_email_does_not_change_the_queue(zd_api, zd):
    zd.add_ticket(35501, subject="Funnels empty",
                  description="I also asked on https://posthog.com/questions/x - any news?",
                  requester_id=5, priority="normal", via="email")
    assert _post(zd_api, _event(35501)).status_code == 202
    stored = _stored(zd_api, "zd-35501")
    assert stored["source"] == "zendesk" and stored["url"].endswith("/agent/tickets/35501")
