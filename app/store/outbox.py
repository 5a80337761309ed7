"""The delivery ledger: the `deliveries` table as the graph's outbox, exactly once per key.

`StoreOutbox.deliver()` keeps the contract of `tools.outbox.LocalOutbox.deliver()`. With no
`sender` it only records (the local channel). With a sender (Zendesk, Slack, ...) it
reserves the key first, sends, then marks the row sent: a crash after the send and before
the mark leaves a reserved row, and the retry hands the same key to the sender again, which
must dedupe on it (every real channel stamps the key on what it creates).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from app.settings import Settings
from app.store.models import DeliveryRow, utcnow
from app.store.repo import insert_ignore


class Sender(Protocol):
    """A real channel: sends once per key and returns the external id (or None)."""

    channel: str

    def send(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> str | None:
        """Send the payload; called again with the same key only after a crash."""
        ...


class StoreOutbox:
    """Deliveries recorded in the relational store, one row per idempotency key."""

    def __init__(self, engine: Engine, *, sender: Sender | None = None,
                 channel: str = "local") -> None:
        self._engine = engine
        self._sender = sender
        self.channel = sender.channel if sender else channel

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send (or record) under `key` unless it was sent already."""
        from sqlalchemy.orm import Session

        with Session(self._engine) as session, session.begin():
            first = insert_ignore(session, DeliveryRow.__table__, {
                "key": key, "ticket_id": ticket_id, "channel": self.channel,
                "payload": payload, "created_at": utcnow(),
                "sent_at": None if self._sender else utcnow(),
            }, "key")
        row = self._row(key)
        if row.sent_at is None and self._sender is not None:
            external_id = self._sender.send(key=key, ticket_id=ticket_id, payload=payload)
            with self._engine.begin() as conn:
                conn.execute(update(DeliveryRow).where(DeliveryRow.key == key).values(
                    sent_at=utcnow(), external_id=external_id))
            row = self._row(key)
        return {
            "key": key,
            "channel": row.channel,
            "delivered_at": row.sent_at.isoformat(timespec="seconds") if row.sent_at else None,
            "external_id": row.external_id,
            "first_delivery": first,
        }

    def _row(self, key: str) -> DeliveryRow:
        from sqlalchemy.orm import Session

        with Session(self._engine) as session:
            return session.scalars(select(DeliveryRow).where(DeliveryRow.key == key)).one()

    def deliveries(self, ticket_id: str | None = None) -> list[dict[str, Any]]:
        """What was delivered, oldest first (all tickets, or one)."""
        from sqlalchemy.orm import Session

        stmt = select(DeliveryRow).order_by(DeliveryRow.id)
        if ticket_id is not None:
            stmt = stmt.where(DeliveryRow.ticket_id == ticket_id)
        with Session(self._engine) as session:
            return [
                {"key": r.key, "ticket_id": r.ticket_id, "channel": r.channel,
                 "payload": r.payload, "external_id": r.external_id,
                 "delivered_at": r.sent_at.isoformat(timespec="seconds") if r.sent_at else None}
                for r in session.scalars(stmt)
            ]


def store_outbox(settings: Settings, engine: Engine | None = None) -> StoreOutbox:
    """The outbox `app.runtime.build_context` uses: the store's delivery ledger."""
    from app.store.db import database_url, make_engine, migrate

    if engine is None:
        engine = make_engine(database_url(settings))
        migrate(engine)
    return StoreOutbox(engine)
