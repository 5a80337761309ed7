"""link_issue: for a bug or a feature request, the existing GitHub issue or a new one's draft."""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.models import IssueProposal, Ticket
from agent.nodes._timing import elapsed_ms
from agent.state import State

LINKABLE_KINDS = ("bug", "feature_request")
_BODY_CHARS = 1_500


def new_issue(ticket: Ticket, kind: str, team: str) -> IssueProposal:
    """Draft a new issue from the ticket, without the customer's identity."""
    title = (ticket.subject or ticket.text.splitlines()[0])[:120]
    heading = "Bug description" if kind == "bug" else "Feature request"
    excerpt = (ticket.body or ticket.subject or "")[:_BODY_CHARS]
    body = (
        f"## {heading}\n\n{excerpt}\n\n"
        f"## Context\n\nReported through {ticket.source} (ticket {ticket.id}); "
        f"triaged to {team}.\n"
    )
    if kind == "bug":
        body += "\n## How to reproduce\n\nTo be confirmed with the customer.\n"
    return IssueProposal(action="create", title=title, body=body)


def link_issue(state: State, runtime: Runtime[Context]) -> dict:
    """Propose `link` from the link-score threshold up, else `create`; `none` for other kinds."""
    started = perf_counter()
    ctx = runtime.context
    ticket, classification = state["ticket"], state["classification"]
    kind = classification["kind"]
    if kind not in LINKABLE_KINDS:
        proposal = IssueProposal(action="none")
    else:
        matches = []
        if ctx.issues is not None:
            matches = ctx.issues.closest(ticket.text, embedding=ctx.embed_one(ticket.text), k=3)
        best = max(matches, key=lambda m: m.link_score, default=None)
        if best is not None and best.link_score >= ctx.link_threshold:
            proposal = IssueProposal(
                action="link", url=best.url, title=best.title, score=round(best.link_score, 4)
            )
        else:
            proposal = new_issue(ticket, kind, classification["team"])
            if best is not None:
                proposal.score = round(best.link_score, 4)
    return {"issue": proposal, "timings_ms": {"link_issue": elapsed_ms(started)}}
