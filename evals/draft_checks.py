"""Rule scorers for replies: what `expected.draft` in drafts.jsonl asks of a draft.

Each check returns passed / failed / not scored (None) and a detail a person can act on.
They reuse the agent's own guards (URLs, date promises), greetings (`templates.toml`)
and language detection, so that the eval and the `check` node agree on what a URL, a
greeting or a promise is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.guards import find_timeline, find_urls, is_allowed, normalize_url
from agent.language import detect_language
from agent.models import TriageResult
from agent.nodes.check import allowed_urls
from agent.templates import default_templates

#: Every check, in the order reports list them.
CHECKS = ("greeting", "must_contain", "must_not_contain", "issue_link", "no_foreign_url",
          "no_date_promise", "status_after", "language")

_ISSUE_URL = re.compile(r"github\.com/[^/\s]+/[^/\s]+/issues/\d+", re.IGNORECASE)
#: What may follow a greeting word when no name is expected ("Hey there,", "Hallo,").
_GENERIC_ADDRESSEE = r"(?:\s+(?:there|team|all|everyone|zusammen|à tous|a todos|pessoal))?"


@dataclass(frozen=True)
class CheckResult:
    """One check of one draft: passed, failed, or not scored (None)."""

    name: str
    passed: bool | None
    detail: str = ""


def _first_line(body: str) -> str:
    lines = body.strip().splitlines()
    return lines[0].strip() if lines else ""


def check_greeting(body: str, name: str | None, language: str) -> CheckResult:
    """The reply opens with the language's greeting and the first name (or a generic one)."""
    words = "|".join(re.escape(w) for w in default_templates().greeting_words(language))
    addressee = rf"\s+{re.escape(name)}" if name else _GENERIC_ADDRESSEE
    line = _first_line(body)
    if re.match(rf"(?:{words}){addressee}\s*[,!]", line, re.IGNORECASE):
        return CheckResult("greeting", True)
    want = f"{name!r}" if name else "no name"
    return CheckResult("greeting", False, f"opens with {line[:60]!r}; expected a {language} "
                                          f"greeting with {want}")


def check_contains(body: str, needles: list[str], *, present: bool) -> CheckResult:
    """Every needle is (present=True) or is not (False) in the body, ignoring case."""
    name = "must_contain" if present else "must_not_contain"
    lowered = body.lower()
    wrong = [n for n in needles if (n.lower() in lowered) != present]
    if not wrong:
        return CheckResult(name, True)
    return CheckResult(name, False, ("missing: " if present else "contains: ")
                       + ", ".join(repr(n) for n in wrong))


def check_issue_link(body: str, must_link: bool | None, url: str | None) -> CheckResult:
    """True: the expected issue (or any issue) is linked. False: no issue is linked."""
    if must_link is None:
        return CheckResult("issue_link", None)
    linked = [u for u in find_urls(body) if _ISSUE_URL.search(u)]
    if not must_link:
        if linked:
            return CheckResult("issue_link", False, f"links an issue it should not: {linked[0]}")
        return CheckResult("issue_link", True)
    if url is None:
        ok = bool(linked)
    else:
        ok = any(normalize_url(u) == normalize_url(url) for u in linked)
    if ok:
        return CheckResult("issue_link", True)
    got = ", ".join(linked) or "no issue link"
    return CheckResult("issue_link", False, f"expected {url or 'an issue link'}; got {got}")


def check_urls(body: str, result: TriageResult) -> CheckResult:
    """Every link in the body is a retrieved passage's or the proposed issue's."""
    allowed = allowed_urls(result.passages, result.issue)
    foreign = [u for u in dict.fromkeys(find_urls(body)) if not is_allowed(u, allowed)]
    if foreign:
        return CheckResult("no_foreign_url", False, "not among the sources: " + ", ".join(foreign))
    return CheckResult("no_foreign_url", True)


def check_dates(body: str) -> CheckResult:
    """No promised date or timeline (the agent's own patterns)."""
    promise = find_timeline(body)
    if promise:
        return CheckResult("no_date_promise", False, f"promises {promise!r}")
    return CheckResult("no_date_promise", True)


def check_status(got: str, expected: str | None) -> CheckResult:
    """The status the ticket gets after the reply (pending / solved)."""
    if expected is None:
        return CheckResult("status_after", None)
    if got == expected:
        return CheckResult("status_after", True)
    return CheckResult("status_after", False, f"expected {expected}, got {got}")


def prose_of(body: str, result: TriageResult) -> str:
    """The body without quoted docs: no list items, no lines with a link or a passage's text.

    TRICKY: a German reply may quote the English docs it cites (the offline engine lists
    them as bullet points); those quotes say nothing about the language of the reply
    itself. A body that is nothing but quotes is judged whole.
    """
    quoted = [p.text for p in result.passages if p.text]  # empty after a checkpoint reload
    kept = []
    for line in body.splitlines():
        core = line.strip()
        if not core or core[0] in "-*>•" or find_urls(core):
            continue
        if any(core[:60] in text for text in quoted):
            continue
        kept.append(line)
    prose = "\n".join(kept)
    return prose if len(prose.split()) >= 8 else body


def check_language(body: str, result: TriageResult, expected: str | None) -> CheckResult:
    """The reply's own prose is in the expected language (`agent/language.py`)."""
    if expected is None:
        return CheckResult("language", None)
    got = detect_language(prose_of(body, result))
    if got == expected:
        return CheckResult("language", True)
    return CheckResult("language", False, f"expected {expected}, detected {got}")


def check_draft(result: TriageResult, expected: dict[str, Any]) -> list[CheckResult]:
    """Run every check of one row's `expected.draft` (`expected` is the row's whole object)."""
    spec = expected.get("draft") or {}
    body = result.draft.body
    language = spec.get("language")
    issue_url = spec.get("expected_issue_url") or expected.get("expected_issue_url")
    return [
        check_greeting(body, spec.get("greeting_name"), language or "en"),
        check_contains(body, list(spec.get("must_contain") or []), present=True),
        check_contains(body, list(spec.get("must_not_contain") or []), present=False),
        check_issue_link(body, spec.get("must_link_issue"), issue_url),
        check_urls(body, result),
        check_dates(body),
        check_status(result.draft.status_after, spec.get("status_after")),
        check_language(body, result, language),
    ]
