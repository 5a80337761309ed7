"""Stuck and failed tickets: a failed delivery answers 502 and leaves the ticket `failed`,
and `POST /tickets/{id}/retry` re-queues it without sending anything twice.

Deliveries go through the real channels (zenpy, httpx) to the local fake Zendesk and GitHub.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from db_fixtures import TOKEN, WEBHOOK_SECRET, runtime_of
from fakes.github_server import FakeGitHub
from fakes.zendesk_server import FakeZendesk
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import wait_for
from sqlalchemy.orm import Session

from app.api.main import create_app
from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign
from app.store import repo

TICKET = {"id": "zd-4900", "source": "zendesk", "subject": "Session recordings are blank",
          "body": "Every replay shows a blank screen since yesterday.",
          "requester": {"name": "Ada Lovelace", "email": "ada@example.com"}}


def _from_zendesk(client) -> int:
    """Take TICKET in as Zendesk does (the signed webhook): its reply goes to Zendesk."""
    body = json.dumps({"ticket": {"id": 4900, "subject": TICKET["subject"],
                                  "description": TICKET["body"],
                                  "requester": TICKET["requester"]}}).encode()
    stamp = "2026-11-26T01:00:00Z"
    return client.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, stamp, body), TIMESTAMP: stamp,
        "Content-Type": "application/json"}).status_code


class Flaky:
    """The real classifier, failing its first `failures` calls."""

    def __init__(self, inner, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def predict(self, embedding, **kwargs):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("model file corrupted")
        return self.inner.predict(embedding, **kwargs)


@pytest.fixture
def world():
    with FakeZendesk() as zd, FakeGitHub() as gh:
        zd.add_user(5, "Ada Lovelace", "ada@example.com")
        zd.add_ticket(4900, subject=TICKET["subject"], description=TICKET["body"],
                      requester_id=5)
        yield zd, gh


def _client(settings, context):
    app = create_app(settings, context=context, start_worker=False)
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def channels(api_settings, world):
    zd, gh = world
    return api_settings.model_copy(update={
        "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
        "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
        "zendesk_max_retries": 0,
        "github_repo": gh.repo, "github_token": SecretStr(gh.token), "github_api_url": gh.url,
        "github_max_retries": 0,
    })


def _status(client, ticket_id: str = "zd-4900") -> str:
    return client.get(f"/tickets/{ticket_id}").json()["status"]


def _decisions(client) -> list[str]:
    with Session(runtime_of(client).engine) as session:
        return [d.action for d in repo.decisions(session, "zd-4900")]


def test_retry_answers_404_409_and_401(api):
    assert api.post("/tickets/nope/retry").status_code == 404
    assert api.post("/tickets", json=TICKET).status_code == 202
    response = api.post("/tickets/zd-4900/retry")
    assert response.status_code == 409 and "accepted" in response.json()["detail"]
    assert api.post("/tickets/zd-4900/retry", headers={"Authorization": ""}).status_code == 401


def test_a_failed_triage_is_retried_from_its_checkpoint(api_settings, warm_context):
    flaky = Flaky(warm_context.classifier, failures=1)
    with _client(api_settings, replace(warm_context, classifier=flaky)) as client:
        worker = runtime_of(client).worker
        assert client.post("/tickets", json=TICKET).status_code == 202
        assert worker.drain() == ["zd-4900"]
        failed = client.get("/tickets/zd-4900").json()
        assert failed["status"] == "failed" and "model file corrupted" in failed["error"]
        response = client.post("/tickets/zd-4900/retry")
        assert response.status_code == 202
        assert response.json() == {"id": "zd-4900", "status": "accepted"}
        assert client.get("/tickets/zd-4900").json()["error"] is None
        assert worker.drain() == ["zd-4900"]
        assert _status(client) == "awaiting_review"
        assert client.get("/drafts/zd-4900").json()["draft"]["body"].startswith("Hey Ada")
        assert client.post("/tickets/zd-4900/retry").status_code == 409


def test_a_failed_delivery_is_retried_and_nothing_is_sent_twice(channels, warm_context, world):
    zd, gh = world
    with _client(channels, warm_context) as client:
        worker = runtime_of(client).worker
        assert _from_zendesk(client) == 202
        worker.drain()
        assert client.get("/drafts/zd-4900").json()["issue"]["action"] == "create"
        # GitHub takes the issue, then Zendesk is down: the decision cannot finish.
        zd.fail_next(500, times=100, path_contains="/tickets/4900")
        response = client.post("/drafts/zd-4900/approve", json={"by": "hero", "version": 1})
        assert response.status_code == 502, response.text
        assert response.json()["retry"] == "POST /tickets/zd-4900/retry"
        assert response.json()["status"] == "failed"
        failed = client.get("/tickets/zd-4900").json()
        assert failed["status"] == "failed" and "Zendesk" in failed["error"]
        assert len(gh.issues) == 1 and zd.posted_comments(4900) == []

        zd.failures.clear()  # Zendesk is back
        response = client.post("/tickets/zd-4900/retry")
        assert response.status_code == 202 and response.json()["status"] == "deciding"
        assert worker.sweep() == ["zd-4900"]  # a retried decision is due at once
        assert _status(client) == "delivered"
        [issue] = gh.issues
        [comment] = zd.posted_comments(4900)
        assert issue["html_url"] in comment["body"]
        assert _decisions(client) == ["approve"]
        assert client.post("/tickets/zd-4900/retry").status_code == 409
        assert client.post("/drafts/zd-4900/approve", json={"version": 1}).status_code == 409


def test_the_running_worker_finishes_a_retried_delivery(
        channels, warm_context, world):
    zd, gh = world
    with _client(channels, warm_context) as client:
        runtime = runtime_of(client)
        runtime.worker.start()  # running all along: no restart in this test
        try:
            assert _from_zendesk(client) == 202
            wait_for(lambda: _status(client) == "awaiting_review", timeout=120)
            zd.fail_next(500, path_contains="/tickets/4900")  # once, then Zendesk answers
            response = client.post("/drafts/zd-4900/approve", json={"by": "hero", "version": 1})
            assert response.status_code == 502 and _status(client) == "failed"
            assert client.post(response.json()["retry"].split()[1]).status_code == 202
            wait_for(lambda: _status(client) == "delivered", timeout=120)
        finally:
            runtime.worker.stop()
        assert len(gh.issues) == 1 and len(zd.posted_comments(4900)) == 1
        assert _decisions(client) == ["approve"]
