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
            "engine": engine_summary(state),
            "engines": engine_trace(state),
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


def engine_trace(state: Mapping[str, Any]) -> dict[str, Any]:
    """Who produced the classification and the draft, with the reasons for any fallback."""
    engines = state.get("engines") or {}
    reasons = [f"{part}: {engines[f'{part}_reason']}" for part in ("classification", "draft")
               if engines.get(f"{part}_reason")]
    return {"classification": engines.get("classification", ""),
            "draft": engines.get("draft", ""), "reasons": reasons}


def engine_summary(state: Mapping[str, Any]) -> str:
    """`offline`, `llm`, or `llm→offline` when any answer asked of the LLM was not used.

    A thread checkpointed before the trace existed says what its classify node recorded.
    """
    engines = state.get("engines") or {}
    parts = [p for p in (engines.get("classification"), engines.get("draft")) if p]
    if not parts:
        return str(state.get("engine", "offline"))
    fell_back = next((p for p in parts if "→" in p), None)
    return fell_back or next((p for p in parts if p != "offline"), "offline")
