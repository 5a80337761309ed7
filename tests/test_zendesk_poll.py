"""Zendesk view polling: the real zenpy client against the local fake Zendesk, into the store.

A ticket in a team view becomes one accepted ticket (the same path as `POST /tickets`), the
worker triages it, a second round adds nothing, and a 429's Retry-After is waited out.
"""

from __future__ import annotations

import time

import pytest
from fakes.zendesk_server import FakeZendesk
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.api.main import open_runtime
from app.store import repo
from tools.zendesk import ZendeskError

VIEW = 360001


@pytest.fixture
def zd():
    with FakeZendesk() as fake:
        fake.add_organization(7, "Acme", plan="paid")
        fake.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        fake.add_ticket(4812, subject="Session recordings are blank",
                        description="Every replay shows a blank screen since yesterday.",
                        requester_id=5, priority="high", view=VIEW)
        yield fake


@pytest.fixture
def settings(api_settings, zd):
    return api_settings.model_copy(update={
        "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
        "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
        "zendesk_views": {"replay": VIEW}, "zendesk_poll_s": 0.05,
        "zendesk_max_retries": 0, "zendesk_ratelimit_budget_s": 2,
    })


def _view_reads(zd: FakeZendesk) -> list:
    return [r for r in zd.calls("GET") if r.path.startswith(f"/api/v2/views/{VIEW}/")]


def _rows(runtime) -> dict[str, str]:
    with Session(runtime.engine) as session:
        rows = repo.open_queue(session) + repo.open_queue(session, status="delivered")
    return {row.id: row.status for row, _ in rows}


def test_a_ticket_in_a_view_becomes_one_triaged_ticket(settings, warm_context, zd):
    with open_runtime(settings, context=warm_context) as runtime:
        [poller] = runtime.worker.intake
        assert poller.poll_once() == ["zd-4812"]
        assert poller.poll_once() == []  # the second round finds it known
        assert runtime.worker.drain() == ["zd-4812"]
        result = runtime.desk.service.get("zd-4812")
        assert result.status == "awaiting_review"
        assert result.draft.body.startswith("Hey Ada")
        assert poller.poll_once() == []
        assert _rows(runtime) == {"zd-4812": "awaiting_review"}
        with Session(runtime.engine) as session:
            row = repo.get_ticket(session, "zd-4812")
            assert row.payload["organization"]["plan"] == "paid"
            assert "view:replay" in row.payload["tags"]
    # Known tickets cost no requester or organization read on later rounds.
    assert len(zd.calls("GET", "/api/v2/users/5.json")) == 1


def test_the_running_worker_polls_the_views_on_its_own(settings, warm_context, zd):
    with open_runtime(settings, context=warm_context) as runtime:
        runtime.worker.start()
        try:
            deadline = time.monotonic() + 120
            while _rows(runtime).get("zd-4812") != "awaiting_review":
                assert time.monotonic() < deadline, _rows(runtime)
                time.sleep(0.05)
            # Later rounds keep reading the view and add nothing.
            rounds = len(_view_reads(zd))
            while len(_view_reads(zd)) < rounds + 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            runtime.worker.stop()
        assert _rows(runtime) == {"zd-4812": "awaiting_review"}


def test_a_429_is_waited_out_then_the_view_is_read_again(settings, warm_context, zd):
    with open_runtime(settings, context=warm_context) as runtime:
        [poller] = runtime.worker.intake
        zd.fail_next(429, retry_after="1", path_contains="/views/")
        assert poller.poll_once() == ["zd-4812"]
        assert len(_view_reads(zd)) == 2
        # The budget is per call: a long-lived poller is not refused after a few 429s.
        zd.add_ticket(4813, subject="Flags stuck", description="Rollout stuck at 10%.",
                      requester_id=5, view=VIEW)
        for _ in range(3):
            zd.fail_next(429, retry_after="1", path_contains="/views/")
            poller.poll_once()
        assert _rows(runtime) == {"zd-4812": "accepted", "zd-4813": "accepted"}


def test_a_retry_after_beyond_the_budget_fails_the_round_not_the_poller(
        settings, warm_context, zd):
    with open_runtime(settings, context=warm_context) as runtime:
        [poller] = runtime.worker.intake
        zd.fail_next(429, retry_after="3600", path_contains="/views/")
        with pytest.raises(ZendeskError, match="rate limited"):
            poller.poll_once()
        assert len(_view_reads(zd)) == 1  # no hammering while limited
        assert _rows(runtime) == {}
        assert poller.poll_once() == ["zd-4812"]
