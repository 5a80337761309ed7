"""Bad input gets a 4xx naming the field, never a 5xx, on SQLite and on PostgreSQL.

And requester names: a name unfit to greet with (a link, a secret-looking string,
invisible or bidi characters) is refused by the API (422 naming `requester.name`), and
dropped when it comes from Zendesk, so the reply greets "Hey there,".
"""

from __future__ import annotations

import json

import pytest
from db_fixtures import WEBHOOK_SECRET, runtime_of

from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign

TICKET = {"id": "bad-1", "subject": "Flags", "body": "Local evaluation of flags is slow."}
EVENT = {"type": "zen:event-type:ticket.created", "detail": {
    "id": "35436", "subject": "Batch export to BigQuery failing",
    "description": "Our BigQuery batch export has failed every hour since Monday."}}
LINK, SECRETISH = "https://evil.example.com/reset", "password:Hunter2!xyz"


def _webhook(api, body: bytes):
    stamp = "2026-11-26T01:00:00Z"
    return api.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, stamp, body), TIMESTAMP: stamp,
        "Content-Type": "application/json", "Authorization": ""})


def _locs(response) -> list[list]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    return [e["loc"] for e in response.json()["detail"]]


def test_a_webhook_nested_a_thousand_deep_is_422(api):
    deep = b'{"detail": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = _webhook(api, deep)
    assert response.status_code == 422 and _locs(response) == [["body"]]
    for depth in (900, 1000, 5000):
        nested = b'{"ticket": {"id": 7, "subject": "s", "tags": %s}}' % (
            b"[" * depth + b"]" * depth)
        assert _webhook(api, nested).status_code == 422
        response = api.post("/tickets", content=nested.replace(b'"ticket": ', b'"x": '),
                            headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500


@pytest.mark.parametrize(("payload", "loc"), [
    ({"type": EVENT["type"], "detail": "a string"}, ["body", "detail"]),
    ({"type": EVENT["type"], "detail": [1, 2]}, ["body", "detail"]),
    ({"ticket": "a string"}, ["body", "ticket"]),
    ({"ticket": {"id": 7, "subject": "s", "requester": "ada"}}, ["body", "ticket", "requester"]),
    ({"ticket": {"id": 7, "subject": "s", "organization": 3}},
     ["body", "ticket", "organization"]),
    ({"type": EVENT["type"], "detail": {**EVENT["detail"], "id": "../1"}},
     ["body", "detail", "id"]),
    ({"type": EVENT["type"], "detail": {**EVENT["detail"], "id": True}},
     ["body", "detail", "id"]),
])
def test_a_webhook_part_of_the_wrong_shape_is_422_naming_it(api, payload, loc):
    response = _webhook(api, json.dumps(payload).encode())
    assert response.status_code == 422 and loc in _locs(response)


@pytest.mark.parametrize("raw", [b'"a\\ud800b"', b'"a\\udfff"', b'"nul \\u0000 here"'])
def test_lone_surrogates_and_nul_are_422_naming_the_field(api, raw):
    body = json.dumps({**TICKET, "body": "@@"}).encode().replace(b'"@@"', raw)
    response = api.post("/tickets", content=body, headers={"Content-Type": "application/json"})
    assert _locs(response) == [["body", "body"]]
    name = json.dumps({**TICKET, "requester": {"name": "@@"}}).encode().replace(b'"@@"', raw)
    assert ["body", "requester", "name"] in _locs(api.post(
        "/tickets", content=name, headers={"Content-Type": "application/json"}))
    event = json.dumps({**EVENT, "detail": {**EVENT["detail"], "subject": "@@"}}).encode()
    assert ["body", "subject"] in _locs(_webhook(api, event.replace(b'"@@"', raw)))
    assert api.get("/queue").json() == []


@pytest.mark.parametrize("invisible", ["\u200b\u200b", "\u200d\ufeff \u2060", "\u202e\u0007"])
def test_text_made_only_of_invisible_characters_is_refused(api, invisible):
    response = api.post("/tickets", json={"id": "zw-1", "subject": invisible,
                                          "body": invisible})
    assert response.status_code == 422 and "`subject` or `body`" in response.text
    event = {**EVENT, "detail": {**EVENT["detail"], "subject": invisible,
                                 "description": invisible}}
    assert _webhook(api, json.dumps(event).encode()).status_code == 422
    assert runtime_of(api).worker.drain() == []


@pytest.mark.parametrize("name", [LINK, SECRETISH, "evil.example.com", "Ada\u200bLovelace",
                                  "\u202eecilA", "Ada\x07", "ada@example.com"])
def test_a_name_unfit_to_greet_with_is_422_naming_requester_name(api, name):
    response = api.post("/tickets", json={**TICKET, "requester": {"name": name}})
    assert _locs(response) == [["body", "requester", "name"]]


def test_names_of_any_script_are_accepted(api):
    for i, name in enumerate(["Ada Lovelace", "Jean-Luc O'Brien", "राहुल शर्मा", "李小龙",
                              "J. R. R. Tolkien", "devops-dana"]):
        response = api.post("/tickets", json={**TICKET, "id": f"n-{i}",
                                              "requester": {"name": name}})
        assert response.status_code == 202, (name, response.text)


@pytest.mark.parametrize("name", [LINK, SECRETISH])
def test_a_zendesk_name_unfit_to_greet_with_is_no_name(api, name):
    event = {"ticket": {"id": 77, "subject": "Flags",
                        "description": "Local evaluation of flags is slow, why?",
                        "requester": {"name": name, "email": "ada@example.com"}}}
    assert _webhook(api, json.dumps(event).encode()).status_code == 202
    assert runtime_of(api).worker.drain() == ["zd-77"]
    body = api.get("/drafts/zd-77").json()["draft"]["body"]
    assert body.startswith("Hey there,")
    assert "evil" not in body and "Hunter2" not in body


def test_an_api_slack_shaped_id_with_a_non_numeric_ts_is_just_an_id(api):
    ticket = {**TICKET, "id": "slack-C1-notats"}
    assert api.post("/tickets", json=ticket).status_code == 202
    assert runtime_of(api).worker.drain() == ["slack-C1-notats"]
    response = api.post("/drafts/slack-C1-notats/approve", json={"version": 1})
    assert response.status_code == 200 and response.json()["status"] == "delivered"
