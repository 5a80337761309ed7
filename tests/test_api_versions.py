"""Every API decision names the draft version it decides on; a replaced one is refused.

On SQLite and PostgreSQL: an approve of version 1 racing a reassignment either delivers
version 1's text or gets 409, and never delivers the re-draft nobody read.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from db_fixtures import runtime_of

_ids = itertools.count(1)


def _ticket(ticket_id: str) -> dict:
    return {"id": ticket_id, "source": "zendesk", "subject": "Session replay recordings are blank",
            "body": "Since yesterday every replay shows a blank screen for our users.",
            "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "organization": {"plan": "paid"}, "priority": "high"}


def _waiting(api) -> tuple[str, dict]:
    """A fresh ticket triaged and waiting: its id and its draft as GET /drafts returns it."""
    tid = f"ver-{next(_ids)}"
    assert api.post("/tickets", json=_ticket(tid)).status_code == 202
    runtime_of(api).worker.drain()
    draft = api.get(f"/drafts/{tid}").json()
    assert draft["status"] == "awaiting_review", draft
    return tid, draft


def _other_team(team: str) -> str:
    return "growth" if team != "growth" else "pipeline"


def _sent(api, tid: str) -> list[str]:
    return [d["payload"]["body"] for d in runtime_of(api).outbox.deliveries(tid)]


def test_the_draft_carries_its_version_in_the_body_and_as_its_etag(api):
    tid, draft = _waiting(api)
    response = api.get(f"/drafts/{tid}")
    assert response.json()["version"] == 1 and response.headers["etag"] == '"v1"'
    approved = api.post(f"/drafts/{tid}/approve", headers={"If-Match": '"v1"'})
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"]["version"] == 1
    assert _sent(api, tid) == [draft["draft"]["body"]]


@pytest.mark.parametrize("action,body", [
    ("approve", {}), ("edit", {"body": "Hey Ada, fixed."}), ("reassign", {"team": "growth"}),
    ("reject", {"reason": "dup"})])
def test_a_decision_without_a_version_is_428_and_changes_nothing(api, action, body):
    tid, _ = _waiting(api)
    response = api.post(f"/drafts/{tid}/{action}", json=body)
    assert response.status_code == 428, response.text
    detail = response.json()["detail"]
    assert "`version`" in detail and "If-Match" in detail and f"GET /drafts/{tid}" in detail
    assert api.get(f"/tickets/{tid}").json()["status"] == "awaiting_review"
    assert _sent(api, tid) == []


@pytest.mark.parametrize("headers,body,loc", [
    ({"If-Match": "v1"}, {}, ["header", "if-match"]),
    ({"If-Match": "*"}, {}, ["header", "if-match"]),
    ({"If-Match": '"v1", "v2"'}, {}, ["header", "if-match"]),
    ({"If-Match": '"v2"'}, {"version": 1}, ["body", "version"]),
    ({}, {"version": "1"}, ["body", "version"]),
    ({}, {"version": 0}, ["body", "version"]),
])
def test_a_malformed_or_contradictory_version_is_422_naming_it(api, headers, body, loc):
    tid, _ = _waiting(api)
    response = api.post(f"/drafts/{tid}/approve", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["detail"]]
    assert _sent(api, tid) == []


def test_an_approve_of_a_replaced_draft_is_409_and_sends_nothing(api):
    tid, first = _waiting(api)
    redraft = api.post(f"/drafts/{tid}/reassign",
                       json={"team": _other_team(first["team"]), "version": 1})
    assert redraft.status_code == 200, redraft.text
    second = redraft.json()["result"]
    assert second["version"] == 2 and second["draft"]["body"] != first["draft"]["body"]
    assert api.get(f"/drafts/{tid}").headers["etag"] == '"v2"'
    for how in ({"json": {"version": 1}}, {"headers": {"If-Match": '"v1"'}}):
        stale = api.post(f"/drafts/{tid}/approve", **how)
        assert stale.status_code == 409, stale.text
        body = stale.json()
        assert body["current_version"] == 2 and body["draft"] == f"/drafts/{tid}"
        assert "replaced by version 2" in body["detail"] and f"GET /drafts/{tid}" in body["detail"]
        assert stale.headers["etag"] == '"v2"'
    assert _sent(api, tid) == []
    assert api.get(f"/tickets/{tid}").json()["status"] == "awaiting_review"
    approved = api.post(f"/drafts/{tid}/approve", json={"version": 2})
    assert approved.status_code == 200, approved.text
    assert _sent(api, tid) == [second["draft"]["body"]]


def _race(api, tid: str, team: str) -> tuple[int, list[tuple[int, dict]]]:
    """Reassign and approve version 1 at once; the approver retries while the other holds it.

    Returns the reassignment's status code and every answer the approver got.
    """
    barrier = threading.Barrier(2)
    reassigned: list[int] = []
    answers: list[tuple[int, dict]] = []

    def reassign() -> None:
        barrier.wait()
        reassigned.append(api.post(f"/drafts/{tid}/reassign",
                                   json={"team": team, "version": 1}).status_code)

    def approve() -> None:
        barrier.wait()
        for _ in range(5_000):  # a person clicking again until Sidekick says something final
            response = api.post(f"/drafts/{tid}/approve", json={"version": 1})
            answers.append((response.status_code, response.json()))
            if response.status_code != 409 or "deciding" not in str(response.json()):
                return

    threads = [threading.Thread(target=reassign), threading.Thread(target=approve)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return reassigned[0], answers


def test_an_approve_racing_a_reassign_never_delivers_the_redraft(api):
    for _ in range(4):
        tid, first = _waiting(api)
        reassigned, answers = _race(api, tid, _other_team(first["team"]))
        final_code, final = answers[-1]
        sent = _sent(api, tid)
        if final_code == 200:  # the approve won: version 1's text, and the reassign lost
            assert sent == [first["draft"]["body"]] and reassigned == 409, (answers, reassigned)
        else:  # the reassign won: nothing sent, the approver told which version waits now
            assert final_code == 409 and final["current_version"] == 2, answers
            assert sent == [] and reassigned == 200
            assert api.get(f"/drafts/{tid}").json()["version"] == 2
