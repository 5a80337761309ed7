"""Hybrid retrieval: Chroma cosine similarity plus BM25, fused into one 0..1 score.

score = w · cosine + (1 − w) · bm25 (both 0..1), plus a small bonus for the playbook or
team page the caller prefers (and a small malus for other teams' ownership pages). A
weighted sum rather than reciprocal-rank fusion because the score is printed and compared:
it must mean the same thing across queries. The preferred playbook and team pages are also
guaranteed one slot each.

A warm query costs one embedding (none when the caller passes it) and one Chroma query.
The BM25 index and the chunks' vectors are read from the collection once, lazily, and read
again after an ingest through this retriever (`refresh()`), when a query returns a chunk the
snapshot lacks, or when the collection's size changed (checked at most every
`COUNT_RECHECK_S` seconds: `count()` cost as much as the query itself).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.models import Passage
from knowledge.embeddings import Embedder
from knowledge.ingest import ensure_project_corpus, ingest_paths
from knowledge.lexical import BM25Index
from knowledge.store import KnowledgeStore, open_store
from knowledge.sync import IngestReport
from knowledge.topics import topic_lines

SEMANTIC_WEIGHT = 0.7
#: Added to the score of chunks of the preferred playbook / team pages.
PLAYBOOK_BONUS = 0.15
TEAM_BONUS = 0.05
#: How often (seconds) a query checks whether another process changed the collection's size.
COUNT_RECHECK_S = 2.0
#: The chunk metadata a search can prefer (`search(team=..., playbook=...)`).
PREFERENCE_KEYS = ("team", "playbook")
#: Prefetched query results kept at most (a batch takes each one within a chunk).
_PREFETCH_LIMIT = 1024
#: A team page's line describes a question's topic from this cosine up. The right line
#: scored 0.34-0.48 on our follow-up questions, unrelated ones (a question about a
#: cohort's recordings in German) below 0.30.
TOPIC_MIN_SIMILARITY = 0.3


@dataclass(frozen=True)
class _Index:
    """A snapshot of the collection for lexical scoring and preferences."""

    count: int
    ids: list[str]
    rows: dict[str, int]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    vectors: np.ndarray
    bm25: BM25Index
    #: Rows of each team's and playbook's pages: a search adds them without a scan.
    preferred: dict[tuple[str, str], list[int]]
    #: The lines of the team ownership pages (`knowledge.topics`).
    topics: list[str]

    def preferred_rows(self, prefs: Mapping[str, str]) -> set[int]:
        return {row for item in prefs.items() for row in self.preferred.get(item, ())}


def _load_index(collection: Any) -> _Index:
    got = collection.get(include=["documents", "metadatas", "embeddings"])
    ids, metas = list(got["ids"]), [dict(m or {}) for m in got["metadatas"] or []]
    docs = list(got["documents"] or [])
    vectors = np.asarray(got["embeddings"] if len(ids) else np.zeros((0, 1)), dtype=np.float32)
    # Titles and headings are searchable words too ("2FA", "Session Replay troubleshooting").
    lexical = [f"{m.get('heading', '')}\n{d}" for m, d in zip(metas, docs, strict=True)]
    preferred: dict[tuple[str, str], list[int]] = {}
    for row, meta in enumerate(metas):
        for key in PREFERENCE_KEYS:
            if meta.get(key):
                preferred.setdefault((key, str(meta[key])), []).append(row)
    return _Index(count=len(ids), ids=ids, rows={i: n for n, i in enumerate(ids)},
                  documents=docs, metadatas=metas, vectors=vectors, bm25=BM25Index(lexical),
                  preferred=preferred, topics=topic_lines(docs, metas))


class HybridRetriever:
    """Semantic + lexical search over the docs collection (satisfies `agent.context.Retriever`).

    Args:
        store: The knowledge store (see `knowledge.store.open_store`).
        embedder: Embeds queries that arrive without a vector.
        semantic_weight: Weight of cosine similarity; BM25 gets the rest.
        candidates: How many chunks each of the two searches proposes.
        per_page: At most this many chunks of one page in a result.

    """

    def __init__(self, store: KnowledgeStore, embedder: Embedder, *,
                 semantic_weight: float = SEMANTIC_WEIGHT, candidates: int = 40,
                 per_page: int = 2) -> None:
        self.store = store
        self.embedder = embedder
        self.semantic_weight = semantic_weight
        self.candidates = candidates
        self.per_page = per_page
        self._index: _Index | None = None
        self._counted_at = float("-inf")
        self._lock = threading.Lock()
        #: Nearest chunks of vectors queried ahead (`prefetch`), taken by the next `search`.
        self._prefetched: OrderedDict[bytes, dict[str, float]] = OrderedDict()
        #: The topic lines of the current snapshot and their vectors, embedded on first use.
        self._topics: tuple[list[str], np.ndarray] | None = None

    def ensure_corpus(self, corpus_dirs: Iterable[Path] = (), *,
                      progress: bool = False) -> IngestReport:
        """Index the project's playbooks (when missing or changed) and extra corpus folders."""
        report = ensure_project_corpus(self.store, self.embedder, progress=progress)
        report = report or IngestReport()
        dirs = [Path(d) for d in corpus_dirs]
        if dirs:
            report += ingest_paths(self.store, dirs, self.embedder, progress=progress)
        if report.changed:
            self.refresh()
        return report

    def refresh(self) -> None:
        """Forget the lexical snapshot and prefetched results (after an ingest)."""
        with self._lock:
            self._index = None
            self._prefetched.clear()

    def _current(self, *, force: bool = False) -> _Index:
        with self._lock:
            now = time.monotonic()
            if not force and self._index is not None and now - self._counted_at >= COUNT_RECHECK_S:
                self._counted_at = now
                force = self.store.docs.count() != self._index.count
            if force or self._index is None:
                self._index = _load_index(self.store.docs)
                self._counted_at = now
            return self._index

    def search(self, query: str, *, k: int = 5, embedding: np.ndarray | None = None,
               team: str | None = None, playbook: str | None = None) -> list[Passage]:
        """Top-k passages, best first; one slot is kept for the team and playbook pages."""
        index = self._current()
        if not query.strip() or not index.count or k <= 0:
            return []
        vector = (self.embedder.embed([query])[0] if embedding is None
                  else np.asarray(embedding, dtype=np.float32))
        prefs = {key: value for key, value in (("playbook", playbook), ("team", team)) if value}
        found = self._nearest(vector, index.count)
        if any(chunk_id not in index.rows for chunk_id in found):
            # Another process re-ingested without changing the count: the snapshot is stale.
            index = self._current(force=True)
        semantic = {index.rows[i]: cosine for i, cosine in found.items() if i in index.rows}
        lexical = index.bm25.scores(query)
        top_lexical = np.argsort(-lexical)[: self.candidates]
        rows = set(semantic) | {int(r) for r in top_lexical if lexical[r] > 0}
        rows |= index.preferred_rows(prefs)
        scores = {row: self._score(row, index, vector, semantic, lexical, prefs) for row in rows}
        picked = self._pick(index, scores, k)
        for key, value in prefs.items():
            picked = _guarantee(index, scores, picked, {key: value}, prefs, k)
        picked.sort(key=lambda row: -scores[row])
        return [self._passage(index, row, scores[row]) for row in picked]

    def describe(self, embedding: np.ndarray) -> str | None:
        """The team page line closest in meaning to a query's vector, if it is close enough.

        The lines (a few dozen) are embedded once per index snapshot, about 0.2 s; kept
        here rather than in the embedder's cache, which a batch run cycles through.
        """
        topics = self._current().topics
        if not topics:
            return None
        known = self._topics
        if known is None or known[0] is not topics:
            known = self._topics = (topics, self.embedder.embed(topics))
        similarity = known[1] @ np.asarray(embedding, dtype=np.float32)
        best = int(np.argmax(similarity))
        return topics[best] if similarity[best] >= TOPIC_MIN_SIMILARITY else None

    def prefetch(self, vectors: np.ndarray) -> None:
        """Run the semantic half of the coming searches of these vectors as one Chroma query.

        A batch run calls this with its tickets' vectors: one query of 64 vectors costs what
        about 12 single ones do. Each result is used once, by a `search` with the same vector.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        index = self._current()
        if not len(vectors) or not index.count:
            return
        found = self.store.docs.query(query_embeddings=vectors.tolist(),
                                      n_results=min(self.candidates, index.count),
                                      include=["distances"])
        with self._lock:
            for vector, ids, distances in zip(vectors, found["ids"], found["distances"],
                                              strict=True):
                self._prefetched[vector.tobytes()] = {
                    i: 1.0 - float(d) for i, d in zip(ids, distances, strict=True)}
            while len(self._prefetched) > _PREFETCH_LIMIT:
                self._prefetched.popitem(last=False)

    def _nearest(self, vector: np.ndarray, count: int) -> dict[str, float]:
        """Chunk id → cosine similarity for Chroma's nearest chunks."""
        with self._lock:
            ahead = self._prefetched.pop(vector.tobytes(), None)
        if ahead is not None and len(ahead) == min(self.candidates, count):
            return ahead
        found = self.store.docs.query(query_embeddings=[vector.tolist()],
                                      n_results=min(self.candidates, count),
                                      include=["distances"])
        return {i: 1.0 - float(d)
                for i, d in zip(found["ids"][0], found["distances"][0], strict=True)}

    def _score(self, row: int, index: _Index, vector: np.ndarray, semantic: dict[int, float],
               lexical: np.ndarray, prefs: dict[str, str]) -> float:
        cosine = semantic.get(row)
        if cosine is None:  # a lexical-only candidate: its vector is in the snapshot
            cosine = float(index.vectors[row] @ vector)
        score = (self.semantic_weight * max(cosine, 0.0)
                 + (1 - self.semantic_weight) * float(lexical[row]))
        meta = index.metadatas[row]
        if _matches(meta, {"playbook": prefs.get("playbook")}):
            score += PLAYBOOK_BONUS
        team = prefs.get("team")
        if team and meta.get("team"):
            # After a reassignment the old team's page should give way to the new one's.
            score += TEAM_BONUS if meta["team"] == team else -TEAM_BONUS
        return min(max(score, 0.0), 1.0)

    @staticmethod
    def _page(index: _Index, row: int) -> str:
        meta = index.metadatas[row]
        return str(meta.get("url") or f"{meta.get('root')}:{meta.get('source')}")

    def _pick(self, index: _Index, scores: dict[int, float], k: int) -> list[int]:
        """Pick the best rows, at most `per_page` from one page."""
        picked: list[int] = []
        per_page: dict[str, int] = {}
        for row in sorted(scores, key=lambda r: -scores[r]):
            page = self._page(index, row)
            meta = index.metadatas[row]
            # A team's ownership page is routing help, not an answer: one chunk is enough.
            cap = 1 if meta.get("team") and not meta.get("playbook") else self.per_page
            if per_page.get(page, 0) >= cap:
                continue
            per_page[page] = per_page.get(page, 0) + 1
            picked.append(row)
            if len(picked) == k:
                break
        return picked

    @staticmethod
    def _passage(index: _Index, row: int, score: float) -> Passage:
        meta = index.metadatas[row]
        return Passage(title=str(meta.get("title") or meta.get("source") or ""),
                       url=meta.get("url") or None, score=round(score, 4),
                       text=index.documents[row], heading=meta.get("heading") or None,
                       internal=meta.get("audience") == "hero")


