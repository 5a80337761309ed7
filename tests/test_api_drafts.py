"""Drafts and decisions through the API: each resumes the thread once, and sends once."""

from __future__ import annotations

import threading

import pytest
from db_fixtures import runtime_of
from sqlalchemy.orm import Session

from app.store import repo

TICKET = {
    "id": "dr-1", "source": "zendesk", "subject": "Session replay recordings are blank",
    "body": "Since yesterday every replay shows a blank screen for our users.",
    "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "organization": {"plan": "paid"}, "priority": "high",
}


@pytest.fixture
def waiting(api):
    """A ticket triaged and waiting for review."""
    assert api.post("/tickets", json=TICKET).status_code == 202
    runtime_of(api).worker.drain()
    assert api.get("/tickets/dr-1").json()["status"] == "awaiting_review"
    return "dr-1"


def _deliveries(api):
    return runtime_of(api).outbox.deliveries()


def _decisions(api, ticket_id):
    with Session(runtime_of(api).engine) as session:
        return [(d.action, d.by, d.changes) for d in repo.decisions(session, ticket_id)]


def test_approve_delivers_once_and_records_the_decision(api, waiting):
    response = api.post(f"/drafts/{waiting}/approve", json={"by": "hero", "version": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "delivered" and body["result"]["status"] == "delivered"
    assert body["delivery"]["first_delivery"] is True
    again = api.post(f"/drafts/{waiting}/approve", json={"by": "hero", "version": 1})
    assert again.status_code == 409 and "delivered" in again.json()["detail"]
    deliveries = _deliveries(api)
    assert len(deliveries) == 1 and deliveries[0]["ticket_id"] == waiting
    assert deliveries[0]["payload"]["approved_by"] == "hero"
    assert _decisions(api, waiting) == [("approve", "hero", {})]
    assert api.get(f"/drafts/{waiting}").json()["status"] == "delivered"
    assert api.get("/queue").json() == []  # delivered: no longer open


def test_concurrent_approves_send_once(api, waiting):
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def click() -> None:
        barrier.wait()
        codes.append(api.post(f"/drafts/{waiting}/approve", json={"version": 1}).status_code)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409, 409, 409]
    assert len(_deliveries(api)) == 1
    assert len(_decisions(api, waiting)) == 1


def test_edit_sends_the_new_text(api, waiting):
    old = api.get(f"/drafts/{waiting}").json()["draft"]["body"]
    response = api.post(f"/drafts/{waiting}/edit", json={"body": "Hey Ada, fixed now.", "by": "h",
                                                          "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"
    [delivery] = _deliveries(api)
    assert delivery["payload"]["body"] == "Hey Ada, fixed now." and delivery["payload"]["edited"]
    [(action, by, changes)] = _decisions(api, waiting)
    assert (action, by) == ("edit", "h")
    assert changes["body"] == {"from": old, "to": "Hey Ada, fixed now."}


def test_reassign_redrafts_for_the_team_and_waits_again(api, waiting):
    before = api.get(f"/drafts/{waiting}").json()["team"]
    target = "growth" if before != "growth" else "pipeline"
    response = api.post(f"/drafts/{waiting}/reassign", json={"team": target, "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "awaiting_review"
    assert api.get(f"/drafts/{waiting}").json()["team"] == target
    assert api.get(f"/queue?team={target}").json()[0]["id"] == waiting
    assert _decisions(api, waiting)[0][2] == {"team": {"from": before, "to": target}}
    assert _deliveries(api) == []
    # Still waiting: it can be decided on again.
    assert api.post(f"/drafts/{waiting}/reject", json={"reason": "dup", "version": 2}
                    ).status_code == 200


def test_reassign_to_an_unknown_team_is_422_naming_team(api, waiting):
    response = api.post(f"/drafts/{waiting}/reassign", json={"team": "marketing", "version": 1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "team"]
    assert "marketing" in response.json()["detail"][0]["msg"]
    assert api.get("/tickets/dr-1").json()["status"] == "awaiting_review"


def test_decision_bodies_are_validated(api, waiting):
    response = api.post(f"/drafts/{waiting}/edit", json={"body": "   ", "version": 1})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "body"]
    response = api.post(f"/drafts/{waiting}/reject", json={"version": 1})
    assert response.status_code == 422
    assert ["body", "reason"] in [e["loc"] for e in response.json()["detail"]]
    assert api.get("/tickets/dr-1").json()["status"] == "awaiting_review"


def test_reject_sends_nothing(api, waiting):
    response = api.post(f"/drafts/{waiting}/reject", json={"reason": "answered by phone",
                                                               "version": 1})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert _deliveries(api) == []
    assert _decisions(api, waiting) == [("reject", "api", {"reason": "answered by phone"})]
    assert api.post(f"/drafts/{waiting}/approve", json={"version": 1}).status_code == 409


class _CrashAfterSend:
    """The outbox sends, then the process 'dies' before the graph records the delivery."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    def deliver(self, **kwargs):
        self.calls += 1
        record = self.inner.deliver(**kwargs)
        if self.calls == 1:
            raise RuntimeError("killed between send and record")
        return record


def test_a_crash_between_send_and_record_sends_once(api, waiting):
    runtime = runtime_of(api)
    context = runtime.desk.service.context
    crashing = _CrashAfterSend(context.outbox)
    context.outbox = crashing
    response = api.post(f"/drafts/{waiting}/approve", json={"by": "hero", "version": 1})
    assert response.status_code == 502 and "RuntimeError" in response.json()["detail"]
    assert api.get("/tickets/dr-1").json()["status"] == "failed"
    assert len(_deliveries(api)) == 1
    # The retry finishes the decision; the idempotency key makes the resend a no-op.
    assert api.post("/tickets/dr-1/retry").json()["status"] == "deciding"
    runtime.worker.sweep()
    assert crashing.calls == 2
    assert api.get("/tickets/dr-1").json()["status"] == "delivered"
    assert len(_deliveries(api)) == 1
    assert [a for a, _, _ in _decisions(api, waiting)] == ["approve"]
    state = runtime.desk.service.state(waiting)
    assert state["delivery"]["first_delivery"] is False
