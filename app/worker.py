"""The background worker: triage every accepted ticket, once, and drain cleanly on stop.

On start it re-queues tickets a dead process left `triaging` (the checkpointer makes their
re-triage a resume, not a second run) and finishes decisions left `deciding`. Then it
claims accepted tickets one at a time, oldest first, and every `poll_s` it sweeps the
decisions stuck `deciding` longer than `decide_grace_s` (the request that started one died
mid-delivery): it finishes them, the idempotency keys making repeated sends no-ops, or
marks them `failed` for a retry. `stop()` lets the ticket in hand finish and leaves the
rest `accepted` for the next start. `sidekick serve` runs it in its own process
(`app/worker_process.py`); tests run it as a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from app.api.desk import Desk
from app.api.zendesk_poll import ViewPoller
from app.logs import about_ticket
from app.store import repo
from app.store.models import utcnow

log = logging.getLogger("sidekick.worker")


class Worker:
    """One thread that triages accepted tickets in the background."""

    def __init__(self, desk: Desk, *, poll_s: float = 1.0, decide_grace_s: float = 300.0,
                 intake: Sequence[ViewPoller] = (), wake: Any = None) -> None:
        self.desk = desk
        self.poll_s = poll_s
        self.decide_grace_s = decide_grace_s
        self.intake = list(intake)
        self._stop = threading.Event()
        # Anything with set/wait/clear: a threading.Event (in `sidekick serve` the worker
        # process's main thread sets it for each byte the API process writes to its pipe).
        self._wake = wake if wake is not None else threading.Event()
        self._thread: threading.Thread | None = None
        self._next_sweep = 0.0

    def recover(self, *, fresh: bool = True) -> None:
        """Re-queue tickets stuck `triaging` and finish the decisions stuck `deciding`.

        Args:
            fresh: nothing else runs on the store yet, so every decision `deciding` was
                left by a dead process; False (a worker restarted while the API serves):
                only those older than the grace period, the others may be in flight.

        """
        # TRICKY: this assumes one worker per database (what `sidekick serve` runs, its
        # supervisor killing a worker before it starts the next one): a second live
        # worker's in-flight ticket would be re-queued (and re-triaged as a no-op).
        with self.desk.sessions.begin() as session:
            requeued = repo.requeue_stuck(session)
        if requeued:
            log.info("re-queued %d ticket(s) left triaging", requeued)
        self.sweep(grace_s=0 if fresh else None)

    def sweep(self, grace_s: float | None = None) -> list[str]:
        """Finish decisions `deciding` for longer than the grace period; their ids."""
        grace = self.decide_grace_s if grace_s is None else grace_s
        cutoff = utcnow() - timedelta(seconds=grace)
        with self.desk.sessions() as session:
            stale = repo.stale_deciding(session, cutoff)
        done = []
        for ticket_id in stale:
            with self.desk.sessions.begin() as session:
                if not repo.take_over(session, ticket_id, cutoff):
                    continue  # finished meanwhile, or another sweep took it
            try:
                self.desk.resume(ticket_id)
            except Exception as exc:  # e.g. Zendesk keeps failing: a person retries later
                with about_ticket(ticket_id):
                    log.exception("could not finish the decision on ticket %s", ticket_id)
                self.desk.fail(ticket_id, "deciding", exc)
            done.append(ticket_id)
        return done

    def run_once(self) -> str | None:
        """Claim and triage the oldest accepted ticket; its id, or None when there is none."""
        with self.desk.sessions() as session:
            candidates = repo.ids_in_status(session, "accepted", limit=10)
        for ticket_id in candidates:
            if self._stop.is_set():
                return None
            with about_ticket(ticket_id):  # the outcome's line carries the ticket id too
                if self.desk.claim(ticket_id):
                    result = self.desk.triage(ticket_id)
                    log.info("ticket %s triaged: %s", ticket_id,
                             result.status if result is not None else "failed")
                    return ticket_id
        return None

    def drain(self) -> list[str]:
        """Triage until no ticket is accepted (tests and one-shot runs)."""
        done = []
        while (ticket_id := self.run_once()) is not None:
            done.append(ticket_id)
        return done

    def wake(self) -> None:
        """Look for work now (called when a ticket is accepted)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() >= self._next_sweep:
                    self._next_sweep = time.monotonic() + self.poll_s
                    self.sweep()
                found = self.run_once()
            except Exception:  # the database went away for a moment: wait, then retry
                log.exception("worker iteration failed")
                found = None
            if found is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def start(self, *, fresh: bool = True) -> None:
        """Recover what a previous process left, then work (and poll intake) in threads.

        Args:
            fresh: as for `recover()`.

        """
        self.recover(fresh=fresh)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sidekick-worker", daemon=True)
        self._thread.start()
        for poller in self.intake:
            poller.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling, finish the ticket in hand and stop; the others stay accepted."""
        for poller in self.intake:
            poller.stop(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():  # else still draining: `running` says so
                self._thread = None

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()
