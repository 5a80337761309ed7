"""Checks every draft must pass before a person sees it, and the repairs that are safe.

A draft may only link to what retrieval and issue linking found (so text in a ticket, or a
model misled by it, cannot smuggle a link in), must greet the person, must not promise a
date, must be one message, and must not hand out or ask for credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agent.language import detect_language
from agent.models import Draft, Ticket
from agent.policy import Policy, default_policy
from agent.templates import Templates, default_templates

ProblemCode = Literal[
    "url", "greeting", "timeline", "empty", "multiple_messages", "secret",
    # On substance (agent/substance.py): what the reply says, not how it is laid out.
    "placeholder", "short", "language", "issue_link", "ungrounded", "action_claim",
]

_SCHEME_URL = re.compile(r"(?:https?|ftp)://[^\s<>()\[\]{}\"'`]+", re.IGNORECASE)
_WWW_URL = re.compile(r"(?<![\w@./-])www\.[^\s<>()\[\]{}\"'`]+", re.IGNORECASE)
# A bare domain ("evil.example.io/reset") is a link too in most mail clients. File names
# such as `posthog.js` are spared by keeping to common web TLDs.
_BARE_DOMAIN = re.compile(
    r"(?<![\w@./-])(?:[a-z0-9-]+\.)+(?:com|io|net|org|dev|app|co|ai|xyz|info|biz|me|sh|ru|cn|"
    r"tk|top|link|site|online|click)\b(?:/[^\s<>()\[\]{}\"'`]*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\")]}>*_"
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_GREETING_LINE = re.compile(
    r"^\s*(hey|hi|hello|dear|hallo|liebe[rs]?|bonjour|salut|hola|olá|ola|oi)\b[^\n]{0,60}[,!:]?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGN_OFF_LINE = re.compile(
    r"^\s*(best|cheers|thanks|thank you|kind regards|best regards|regards|sincerely|"
    r"viele grüße|mit freundlichen grüßen|cordialement|bien à vous|saludos|un saludo|"
    r"atenciosamente|abraços)[,!.]?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# Handing out or asking for secrets is never something a support reply should do.
_SECRET = re.compile(
    # A value after "password is" only counts when it looks like one (has a digit or symbol),
    # so "once your password is reset" stays fine.
    r"\b(password|passwort|mot de passe|contraseña|senha)\s*(is|ist|est|es|é|:|=)\s*"
    r"[`\"']?(?=\S*[\d!@#$%^&*_])\S{6,}"
    r"|\b(api|secret|personal|private)\s+(api\s+)?key\s*(is|:|=)\s*\S+"
    r"|\b(send|give|share|tell)\s+(us|me)\s+(your|the)\s+(admin\s+)?(password|api key|secret)"
    r"|\bphx_[A-Za-z0-9]{12,}|\bsk-[A-Za-z0-9]{16,}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    """One reason a draft cannot go out as it is."""

    code: ProblemCode
    message: str
    detail: str = ""


def normalize_url(url: str) -> str:
    """Reduce a URL for comparison: no scheme, fragment, trailing slash or punctuation."""
    url = url.strip().rstrip(_TRAILING)
    url = re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE).split("#", 1)[0].rstrip("/")
    host, _, path = url.partition("/")
    return host.lower().removeprefix("www.") + ("/" + path if path else "")


def find_urls(text: str) -> list[str]:
    """Return every link-like string in `text`, in order (scheme, www. and bare domains)."""
    found = [m.group(0).rstrip(_TRAILING) for m in _SCHEME_URL.finditer(text)]
    rest = _SCHEME_URL.sub(" ", text)
    found += [m.group(0).rstrip(_TRAILING) for m in _WWW_URL.finditer(rest)]
    rest = _WWW_URL.sub(" ", rest)
    found += [m.group(0).rstrip(_TRAILING) for m in _BARE_DOMAIN.finditer(rest)]
    return found


def is_allowed(url: str, allowed: Iterable[str]) -> bool:
    """Tell whether `url` is one of the allowed ones (a bare host counts if it hosts one)."""
    norm = normalize_url(url)
    allowed_norm = {normalize_url(a) for a in allowed if a}
    if "/" not in norm:
        return norm in {a.split("/", 1)[0] for a in allowed_norm}
    return norm in allowed_norm


def find_timeline(text: str, policy: Policy | None = None) -> str | None:
    """Return the first promised date or timeline in `text` ("by Friday"), if any."""
    for pattern in (policy or default_policy()).timeline_patterns:
        match = pattern.search(text)
        if match:
            return match.group(0)
    return None


def inspect_draft(
    draft: Draft,
    *,
    allowed_urls: Iterable[str],
    ticket: Ticket,
    templates: Templates | None = None,
) -> list[Problem]:
    """Return every problem with the draft, each with a code the check node acts on."""
    templates = templates or default_templates()
    allowed = [u for u in allowed_urls if u]
    body = draft.body.strip()
    if not body:
        return [Problem("empty", "the reply body is empty")]
    problems = [
        Problem("url", f"link not among the retrieved passages or the issue: {url}", url)
        for url in dict.fromkeys(find_urls(body))
        if not is_allowed(url, allowed)
    ]
    problems += [
        Problem("url", f"citation not among the retrieved passages or the issue: {url}", url)
        for url in draft.citations
        if not is_allowed(url, allowed)
    ]
    # The greeting of the ticket's language, or of any language the replies are written in:
    # a follow-up answers in the language of the customer's latest message.
    lang = detect_language(ticket.text)
    words = templates.greeting_words(lang) + tuple(
        w for other in templates.replies if other != lang
        for w in templates.greeting_words(other))
    if not any(re.match(rf"{re.escape(w)}[\s,!]", body) for w in words):
        expected = " / ".join(words)
        problems.append(Problem("greeting", f"does not start with a greeting ({expected})"))
    elif not _GREETING_LINE.sub("", body, count=1).strip():
        problems.append(Problem("empty", "the reply is only a greeting"))
    promise = find_timeline(body)
    if promise:
        problems.append(Problem("timeline", f"promises a date or timeline: {promise!r}", promise))
    if len(_GREETING_LINE.findall(body)) > 1 or len(_SIGN_OFF_LINE.findall(body)) > 1:
        problems.append(Problem("multiple_messages", "reads as several messages, not one"))
    secret = _SECRET.search(body)
    if secret:
        problems.append(Problem("secret", "hands out or asks for a credential", secret.group(0)))
    return problems


def find_problems(draft: Draft, *, allowed_urls: Iterable[str], ticket: Ticket) -> list[str]:
    """Say why the draft cannot go out as it is: an empty list when it can."""
    return [p.message for p in inspect_draft(draft, allowed_urls=allowed_urls, ticket=ticket)]


def reply_text(body: str) -> str:
    """The reply's own text: without its greeting line and sign-off lines."""
    text = _GREETING_LINE.sub("", body.strip(), count=1)
    return _SIGN_OFF_LINE.sub("", text).strip()


def remove_link_sentences(body: str, urls: Iterable[str]) -> str:
    """Remove every sentence (or list item) that carries one of the given links.

    Cutting only the link would leave "Log in at  to continue": the sentence around a
    link nobody retrieved was written for that link, so it goes with it.
    """
    urls = [u for u in urls if u]
    kept_lines = []
    for line in body.splitlines():
        parts = _SENTENCE_SPLIT.split(line)
        kept = [p for p in parts if not any(u in p for u in urls)]
        if len(kept) == len(parts):
            kept_lines.append(line)
        elif any(p.strip() for p in kept):
            kept_lines.append(" ".join(p.strip() for p in kept if p.strip()))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept_lines)).strip()


def with_greeting(body: str, greeting: str) -> str:
    """Open the body with `greeting`, replacing a different greeting line if present."""
    first, _, rest = body.strip().partition("\n")
    if _GREETING_LINE.fullmatch(first):
        return f"{greeting}\n{rest}".strip()
    return f"{greeting}\n\n{body.strip()}"
