"""Conversation rows (`conversations.jsonl`): play the turns, then score the last draft.

A row is a ticket (its first message) and the turns after it: the hero approving the
waiting draft, the hero sending their own text instead, and customer messages. They go
through `TriageService.converse` and `decide`, as the API's worker and the CLI do; the draft
that answers the last customer message is scored on its stage, status, team, language and
phrases (`expected`), with the same rule scorers as the draft rows.
"""

from __future__ import annotations

from typing import Any

from agent.conversation import Message
from agent.decisions import Decision
from agent.models import TriageResult
from evals.dataset import Row
from evals.draft_checks import (
    CheckResult,
    check_contains,
    check_dates,
    check_greeting,
    check_language,
    check_status,
    check_urls,
)

#: Every conversation check, in the order reports list them.
CONVERSATION_CHECKS = ("stage", "team", "playbook", "greeting", "must_contain",
                       "must_not_contain", "note_must_contain", "no_foreign_url",
                       "no_date_promise", "status_after", "language", "one_waiting_draft")


def play(service: Any, row: Row) -> TriageResult:
    """Triage the first message, then play every turn; the last draft's result."""
    result = service.triage(row.ticket).result
    for n, turn in enumerate(row.raw.get("turns") or [], start=1):
        decision = turn.get("decision")
        if decision == "approve":
            result = service.decide(row.id, Decision(action="approve", by="eval-hero",
                                                     version=result.version))
        elif decision == "edit":
            result = service.decide(row.id, Decision(action="edit", by="eval-hero",
                                                     body=turn["body"], version=result.version))
        else:
            message = Message(id=f"{row.id}-m{n}", author=turn.get("author", "customer"),
                              body=turn["body"], public=turn.get("public", True),
                              created_at=turn.get("created_at"))
            result = service.converse(row.id, [message], ticket=row.ticket).result
    return result


def _label(name: str, got: Any, want: Any) -> CheckResult:
    if want is None:
        return CheckResult(name, None)
    if got == want:
        return CheckResult(name, True)
    return CheckResult(name, False, f"expected {want}, got {got}")


def _one_waiting(result: TriageResult) -> CheckResult:
    # The last draft answers every customer message since the last reply that went out.
    answered_later = {m for t in result.history if t.outcome != "replaced" for m in t.answered}
    said = [e.id for e in result.conversation[1:] if e.author == "customer"]
    unread = [m for m in said if m not in answered_later]
    if result.status != "awaiting_review":
        return CheckResult("one_waiting_draft", False, f"status {result.status}")
    if not unread:
        return CheckResult("one_waiting_draft", False, "no customer message left to answer")
    return CheckResult("one_waiting_draft", True)


def check_conversation(result: TriageResult, row: Row) -> list[CheckResult]:
    """Every check of a conversation row's `expected` on its last draft."""
    want = row.expected
    body, note = result.draft.body, result.draft.internal_note
    language = want.get("language")
    playbook = want.get("playbook", "(absent)")
    return [
        _label("stage", result.stage, want.get("stage")),
        _label("team", result.team, want.get("team")),
        CheckResult("playbook", None) if playbook == "(absent)"
        else _label("playbook", result.playbook, playbook),
        check_greeting(body, row.ticket.first_name, language or "en"),
        check_contains(body, list(want.get("must_contain") or []), present=True),
        check_contains(body, list(want.get("must_not_contain") or []), present=False),
        _note_contains(note, list(want.get("note_must_contain") or [])),
        check_urls(body, result),
        check_dates(body),
        check_status(result.draft.status_after, want.get("status_after")),
        check_language(body, result, language),
        _one_waiting(result),
    ]


def _note_contains(note: str, needles: list[str]) -> CheckResult:
    found = check_contains(note, needles, present=True)
    return CheckResult("note_must_contain", found.passed, found.detail)
