"""Idempotent indexing into a Chroma collection, in the manner of langchain's indexing API.

A record's id is a hash of its text and metadata (serialized with sorted keys), so an
unchanged record keeps its id and is skipped without being embedded again. Records are
grouped by `source` (a file, an issue URL) under a `root` (what was ingested); a source's
records that are no longer produced are deleted. A new record that takes the place of an
old one with the same `key` (same file, same heading, same part) counts as *updated*.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge.embeddings import Embedder

MetadataValue = str | int | float | bool
_EMBED_BATCH = 64
_WRITE_BATCH = 1_000


@dataclass
class IngestReport:
    """What an ingest did: the four counts, and how many files (or rows) it read."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    removed: int = 0
    files: int = 0

    def __add__(self, other: IngestReport) -> IngestReport:
        return IngestReport(
            added=self.added + other.added,
            updated=self.updated + other.updated,
            skipped=self.skipped + other.skipped,
            removed=self.removed + other.removed,
            files=self.files + other.files,
        )

    def counts(self) -> tuple[int, int, int, int]:
        """Return (added, updated, skipped, removed)."""
        return self.added, self.updated, self.skipped, self.removed

    @property
    def changed(self) -> bool:
        """Whether anything was written or deleted."""
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        """Format the counts: `added 3, updated 1, skipped 40, removed 0`."""
        return (f"added {self.added}, updated {self.updated}, "
                f"skipped {self.skipped}, removed {self.removed}")


def content_id(document: str, metadata: Mapping[str, Any]) -> str:
    """Make a stable id: the hash of the text and the metadata, keys sorted."""
    payload = json.dumps({"document": document, "metadata": dict(metadata)},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class Record:
    """One thing to index: the stored text, the text to embed, and flat metadata."""

    key: str
    document: str
    embed_text: str
    metadata: dict[str, MetadataValue]
    id: str = field(init=False)

    def __post_init__(self) -> None:
        # The metadata holds root, source and key, so equal texts in two places differ.
        object.__setattr__(self, "id", content_id(self.document, self.metadata))


@dataclass
class SourceState:
    """What the collection holds for one source: id → key, and the source's fingerprint."""

    ids: dict[str, str] = field(default_factory=dict)
    fingerprint: str | None = None


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, MetadataValue]:
    """Chroma accepts only str/int/float/bool values: drop None, join lists."""
    out: dict[str, MetadataValue] = {}
    for name, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set):
            value = ",".join(str(v) for v in value)
        out[name] = value if isinstance(value, str | int | float | bool) else str(value)
    return out


def read_state(collection: Any, root: str) -> dict[str, SourceState]:
    """Every source stored under root, with its record ids, keys and fingerprint."""
    got = collection.get(where={"root": root}, include=["metadatas"])
    state: dict[str, SourceState] = {}
    for record_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
        entry = state.setdefault(str(meta.get("source", "")), SourceState())
        entry.ids[record_id] = str(meta.get("key", ""))
        fingerprint = meta.get("fingerprint")
        entry.fingerprint = str(fingerprint) if fingerprint is not None else None
    return state


@dataclass
class _Plan:
    add: list[Record] = field(default_factory=list)
    restamp: list[Record] = field(default_factory=list)  # unchanged, new fingerprint
    delete: list[str] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)


def _plan_source(plan: _Plan, old: SourceState, records: list[Record], fingerprint: str) -> None:
    new_ids = {r.id for r in records}
    new_keys = {r.key for r in records}
    old_keys = set(old.ids.values())
    for record in records:
        if record.id in old.ids:
            plan.report.skipped += 1
            if old.fingerprint != fingerprint:
                plan.restamp.append(record)
        else:
            plan.add.append(record)
            if record.key in old_keys:
                plan.report.updated += 1
            else:
                plan.report.added += 1
    for record_id, key in old.ids.items():
        if record_id not in new_ids:
            plan.delete.append(record_id)
            if key not in new_keys:  # else it was counted as updated
                plan.report.removed += 1


def sync(collection: Any, embedder: Embedder, *, state: Mapping[str, SourceState],
         fresh: Mapping[str, tuple[str, list[Record]]], kept: Iterable[str] = (),
         sweep: bool = False, progress: bool = False) -> IngestReport:
    """Bring the collection in line with fresh records.

    Args:
        collection: The Chroma collection.
        embedder: Embeds the records that are new or changed, and only those.
        state: What the collection holds under this root (see `read_state`).
        fresh: source → (fingerprint, records) for every source read this time.
        kept: Sources known unchanged by fingerprint: skipped without being read.
        sweep: Delete the root's sources that are neither fresh nor kept (vanished files).
        progress: Show a tqdm bar on stderr while embedding.

    """
    plan = _Plan()
    kept = set(kept)
    for source in kept:
        plan.report.skipped += len(state[source].ids) if source in state else 0
    for source, (fingerprint, records) in fresh.items():
        _plan_source(plan, state.get(source, SourceState()), records, fingerprint)
    if sweep:
        for source, entry in state.items():
            if source not in fresh and source not in kept:
                plan.delete.extend(entry.ids)
                plan.report.removed += len(entry.ids)
    fingerprints = {source: fp for source, (fp, _) in fresh.items()}
    _write(collection, embedder, plan.add, fingerprints, progress)
    if plan.restamp:
        _restamp(collection, plan.restamp, fingerprints)
    for start in range(0, len(plan.delete), _WRITE_BATCH):
        collection.delete(ids=plan.delete[start : start + _WRITE_BATCH])
    return plan.report


def _stamped(record: Record, fingerprints: Mapping[str, str]) -> dict[str, MetadataValue]:
    fingerprint = fingerprints.get(str(record.metadata.get("source", "")))
    return {**record.metadata, **({"fingerprint": fingerprint} if fingerprint else {})}


def _write(collection: Any, embedder: Embedder, records: list[Record],
           fingerprints: Mapping[str, str], progress: bool) -> None:
    """Embed and upsert records in batches (new ones first: a crash loses no old data)."""
    if not records:
        return
    from tqdm import tqdm

    # Similar lengths in one batch: padding to the longest text is wasted work.
    records = sorted(records, key=lambda r: len(r.embed_text))
    bar = tqdm(total=len(records), desc="embedding", unit="chunk", file=sys.stderr,
               disable=not progress, leave=False)
    try:
        for start in range(0, len(records), _EMBED_BATCH):
            batch = records[start : start + _EMBED_BATCH]
            vectors = embedder.embed([r.embed_text for r in batch])
            collection.upsert(
                ids=[r.id for r in batch],
                embeddings=vectors,
                documents=[r.document for r in batch],
                metadatas=[_stamped(r, fingerprints) for r in batch],
            )
            bar.update(len(batch))
    finally:
        bar.close()


def _restamp(collection: Any, records: list[Record], fingerprints: Mapping[str, str]) -> None:
    """Record a changed file's new fingerprint on its unchanged chunks (no re-embedding)."""
    for start in range(0, len(records), _WRITE_BATCH):
        batch = records[start : start + _WRITE_BATCH]
        collection.update(ids=[r.id for r in batch],
                          metadatas=[_stamped(r, fingerprints) for r in batch])
