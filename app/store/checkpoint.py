"""The LangGraph checkpointer that follows the store's database choice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.settings import Settings


@contextmanager
def open_checkpointer(settings: Settings, url: str | None = None) -> Iterator:
    """A PostgresSaver on the store's PostgreSQL database, else the SQLite one under the home.

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
    from psycopg import Connection
    from psycopg.rows import dict_row

    # PostgresSaver needs autocommit and dict rows; prepared statements off for poolers.
    with Connection.connect(
        libpq_url(url), autocommit=True, prepare_threshold=0, row_factory=dict_row
    ) as conn:
        saver = PostgresSaver(conn, serde=checkpoint_serializer())
        saver.setup()
        yield saver
