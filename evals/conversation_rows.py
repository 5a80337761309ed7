"""The row format of evals/datasets/conversations.jsonl and its checks.

A conversation row is a Ticket (the customer's first message) plus `turns` and `expected`:

```json
{"id": "con-0001", "source": "zendesk", "subject": "...", "body": "first message", ...,
 "turns": [
   {"author": "sidekick", "decision": "approve"},
   {"author": "hero", "decision": "edit", "body": "the hero's own reply"},
   {"author": "customer", "body": "the customer's reply", "created_at": "2026-11-02T10:05:00Z"}
 ],
 "expected": {"team": "replay", "playbook": null, "stage": "details_received",
              "status_after": "solved", "language": "en",
              "must_contain": ["Ada"], "must_not_contain": ["which version"],
              "note_must_contain": []},
 "notes": {"traits": ["bug_repro"], "why": "what this row tests"}}
```

Turns follow the first message in order. `sidekick`/`approve` sends the waiting draft as it
is; `hero`/`edit` sends the hero's text instead; a `customer` message may carry quoted e-mail
history below its new text. Two customer messages in a row are a reply while a draft waits
(the next draft answers both). The last turn is a customer message and `expected` describes
the draft that answers it: the playbook `stage` it reaches, the `status_after` the handbook
gives, the team (which only a hero changes), the reply's language, case-insensitive phrases
the reply must / must never contain, and phrases the internal note must contain.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Protocol

from agent.models import MAX_BODY_CHARS, Ticket

#: Stage -> (the playbook it belongs to, or None for any ticket; the statuses allowed).
#: The statuses are this dataset's conventions, from the handbook: pending when we wait on
#: the customer, solved when answered (the hero removes the TOTP device before sending
#: "done"; bug details go to a GitHub issue the customer can follow).
STAGES: dict[str, tuple[str | None, frozenset[str]]] = {
    "confirmation_sent": ("two_factor_removal", frozenset({"pending"})),
    "owner_confirmed": ("two_factor_removal", frozenset({"solved"})),
    "owner_denied": ("two_factor_removal", frozenset({"pending"})),
    "ask_current_owner": ("ownership_transfer", frozenset({"pending"})),
    "password_reset": ("ownership_transfer", frozenset({"pending"})),
    "email_owner": ("ownership_transfer", frozenset({"pending"})),
    # Pending when the reply asks who the billing contact should be, solved when given.
    "billing_contact": ("ownership_transfer", frozenset({"pending", "solved"})),
    "details_received": (None, frozenset({"solved"})),
    "still_broken": (None, frozenset({"pending"})),
    "resolved": (None, frozenset({"solved"})),
    "follow_up_question": (None, frozenset({"solved"})),
}
OWNERSHIP_ANSWER_STAGES = ("password_reset", "email_owner", "billing_contact")
EXPECTED_KEYS = {
    "team",
    "playbook",
    "stage",
    "status_after",
    "language",
    "must_contain",
    "must_not_contain",
    "note_must_contain",
}
PHRASE_KEYS = ("must_contain", "must_not_contain", "note_must_contain")
REPLY_LANGUAGES = {"en", "de", "fr", "es", "pt"}
PLAYBOOKS = {None, "self_hosted", "two_factor_removal", "ownership_transfer", "community_question"}
#: The keys each kind of turn has, all of them required.
TURN_SHAPES: dict[str, set[str]] = {
    "sidekick": {"author", "decision"},
    "hero": {"author", "decision", "body"},
    "customer": {"author", "body", "created_at"},
}
TURN_DECISIONS = {"sidekick": "approve", "hero": "edit"}
TRAITS = {
    "2fa_confirm",
    "2fa_deny",
    "2fa_request",
    "ownership",
    "bug_repro",
    "still_broken",
    "fixed",
    "follow_up",
    "non_english",
    "quoted_history",
    "draft_waits",
    "hero_edit",
    "multi_round",
    "short",
}
#: The attribution line mail clients put above quoted history, per language.
QUOTE_HEADERS = {
    "en": re.compile(r"^On .+ wrote:\s*$", re.M),
    "de": re.compile(r"^Am .+ schrieb .+:\s*$", re.M),
    "fr": re.compile(r"^Le .+ a écrit\s?:\s*$", re.M),
    "es": re.compile(r"^El .+ escribió:\s*$", re.M),
    "pt": re.compile(r"^Em .+ escreveu:\s*$", re.M),
    "nl": re.compile(r"^Op .+ schreef .+:\s*$", re.M),
    "it": re.compile(r"^Il .+ ha scritto:\s*$", re.M),
}
QUOTED_LINE = re.compile(r"^>", re.M)
ALLOWED_EMAIL = re.compile(r"@example\.(com|org|net)$", re.I)
#: Coverage floors: the counts the dataset's brief asks for.
FLOORS = {
    "rows": 40,
    "owner_confirmed": 6,
    "owner_confirmed_de_fr": 2,
    "owner_denied": 4,
    "ownership_answers": 6,
    "details_received": 8,
    "still_broken": 5,
    "resolved": 6,
    "follow_up_question": 5,
    "de_fr_not_2fa": 4,
    "quoted_history": 4,
    "quote_languages": 3,
    "draft_waits": 4,
}
#: The floors of conversations_holdout.jsonl, the blind held-out set (its brief's counts).
HOLDOUT_FLOORS = {
    "rows": 30,
    "owner_confirmed": 4,
    "owner_confirmed_non_en": 1,
    "owner_denied": 3,
    "ownership_answers": 4,
    "details_received": 5,
    "still_broken": 4,
    "resolved": 5,
    "follow_up_question": 5,
    "non_english": 6,
    "quoted_history": 4,
    "quote_languages": 3,
    "draft_waits": 3,
}
#: The floors of conversations_blind.jsonl, the second blind set (its brief's counts).
BLIND_FLOORS = {
    "rows": 40,
    "owner_confirmed": 6,
    "owner_confirmed_non_en": 2,
    "owner_denied": 4,
    "ownership_answers": 6,
    "details_received": 7,
    "still_broken": 6,
    "resolved": 6,
    "follow_up_question": 5,
    "non_english": 7,
    "quoted_history": 6,
    "quote_languages": 5,
    "draft_waits": 4,
}


class Reporter(Protocol):
    """Where problems go (validate_datasets.Report)."""

    def error(self, where: str, message: str) -> None:
        """Record a problem that makes the run fail."""


def quote_language(text: str) -> str | None:
    """Return the language of the first quote attribution line in a message, if any."""
    first: tuple[int, str] | None = None
    for lang, pattern in QUOTE_HEADERS.items():
        match = pattern.search(text)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), lang)
    return first[1] if first else None


def new_text(text: str) -> str:
    """Return a message without its quoted history (from the attribution or first `>` line)."""
    cuts = [m.start() for p in QUOTE_HEADERS.values() if (m := p.search(text))]
    if m := QUOTED_LINE.search(text):
        cuts.append(m.start())
    return text[: min(cuts)].strip() if cuts else text.strip()


def has_quote(text: str) -> bool:
    """Tell whether a message carries quoted history."""
    return new_text(text) != text.strip()


def customer_bodies(row: dict) -> list[str]:
    """The full text of each customer turn, quoted history included."""
    turns = row.get("turns")
    if not isinstance(turns, list):
        return []
    return [
        t["body"]
        for t in turns
        if isinstance(t, dict) and t.get("author") == "customer" and isinstance(t.get("body"), str)
    ]


def customer_texts(row: dict) -> list[str]:
    """The new text of each customer turn (what near-duplicate checks compare)."""
    return [new_text(body) for body in customer_bodies(row)]


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def check_turn(turn: object, where: str, report: Reporter) -> str | None:
    """Check one turn's shape; return its author when the shape is right."""
    if not isinstance(turn, dict):
        report.error(where, "a turn must be a JSON object")
        return None
    author = turn.get("author")
    if author not in TURN_SHAPES:
        report.error(where, f"turn author {author!r} not in {sorted(TURN_SHAPES)}")
        return None
    keys = TURN_SHAPES[author]
    for key in sorted(turn.keys() - keys):
        report.error(where, f"unknown key {key!r} in a {author} turn")
    for key in sorted(keys - turn.keys()):
        report.error(where, f"a {author} turn needs {key!r}")
    if author in TURN_DECISIONS and turn.get("decision") != TURN_DECISIONS[author]:
        report.error(where, f"a {author} turn's decision must be {TURN_DECISIONS[author]!r}")
    if "body" in keys:
        body = turn.get("body")
        if not isinstance(body, str) or not body.strip():
            report.error(where, f"a {author} turn needs a non-empty body")
        elif len(body) > MAX_BODY_CHARS:
            report.error(where, f"body longer than {MAX_BODY_CHARS} characters")
    if author == "customer" and _time(turn.get("created_at")) is None:
        report.error(where, f"created_at {turn.get('created_at')!r} is not an ISO 8601 time")
    return author if turn.keys() == keys else None


