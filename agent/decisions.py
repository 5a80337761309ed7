"""A person's decision on a draft: the only thing that lets a reply leave Sidekick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from agent.teams import Teams

Action = Literal["approve", "edit", "reassign", "reject"]
ACTIONS: tuple[Action, ...] = ("approve", "edit", "reassign", "reject")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Decision(BaseModel):
    """What the hero chose. The surface stamps `at`, so re-running the node changes nothing."""

    action: Action
    by: str = Field(default="unknown", max_length=200)
    at: str = Field(default_factory=_now)
    body: str | None = Field(default=None, max_length=100_000)
    team: str | None = None
    reason: str | None = Field(default=None, max_length=2_000)

    @model_validator(mode="after")
    def _has_its_argument(self) -> Decision:
        if self.action == "edit" and not (self.body or "").strip():
            raise ValueError("`body` is required for edit and must not be empty")
        if self.action == "reassign" and not self.team:
            raise ValueError("`team` is required for reassign")
        if self.action == "reject" and not (self.reason or "").strip():
            raise ValueError("`reason` is required for reject")
        return self

    def check_team(self, teams: Teams) -> Decision:
        """Refuse a reassignment to a team outside the taxonomy."""
        if self.action == "reassign":
            teams.get(self.team or "")
        return self
