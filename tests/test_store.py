"""The store on SQLite and PostgreSQL: migrations, claims, the delivery ledger, checkpoints."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session

from agent.models import Ticket
from app.settings import Settings
from app.store import repo
from app.store.db import database_url
from app.store.models import Base
from app.store.outbox import StoreOutbox

TICKET = Ticket(id="st-1", source="community", subject="How do I export events?",
                requester={"email": "someone@example.com"})


def test_the_migration_matches_the_models(store_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store_engine.connect() as conn:
        # Only the store's tables: the session's database also holds LangGraph's.
        context = MigrationContext.configure(conn, opts={"include_name": lambda name, kind, _:
                                                         kind != "table"
                                                         or name in Base.metadata.tables})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_head_revision_is_the_newest_migration_and_a_store_at_head_skips_alembic(store_engine):
    from alembic.script import ScriptDirectory

    from app.store.db import HEAD_REVISION, alembic_config, at_head, migrate

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
    assert at_head(store_engine)
    migrate(store_engine)  # nothing to do: returns without touching the schema
    assert at_head(store_engine)


def test_a_new_database_is_not_at_head_until_migrated(tmp_path):
    from sqlalchemy import create_engine

    from app.store.db import at_head, migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert not at_head(engine)
    migrate(engine)
    assert at_head(engine)
    engine.dispose()


def test_accept_is_idempotent_and_moves_are_conditional(store_engine):
    with Session(store_engine) as session, session.begin():
        assert repo.accept_ticket(session, TICKET) is True
        assert repo.accept_ticket(session, TICKET.model_copy(update={"subject": "x"})) is False
    with Session(store_engine) as session, session.begin():
        row = repo.get_ticket(session, "st-1")
        assert (row.status, row.priority, row.payload["subject"]) == (
            "accepted", "community", "How do I export events?")
        assert repo.move(session, "st-1", frm="accepted", to="triaging") is True
        assert repo.move(session, "st-1", frm="accepted", to="triaging") is False
        assert repo.requeue_stuck(session) == 1
        assert repo.ids_in_status(session, "accepted") == ["st-1"]


def test_results_and_decisions(store_engine):
    from datetime import UTC, datetime

    with Session(store_engine) as session, session.begin():
        repo.accept_ticket(session, TICKET)
        repo.save_result(session, "st-1", {"team": "pipeline", "priority": "community"})
        repo.save_result(session, "st-1", {"team": "replay", "priority": "community"})
        repo.record_decision(session, "st-1", action="reassign", by="hero",
                             at=datetime(2026, 11, 26, tzinfo=UTC),
                             changes={"team": {"from": "pipeline", "to": "replay"}})
    with Session(store_engine) as session:
        assert repo.get_result(session, "st-1")["team"] == "replay"
        assert repo.get_ticket(session, "st-1").team == "replay"
        [decision] = repo.decisions(session, "st-1")
        assert decision.changes["team"]["to"] == "replay" and decision.by == "hero"
        assert [r.id for r, _ in repo.open_queue(session, team="replay")] == ["st-1"]


def test_the_ledger_delivers_once_per_key_even_concurrently(store_engine):
    outbox = StoreOutbox(store_engine)
    results: list[dict] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        results.append(outbox.deliver(key="st-1:reply:abc", ticket_id="st-1",
                                      payload={"body": "Hey"}))

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["first_delivery"] for r in results) == [False] * 4 + [True]
    assert len({r["delivered_at"] for r in results}) == 1
    [row] = outbox.deliveries("st-1")
    assert row["payload"] == {"body": "Hey"} and row["channel"] == "local"


class FakeSender:
    channel = "zendesk"

    def __init__(self, fail_after_send: bool = False) -> None:
        self.sent: list[str] = []
        self.fail_after_send = fail_after_send

    def send(self, *, key, ticket_id, payload):
        if key not in self.sent:  # a real channel dedupes on the key it stamped
            self.sent.append(key)
        if self.fail_after_send:
            self.fail_after_send = False
            raise ConnectionError("died after sending")
        return "comment-1"


def test_a_sender_is_called_until_the_send_is_recorded(store_engine):
    sender = FakeSender(fail_after_send=True)
    outbox = StoreOutbox(store_engine, sender=sender)
    with pytest.raises(ConnectionError):
        outbox.deliver(key="k1", ticket_id="st-1", payload={})
    assert outbox.deliveries()[0]["delivered_at"] is None  # reserved, not confirmed
    record = outbox.deliver(key="k1", ticket_id="st-1", payload={})
    assert record["external_id"] == "comment-1" and record["channel"] == "zendesk"
    again = outbox.deliver(key="k1", ticket_id="st-1", payload={})
    assert again["first_delivery"] is False and again["delivered_at"] == record["delivered_at"]
    assert sender.sent == ["k1"] and len(outbox.deliveries()) == 1


def test_the_checkpointer_follows_the_database(db_url, tmp_path):
    from app.store.checkpoint import open_checkpointer

    settings = Settings(home=tmp_path / "home", database_url=db_url)
    with open_checkpointer(settings) as saver:
        expected = "PostgresSaver" if db_url.startswith("postgresql") else "SqliteSaver"
        assert type(saver).__name__ == expected
        assert saver.serde is not None
        assert list(saver.list({"configurable": {"thread_id": "none"}})) == []


def test_the_default_database_is_sqlite_under_the_home(tmp_path):
    from app.store.outbox import store_outbox

    settings = Settings(home=tmp_path / "h", database_url=None)
    assert database_url(settings) == f"sqlite:///{tmp_path / 'h' / 'sidekick.db'}"
    assert database_url(Settings(database_url="postgres://u@h/db")).startswith(
        "postgresql+psycopg://u@h/db")
    outbox = store_outbox(settings)
    outbox.deliver(key="k", ticket_id="t", payload={})
    assert (tmp_path / "h" / "sidekick.db").exists()


def test_a_decision_is_stale_only_after_the_grace_and_taken_over_once(store_engine):
    from datetime import timedelta

    from app.store import claims
    from app.store.models import utcnow

    with Session(store_engine) as session, session.begin():
        repo.accept_ticket(session, TICKET)
        assert repo.move(session, "st-1", frm="accepted", to="deciding")
    before, after = utcnow() - timedelta(minutes=5), utcnow() + timedelta(seconds=1)
    with Session(store_engine) as session, session.begin():
        assert claims.stale_decisions(session, before) == []  # still within the grace
        assert claims.stale_decisions(session, after) == ["st-1"]
        assert claims.take_over(session, "st-1", after, worker="w1", lease_s=60) is True
    with Session(store_engine) as session, session.begin():
        # Held under w1's lease: a second sweep, even with a later cutoff, takes nothing.
        assert claims.take_over(session, "st-1", after, worker="w2", lease_s=60) is False
        assert repo.known_ids(session, ["st-1", "st-2"]) == {"st-1"}
