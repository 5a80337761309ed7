"""`POST /webhooks/zendesk`: Zendesk's ticket and comment webhook, signature verified.

Zendesk signs `timestamp + body` with HMAC-SHA256 under the webhook's secret and sends the
base64 digest in `X-Zendesk-Webhook-Signature` (the timestamp in
`X-Zendesk-Webhook-Signature-Timestamp`). A forged or missing signature is 401. Both
payload shapes are accepted: the event webhook (`zen:event-type:ticket.created`, the
ticket under `detail`) and a trigger's JSON body with the ticket under `ticket`. A comment
(`zen:event-type:ticket.comment_added`, or the trigger body's `ticket.latest_comment`) joins
the ticket's conversation, once per comment id.

Before a new ticket is accepted it is read from Zendesk with zenpy (`enriched`): the event
carries no requester, organization or plan, and the view poller reads the same way, so a
ticket is the same Ticket whichever of the two saw it first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from agent.conversation import Message
from agent.models import Ticket
from app.api import origin
from app.api.deps import DeskDep, SettingsDep
from app.api.errors import ErrorOut, responses
from app.api.routes.tickets import Accepted, accept
from app.store import repo
from tools.zendesk import COMMENT_ID_PREFIX, ZendeskClient, ZendeskError, make_zendesk
from tools.zendesk_channels import via_channel

log = logging.getLogger("sidekick.zendesk_webhook")

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses={
    **responses(413, 422), 401: {"description": "missing or invalid Zendesk signature",
                                 "model": ErrorOut},
    503: {"description": "Zendesk could not be read: nothing accepted, deliver it again "
                         "(Retry-After)", "model": ErrorOut}})

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
CREATED_EVENT = "zen:event-type:ticket.created"
#: A comment on a ticket: the customer's reply (or a person's answer) joins its conversation.
COMMENT_EVENT = "zen:event-type:ticket.comment_added"
#: Seconds in the Retry-After of a 503: Zendesk retries a webhook answered 429 or 503 with
#: a Retry-After of less than 60 seconds (and one that timed out).
REDELIVER_AFTER_S = 10


class Ignored(BaseModel):
    """A webhook event other than ticket-created: acknowledged and dropped."""

    type: str
    status: Literal["ignored"] = "ignored"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature of a request body: base64(HMAC-SHA256(secret, timestamp + body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _priority(value: Any) -> str | None:
    # Zendesk's own scale has `urgent` above `high`; the Ticket contract stops at `high`.
    value = str(value or "").strip().lower()
    return {"urgent": "high"}.get(value, value) if value in {"urgent", "high", "normal", "low"} \
        else None


def _invalid(loc: tuple[str, ...], msg: str, kind: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": msg, "type": kind}])


def _object(parent: dict[str, Any], key: str, where: tuple[str, ...]) -> dict[str, Any]:
    """`parent[key]` when it is a JSON object (absent or null: empty); else a 422 naming it."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid((*where, key), "must be a JSON object", "dict_type")
    return value


def zendesk_ticket_id(detail: dict[str, Any], where: tuple[str, ...]) -> int:
    """The Zendesk ticket's numeric id (a 422 naming `id` when it is missing or not a number)."""
    raw = detail.get("id")
    text = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _invalid((*where, "id"), "must be the Zendesk ticket's numeric id")
    return int(text)


def ticket_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """Map a Zendesk webhook payload to the Ticket contract's fields (not validated yet).

    Raises:
        RequestValidationError: a part of the payload that must be an object is not, or
            the ticket has no numeric id (each naming the field).

    """
    if "detail" in payload:  # event webhook
        where: tuple[str, ...] = ("detail",)
        detail = _object(payload, "detail", ())
        requester: dict[str, Any] = {}
        organization: dict[str, Any] = {}
        body, url = detail.get("description"), None
    else:  # trigger webhook with a JSON body of our own making
        where = ("ticket",)
        detail = _object(payload, "ticket", ())
        requester = _object(detail, "requester", where)
        organization = _object(detail, "organization", where)
        body, url = detail.get("description") or detail.get("body"), detail.get("url")
    tags = detail.get("tags") or []
    via = detail.get("via")
    return {
        "id": f"zd-{zendesk_ticket_id(detail, where)}",
        "source": "zendesk",
        "subject": detail.get("subject"),
        "body": body,
        "requester": requester,
        "organization": organization,
        "priority": _priority(detail.get("priority")),
        "tags": tags if isinstance(tags, list) else str(tags).split(),
        "url": url,
        "created_at": detail.get("created_at"),
        "via": via_channel(via) if isinstance(via, dict) else None,
    }


