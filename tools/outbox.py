"""The local delivery channel: approved replies recorded in SQLite, exactly once per key.

The real channels (Zendesk, Slack, GitHub) implement the same `deliver()` later; this one
is what `sidekick review --approve` uses on a machine with no outside services.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    delivered_at TEXT NOT NULL
)
"""


class LocalOutbox:
    """Records each approved reply once; a repeated key returns the first record."""

    channel = "local"

    def __init__(self, path: Path) -> None:
        self._path = path

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, timeout=30)
        conn.execute(_SCHEMA)
        return conn

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record the reply under `key` unless it is there already."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?, ?)",
                (key, ticket_id, self.channel, json.dumps(payload, sort_keys=True), now),
            ).rowcount
            row = conn.execute(
                "SELECT delivered_at FROM deliveries WHERE key = ?", (key,)
            ).fetchone()
        return {
            "key": key,
            "channel": self.channel,
            "delivered_at": row[0],
            "first_delivery": bool(inserted),
        }

    def deliveries(self, ticket_id: str | None = None) -> list[dict[str, Any]]:
        """What was delivered, oldest first (all tickets, or one)."""
        query = "SELECT key, ticket_id, payload, delivered_at FROM deliveries"
        args: tuple = ()
        if ticket_id is not None:
            query, args = query + " WHERE ticket_id = ?", (ticket_id,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY delivered_at, key", args).fetchall()
        return [
            {"key": k, "ticket_id": t, "payload": json.loads(p), "delivered_at": d}
            for k, t, p, d in rows
        ]
