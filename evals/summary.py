"""The few lines `sidekick eval` prints per dataset before the thresholds table."""

from __future__ import annotations

from typing import Any

#: Metrics shown in the one-line summary, with their short names.
HEADLINE = (("team_accuracy", "team"), ("team_macro_f1", "team F1"), ("kind_accuracy", "kind"),
            ("priority_accuracy", "priority"), ("playbook_accuracy", "playbook"),
            ("retrieval_hit_at_5", "hit@5"), ("retrieval_mrr", "MRR"),
            ("draft_checks_pass_rate", "drafts"), ("team_ece", "ECE"))


def headline(report: dict[str, Any]) -> str:
    """`team 0.905 · kind 0.93 · ...` for the metrics the dataset has."""
    parts = [f"{short} {report[key]:.3f}" for key, short in HEADLINE
             if isinstance(report.get(key), int | float)]
    return " · ".join(parts) or "nothing scored"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per dataset, its latency and failures, and the baselines when computed."""
    lines = []
    for key, data in report["datasets"].items():
        latency = data.get("latency_ms", {})
        lines.append(f"{key}: {data['n']} rows, {data['engine']}, {data['wall_s']} s — "
                     f"{headline(data)}")
        lines.append(f"    latency p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms; "
                     f"LLM calls/ticket {data['llm']['calls_per_ticket']}; "
                     f"{len(data['failures'])} failing rows")
        for name, base in (data.get("baselines") or {}).get("models", {}).items():
            lines.append(f"    baseline {name}: team {base.get('team_accuracy')}, "
                         f"kind {base.get('kind_accuracy')}")
        if data.get("engines"):
            from evals.engines import comparison_lines

            lines += comparison_lines(key, data["engines"])[1:]
        judge = data.get("llm_judge")
        if judge:
            lines.append(f"    LLM judge ({judge['model']}): pass {judge['pass_rate']} on "
                         f"{judge['n']} drafts")
    return lines
