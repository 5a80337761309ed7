"""`GET /queue`: open tickets in the handbook's order, with age and response-time state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from agent.policy import ResponseState, response_state
from app.api.deps import Authorized, DeskDep, SessionDep
from app.store import repo
from app.store.models import TicketRow, as_utc, utcnow

router = APIRouter(prefix="/queue", tags=["queue"], dependencies=[Authorized])

TicketStatus = Literal[
    "accepted", "triaging", "awaiting_review", "deciding", "delivered", "rejected", "failed"
]
SUMMARY_CHARS = 160


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


def _summary(result: dict | None) -> str | None:
    body = ((result or {}).get("draft") or {}).get("body") or ""
    line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    if not line:
        return None
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _item(row: TicketRow, result: dict | None) -> QueueItem:
    since = as_utc(row.created_at or row.received_at)
    age = max(0, int((utcnow() - since).total_seconds()))
    return QueueItem(
        id=row.id, source=row.source, subject=row.payload.get("subject"), status=row.status,
        priority=row.priority, team=row.team,
        team_confidence=(result or {}).get("team_confidence"),
        kind=(result or {}).get("kind"), age_seconds=age, response_state=response_state(age),
        received_at=as_utc(row.received_at), draft_summary=_summary(result),
    )


@router.get("")
def read_queue(
    session: SessionDep,
    desk: DeskDep,
    team: Annotated[str | None, Query(description="only this team's tickets")] = None,
    status_: Annotated[TicketStatus | None, Query(alias="status",
                                                 description="only tickets in this status")] = None,
) -> list[QueueItem]:
    """Open tickets: urgent (CS-escalated), high, normal, community, low; oldest first."""
    if team is not None and team not in desk.teams:
        known = ", ".join(desk.teams.slugs)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["query", "team"], "msg": f"unknown team {team!r}; known teams: {known}",
            "type": "value_error"}])
    return [_item(row, result) for row, result in repo.open_queue(session, team=team,
                                                                   status=status_)]
