"""The offline engine's team and kind classifier: train, persist, retrain, predict.

`load_or_train` is the entry point: it loads the model under `classifier_dir`, or trains
one from the shipped examples (plus any the user added) when there is none or when the
team taxonomy, the shipped examples or the embedding model changed.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.classifier import persistence as store
from agent.classifier.examples import (
    SHIPPED_EXAMPLES,
    Example,
    dedupe,
    load_examples,
    parse_example,
)
from agent.classifier.fitting import is_current, train_and_save
from agent.classifier.model import Model, load_model
from agent.teams import Teams
from knowledge.embeddings import Embedder


class EmbeddingClassifier:
    """Predicts team and kind from a ticket's MiniLM vector (and its text, when given)."""

    def __init__(self, directory: Path, embedder: Embedder, teams: Teams, model: Model,
                 meta: dict[str, Any], examples: list[Example]) -> None:
        self.directory = directory
        self.embedder = embedder
        self.teams = teams
        self._model = model
        self.meta = meta
        self.examples = examples
        self.cache = store.EmbeddingCache(directory / store.EMBEDDINGS_FILE, embedder)

    @property
    def version(self) -> str:
        """The trained state's version (its token): the same on every host that loaded it."""
        return str(self.meta.get("token", ""))

    # -- prediction -------------------------------------------------------------------

    def predict(self, embedding: np.ndarray, *, text: str | None = None,
                subject_embedding: np.ndarray | None = None) -> dict[str, Any]:
        """Team and kind of one ticket.

        Args:
            embedding: the MiniLM vector of `ticket.text`.
            text: `ticket.text`. With it the lexical head joins in: on real GitHub issues
                team accuracy goes from ~0.85 to ~0.88 and kind from ~0.945 to ~0.98.
            subject_embedding: the vector of `ticket.subject` (None: no subject; the text's
                vector stands in, as in training).

        Returns:
            team, team_confidence, kind, kind_confidence, team_scores (every team's
            probability), kind_scores and mode ("text" or "embedding").

        """
        subjects = None if subject_embedding is None else np.atleast_2d(subject_embedding)
        return self.predict_many(np.atleast_2d(embedding),
                                 texts=None if text is None else [text],
                                 subject_embeddings=subjects)[0]

    def predict_many(self, embeddings: np.ndarray, *, texts: Sequence[str] | None = None,
                     subject_embeddings: np.ndarray | Sequence[np.ndarray | None] | None = None
                     ) -> list[dict[str, Any]]:
        """Run `predict` on a batch.

        Args:
            embeddings: (n, dim) vectors of the tickets' texts.
            texts: the n texts (None: embedding-only mode for the whole batch).
            subject_embeddings: (n, dim), or a list with None for tickets without a subject.

        """
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self._model.dimension:
            raise ValueError(f"expected embeddings of shape (n, {self._model.dimension}), "
                             f"got {vectors.shape}")
        if not len(vectors):
            return []
        text_list = None if texts is None else list(texts)
        if text_list is not None and len(text_list) != len(vectors):
            raise ValueError(f"got {len(text_list)} texts for {len(vectors)} embeddings")
        subjects = _subject_matrix(vectors, subject_embeddings)
        team_p = self._model.team.probabilities(vectors, subjects, text_list)
        kind_p = self._model.kind.probabilities(vectors, subjects, text_list)
        return [self._result(t, k, text_list is not None) for t, k in zip(team_p, kind_p,
                                                                         strict=True)]

    def _result(self, team_p: np.ndarray, kind_p: np.ndarray, with_text: bool
                ) -> dict[str, Any]:
        teams, kinds = self._model.team.classes, self._model.kind.classes
        team_i, kind_i = int(team_p.argmax()), int(kind_p.argmax())
        return {
            "team": teams[team_i],
            "team_confidence": float(team_p[team_i]),
            "kind": kinds[kind_i],
            "kind_confidence": float(kind_p[kind_i]),
            "team_scores": {t: float(p) for t, p in zip(teams, team_p, strict=True)},
            "kind_scores": {k: float(p) for k, p in zip(kinds, kind_p, strict=True)},
            "mode": "text" if with_text else "embedding",
        }

    # -- training ---------------------------------------------------------------------

    def add_examples(self, rows: Iterable[dict[str, Any] | Example], *, retrain: bool = True
                     ) -> tuple[int, int]:
        """Add labeled rows (eval-dataset format) and retrain if any was new.

        Rows without any label, or whose id or text is already known, are skipped. A team
        outside the taxonomy is kept (it may join the taxonomy later) but not trained on;
        `meta["report"]["skipped_unknown_team"]` counts those.

        Returns:
            (added, skipped).

        Raises:
            ExampleError: for a malformed row (validate first to report line numbers).

        """
        fresh, skipped = _new_examples(self.examples, rows)
        if fresh:
            self.examples = self.examples + fresh
            store.write_examples(self.directory, self.examples)
            if retrain:
                self.retrain()
        return len(fresh), skipped

    def retrain(self, *, folds: int = 5) -> dict[str, Any]:
        """Refit on the stored examples (embedding only new texts); returns the CV report."""
        self._model, self.meta = train_and_save(self.directory, self.examples, self.teams,
                                                 self.cache, folds=folds)
        return self.meta["report"]

    def example_counts(self) -> dict[str, int]:
        """Trained examples per team, in taxonomy order (prototypes not counted)."""
        counts = Counter(e.team for e in self.examples if e.team in self.teams)
        return {slug: counts.get(slug, 0) for slug in self.teams.slugs}


