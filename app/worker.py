"""The background worker: triage every accepted ticket, once, and drain cleanly on stop.

Any number of workers may share one database, on any host (`sidekick worker`). Each takes a
batch of accepted tickets under a lease (`app/store/claims.py`: `SELECT ... FOR UPDATE SKIP
LOCKED` on PostgreSQL) that a heartbeat thread renews while it triages them one at a time,
oldest first. A worker that dies stops renewing: once its lease passed, any other worker
claims its tickets as if accepted (the checkpointer makes a re-triage a resume, not a
second run), and its half-finished decisions too. Every `poll_s` it sweeps the decisions
stuck `deciding` longer than `decide_grace_s` (the request that started one died
mid-delivery) or whose worker's lease passed: it finishes them, the idempotency keys
making repeated sends no-ops, or marks them `failed` for a retry. Zendesk polling runs on
the one worker holding the `zendesk-poll` lease. `stop()` lets the ticket in hand finish
and gives the rest of its batch back as `accepted`. `sidekick serve` runs one in its own
process (`app/worker_process.py`); tests run it as a thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from app.api.desk import Desk
from app.api.zendesk_poll import ViewPoller
from app.logs import about_ticket
from app.store import claims, repo
from app.store.models import utcnow

log = logging.getLogger("sidekick.worker")

#: The named lease of Zendesk view polling: one poller at a time across all workers.
POLL_LEASE = "zendesk-poll"


def worker_name(tag: str | None = None) -> str:
    """A worker id unique across hosts: the host and `tag`, or the process id and a nonce."""
    return f"{socket.gethostname()}:{tag or f'{os.getpid()}:{uuid.uuid4().hex[:8]}'}"


class Worker:
    """One thread that triages accepted tickets in the background."""

    def __init__(self, desk: Desk, *, poll_s: float = 1.0, decide_grace_s: float = 300.0,
                 intake: Sequence[ViewPoller] = (), wake: Any = None,
                 worker_id: str | None = None, lease_s: float = 30.0, batch: int = 8,
                 single_writer: bool = False) -> None:
        self.desk = desk
        self.poll_s = poll_s
        self.decide_grace_s = decide_grace_s
        self.intake = list(intake)
        #: This worker's name in `claimed_by`, `workers` and `leases`.
        self.id = worker_id or worker_name()
        self.lease_s = lease_s
        self.batch = max(1, batch)
        #: SQLite: one worker per database (`sidekick serve`), so a fresh start may take
        #: back everything left in flight; PostgreSQL waits for the leases to pass.
        self.single_writer = single_writer
        for poller in self.intake:
            # Polled every interval by the holder; a dead holder's lease passes in two.
            poller.may_poll = partial(self.hold, POLL_LEASE, 2 * poller.interval_s + lease_s)
        self._stop = threading.Event()
        # Anything with set/wait/clear: a threading.Event (in `sidekick serve` the worker
        # process's main thread sets it for each byte the API process writes to its pipe).
        self._wake = wake if wake is not None else threading.Event()
        self._thread: threading.Thread | None = None
        self._beating = threading.Event()
        self._beater: threading.Thread | None = None
        self._next_sweep = 0.0

    def recover(self, *, fresh: bool = True) -> None:
        """Take back what a dead incarnation of this worker left, and finish stuck decisions.

        Args:
            fresh: nothing else runs on the store yet. Only on a single-writer store
                (SQLite, one worker per database) does that make every ticket `triaging`
                and every decision `deciding` a dead process's; on PostgreSQL other
                workers and API replicas may hold them, and their leases decide.

        """
        with self.desk.sessions.begin() as session:
            # The same id is a dead predecessor (serve's restarted worker process).
            requeued = claims.release(session, self.id)
            if fresh and self.single_writer:
                requeued += repo.requeue_stuck(session)
        if requeued:
            log.info("re-queued %d ticket(s) left triaging", requeued)
        self.beat()
        self.sweep(grace_s=0 if fresh and self.single_writer else None)

    def beat(self) -> int:
        """Stamp the heartbeat and renew the leases of what this worker holds."""
        with self.desk.sessions.begin() as session:
            return claims.beat(session, self.id, lease_s=self.lease_s,
                               host=socket.gethostname(), pid=os.getpid())

    def hold(self, name: str, ttl_s: float) -> bool:
        """Take or renew a named lease (a job one worker does at a time); False: not ours."""
        try:
            with self.desk.sessions.begin() as session:
                return claims.hold_lease(session, name, self.id, ttl_s=ttl_s)
        except Exception:  # the database went away: do not run the job this round
            log.exception("could not take the %s lease", name)
            return False

    def _beat_loop(self) -> None:
        # A third of the lease: two beats may be lost before another worker takes over.
        while not self._beating.wait(self.lease_s / 3):
            try:
                self.beat()
            except Exception:  # the database went away for a moment: the next beat
                log.exception("worker heartbeat failed")

    def sweep(self, grace_s: float | None = None) -> list[str]:
        """Finish decisions `deciding` past the grace period or their worker's lease; ids."""
        grace = self.decide_grace_s if grace_s is None else grace_s
        cutoff = utcnow() - timedelta(seconds=grace)
        with self.desk.sessions() as session:
            stale = claims.stale_decisions(session, cutoff)
        done = []
        for ticket_id in stale:
            with self.desk.sessions.begin() as session:
                if not claims.take_over(session, ticket_id, cutoff, worker=self.id,
                                        lease_s=self.lease_s):
                    continue  # finished meanwhile, or another sweep took it
            try:
                self.desk.resume(ticket_id)
            except Exception as exc:  # e.g. Zendesk keeps failing: a person retries later
                with about_ticket(ticket_id):
                    log.exception("could not finish the decision on ticket %s", ticket_id)
                self.desk.fail(ticket_id, "deciding", exc)
            done.append(ticket_id)
        return done

    def run_once(self) -> list[str]:
        """Claim a batch and triage it, oldest first; the ids triaged (none: nothing waited).

        Stopped midway, the rest of the batch stays claimed until `stop()` gives it back.
        """
        with self.desk.sessions.begin() as session:
            batch = claims.claim_batch(session, self.id, limit=self.batch,
                                       lease_s=self.lease_s)
        if len(batch) > 1:
            self.desk.prepare(batch)
        done = []
        for ticket_id in batch:
            if self._stop.is_set():
                break
            with about_ticket(ticket_id):  # the outcome's line carries the ticket id too
                result = self.desk.triage(ticket_id, holder=self.id)
                log.info("ticket %s triaged: %s", ticket_id,
                         result.status if result is not None else "failed")
            done.append(ticket_id)
        return done

    def drain(self) -> list[str]:
        """Triage until no ticket is accepted (tests and one-shot runs)."""
        done: list[str] = []
        while batch := self.run_once():
            done.extend(batch)
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
                found = []
            if not found:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def start(self, *, fresh: bool = True) -> None:
        """Recover what a previous process left, then work (and poll intake) in threads.

        Args:
            fresh: as for `recover()`.

        """
        self.recover(fresh=fresh)
        self._stop.clear()
        self._beating.clear()
        self._beater = threading.Thread(target=self._beat_loop, name="sidekick-heartbeat",
                                        daemon=True)
        self._beater.start()
        self._thread = threading.Thread(target=self._loop, name="sidekick-worker", daemon=True)
        self._thread.start()
        for poller in self.intake:
            poller.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling, finish the ticket in hand and stop; the others go back to accepted."""
        for poller in self.intake:
            poller.stop(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():  # still draining (its lease still renewed)
                return
            self._thread = None
        if self._beater is not None:
            self._beating.set()
            self._beater.join()
            self._beater = None
            try:
                with self.desk.sessions.begin() as session:
                    claims.release(session, self.id)
            except Exception:  # the leases pass on their own
                log.exception("could not give back this worker's claims")

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()
