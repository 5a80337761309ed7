"""The handbook's queue order and response-time targets, read from `data/policy.toml`.

Priority is decided from ticket metadata only (Customer Success escalation, Zendesk's
priority, the channel, the organization's plan): never from the ticket's text, so a ticket
cannot talk its way up the queue.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, NamedTuple, get_args

from agent.models import Priority, Ticket

DEFAULT_POLICY_FILE = Path(__file__).parent / "data" / "policy.toml"

ResponseState = Literal["great", "fine", "late", "too_late"]

_CONDITIONS = ("cs_escalated", "source", "zendesk_priority", "plan", "tags_any")


class PriorityDecision(NamedTuple):
    """A priority and the handbook reason behind it (for the hero's note)."""

    priority: Priority
    reason: str


@dataclass(frozen=True)
class PriorityRule:
    """One row of the queue-order table: conditions that must all hold, and the outcome."""

    priority: Priority
    reason: str
    cs_escalated: bool | None = None
    source: frozenset[str] | None = None
    zendesk_priority: frozenset[str] | None = None
    plan: frozenset[str] | None = None
    tags_any: frozenset[str] | None = None

    @property
    def unconditional(self) -> bool:
        """Tell whether the rule matches every ticket (the fallback row)."""
        return all(getattr(self, key) is None for key in _CONDITIONS)

    def matches(self, ticket: Ticket) -> bool:
        """Tell whether every condition of this rule holds for the ticket's metadata."""
        tags = {t.strip().lower() for t in ticket.tags}
        checks = (
            self.cs_escalated is None or ticket.cs_escalated == self.cs_escalated,
            self.source is None or ticket.source in self.source,
            self.zendesk_priority is None or ticket.priority in self.zendesk_priority,
            self.plan is None or ticket.organization.plan in self.plan,
            self.tags_any is None or bool(tags & self.tags_any),
        )
        return all(checks)


@dataclass(frozen=True)
class ResponseTargets:
    """The handbook's response-time targets, in seconds."""

    great_under: float
    fine_under: float
    too_late_over: float


@dataclass(frozen=True)
class Policy:
    """The whole support policy file, parsed and validated."""

    rules: tuple[PriorityRule, ...]
    targets: ResponseTargets
    timeline_patterns: tuple[re.Pattern[str], ...]


def _rule(row: dict, index: int, path: Path) -> PriorityRule:
    where = f"policy file {path}: priority rule #{index + 1}"
    if row.get("priority") not in get_args(Priority):
        raise ValueError(f"{where}: `priority` must be one of {get_args(Priority)}")
    unknown = set(row) - {"priority", "reason", *_CONDITIONS}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    sets = {
        key: frozenset(str(v).lower() for v in row[key])
        for key in ("source", "zendesk_priority", "plan", "tags_any")
        if key in row
    }
    return PriorityRule(
        priority=row["priority"],
        reason=str(row.get("reason", row["priority"])),
        cs_escalated=row.get("cs_escalated"),
        **sets,
    )


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy TOML file (the packaged one when no path is given).

    Raises:
        ValueError: the file is missing, not TOML, or a rule is malformed.

    """
    path = Path(path) if path else DEFAULT_POLICY_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"policy file {path} unreadable: {exc}") from None
    rules = tuple(_rule(row, i, path) for i, row in enumerate(data.get("priority", [])))
    if not rules or not rules[-1].unconditional:
        # Without a catch-all last row some ticket would get no priority at all.
        raise ValueError(f"policy file {path}: the last priority rule must have no condition")
    rt = data.get("response_time", {})
    targets = ResponseTargets(
        great_under=float(rt.get("great_under_seconds", 900)),
        fine_under=float(rt.get("fine_under_seconds", 3600)),
        too_late_over=float(rt.get("too_late_over_seconds", 86400)),
    )
    patterns = tuple(
        re.compile(p, re.IGNORECASE) for p in data.get("guards", {}).get("timeline_patterns", [])
    )
    return Policy(rules=rules, targets=targets, timeline_patterns=patterns)


@cache
def default_policy() -> Policy:
    """Return the packaged policy, parsed once (read-only data, not a client)."""
    return load_policy()


def priority_for(ticket: Ticket, policy: Policy | None = None) -> PriorityDecision:
    """Return the ticket's queue priority and why, from the first matching rule.

    Returns:
        A `(priority, reason)` named tuple: `priority, reason = priority_for(ticket)`.

    """
    policy = policy or default_policy()
    for rule in policy.rules:
        if rule.matches(ticket):
            return PriorityDecision(rule.priority, rule.reason)
    # Unreachable with a validated policy (the last rule is unconditional).
    return PriorityDecision("low", "no rule matched")


def response_state(age_seconds: float, policy: Policy | None = None) -> ResponseState:
    """Rate a ticket waiting `age_seconds` for a first reply against the targets.

    Returns:
        "great" under 15 minutes, "fine" under an hour, "late" up to a day, "too_late" after.

    """
    targets = (policy or default_policy()).targets
    if age_seconds < targets.great_under:
        return "great"
    if age_seconds < targets.fine_under:
        return "fine"
    if age_seconds <= targets.too_late_over:
        return "late"
    return "too_late"
