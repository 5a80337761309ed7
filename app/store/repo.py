"""Repository functions over the store: each takes a Session and does one thing.

Claims are conditional UPDATEs (`... WHERE id = ? AND status = ?`), atomic on SQLite and
PostgreSQL alike, so two workers (or two clicks) can never both win the same ticket. A
worker's claims under a lease are in `app/store/claims.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agent.conversation import Message
from agent.models import PRIORITY_ORDER, Ticket
from agent.policy import priority_for
from app.store.models import (
    OPEN_STATUSES,
    DecisionRow,
    MessageRow,
    TicketRow,
    TriageResultRow,
    utcnow,
)


def insert_ignore(session: Session, table: Any, values: dict[str, Any], key: str) -> bool:
    """INSERT the row unless one with the same `key` exists; True when this call inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])
            .returning(table.c[key]))
    # TRICKY: RETURNING, not rowcount: psycopg reports a skipped conflict as one row.
    return session.execute(stmt).first() is not None


def _rowcount(session: Session, stmt: Any) -> int:
    """Rows an UPDATE matched (accurate for UPDATE on both drivers)."""
    return cast(CursorResult, session.execute(stmt)).rowcount or 0


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def accept_ticket(session: Session, ticket: Ticket,
                  origin: dict[str, Any] | None = None, *,
                  merged_into: str | None = None) -> bool:
    """Store a new ticket as `accepted`; False (and nothing changed) when the id exists.

    `origin` (see app/api/origin.py) is kept beside the ticket's fields in the payload.
    `merged_into`: the ticket is another's second channel (app/api/same_request.py), stored
    as `merged` so no worker triages it.
    """
    payload = {**ticket.model_dump(mode="json"), "origin": origin or {"channel": "api"}}
    if merged_into is not None:
        payload["merged_into"] = merged_into
    values = {
        "id": ticket.id,
        "source": ticket.source,
        "payload": payload,
        "status": "accepted" if merged_into is None else "merged",
        "priority": priority_for(ticket).priority,
        "created_at": _parse_time(ticket.created_at),
        "received_at": utcnow(),
        "moved_at": utcnow(),
    }
    return insert_ignore(session, TicketRow.__table__, values, "id")


def get_ticket(session: Session, ticket_id: str) -> TicketRow | None:
    """The ticket row, or None."""
    return session.get(TicketRow, ticket_id)


def known_ids(session: Session, ids: Sequence[str]) -> set[str]:
    """Which of these ticket ids the store already holds."""
    if not ids:
        return set()
    return set(session.scalars(select(TicketRow.id).where(TicketRow.id.in_(list(ids)))))


def move(session: Session, ticket_id: str, *, frm: str | Sequence[str], to: str,
         holder: str | None = None, **fields: Any) -> bool:
    """Set the status to `to` only if it is `frm` now; True when this call moved it.

    `holder`: only while that worker still holds the row's claim (a worker whose lease
    passed and whose ticket another worker took stores nothing). A move ends the claim.
    """
    allowed = (frm,) if isinstance(frm, str) else tuple(frm)
    where = [TicketRow.id == ticket_id, TicketRow.status.in_(allowed)]
    if holder is not None:
        where.append(TicketRow.claimed_by == holder)
    stmt = (
        update(TicketRow)
        .where(*where)
        .values(status=to, **{"moved_at": utcnow(), "claimed_by": None, "lease_until": None,
                              **fields})
        .execution_options(synchronize_session=False)
    )
    return bool(_rowcount(session, stmt))


