"""The worker: a restart (clean or not) ends with every accepted ticket triaged exactly once."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy.orm import Session

from agent.models import Ticket
from app.api.main import open_runtime
from app.store import repo


class CountingClassifier:
    """The real classifier, counting its calls per ticket text."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    def predict(self, embedding, **kwargs):
        self.calls += 1
        return self.inner.predict(embedding, **kwargs)


def _tickets(n: int) -> list[Ticket]:
    subjects = ["Batch export to S3 fails", "Replay recordings are blank",
                "Feature flag stuck at 10%", "Cannot log in with SSO", "Funnel shows zero"]
    return [Ticket(id=f"w-{i}", source="zendesk", subject=subjects[i % len(subjects)],
                   body="It broke yesterday.", requester={"name": "Lin Wu"})
            for i in range(n)]


def _statuses(runtime) -> dict[str, str]:
    with Session(runtime.engine) as session:
        rows = repo.open_queue(session) + repo.open_queue(session, status="delivered")
    return {row.id: row.status for row, _ in rows}


@pytest.fixture
def counting(warm_context):
    return replace(warm_context, classifier=CountingClassifier(warm_context.classifier))


def test_restart_triages_every_accepted_ticket_once(api_settings, counting):
    tickets = _tickets(4)
    with open_runtime(api_settings, context=counting) as runtime:
        for ticket in tickets:
            assert runtime.desk.accept(ticket)
        # A process that died mid-triage: w-0 claimed and half-run, w-1 claimed only.
        assert runtime.desk.claim("w-0") and runtime.desk.claim("w-1")
        service = runtime.desk.service
        service.graph.invoke({"ticket": tickets[0]}, service._config("w-0"),
                             context=service.context, interrupt_after=["retrieve"])
        assert counting.classifier.calls == 1
        # The worker starts, is stopped at once, and leaves the rest accepted.
        runtime.worker.start()
        runtime.worker.stop()
        assert set(_statuses(runtime).values()) <= {"accepted", "triaging", "awaiting_review"}
    with open_runtime(api_settings, context=counting) as runtime:
        runtime.worker.start()
        deadline = time.monotonic() + 120
        while set(_statuses(runtime).values()) != {"awaiting_review"}:
            assert time.monotonic() < deadline, _statuses(runtime)
            time.sleep(0.05)
        runtime.worker.stop()
        assert sorted(_statuses(runtime)) == [t.id for t in tickets]
        # One classification per ticket: w-0 resumed after `retrieve`, nothing re-ran.
        assert counting.classifier.calls == len(tickets)
        assert service is not runtime.desk.service
        for ticket in tickets:
            assert runtime.desk.service.get(ticket.id).status == "awaiting_review"


def test_a_failing_ticket_is_marked_failed_and_the_worker_goes_on(api_settings, warm_context):
    class Broken:
        def predict(self, embedding, **kwargs):
            raise RuntimeError("model file corrupted")

    with open_runtime(api_settings, context=replace(warm_context, classifier=Broken())) as rt:
        for ticket in _tickets(2):
            rt.desk.accept(ticket)
        assert rt.worker.drain() == ["w-0", "w-1"]
        with Session(rt.engine) as session:
            row = repo.get_ticket(session, "w-0")
            assert row.status == "failed" and "model file corrupted" in row.error


def test_claims_are_exclusive(api_settings, warm_context):
    import threading

    with open_runtime(api_settings, context=warm_context) as runtime:
        runtime.desk.accept(_tickets(1)[0])
        wins: list[bool] = []
        barrier = threading.Barrier(6)

        def claim() -> None:
            barrier.wait()
            wins.append(runtime.desk.claim("w-0"))

        threads = [threading.Thread(target=claim) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(wins) == [False] * 5 + [True]
