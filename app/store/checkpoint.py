"""The LangGraph checkpointer that follows the store's database choice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.settings import Settings


@contextmanager
def open_checkpointer(settings: Settings, url: str | None = None) -> Iterator:
    """A PostgresSaver on a connection pool to the store's PostgreSQL, else SQLite in the home.

    Both use `app.runtime.checkpoint_serializer()`, so they load exactly the same classes.
    """
    from app.runtime import checkpoint_serializer, sqlite_checkpointer

    if url is None and not settings.database_url:
        # The default store: SQLite under the home, without importing SQLAlchemy for it.
        with sqlite_checkpointer(settings.checkpoint_db) as saver:
            yield saver
        return
    from app.store.db import database_url, is_postgres, libpq_url

    url = url or database_url(settings)
    if not is_postgres(url):
        with sqlite_checkpointer(settings.checkpoint_db) as saver:
            yield saver
        return
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    # PostgresSaver needs autocommit and dict rows; prepared statements off for poolers.
    # A pool, not one connection: the API's request threads and the worker's threads
    # each take a connection for a checkpoint read or write instead of queueing on one.
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    with ConnectionPool(libpq_url(url), min_size=1, max_size=settings.checkpoint_pool_size,
                        kwargs=kwargs, open=True, name="sidekick-checkpoints") as pool:
        saver = PostgresSaver(pool, serde=checkpoint_serializer())  # type: ignore[arg-type]
        with pool.connection() as conn:
            _setup_alone(conn, saver)
        yield saver


def _setup_alone(conn: Any, saver: Any) -> None:
    """Create the checkpointer's tables, one process at a time.

    TRICKY: several processes starting at once would race on CREATE TABLE (a unique
    violation in pg_type), hence the lock. It is tried, never waited on: the setup ends
    with CREATE INDEX CONCURRENTLY, which waits for every transaction in progress, and a
    second process blocked in pg_advisory_lock is one: each would wait on the other.
    """
    import time

    while not conn.execute(
            "SELECT pg_try_advisory_lock(hashtext('sidekick:checkpoint-setup'))").fetchone()[
                "pg_try_advisory_lock"]:
        time.sleep(0.1)
    try:
        saver.setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext('sidekick:checkpoint-setup'))")