def _new_examples(known: list[Example], rows: Iterable[dict[str, Any] | Example]
                  ) -> tuple[list[Example], int]:
    """Parse rows; keep the labeled ones not known by id or text; count the rest."""
    parsed = [r if isinstance(r, Example) else parse_example(r) for r in rows]
    labeled = [e for e in parsed if e.team or e.kind]
    fresh, duplicates = dedupe(known, labeled)
    return fresh, duplicates + len(parsed) - len(labeled)


def _subject_matrix(vectors: np.ndarray,
                    subjects: np.ndarray | Sequence[np.ndarray | None] | None) -> np.ndarray:
    """Stack subject vectors; a missing subject uses the text's vector, as in training."""
    if subjects is None:
        return vectors
    rows = [vectors[i] if s is None else np.asarray(s, dtype=np.float32).reshape(-1)
            for i, s in enumerate(subjects)]
    if len(rows) != len(vectors):
        raise ValueError(f"got {len(rows)} subject embeddings for {len(vectors)} embeddings")
    return np.vstack(rows)


def _open(directory: Path, embedder: Embedder, teams: Teams, *, prebuilt: bool = True
          ) -> tuple[list[Example], Model | None, dict[str, Any]]:
    """Read the examples to train on, and the stored model when it is still current.

    With no current model and no user-added examples, the weights shipped in the package
    are installed when they fit (see `shipped.py`): the same training, done in advance.
    """
    meta = store.read_meta(directory)
    stored = store.read_examples(directory)
    if meta and is_current(meta, directory, embedder, teams):
        try:
            model = load_model(directory / store.MODEL_FILE)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            model = None  # unreadable weights: retrain below
        if model is not None and model.token == meta.get("token"):
            return stored, model, meta
    # Shipped examples come fresh from the package; the user's own are kept.
    shipped = load_examples(SHIPPED_EXAMPLES, origin="shipped")
    user, _ = dedupe(shipped, [e for e in stored if e.origin != "shipped"])
    if not user and prebuilt:
        # Imported here: `python -m agent.classifier.shipped` (the build) runs that module.
        from agent.classifier.shipped import install

        installed = install(directory, embedder, teams)
        if installed is not None:
            store.write_examples(directory, shipped)
            return shipped, *installed
    return shipped + user, None, {}


def load_or_train(classifier_dir: Path, embedder: Embedder, teams: Teams, *,
                  prebuilt: bool = True) -> EmbeddingClassifier:
    """Load the classifier stored under `classifier_dir`, training it first when needed.

    On first use, installs the shipped pre-trained weights when they fit (`prebuilt`), else
    trains from the shipped examples; retrains (keeping user-added examples) when the
    taxonomy, the shipped examples, the embedding model or the format changed.
    """
    classifier, _added, _skipped = add_and_train(classifier_dir, embedder, teams, [],
                                                 prebuilt=prebuilt)
    return classifier


def add_and_train(classifier_dir: Path, embedder: Embedder, teams: Teams,
                  rows: Iterable[dict[str, Any] | Example], *, prebuilt: bool = True
                  ) -> tuple[EmbeddingClassifier, int, int]:
    """Run `load_or_train` then `add_examples(rows)`, training at most once.

    Returns:
        The classifier, how many rows were added and how many skipped.

    """
    directory = Path(classifier_dir)
    examples, model, meta = _open(directory, embedder, teams, prebuilt=prebuilt)
    fresh, skipped = _new_examples(examples, rows)
    examples = examples + fresh
    if model is None or fresh:
        store.write_examples(directory, examples)
        cache = store.EmbeddingCache(directory / store.EMBEDDINGS_FILE, embedder)
        model, meta = train_and_save(directory, examples, teams, cache, folds=5)
    classifier = EmbeddingClassifier(directory, embedder, teams, model, meta, examples)
    return classifier, len(fresh), skipped
