"""The one entry point every surface uses: triage a ticket, read its draft, decide on it.

The CLI, the evals (and later the API and Slack) call this, never the graph directly, so
the rules "a ticket is triaged exactly once" and "only a decision resumes a thread" live
in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent.context import Context
from agent.conversation import Message, turn_record
from agent.decisions import Decision
from agent.graph import build_graph
from agent.models import Ticket, TriageResult
from agent.nodes.intake import normalize_text
from agent.result import result_from_state
from agent.state import State, draft_version
from app.logs import ticket_scoped
from app.settings import Settings


class UnknownTicket(LookupError):
    """No thread exists for this ticket id."""


class NotAwaitingReview(RuntimeError):
    """The ticket's draft was already decided on (or is still being triaged)."""


class TicketBusy(RuntimeError):
    """The ticket's thread is between a decision and its delivery: try again shortly."""


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
        """Embed a batch of tickets in one go; the nodes then find their vectors cached.

        The texts are the ones the nodes embed: subject and body as `intake` normalises them.
        """
        clean = [(normalize_text(t.subject), normalize_text(t.body)) for t in tickets]
        texts = ["\n\n".join(part for part in pair if part) for pair in clean]
        subjects = [subject for subject, _ in clean if subject]
        vectors = self.context.embedder.embed(texts + subjects)[: len(texts)]
        # The retrieve node's Chroma query too, as one query (when the retriever offers it).
        prefetch = getattr(self.context.retriever, "prefetch", None)
        if prefetch is not None:
            prefetch(vectors)

    @ticket_scoped
    def triage(self, ticket: Ticket) -> Outcome:
        """Run the graph up to the review; a ticket already triaged is returned as it is."""
        config = self._config(ticket.id)
        values, pending = self._values(ticket.id)
        if values and (not pending or pending == ("review",)):
            return Outcome(result_from_state(values), created=False)
        # A run cut short with a checkpoint resumes from it instead of starting over.
        run_input: State | None = None if values else {"ticket": ticket}
        # TRICKY: durability="exit" writes the checkpoint once, when the run stops at the
        # review's interrupt (9 ms instead of 15-20 ms of graph per ticket). A process killed
        # before that leaves no thread, and the next triage runs from the start: safe,
        # because no node before `review` has a side effect (ARCHITECTURE.md).
        self.graph.invoke(run_input, config, context=self.context, durability="exit")
        values, _ = self._values(ticket.id)
        return Outcome(result_from_state(values), created=True)

    def triage_many(self, tickets: Sequence[Ticket], *, chunk: int = 64) -> Iterator[Outcome]:
        """Triage tickets in order while the next chunk is embedded on another thread.

        onnxruntime releases the GIL, so the embedding of chunk n + 1 overlaps the graph
        runs of chunk n, and memory stays bounded by the chunk instead of the whole batch.
        """
        # A small first chunk: the graph starts as soon as a few tickets are embedded.
        first = min(chunk, 16)
        chunks = [tickets[:first]] + [tickets[i : i + chunk]
                                      for i in range(first, len(tickets), chunk)]
        chunks = [part for part in chunks if part]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sidekick-embed") as pool:
            ahead: Future[None] | None = pool.submit(self.prepare, chunks[0]) if chunks else None
            for n, part in enumerate(chunks):
                assert ahead is not None
                ahead.result()
                ahead = pool.submit(self.prepare, chunks[n + 1]) if n + 1 < len(chunks) else None
                for ticket in part:
                    yield self.triage(ticket)

    @ticket_scoped
    def converse(self, ticket_id: str, messages: Sequence[Message], *,
                 ticket: Ticket | None = None) -> Outcome:
        """Add messages to the ticket's conversation; a new customer message starts a turn.

        Messages already in the thread (the same channel id) change nothing. A customer's
        message drafts the next reply (or re-drafts the waiting one, so it answers both); a
        public answer by a person outside Sidekick supersedes the waiting draft, which is then
        never sent; anything else (an internal note, our own reply echoed back) is recorded.
        `ticket` carries the ticket's metadata as it is now (a new priority, an escalation).

        Raises:
            UnknownTicket: no thread for this id.
            TicketBusy: a decision on this ticket is being delivered right now.

        """
        config = self._config(ticket_id)
        values, pending = self._values(ticket_id)
        if not values:
            raise UnknownTicket(ticket_id)
        if pending and pending != ("review",):
            raise TicketBusy(f"ticket {ticket_id} is being delivered; try again shortly")
        known = {m.id for m in values.get("messages") or []}
        fresh = [_own_echo(m, values) for m in messages if m.id not in known]
        if not fresh:
            return Outcome(result_from_state(values), created=False)
        update: State = {"messages": fresh}
        if ticket is not None:
            update["ticket"] = ticket
        if any(m.author == "customer" for m in fresh):
            self.graph.invoke(update, config, context=self.context, durability="exit")
        elif pending == ("review",) and any(m.author in ("hero", "cs") and m.public
                                             for m in fresh):
            # TRICKY: written as if `deliver` ran, so the thread ends here: the waiting
            # draft leaves the review without a decision and is never sent.
            everything = [*(values.get("messages") or []), *fresh]
            record = turn_record(cast(State, {**values, "decision": {
                "action": "superseded", "by": fresh[-1].author}}), "superseded")
            self.graph.update_state(config, {**update, "status": "superseded",
                                             "answered": len(everything), "turns": [record]},
                                    as_node="deliver")
        else:
            self.graph.update_state(config, update)
        values, _ = self._values(ticket_id)
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

    @ticket_scoped
    def decide(self, ticket_id: str, decision: Decision) -> TriageResult:
        """Resume the waiting thread with a person's decision on the draft version it names.

        Raises:
            UnknownTicket: no such ticket.
            NotAwaitingReview: it is not waiting for a decision.
            VersionRequired: the decision names no draft version.
            StaleDraft: a newer draft replaced the version decided on (nothing is sent).
            ValueError: a reassignment to a team outside the taxonomy.

        """
        decision.require_version()
        values, pending = self._values(ticket_id)
        if not values:
            raise UnknownTicket(ticket_id)
        if pending != ("review",):
            status = values.get("status", "unknown")
            raise NotAwaitingReview(f"ticket {ticket_id} is not awaiting review (it is {status})")
        # TRICKY: checked here, not in the review node: a node that raises after interrupt()
        # pins that resume value to the thread, and every later decision would replay it.
        # The Desk makes the check atomic with its claim of the ticket row.
        decision.check_version(ticket_id, draft_version(values))
        decision.check_team(self.context.teams)
        self.graph.invoke(
            Command(resume=decision.model_dump(mode="json")),
            self._config(ticket_id),
            context=self.context,
        )
        return self.get(ticket_id)


def _own_echo(message: Message, values: dict[str, Any]) -> Message:
    """Sidekick's own reply read back from the channel (a Zendesk comment, a Slack post).

    A channel shows it as a person's (Sidekick posts with the team's API user); the
    conversation knows what it sent, so the same text is recognised and never counts as a
    person answering outside Sidekick.
    """
    if message.author == "customer":
        return message
    said = " ".join(message.body.split())
    ours = {" ".join(m.body.split()) for m in values.get("messages") or []
            if m.author in ("sidekick", "hero") and ":reply:" in m.id}
    return message.model_copy(update={"author": "sidekick"}) if said in ours else message


@contextmanager
def open_service(settings: Settings) -> Iterator[TriageService]:
    """Build the context from settings and a graph on the store's checkpointer."""
    from app.runtime import build_context
    from app.store.checkpoint import open_checkpointer

    with open_checkpointer(settings) as saver:
        yield TriageService(graph=build_graph(saver), context=build_context(settings))
