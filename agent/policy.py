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


_LIST_CONDITIONS = ("source", "zendesk_priority", "plan", "tags_any")
_TOP_LEVEL = frozenset({"priority", "response_time", "guards"})
_TARGET_KEYS = ("great_under_seconds", "fine_under_seconds", "too_late_over_seconds")


def _rule(row: dict, index: int, path: Path) -> PriorityRule:
    where = f"policy file {path}: priority rule #{index + 1}"
    if not isinstance(row, dict):
        raise ValueError(f"{where}: must be a [[priority]] table")
    if row.get("priority") not in get_args(Priority):
        raise ValueError(f"{where}: `priority` must be one of {get_args(Priority)}")
    unknown = set(row) - {"priority", "reason", *_CONDITIONS}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if "cs_escalated" in row and not isinstance(row["cs_escalated"], bool):
        raise ValueError(f"{where}: `cs_escalated` must be true or false")
    for key in _LIST_CONDITIONS:
        if key in row and not (isinstance(row[key], list) and row[key]):
            raise ValueError(f"{where}: `{key}` must be a non-empty list")
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
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"policy file {path} unreadable: {exc}") from None
    unknown = set(data) - _TOP_LEVEL
    if unknown:
        raise ValueError(f"policy file {path}: unknown keys {sorted(unknown)}; "
                         f"known: {sorted(_TOP_LEVEL)}")
    rules = tuple(_rule(row, i, path) for i, row in enumerate(data.get("priority", [])))
    if not rules or not rules[-1].unconditional:
        # Without a catch-all last row some ticket would get no priority at all.
        raise ValueError(f"policy file {path}: the last priority rule must have no condition")
    # TRICKY: a replacement file about the queue order must not switch off the guard
    # against promised dates: without its own [guards] it keeps the packaged patterns.
    patterns = (_patterns(data["guards"], path) if "guards" in data or path == DEFAULT_POLICY_FILE
                else _packaged_policy().timeline_patterns)
    return Policy(rules=rules, targets=_targets(data.get("response_time", {}), path),
                  timeline_patterns=patterns)


def _targets(rt: dict, path: Path) -> ResponseTargets:
    unknown = set(rt) - set(_TARGET_KEYS)
    if unknown:
        raise ValueError(f"policy file {path}: [response_time] unknown keys {sorted(unknown)}")
    values = {"great_under_seconds": 900, "fine_under_seconds": 3600,
              "too_late_over_seconds": 86400, **rt}
    for key in _TARGET_KEYS:
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"policy file {path}: [response_time] `{key}` must be a "
                             "positive number of seconds")
    return ResponseTargets(great_under=float(values["great_under_seconds"]),
                           fine_under=float(values["fine_under_seconds"]),
                           too_late_over=float(values["too_late_over_seconds"]))


def _patterns(guards: dict, path: Path) -> tuple[re.Pattern[str], ...]:
    out = []
    for i, pattern in enumerate(guards.get("timeline_patterns", [])):
        try:
            out.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"policy file {path}: [guards] `timeline_patterns` #{i + 1}: "
                             f"bad pattern: {exc}") from None
    return tuple(out)


#: The policy `install_policy` put in place of the packaged one (SIDEKICK_POLICY_FILE).
_installed: list[Policy] = []


def install_policy(policy: Policy | None) -> None:
    """Make `policy` every caller's default (None: back to the packaged file)."""
    _installed[:] = [policy] if policy is not None else []


@cache
def _packaged_policy() -> Policy:
    return load_policy()


def default_policy() -> Policy:
    """Return the installed policy, else the packaged one (parsed once)."""
    return _installed[0] if _installed else _packaged_policy()


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
