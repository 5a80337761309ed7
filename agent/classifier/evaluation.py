"""How well the classifier generalizes to a set of labeled tickets nobody trained it on.

`holdout_cv` splits the new rows into k folds; for each fold it trains on the current
examples plus the other folds and predicts the held-out one, in text mode as the graph
does. This is the number that says whether adding a team's past tickets helps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.classifier.calibration import expected_calibration_error
from agent.classifier.embedding_classifier import EmbeddingClassifier
from agent.classifier.examples import Example
from agent.classifier.fitting import fit_model
from agent.models import KINDS


@dataclass
class HoldoutReport:
    """Accuracy and calibration on held-out rows, per target."""

    folds: int
    n_team: int = 0
    n_kind: int = 0
    team_accuracy: float | None = None
    kind_accuracy: float | None = None
    team_ece: float | None = None
    kind_ece: float | None = None
    team_errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready copy."""
        return dict(self.__dict__)


def _score(predictions: list[dict[str, Any]], truth: list[str | None], target: str,
           classes: tuple[str, ...]) -> tuple[int, float | None, float | None]:
    pairs = [(p, t) for p, t in zip(predictions, truth, strict=True) if t in classes]
    if not pairs:
        return 0, None, None
    scores = np.array([[p[f"{target}_scores"].get(c, 0.0) for c in classes] for p, _ in pairs])
    labels = np.array([classes.index(t) for _, t in pairs])
    accuracy = float((scores.argmax(axis=1) == labels).mean())
    return len(pairs), accuracy, expected_calibration_error(scores, labels)


def holdout_cv(classifier: EmbeddingClassifier, rows: list[Example], *, folds: int = 5,
               seed: int = 0) -> HoldoutReport:
    """K-fold CV of `rows`, trained on the classifier's examples plus the other folds.

    Nothing is saved: the stored model and examples stay as they are (only the embedding
    cache learns the new texts).
    """
    known = {e.id for e in classifier.examples} | {e.key for e in classifier.examples}
    rows = [r for r in rows if r.id not in known and r.key not in known]
    order = np.random.default_rng(seed).permutation(len(rows))
    predictions: list[dict[str, Any] | None] = [None] * len(rows)
    for fold in range(folds):
        test = [int(i) for i in order[fold::folds]]
        if not test:
            continue
        train = [rows[int(i)] for i in order if int(i) not in set(test)]
        model, _meta = fit_model(classifier.examples + train, classifier.teams, classifier.cache,
                            folds=folds)
        trial = EmbeddingClassifier(classifier.directory, classifier.embedder, classifier.teams,
                                    model, {}, [])
        held = [rows[i] for i in test]
        vectors = classifier.cache.vectors([e.text for e in held] + [e.subject_text for e in held])
        results = trial.predict_many(vectors[: len(held)], texts=[e.text for e in held],
                                     subject_embeddings=vectors[len(held):])
        for i, result in zip(test, results, strict=True):
            predictions[i] = result
    done = [p for p in predictions if p is not None]
    report = HoldoutReport(folds=folds)
    report.n_team, report.team_accuracy, report.team_ece = _score(
        done, [r.team for r in rows], "team", classifier.teams.slugs)
    report.n_kind, report.kind_accuracy, report.kind_ece = _score(
        done, [r.kind for r in rows], "kind", KINDS)
    report.team_errors = [
        {"id": r.id, "expected": r.team, "predicted": p["team"],
         "confidence": round(p["team_confidence"], 3)}
        for r, p in zip(rows, done, strict=True)
        if r.team in classifier.teams and r.team != p["team"]
    ]
    return report
