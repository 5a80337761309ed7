"""Issue #5's targets, PASS/MISS for each, and the printed table."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One target: a key of the results, a comparison and a limit."""

    key: str
    label: str
    compare: Callable[[float, float], bool]
    limit: float
    text: str


TARGETS = (
    Target("warm_triage_ratio", "warm triage p50 / floor", operator.le, 3.0, "≤ 3×"),
    Target("batch_tickets_per_s", "batch triage", operator.ge, 100.0, "≥ 100 tickets/s"),
    Target("cold_triage_ratio", "cold triage / import floor", operator.le, 1.3, "≤ 1.3×"),
    Target("reingest_ratio", "unchanged re-ingest / cold", operator.le, 0.05, "≤ 5%"),
    Target("api_ack_p99_ms", "API ack p99", operator.le, 50.0, "≤ 50 ms"),
    Target("api_lost", "API tickets lost", operator.le, 0.0, "0"),
    Target("api_slack_ack_p99_ms", "API ack p99, Slack traffic", operator.le, 50.0, "≤ 50 ms"),
)


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def verdicts(results: dict[str, Any]) -> dict[str, str]:
    """Target key → PASS, MISS or n/a (not measured)."""
    out = {}
    for target in TARGETS:
        value = _number(results.get(target.key))
        out[target.key] = ("n/a" if value is None
                           else "PASS" if target.compare(value, target.limit) else "MISS")
    return out


def _fmt(value: Any, unit: str = "") -> str:
    number = _number(value)
    if number is None:
        return "–"
    text = f"{number:.0f}" if abs(number) >= 100 else f"{number:.3g}"
    return f"{text}{unit}"


def table(results: dict[str, Any]) -> str:
    """The measurements, then each target with its value and PASS/MISS, as plain text."""
    r = results
    rows = [
        ("floor (embed 1 text + 1 Chroma query)", _fmt(r["floor_ms"], " ms")),
        ("import floor", _fmt(r["import_floor_s"], " s")),
        ("warm triage p50 / p95", f"{_fmt(r['warm_triage_p50_ms'], ' ms')} / "
                                  f"{_fmt(r['warm_triage_p95_ms'], ' ms')}"),
        (f"batch triage ({r.get('batch_tickets', '?')} tickets)",
         f"{_fmt(r['batch_tickets_per_s'], ' tickets/s')}, peak RSS "
         f"{_fmt(r['peak_rss_mb'], ' MB')}"),
        ("cold triage, 1 ticket", _fmt(r["cold_triage_s"], " s")),
        ("ingest cold / unchanged", f"{_fmt(r['ingest_cold_s'], ' s')} / "
                                    f"{_fmt(r['ingest_unchanged_s'], ' s')}"),
        (f"API ack p50 / p99 ({_fmt(r.get('api_rps'))} rps)",
         f"{_fmt(r['api_ack_p50_ms'], ' ms')} / {_fmt(r['api_ack_p99_ms'], ' ms')}"),
        ("API accept → draft p50 / p99", f"{_fmt(r.get('api_draft_ready_p50_s'), ' s')} / "
                                         f"{_fmt(r.get('api_draft_ready_p99_s'), ' s')}"),
        ("API requests / lost", f"{_fmt(r['api_requests'])} / {_fmt(r['api_lost'])}"),
        (f"API ack p50 / p99 with {_fmt(r.get('slack_rps'))} Slack req/s",
         f"{_fmt(r.get('api_slack_ack_p50_ms'), ' ms')} / "
         f"{_fmt(r.get('api_slack_ack_p99_ms'), ' ms')}, lost {_fmt(r.get('api_slack_lost'))}"),
        ("Slack requests: answered p50 / p99", f"{_fmt(r.get('slack_p50_ms'), ' ms')} / "
                                               f"{_fmt(r.get('slack_p99_ms'), ' ms')}, "
                                               f"{_fmt(r.get('slack_failed'))} of "
                                               f"{_fmt(r.get('slack_requests'))} not 200"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    status = verdicts(results)
    lines += ["", f"{'target':<28}{'value':>10}  {'limit':<16}result"]
    for target in TARGETS:
        lines.append(f"{target.label:<28}{_fmt(r.get(target.key)):>10}  {target.text:<16}"
                     f"{status[target.key]}")
    lines += ["", f"load average {_fmt(r.get('load_avg_start'))} at start, "
                  f"{_fmt(r.get('load_avg'))} at end · {r.get('cpus', '?')} CPUs · "
                  f"home {r.get('home', '?')}"]
    return "\n".join(lines)
