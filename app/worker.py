"""The background worker: triage every accepted ticket, once, and drain cleanly on stop.

On start it re-queues tickets a dead process left `triaging` (the checkpointer makes their
re-triage a resume, not a second run) and finishes decisions left `deciding`. Then it
claims accepted tickets one at a time, oldest first. `stop()` lets the ticket in hand
finish and leaves the rest `accepted` for the next start.
"""

from __future__ import annotations

import logging
import threading

from app.api.desk import Desk
from app.store import repo

log = logging.getLogger("sidekick.worker")


class Worker:
    """One thread that triages accepted tickets in the background."""

    def __init__(self, desk: Desk, *, poll_s: float = 1.0) -> None:
        self.desk = desk
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def recover(self) -> None:
        """Re-queue tickets stuck `triaging` and finish decisions stuck `deciding`."""
        # TRICKY: this assumes one worker per database (what `sidekick serve` runs); a
        # second live worker's in-flight ticket would be re-queued, and re-triaged as a no-op.
        with self.desk.sessions.begin() as session:
            requeued = repo.requeue_stuck(session)
            deciding = repo.ids_in_status(session, "deciding")
        if requeued:
            log.info("re-queued %d ticket(s) left triaging", requeued)
        for ticket_id in deciding:
            try:
                self.desk.resume(ticket_id)
            except Exception:
                log.exception("could not finish the decision on ticket %s", ticket_id)

    def run_once(self) -> str | None:
        """Claim and triage the oldest accepted ticket; its id, or None when there is none."""
        with self.desk.sessions() as session:
            candidates = repo.ids_in_status(session, "accepted", limit=10)
        for ticket_id in candidates:
            if self._stop.is_set():
                return None
            if self.desk.claim(ticket_id):
                self.desk.triage(ticket_id)
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
                found = self.run_once()
            except Exception:  # the database went away for a moment: wait, then retry
                log.exception("worker iteration failed")
                found = None
            if found is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def start(self) -> None:
        """Recover what a previous process left, then work in a background thread."""
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sidekick-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the ticket in hand and stop; the others stay accepted."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()
