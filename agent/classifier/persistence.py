"""What the classifier keeps under `classifier_dir`, and how it is written.

    examples.jsonl   the labeled examples trained on (shipped + user-added), one per line
    embeddings.npz   vectors of every text seen, keyed by hash(model id, text)
    model.npz        the weights (model.py)
    meta.json        teams, counts, calibration, CV report, trained_at, model id

Every write goes to a temporary file that replaces the old one, so a crash or a reader in
another process never sees half a file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.classifier.examples import Example, load_examples, text_key
from knowledge.embeddings import Embedder

EXAMPLES_FILE = "examples.jsonl"
EMBEDDINGS_FILE = "embeddings.npz"
MODEL_FILE = "model.npz"
META_FILE = "meta.json"


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two processes on one home (serve's API and worker) never share one.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_examples(directory: Path, examples: Sequence[Example]) -> None:
    """Store the examples as eval-dataset rows (with their origin)."""
    lines = (json.dumps(e.to_row(), ensure_ascii=False) for e in examples)
    _replace(directory / EXAMPLES_FILE, ("\n".join(lines) + "\n").encode("utf-8"))


def read_examples(directory: Path) -> list[Example]:
    """Read the stored examples (none when nothing was stored yet)."""
    path = directory / EXAMPLES_FILE
    return load_examples(path, origin="user") if path.exists() else []


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    """Store the JSON meta."""
    _replace(directory / META_FILE, json.dumps(meta, indent=2, sort_keys=True).encode("utf-8"))


def read_meta(directory: Path) -> dict[str, Any] | None:
    """Read the stored meta; None when it is missing or unreadable (then we retrain)."""
    try:
        return json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def read_state(directory: Path) -> tuple[bytes, dict[str, Any], str] | None:
    """The trained state as the database keeps it: weights, meta and examples (None: none)."""
    meta = read_meta(directory)
    try:
        weights = (directory / MODEL_FILE).read_bytes()
        examples = (directory / EXAMPLES_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return (weights, meta, examples) if meta else None


def write_state(directory: Path, weights: bytes, meta: dict[str, Any], examples: str) -> None:
    """Install a state read from the database as this host's files (its local cache).

    Weights and examples first, meta last: a reader pairs meta and weights by token, so one
    that looks in between sees the old meta with new weights and retrains rather than mixing.
    """
    _replace(directory / MODEL_FILE, weights)
    _replace(directory / EXAMPLES_FILE, examples.encode("utf-8"))
    write_meta(directory, meta)


class EmbeddingCache:
    """Vectors of texts in one `.npz`, so a retrain embeds only texts it has not seen."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.path = path
        self.embedder = embedder
        #: How many texts the last `vectors()` call had to embed (tests and the CLI read it).
        self.last_embedded = 0

    def _load(self) -> tuple[list[str], np.ndarray]:
        empty: tuple[list[str], np.ndarray] = ([], np.zeros((0, 0), dtype=np.float32))
        if not self.path.exists():
            return empty
        with np.load(self.path, allow_pickle=False) as data:
            # Another model's vectors (another dimension, too) are of no use: start over.
            if str(data["model_id"]) != self.embedder.model_id:
                return empty
            return [str(k) for k in data["keys"]], data["vectors"]

    def _save(self, keys: list[str], vectors: np.ndarray) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, keys=np.array(keys, dtype=str), vectors=vectors,
                     model_id=np.array(self.embedder.model_id))
        tmp.replace(self.path)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Return the vectors of `texts`, embedding (in one batch) only those not cached."""
        namespace = self.embedder.model_id
        wanted = [text_key(t, namespace) for t in texts]
        keys, stored = self._load()
        position = {k: i for i, k in enumerate(keys)}
        missing: dict[str, str] = {}
        for key, text in zip(wanted, texts, strict=True):
            if key not in position:
                missing.setdefault(key, text)
        self.last_embedded = len(missing)
        if missing:
            fresh = np.asarray(self.embedder.embed(list(missing.values())), dtype=np.float32)
            stored = fresh if not len(keys) else np.vstack([stored, fresh])
            for key in missing:
                position[key] = len(keys)
                keys.append(key)
            self._save(keys, stored)
        if not texts:
            return np.zeros((0, stored.shape[1] if stored.ndim == 2 else 0), dtype=np.float32)
        return stored[[position[k] for k in wanted]]