def claim_decision(session: Session, ticket_id: str, *, version: int) -> bool:
    """Move `awaiting_review` → `deciding` only while the stored draft is `version`.

    One conditional UPDATE: the version is compared in the same statement that claims the
    row, and a re-draft stores its result in the transaction that gives the row back to
    review, so a decision on a replaced draft never wins the claim. A result stored before
    versions existed counts as version 1.
    """
    stored = (select(func.coalesce(TriageResultRow.result["version"].as_integer(), 1))
              .where(TriageResultRow.ticket_id == ticket_id).scalar_subquery())
    stmt = (
        update(TicketRow)
        .where(TicketRow.id == ticket_id, TicketRow.status == "awaiting_review",
               stored == version)
        .values(status="deciding", moved_at=utcnow(), claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(_rowcount(session, stmt))


def ids_in_status(session: Session, status: str, limit: int | None = None) -> list[str]:
    """Ticket ids in one status, oldest received first."""
    stmt = select(TicketRow.id).where(TicketRow.status == status).order_by(
        TicketRow.received_at, TicketRow.id
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def escalate(session: Session, ticket_id: str) -> bool:
    """Mark a ticket CS-escalated: first in the queue (`urgent`). False when unknown."""
    row = session.get(TicketRow, ticket_id, with_for_update=True)
    if row is None:
        return False
    row.payload = {**row.payload, "cs_escalated": True}
    row.priority = "urgent"
    return True


def requeue_stuck(session: Session) -> int:
    """Put tickets left `triaging` by a dead process back to `accepted`; how many."""
    stmt = (
        update(TicketRow)
        .where(TicketRow.status == "triaging")
        .values(status="accepted", moved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(session, stmt)


def save_result(session: Session, ticket_id: str, result: dict[str, Any]) -> None:
    """Store (or replace) the ticket's latest triage result and copy its team onto the row."""
    row = session.get(TriageResultRow, ticket_id)
    if row is None:
        session.add(TriageResultRow(ticket_id=ticket_id, result=result, updated_at=utcnow()))
    else:
        row.result, row.updated_at = result, utcnow()
    session.execute(
        update(TicketRow)
        .where(TicketRow.id == ticket_id)
        .values(team=result.get("team") or None, priority=result.get("priority"))
        .execution_options(synchronize_session=False)
    )


def get_result(session: Session, ticket_id: str) -> dict[str, Any] | None:
    """The stored triage result, or None."""
    row = session.get(TriageResultRow, ticket_id)
    return row.result if row else None


def record_decision(session: Session, ticket_id: str, *, action: str, by: str,
                    at: datetime, changes: dict[str, Any]) -> DecisionRow:
    """Append a decision row."""
    row = DecisionRow(ticket_id=ticket_id, action=action, by=by, at=at, changes=changes)
    session.add(row)
    return row


def decisions(session: Session, ticket_id: str) -> list[DecisionRow]:
    """A ticket's decisions, oldest first."""
    stmt = select(DecisionRow).where(DecisionRow.ticket_id == ticket_id).order_by(DecisionRow.id)
    return list(session.scalars(stmt))


def open_queue(session: Session, *, team: str | None = None, status: str | None = None,
               limit: int | None = None, offset: int = 0
               ) -> list[tuple[TicketRow, dict[str, Any] | None]]:
    """Open tickets (or those in `status`) in the handbook's order, oldest first within one.

    Ordered in SQL, so a page (`limit` rows from `offset`) is read without the rest.
    """
    rank = case({p: i for i, p in enumerate(PRIORITY_ORDER)}, value=TicketRow.priority,
                else_=len(PRIORITY_ORDER))
    stmt = select(TicketRow, TriageResultRow.result).outerjoin(
        TriageResultRow, TriageResultRow.ticket_id == TicketRow.id
    ).order_by(rank, func.coalesce(TicketRow.created_at, TicketRow.received_at), TicketRow.id)
    if status:
        stmt = stmt.where(TicketRow.status == status)
    else:
        stmt = stmt.where(TicketRow.status.in_(OPEN_STATUSES))
    if team:
        stmt = stmt.where(TicketRow.team == team)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return [(row, result) for row, result in session.execute(stmt)]


def waiting_on_customer(session: Session, *, team: str | None = None,
                        limit: int | None = None, offset: int = 0
                        ) -> list[tuple[TicketRow, dict[str, Any] | None]]:
    """Tickets answered and left `pending` (we wait on the customer), longest waiting first."""
    pending = TriageResultRow.result["draft"]["status_after"].as_string() == "pending"
    stmt = (select(TicketRow, TriageResultRow.result)
            .join(TriageResultRow, TriageResultRow.ticket_id == TicketRow.id)
            .where(TicketRow.status == "delivered", pending)
            .order_by(func.coalesce(TicketRow.decided_at, TicketRow.received_at), TicketRow.id))
    if team:
        stmt = stmt.where(TicketRow.team == team)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return [(row, result) for row, result in session.execute(stmt)]


#: A ticket in one of these statuses goes back to work when a message needs an answer.
ANSWERABLE_STATUSES = ("awaiting_review", "delivered", "rejected", "superseded")


def add_message(session: Session, ticket_id: str, message: Message) -> bool:
    """Store a message of the ticket's conversation; False when its channel id is there."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Any, MessageRow.__table__)
    stmt = (insert(table).values(
        ticket_id=ticket_id, message_id=message.id, author=message.author, body=message.body,
        public=message.public, created_at=_parse_time(message.created_at), received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["ticket_id", "message_id"])
        .returning(table.c.seq))
    return session.execute(stmt).first() is not None


def messages_of(session: Session, ticket_id: str) -> list[Message]:
    """The ticket's stored messages in arrival order."""
    stmt = select(MessageRow).where(MessageRow.ticket_id == ticket_id).order_by(MessageRow.seq)
    return [Message(id=row.message_id, author=row.author,  # type: ignore[arg-type]
                    body=row.body, public=row.public,
                    created_at=row.created_at.isoformat() if row.created_at else None)
            for row in session.scalars(stmt)]


def last_customer_message_at(session: Session, ticket_ids: Sequence[str]
                             ) -> dict[str, datetime]:
    """When each ticket's customer last wrote (after the first message), by ticket id."""
    if not ticket_ids:
        return {}
    stmt = (select(MessageRow.ticket_id, func.max(MessageRow.received_at))
            .where(MessageRow.ticket_id.in_(list(ticket_ids)), MessageRow.author == "customer")
            .group_by(MessageRow.ticket_id))
    return {tid: at for tid, at in session.execute(stmt) if at is not None}
