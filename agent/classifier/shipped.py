"""Pre-trained weights shipped in the package, so that a new home need not train first.

Training in a new home costs ~9 s (embedding ~300 example texts, then sklearn). These
weights are that same training, done once when the examples change, and they are used only
when they were trained on exactly what a fresh training would use: the shipped examples
(`agent/data/examples.jsonl`, by hash), the taxonomy (by hash), the embedding model (with
its token cap) and the format. Anything else, or any user-added example, trains as before.

Rebuild (and commit) after changing the shipped examples or the default teams::

    python -m agent.classifier.shipped

`tests/test_classifier.py` fails while the weights are stale.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from agent.classifier import persistence as store
from agent.classifier.fitting import is_current
from agent.classifier.model import Model, load_model
from agent.teams import Teams
from knowledge.embeddings import Embedder

#: model.npz and meta.json, as `train_and_save` writes them (numpy arrays, JSON: no pickle).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def shipped_model(embedder: Embedder, teams: Teams) -> tuple[Model, dict[str, Any]] | None:
    """The shipped weights and meta, or None when they do not fit this embedder and taxonomy."""
    meta = store.read_meta(WEIGHTS_DIR)
    if not meta or not is_current(meta, WEIGHTS_DIR, embedder, teams):
        return None
    try:
        model = load_model(WEIGHTS_DIR / store.MODEL_FILE)
    except (OSError, ValueError, KeyError):
        return None
    return (model, meta) if model.token == meta.get("token") else None


def install(directory: Path, embedder: Embedder, teams: Teams
            ) -> tuple[Model, dict[str, Any]] | None:
    """Copy the shipped weights into a classifier folder (when they fit); return them."""
    found = shipped_model(embedder, teams)
    if found is not None:
        directory.mkdir(parents=True, exist_ok=True)
        # Weights first, then meta: a reader pairs them by token, as after a training.
        for name in (store.MODEL_FILE, store.META_FILE):
            tmp = directory / (name + ".tmp")
            shutil.copyfile(WEIGHTS_DIR / name, tmp)
            tmp.replace(directory / name)
    return found


def build(target: Path = WEIGHTS_DIR) -> dict[str, Any]:
    """Train on the shipped examples and the default teams; write model.npz and meta.json."""
    from agent.classifier.embedding_classifier import load_or_train
    from agent.teams import load_teams
    from knowledge.embeddings import MiniLMEmbedder

    with tempfile.TemporaryDirectory(prefix="sidekick-weights-") as tmp:
        work = Path(tmp) / "classifier"
        # Train, never install: the weights being replaced must not answer for themselves.
        classifier = load_or_train(work, MiniLMEmbedder(), load_teams(), prebuilt=False)
        target.mkdir(parents=True, exist_ok=True)
        for name in (store.MODEL_FILE, store.META_FILE):
            shutil.copyfile(work / name, target / name)
    return classifier.meta


if __name__ == "__main__":  # pragma: no cover - the build command
    meta = build()
    report = meta["report"]
    print(f"wrote {WEIGHTS_DIR}: {meta['n_examples']} examples, model {meta['model_id']}, "
          f"CV team {report['team']['accuracy']:.3f}, kind {report['kind']['accuracy']:.3f}",
          file=sys.stderr)
