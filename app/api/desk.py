"""The desk: what the API, the worker (and Slack) do to a ticket, over the store and the graph.

The graph's checkpoint is the truth about a thread; the ticket row is the lock. Every move
of a row is a conditional UPDATE on its status (and, for a worker's triage, on its claim),
so of two clicks (or two workers) exactly one wins, on SQLite and on PostgreSQL alike;
graph runs are serialized by one process lock because the context's clients are shared.

The graph (`service`) is built on first use: the API process of `sidekick serve` only
accepts tickets until someone decides, so it never loads the models just to answer 202.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from agent.conversation import Message
from agent.decisions import Decision, StaleDraft
from agent.models import Ticket, TriageResult
from agent.teams import Teams
from app import metrics
from app.api import origin
from app.logs import about_ticket, ticket_scoped
from app.store import repo
from app.store.models import as_utc, utcnow

if TYPE_CHECKING:  # app.service imports LangGraph: only where a graph runs
    from app.service import TriageService

log = logging.getLogger("sidekick.desk")

#: The ticket row's status for each status of a triage result.
ROW_STATUS = {
    "awaiting_review": "awaiting_review",
    "approved": "deciding",
    "edited": "deciding",
    "delivered": "delivered",
    "rejected": "rejected",
    "superseded": "superseded",
}


def _changes(decision: Decision, before: dict[str, Any] | None) -> dict[str, Any]:
    before = before or {}
    if decision.action == "edit":
        old = (before.get("draft") or {}).get("body")
        return {"body": {"from": old, "to": decision.body}}
    if decision.action == "reassign":
        return {"team": {"from": before.get("team"), "to": decision.team}}
    if decision.action == "reject":
        return {"reason": decision.reason}
    return {}


def _when(stamp: str | None) -> datetime:
    try:
        return datetime.fromisoformat(stamp or "").astimezone(UTC)
    except ValueError:
        return utcnow()


def _needs_answer(message: Message) -> bool:
    """A customer's message needs a reply; a person's public answer ends the waiting draft."""
    return message.author == "customer" or (message.author in ("hero", "cs") and message.public)


class NotFailed(RuntimeError):
    """A retry was asked for a ticket that has not failed."""


@dataclass
class Desk:
    """Accept, triage and decide on tickets; the one place that moves ticket rows."""

    sessions: sessionmaker[Session]
    #: Builds the graph and its context (called once, on first use).
    build_service: Callable[[], TriageService]
    teams: Teams
    lock: threading.RLock = field(default_factory=threading.RLock)
    on_accept: Callable[[], None] | None = None
    #: Seconds within which a Zendesk ticket and a 🎫 thread of one requester with nearly the
    #: same words are one request (`SIDEKICK_SAME_REQUEST_WINDOW_S`).
    same_request_window_s: float = 86_400.0
    #: Called with the ticket id after a draft is stored (e.g. post it to Slack).
    on_triaged: Callable[[str], object] | None = None
    _service: TriageService | None = field(default=None, init=False, repr=False)

    @property
    def service(self) -> TriageService:
        """The graph over the checkpointer, with its context (built on first use)."""
        with self.lock:
            if self._service is None:
                self._service = self.build_service()
            return self._service

    def accept(self, ticket: Ticket, origin: dict[str, Any] | None = None) -> bool:
        """Store the ticket for the worker; False when its id was accepted before.

        `origin` is where an approved reply goes (app/api/origin.py); none: the API's own.
        """
        from app.api import same_request

        with about_ticket(ticket.id), self.sessions.begin() as session:
            if repo.get_ticket(session, ticket.id) is not None:
                return False
            twin = same_request.find_twin(session, ticket, origin or {},
                                          window_s=self.same_request_window_s)
            created = repo.accept_ticket(session, ticket, origin, merged_into=twin)
            if created and twin is not None:
                same_request.attach(session, twin, ticket.id, origin or {})
                log.info("ticket %s is the same request as %s: attached to it", ticket.id,
                         twin)
                return True
        if created:
            self._wake_worker()
        return created

    @ticket_scoped
    def add_message(self, ticket_id: str, message: Message) -> bool:
        """Add a message to the ticket's conversation; False when its id was added before.

        A customer's message (or a person's public answer given outside Sidekick) puts a
        ticket that waits for review, was answered or was closed back in the work: the
        worker drafts the next turn, or supersedes the waiting draft. A ticket still being
        triaged or decided picks the message up when that finishes (`_requeue_if_unread`).

        Raises:
            UnknownTicket: no such ticket.

        """
        from app.service import UnknownTicket

        with self.sessions.begin() as session:
            if repo.get_ticket(session, ticket_id) is None:
                raise UnknownTicket(ticket_id)
            created = repo.add_message(session, ticket_id, message)
            moved = created and _needs_answer(message) and repo.move(
                session, ticket_id, frm=repo.ANSWERABLE_STATUSES, to="accepted")
        if moved:
            self._wake_worker()
        return created

    def _requeue_if_unread(self, ticket_id: str, result: TriageResult) -> None:
        """Back to work when a message arrived after the draft or decision had read its input.

        TRICKY: `add_message` moves only rows that are waiting; a message that came while the
        row was `triaging` or `deciding` is caught here, after the row moved on, so it is
        never left unanswered (the move is conditional, so of the two exactly one wins).
        """
        read = {entry.id for entry in result.conversation}
        with self.sessions.begin() as session:
            unread = [m for m in repo.messages_of(session, ticket_id)
                      if m.id not in read and _needs_answer(m)]
            moved = bool(unread) and repo.move(session, ticket_id,
                                               frm=repo.ANSWERABLE_STATUSES, to="accepted")
        if moved:
            self._wake_worker()

    def origin(self, ticket_id: str) -> dict[str, Any] | None:
        """Where the ticket came from, as its intake recorded it (None: unknown ticket)."""
        with self.sessions() as session:
            row = repo.get_ticket(session, ticket_id)
            return origin.recorded(row.payload) if row else None

    def claim(self, ticket_id: str) -> bool:
        """Take an accepted ticket for triage; False when someone else took it."""
        with self.sessions.begin() as session:
            return repo.move(session, ticket_id, frm="accepted", to="triaging")

    def prepare(self, ticket_ids: list[str]) -> None:
        """Embed a claimed batch in one go before its tickets are triaged one by one."""
        with self.sessions() as session:
            rows = [repo.get_ticket(session, ticket_id) for ticket_id in ticket_ids]
            payloads = [dict(row.payload) for row in rows if row is not None]
        try:
            tickets = [Ticket.model_validate(payload) for payload in payloads]
            with self.lock:
                self.service.prepare(tickets)
        except Exception:  # noqa: BLE001 - only a speed-up: triage embeds (and fails) alone
            log.debug("could not embed the batch ahead", exc_info=True)

    @ticket_scoped
    def triage(self, ticket_id: str, *, holder: str | None = None) -> TriageResult | None:
        """Triage a claimed ticket up to the review and store its result (None on failure).

        `holder`: the worker whose claim it is; when its lease passed and another worker
        took the ticket, this result is not stored (the other worker's is, once).
        """
        with self.sessions() as session:
            row = repo.get_ticket(session, ticket_id)
            payload = dict(row.payload) if row else None
            messages = repo.messages_of(session, ticket_id) if row else []
            before = repo.get_result(session, ticket_id) if row else None
            accepted_at = as_utc(row.received_at) if row else None
        if payload is None:
            return None
        try:
            with self.lock:
                ticket = Ticket.model_validate(payload)
                result = self.service.triage(ticket).result
                if messages:  # the conversation's next turn (or just its record)
                    result = self.service.converse(ticket_id, messages, ticket=ticket).result
        except Exception as exc:  # one bad ticket must not stop the worker
            log.exception("triage of ticket %s failed", ticket_id)
            self.fail(ticket_id, "triaging", exc, holder=holder)
            return None
        triaged_at = utcnow()
        if not self._store(ticket_id, result, frm="triaging", holder=holder,
                           triaged_at=triaged_at):
            log.warning("ticket %s was taken by another worker (lease passed)", ticket_id)
            return result
        metrics.count_tokens((before or {}).get("usage"), result.usage)
        if before is None and accepted_at is not None:  # the first draft, not a later turn's
            metrics.TRIAGE_SECONDS.observe((triaged_at - accepted_at).total_seconds())
        self._requeue_if_unread(ticket_id, result)
        self._announce(ticket_id)
        return result

    @ticket_scoped
    def escalate(self, ticket_id: str, *, by: str) -> bool:
        """Customer Success escalated the ticket: move it to the top of the queue."""
        with self.sessions.begin() as session:
            found = repo.escalate(session, ticket_id)
        if found:
            log.info("ticket %s escalated by %s", ticket_id, by)
        return found

    def _store(self, ticket_id: str, result: TriageResult, *, frm: str,
               holder: str | None = None, **fields: Any) -> bool:
        """Store the result and move the row, only if it is still `frm` (and `holder`'s)."""
        with self.sessions.begin() as session:
            if not repo.move(session, ticket_id, frm=frm, to=ROW_STATUS[result.status],
                             holder=holder, **fields):
                return False
            repo.save_result(session, ticket_id, result.model_dump(mode="json"))
        return True

    @ticket_scoped
    def decide(self, ticket_id: str, decision: Decision) -> TriageResult:
        """Resume the ticket's thread with a decision on the draft version it names, once.

        Raises:
            UnknownTicket: no such ticket.
            VersionRequired: the decision names no draft version.
            StaleDraft: a newer draft replaced the version decided on; nothing is sent.
            NotAwaitingReview: it is not waiting for a decision (already decided, or a
                concurrent decision holds it).
            ValueError: a reassignment to a team outside the taxonomy.

        """
        from app.service import UnknownTicket

        with self.sessions() as session:
            row = repo.get_ticket(session, ticket_id)
            status = row.status if row else None
        if status is None:
            raise UnknownTicket(ticket_id)
        version = decision.require_version()
        decision.check_team(self.teams)
        started = time.monotonic()
        before = self._claim(ticket_id, version)
        try:
            with self.lock:
                result = self.service.decide(ticket_id, decision)
        except BaseException:
            self.settle(ticket_id)
            raise
        self._finish(ticket_id, result, decision, before)
        metrics.count_tokens((before or {}).get("usage"), result.usage)  # a re-draft's
        if result.status == "delivered":
            metrics.DELIVERY_SECONDS.observe(time.monotonic() - started)
        if decision.action == "reassign" and result.status == "awaiting_review":
            self._announce(ticket_id)  # the new version's card replaces the old one
        return result

    def _claim(self, ticket_id: str, version: int) -> dict[str, Any] | None:
        """Take the row for deciding on draft `version`; the result it decides on.

        Raises:
            StaleDraft: the waiting draft is another version.
            NotAwaitingReview: it is not waiting for a decision.

        """
        from app.service import NotAwaitingReview

        with self.sessions.begin() as session:
            if repo.claim_decision(session, ticket_id, version=version):
                # Read in the claiming transaction: the result the claim compared against.
                return repo.get_result(session, ticket_id)
            current = repo.get_ticket(session, ticket_id)
            now = current.status if current else "gone"
            stored = int((repo.get_result(session, ticket_id) or {}).get("version") or 1)
        if now == "awaiting_review" and stored != version:
            raise StaleDraft(ticket_id, version, stored)
        raise NotAwaitingReview(f"ticket {ticket_id} is not awaiting review (it is {now})")

    def _announce(self, ticket_id: str) -> None:
        """Tell `on_triaged` a new draft waits (e.g. post it to Slack); never undo it."""
        if self.on_triaged is None:
            return
        try:
            with self.lock:
                self.on_triaged(ticket_id)
        except Exception:  # the draft is stored; a failed notification must not undo it
            log.exception("could not announce the draft of ticket %s", ticket_id)

    def _finish(self, ticket_id: str, result: TriageResult, decision: Decision,
                before: dict[str, Any] | None) -> None:
        with self.sessions.begin() as session:
            # Only the call that moves the row records: a sweep that finished the same
            # decision first leaves nothing to add (one decision row per decision).
            if not repo.move(session, ticket_id, frm="deciding", to=ROW_STATUS[result.status],
                             decided_at=utcnow()):
                return
            repo.record_decision(session, ticket_id, action=decision.action, by=decision.by,
                                 at=_when(decision.at), changes=_changes(decision, before))
            repo.save_result(session, ticket_id, result.model_dump(mode="json"))
        self._requeue_if_unread(ticket_id, result)

    @ticket_scoped
    def settle(self, ticket_id: str) -> None:
        """After a failed decision: back to review if the thread never left it.

        A thread that moved on (the decision is checkpointed, the delivery was cut short)
        stays `deciding`; the worker's sweep finishes it (`resume()`) after a grace period.
        """
        with self.lock:
            try:
                pending = tuple(self.service.graph.get_state(
                    self.service._config(ticket_id)).next or ())
            except Exception:  # noqa: BLE001 - the row stays deciding; resume() sorts it out
                return
        if pending == ("review",):
            with self.sessions.begin() as session:
                repo.move(session, ticket_id, frm="deciding", to="awaiting_review")

    @ticket_scoped
    def resume(self, ticket_id: str) -> TriageResult | None:
        """Finish a decision a dead process left half-done (the outbox key makes it safe)."""
        with self.sessions() as session:
            row = repo.get_ticket(session, ticket_id)
            before = repo.get_result(session, ticket_id)
            payload = dict(row.payload) if row else None
        if payload is None:
            return None
        with self.lock:
            values, pending = self.service._values(ticket_id)
            if pending == ("review",):  # the decision never reached the checkpoint
                with self.sessions.begin() as session:
                    repo.move(session, ticket_id, frm="deciding", to="awaiting_review")
                return None
            # TRICKY: triage() on a thread stopped mid-run resumes its pending nodes (here
            # `deliver`); the delivery's idempotency key turns a repeated send into a no-op.
            result = self.service.triage(Ticket.model_validate(payload)).result
        decision = Decision.model_validate(values.get("decision") or {"action": "approve"})
        self._finish(ticket_id, result, decision, before)
        if decision.action == "reassign" and result.status == "awaiting_review":
            self._announce(ticket_id)  # a re-draft finished here replaces the old card too
        return result

    @ticket_scoped
    def retry(self, ticket_id: str) -> str:
        """Put a failed ticket back in the work; its new status.

        `accepted` when its triage failed, `deciding` when its decision or delivery did. A
        failed decision is finished by the worker's next sweep (its `moved_at` is cleared, so
        it counts as stale at once); deliveries already recorded under their idempotency
        keys are skipped, so nothing is sent twice.

        Raises:
            UnknownTicket: no such ticket.
            NotFailed: the ticket is not `failed`.

        """
        from app.service import UnknownTicket

        with self.sessions.begin() as session:
            row = repo.get_ticket(session, ticket_id)
            if row is None:
                raise UnknownTicket(ticket_id)
            # A triage result exists only once the draft reached the review.
            to = "deciding" if repo.get_result(session, ticket_id) is not None else "accepted"
            if not repo.move(session, ticket_id, frm="failed", to=to, error=None,
                             moved_at=None):
                raise NotFailed(f"ticket {ticket_id} has not failed (it is {row.status})")
        self._wake_worker()  # the worker triages (or sweeps) at once
        return to

    def _wake_worker(self) -> None:
        """Wake the worker; a failure must not fail the request (the worker also polls)."""
        if self.on_accept is None:
            return
        try:
            self.on_accept()
        except Exception:  # noqa: BLE001 - the row is committed; the next poll finds it
            log.exception("could not wake the worker")

    @ticket_scoped
    def fail_decision(self, ticket_id: str, exc: BaseException) -> str:
        """Mark a decision that failed in its request `failed` (retryable); its status now.

        A decision that never reached the checkpoint went back to `awaiting_review`
        (`settle`) and stays there: it can simply be taken again.
        """
        self.fail(ticket_id, "deciding", exc)
        with self.sessions() as session:
            row = repo.get_ticket(session, ticket_id)
            return row.status if row else "gone"

    @ticket_scoped
    def fail(self, ticket_id: str, frm: str, exc: BaseException, *,
             holder: str | None = None) -> None:
        """Mark a ticket `failed` with the error (a retry puts it back)."""
        with self.sessions.begin() as session:
            failed = repo.move(session, ticket_id, frm=frm, to="failed", holder=holder,
                               error=f"{type(exc).__name__}: {exc}"[:2000])
        if failed:
            metrics.FAILURES.labels(stage=frm).inc()
