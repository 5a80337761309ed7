"""Work claimed by a worker under a lease, so several workers share one database.

A worker takes a batch of accepted tickets in one statement and holds them until
`lease_until`; its heartbeat (`beat`) renews the lease of everything it holds and stamps its
row in `workers`. A worker that dies (SIGKILL, a lost host) stops renewing: once its lease
passed, the next `claim_batch` of any other worker takes those tickets as if accepted, and
`stale_decisions` gives its half-finished decisions to another worker's sweep. No restart
is needed and nobody has to know the dead worker's name.

On PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`: two workers claiming at the
same moment get disjoint batches instead of waiting on each other's rows. SQLite has no row
locks (one writer at a time); the same conditional UPDATE keeps a claim atomic there.
Named leases (`hold_lease`) make a job like Zendesk polling run on one worker at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.store.models import LeaseRow, TicketRow, WorkerRow, utcnow

#: The statuses a worker's claim covers (the heartbeat renews their lease).
HELD_STATUSES = ("triaging", "deciding")


def _claimable(now: datetime) -> Any:
    """Accepted, or triaging under a lease that passed (its worker died) or never had one."""
    expired = or_(TicketRow.lease_until.is_(None), TicketRow.lease_until < now)
    return or_(TicketRow.status == "accepted",
               and_(TicketRow.status == "triaging", expired))


def claim_batch(session: Session, worker: str, *, limit: int, lease_s: float) -> list[str]:
    """Claim up to `limit` tickets for triage, oldest first; the ids this call won."""
    now = utcnow()
    candidates = (select(TicketRow.id).where(_claimable(now))
                  .order_by(TicketRow.received_at, TicketRow.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    # The WHERE again: on SQLite another worker may have won a row since the SELECT.
    stmt = (update(TicketRow)
            .where(TicketRow.id.in_(ids), _claimable(now))
            .values(status="triaging", claimed_by=worker, moved_at=now,
                    lease_until=now + timedelta(seconds=lease_s))
            .returning(TicketRow.id)
            .execution_options(synchronize_session=False))
    won = set(session.scalars(stmt))
    return [ticket_id for ticket_id in ids if ticket_id in won]


def beat(session: Session, worker: str, *, lease_s: float, host: str = "", pid: int = 0) -> int:
    """Stamp the worker's heartbeat and renew the lease of what it holds; how many rows."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Any, WorkerRow.__table__)
    session.execute(insert(table).values(id=worker, host=host[:200], pid=pid, started_at=now,
                                         last_seen=now)
                    .on_conflict_do_update(index_elements=["id"], set_={"last_seen": now}))
    stmt = (update(TicketRow)
            .where(TicketRow.claimed_by == worker, TicketRow.status.in_(HELD_STATUSES))
            .values(lease_until=now + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False))
    return cast(CursorResult, session.execute(stmt)).rowcount or 0


def release(session: Session, worker: str) -> int:
    """Give back what `worker` holds (it stops, or it is a dead incarnation of this one).

    Tickets it was triaging go back to `accepted`; decisions it had taken over stay
    `deciding` with their lease ended, so the next sweep finishes them at once. Its
    heartbeat row and its named leases go. How many tickets went back.
    """
    now = utcnow()
    requeued = cast(CursorResult, session.execute(
        update(TicketRow)
        .where(TicketRow.claimed_by == worker, TicketRow.status == "triaging")
        .values(status="accepted", claimed_by=None, lease_until=None, moved_at=now)
        .execution_options(synchronize_session=False))).rowcount or 0
    session.execute(update(TicketRow)
                    .where(TicketRow.claimed_by == worker, TicketRow.status == "deciding")
                    .values(lease_until=now - timedelta(seconds=1))
                    .execution_options(synchronize_session=False))
    session.execute(delete(WorkerRow).where(WorkerRow.id == worker))
    session.execute(delete(LeaseRow).where(LeaseRow.holder == worker))
    return requeued


def live_workers(session: Session, *, within_s: float) -> list[WorkerRow]:
    """The workers whose heartbeat was seen in the last `within_s` seconds (for /readyz)."""
    since = utcnow() - timedelta(seconds=within_s)
    stmt = select(WorkerRow).where(WorkerRow.last_seen >= since).order_by(WorkerRow.id)
    return list(session.scalars(stmt))


def _stale_decision(now: datetime, older_than: datetime) -> Any:
    """`deciding` and abandoned: by its request since before `older_than`, or by its worker."""
    unclaimed = and_(TicketRow.claimed_by.is_(None),
                     or_(TicketRow.moved_at.is_(None), TicketRow.moved_at < older_than))
    lapsed = and_(TicketRow.claimed_by.is_not(None),
                  or_(TicketRow.lease_until.is_(None), TicketRow.lease_until < now))
    return and_(TicketRow.status == "deciding", or_(unclaimed, lapsed))


def stale_decisions(session: Session, older_than: datetime) -> list[str]:
    """Decisions whose request (or whose worker) likely died, oldest first."""
    stmt = (select(TicketRow.id).where(_stale_decision(utcnow(), older_than))
            .order_by(TicketRow.moved_at, TicketRow.id))
    return list(session.scalars(stmt))


def take_over(session: Session, ticket_id: str, older_than: datetime, *, worker: str,
              lease_s: float) -> bool:
    """Claim an abandoned decision for `worker` under a lease; True for exactly one caller."""
    now = utcnow()
    stmt = (update(TicketRow)
            .where(TicketRow.id == ticket_id, _stale_decision(now, older_than))
            .values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False))
    return bool(cast(CursorResult, session.execute(stmt)).rowcount)


def hold_lease(session: Session, name: str, holder: str, *, ttl_s: float) -> bool:
    """Take or renew the named lease for `holder`; False while another holder's is current."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_s)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Any, LeaseRow.__table__)
    stmt = insert(table).values(name=name, holder=holder, lease_until=until).on_conflict_do_update(
        index_elements=["name"], set_={"holder": holder, "lease_until": until},
        where=or_(table.c.holder == holder, table.c.lease_until < now),
    ).returning(table.c.name)
    return session.execute(stmt).first() is not None
