"""`GET /drafts/{id}` and the four decisions, resuming the ticket's LangGraph thread.

A decision is taken once: the ticket row moves `awaiting_review` → `deciding` in one
conditional UPDATE, so a double click (or two at once) gets 409 and sends nothing. It is
taken on the draft version it names (`version` or `If-Match`, see app/api/versions.py),
compared in that same UPDATE: a decision on a draft a re-draft replaced gets 409.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Response, status
from pydantic import BaseModel, Field, StrictInt, ValidationError

from agent.decisions import Decision, StaleDraft, VersionRequired
from agent.models import TriageResult
from app.api.deps import Authorized, DeskDep, SessionDep
from app.api.errors import DeliveryFailed, responses
from app.api.versions import decision_version, draft_etag, stale_answer, version_required
from app.store import repo

log = logging.getLogger("sidekick.api")

router = APIRouter(prefix="/drafts", tags=["drafts"], dependencies=[Authorized],
                   responses=responses(401, 404, 413, 422))
#: What each decision may answer besides 200 and the router's own.
DECIDE_ERRORS = responses(409, 428, 502)


class Approve(BaseModel):
    """Send the draft as it is."""

    by: str = Field(default="api", max_length=200)
    #: The draft version decided on (GET /drafts/{id}); or send its ETag as If-Match.
    version: StrictInt | None = Field(default=None, ge=1)


class Edit(Approve):
    """Send this text instead of the draft."""

    body: str = Field(min_length=1, max_length=100_000)


class Reassign(Approve):
    """Re-retrieve and re-draft for another team."""

    team: str = Field(min_length=1, max_length=64)


class Reject(Approve):
    """Send nothing, and say why."""

    reason: str = Field(min_length=1, max_length=2_000)


class DecisionOut(BaseModel):
    """The result after the decision, and the delivery it made (if any)."""

    ticket_id: str
    action: str
    status: str
    result: TriageResult
    delivery: dict[str, Any] | None = None


def _not_found(ticket_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket with id {ticket_id!r}")


#: The `If-Match` header of a decision: the ETag of the draft version decided on.
IfMatch = Annotated[str | None, Header(description='the draft\'s ETag, e.g. "v1"')]


@router.get("/{ticket_id}")
def read_draft(ticket_id: str, session: SessionDep, response: Response) -> TriageResult:
    """The ticket's triage result, its draft version also as the ETag (404 when unknown)."""
    row = repo.get_ticket(session, ticket_id)
    if row is None:
        raise _not_found(ticket_id)
    result = repo.get_result(session, ticket_id)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"ticket {ticket_id!r} has no draft yet (it is {row.status})")
    draft = TriageResult.model_validate(result)
    response.headers["ETag"] = draft_etag(draft.version)
    return draft


def _decision(**fields: Any) -> Decision:
    """The Decision, or a 422 naming the body field it lacks (e.g. an all-blank `body`)."""
    try:
        return Decision(**fields)
    except ValidationError as exc:
        field = {"edit": "body", "reassign": "team", "reject": "reason"}.get(fields["action"])
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["body", field], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]) from None


def _delivery_failed(desk: DeskDep, ticket_id: str, decision: Decision,
                     exc: Exception) -> DeliveryFailed:
    now = desk.fail_decision(ticket_id, exc)
    # Failed: retry it. Back in review: decide again. Else the worker's sweep finished (or
    # holds) it meanwhile: watch its status.
    retry = {"failed": f"POST /tickets/{ticket_id}/retry",
             "awaiting_review": f"POST /drafts/{ticket_id}/{decision.action}"}.get(
                 now, f"GET /tickets/{ticket_id}")
    return DeliveryFailed(ticket_id, now, retry, f"the {decision.action} of ticket "
                          f"{ticket_id} failed ({type(exc).__name__}); it is {now}")


def _decide(desk: DeskDep, ticket_id: str, decision: Decision) -> Any:
    # Imported here: app.service loads LangGraph, which the API needs only to decide.
    from app.service import NotAwaitingReview, UnknownTicket

    try:
        result = desk.decide(ticket_id, decision)
    except UnknownTicket:
        raise _not_found(ticket_id) from None
    except VersionRequired:
        raise version_required(ticket_id) from None
    except StaleDraft as exc:
        return stale_answer(exc)
    except NotAwaitingReview as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:  # a team outside the taxonomy
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["body", "team"], "msg": str(exc), "type": "value_error"}]) from None
    except Exception as exc:  # a channel failed (Zendesk down, ...): the client can retry
        log.exception("the %s of ticket %s failed", decision.action, ticket_id)
        raise _delivery_failed(desk, ticket_id, decision, exc) from None
    with desk.sessions() as session:
        row = repo.get_ticket(session, ticket_id)
        row_status = row.status if row else result.status
    delivery = None
    if decision.action in ("approve", "edit"):
        with desk.lock:
            delivery = desk.service.state(ticket_id).get("delivery")
    return DecisionOut(ticket_id=ticket_id, action=decision.action, status=row_status,
                       result=result, delivery=delivery)


@router.post("/{ticket_id}/approve", responses=DECIDE_ERRORS)
def approve_draft(ticket_id: str, desk: DeskDep, if_match: IfMatch = None,
                  body: Approve | None = None) -> DecisionOut:
    """Send the draft version named; a second approve gets 409 and sends nothing."""
    body = body or Approve()
    version = decision_version(body.version, if_match)
    return _decide(desk, ticket_id, _decision(action="approve", by=body.by, version=version))


@router.post("/{ticket_id}/edit", responses=DECIDE_ERRORS)
def edit_draft(ticket_id: str, body: Edit, desk: DeskDep, if_match: IfMatch = None
               ) -> DecisionOut:
    """Send the given text instead of the draft version named."""
    version = decision_version(body.version, if_match)
    return _decide(desk, ticket_id, _decision(action="edit", by=body.by, body=body.body,
                                              version=version))


@router.post("/{ticket_id}/reassign", responses=DECIDE_ERRORS)
def reassign_draft(ticket_id: str, body: Reassign, desk: DeskDep, if_match: IfMatch = None
                   ) -> DecisionOut:
    """Re-draft for another team (422 naming `team` when it is not in the taxonomy)."""
    version = decision_version(body.version, if_match)
    return _decide(desk, ticket_id, _decision(action="reassign", by=body.by, team=body.team,
                                              version=version))


@router.post("/{ticket_id}/reject", responses=DECIDE_ERRORS)
def reject_draft(ticket_id: str, body: Reject, desk: DeskDep, if_match: IfMatch = None
                 ) -> DecisionOut:
    """Send nothing, and record why."""
    version = decision_version(body.version, if_match)
    return _decide(desk, ticket_id, _decision(action="reject", by=body.by, reason=body.reason,
                                              version=version))
