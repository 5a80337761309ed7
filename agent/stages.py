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
_FLAGS = ("answers", "asks_missing", "issue_comment", "urgent", "new_topic")
_KEYS = {"name", "playbooks", "kinds", "plans", "match_any", "exclude", "status_after",
         "step", "reply", "after_pending", "focus_after", *_FLAGS}


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
    #: The reply's paragraphs (template keys), for the stages whose reply is fixed wording.
    reply: tuple[str, ...] = ()
    #: Applies only when the last reply left the ticket pending (it asked the customer).
    after_pending: bool = False
    #: The new text may be about something else: retrieval reads it alone, without the
    #: team's and playbook's pages preferred (the team itself stays).
    new_topic: bool = False
    #: Markers of a change of topic ("Different question: ..."): the text after the last
    #: one is what to answer.
    focus_after: tuple[re.Pattern[str], ...] = ()

    def focus(self, text: str) -> str:
        """The part of `text` to answer: after its last change-of-topic marker, if any."""
        cut = 0
        for pattern in self.focus_after:
            for found in pattern.finditer(text):
                cut = max(cut, found.end())
        rest = text[cut:].strip()
        return rest if len(rest.split()) >= 3 else text

    def applies(self, text: str, *, playbook: str | None, kind: str, plan: str | None,
                pending: bool = False) -> bool:
        """Whether this stage describes the customer's new text in this conversation."""
        if self.after_pending and not pending:
            return False
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
               plan: str | None, pending: bool = False) -> Stage:
        """The first stage that applies to the customer's new text."""
        for stage in self.later:
            if stage.applies(text, playbook=playbook, kind=kind, plan=plan, pending=pending):
                return stage
        raise ValueError("stages file has no catch-all stage (one without match_any)")

    def get(self, name: str, entry: int | None = None) -> Stage | None:
        """The stage called `name`; with `entry`, that table of the file if it has the name.

        A name may have several tables (the same stage, worded differently when the
        customer already gave what the other one asks for): `entry` tells which one.
        """
        if entry is not None and 0 <= entry < len(self.later) \
                and self.later[entry].name == name:
            return self.later[entry]
        return next((s for s in self.later if s.name == name), None)

    def entry_of(self, stage: Stage) -> int:
        """The position of `stage` among the later stages (see `get`)."""
        return self.later.index(stage)


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
        reply=_keys(where, raw.get("reply", [])), after_pending=bool(raw.get("after_pending")),
        new_topic=bool(raw.get("new_topic")),
        focus_after=_patterns(f"{where} focus_after", raw.get("focus_after", [])),
    )


def _keys(where: str, values: object) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where} reply: must be a list of template keys")
    return tuple(values)


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
