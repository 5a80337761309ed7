"""POST /tickets, the worker, auth and health, on SQLite and PostgreSQL."""

from __future__ import annotations

from db_fixtures import runtime_of

TICKET = {
    "id": "api-1", "source": "zendesk", "subject": "Batch export to S3 fails with AccessDenied",
    "body": "Our hourly S3 export fails since the bucket policy change.",
    "requester": {"name": "Wei Chen", "email": "wei@example.com"},
    "organization": {"plan": "paid"}, "priority": "normal",
}


def test_accept_then_the_worker_triages(api):
    response = api.post("/tickets", json=TICKET)
    assert response.status_code == 202
    assert response.json()["id"] == "api-1" and response.json()["status"] == "accepted"
    assert api.get("/tickets/api-1").json()["status"] == "accepted"
    assert api.get("/drafts/api-1").status_code == 404  # not triaged yet
    assert runtime_of(api).worker.drain() == ["api-1"]
    assert api.get("/tickets/api-1").json()["status"] == "awaiting_review"
    draft = api.get("/drafts/api-1").json()
    assert draft["ticket_id"] == "api-1" and draft["draft"]["body"].startswith("Hey Wei")
    assert draft["team"] == "pipeline"


def test_the_same_id_twice_is_one_ticket(api):
    assert api.post("/tickets", json=TICKET).status_code == 202
    again = api.post("/tickets", json={**TICKET, "subject": "changed"})
    assert again.status_code == 202 and again.json()["id"] == "api-1"
    assert again.json()["duplicate"] is True
    assert runtime_of(api).worker.drain() == ["api-1"]
    assert api.post("/tickets", json=TICKET).status_code == 202
    assert runtime_of(api).worker.drain() == []  # nothing re-triaged
    queue = api.get("/queue").json()
    assert [item["id"] for item in queue] == ["api-1"]
    assert queue[0]["subject"] == TICKET["subject"]


def test_bad_bodies_get_422_naming_the_field(api):
    response = api.post("/tickets", json={**TICKET, "source": "fax"})
    assert response.status_code == 422
    assert ["body", "source"] in [e["loc"] for e in response.json()["detail"]]
    response = api.post("/tickets", json={"subject": "no id"})
    assert ["body", "id"] in [e["loc"] for e in response.json()["detail"]]
    response = api.post("/tickets", json={"id": "x", "subject": " ", "body": ""})
    assert response.status_code == 422 and "subject" in response.text
    assert api.post("/tickets", content=b"{not json",
                    headers={"Content-Type": "application/json"}).status_code == 422


def test_auth(api):
    anonymous = {"Authorization": ""}
    assert api.get("/healthz", headers=anonymous).json()["status"] == "ok"
    assert api.post("/tickets", json=TICKET, headers=anonymous).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    for method, path in (("get", "/queue"), ("get", "/drafts/api-1"),
                         ("post", "/drafts/api-1/approve"), ("get", "/tickets/api-1")):
        assert getattr(api, method)(path, headers=wrong).status_code == 401, path
    assert api.get("/queue").status_code == 200
    assert api.get("/openapi.json", headers=anonymous).status_code == 200


def test_unknown_ticket_is_404(api):
    assert api.get("/drafts/nope").status_code == 404
    assert api.get("/tickets/nope").status_code == 404
    assert api.post("/drafts/nope/approve", json={"version": 1}).status_code == 404
    assert api.post("/drafts/nope/reject", json={"reason": "x", "version": 1}).status_code == 404


def test_the_background_worker_triages_on_its_own(api):
    import time

    worker = runtime_of(api).worker
    worker.start()
    try:
        api.post("/tickets", json=TICKET)
        deadline = time.monotonic() + 60
        while api.get("/tickets/api-1").json()["status"] != "awaiting_review":
            assert time.monotonic() < deadline, api.get("/tickets/api-1").json()
            time.sleep(0.05)
    finally:
        worker.stop()
    assert not worker.running
