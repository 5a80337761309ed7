"""The offline classifier when a database is configured: one trained version for every host.

At start a process installs the store's newest version as its home's files (a cache) and
loads it; with none stored yet it loads or trains its own and publishes it. While running it
asks the store for a newer version at most every `SIDEKICK_CLASSIFIER_REFRESH_S` (one
`max(id)`), and swaps a newer one in with one assignment: a prediction uses the old version
or the new one, never a mix. A version trained for another taxonomy or embedding model than
this process's is left alone (its own stays in use).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.classifier import EmbeddingClassifier, load_or_train, parse_example
from agent.classifier import persistence as files
from agent.classifier.fitting import meta_is_current
from agent.classifier.model import load_model
from agent.teams import Teams
from app.settings import Settings
from knowledge.embeddings import Embedder

if TYPE_CHECKING:  # SQLAlchemy is imported only when a store is used (`sidekick triage`)
    from sqlalchemy import Engine

    from app.store.classifier_versions import StoredVersion

logger = logging.getLogger(__name__)


def store_engine(settings: Settings) -> Engine:
    """The migrated store of `SIDEKICK_DATABASE_URL`."""
    from app.store.db import database_url, make_engine, migrate

    engine = make_engine(database_url(settings))
    migrate(engine)
    return engine


def uses_store(settings: Settings) -> bool:
    """Whether the classifier's version comes from the store.

    Always with `SIDEKICK_DATABASE_URL`; with the default SQLite file once it exists (a
    `sidekick serve` created it), so `sidekick train` reaches a running server there too,
    while a bare `sidekick triage` home pays for no database.
    """
    return bool(settings.database_url) or (settings.home / "sidekick.db").exists()


def pull(engine: Engine, directory: Path, embedder: Embedder, teams: Teams
         ) -> StoredVersion | None:
    """Install the store's newest version under `directory` when it fits this process."""
    from app.store import classifier_versions as versions

    stored = versions.newest(engine)
    if stored is None or not meta_is_current(stored.meta, embedder, teams):
        return None
    local = files.read_meta(directory)
    if not local or local.get("token") != stored.version:
        files.write_state(directory, stored.data, stored.meta, stored.examples)
    return stored


class SharedClassifier:
    """An EmbeddingClassifier that follows the store's newest version."""

    def __init__(self, engine: Engine, current: EmbeddingClassifier, version_id: int | None,
                 *, refresh_s: float) -> None:
        self._engine = engine
        self._current = current
        self._version_id = version_id or 0
        self._refresh_s = refresh_s
        self._next_check = time.monotonic() + refresh_s
        self._lock = threading.Lock()

    @property
    def current(self) -> EmbeddingClassifier:
        """The version in use now."""
        return self._current

    @property
    def version(self) -> str:
        """The version in use now (its training's token)."""
        return self._current.version

    def __getattr__(self, name: str) -> Any:
        # meta, examples, example_counts, teams…: the current version's.
        if name.startswith("_"):  # not set yet (copy, pickle): never recurse
            raise AttributeError(name)
        return getattr(self._current, name)

    def predict(self, embedding: Any, **kwargs: Any) -> dict[str, Any]:
        """`EmbeddingClassifier.predict` with the newest version."""
        self.refresh_if_due()
        return self._current.predict(embedding, **kwargs)

    def predict_many(self, embeddings: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """`EmbeddingClassifier.predict_many` with the newest version."""
        self.refresh_if_due()
        return self._current.predict_many(embeddings, **kwargs)

    def refresh_if_due(self) -> None:
        """Check the store when the last check is `refresh_s` old (one thread at a time)."""
        if time.monotonic() < self._next_check or not self._lock.acquire(blocking=False):
            return
        try:
            self._next_check = time.monotonic() + self._refresh_s
            self.refresh()
        finally:
            self._lock.release()

    def refresh(self) -> bool:
        """Swap in the store's newest version if it is newer and fits; whether it did."""
        from sqlalchemy.exc import SQLAlchemyError

        from app.store import classifier_versions as versions

        try:
            if (versions.newest_id(self._engine) or 0) <= self._version_id:
                return False
            stored = versions.newest(self._engine, after=self._version_id)
        except SQLAlchemyError as exc:  # the store is away: keep routing with what we have
            logger.warning("classifier: could not check for a newer version: %s", exc)
            return False
        if stored is None:
            return False
        self._version_id = stored.id
        old = self._current
        if not meta_is_current(stored.meta, old.embedder, old.teams):
            logger.warning("classifier version %s was trained for another taxonomy or model; "
                           "keeping %s", stored.version, old.version)
            return False
        examples = [parse_example(json.loads(line))
                    for line in stored.examples.splitlines() if line.strip()]
        self._current = EmbeddingClassifier(old.directory, old.embedder, old.teams,
                                            load_model(io.BytesIO(stored.data)),
                                            stored.meta, examples)
        logger.info("classifier version %s in use (was %s)", stored.version, old.version)
        return True


def open_classifier(settings: Settings, embedder: Embedder, teams: Teams
                    ) -> EmbeddingClassifier | SharedClassifier:
    """The classifier of a process: the store's newest version when a database is set."""
    directory = settings.classifier_dir
    if not uses_store(settings):
        return load_or_train(directory, embedder, teams)
    from app.store import classifier_versions as versions

    engine = store_engine(settings)
    stored = pull(engine, directory, embedder, teams)
    classifier = load_or_train(directory, embedder, teams)
    version_id = stored.id if stored and stored.version == classifier.version else None
    if version_id is None:  # nothing fitting stored yet: ours becomes the shared version
        version_id = versions.publish(engine, directory)
    logger.info("classifier version %s in use", classifier.version)
    return SharedClassifier(engine, classifier, version_id,
                            refresh_s=settings.classifier_refresh_s)