def check_turns(row: dict, ticket: Ticket, report: Reporter) -> list[str]:
    """Check the turns of a row in order; return their authors (empty when unusable)."""
    where = row["_where"]
    turns = row.get("turns")
    if not isinstance(turns, list) or not turns:
        report.error(where, "`turns` must be a non-empty list")
        return []
    authors: list[str | None] = []
    last_time = _time(ticket.created_at)
    previous = "customer"  # the ticket itself is the customer's first message
    for n, turn in enumerate(turns, 1):
        at = f"{where} turn {n}"
        author = check_turn(turn, at, report)
        authors.append(author)
        if author in TURN_DECISIONS and previous in TURN_DECISIONS:
            report.error(at, "a decision with no waiting draft (two decisions in a row)")
        if author == "customer":
            when = _time(turn["created_at"])
            if when and last_time and when < last_time:
                report.error(at, "created_at is earlier than the message before it")
            last_time = when or last_time
        previous = author or previous
    if authors[-1] != "customer":
        report.error(where, "the last turn must be a customer message")
    return [a for a in authors if a] if all(authors) else []


def check_phrases(row: dict, ticket: Ticket, report: Reporter) -> None:
    """Check the phrase lists of `expected`."""
    where, exp = row["_where"], row["expected"]
    for key in PHRASE_KEYS:
        value = exp.get(key, [])
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            report.error(where, f"expected.{key} must be a list of non-empty strings")
            exp[key] = []
    contain = {s.lower() for s in exp.get("must_contain", [])}
    forbid = {s.lower() for s in exp.get("must_not_contain", [])}
    for s in sorted(contain & forbid):
        report.error(where, f"{s!r} is both required and forbidden")
    name = ticket.first_name
    if name and name.lower() not in contain:
        report.error(where, f"must_contain lacks the first name {name!r} (handbook: 'Hey [name]')")
    stage = exp.get("stage")
    notes = {s.lower() for s in exp.get("note_must_contain", [])}
    if stage == "owner_confirmed" and not any("totp" in s for s in notes):
        report.error(where, "owner_confirmed: the note must name the TOTP device step")
    if stage == "confirmation_sent" and ticket.id.lower() not in contain:
        report.error(where, "confirmation_sent: the confirmation must cite the ticket id")
    if stage in ("owner_denied", "details_received") and not forbid:
        report.error(where, f"{stage}: must_not_contain must say what the reply may never say")


