"""Claims under a lease (app/store/claims.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from agent.models import Ticket
from app.store import claims, repo


def _accept(engine, count: int) -> list[str]:
    ids = [f"cl-{n}" for n in range(count)]
    with Session(engine) as session, session.begin():
        for ticket_id in ids:
            repo.accept_ticket(session, Ticket(id=ticket_id, subject="Export stuck", body="x"))
    return ids


def test_two_workers_claim_disjoint_batches_and_a_dead_ones_lease_passes(store_engine):
    ids = _accept(store_engine, 5)
    with Session(store_engine) as a, a.begin():
        first = claims.claim_batch(a, "worker-a", limit=3, lease_s=0.5)
        if store_engine.dialect.name == "postgresql":
            # Inside A's open transaction: SKIP LOCKED hands B the rows A did not lock.
            with Session(store_engine) as b, b.begin():
                second = claims.claim_batch(b, "worker-b", limit=3, lease_s=60)
    if store_engine.dialect.name != "postgresql":
        with Session(store_engine) as b, b.begin():
            second = claims.claim_batch(b, "worker-b", limit=3, lease_s=60)
    assert first == ids[:3] and second == ids[3:]
    with Session(store_engine) as session, session.begin():
        assert claims.claim_batch(session, "worker-b", limit=3, lease_s=60) == []
    time.sleep(0.6)  # worker A died: no beat renewed its lease
    with Session(store_engine) as session, session.begin():
        assert claims.claim_batch(session, "worker-b", limit=5, lease_s=60) == ids[:3]
    with Session(store_engine) as session, session.begin():
        # A, back from the dead, may not store its result: the claim is B's now.
        assert not repo.move(session, ids[0], frm="triaging", to="awaiting_review",
                             holder="worker-a")
        assert repo.move(session, ids[0], frm="triaging", to="awaiting_review",
                         holder="worker-b")


def test_a_heartbeat_keeps_the_claim_and_release_gives_it_back(store_engine):
    ids = _accept(store_engine, 2)
    with Session(store_engine) as session, session.begin():
        assert claims.claim_batch(session, "worker-a", limit=2, lease_s=0.5) == ids
    time.sleep(0.3)
    with Session(store_engine) as session, session.begin():
        assert claims.beat(session, "worker-a", lease_s=60, host="h1", pid=42) == 2
    time.sleep(0.3)  # past the first lease, within the renewed one
    with Session(store_engine) as session, session.begin():
        assert claims.claim_batch(session, "worker-b", limit=2, lease_s=60) == []
        assert [w.id for w in claims.live_workers(session, within_s=5)] == ["worker-a"]
    with Session(store_engine) as session, session.begin():
        assert claims.release(session, "worker-a") == 2
        assert claims.live_workers(session, within_s=5) == []
        assert repo.ids_in_status(session, "accepted") == ids


def test_a_named_lease_has_one_holder_until_it_passes(store_engine):
    with Session(store_engine) as session, session.begin():
        assert claims.hold_lease(session, "zendesk-poll", "worker-a", ttl_s=0.4)
        assert not claims.hold_lease(session, "zendesk-poll", "worker-b", ttl_s=0.4)
        assert claims.hold_lease(session, "zendesk-poll", "worker-a", ttl_s=0.4)  # renewed
    time.sleep(0.5)
    with Session(store_engine) as session, session.begin():
        assert claims.hold_lease(session, "zendesk-poll", "worker-b", ttl_s=60)
        assert not claims.hold_lease(session, "zendesk-poll", "worker-a", ttl_s=60)


def test_a_decision_a_dead_worker_had_taken_over_goes_to_another_once_its_lease_passed(
        store_engine):
    from datetime import timedelta

    from app.store.models import utcnow

    ids = _accept(store_engine, 1)
    with Session(store_engine) as session, session.begin():
        assert repo.move(session, ids[0], frm="accepted", to="deciding", moved_at=None)
    cutoff = utcnow() - timedelta(seconds=300)
    with Session(store_engine) as session, session.begin():
        assert claims.take_over(session, ids[0], cutoff, worker="worker-a", lease_s=0.4)
        assert claims.stale_decisions(session, cutoff) == []  # held by A's lease
    time.sleep(0.5)  # A died mid-delivery
    with Session(store_engine) as session, session.begin():
        assert claims.stale_decisions(session, cutoff) == ids
        assert claims.take_over(session, ids[0], cutoff, worker="worker-b", lease_s=60)
        assert not claims.take_over(session, ids[0], cutoff, worker="worker-c", lease_s=60)
