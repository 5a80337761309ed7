"""Slack's handled events live in the store (SQLite or PostgreSQL), inserted once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.store.db import make_engine
from app.store.models import SlackEventRow
from app.store.seen import SeenStore


def _count(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(SlackEventRow))


def test_a_key_is_first_seen_once_and_then_handled(store_engine):
    seen = SeenStore(store_engine)
    assert seen.handled("event:Ev1") is False
    assert seen.first_time("event:Ev1") is True
    assert seen.first_time("event:Ev1") is False
    assert seen.handled("event:Ev1") is True and seen.handled("event:Ev2") is False
    assert _count(store_engine) == 1


def test_a_key_longer_than_the_column_is_kept_by_its_digest(store_engine):
    seen = SeenStore(store_engine)
    long_key = "action:sidekick_approve:" + "9" * 400
    assert seen.first_time(long_key) is True
    assert seen.first_time(long_key) is False and seen.handled(long_key) is True
    assert seen.handled(long_key[:-1] + "8") is False


def test_racing_engines_record_a_key_once(store_engine, db_url):
    """Two engines (as two API processes would have), many threads, one key: one winner."""
    engines = [store_engine, make_engine(db_url)]
    stores = [SeenStore(e) for e in engines]
    start, wins, errors = threading.Barrier(8), [], []

    def claim(n: int) -> None:
        start.wait()
        try:
            wins.append(stores[n % 2].first_time("event:EvRace"))
        except Exception as exc:  # noqa: BLE001 - a lost race must not be an error
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engines[1].dispose()
    assert errors == [] and sorted(wins) == [False] * 7 + [True]
    assert _count(store_engine) == 1