def check_expected(row: dict, ticket: Ticket, teams: set[str], report: Reporter) -> None:
    """Check `expected`: known keys, allowed values, stage/status/playbook consistency."""
    where, exp = row["_where"], row["expected"]
    for key in sorted(exp.keys() - EXPECTED_KEYS):
        report.error(where, f"unknown expected key {key!r} in conversations")
    stage, status, playbook = exp.get("stage"), exp.get("status_after"), exp.get("playbook")
    if stage not in STAGES:
        report.error(where, f"expected.stage {stage!r} not in {sorted(STAGES)}")
    elif status not in STAGES[stage][1]:
        allowed = sorted(STAGES[stage][1])
        report.error(where, f"expected.status_after {status!r} for {stage} (allowed: {allowed})")
    elif STAGES[stage][0] and playbook != STAGES[stage][0]:
        report.error(where, f"stage {stage} belongs to playbook {STAGES[stage][0]}, not {playbook}")
    if exp.get("team") is not None and exp["team"] not in teams:
        report.error(where, f"unknown team {exp['team']!r}")
    if playbook not in PLAYBOOKS:
        report.error(where, f"unknown playbook {playbook!r}")
    if playbook in ("two_factor_removal", "ownership_transfer") and exp.get("team") != "growth":
        report.error(where, f"{playbook} belongs to growth, not {exp.get('team')}")
    if (playbook == "community_question") != (ticket.source == "community"):
        report.error(where, "community_question exactly when the source is community")
    if stage == "billing_contact" and ticket.organization.plan not in ("paid", "enterprise"):
        report.error(where, "billing_contact (Stripe) applies to paid plans only")
    if exp.get("language", "en") not in REPLY_LANGUAGES:
        report.error(where, f"expected.language {exp.get('language')!r} not allowed")
    check_phrases(row, ticket, report)


