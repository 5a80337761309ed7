"""deliver: hand the approved reply to the outbox, exactly once."""

from __future__ import annotations

import hashlib
from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes._timing import elapsed_ms
from agent.state import State


def idempotency_key(ticket_id: str, body: str) -> str:
    """Same ticket and same reply, same key: a retry after a crash cannot send it twice."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    return f"{ticket_id}:reply:{digest}"


def deliver(state: State, runtime: Runtime[Context]) -> dict:
    """Send the approved draft through the context's outbox."""
    started = perf_counter()
    ticket, draft, decision = state["ticket"], state["draft"], state["decision"]
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
        "issue": state["issue"].model_dump(mode="json"),
        "approved_by": decision.get("by"),
        "approved_at": decision.get("at"),
        "edited": decision.get("action") == "edit",
    }
    record = runtime.context.outbox.deliver(
        key=idempotency_key(ticket.id, draft.body), ticket_id=ticket.id, payload=payload
    )
    return {
        "delivery": record,
        "status": "delivered",
        "timings_ms": {"deliver": elapsed_ms(started)},
    }
