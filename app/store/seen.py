"""Slack's handled events in the store: `slack_events`, one row per key, inserted once.

Slack redelivers an event, a click or a modal submission it thinks went unanswered. The
listeners record each one here (SQLite or PostgreSQL, the same database as the tickets), so
a redelivery is recognised by every process of the API and after a restart.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.store.models import SlackEventRow, utcnow
from app.store.repo import insert_ignore

#: The column's width; longer keys are stored as their digest.
_KEY_MAX = 300


def _key(key: str) -> str:
    if len(key) <= _KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def mark_slack_event(session: Session, key: str) -> bool:
    """Record `key` as handled; True only for the call that inserted it (in any process)."""
    values = {"key": _key(key), "handled_at": utcnow()}
    return insert_ignore(session, SlackEventRow.__table__, values, "key")


def slack_event_handled(session: Session, key: str) -> bool:
    """Whether `key` was recorded already."""
    return session.get(SlackEventRow, _key(key)) is not None


class SeenStore:
    """The listeners' view of `slack_events` over an engine (thread-safe: a session a call)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first_time(self, key: str) -> bool:
        """Record `key`; True only the first time it is seen."""
        with Session(self._engine) as session, session.begin():
            return mark_slack_event(session, key)

    def handled(self, key: str) -> bool:
        """Whether `key` was recorded (without recording it)."""
        with Session(self._engine) as session:
            return slack_event_handled(session, key)
