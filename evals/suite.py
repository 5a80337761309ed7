"""`sidekick eval` end to end: build the homes, run the datasets, score, judge, gate.

The CLI parses arguments and prints; this module does the work and reports through a
`notify` callback (STYLE: no print outside the CLI).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from evals.dataset import Dataset
from evals.runner import Run, run_dataset
from evals.thresholds import Bound, Check, apply, dataset_key
from evals.workspace import Workspace

Notify = Callable[[str], None]
JUDGE_SKIPPED = "LLM judge skipped: no LLM configured"


@dataclass
class Options:
    """What to evaluate and how."""

    datasets: list[Dataset]
    train_rows: list[dict[str, Any]] = field(default_factory=list)
    cv: int | None = None
    seed: int = 0
    home: Path | None = None
    shared: Path | None = None
    baselines: bool = False
    progress: bool = True
    #: `auto`: the LLM engine when one is configured; `llm`: it, beside the offline engine
    #: on the same rows (and gated against it); `offline`: the offline engine only.
    engine: str = "auto"
    #: Evaluate only the first N rows of each dataset (a fixed subset); None: all.
    rows: int | None = None


@dataclass
class Outcome:
    """The finished report and the gate's checks."""

    report: dict[str, Any]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """Whether every threshold was met."""
        return all(c.passed for c in self.checks)


def _overlap_free(train_rows: list[dict[str, Any]], datasets: list[Dataset]
                  ) -> tuple[list[dict[str, Any]], int]:
    """Drop --train rows that are also evaluated (same id or same text): no leakage."""
    from agent.classifier.examples import text_key
    from agent.models import Ticket

    ids = {r.id for d in datasets for r in d.rows}
    texts = {text_key(r.ticket.text) for d in datasets for r in d.rows}
    kept = [row for row in train_rows
            if str(row.get("id")) not in ids
            and text_key(Ticket.model_validate(row).text) not in texts]
    return kept, len(train_rows) - len(kept)


def _prepare(options: Options, notify: Notify) -> tuple[Workspace, Callable[[], None]]:
    from app.settings import get_settings
    from evals.workspace import open_workspace
    from knowledge.embeddings import MiniLMEmbedder

    workspace, cleanup = open_workspace(get_settings(), MiniLMEmbedder(), home=options.home,
                                        shared=options.shared)
    if workspace.data.corpus is None:
        notify(f"note: {options.shared}/corpus/posthog-com not found: rows that need the "
               "posthog.com docs are skipped")
    if workspace.data.issues is None:
        notify(f"note: {options.shared}/data/posthog_issues_dev.jsonl not found: rows that "
               "need the GitHub issue index are skipped")
    started = perf_counter()
    workspace.build(notify, progress=options.progress and sys.stderr.isatty())
    if options.train_rows:
        rows, dropped = _overlap_free(options.train_rows, options.datasets)
        if dropped:
            notify(f"note: {dropped} --train rows are also in an evaluated dataset; "
                   "left out of training")
        workspace = workspace.layered("train", rows)
    workspace.timings_s["setup"] = perf_counter() - started
    return workspace, cleanup


def _progress_bar(options: Options) -> Any:
    from tqdm import tqdm

    total = sum(len(d.rows) for d in options.datasets)
    # A bar for a person watching a terminal; none in pipes, logs and CI.
    return tqdm(total=total, file=sys.stderr, unit="ticket", dynamic_ncols=True,
                disable=not (options.progress and sys.stderr.isatty()))


def _evaluate(workspace: Workspace, dataset: Dataset, options: Options, teams: list[str],
              bar: Any, notify: Notify) -> tuple[Run, dict[str, Any]]:
    """Run one dataset and score it, with the LLM judge and the baselines when asked."""
    from evals.scoring import score_run

    run = run_dataset(workspace, dataset, bar, cv=options.cv, seed=options.seed)
    report = score_run(run, teams)
    if run.skipped:
        notify(f"{dataset.name}: skipped {len(run.skipped)} rows that need ../shared")
    if options.engine == "llm":
        from evals.engines import compare, offline_workspace

        bar.total = (bar.total or 0) + len(run.observations)
        offline = run_dataset(offline_workspace(workspace), dataset, bar, cv=options.cv,
                              seed=options.seed)
        report["engines"] = compare(report, score_run(offline, teams))
    report["llm_judge"] = None
    settings = workspace.settings
    if settings.llm_enabled:
        from evals.judge import judge_drafts, make_judge_client

        engine_model = settings.llm_model if "llm" in run.engine else None
        report["llm_judge"] = judge = judge_drafts(
            make_judge_client(settings), settings.llm_model, run.observations, engine_model)
        for warning in (judge or {}).get("warnings", []):
            notify(f"{dataset.name}: LLM judge: {warning}")
    if options.baselines:
        from evals.baselines import run_baselines

        report["baselines"] = run_baselines(run, workspace.vectors, seed=options.seed)
    return run, report


def run_suite(options: Options, bounds: dict[str, list[Bound]], notify: Notify) -> Outcome:
    """Evaluate every dataset and apply the thresholds."""
    from agent.teams import load_teams
    from evals.report import build_report, pooled

    started = perf_counter()
    workspace, cleanup = _prepare(options, notify)
    if options.engine == "offline":
        from evals.engines import offline_workspace

        workspace = offline_workspace(workspace)
    try:
        teams = list(load_teams(workspace.settings.teams_file).slugs)
        if not workspace.settings.llm_enabled:
            notify(JUDGE_SKIPPED)
        runs, reports = [], {}
        with _progress_bar(options) as bar:
            for dataset in options.datasets:
                run, report = _evaluate(workspace, dataset, options, teams, bar, notify)
                runs.append(run)
                reports[dataset_key(dataset.name, options.cv)] = report
        checks = apply(bounds, reports)
        from evals.engines import floor_checks

        for key, report in reports.items():
            if report.get("engines"):
                checks += floor_checks(key, report["engines"])
        context = {"datasets": [str(d.path) for d in options.datasets], "cv": options.cv,
                   "seed": options.seed, "train_rows": len(options.train_rows),
                   "engine": ", ".join(sorted({r.engine for r in runs})),
                   "engine_option": options.engine, "rows_per_dataset": options.rows,
                   "shared": str(options.shared) if options.shared else None,
                   "wall_s": round(perf_counter() - started, 1),
                   "setup_s": {k: round(v, 1) for k, v in workspace.timings_s.items()}}
        judged = {k: r["llm_judge"] for k, r in reports.items() if r["llm_judge"]}
        baselines = {k: r["baselines"] for k, r in reports.items() if r.get("baselines")}
        report = build_report(reports=reports, summary=pooled(runs, teams), checks=checks,
                              context=context, llm_judge=judged or None,
                              baselines=baselines or None)
        return Outcome(report=report, checks=checks)
    finally:
        cleanup()
