"""The Chroma store: embedded under a folder (the default) or a Chroma server; two collections.

Chroma never embeds anything here: its default embedding function downloads a model at
run time, which fails offline. Every collection is opened with `embedding_function=None`
and every write and query passes vectors computed by our own embedder; the same holds for
a server (`tools.chroma`), which never embeds by itself: embedding is the client's job.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.chroma import ChromaServer

DOCS_COLLECTION = "sidekick-docs"
ISSUES_COLLECTION = "sidekick-github-issues"
#: Cosine distance, so that `1 - distance` is the cosine similarity of unit vectors.
_COSINE = {"hnsw:space": "cosine"}


def open_client(chroma_dir: Path) -> Any:
    """Open a chromadb PersistentClient at chroma_dir, with telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_dir = Path(chroma_dir)
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )


class KnowledgeStore:
    """The Chroma client and Sidekick's two collections (docs chunks, GitHub issues).

    Collections are created on first use, so opening a store costs one client.
    """

    def __init__(self, client: Any, *, docs_name: str = DOCS_COLLECTION,
                 issues_name: str = ISSUES_COLLECTION) -> None:
        self.client = client
        self._docs_name = docs_name
        self._issues_name = issues_name

    def collection(self, name: str) -> Any:
        """Get or create a cosine collection that never embeds by itself."""
        return self.client.get_or_create_collection(
            name, embedding_function=None, metadata=dict(_COSINE)
        )

    @cached_property
    def docs(self) -> Any:
        """Handbook, docs and playbook chunks."""
        return self.collection(self._docs_name)

    @cached_property
    def issues(self) -> Any:
        """Indexed GitHub issues."""
        return self.collection(self._issues_name)


def open_store(chroma_dir: Path, *, server: ChromaServer | None = None) -> KnowledgeStore:
    """Open the knowledge store: the Chroma server's when one is given, else the one at chroma_dir.

    `app.runtime.open_knowledge(settings)` chooses from the settings (`SIDEKICK_CHROMA_URL`).
    """
    if server is not None:
        from tools.chroma import connect

        return KnowledgeStore(connect(server))
    return KnowledgeStore(open_client(chroma_dir))