def comment_message(payload: dict[str, Any]) -> Message | None:
    """The comment a payload carries, as a conversation Message (None: it carries none).

    The event webhook's `ticket.comment_added` has it under `event.comment` (its author
    under `author`); a trigger's JSON body of our own making under `ticket.latest_comment`
    (docs/integrations.md). The requester's comment is the customer's; anyone else's is a
    person's at PostHog (Sidekick's own replies among them are recognised by the
    conversation).

    Raises:
        RequestValidationError: a part that must be an object is not, or the comment is
            invalid (each naming the field).

    """
    if payload.get("type") == COMMENT_EVENT:
        detail = _object(payload, "detail", ())
        where: tuple[str, ...] = ("event", "comment")
        comment = _object(_object(payload, "event", ()), "comment", ("event",))
        author_id = _object(comment, "author", where).get("id")
        public = comment.get("is_public", True)
    else:
        detail = _object(payload, "ticket", ())
        where = ("ticket", "latest_comment")
        comment = _object(detail, "latest_comment", ("ticket",))
        if not comment:
            return None
        author_id, public = comment.get("author_id"), comment.get("public", True)
    comment_id = zendesk_ticket_id(comment, where)  # the same numeric check, on its id
    requester = detail.get("requester_id")
    fields = {"id": f"{COMMENT_ID_PREFIX}{comment_id}", "body": comment.get("body"),
              "author": "customer" if author_id is not None and str(author_id) == str(
                  requester) else "hero",
              "public": public if isinstance(public, bool) else str(public).lower() == "true",
              "created_at": comment.get("created_at")}
    try:
        return Message.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *where, *e["loc"])}
                                      for e in exc.errors(include_url=False)]) from None


@router.post("/zendesk", status_code=status.HTTP_202_ACCEPTED)
async def receive_zendesk(request: Request, desk: DeskDep, settings: SettingsDep
                          ) -> Accepted | Ignored:
    """Accept a new Zendesk ticket like `POST /tickets` (idempotent on the ticket id)."""
    secret = settings.zendesk_webhook_secret
    if secret is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "SIDEKICK_ZENDESK_WEBHOOK_SECRET is not set")
    body = await request.body()
    timestamp = request.headers.get(TIMESTAMP, "")
    given = request.headers.get(SIGNATURE, "")
    expected = sign(secret.get_secret_value(), timestamp, body)
    # TRICKY: no freshness window on the timestamp: a replayed delivery is harmless, since
    # accepting a ticket is idempotent on its id.
    if not timestamp or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid Zendesk webhook signature")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise RequestValidationError([{"loc": ["body"], "msg": "body is not JSON (or is "
                                       "nested too deep)", "type": "json_invalid"}]) from None
    if not isinstance(payload, dict):
        raise RequestValidationError([{"loc": ["body"], "msg": "must be a JSON object",
                                       "type": "dict_type"}])
    if payload.get("type") not in (None, CREATED_EVENT, COMMENT_EVENT):
        # Another event the webhook is subscribed to: acknowledged (no retry), not a ticket.
        return Ignored(type=str(payload.get("type")))
    fields = ticket_fields(payload)
    message = comment_message(payload)
    fields = await run_in_threadpool(enriched, request.app, settings, desk, fields)
    try:
        ticket = Ticket.from_integration(fields)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    return await _accept_in_thread(desk, ticket, origin.zendesk(int(ticket.id[3:])), message)


def _zendesk(app: Any, settings: SettingsDep) -> ZendeskClient | None:
    """The app's Zendesk client (built on first use), or None when Zendesk is not set up."""
    client = getattr(app.state, "zendesk", None)
    if client is None and settings.zendesk_subdomain and settings.zendesk_email \
            and settings.zendesk_token:
        client = app.state.zendesk = make_zendesk(settings)
    return client


def enriched(app: Any, settings: SettingsDep, desk: DeskDep,
             fields: dict[str, Any]) -> dict[str, Any]:
    """The ticket as Zendesk holds it (requester, organization, plan, `via`), read with zenpy.

    The view poller reads it the same way, so both make the same Ticket of one ticket.

    The event's own `detail` carries no requester name, no organization and no plan (every
    reply would open "Hey there," and a paying customer would queue as non-paying). A
    ticket already accepted is not read again. Without Zendesk credentials the event's
    fields are all there is (and a warning says so).

    Raises:
        HTTPException: 503 with Retry-After when Zendesk could not be read (5xx, 429 past
            the budget, unreachable): nothing was accepted, and Zendesk redelivers an event
            answered 503 with a Retry-After under a minute, so the event is not lost.

    """
    zendesk = _zendesk(app, settings)
    if zendesk is None:
        log.warning("Zendesk credentials are not set: webhook ticket %s accepted without its "
                    "requester, organization or plan", fields["id"])
        return fields
    with desk.sessions() as session:
        if repo.get_ticket(session, fields["id"]) is not None:
            return fields  # known: accepting it again is a no-op
    try:
        return zendesk.ticket(int(fields["id"][len("zd-"):]))
    except ZendeskError as exc:
        log.warning("webhook ticket %s: reading it from Zendesk failed (%s); answering 503 "
                    "so Zendesk redelivers", fields["id"], exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the ticket could not be read from Zendesk; deliver it again",
                            headers={"Retry-After": str(REDELIVER_AFTER_S)}) from None


def _accept_with_comment(desk: DeskDep, ticket: Ticket, where: dict[str, Any],
                         message: Message | None) -> Accepted:
    """Accept the ticket (a no-op when known), then add the comment to its conversation.

    The comment that opened a ticket is its description, already the ticket's first
    message: it is not added a second time. The same comment delivered again (Zendesk
    retries) is one message.
    """
    accepted = accept(desk, ticket, where)
    opening = " ".join((ticket.body or "").split())
    if message is not None and not (not accepted.duplicate
                                    and " ".join(message.body.split()) == opening):
        accepted.message = message.id
        accepted.message_duplicate = not desk.add_message(ticket.id, message)
    return accepted


async def _accept_in_thread(desk: DeskDep, ticket: Ticket, where: dict[str, Any],
                            message: Message | None = None) -> Accepted:
    return await run_in_threadpool(_accept_with_comment, desk, ticket, where, message)
