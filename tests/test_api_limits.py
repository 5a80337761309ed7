"""Bounds: auth and size before the body is read, field lengths, a paginated queue, OpenAPI.

The front door is tested twice: as the ASGI app it is (a `receive` that counts what the
server pulled from the client), and through the whole API with a TestClient.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from db_fixtures import WEBHOOK_SECRET

from agent.models import Ticket
from app.api.limits import FrontDoor
from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign
from app.store import repo

TICKET = {"id": "lim-1", "subject": "Flags", "body": "Local evaluation is slow."}
LIMIT = 1_000_000  # the default SIDEKICK_API_MAX_BODY_BYTES


def _run_door(headers: dict[str, str], chunks: list[bytes], path: str = "/tickets"):
    """Send one request through FrontDoor; (status, chunks the server read, app reached)."""
    reached, pulled, sent = [], [], []

    async def app(scope, receive, send):
        message = await receive()
        reached.append(message["body"])
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        i = len(pulled)
        pulled.append(i)
        return {"type": "http.request", "body": chunks[i], "more_body": i < len(chunks) - 1}

    async def send(message):
        sent.append(message)

    door = FrontDoor(app, max_body_bytes=LIMIT, tokens=("tok",), protected=("/tickets",))
    scope = {"type": "http", "path": path, "method": "POST",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(door(scope, receive, send))
    return sent[0]["status"], len(pulled), reached


def test_no_token_is_401_before_a_byte_of_the_body_is_read():
    status, pulled, reached = _run_door({"content-length": str(50_000_000)}, [b"x"] * 50)
    assert (status, pulled, reached) == (401, 0, [])
    status, pulled, _ = _run_door({"authorization": "Bearer wrong"}, [b"x"] * 50)
    assert (status, pulled) == (401, 0)


def test_a_declared_length_over_the_limit_is_413_unread():
    headers = {"authorization": "Bearer tok", "content-length": str(LIMIT + 1)}
    assert _run_door(headers, [b"x"] * 50)[:2] == (413, 0)
    # Signature routes are not behind the token, but the size limit holds for them too.
    assert _run_door({"content-length": str(LIMIT + 1)}, [b"x"], "/webhooks/zendesk")[:2] \
        == (413, 0)


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit():
    chunk = b"x" * 100_000
    status, pulled, reached = _run_door({"authorization": "Bearer tok"}, [chunk] * 500)
    assert status == 413 and reached == []
    assert pulled == LIMIT // len(chunk) + 1  # not the 500 chunks the client had


def test_a_body_within_the_limit_reaches_the_route_whole():
    status, _, reached = _run_door({"authorization": "Bearer tok"}, [b"ab", b"cd"])
    assert status == 202 and reached == [b"abcd"]


def test_oversized_bodies_are_413_on_every_route(api):
    big = json.dumps({**TICKET, "body": "x" * (LIMIT + 10)})
    response = api.post("/tickets", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "SIDEKICK_API_MAX_BODY_BYTES" in response.json()["detail"]
    chunked = api.post("/tickets", content=iter([big[:LIMIT // 2].encode(),
                                                 big[LIMIT // 2:].encode()]),
                       headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    stamp = "2026-11-26T01:00:00Z"
    body = big.encode()
    webhook = api.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, stamp, body), TIMESTAMP: stamp, "Authorization": ""})
    assert webhook.status_code == 413
    unauthenticated = api.post("/tickets", content=big, headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    assert api.post("/tickets", json=TICKET).status_code == 202


@pytest.mark.parametrize(("field", "value"), [
    (("subject",), "s" * 1_001),
    (("body",), "b" * 50_001),
    (("requester", "name"), "n" * 201),
    (("organization", "name"), "o" * 201),
    (("url",), "https://example.com/" + "u" * 2_000),
])
def test_each_free_text_field_has_a_maximum_length(api, field, value):
    ticket = dict(TICKET)
    if len(field) == 2:
        ticket[field[0]] = {field[1]: value}
    else:
        ticket[field[0]] = value
    response = api.post("/tickets", json=ticket)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", *field] and "at most" in error["msg"]
    assert value not in response.text  # the answer does not echo the input


def test_the_queue_is_paginated_and_says_where_the_next_page_is(api):
    for i in range(7):
        assert api.post("/tickets", json={**TICKET, "id": f"page-{i}"}).status_code == 202
    seen, url = [], "/queue?limit=3"
    while url:
        response = api.get(url)
        assert response.status_code == 200 and len(response.json()) <= 3
        seen += [item["id"] for item in response.json()]
        link = response.headers.get("link")
        url = link[1:link.index(">")] if link else None
        assert link is None or link.endswith('rel="next"')
    assert sorted(seen) == [f"page-{i}" for i in range(7)] and len(seen) == 7
    assert len(api.get("/queue").json()) == 7 and "link" not in api.get("/queue").headers
    assert api.get("/queue?limit=501").status_code == 422
    assert api.get("/queue?offset=-1").status_code == 422


def test_the_queue_answers_one_hundred_by_default(api):
    desk = api.app.state.desk
    with desk.sessions.begin() as session:
        for i in range(101):
            repo.accept_ticket(session, Ticket(id=f"bulk-{i:03}", subject="s", body="b"))
    page = api.get("/queue")
    assert len(page.json()) == 100 and "offset=100" in page.headers["link"]


def test_the_openapi_schema_lists_each_routes_error_answers(api):
    paths = api.get("/openapi.json").json()["paths"]

    def codes(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"202", "401", "413", "422"} <= codes("/tickets", "post")
    assert {"401", "404"} <= codes("/tickets/{ticket_id}", "get")
    assert {"401", "404", "409"} <= codes("/tickets/{ticket_id}/retry", "post")
    assert {"401", "413", "422"} <= codes("/queue", "get")
    assert "Link" in paths["/queue"]["get"]["responses"]["200"]["headers"]
    assert {"401", "404", "422"} <= codes("/drafts/{ticket_id}", "get")
    for action in ("approve", "edit", "reassign", "reject"):
        assert {"401", "404", "409", "413", "422", "502"} <= codes(
            f"/drafts/{{ticket_id}}/{action}", "post")
    assert {"401", "413", "422"} <= codes("/webhooks/zendesk", "post")
