"""Eval datasets: JSONL rows of a Ticket plus `expected`, loaded and split into folds."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.jsonl import JsonlLineError, iter_jsonl
from agent.models import Ticket

SHIPPED_DIR = Path(__file__).resolve().parent / "datasets"
#: What `sidekick eval` runs when no `--dataset` is given.
SHIPPED = tuple(SHIPPED_DIR / f"{name}.jsonl"
                for name in ("triage", "retrieval", "drafts", "holdout", "conversations",
                             "conversations_holdout", "conversations_blind",
                             "intake_shapes"))
#: Keys of `expected` scored as labels (playbook: see `scoring.py`).
LABELS = ("team", "kind", "priority", "playbook")


class DatasetError(ValueError):
    """A dataset file or row that cannot be evaluated; the message names file, line, field."""


@dataclass(frozen=True)
class Row:
    """One eval row: the ticket the agent sees, and what it should produce."""

    ticket: Ticket
    expected: dict[str, Any]
    raw: dict[str, Any]
    line: int

    @property
    def id(self) -> str:
        """The ticket id."""
        return self.ticket.id

    def needs(self) -> set[str]:
        """What from ../shared the row needs: `corpus` (posthog.com docs), `issues`."""
        needs = set()
        if self.raw.get("corpus") == "posthog-com":
            needs.add("corpus")
        draft = self.expected.get("draft") or {}
        if draft.get("must_link_issue"):
            needs.add("issues")
        if any("posthog.com" in str(s).lower() for s in draft.get("must_contain") or []):
            needs.add("corpus")
        return needs


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset file; `name` is the file's stem (the key of its thresholds)."""

    name: str
    path: Path
    rows: list[Row]


def _row(data: Any, path: Path, line: int) -> Row:
    where = f"{path}:{line}"
    if not isinstance(data, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    expected = data.get("expected", {})
    if not isinstance(expected, dict):
        raise DatasetError(f"{where}: `expected` must be an object")
    try:
        ticket = Ticket.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error.get("loc", ())) or "row"
        raise DatasetError(f"{where}: `{field}`: {error.get('msg')}") from None
    return Row(ticket=ticket, expected=expected, raw=data, line=line)


def load_dataset(path: Path) -> Dataset:
    """Read and validate every row of a JSONL file.

    Raises:
        DatasetError: the file is missing or empty, a line is not JSON, a row is invalid,
            or two rows share an id.

    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    rows: list[Row] = []
    seen: set[str] = set()
    try:
        for line, data in iter_jsonl(path):
            row = _row(data, path, line)
            if row.id in seen:
                raise DatasetError(f"{path}:{line}: duplicate id {row.id!r}")
            seen.add(row.id)
            rows.append(row)
    except JsonlLineError as exc:
        raise DatasetError(f"{path}:{exc.line}: not valid JSON ({exc.msg})") from None
    if not rows:
        raise DatasetError(f"{path}: no rows")
    return Dataset(name=path.stem, path=path, rows=rows)


def assign_folds(rows: list[Row], k: int, seed: int = 0) -> list[int]:
    """Fold number (0..k-1) of each row: shuffled with `seed`, stratified by team.

    Rows without a team form a stratum of their own. A team with fewer than k rows simply
    misses some folds.
    """
    from sklearn.model_selection import StratifiedKFold

    if not 2 <= k <= len(rows):
        raise DatasetError(f"--cv {k}: needs 2 ≤ K ≤ {len(rows)} (the number of rows)")
    strata = [str(r.expected.get("team") or "(none)") for r in rows]
    folds = [0] * len(rows)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the least populated class has only N members"
        for fold, (_train, test) in enumerate(splitter.split(strata, strata)):
            for i in test:
                folds[int(i)] = fold
    return folds
