"""`GET /queue`: open tickets in the handbook's order, with age and response-time state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel

from agent.policy import ResponseState, response_state
from app.api.deps import Authorized, DeskDep, SessionDep
from app.api.errors import responses
from app.store import repo
from app.store.models import TicketRow, as_utc, utcnow

router = APIRouter(prefix="/queue", tags=["queue"], dependencies=[Authorized],
                   responses=responses(401, 413, 422))

TicketStatus = Literal[
    "accepted", "triaging", "awaiting_review", "deciding", "delivered", "rejected", "failed"
]
SUMMARY_CHARS = 160
#: Tickets per page of `GET /queue`, by default and at most.
PAGE, MAX_PAGE = 100, 500


class QueueItem(BaseModel):
    """One line of the queue."""

    id: str
    source: str
    subject: str | None
    status: str
    priority: str
    team: str | None
    team_confidence: float | None
    kind: str | None
    age_seconds: int
    response_state: ResponseState
    received_at: datetime
    draft_summary: str | None
    #: 1 for a new ticket, more for a follow-up (the customer answered).
    turn: int = 1


def _summary(result: dict | None) -> str | None:
    body = ((result or {}).get("draft") or {}).get("body") or ""
    line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    if not line:
        return None
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _item(row: TicketRow, result: dict | None, replied_at: datetime | None = None
          ) -> QueueItem:
    # The response clock starts at the customer's latest message: a follow-up is as urgent
    # as a new ticket from the moment the customer wrote.
    since = as_utc(replied_at or row.created_at or row.received_at)
    age = max(0, int((utcnow() - since).total_seconds()))
    return QueueItem(
        id=row.id, source=row.source, subject=row.payload.get("subject"), status=row.status,
        priority=row.priority, team=row.team,
        team_confidence=(result or {}).get("team_confidence"),
        kind=(result or {}).get("kind"), age_seconds=age, response_state=response_state(age),
        received_at=as_utc(row.received_at), draft_summary=_summary(result),
        turn=int((result or {}).get("turn") or 1),
    )


class WaitingItem(BaseModel):
    """A ticket answered and left pending: we wait on the customer."""

    id: str
    source: str
    subject: str | None
    priority: str
    team: str | None
    turn: int
    #: Seconds since the reply that left it pending went out.
    waiting_seconds: int
    last_reply_summary: str | None


def _next_link(request: Request, offset: int) -> str:
    """The `Link` header value of the next page (same filters, the next offset)."""
    url = request.url.include_query_params(offset=offset)
    return f'<{url.path}?{url.query}>; rel="next"'


@router.get("", responses={200: {"description": "one page of the queue", "headers": {
    "Link": {"description": '`</queue?...&offset=N>; rel="next"` when there is a next page',
             "schema": {"type": "string"}}}}})
def read_queue(
    request: Request,
    response: Response,
    session: SessionDep,
    desk: DeskDep,
    team: Annotated[str | None, Query(description="only this team's tickets")] = None,
    status_: Annotated[TicketStatus | None, Query(alias="status",
                                                 description="only tickets in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="tickets per page")] = PAGE,
    offset: Annotated[int, Query(ge=0, description="tickets to skip (from `Link`)")] = 0,
) -> list[QueueItem]:
    """Open tickets: urgent (CS-escalated), high, normal, community, low; oldest first.

    One page of `limit` tickets from `offset`; when there are more, the `Link` header
    (`rel="next"`) is the URL of the next page.
    """
    if team is not None and team not in desk.teams:
        known = ", ".join(desk.teams.slugs)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["query", "team"], "msg": f"unknown team {team!r}; known teams: {known}",
            "type": "value_error"}])
    # One row more than the page tells whether there is a next page, without a count.
    rows = repo.open_queue(session, team=team, status=status_, limit=limit + 1, offset=offset)
    if len(rows) > limit:
        response.headers["Link"] = _next_link(request, offset + limit)
    page = rows[:limit]
    replied = repo.last_customer_message_at(session, [row.id for row, _ in page])
    return [_item(row, result, replied.get(row.id)) for row, result in page]


@router.get("/waiting", responses={200: {"description": "one page of tickets waiting on "
                                                       "the customer"}})
def read_waiting(
    request: Request,
    response: Response,
    session: SessionDep,
    desk: DeskDep,
    team: Annotated[str | None, Query(description="only this team's tickets")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="tickets per page")] = PAGE,
    offset: Annotated[int, Query(ge=0, description="tickets to skip (from `Link`)")] = 0,
) -> list[WaitingItem]:
    """Tickets waiting on the customer (answered, left pending), longest waiting first.

    Apart from `GET /queue`, which lists what waits on the hero: a customer's reply puts a
    ticket back there as a follow-up.
    """
    if team is not None and team not in desk.teams:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["query", "team"], "msg": f"unknown team {team!r}", "type": "value_error"}])
    rows = repo.waiting_on_customer(session, team=team, limit=limit + 1, offset=offset)
    if len(rows) > limit:
        response.headers["Link"] = _next_link(request, offset + limit)
    now = utcnow()
    return [WaitingItem(
        id=row.id, source=row.source, subject=row.payload.get("subject"), priority=row.priority,
        team=row.team, turn=int((result or {}).get("turn") or 1),
        waiting_seconds=max(0, int((now - as_utc(row.decided_at or row.received_at))
                                   .total_seconds())),
        last_reply_summary=_summary(result)) for row, result in rows[:limit]]
