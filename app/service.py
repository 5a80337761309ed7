"""The one entry point every surface uses: triage a ticket, read its draft, decide on it.

The CLI, the evals (and later the API and Slack) call this, never the graph directly, so
the rules "a ticket is triaged exactly once" and "only a decision resumes a thread" live
in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent.context import Context
from agent.decisions import Decision
from agent.graph import build_graph
from agent.models import Ticket, TriageResult
from agent.result import result_from_state
from agent.state import State
from app.settings import Settings


class UnknownTicket(LookupError):
    """No thread exists for this ticket id."""


class NotAwaitingReview(RuntimeError):
    """The ticket's draft was already decided on (or is still being triaged)."""


@dataclass
class Outcome:
    """A triage result and whether this call produced it or found it already there."""

    result: TriageResult
    created: bool


@dataclass
class TriageService:
    """Triage, review and decisions over one graph with a persistent checkpointer."""

    graph: CompiledStateGraph[State, Context, State, State]
    context: Context

    @staticmethod
    def _config(ticket_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": ticket_id}}

    def _values(self, ticket_id: str) -> tuple[dict[str, Any], tuple[str, ...]]:
        snapshot = self.graph.get_state(self._config(ticket_id))
        return dict(snapshot.values or {}), tuple(snapshot.next or ())

    def prepare(self, tickets: Sequence[Ticket]) -> None:
        """Embed a batch of tickets in one go; the nodes then find their vectors cached."""
        texts = [t.text for t in tickets] + [t.subject for t in tickets if t.subject]
        self.context.embedder.embed(texts)

    def triage(self, ticket: Ticket) -> Outcome:
        """Run the graph up to the review; a ticket already triaged is returned as it is."""
        config = self._config(ticket.id)
        values, pending = self._values(ticket.id)
        if values and (not pending or pending == ("review",)):
            return Outcome(result_from_state(values), created=False)
        # A run killed half-way resumes from its last checkpoint instead of starting over.
        run_input: State | None = None if values else {"ticket": ticket}
        self.graph.invoke(run_input, config, context=self.context)
        values, _ = self._values(ticket.id)
        return Outcome(result_from_state(values), created=True)

    def get(self, ticket_id: str) -> TriageResult:
        """The ticket's current result (waiting, delivered or rejected)."""
        values, _ = self._values(ticket_id)
        if not values:
            raise UnknownTicket(ticket_id)
        return result_from_state(values)

    def state(self, ticket_id: str) -> dict[str, Any]:
        """The raw graph state (decision and delivery records included)."""
        values, _ = self._values(ticket_id)
        if not values:
            raise UnknownTicket(ticket_id)
        return values

    def decide(self, ticket_id: str, decision: Decision) -> TriageResult:
        """Resume the waiting thread with a person's decision."""
        values, pending = self._values(ticket_id)
        if not values:
            raise UnknownTicket(ticket_id)
        if pending != ("review",):
            status = values.get("status", "unknown")
            raise NotAwaitingReview(f"ticket {ticket_id} is not awaiting review (it is {status})")
        decision.check_team(self.context.teams)
        self.graph.invoke(
            Command(resume=decision.model_dump(mode="json")),
            self._config(ticket_id),
            context=self.context,
        )
        return self.get(ticket_id)


@contextmanager
def open_service(settings: Settings) -> Iterator[TriageService]:
    """Build the context from settings and a graph on the SQLite checkpointer."""
    from app.runtime import build_context
    from app.store.checkpoint import open_checkpointer

    with open_checkpointer(settings) as saver:
        yield TriageService(graph=build_graph(saver), context=build_context(settings))
