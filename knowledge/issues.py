"""GitHub issues: `sidekick ingest-issues FILE.jsonl` and the index the graph links from.

One row per issue, in the eval-dataset format (`subject` is the issue title, `body` the
start of its description, `url`, and `github: {number, state, labels}`). An issue is
embedded as its title plus the start of its body; the issue's URL is its `source`, the
JSONL file is the root, so re-ingesting a file skips unchanged issues, updates edited ones
(new title, state or labels) and removes those no longer in the file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from agent.context import IssueMatch
from agent.jsonl import JsonlLineError, iter_jsonl
from knowledge.embeddings import Embedder
from knowledge.lexical import tokenize
from knowledge.store import KnowledgeStore
from knowledge.sync import IngestReport, Record, clean_metadata, read_state, sync

#: How much of an issue's body is embedded with its title (MiniLM reads ~256 tokens).
BODY_CHARS = 600
#: Cosine candidates re-scored with the title overlap (the best link is rarely lower).
CANDIDATES = 8
#: Template prefixes of issue titles that say nothing about the subject.
_TITLE_PREFIX = re.compile(
    r"^\s*\[?(?:feature request|feature|bug report|bug|enhancement)\]?\s*[:\-]\s*", re.I)


#: Tracker labels that say what an issue is ("feature/surveys" names an area, not a kind).
_KIND_LABELS = {"bug": "bug", "type/bug": "bug", "enhancement": "feature_request",
                "feature request": "feature_request", "feature-request": "feature_request",
                "type/feature": "feature_request", "new feature": "feature_request"}


def issue_kind(row: dict[str, Any]) -> str | None:
    """The issue's kind: a maintainer's label in `expected.kind`, else the tracker's labels."""
    expected = (row.get("expected") or {}).get("kind")
    if expected:
        return str(expected)
    labels = [str(label).lower() for label in (row.get("github") or {}).get("labels") or []]
    kinds = {_KIND_LABELS[label] for label in labels if label in _KIND_LABELS}
    return kinds.pop() if len(kinds) == 1 else None


class IssueFileError(ValueError):
    """A JSONL line that is not a usable issue."""


def read_issue_rows(path: Path) -> list[dict[str, Any]]:
    """Read the JSONL file's issue rows (blank lines are allowed).

    Raises:
        IssueFileError: A line is not JSON, or has no URL or no title.

    """
    rows = []
    try:
        numbered = list(iter_jsonl(path))
    except JsonlLineError as exc:
        raise IssueFileError(f"{path}:{exc.line}: not JSON ({exc.msg})") from None
    for number, row in numbered:
        if not isinstance(row, dict):
            raise IssueFileError(f"{path}:{number}: expected a JSON object")
        if not _issue_url(row) or not str(row.get("subject") or row.get("title") or "").strip():
            raise IssueFileError(f"{path}:{number}: an issue needs `url` and `subject`")
        rows.append(row)
    return rows


def _issue_url(row: dict[str, Any]) -> str | None:
    github = row.get("github") or {}
    if row.get("url"):
        return str(row["url"])
    if github.get("repo") and github.get("number"):
        return f"https://github.com/{github['repo']}/issues/{github['number']}"
    return None


def issue_record(row: dict[str, Any], *, root: str, model_id: str) -> Record:
    """Turn one JSONL row into a record keyed by the issue URL."""
    github = row.get("github") or {}
    url = _issue_url(row) or ""
    title = str(row.get("subject") or row.get("title") or "").strip()
    body = " ".join(str(row.get("body") or "").split())[:BODY_CHARS]
    text = f"{title}\n\n{body}".strip()
    metadata = clean_metadata({
        "root": root, "source": url, "key": url, "url": url, "title": title,
        "number": github.get("number"), "state": github.get("state"),
        "labels": github.get("labels"), "repo": github.get("repo"), "model": model_id,
        "kind": issue_kind(row),
    })
    return Record(key=url, document=text, embed_text=text, metadata=metadata)


def ingest_issues(store: KnowledgeStore, path: Path, embedder: Embedder, *,
                  progress: bool = False) -> IngestReport:
    """Index the issues of one JSONL file into the issues collection (idempotent)."""
    path = Path(path).resolve()
    rows = read_issue_rows(path)
    root = path.as_posix()
    collection = store.issues
    state = read_state(collection, root)
    fresh: dict[str, tuple[str, list[Record]]] = {}
    for row in rows:
        record = issue_record(row, root=root, model_id=embedder.model_id)
        # The record id already hashes everything that matters: it is the fingerprint.
        fresh[record.key] = (record.id, [record])
    report = sync(collection, embedder, state=state, fresh=fresh, sweep=True, progress=progress)
    report.files = len(fresh)
    return report


class ChromaIssueIndex:
    """The indexed GitHub issues (satisfies `agent.context.IssueIndex`).

    Args:
        store: The knowledge store holding the issues collection.
        embedder: Embeds ticket texts that arrive without a vector.

    """

    def __init__(self, store: KnowledgeStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        # Document frequencies of the indexed issues' terms, for the count they were read at.
        self._terms: tuple[int, Counter[str]] | None = None

    def count(self) -> int:
        """Return the number of indexed issues."""
        return int(self.store.issues.count())

    def is_empty(self) -> bool:
        """Whether no issue is indexed (then the graph drafts new issues without looking)."""
        return self.count() == 0

    def closest(self, text: str, *, embedding: np.ndarray | None = None, k: int = 3
                ) -> list[IssueMatch]:
        """Return the k best issues by `IssueMatch.link_score` (cosine plus title overlap)."""
        total = self.count()
        if not total or k <= 0 or not text.strip():
            return []
        vector = (self.embedder.embed([text])[0] if embedding is None
                  else np.asarray(embedding, dtype=np.float32))
        # Ask for a few more: one issue listed in two ingested files is shown once.
        found = self.store.issues.query(query_embeddings=[vector.tolist()],
                                        n_results=min(total, max(k * 2, CANDIDATES)),
                                        include=["metadatas", "distances"])
        words = set(tokenize(text))
        matches: dict[str, IssueMatch] = {}
        for meta, distance in zip(found["metadatas"][0], found["distances"][0], strict=True):
            url = str(meta.get("url", ""))
            if url in matches:
                continue
            number = meta.get("number")
            title = str(meta.get("title", ""))
            matches[url] = IssueMatch(
                url=url, title=title,
                score=round(min(max(1.0 - float(distance), 0.0), 1.0), 4),
                state=meta.get("state"), number=int(number) if number is not None else None,
                kind=str(meta["kind"]) if meta.get("kind") else None,
                title_overlap=round(self._title_overlap(title, words, total), 4),
            )
        return sorted(matches.values(), key=lambda m: -m.link_score)[:k]

    def _title_overlap(self, title: str, words: set[str], total: int) -> float:
        """IDF-weighted share of the title's terms found among the ticket's `words`."""
        if self._terms is None or self._terms[0] != total:
            documents = self.store.issues.get(include=["documents"])["documents"] or []
            self._terms = (total, Counter(t for d in documents for t in set(tokenize(d))))
        frequencies = self._terms[1]
        terms = set(tokenize(_TITLE_PREFIX.sub("", title)))

        def idf(term: str) -> float:
            df = frequencies.get(term, 0)
            return math.log(1 + (total - df + 0.5) / (df + 0.5))

        weight = sum(idf(t) for t in terms)
        return sum(idf(t) for t in terms & words) / weight if weight else 0.0
