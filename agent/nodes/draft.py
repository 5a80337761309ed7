"""draft: the reply for the customer and the internal note for the hero."""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.drafting import draft_request_from_state
from agent.intake_evidence import with_evidence
from agent.nodes._timing import elapsed_ms
from agent.state import State, draft_version


def draft(state: State, runtime: Runtime[Context]) -> dict:
    """Ask the engine for a draft grounded in the retrieved passages."""
    started = perf_counter()
    ctx = runtime.context
    request = draft_request_from_state(state, ctx.teams)
    answer = ctx.engine.draft(request)
    return {
        # What intake found (the report's links, the Zendesk view) is the same for every engine.
        "draft": with_evidence(answer.value, state["ticket"], request.team.slug),
        # A new draft is a new version: a decision on the one before cannot send this one.
        "version": draft_version(state) + 1,
        "warnings": list(answer.warnings),
        "usage": answer.usage,
        "engines": {"draft": answer.engine or ctx.engine.name, "draft_reason": answer.reason},
        "timings_ms": {"draft": elapsed_ms(started)},
    }
