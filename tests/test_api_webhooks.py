"""POST /webhooks/zendesk: Zendesk's signature, its ticket-created payload, idempotent."""

from __future__ import annotations

import json

from db_fixtures import WEBHOOK_SECRET, runtime_of

from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign, ticket_fields

EVENT = {
    "type": "zen:event-type:ticket.created", "account_id": 88888888,
    "id": "01HNXXXX-CTEXAMPLE", "time": "2026-11-26T01:00:00Z",
    "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:35436",
    "detail": {
        "id": "35436", "status": "NEW", "priority": "HIGH", "requester_id": "20978392",
        "subject": "Batch export to BigQuery failing",
        "description": "Our BigQuery batch export has failed every hour since Monday.",
        "tags": ["bigquery"], "via": {"channel": "web"},
        "created_at": "2026-11-26T00:59:00Z", "updated_at": "2026-11-26T00:59:00Z",
    },
    "event": {"meta": {"sequence": {"id": "abc", "position": 1}}},
}


def _post(api, payload, *, secret=WEBHOOK_SECRET, timestamp="2026-11-26T01:00:00Z",
          tamper=False):
    body = json.dumps(payload).encode()
    headers = {SIGNATURE: sign(secret, timestamp, body), TIMESTAMP: timestamp,
               "Content-Type": "application/json", "Authorization": ""}
    if tamper:
        body = body.replace(b"BigQuery", b"BigQuerz")
    return api.post("/webhooks/zendesk", content=body, headers=headers)


def test_a_signed_ticket_created_event_is_accepted_once(api):
    response = _post(api, EVENT)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "zd-35436"
    assert _post(api, EVENT).json()["duplicate"] is True  # Zendesk's retry
    assert runtime_of(api).worker.drain() == ["zd-35436"]
    draft = api.get("/drafts/zd-35436").json()
    assert draft["priority"] == "high"
    assert api.get("/tickets/zd-35436").json()["status"] == "awaiting_review"


def test_forged_signatures_are_401(api):
    assert _post(api, EVENT, secret="guessed").status_code == 401
    assert _post(api, EVENT, tamper=True).status_code == 401
    body = json.dumps(EVENT).encode()
    unsigned = api.post("/webhooks/zendesk", content=body, headers={"Authorization": ""})
    assert unsigned.status_code == 401
    assert api.get("/tickets/zd-35436").status_code == 404


def test_a_signed_but_malformed_ticket_is_422_naming_the_field(api):
    event = {**EVENT, "detail": {**EVENT["detail"], "subject": "", "description": ""}}
    response = _post(api, event)
    assert response.status_code == 422 and "subject" in response.text
    event = {**EVENT, "detail": {**EVENT["detail"], "id": None}}
    response = _post(api, event)
    assert response.status_code == 422
    assert ["body", "detail", "id"] in [e["loc"] for e in response.json()["detail"]]


def test_other_events_are_acknowledged_and_ignored(api):
    response = _post(api, {**EVENT, "type": "zen:event-type:ticket.status_changed"})
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert api.get("/queue").json() == []


def test_trigger_payload_mapping():
    fields = ticket_fields({"ticket": {
        "id": 77, "subject": "Remove 2FA", "description": "Lost my phone",
        "priority": "urgent", "requester": {"name": "Ada", "email": "ada@example.com"},
        "organization": {"name": "Acme", "plan": "paid"}, "tags": "2fa account",
        "url": "https://acme.zendesk.com/agent/tickets/77"}})
    assert fields["id"] == "zd-77" and fields["priority"] == "high"
    assert fields["tags"] == ["2fa", "account"] and fields["requester"]["name"] == "Ada"