def structure(row: dict, authors: list[str]) -> set[str]:
    """Traits that follow from the turns themselves (checked against notes.traits)."""
    found = set()
    flow = ["customer", *authors]
    if any(a == b == "customer" for a, b in zip(flow, flow[1:], strict=False)):
        found.add("draft_waits")
    if any(has_quote(body) for body in customer_bodies(row)):
        found.add("quoted_history")
    if "hero" in authors:
        found.add("hero_edit")
    if sum(a in TURN_DECISIONS for a in authors) >= 2:
        found.add("multi_round")
    if row["expected"].get("language", "en") != "en":
        found.add("non_english")
    return found


def check_notes(row: dict, authors: list[str], report: Reporter) -> None:
    """Check notes.traits and notes.why; structural traits must match the turns."""
    where, notes = row["_where"], row.get("notes")
    if not isinstance(notes, dict):
        report.error(where, "missing `notes` object")
        return
    traits = notes.get("traits")
    if not isinstance(traits, list) or not all(isinstance(t, str) for t in traits):
        report.error(where, "notes.traits must be a list of strings")
        return
    for trait in sorted(set(traits) - TRAITS):
        report.error(where, f"unknown trait {trait!r}")
    if not isinstance(notes.get("why"), str) or not notes["why"].strip():
        report.error(where, "notes.why must say what the row tests")
    if not authors:
        return
    found = structure(row, authors)
    for trait in sorted(found - set(traits)):
        report.error(where, f"the turns show {trait!r} but notes.traits does not list it")
    for trait in sorted((set(traits) & {"draft_waits", "quoted_history", "hero_edit"}) - found):
        report.error(where, f"notes.traits lists {trait!r} but the turns do not show it")


def check_conversation(row: dict, ticket: Ticket, teams: set[str], report: Reporter) -> None:
    """Run every check of one conversations.jsonl row."""
    email = ticket.requester.email
    if email and not ALLOWED_EMAIL.search(email):
        report.error(row["_where"], "requester e-mail must be @example.com/.org/.net")
    authors = check_turns(row, ticket, report)
    check_expected(row, ticket, teams, report)
    check_notes(row, authors, report)


def _authors(row: dict) -> list[str]:
    turns = row.get("turns")
    if not isinstance(turns, list):
        return []
    return [t.get("author", "") for t in turns if isinstance(t, dict)]


def coverage(rows: list[dict]) -> Counter[str]:
    """Count what the rows cover, from their structure and labels (not from notes.traits)."""
    counts: Counter[str] = Counter()
    quote_langs: set[str] = set()
    for row in rows:
        exp = row["expected"]
        stage, lang = exp.get("stage"), exp.get("language", "en")
        counts["rows"] += 1
        counts[str(stage)] += 1
        counts["owner_confirmed_de_fr"] += stage == "owner_confirmed" and lang in ("de", "fr")
        counts["owner_confirmed_non_en"] += stage == "owner_confirmed" and lang != "en"
        counts["non_english"] += lang != "en"
        counts["ownership_answers"] += stage in OWNERSHIP_ANSWER_STAGES
        counts["de_fr_not_2fa"] += (
            lang in ("de", "fr") and exp.get("playbook") != "two_factor_removal"
        )
        flow = ["customer", *_authors(row)]
        counts["draft_waits"] += any(
            a == b == "customer" for a, b in zip(flow, flow[1:], strict=False)
        )
        quoted = [body for body in customer_bodies(row) if has_quote(body)]
        counts["quoted_history"] += bool(quoted)
        quote_langs.update(lang for body in quoted if (lang := quote_language(body)))
    counts["quote_languages"] = len(quote_langs)
    return counts


def check_coverage(
    rows: list[dict],
    report: Reporter,
    floors: dict[str, int] = FLOORS,
    where: str = "conversations",
) -> Counter[str]:
    """Report every coverage floor the rows miss; return the counts.

    Args:
        rows: The rows of one conversations file.
        report: Where the problems go.
        floors: The file's floors (FLOORS, or HOLDOUT_FLOORS for the held-out set).
        where: The file's name in the messages.
    """
    counts = coverage(rows)
    for key, floor in floors.items():
        if counts[key] < floor:
            report.error(where, f"only {counts[key]} {key} (need {floor})")
    for stage in OWNERSHIP_ANSWER_STAGES:
        if not counts[stage]:
            report.error(where, f"no ownership transfer answer at stage {stage}")
    return counts
