"""The floors the targets are ratios of: one embedding plus one Chroma query; the imports."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from app.bench.timing import median, run_child, timed

#: The libraries any triage needs, whatever its surface (`python -c "import ..."`).
TRIAGE_LIBRARIES = (
    "langgraph.graph",
    "langgraph.checkpoint.sqlite",
    "chromadb",
    "onnxruntime",
    "tokenizers",
    "numpy",
    "pydantic",
)


def floor_probe(retriever) -> Callable[[str], float]:
    """A function: milliseconds to embed one (uncached) text and run one Chroma query.

    The query asks for as many candidates as the retriever's semantic search does, on the
    same collection, so the floor is exactly the unavoidable part of a retrieval.
    """
    collection = retriever.store.docs
    n_results = max(1, min(retriever.candidates, collection.count()))

    def one(text: str) -> None:
        vector = retriever.embedder.embed([text])[0]
        collection.query(query_embeddings=[vector.tolist()], n_results=n_results,
                         include=["distances"])

    one("warm-up: the model and the query path are loaded once")
    return lambda text: timed(lambda: one(text)) * 1000


def embed_query_floor_ms(retriever, texts: Sequence[str]) -> list[float]:
    """The floor in milliseconds for each text (see `floor_probe`)."""
    probe = floor_probe(retriever)
    return [probe(text) for text in texts]


def import_floor_s(runs: int) -> float:
    """Median wall seconds of a fresh `python -c "import <TRIAGE_LIBRARIES>"`."""
    code = "import " + ", ".join(TRIAGE_LIBRARIES)
    return median([run_child([sys.executable, "-c", code]).wall_s for _ in range(runs)])
