"""link_issue: for a bug or a feature request, the existing GitHub issue or a new one's draft."""

from __future__ import annotations

import re
from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.conversation import customer_text, is_follow_up, new_customer_text, turn_ticket
from agent.models import IssueProposal, Ticket
from agent.nodes._timing import elapsed_ms
from agent.stages import default_stages
from agent.state import State

LINKABLE_KINDS = ("bug", "feature_request")
_BODY_CHARS = 1_500
# What a customer wrote goes to a public issue only without links, addresses and mentions:
# nobody approved those for publication.
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MENTION = re.compile(r"(?<![\w@])@(?=[A-Za-z0-9])")


def publishable(text: str) -> str:
    """Customer text fit for a public GitHub issue: links, e-mails and @mentions removed."""
    text = _URL.sub("[link removed]", text)
    text = _EMAIL.sub("[e-mail removed]", text)
    return _MENTION.sub("", text)


def details_comment(ticket: Ticket, details: str) -> str:
    """The comment that carries a customer's new details to the conversation's issue."""
    quoted = "\n".join(f"> {line}" for line in publishable(details)[:_BODY_CHARS].splitlines())
    return f"More details from the customer (support ticket {ticket.id}):\n\n{quoted}\n"


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


def _conversation_issue(state: State) -> IssueProposal:
    """A later turn's issue: the one of the conversation, now with what the customer added.

    An issue Sidekick filed on an earlier turn is linked from then on (its URL is in the
    delivery record); a proposal not yet filed is redrafted from the whole conversation, so
    the details a customer sent go into its body.
    """
    issue = state.get("issue") or IssueProposal()
    filed = ((state.get("delivery") or {}).get("results") or {}).get("github") or {}
    if issue.action == "create" and filed.get("url"):
        issue = IssueProposal(action="link", url=filed["url"], title=issue.title,
                              score=issue.score)
    stage = default_stages().get(state.get("stage") or "")
    if issue.action == "link":
        # The body of a linked issue is the comment its delivery posts: the new details
        # when this turn brought some, else nothing (no second "+1" per reply).
        body = None
        if stage is not None and stage.issue_comment:
            body = details_comment(state["ticket"], new_customer_text(state))
        return issue.model_copy(update={"body": body})
    if issue.action == "create":
        ticket = state["ticket"]
        added = customer_text(state)[len(ticket.body or ""):]
        told = ticket.model_copy(update={"body": (ticket.body or "") + publishable(added)})
        return new_issue(told, state["classification"]["kind"], state["classification"]["team"])
    return issue


def link_issue(state: State, runtime: Runtime[Context]) -> dict:
    """Propose `link` from the link-score threshold up, else `create`; `none` for other kinds."""
    started = perf_counter()
    if is_follow_up(state) and state.get("issue") is not None:
        return {"issue": _conversation_issue(state),
                "timings_ms": {"link_issue": elapsed_ms(started)}}
    ctx = runtime.context
    ticket, classification = turn_ticket(state), state["classification"]
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
