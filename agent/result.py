"""The triage result (DESIGN.md's contract) read off a graph state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.models import Draft, IssueProposal, TriageResult, Usage
from agent.state import draft_version


def result_from_state(state: Mapping[str, Any]) -> TriageResult:
    """Assemble the public result from whatever the graph has produced so far."""
    classification = state.get("classification", {})
    status = state.get("status", "awaiting_review")
    if status in ("triaging", None):
        status = "awaiting_review"
    # model_validate, not the constructor: the state holds plain strings, and a value outside
    # the contract's literals must fail loudly here rather than reach a customer.
    return TriageResult.model_validate(
        {
            "ticket_id": state["ticket"].id,
            "team": classification.get("team", ""),
            "team_confidence": round(float(classification.get("team_confidence", 0.0)), 4),
            "team_uncertain": bool(classification.get("team_uncertain", False)),
            "priority": state.get("priority", "low"),
            "kind": classification.get("kind", "question"),
            "playbook": state.get("playbook"),
            "passages": state.get("passages", []),
            "issue": state.get("issue") or IssueProposal(),
            "draft": state.get("draft") or Draft(body=""),
            "engine": state.get("engine", "offline"),
            "warnings": state.get("warnings", []),
            "usage": state.get("usage") or Usage(),
            "status": status,
            "version": max(draft_version(state), 1),
            "timings_ms": state.get("timings_ms", {}),
            "turn": int(state.get("turn") or 1),
            "stage": state.get("stage"),
            "conversation": conversation(state),
            "history": state.get("turns", []),
        }
    )


def conversation(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ticket's messages in order, the ticket itself first."""
    ticket = state["ticket"]
    first = {"id": ticket.id, "author": "customer", "body": ticket.body or ticket.subject or "",
             "public": True, "created_at": ticket.created_at}
    rest = [m.model_dump(mode="json") for m in state.get("messages") or []]
    return [first, *rest]
