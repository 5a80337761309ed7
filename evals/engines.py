"""`sidekick eval --engine llm`: the LLM engine beside the offline engine on the same rows.

A weak model must never make Sidekick worse: on every dataset the LLM run's team accuracy
and draft checks are gated against the offline run's own numbers on the same rows, not
against a fixed threshold. The comparison lists, for each engine, what a person weighing
the LLM would ask: team, kind, draft checks, latency, tokens and LLM calls per ticket.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from evals.thresholds import Bound, Check
from evals.workspace import Workspace

#: What the comparison shows per engine: (report key, label).
COMPARED = (("team_accuracy", "team"), ("kind_accuracy", "kind"),
            ("draft_checks_pass_rate", "draft checks"), ("latency_p50_ms", "latency p50 ms"),
            ("latency_p95_ms", "latency p95 ms"), ("llm_calls_per_ticket", "LLM calls/ticket"),
            ("llm_tokens_per_ticket", "tokens/ticket"))
#: The metrics where the LLM engine may not be below the offline engine.
FLOORED = ("team_accuracy", "draft_checks_pass_rate")
#: How the floor checks name their metric in the gate's table.
FLOOR_SUFFIX = " (llm ≥ offline)"


def offline_workspace(workspace: Workspace) -> Workspace:
    """The same base home and data, with no LLM configured: the offline engine's run."""
    settings = workspace.settings.model_copy(update={"llm_base_url": None, "llm_api_key": None})
    return dataclasses.replace(workspace, settings=settings)


def engine_row(report: dict[str, Any]) -> dict[str, Any]:
    """One engine's numbers from a dataset report."""
    return {key: report.get(key) for key, _label in COMPARED}


def compare(llm: dict[str, Any], offline: dict[str, Any]) -> dict[str, Any]:
    """The comparison block of one dataset: each engine's numbers and the differences."""
    rows = {"llm": engine_row(llm), "offline": engine_row(offline)}
    delta = {key: round(a - b, 4) for key in FLOORED
             if isinstance(a := rows["llm"][key], int | float)
             and isinstance(b := rows["offline"][key], int | float)}
    return {**rows, "llm_minus_offline": delta}


def floor_checks(key: str, comparison: dict[str, Any]) -> list[Check]:
    """The gate: the LLM engine's floored metrics against the offline engine's values."""
    checks = []
    for metric in FLOORED:
        floor, value = comparison["offline"][metric], comparison["llm"][metric]
        if not isinstance(floor, int | float):
            continue  # the dataset does not score it (no draft expectations, say)
        checks.append(Check(Bound(key, metric + FLOOR_SUFFIX, min=float(floor)),
                            float(value) if isinstance(value, int | float) else None))
    return checks


def comparison_lines(key: str, comparison: dict[str, Any]) -> list[str]:
    """What the CLI prints per dataset: one line per engine."""
    lines = []
    for engine in ("llm", "offline"):
        row = comparison[engine]
        parts = [f"{label} {_fmt(row[k])}" for k, label in COMPARED]
        lines.append(f"    {engine:<7} {' · '.join(parts)}")
    return [f"{key}: LLM engine beside the offline engine on the same rows", *lines]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.0f}"
    return "—" if value is None else str(value)
