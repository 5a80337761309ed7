"""Training a model from examples: prototypes, fitting, saving, and when to retrain.

Kept apart from `EmbeddingClassifier` so that loading a current model never imports it
(training.py, and through it sklearn, is imported only when a fit actually runs).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.classifier import persistence as store
from agent.classifier.examples import SHIPPED_EXAMPLES, Example, text_key
from agent.classifier.model import Model, save_model
from agent.models import KINDS
from agent.teams import Teams
from knowledge.embeddings import Embedder

logger = logging.getLogger(__name__)

#: 2: the kind head reads speech-act features (speech.py) beside the vector.
FORMAT_VERSION = 2
#: The sample weight of a labeled ticket the user added (`sidekick train`) against 1 for a
#: shipped example: the team's own history is what its next tickets will look like.
OWN_HISTORY_WEIGHT = 2.0
#: Origins that are ours, not the user's.
_OURS = ("shipped", "prototype")


def teams_fingerprint(teams: Teams) -> str:
    """Hash the taxonomy: it changes when a team is added, removed, renamed or re-described."""
    return text_key(json.dumps([[t.slug, t.description] for t in teams]))


def features_fingerprint() -> str:
    """Hash the code that turns a text into features: a model fitted on other features is stale."""
    from agent.classifier import lexical, speech

    return text_key("".join(Path(m.__file__).read_text(encoding="utf-8")
                            for m in (lexical, speech) if m.__file__))


def shipped_fingerprint(path: Path = SHIPPED_EXAMPLES) -> str:
    """Hash the shipped examples file: it changes on upgrades."""
    return text_key(path.read_text(encoding="utf-8"))


def prototypes(teams: Teams) -> list[Example]:
    """One example per team and per line of what it owns, from the teams file.

    They give every team, even one with no labeled history yet, something to be
    recognised by; they are never held out when measuring accuracy.
    """
    examples = []
    for team in teams:
        texts = [team.description] + [f"{team.name}: {own}" for own in team.owns]
        examples += [Example(id=f"prototype:{team.slug}:{i}", subject=None, body=text,
                             team=team.slug, kind=None, origin="prototype")
                     for i, text in enumerate(texts)]
    return examples


def fit_model(examples: list[Example], teams: Teams, cache: store.EmbeddingCache, *,
              folds: int) -> tuple[Model, dict[str, Any]]:
    """Train on `examples` plus the teams' prototypes; return the model and its meta."""
    from agent.classifier.training import Features, fit_target

    rows = examples + prototypes(teams)
    texts = [e.text for e in rows]
    # One embedding call for all new texts and subjects.
    vectors = cache.vectors(texts + [e.subject_text for e in rows])
    features = Features.build(texts, vectors[: len(rows)], vectors[len(rows):],
                              [e.origin == "prototype" for e in rows],
                              [1.0 if e.origin in _OURS else OWN_HISTORY_WEIGHT for e in rows])
    token = uuid.uuid4().hex
    unknown = sum(1 for e in examples if e.team and e.team not in teams)
    if unknown:
        logger.warning("%d example(s) name a team outside the taxonomy; not trained on team",
                       unknown)
    team, team_report = fit_target(features, [e.team for e in rows], teams.slugs,
                                   uses_subject=True, folds=folds)
    kind, kind_report = fit_target(features, [e.kind for e in rows], KINDS,
                                   uses_subject=False, uses_speech=True, folds=folds)
    meta = {
        "format": FORMAT_VERSION,
        "model_id": cache.embedder.model_id,
        "dimension": int(vectors.shape[1]),
        "teams": list(teams.slugs),
        "teams_fingerprint": teams_fingerprint(teams),
        "shipped_fingerprint": shipped_fingerprint(),
        "features_fingerprint": features_fingerprint(),
        "n_examples": len(examples),
        "n_by_origin": dict(Counter(e.origin for e in examples)),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "token": token,
        "embedded_texts": cache.last_embedded,
        "report": {"folds": folds, "skipped_unknown_team": unknown,
                   "team": team_report.as_dict(), "kind": kind_report.as_dict()},
    }
    return Model(team=team, kind=kind, token=token), meta


def train_and_save(directory: Path, examples: list[Example], teams: Teams,
                   cache: store.EmbeddingCache, *, folds: int) -> tuple[Model, dict[str, Any]]:
    """Fit on `examples` and store the weights and meta under `directory`."""
    model, meta = fit_model(examples, teams, cache, folds=folds)
    # Weights, then meta; loading checks that both carry the same token.
    save_model(model, directory / store.MODEL_FILE)
    store.write_meta(directory, meta)
    return model, meta


def is_current(meta: dict[str, Any] | None, directory: Path, embedder: Embedder,
               teams: Teams) -> bool:
    """Tell whether the stored model was trained for this taxonomy, model and format."""
    return meta_is_current(meta, embedder, teams) and (directory / store.MODEL_FILE).exists()


def meta_is_current(meta: dict[str, Any] | None, embedder: Embedder, teams: Teams) -> bool:
    """Whether a model with this meta was trained for this taxonomy, model and format."""
    return bool(
        meta
        and meta.get("format") == FORMAT_VERSION
        and meta.get("model_id") == embedder.model_id
        and meta.get("teams_fingerprint") == teams_fingerprint(teams)
        and meta.get("shipped_fingerprint") == shipped_fingerprint()
        and meta.get("features_fingerprint") == features_fingerprint()
    )
