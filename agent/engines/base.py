"""The one interface both engines (offline and LLM) implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from agent.models import Draft, IssueProposal, Passage, Ticket, Usage
from agent.state import Classification
from agent.teams import Team, Teams


@dataclass(frozen=True, kw_only=True)
class DraftRequest:
    """Everything a drafter may use. Only `passages` and `issue` may be cited."""

    ticket: Ticket
    team: Team
    teams: Teams
    priority: str
    kind: str
    playbook: str | None
    passages: list[Passage]
    issue: IssueProposal
    team_confidence: float
    team_uncertain: bool
    rationale: str = ""
    #: The conversation: which turn this is (1 = the ticket itself), its stage
    #: (`agent/stages.py`), everything the customer said so far, what changed since the
    #: last turn, and the earlier turns' records (draft, decision, delivery).
    turn: int = 1
    stage: str | None = None
    stage_entry: int | None = None
    conversation: str = ""
    changes: tuple[str, ...] = ()
    #: A new question's topic in the hero's words, which carry the docs' words (a line of a
    #: team page, `knowledge/topics.py`): never quoted, only read to pick docs sentences.
    topic: str = ""


T = TypeVar("T")


@dataclass
class EngineResult(Generic[T]):
    """An engine's answer with what it cost and anything the hero should know."""

    value: T
    usage: Usage = field(default_factory=Usage)
    warnings: list[str] = field(default_factory=list)
    #: Who produced `value`: "offline", "llm", or "llm→offline" when the LLM's answer could
    #: not be used and the fallback's was (empty: the engine's own name).
    engine: str = ""
    #: Why the fallback's answer was used, when it was.
    reason: str = ""


class Engine(Protocol):
    """Classification refinement and drafting. The offline classifier always runs first."""

    name: str

    def classify(
        self, ticket: Ticket, *, teams: Teams, prior: Classification
    ) -> EngineResult[Classification]:
        """Return the engine's reading of team and kind (`prior` unchanged if it has none).

        Whether that reading outvotes the offline classifier is the classify node's call
        (`agent/second_opinion.py`), not the engine's.
        """
        ...

    def draft(self, request: DraftRequest) -> EngineResult[Draft]:
        """Return the reply draft and the internal note."""
        ...
