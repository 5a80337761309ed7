"""The PostgreSQL checkpointer: a pool per process, set up once when several start at once."""

from __future__ import annotations

import threading

import pytest
from db_fixtures import ADMIN_URL

from app.bench.cluster import scratch_database
from app.settings import Settings
from app.store.checkpoint import open_checkpointer


@pytest.fixture
def scratch_url():
    """A database of this test's own, on which nothing is set up yet."""
    try:
        import psycopg

        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - no server: skip like the other PostgreSQL tests
        pytest.skip(f"PostgreSQL at {ADMIN_URL} is unreachable: {exc}")
    with scratch_database(ADMIN_URL, prefix="sidekick_ckpt") as url:
        yield url


def test_processes_starting_together_set_the_checkpointer_up_without_waiting_on_each_other(
        scratch_url):
    settings = Settings(database_url=scratch_url)
    barrier, done, errors = threading.Barrier(3), [], []

    def start() -> None:
        barrier.wait()
        try:
            with open_checkpointer(settings, scratch_url) as saver:
                done.append(type(saver.conn).__name__)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    # Each set up (one created the tables, the others found them) on a pool of its own.
    assert done == ["ConnectionPool"] * 3, "a setup waited on another's (deadlock)"
