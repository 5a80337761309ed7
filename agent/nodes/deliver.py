"""deliver: hand the approved reply to the outbox, exactly once."""

from __future__ import annotations

import hashlib
from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.conversation import Message, turn_record
from agent.nodes._timing import elapsed_ms
from agent.state import State


def idempotency_key(ticket_id: str, body: str, turn: int = 1) -> str:
    """Same ticket, turn and reply, same key: a retry after a crash cannot send it twice.

    The first turn keeps the key it always had (ledgers written before conversations stay
    valid); a later turn's key names the turn, so "Glad it works!" said twice in one
    conversation is two replies, not one.
    """
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    if turn <= 1:
        return f"{ticket_id}:reply:{digest}"
    return f"{ticket_id}:reply:t{turn}:{digest}"


def _issue_payload(state: State) -> dict:
    """The issue side effect of this turn: the first turn's link or filing; later, only news.

    A later turn comments on the conversation's issue only when it brought details (the
    link's body, see `link_issue`), or files the issue that was never filed.
    """
    issue = state["issue"]
    if int(state.get("turn") or 1) > 1 and issue.action == "link" and not issue.body:
        return {"action": "none"}
    return issue.model_dump(mode="json")


def deliver(state: State, runtime: Runtime[Context]) -> dict:
    """Send the approved draft through the context's outbox, and add it to the conversation."""
    started = perf_counter()
    ticket, draft, decision = state["ticket"], state["draft"], state["decision"]
    turn = int(state.get("turn") or 1)
    payload = {
        "ticket_id": ticket.id,
        "source": ticket.source,
        "team": state["classification"]["team"],
        # kind, plan and priority decide the side effects (a paying customer's feature
        # request also goes to Customer Success; low priority gets an internal note).
        "kind": state["classification"].get("kind"),
        "priority": state.get("priority"),
        "plan": ticket.organization.plan,
        "ticket_url": ticket.url,
        "body": draft.body,
        "public": draft.public,
        "status_after": draft.status_after,
        "citations": draft.citations,
        "issue": _issue_payload(state),
        "turn": turn,
        "approved_by": decision.get("by"),
        "approved_at": decision.get("at"),
        "edited": decision.get("action") == "edit",
    }
    record = runtime.context.outbox.deliver(
        key=idempotency_key(ticket.id, draft.body, turn), ticket_id=ticket.id, payload=payload
    )
    sent = Message(id=f"{ticket.id}:reply:{turn}",
                   author="hero" if decision.get("action") == "edit" else "sidekick",
                   body=str(record.get("body") or draft.body), public=draft.public,
                   created_at=decision.get("at"))
    return {
        "delivery": record,
        "messages": [sent],
        "answered": int(state.get("read_upto") or 0),
        "turns": [turn_record(state, "delivered", delivery={
            k: record.get(k) for k in ("key", "channel", "first_delivery", "results")
            if k in record})],
        "status": "delivered",
        "timings_ms": {"deliver": elapsed_ms(started)},
    }
