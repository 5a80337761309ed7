"""The classifier's trained versions in the store: publish one, read the newest.

`sidekick train` (and a process that had to train at start) publishes the state it wrote
under its home as one row, in one transaction: a reader sees a whole version or none, and
two trainings at once add one version each. Every process reads the newest (highest id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.classifier import persistence
from app.store.models import ClassifierVersionRow


@dataclass(frozen=True)
class StoredVersion:
    """One row of `classifier_versions`."""

    id: int
    version: str
    meta: dict[str, Any]
    examples: str
    data: bytes


def newest_id(engine: Engine) -> int | None:
    """The id of the newest version (one indexed aggregate: what the periodic check runs)."""
    with Session(engine) as session:
        return session.scalar(select(func.max(ClassifierVersionRow.id)))


def newest(engine: Engine, *, after: int = 0) -> StoredVersion | None:
    """The newest version, if there is one with an id above `after`."""
    with Session(engine) as session:
        row = session.scalars(select(ClassifierVersionRow)
                              .where(ClassifierVersionRow.id > after)
                              .order_by(ClassifierVersionRow.id.desc()).limit(1)).first()
        if row is None:
            return None
        return StoredVersion(row.id, row.version, dict(row.meta), row.examples, bytes(row.data))


def publish(engine: Engine, directory: Path) -> int | None:
    """Store the state under `directory` as a new version; its id (None: nothing trained).

    A version already stored (the shipped weights two hosts installed) is not stored twice.
    """
    state = persistence.read_state(directory)
    if state is None:
        return None
    weights, meta, examples = state
    version = str(meta.get("token", ""))
    with Session(engine) as session:
        existing = session.scalar(select(ClassifierVersionRow.id)
                                  .where(ClassifierVersionRow.version == version))
        if existing is not None:
            return existing
        row = ClassifierVersionRow(version=version, meta=meta, examples=examples, data=weights)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another process stored the same version just now
            session.rollback()
            return session.scalar(select(ClassifierVersionRow.id)
                                  .where(ClassifierVersionRow.version == version))
        return row.id
