"""check: the guards every draft passes before a person reviews it.

A problem that a mechanical edit fully fixes is repaired: a foreign link loses its sentence,
a missing greeting is added. Anything else (a promised date, several messages, a credential,
an empty body, and every problem of substance in `agent/substance.py`: a placeholder, too
short, the wrong language, the issue link left out, the passages ignored, an account action
claimed as done) replaces the draft with the offline engine's, which cites only what
retrieval found. Every reason lands in the internal note and in `warnings`, and `engines`
says the draft is the offline engine's and why.

Safe to run twice: a draft that passes returns no update, and whatever this node returns
passes its own checks.
"""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.drafting import build_draft, draft_request_from_state
from agent.engines.base import DraftRequest
from agent.guards import (
    Problem,
    find_urls,
    inspect_draft,
    is_allowed,
    remove_link_sentences,
    with_greeting,
)
from agent.intake_evidence import with_evidence
from agent.language import detect_language
from agent.models import Draft, IssueProposal, Passage, Ticket
from agent.nodes._timing import elapsed_ms
from agent.state import State
from agent.substance import inspect_substance
from agent.templates import default_templates

#: Problems a mechanical edit can fix; any other one means the draft is replaced.
REPAIRABLE = frozenset({"url", "greeting"})


def allowed_urls(passages: list[Passage], issue: IssueProposal | None) -> list[str]:
    """List the only URLs a reply may contain: the passages' and the linked issue's."""
    urls = [p.url for p in passages if p.url and not p.internal]
    if issue is not None and issue.url and issue.action in ("link", "create"):
        urls.append(issue.url)
    return urls


def _repair(draft: Draft, problems: list[Problem], allowed: list[str], ticket: Ticket) -> Draft:
    body = draft.body
    foreign = [p.detail for p in problems if p.code == "url"]
    if foreign:
        body = remove_link_sentences(body, foreign)
    if any(p.code == "greeting" for p in problems):
        greeting = default_templates().greeting(ticket.first_name, detect_language(ticket.text))
        body = with_greeting(body, greeting)
    # Citations are what the body actually links to, among the allowed URLs.
    cited = [u for u in dict.fromkeys(find_urls(body)) if is_allowed(u, allowed)]
    return draft.model_copy(update={"body": body, "citations": cited})


def _safe_fallback(draft: Draft, ticket: Ticket) -> Draft:
    # Last resort, should the offline draft itself fail: a greeting and an honest holding line.
    t = default_templates()
    lang = detect_language(ticket.text)
    body = f"{t.greeting(ticket.first_name, lang)}\n\n{t.reply('thanks', lang)} " + t.reply(
        "no_answer", lang
    )
    return draft.model_copy(update={"body": body, "citations": [], "status_after": "pending"})


def _note(draft: Draft, reasons: list[str], action: str) -> Draft:
    lines = [f"Sidekick check ({action}):", *(f"- {r}" for r in reasons)]
    note = "\n".join(filter(None, [draft.internal_note.rstrip(), "\n".join(lines)]))
    return draft.model_copy(update={"internal_note": note})


def _defang(reason: str) -> str:
    # The note is shown in Slack: a link a ticket smuggled in should not be clickable there.
    return reason.replace("://", "[://]")


def inspect(draft: Draft, request: DraftRequest, allowed: list[str], ticket: Ticket
            ) -> list[Problem]:
    """Every problem of form (`agent/guards.py`) and of substance (`agent/substance.py`)."""
    return (inspect_draft(draft, allowed_urls=allowed, ticket=ticket)
            + inspect_substance(draft, request))


def _engines(state: State, runtime: Runtime[Context], reasons: list[str]) -> dict[str, str]:
    """The draft is now the offline engine's: say so, and why the earlier one was refused."""
    engines = state.get("engines") or {}
    previous = engines.get("draft") or runtime.context.engine.name
    source = previous if previous.endswith("offline") else f"{previous}→offline"
    why = "; ".join(filter(None, [engines.get("draft_reason", ""),
                                  "the check refused the draft: " + "; ".join(reasons)]))
    return {"draft": source, "draft_reason": why}


def check(state: State, runtime: Runtime[Context]) -> dict:
    """Guard the draft: repair it, or replace it by the offline engine's, and say why."""
    started = perf_counter()
    ticket = state["ticket"]
    request = draft_request_from_state(state, runtime.context.teams)
    allowed = allowed_urls(list(state.get("passages") or []), state.get("issue"))
    draft = state.get("draft")
    problems = (
        inspect(draft, request, allowed, ticket)
        if draft is not None
        else [Problem("empty", "no draft was produced")]
    )
    if not problems:
        return {"timings_ms": {"check": elapsed_ms(started)}}
    reasons = [_defang(p.message) for p in problems]
    final, action = None, "repaired"
    if draft is not None and all(p.code in REPAIRABLE for p in problems):
        repaired = _repair(draft, problems, allowed, ticket)
        if not inspect(repaired, request, allowed, ticket):
            final = repaired
    update: dict = {}
    if final is None:
        action = "replaced by the offline engine's draft"
        final = with_evidence(build_draft(request), ticket, request.team.slug)
        if inspect(final, request, allowed, ticket):
            action, final = "replaced by a holding reply", _safe_fallback(final, ticket)
        update["engines"] = _engines(state, runtime, reasons)
    return {
        **update,
        "draft": _note(final, reasons, action),
        "warnings": [f"check: {r} ({action})" for r in reasons],
        "timings_ms": {"check": elapsed_ms(started)},
    }
