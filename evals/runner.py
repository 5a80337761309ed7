"""Run a dataset through `TriageService`, the entry point `sidekick triage` uses.

Nothing here re-implements the graph: each ticket goes through `service.triage` in a home
of its own (see workspace.py), and what comes back is the `TriageResult` a user would see.
With `cv=K` the rows are split into K folds; each fold gets a fresh home whose classifier
is trained on the shipped examples plus the other folds (plus any `--train` rows), and the
predictions of all folds are pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from agent.models import TriageResult
from evals.conversations import play
from evals.dataset import Dataset, Row, assign_folds
from evals.workspace import Workspace


@dataclass
class Observation:
    """One row and what the agent produced for it (or the error it raised)."""

    row: Row
    result: TriageResult | None
    latency_ms: float
    fold: int | None = None
    error: str | None = None


@dataclass
class Run:
    """Every observation of one dataset, and how it was produced."""

    dataset: Dataset
    observations: list[Observation]
    cv: int | None
    seed: int
    skipped: list[str]
    wall_s: float
    engine: str


def _warm_up(service: Any) -> None:
    # The first ticket would otherwise pay for loading the ONNX model and reading the
    # lexical index (~1 s): a cold start, not the per-ticket latency users see.
    service.context.embedder.embed(["warm up"])
    service.context.retriever.search("warm up", k=1)


def triage_rows(workspace: Workspace, home: Path, rows: Sequence[Row], bar: Any,
                fold: int | None = None) -> list[Observation]:
    """Triage each row in `home` through the service, timing each ticket."""
    from app.service import open_service

    observations = []
    with open_service(workspace.settings_for(home)) as service:
        _warm_up(service)
        for row in rows:
            started = perf_counter()
            try:
                if row.raw.get("turns"):  # a conversation: play its turns
                    result, error = play(service, row), None
                else:
                    result, error = service.triage(row.ticket).result, None
            except Exception as exc:  # noqa: BLE001 - one bad ticket must not end the run
                result, error = None, f"{type(exc).__name__}: {exc}"
            observations.append(Observation(row, result, (perf_counter() - started) * 1000,
                                            fold, error))
            bar.update(1)
    return observations


def training_row(row: Row) -> dict[str, Any] | None:
    """The row as a classifier example (team and kind only), or None without either."""
    team, kind = row.expected.get("team"), row.expected.get("kind")
    if not team and not kind:
        return None
    return {**row.ticket.model_dump(mode="json"), "expected": {"team": team, "kind": kind}}


def _run_plain(workspace: Workspace, dataset: Dataset, rows: list[Row], bar: Any
               ) -> list[Observation]:
    home = workspace.fresh_home(dataset.name)
    workspace.forget_issues(home, [r.ticket.url or "" for r in rows])
    bar.set_description(dataset.name)
    return triage_rows(workspace, home, rows, bar)


def _run_cv(workspace: Workspace, dataset: Dataset, rows: list[Row], k: int, seed: int,
            bar: Any) -> list[Observation]:
    folds = assign_folds(rows, k, seed)
    examples = [training_row(r) for r in rows]
    workspace.warm_cache([e for e in examples if e is not None])
    observations: list[Observation] = []
    for fold in range(k):
        bar.set_description(f"{dataset.name} fold {fold + 1}/{k} (training)")
        home = workspace.fresh_home(f"{dataset.name}-fold{fold + 1}")
        train = [training_row(r) for r, f in zip(rows, folds, strict=True) if f != fold]
        workspace.train(home, [t for t in train if t is not None])
        workspace.forget_issues(home, [r.ticket.url or "" for r in rows])
        bar.set_description(f"{dataset.name} fold {fold + 1}/{k}")
        held_out = [r for r, f in zip(rows, folds, strict=True) if f == fold]
        observations += triage_rows(workspace, home, held_out, bar, fold=fold)
    order = {r.id: i for i, r in enumerate(rows)}
    return sorted(observations, key=lambda o: order[o.row.id])


def runnable(dataset: Dataset, workspace: Workspace) -> tuple[list[Row], list[str]]:
    """The rows whose needs (posthog.com docs, the issue index) are met, and why others aren't."""
    have = {name for name, path in (("corpus", workspace.data.corpus),
                                    ("issues", workspace.data.issues)) if path is not None}
    rows, skipped = [], []
    for row in dataset.rows:
        missing = row.needs() - have
        if missing:
            skipped.append(f"{row.id} (needs {', '.join(sorted(missing))})")
        else:
            rows.append(row)
    return rows, skipped


def run_dataset(workspace: Workspace, dataset: Dataset, bar: Any, *, cv: int | None = None,
                seed: int = 0) -> Run:
    """Triage a dataset (cross-validated when `cv`) and collect the observations."""
    started = perf_counter()
    rows, skipped = runnable(dataset, workspace)
    bar.total = (bar.total or 0) - len(skipped)
    if not rows:
        observations = []
    elif cv:
        observations = _run_cv(workspace, dataset, rows, cv, seed, bar)
    else:
        observations = _run_plain(workspace, dataset, rows, bar)
    engines = {o.result.engine for o in observations if o.result is not None}
    return Run(dataset=dataset, observations=observations, cv=cv, seed=seed, skipped=skipped,
               wall_s=perf_counter() - started, engine=", ".join(sorted(engines)) or "none")
