"""Ingest timings: the docs corpus into an empty store, then again with nothing changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.bench.timing import timed

#: The PostHog docs beside the repository (`../shared`), when present.
SHARED_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "posthog-com"


def default_corpus(*, quick: bool = False) -> Path:
    """The shared PostHog docs, or the project's playbooks when absent (or when quick)."""
    from knowledge.ingest import PROJECT_CORPUS_DIR

    return PROJECT_CORPUS_DIR if quick or not SHARED_CORPUS.is_dir() else SHARED_CORPUS


@dataclass(frozen=True)
class IngestTimes:
    """Seconds for a cold ingest and for an unchanged re-ingest of one corpus."""

    corpus: Path
    cold_s: float
    unchanged_s: float
    chunks: int


def ingest_times(corpus: Path, workdir: Path) -> IngestTimes:
    """Ingest corpus into a new store with a new embedder (no cache), then once more."""
    from knowledge.embeddings import MiniLMEmbedder
    from knowledge.ingest import ingest_path
    from knowledge.store import open_store

    store = open_store(workdir / "ingest-chroma")
    embedder = MiniLMEmbedder()
    cold = timed(lambda: ingest_path(store, corpus, embedder))
    unchanged = timed(lambda: ingest_path(store, corpus, embedder))
    return IngestTimes(corpus=corpus, cold_s=cold, unchanged_s=unchanged,
                       chunks=store.docs.count())
