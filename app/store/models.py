"""The store's tables as typed SQLAlchemy 2 models.

A ticket row is the unit of work: its `status` moves
accepted → triaging → awaiting_review → deciding → delivered | rejected (a reassignment goes
back to awaiting_review), or `failed` when triage raised. The graph's checkpoint stays the
truth about a thread; these rows are what the API lists, filters and locks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: JSON everywhere, JSONB on PostgreSQL.
Json = JSON().with_variant(JSONB(), "postgresql")

TICKET_STATUSES = (
    "accepted",
    "triaging",
    "awaiting_review",
    "deciding",
    "delivered",
    "rejected",
    "superseded",
    "failed",
    # Another ticket's second channel (a Pylon-made Zendesk ticket of a 🎫 thread): never
    # triaged itself (app/api/same_request.py).
    "merged",
)
OPEN_STATUSES = ("accepted", "triaging", "awaiting_review", "deciding", "failed")


def utcnow() -> datetime:
    """Now, timezone-aware (SQLite gives it back naive: see `as_utc`)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A datetime read from either database, as an aware UTC datetime."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """The declarative base; `Base.metadata` is what Alembic compares against."""


class TicketRow(Base):
    """One accepted ticket and where it is in its life."""

    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(32), index=True, default="accepted")
    team: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    priority: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    triaged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    #: When the status last changed: a `deciding` row older than a grace period is stuck.
    moved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    #: The worker holding the row (`triaging`, or a `deciding` a worker's sweep took over).
    claimed_by: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    #: Until when the claim holds; its worker's heartbeat renews it, and once it passed
    #: another worker may take the row (the holder died).
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class TriageResultRow(Base):
    """The latest triage result of a ticket (the `GET /drafts/{id}` body)."""

    __tablename__ = "triage_results"

    ticket_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DecisionRow(Base):
    """A person's decision: who, when, which action and what it changed."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class DeliveryRow(Base):
    """One side effect, at most once per idempotency key."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    ticket_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Null while the send is reserved but not confirmed (a crash in between is retried).
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)


class MessageRow(Base):
    """A message of a ticket's conversation after the first (the ticket's own payload)."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("ticket_id", "message_id",
                                       name="uq_messages_ticket_message"),)

    #: Arrival order across the store: a ticket's messages sort by it.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    #: The channel's own id (Zendesk comment id, Slack ts, API id): the idempotency key.
    message_id: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlackEventRow(Base):
    """A Slack event, click or modal submission already handled (Slack redelivers them)."""

    __tablename__ = "slack_events"

    #: `event:<event_id>`, `action:<action_id>:<action_ts>`, `view:<view id>`.
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkerRow(Base):
    """A live `sidekick worker` (or `serve`'s worker process): its heartbeat."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LeaseRow(Base):
    """A named job only one worker does at a time (e.g. `zendesk-poll`), and until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClassifierVersionRow(Base):
    """One trained state of the offline classifier; every process uses the newest (highest id).

    Written in one transaction per training, so a reader sees a whole version or none.
    """

    __tablename__ = "classifier_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The training's token (meta.json's `token`): what a process reports it routes with.
    version: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: meta.json: fingerprints of the taxonomy, examples and model it was trained for.
    meta: Mapped[dict[str, Any]] = mapped_column(Json)
    #: examples.jsonl: what it was trained on, so the next `sidekick train` anywhere adds to it.
    examples: Mapped[str] = mapped_column(Text)
    #: model.npz, the weights.
    data: Mapped[bytes] = mapped_column(LargeBinary)
