"""review: wait for a person. The only node that interrupts; nothing is sent before it."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.context import Context
from agent.conversation import turn_record
from agent.decisions import ACTIONS, Decision
from agent.result import result_from_state
from agent.state import State


def review(state: State, runtime: Runtime[Context]) -> dict:
    """Show the draft, wait for approve / edit / reassign / reject, and record the decision."""
    # Everything before interrupt() runs again on resume: keep it free of side effects.
    request = {
        "ticket_id": state["ticket"].id,
        "result": result_from_state(state).model_dump(mode="json"),
        "actions": list(ACTIONS),
    }
    decision = Decision.model_validate(interrupt(request)).check_team(runtime.context.teams)
    update: dict = {"decision": decision.model_dump(mode="json")}
    if decision.action == "edit":
        update["draft"] = state["draft"].model_copy(update={"body": decision.body})
        update["status"] = "edited"
    elif decision.action == "approve":
        update["status"] = "approved"
    elif decision.action == "reject":
        update["status"] = "rejected"
        # The rejected draft joins the audit trail; the messages it read count as handled.
        update["turns"] = [turn_record({**state, **update}, "rejected")]
        update["answered"] = int(state.get("read_upto") or 0)
    else:
        team = decision.team or ""
        update["team_override"] = team
        update["classification"] = {
            **state["classification"],
            "team": team,
            "team_confidence": 1.0,
            "team_uncertain": False,
            "rationale": f"reassigned to {team} by {decision.by}",
        }
        update["status"] = "triaging"
    return update


def route_after_review(state: State) -> Literal["deliver", "retrieve", "__end__"]:
    """Approved or edited drafts are delivered; a reassignment drafts again; a rejection ends."""
    action = state["decision"]["action"]
    if action in ("approve", "edit"):
        return "deliver"
    if action == "reassign":
        return "retrieve"
    return "__end__"
