"""Where a conversation stands after the customer's latest reply (`data/stages.toml`).

The stages are the handbook's multi-step procedures (2FA removal: confirmation asked, then
confirmed or denied; ownership transfer: steps 1 to 4) and the turns every ticket has
("thanks, that fixed it", "still broken", the details a bug report lacked, a new question).
Detection is data, like the playbooks: regexes over the customer's new text, filtered by
the conversation's playbook, kind and plan.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent.models import Status

DEFAULT_STAGES_FILE = Path(__file__).parent / "data" / "stages.toml"
_STATUSES = ("pending", "solved")
_FLAGS = ("answers", "asks_missing", "issue_comment", "urgent")
_KEYS = {"name", "playbooks", "kinds", "plans", "match_any", "exclude", "status_after",
         "step", *_FLAGS}


@dataclass(frozen=True)
class Stage:
    """One stage and what the reply and the note do in it."""

    name: str
    status_after: Status
    step: str
    playbooks: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    plans: frozenset[str] | None = None
    match_any: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    answers: bool = False
    asks_missing: bool = False
    issue_comment: bool = False
    urgent: bool = False

    def applies(self, text: str, *, playbook: str | None, kind: str, plan: str | None) -> bool:
        """Whether this stage describes the customer's new text in this conversation."""
        if self.playbooks is not None and playbook not in self.playbooks:
            return False
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.plans is not None and plan not in self.plans:
            return False
        if self.match_any and not any(p.search(text) for p in self.match_any):
            return False
        return not any(p.search(text) for p in self.exclude)


@dataclass(frozen=True)
class Stages:
    """The first turn's stage per playbook or kind, and the ordered later stages."""

    first: dict[str, str]
    later: tuple[Stage, ...]

    def first_stage(self, playbook: str | None, kind: str) -> str:
        """The stage a conversation starts in."""
        return self.first.get(playbook or "") or self.first.get(kind) or "answered"

    def detect(self, text: str, *, playbook: str | None, kind: str,
               plan: str | None) -> Stage:
        """The first stage that applies to the customer's new text."""
        for stage in self.later:
            if stage.applies(text, playbook=playbook, kind=kind, plan=plan):
                return stage
        raise ValueError("stages file has no catch-all stage (one without match_any)")

    def get(self, name: str) -> Stage | None:
        """The later stage called `name`, if there is one."""
        return next((s for s in self.later if s.name == name), None)


def _patterns(where: str, values: object) -> tuple[re.Pattern[str], ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where}: must be a list of regular expressions")
    try:
        return tuple(re.compile(v, re.IGNORECASE) for v in values)
    except re.error as exc:
        raise ValueError(f"{where}: invalid regular expression: {exc}") from None


def _stage(n: int, raw: dict) -> Stage:
    where = f"[[stage]] #{n + 1} ({raw.get('name', '?')})"
    unknown = set(raw) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if raw.get("status_after") not in _STATUSES:
        raise ValueError(f"{where}: status_after must be one of {_STATUSES}")
    def members(key: str) -> frozenset[str] | None:
        return frozenset(raw[key]) if key in raw else None

    return Stage(
        name=str(raw.get("name") or ""), status_after=raw["status_after"],
        step=str(raw.get("step") or ""),
        playbooks=members("playbooks"), kinds=members("kinds"), plans=members("plans"),
        match_any=_patterns(f"{where} match_any", raw.get("match_any", [])),
        exclude=_patterns(f"{where} exclude", raw.get("exclude", [])),
        answers=bool(raw.get("answers")), asks_missing=bool(raw.get("asks_missing")),
        issue_comment=bool(raw.get("issue_comment")), urgent=bool(raw.get("urgent")),
    )


def load_stages(path: str | Path | None = None) -> Stages:
    """Read a stages file (the packaged one when no path is given).

    Raises:
        ValueError: the file is unreadable, a key is unknown or a value is invalid (the
            message names the stage and the key).

    """
    path = Path(path) if path else DEFAULT_STAGES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"stages file {path} unreadable: {exc}") from None
    later = tuple(_stage(n, raw) for n, raw in enumerate(data.get("stage", [])))
    if not any(not s.match_any and s.kinds is None and s.playbooks is None for s in later):
        raise ValueError(f"stages file {path}: the last stage must be a catch-all")
    return Stages(first=dict(data.get("first", {})), later=later)


@cache
def default_stages() -> Stages:
    """The packaged stages, parsed once (read-only data)."""
    return load_stages()
