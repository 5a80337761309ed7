"""`POST /tickets` (accept now, triage in the background) and `GET /tickets/{id}`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from agent.models import Ticket
from app.api.deps import Authorized, DeskDep, SessionDep
from app.store import repo

router = APIRouter(prefix="/tickets", tags=["tickets"], dependencies=[Authorized])


class Accepted(BaseModel):
    """The answer to an accepted ticket (new or seen before)."""

    id: str
    status: Literal["accepted"] = "accepted"
    duplicate: bool = False


class TicketStatus(BaseModel):
    """Where a ticket is: accepted, triaging, awaiting_review, ..., and its team once known."""

    id: str
    status: str
    priority: str
    team: str | None
    error: str | None = None


def accept(desk: DeskDep, ticket: Ticket) -> Accepted:
    """Accept a validated ticket (shared with the webhooks)."""
    created = desk.accept(ticket)
    return Accepted(id=ticket.id, duplicate=not created)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_ticket(ticket: Ticket, desk: DeskDep) -> Accepted:
    """Accept a ticket and answer at once; the worker triages it in the background.

    The same id posted twice is one ticket: the second post is accepted again and changes
    nothing.
    """
    return accept(desk, ticket)


@router.get("/{ticket_id}")
def read_ticket(ticket_id: str, session: SessionDep) -> TicketStatus:
    """The ticket's status (404 when unknown)."""
    row = repo.get_ticket(session, ticket_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket with id {ticket_id!r}")
    return TicketStatus(id=row.id, status=row.status, priority=row.priority, team=row.team,
                        error=row.error)
