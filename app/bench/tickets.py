"""Distinct bench tickets generated from the eval datasets, each with a fresh id."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The Ticket contract's fields; eval-only keys (`expected`, `notes`, ...) are dropped.
TICKET_KEYS = ("source", "subject", "body", "requester", "organization", "tags", "created_at")


def dataset_dir() -> Path:
    """The installed `evals/datasets` folder (found without importing `evals`)."""
    spec = importlib.util.find_spec("evals")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the evals package is not installed; run `pip install -e .`")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def dataset_rows() -> list[dict[str, Any]]:
    """Every row of every `evals/datasets/*.jsonl`, in file order."""
    rows = []
    for path in sorted(dataset_dir().glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    if not rows:
        raise RuntimeError(f"no eval rows in {dataset_dir()}")
    return rows


def bench_tickets(count: int, *, prefix: str | None = None) -> Iterator[dict[str, Any]]:
    """`count` ticket dicts with fresh ids, cycling the eval rows.

    From the second pass on, a reference number is appended to the body, so that every
    ticket's text is distinct and no cache (embeddings, checkpoints) answers for it.
    """
    rows = dataset_rows()
    prefix = prefix or f"bench-{uuid.uuid4().hex[:8]}"
    for n in range(count):
        row = rows[n % len(rows)]
        ticket = {key: row[key] for key in TICKET_KEYS if key in row}
        ticket["id"] = f"{prefix}-{n:05d}"
        if n >= len(rows):
            ticket["body"] = f"{row.get('body', '')}\n\n(ref {prefix}-{n})"
        yield ticket


def write_ticket_dir(folder: Path, count: int, *, prefix: str | None = None) -> Path:
    """Write `count` tickets as one JSON file each into folder; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for ticket in bench_tickets(count, prefix=prefix):
        (folder / f"{ticket['id']}.json").write_text(json.dumps(ticket), encoding="utf-8")
    return folder
