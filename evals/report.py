"""The eval report: per-dataset metrics, a pooled summary, the gate's table, as JSON.

Top-level keys are the metrics pooled over every evaluated row (so `n`, `team_accuracy`,
... are there whatever was run), `datasets` holds one report per dataset (keyed
`triage`, or `posthog_issues_dev@cv5` for a cross-validated run), `thresholds` the
gate's rows, and `llm_judge` / `baselines` their results or null.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.dataset import Dataset
from evals.runner import Run
from evals.scoring import score_run
from evals.thresholds import Check

#: Keys of a dataset report that the pooled summary repeats (plain numbers only).
_SUMMARY_SKIP = {"dataset", "path", "failures", "skipped", "cv", "team_confusion",
                 "kind_confusion", "team_calibration", "per_team"}


def pooled(runs: list[Run], teams: list[str]) -> dict[str, Any]:
    """Metrics over the rows of every run together (each row scored as in its dataset)."""
    observations = [o for run in runs for o in run.observations]
    if not runs:
        return {"n": 0}
    merged = Run(dataset=Dataset(name="all", path=Path("."), rows=[]), observations=observations,
                 cv=None, seed=0, skipped=[], wall_s=sum(r.wall_s for r in runs),
                 engine=", ".join(sorted({r.engine for r in runs})))
    report = score_run(merged, teams)
    return {k: v for k, v in report.items() if k not in _SUMMARY_SKIP}


def build_report(*, reports: dict[str, dict[str, Any]], summary: dict[str, Any],
                 checks: list[Check], context: dict[str, Any],
                 llm_judge: dict[str, Any] | None,
                 baselines: dict[str, Any] | None) -> dict[str, Any]:
    """Assemble the JSON report."""
    return {
        **summary,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": context,
        "datasets": reports,
        "thresholds": [c.as_dict() for c in checks],
        "gate_passed": all(c.passed for c in checks),
        "llm_judge": llm_judge,
        "baselines": baselines,
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report, pretty-printed (floats as they are, keys in insertion order)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
