"""Tickets: accept (`POST /tickets`), read, and retry a failed one.

`POST /tickets` answers 202 at once and the worker triages in the background;
`POST /tickets/{id}/retry` puts a failed ticket back in the work.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from agent.models import ConversationEntry, Ticket, TicketIn, TurnRecord
from app.api import origin
from app.api.audit import audit_lines, conversation_of
from app.api.deps import Authorized, DeskDep, SessionDep
from app.api.desk import NotFailed
from app.api.errors import responses
from app.store import repo

router = APIRouter(prefix="/tickets", tags=["tickets"], dependencies=[Authorized],
                   responses=responses(401, 413, 422))


class Accepted(BaseModel):
    """The answer to an accepted ticket (new or seen before)."""

    id: str
    status: Literal["accepted"] = "accepted"
    duplicate: bool = False
    #: A webhook that carried a comment: its message id, and whether it was known already.
    message: str | None = None
    message_duplicate: bool | None = None


class Requeued(BaseModel):
    """A failed ticket put back: `accepted` (triage again) or `deciding` (finish the decision)."""

    id: str
    status: Literal["accepted", "deciding"]


class TicketStatus(BaseModel):
    """Where a ticket is: accepted, triaging, awaiting_review, ..., and its team once known.

    Since conversations, also the conversation (every message, the ticket first), each
    finished turn's draft, decision and delivery, and the same as lines a person reads.
    """

    id: str
    status: str
    priority: str
    team: str | None
    error: str | None = None
    turn: int | None = None
    conversation: list[ConversationEntry] = Field(default_factory=list)
    turns: list[TurnRecord] = Field(default_factory=list)
    audit: list[str] = Field(default_factory=list)


def accept(desk: DeskDep, ticket: Ticket, where: dict[str, Any] | None = None) -> Accepted:
    """Accept a validated ticket (shared with the webhooks); `where` is its origin."""
    created = desk.accept(ticket, origin=where or origin.API)
    return Accepted(id=ticket.id, duplicate=not created)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_ticket(ticket: TicketIn, desk: DeskDep) -> Accepted:
    """Accept a ticket and answer at once; the worker triages it in the background.

    The same id posted twice is one ticket: the second post is accepted again and changes
    nothing. Its approved reply is recorded by the API's own outbox only, whatever the id
    looks like: replies reach Zendesk or Slack only for tickets that came from there.
    """
    return accept(desk, ticket.to_ticket())


@router.get("/{ticket_id}", responses=responses(404))
def read_ticket(ticket_id: str, session: SessionDep) -> TicketStatus:
    """The ticket's status (404 when unknown)."""
    row = repo.get_ticket(session, ticket_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket with id {ticket_id!r}")
    result = repo.get_result(session, ticket_id)
    trail = conversation_of(row, result, repo.messages_of(session, ticket_id))
    return TicketStatus(id=row.id, status=row.status, priority=row.priority, team=row.team,
                        error=row.error, turn=(result or {}).get("turn"),
                        conversation=trail.conversation, turns=trail.turns,
                        audit=audit_lines(trail, repo.decisions(session, ticket_id)))


@router.post("/{ticket_id}/retry", status_code=status.HTTP_202_ACCEPTED,
             responses=responses(404, 409))
def retry_ticket(ticket_id: str, desk: DeskDep) -> Requeued:
    """Re-queue a failed ticket (404 unknown, 409 when it has not failed).

    A failed triage is triaged again from its last checkpoint; a failed decision or delivery
    is finished by the worker, and what was already sent is not sent again (each side
    effect's idempotency key is in the delivery ledger).
    """
    from app.service import UnknownTicket

    try:
        to = desk.retry(ticket_id)
    except UnknownTicket:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket with id {ticket_id!r}") \
            from None
    except NotFailed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Requeued(id=ticket_id, status=to)  # type: ignore[arg-type]
