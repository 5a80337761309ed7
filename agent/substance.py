"""Guards on what a draft says, not only how it looks.

The check node refuses a draft that

- is too short for the ticket, or is a placeholder ("body", "TICKET", "Your Name", "1",
  "[your name]", "{{first_name}}"),
- is not in the customer's language,
- leaves out the issue link the result proposes,
- answers a question the docs answer without using any retrieved passage,
- says an account action (2FA removal, ownership transfer, refund) is done when nobody did it.

The rules that are lists (placeholders, claim phrases per language, lengths) are data in
`data/guards.toml`. They apply to every engine: the offline engine's drafts pass them by
construction, which is what lets the check node fall back to one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent.drafting.compose import customer_passages
from agent.drafting.extract import best_sentences, content_words
from agent.drafting.follow_up import follow_up_language
from agent.engines.base import DraftRequest
from agent.guards import Problem, find_urls, normalize_url, reply_text
from agent.language import LANGUAGE_NAMES, detect_language
from agent.models import Draft, Passage
from agent.stages import default_stages

DEFAULT_GUARDS_FILE = Path(__file__).parent / "data" / "guards.toml"
#: Kinds whose first reply links the issue `link_issue` proposes (agent/nodes/link_issue.py).
LINKED_KINDS = ("bug", "feature_request")
#: Kinds answered from the docs when no playbook decides the reply (agent/drafting/compose.py).
ANSWERED_KINDS = ("question", "account_request")
#: Words of a passage (not already in the ticket) a reply must use to count as using it.
MIN_SHARED = 3
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_BARE_NUMBER = re.compile(r"[#\s]*\d[\d\s.,]*")
#: Before a claim in its sentence, these make it a condition, not a report ("once we've
#: removed it, ..."): en, de, fr, es, pt.
_CONDITIONAL = re.compile(
    r"\b(once|after|when|as\s+soon\s+as|until|before|if|sobald|nachdem|wenn|bevor|dès\s+que|"
    r"une\s+fois|lorsque|quand|avant|cuando|en\s+cuanto|una\s+vez|antes|quando|assim\s+que|"
    r"depois\s+que)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ActionRule:
    """An account action a reply may call done only at the stages where a person did it."""

    name: str
    done_at: frozenset[str]
    claims: tuple[re.Pattern[str], ...]
    #: The action's topic words: a reply that has none is not searched for claims.
    mentions: re.Pattern[str] | None = None


@dataclass(frozen=True)
class SubstanceRules:
    """`data/guards.toml`, parsed."""

    floor: int
    share: float
    cap: int
    whole: frozenset[str]
    lines: tuple[re.Pattern[str], ...]
    anywhere: tuple[re.Pattern[str], ...]
    actions: tuple[ActionRule, ...]


def _patterns(raw: list[str], where: str, path: Path) -> tuple[re.Pattern[str], ...]:
    try:
        return tuple(re.compile(p, re.IGNORECASE) for p in raw)
    except re.error as exc:
        raise ValueError(f"guards file {path}: {where}: bad regex: {exc}") from None


def load_substance_rules(path: str | Path | None = None) -> SubstanceRules:
    """Read a guards file (the packaged one when no path is given).

    Raises:
        ValueError: the file is unreadable or a regex is invalid (the message names where).

    """
    path = Path(path) if path else DEFAULT_GUARDS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"guards file {path} unreadable: {exc}") from None
    length, marks = data.get("length", {}), data.get("placeholders", {})
    actions = tuple(
        ActionRule(name=a["name"], done_at=frozenset(a.get("done_at", [])),
                   claims=_patterns(a.get("claims", []), f"actions {a['name']!r}", path),
                   mentions=next(iter(_patterns([a["mentions"]], f"actions {a['name']!r}",
                                                path)), None) if a.get("mentions") else None)
        for a in data.get("actions", []))
    return SubstanceRules(
        floor=int(length.get("floor", 6)), share=float(length.get("share", 0.2)),
        cap=int(length.get("cap", 20)),
        whole=frozenset(w.lower() for w in marks.get("whole", [])),
        lines=_patterns([rf"^\s*(?:{p})\s*$" for p in marks.get("lines", [])],
                        "placeholders.lines", path),
        anywhere=_patterns(marks.get("anywhere", []), "placeholders.anywhere", path),
        actions=actions,
    )


@cache
def default_substance_rules() -> SubstanceRules:
    """The packaged rules, parsed once (read-only data)."""
    return load_substance_rules()


def _placeholder(text: str, body: str, rules: SubstanceRules) -> Problem | None:
    """`text` is the reply without greeting and sign-off; markers count in `body`'s too."""
    bare = text.strip().strip("\"'`*_.,:;!").strip()
    if bare.lower() in rules.whole or _BARE_NUMBER.fullmatch(bare or "x"):
        return Problem("placeholder", f"the reply is only a placeholder: {bare!r}", bare)
    for line in text.splitlines():
        if any(p.fullmatch(line) for p in rules.lines):
            return Problem("placeholder", f"holds a placeholder line: {line.strip()!r}", line)
    for pattern in rules.anywhere:
        found = pattern.search(body)
        if found:
            return Problem("placeholder", f"holds a placeholder: {found.group(0)!r}",
                           found.group(0))
    return None