def _matches(meta: Mapping[str, Any], prefs: Mapping[str, str | None]) -> bool:
    """Whether a chunk's page is one of the preferred ones (`team:` / `playbook:`)."""
    return any(value and meta.get(key) == value for key, value in prefs.items())


def _guarantee(index: _Index, scores: dict[int, float], picked: list[int],
               want: dict[str, str], prefs: dict[str, str], k: int) -> list[int]:
    """Make sure one chunk of the `want` page is in the result, taking the weakest slot."""
    if any(_matches(index.metadatas[row], want) for row in picked):
        return picked
    matching = [row for row in scores if _matches(index.metadatas[row], want)]
    if not matching:
        return picked
    best = max(matching, key=lambda row: scores[row])
    if len(picked) < k:
        return [*picked, best]
    # Never evict the page of the other preference to make room for this one.
    victims = [row for row in picked if not _matches(index.metadatas[row], prefs)]
    if not victims:
        return picked
    weakest = min(victims, key=lambda row: scores[row])
    return [row for row in picked if row != weakest] + [best]


def open_retriever(chroma_dir: Path, embedder: Embedder, *, corpus_dirs: Iterable[Path] = (),
                   ensure_corpus: bool = True) -> HybridRetriever:
    """Open a retriever on the store at chroma_dir, with the project playbooks indexed."""
    retriever = HybridRetriever(open_store(chroma_dir), embedder)
    if ensure_corpus:
        retriever.ensure_corpus(corpus_dirs)
    return retriever
