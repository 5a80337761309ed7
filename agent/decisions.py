"""A person's decision on a draft: the only thing that lets a reply leave Sidekick.

A decision names the version of the draft the person read (`version`); a decision on a
version that a newer draft replaced is refused (`StaleDraft`), so an approval can never
send a text nobody saw.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from agent.teams import Teams

Action = Literal["approve", "edit", "reassign", "reject"]
ACTIONS: tuple[Action, ...] = ("approve", "edit", "reassign", "reject")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class VersionRequired(Exception):
    """A decision that does not say which draft version it decides on."""


class StaleDraft(RuntimeError):
    """A decision on a draft version that a newer draft replaced."""

    def __init__(self, ticket_id: str, given: int, current: int) -> None:
        """Say which version was decided on and which one is waiting now."""
        super().__init__(f"draft version {given} of ticket {ticket_id} was replaced by "
                         f"version {current}; read the new draft and decide on it")
        self.ticket_id, self.given, self.current = ticket_id, given, current


class Decision(BaseModel):
    """What the hero chose. The surface stamps `at`, so re-running the node changes nothing."""

    action: Action
    by: str = Field(default="unknown", max_length=200)
    at: str = Field(default_factory=_now)
    body: str | None = Field(default=None, max_length=100_000)
    team: str | None = None
    reason: str | None = Field(default=None, max_length=2_000)
    #: The draft version decided on. Optional only for decisions checkpointed before
    #: versions existed; every surface sets it (`require_version`).
    version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _has_its_argument(self) -> Decision:
        if self.action == "edit" and not (self.body or "").strip():
            raise ValueError("`body` is required for edit and must not be empty")
        if self.action == "reassign" and not self.team:
            raise ValueError("`team` is required for reassign")
        if self.action == "reject" and not (self.reason or "").strip():
            raise ValueError("`reason` is required for reject")
        return self

    def require_version(self) -> int:
        """The version this decision names; VersionRequired when it names none."""
        if self.version is None:
            raise VersionRequired("a decision must name the draft `version` it decides on")
        return self.version

    def check_version(self, ticket_id: str, current: int) -> Decision:
        """Refuse a decision on a draft that a newer version replaced."""
        if self.require_version() != current:
            raise StaleDraft(ticket_id, self.version or 0, current)
        return self

    def check_team(self, teams: Teams) -> Decision:
        """Refuse a reassignment to a team outside the taxonomy."""
        if self.action == "reassign":
            teams.get(self.team or "")
        return self