def _short(text: str, request: DraftRequest, rules: SubstanceRules) -> Problem | None:
    words = len(_WORD.findall(_without_links(text)))
    asked = len(_WORD.findall(request.ticket.text))
    need = min(rules.cap, max(rules.floor, round(rules.share * asked)))
    if words >= need:
        return None
    return Problem("short", f"too short for the ticket: {words} words, at least {need} "
                            f"for a message of {asked}")


def customer_language(request: DraftRequest) -> str:
    """The language the reply must be in: the one the offline engine writes it in."""
    if request.turn > 1:
        return follow_up_language(request)
    return detect_language(request.ticket.text)


def _without_links(text: str) -> str:
    for url in find_urls(text):
        text = text.replace(url, " ")
    return text


def _language(text: str, request: DraftRequest) -> Problem | None:
    # The reply's own prose: quoted docs (list items, in English) are left out.
    prose = _without_links("\n".join(line for line in text.splitlines()
                                     if not line.lstrip().startswith(("- ", "* "))))
    want, got = customer_language(request), detect_language(prose, min_hits=2)
    if got == want:
        return None
    return Problem("language", f"written in {LANGUAGE_NAMES[got]}; the customer wrote in "
                               f"{LANGUAGE_NAMES[want]}", got)


def _stage_flag(request: DraftRequest, flag: str) -> bool:
    stage = default_stages().get(request.stage or "", request.stage_entry)
    return bool(stage is not None and getattr(stage, flag))


def _issue_link(body: str, request: DraftRequest) -> Problem | None:
    issue = request.issue
    if issue.action != "link" or not issue.url:
        return None
    # The first reply to a bug or a feature request links its issue, and so does a later
    # one that sends the customer's new details there; other follow-ups need not repeat it.
    wanted = ((request.turn == 1 and request.kind in LINKED_KINDS)
              or (request.turn > 1 and _stage_flag(request, "issue_comment")))
    if not wanted or normalize_url(issue.url) in {normalize_url(u) for u in find_urls(body)}:
        return None
    return Problem("issue_link", f"leaves out the issue the result links: {issue.url}",
                   issue.url)


def _uses_a_passage(body: str, request: DraftRequest, passages: list[Passage]) -> bool:
    linked = {normalize_url(u) for u in find_urls(body)}
    new_words = content_words(body) - content_words(request.ticket.text)
    return any((p.url and normalize_url(p.url) in linked)
               or len(new_words & content_words(f"{p.title} {p.text}")) >= MIN_SHARED
               for p in passages)


def _ungrounded(body: str, request: DraftRequest) -> Problem | None:
    answers = (request.turn == 1 and request.kind in ANSWERED_KINDS and not request.playbook
               ) or (request.turn > 1 and _stage_flag(request, "answers"))
    passages = customer_passages(request)
    if not answers or _uses_a_passage(body, request, passages):
        return None
    # Only when the docs hold an answer (a sentence of a passage shares the ticket's words);
    # asked last, as it is the costly part.
    if not best_sentences(request.ticket.text, passages):
        return None
    return Problem("ungrounded", "answers the question without any of the retrieved "
                                 "passages (none linked, no words of theirs used)")


def _is_claim(body: str, match: re.Match[str]) -> bool:
    # A claim's own sentence, up to it, must not make it a condition ("once we've ...").
    start = max(body.rfind(mark, 0, match.start()) for mark in ".!?\n") + 1
    return not _CONDITIONAL.search(body, start, match.start())


def _claims(body: str, request: DraftRequest, rules: SubstanceRules) -> list[Problem]:
    problems = []
    for action in rules.actions:
        if request.stage in action.done_at or (action.mentions is not None
                                                and not action.mentions.search(body)):
            continue
        found = next((m for p in action.claims for m in p.finditer(body) if _is_claim(body, m)),
                     None)
        if found is not None:
            problems.append(Problem(
                "action_claim", f"says the {action.name} is done, and nobody did it: "
                                f"{found.group(0)!r}", found.group(0)))
    return problems


def inspect_substance(draft: Draft, request: DraftRequest,
                      rules: SubstanceRules | None = None) -> list[Problem]:
    """Return every problem with what the draft says (empty when it may go to review)."""
    rules = rules or default_substance_rules()
    body = draft.body.strip()
    text = reply_text(body)
    if not text:
        return []  # an empty reply is the form guards' (agent/guards.py) to report
    placeholder = _placeholder(text, body, rules)
    found = [placeholder or _short(text, request, rules), _language(text, request),
             _issue_link(body, request), _ungrounded(body, request)]
    return [p for p in found if p is not None] + _claims(body, request, rules)
