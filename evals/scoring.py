"""Turn a run's observations into the per-dataset report (`sidekick eval --report`).

Scored where the data has it: a row whose expected key is absent or null is not scored
for that key, with one exception. TRICKY: for `playbook`, null is a value ("no playbook
applies") that the datasets test on purpose (a GitHub bug template whose unticked
"self-hosted" box must not trigger the self-hosted playbook), so a *present* null is
scored; only an absent key is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from statistics import fmean
from typing import Any

from agent.guards import normalize_url
from agent.models import TriageResult
from evals import metrics
from evals.draft_checks import CHECKS, check_draft
from evals.runner import Observation, Run

#: Rank cut-off of the retrieval hit rate; the retrieve node asks for top_k = 5.
HIT_K = 5
_MISSING = object()


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _expected(obs: Observation, key: str) -> Any:
    """The expected label, None when not scored (absent/null; see module doc for playbook)."""
    value = obs.row.expected.get(key, _MISSING)
    if key == "playbook":
        return _MISSING if value is _MISSING else (value or "none")
    return _MISSING if value is None else value


def _got(obs: Observation, key: str) -> Any:
    if obs.result is None:
        return "(error)"
    value = getattr(obs.result, key)
    return (value or "none") if key == "playbook" else value


def _label_pairs(observations: Sequence[Observation], key: str) -> tuple[list, list]:
    pairs = [(_expected(o, key), _got(o, key)) for o in observations]
    pairs = [(e, g) for e, g in pairs if e is not _MISSING]
    return [e for e, _ in pairs], [g for _, g in pairs]


def _labels(report: dict[str, Any], observations: Sequence[Observation],
            teams: Sequence[str]) -> None:
    for key in ("team", "kind", "priority", "playbook"):
        expected, got = _label_pairs(observations, key)
        if not expected and key not in ("team", "kind"):
            continue
        report[f"{key}_accuracy"] = _round(metrics.accuracy(expected, got))
        report[f"{key}_n"] = len(expected)
        if key in ("team", "kind"):
            report[f"{key}_macro_f1"] = _round(metrics.macro_f1(expected, got))
            labels = metrics.labels_of(expected, got, teams if key == "team" else ())
            report[f"{key}_confusion"] = {"labels": labels,
                                          "matrix": metrics.confusion_matrix(expected, got,
                                                                             labels)}
    expected, got = _label_pairs(observations, "team")
    labels = report["team_confusion"]["labels"]
    report["per_team"] = {
        label: {k: _round(v) if isinstance(v, float) else v for k, v in row.items()}
        for label, row in metrics.per_class(expected, got, labels).items()
    }


def _calibration(report: dict[str, Any], observations: Sequence[Observation]) -> None:
    scored = [o for o in observations
              if _expected(o, "team") is not _MISSING and o.result is not None]
    confidences = [o.result.team_confidence for o in scored if o.result]
    correct = [o.result.team == o.row.expected["team"] for o in scored if o.result]
    bins = metrics.reliability_bins(confidences, correct)
    report["team_ece"] = _round(metrics.expected_calibration_error(confidences, correct))
    report["team_calibration"] = {
        "ece": report["team_ece"], "bins": [{k: _round(v) for k, v in b.items()} for b in bins],
    }


def _retrieval_rank(obs: Observation) -> int | None:
    urls = [p.url for p in obs.result.passages] if obs.result else []
    wanted = [normalize_url(u) for u in obs.row.expected["must_cite"]]
    return metrics.first_hit_rank(wanted, [normalize_url(u) if u else None for u in urls])


def _retrieval(report: dict[str, Any], observations: Sequence[Observation]) -> None:
    rows = [o for o in observations if o.row.expected.get("must_cite")]
    if not rows:
        return
    ranks = [_retrieval_rank(o) for o in rows]
    report["retrieval_n"] = len(rows)
    report[f"retrieval_hit_at_{HIT_K}"] = _round(metrics.hit_at_k(ranks, HIT_K))
    report["retrieval_mrr"] = _round(metrics.mean_reciprocal_rank(ranks))


def _rule_checks(rows: Sequence[Observation], names: Sequence[str],
                 check: Callable[[Observation, TriageResult], list[Any]]
                 ) -> tuple[list[bool], dict[str, float | None], dict[str, list]]:
    """Run rule checks on each row: whether each passed all, the rate per check, what failed."""
    per_check: dict[str, list[bool]] = {name: [] for name in names}
    passed_all, failed = [], {}
    for obs in rows:
        if obs.result is None:
            failed[obs.row.id] = [("error", obs.error or "no result")]
            passed_all.append(False)
            continue
        results = check(obs, obs.result)
        for result in results:
            if result.passed is not None:
                per_check[result.name].append(result.passed)
        bad = [(c.name, c.detail) for c in results if c.passed is False]
        if bad:
            failed[obs.row.id] = bad
        passed_all.append(not bad)
    rates = {name: _round(fmean(v)) if v else None for name, v in per_check.items()}
    return passed_all, rates, failed


def _drafts(report: dict[str, Any], observations: Sequence[Observation]) -> dict[str, list]:
    """Score replies; returns the failed checks of each row id."""
    rows = [o for o in observations if o.row.expected.get("draft")]
    if not rows:
        return {}
    passed_all, rates, failed = _rule_checks(
        rows, CHECKS, lambda obs, result: check_draft(result, obs.row.expected))
    report["draft_n"] = len(rows)
    report["draft_checks_pass_rate"] = _round(fmean(passed_all))
    report["draft_checks"] = rates
    return failed


def _conversations(report: dict[str, Any], observations: Sequence[Observation]
                   ) -> dict[str, list]:
    """Score the last draft of each conversation row; the failed checks of each row id."""
    from evals.conversations import CONVERSATION_CHECKS, check_conversation

    rows = [o for o in observations if o.row.raw.get("turns")]
    if not rows:
        return {}
    passed_all, rates, failed = _rule_checks(
        rows, CONVERSATION_CHECKS, lambda obs, result: check_conversation(result, obs.row))
    report["conversation_n"] = len(rows)
    report["conversation_pass_rate"] = _round(fmean(passed_all))
    report["conversation_checks"] = rates
    # The two a threshold can hold on their own: where the conversation stands, and the
    # status the ticket is left in.
    report["conversation_stage_accuracy"] = rates["stage"]
    report["conversation_status_accuracy"] = rates["status_after"]
    return failed


def _cost(report: dict[str, Any], observations: Sequence[Observation]) -> None:
    latencies = [o.latency_ms for o in observations]
    report["latency_ms"] = {"p50": _round(metrics.percentile(latencies, 50), 1),
                            "p95": _round(metrics.percentile(latencies, 95), 1),
                            "mean": _round(fmean(latencies), 1) if latencies else None}
    report["latency_p50_ms"] = report["latency_ms"]["p50"]
    report["latency_p95_ms"] = report["latency_ms"]["p95"]
    results = [o.result for o in observations if o.result is not None]
    nodes = sorted({name for r in results for name in r.timings_ms})
    report["latency_by_node_ms"] = {
        n: _round(fmean(r.timings_ms.get(n, 0.0) for r in results), 1) for n in nodes}
    n = max(len(results), 1)
    calls = sum(r.usage.calls for r in results)
    prompt = sum(r.usage.prompt_tokens for r in results)
    completion = sum(r.usage.completion_tokens for r in results)
    report["llm"] = {"calls_per_ticket": _round(calls / n), "tokens_per_ticket":
                     _round((prompt + completion) / n), "prompt_tokens_per_ticket":
                     _round(prompt / n), "completion_tokens_per_ticket": _round(completion / n),
                     "calls": calls, "prompt_tokens": prompt, "completion_tokens": completion}
    report["llm_calls_per_ticket"] = report["llm"]["calls_per_ticket"]
    report["llm_tokens_per_ticket"] = report["llm"]["tokens_per_ticket"]


def _failures(observations: Sequence[Observation], draft_failed: dict[str, list]
              ) -> list[dict[str, Any]]:
    out = []
    for obs in observations:
        expected, got, details = {}, {}, {}
        for key in ("team", "kind", "priority", "playbook"):
            want = _expected(obs, key)
            if want is not _MISSING and want != _got(obs, key):
                expected[key], got[key] = want, _got(obs, key)
        if obs.row.expected.get("must_cite") and _retrieval_rank(obs) is None:
            expected["must_cite"] = obs.row.expected["must_cite"]
            got["must_cite"] = [p.url for p in obs.result.passages] if obs.result else []
        for name, detail in draft_failed.get(obs.row.id, []):
            details[f"draft.{name}"] = detail
        if "draft.issue_link" in details and obs.result is not None:
            issue = obs.result.issue  # why no link: the action and the closest match's score
            got["issue"] = f"{issue.action} {issue.url or ''} (score {issue.score})"
        if expected or details or obs.error:
            row: dict[str, Any] = {"id": obs.row.id, "failed": [*expected, *details],
                                   "expected": expected, "got": got}
            if details:
                row["checks"] = details
            if obs.result is not None and "team" in expected:
                row["team_confidence"] = obs.result.team_confidence
            if obs.fold is not None:
                row["fold"] = obs.fold + 1
            if obs.error:
                row["error"] = obs.error
            out.append(row)
    return out


def score_run(run: Run, teams: Sequence[str]) -> dict[str, Any]:
    """Every metric of one dataset's run, and its failing rows."""
    observations = run.observations
    report: dict[str, Any] = {"dataset": run.dataset.name, "path": str(run.dataset.path),
                              "n": len(observations), "engine": run.engine}
    if run.cv:
        report["cv"] = {"folds": run.cv, "seed": run.seed, "stratified_by": "team"}
    _labels(report, observations, teams)
    _calibration(report, observations)
    _retrieval(report, observations)
    draft_failed = _drafts(report, observations)
    for row_id, bad in _conversations(report, observations).items():
        draft_failed.setdefault(row_id, []).extend(bad)
    _cost(report, observations)
    report["errors"] = sum(o.error is not None for o in observations)
    report["skipped"] = run.skipped
    report["wall_s"] = _round(run.wall_s, 1)
    report["failures"] = _failures(observations, draft_failed)
    return report
