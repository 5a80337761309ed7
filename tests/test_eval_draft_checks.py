"""The reply rule scorers of drafts.jsonl, on hand-made triage results."""

from __future__ import annotations

from typing import Any

import pytest

from agent.models import Draft, IssueProposal, Passage, TriageResult
from evals.draft_checks import CHECKS, check_draft, prose_of

DOCS = "https://posthog.com/docs/billing/limits"
ISSUE = "https://github.com/PostHog/posthog/issues/42630"


def result(body: str, *, status: str = "solved", issue: str | None = None,
           passages: list[Passage] | None = None) -> TriageResult:
    return TriageResult(
        ticket_id="dra-0001", team="growth", team_confidence=0.9, priority="normal",
        kind="question",
        passages=passages if passages is not None else [
            Passage(title="Billing limits", url=DOCS, score=0.8,
                    text="Set a billing limit per product to cap what you spend each month.")],
        issue=IssueProposal(action="link", url=issue) if issue else IssueProposal(),
        draft=Draft(body=body, status_after=status), engine="offline")


def expected(**draft: Any) -> dict[str, Any]:
    spec = {"greeting_name": "Ada", "language": "en", "must_contain": [],
            "must_not_contain": [], "must_link_issue": None, "status_after": None}
    spec.update(draft)
    return {"team": "growth", "draft": spec}


def failed(res: TriageResult, exp: dict[str, Any]) -> dict[str, str]:
    return {c.name: c.detail for c in check_draft(res, exp) if c.passed is False}


GOOD = f"Hey Ada,\n\nThanks for reaching out! You can set a billing limit: {DOCS}\n\nBest,"


def test_a_good_reply_passes_every_check() -> None:
    checks = check_draft(result(GOOD), expected(must_contain=["Billing LIMIT"],
                                                must_not_contain=["tomorrow"],
                                                must_link_issue=False, status_after="solved"))
    assert [c.name for c in checks] == list(CHECKS)
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]


@pytest.mark.parametrize(("body", "name", "language", "ok"), [
    ("Hey Ada,\n\nHi.", "Ada", "en", True),
    ("Hey Bob,\n\nHi.", "Ada", "en", False),
    ("Hey there,\n\nHi.", None, "en", True),
    ("Hey Bob,\n\nHi.", None, "en", False),  # generic expected: no made-up name
    ("Hallo Jonas,\n\nDanke.", "Jonas", "de", True),
    ("Bonjour Jonas,\n\nMerci.", "Jonas", "de", False),  # French greeting on a German ticket
    ("Hola,\n\nGracias.", None, "es", True),
    ("Olá Ana-Sofía,\n\nObrigado.", "Ana-Sofía", "pt", True),
    ("Thanks for writing in.", "Ada", "en", False),
])
def test_greeting(body: str, name: str | None, language: str, ok: bool) -> None:
    problems = failed(result(body), expected(greeting_name=name, language=language))
    assert ("greeting" not in problems) is ok, problems


def test_must_contain_and_must_not_contain_ignore_case() -> None:
    problems = failed(result(GOOD), expected(must_contain=["BILLING", "confirm"],
                                             must_not_contain=["THANKS"]))
    assert problems["must_contain"] == "missing: 'confirm'"
    assert problems["must_not_contain"] == "contains: 'THANKS'"


def test_issue_link() -> None:
    linked = f"Hey Ada,\n\nThis is a known issue: {ISSUE}\n"
    assert "issue_link" not in failed(result(linked, issue=ISSUE),
                                      expected(must_link_issue=True, expected_issue_url=ISSUE))
    # the URL can also sit at expected.expected_issue_url, as the dataset repeats it there
    exp = expected(must_link_issue=True)
    exp["expected_issue_url"] = "https://github.com/PostHog/posthog/issues/1"
    assert "expected https://github.com/PostHog/posthog/issues/1" in failed(
        result(linked, issue=ISSUE), exp)["issue_link"]
    # no URL given: any issue link will do
    assert "issue_link" not in failed(result(linked, issue=ISSUE), expected(must_link_issue=True))
    assert "no issue link" in failed(result(GOOD), expected(must_link_issue=True))["issue_link"]
    assert "should not" in failed(result(linked, issue=ISSUE),
                                  expected(must_link_issue=False))["issue_link"]
    none = {c.name: c.passed for c in check_draft(result(GOOD), expected(must_link_issue=None))}
    assert none["issue_link"] is None  # not scored


def test_a_url_outside_the_sources_fails() -> None:
    body = GOOD + "\nReset it at evil.example.io/reset or https://posthog.com/docs/other"
    problem = failed(result(body), expected())["no_foreign_url"]
    assert "evil.example.io/reset" in problem and "docs/other" in problem
    # the linked issue is a source too
    body = f"Hey Ada,\n\nSee {ISSUE} and {DOCS}."
    assert "no_foreign_url" not in failed(result(body, issue=ISSUE), expected())


@pytest.mark.parametrize("promise", ["We'll fix it by Friday.", "It ships next week.",
                                     "Expect it tomorrow."])
def test_a_date_promise_fails(promise: str) -> None:
    assert "no_date_promise" in failed(result(f"Hey Ada,\n\n{promise}"), expected())


def test_status_after() -> None:
    assert failed(result(GOOD, status="pending"), expected(status_after="solved")) == {
        "status_after": "expected solved, got pending"}
    assert "status_after" not in failed(result(GOOD, status="pending"), expected())


def test_language_ignores_quoted_english_docs() -> None:
    passage = Passage(title="2FA", url=DOCS, score=0.7,
                      text="To remove the second factor, the owner of the account must confirm "
                           "the request by email and then we can reset it for them.")
    body = ("Hallo Jonas,\n\nDanke für Ihre Nachricht! Leider können wir das nicht sofort "
            "machen, bitte bestätigen Sie die Anfrage.\n\nDazu steht in unserer Dokumentation:\n"
            "- To remove the second factor, the owner of the account must confirm the request "
            f"by email and then we can reset it for them.\n\nMehr dazu: {DOCS}")
    res = result(body, passages=[passage])
    assert "To remove" not in prose_of(body, res)
    assert "language" not in failed(res, expected(greeting_name="Jonas", language="de"))
    english = result("Hey Jonas,\n\nThanks for your message, we are looking into this for you "
                     "and will get back to you with what we find.")
    assert failed(english, expected(greeting_name="Jonas", language="de"))["language"] == (
        "expected de, detected en")
