"""Zendesk view polling: new tickets in the team views, accepted like `POST /tickets`.

For accounts without webhooks. Every worker runs a poller when Zendesk is configured with
`SIDEKICK_ZENDESK_VIEWS`, and only the one holding the `zendesk-poll` lease reads the views
(`app/worker.py`); each round reads every view once and
hands each new ticket to `Desk.accept`, which is idempotent on the ticket id, so a ticket
seen by two rounds (or by the webhook and a round) is one ticket. Zendesk's 429s are waited
out inside the client (Retry-After, within `SIDEKICK_ZENDESK_RATELIMIT_BUDGET_S`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from agent.conversation import Message
from agent.models import Ticket
from app.api import origin
from app.api.desk import Desk
from app.store import repo
from tools.zendesk import zendesk_id

log = logging.getLogger("sidekick.zendesk_poll")


class ViewPoller:
    """Reads the team views every `interval_s` seconds in a background thread."""

    def __init__(self, client: Any, views: dict[str, int], desk: Desk, *,
                 interval_s: float) -> None:
        self.client, self.views, self.desk = client, dict(views), desk
        self.interval_s = interval_s
        #: Each known ticket's `updated_at` when its comments were last read (in memory: a
        #: restarted poller reads them once more, and message ids make that a no-op).
        self._updated: dict[str, str] = {}
        #: Whether this poller may read the views this round: the worker sets it to take
        #: the one lease all workers share, so the views are read once, not once a worker.
        self.may_poll: Callable[[], bool] = lambda: True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _known(self, ids: list[str]) -> set[str]:
        with self.desk.sessions() as session:
            return repo.known_ids(session, ids)

    def poll_once(self) -> list[str]:
        """Read the views once; the ids of the tickets this round accepted or updated."""
        accepted: list[str] = []
        updated: dict[str, str] = {}
        for fields in self.client.poll(self.views, seen=self._known, updated=updated):
            try:
                ticket = Ticket.from_integration(fields)
            except ValidationError as exc:  # e.g. no subject and no body: nothing to triage
                log.warning("Zendesk ticket %s skipped: %s", fields.get("id"),
                            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                      for e in exc.errors()))
                continue
            # The id is the poller's own `zd-<Zendesk id>`, made from the ticket it read.
            if self.desk.accept(ticket, origin=origin.zendesk(int(ticket.id[3:]))):
                accepted.append(ticket.id)
        if accepted:
            log.info("accepted %d ticket(s) from the Zendesk views", len(accepted))
        return accepted + self._read_updates(updated)

    def _read_updates(self, updated: dict[str, str]) -> list[str]:
        """Read the new comments of the known tickets that changed since the last round."""
        changed = []
        for ticket_id, stamp in updated.items():
            if self._updated.get(ticket_id) == stamp:
                continue
            zid = zendesk_id(ticket_id)
            if zid is None:
                continue
            added = 0
            for fields in self.client.conversation(zid):
                try:
                    message = Message.model_validate(fields)
                except ValidationError as exc:
                    log.warning("comment %s of Zendesk ticket %s skipped: %s",
                                fields.get("id"), zid, exc.errors()[0].get("msg"))
                    continue
                added += self.desk.add_message(ticket_id, message)
            self._updated[ticket_id] = stamp
            if added:
                changed.append(ticket_id)
        if changed:
            log.info("new comments on %d Zendesk ticket(s)", len(changed))
        return changed

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.may_poll():
                    self.poll_once()
            except Exception:  # Zendesk down or rate limited past the budget: next round
                log.exception("polling the Zendesk views failed")
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Poll now, then every `interval_s` seconds, until `stop()`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sidekick-zendesk-poll",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the round in progress (nothing half-accepted: accepts are atomic)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def view_poller(settings: Any, desk: Desk) -> ViewPoller | None:
    """A poller when Zendesk and its team views are configured, else None."""
    if not (settings.zendesk_views and settings.zendesk_subdomain and settings.zendesk_email
            and settings.zendesk_token):
        return None
    from tools.zendesk import make_zendesk

    return ViewPoller(make_zendesk(settings), settings.zendesk_views, desk,
                      interval_s=settings.zendesk_poll_s)
