"""Per-run context: the graph's collaborators and knobs, passed in by the surface that runs it.

Nodes never build clients or read the environment; everything they need arrives here
(`graph.invoke(..., context=Context(...))`), so a test can hand in local fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from agent.engines.base import Engine
from agent.models import Passage
from agent.teams import Teams
from knowledge.embeddings import Embedder


class Retriever(Protocol):
    """Hybrid (semantic + lexical) search over the ingested handbook and docs."""

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        embedding: np.ndarray | None = None,
        team: str | None = None,
        playbook: str | None = None,
    ) -> list[Passage]:
        """Top-k passages; pages of `team` / `playbook` are preferred when given."""
        ...

    def describe(self, embedding: np.ndarray) -> str | None:
        """The hero's words for the topic of a query's vector (a team page line), or None."""
        ...


#: Weight of the title overlap in `IssueMatch.link_score`. Cosine alone misses a ticket
#: that names the issue's subject in other words around it ("Customer.io as a source":
#: cosine 0.40 to the ticket asking for it), and a rare shared word is strong evidence.
TITLE_OVERLAP_WEIGHT = 0.5


@dataclass(frozen=True)
class IssueMatch:
    """An indexed GitHub issue and how close it is to a ticket.

    `score` is the cosine similarity (0–1); `title_overlap` the IDF-weighted share of the
    issue title's words that the ticket uses (0–1; 0 when the index cannot tell).
    """

    url: str
    title: str
    score: float
    state: str | None = None
    number: int | None = None
    title_overlap: float = 0.0
    #: bug or feature_request when the tracker says so (label or maintainer's triage).
    kind: str | None = None

    @property
    def link_score(self) -> float:
        """What `link_issue` ranks and thresholds: cosine plus half the title overlap."""
        return self.score + TITLE_OVERLAP_WEIGHT * self.title_overlap


class IssueIndex(Protocol):
    """The GitHub issues Sidekick knows of."""

    def closest(self, text: str, *, embedding: np.ndarray | None = None, k: int = 3
                ) -> list[IssueMatch]:
        """The k most similar issues, most similar first."""
        ...


class TicketClassifier(Protocol):
    """The offline embedding classifier for team and kind."""

    def predict(
        self,
        embedding: np.ndarray,
        *,
        text: str | None = None,
        subject_embedding: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """Return team, team_confidence, kind, kind_confidence, team_scores, kind_scores."""
        ...


class Outbox(Protocol):
    """Where an approved reply goes. Exactly once per idempotency key."""

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send (or record) the reply; a repeated key returns the first delivery, unsent again."""
        ...


@dataclass(kw_only=True)
class Context:
    """What one run of the graph may use."""

    teams: Teams
    embedder: Embedder
    classifier: TicketClassifier
    retriever: Retriever
    issues: IssueIndex | None
    engine: Engine
    outbox: Outbox
    top_k: int = 5
    confidence_threshold: float = 0.45
    link_threshold: float = 0.8
    llm_skip_classify_above: float = 0.9
    #: Below this offline confidence a disagreeing LLM may pick the label (among the offline
    #: classifier's top candidates); from it up the offline label stays.
    llm_outvote_below: float = 0.45

    def embed_one(self, text: str) -> np.ndarray:
        """The ticket's vector (cached by the embedder, so nodes may ask again)."""
        return self.embedder.embed([text])[0]

