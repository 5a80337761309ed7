"""GET /queue: the handbook's order, age and response-time state, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db_fixtures import runtime_of


def _ticket(ticket_id: str, minutes_ago: float, **fields) -> dict:
    created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"id": ticket_id, "subject": "Feature flag not updating for some users",
            "body": "Our feature flag rollout is stuck at 10% for some users.",
            "requester": {"name": "Grace Hopper"},
            "created_at": created.isoformat().replace("+00:00", "Z"), **fields}


TICKETS = [
    _ticket("q-low", 5, source="zendesk", priority="low", organization={"plan": "free"}),
    _ticket("q-community", 30, source="community"),
    _ticket("q-normal", 2 * 60, source="zendesk", priority="normal",
            organization={"plan": "paid"}),
    _ticket("q-high", 3 * 24 * 60, source="zendesk", priority="high",
            organization={"plan": "enterprise"}),
    _ticket("q-urgent", 1, source="slack", cs_escalated=True),
]


def test_queue_order_states_and_filters(api):
    for ticket in TICKETS:
        assert api.post("/tickets", json=ticket).status_code == 202
    # Before triage the queue already knows the priority (metadata only), not the team.
    queue = api.get("/queue").json()
    assert [i["id"] for i in queue] == ["q-urgent", "q-high", "q-normal", "q-community", "q-low"]
    assert {i["status"] for i in queue} == {"accepted"} and queue[0]["team"] is None
    runtime_of(api).worker.drain()
    queue = api.get("/queue").json()
    assert [i["priority"] for i in queue] == ["urgent", "high", "normal", "community", "low"]
    by_id = {i["id"]: i for i in queue}
    assert by_id["q-urgent"]["response_state"] == "great"
    assert by_id["q-community"]["response_state"] == "fine"
    assert by_id["q-normal"]["response_state"] == "late"
    assert by_id["q-high"]["response_state"] == "too_late"
    assert by_id["q-high"]["age_seconds"] >= 3 * 24 * 3600 - 5
    assert all(i["draft_summary"] and i["draft_summary"].startswith("Hey") for i in queue)
    assert all(i["team"] for i in queue)

    team = by_id["q-low"]["team"]
    filtered = api.get(f"/queue?team={team}").json()
    assert filtered and all(i["team"] == team for i in filtered)
    assert api.get("/queue?status=awaiting_review").json() == queue
    api.post("/drafts/q-low/reject", json={"reason": "closed without reply", "version": 1})
    assert [i["id"] for i in api.get("/queue?status=rejected").json()] == ["q-low"]
    assert "q-low" not in [i["id"] for i in api.get("/queue").json()]

    bad = api.get("/queue?status=lost")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]
    bad = api.get("/queue?team=marketing")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "team"]
