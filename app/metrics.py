"""Prometheus metrics: what `GET /metrics` exposes, and where each number comes from.

Two kinds, because the API and the worker are separate processes:

- **read from the store when scraped** (`StoreCollector`): the queue depth by team, priority
  and status (`sidekick_queue_depth`), so every API replica reports the same numbers
  whichever process moved the rows; and whether this process's worker is alive
  (`sidekick_workers_alive`: the heartbeats the store saw within a lease, from every host).
- **counted where it happens**: triage latency (accept to draft), delivery latency (decision
  to delivered), failures by stage, LLM tokens. The worker process of `sidekick serve`
  counts them in prometheus-client's multiprocess mode: `sidekick serve` points
  `PROMETHEUS_MULTIPROC_DIR` at a fresh directory before anything imports prometheus_client
  (`app/cli/serve.py`), the spawned worker inherits it, and the API's scrape sums both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from agent.models import Usage
from app.store import claims
from app.store.models import OPEN_STATUSES, TicketRow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Instruments counted where things happen; in this registry when single-process.
OWN = CollectorRegistry(auto_describe=True)

#: Seconds; triage runs the models and (with an LLM) two calls: up to minutes.
_TRIAGE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

TRIAGE_SECONDS = Histogram(
    "sidekick_triage_latency_seconds",
    "From a ticket's (or a new customer message's) acceptance to its draft waiting for review",
    buckets=_TRIAGE_BUCKETS, registry=OWN)
DELIVERY_SECONDS = Histogram(
    "sidekick_delivery_latency_seconds",
    "From a person's approval to the reply delivered", buckets=_DELIVERY_BUCKETS, registry=OWN)
FAILURES = Counter(
    "sidekick_failures", "Tickets marked failed, by the stage that failed (triaging, deciding)",
    ["stage"], registry=OWN)
LLM_TOKENS = Counter(
    "sidekick_llm_tokens", "Tokens the LLM endpoint reported, by kind (prompt, completion)",
    ["kind"], registry=OWN)


def count_tokens(before: Usage | dict[str, Any] | None, after: Usage) -> None:
    """Add the tokens a run spent: a thread's usage adds up, so count what it grew by."""
    if isinstance(before, dict):
        before = Usage.model_validate(before)
    before = before or Usage()
    for kind in ("prompt", "completion"):
        spent = getattr(after, f"{kind}_tokens") - getattr(before, f"{kind}_tokens")
        if spent > 0:
            LLM_TOKENS.labels(kind=kind).inc(spent)


class StoreCollector(Collector):
    """Gauges read when scraped: the queue from the store, this process's worker."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """The queue depth by team, priority and status; whether the worker is alive."""
        depth = GaugeMetricFamily(
            "sidekick_queue_depth", "Open tickets by team, priority and status (from the store)",
            labels=["team", "priority", "status"])
        stmt = (select(TicketRow.team, TicketRow.priority, TicketRow.status, func.count())
                .where(TicketRow.status.in_(OPEN_STATUSES))
                .group_by(TicketRow.team, TicketRow.priority, TicketRow.status))
        with self.runtime.desk.sessions() as session:
            for team, priority, status, count in session.execute(stmt):
                # `none`: not triaged yet, so no team.
                depth.add_metric([team or "none", priority or "none", status], count)
        yield depth
        # Every host's workers: their heartbeats are in the store (app/store/claims.py).
        with self.runtime.desk.sessions() as session:
            beating = len(claims.live_workers(session, within_s=self.runtime.worker.lease_s))
        alive = GaugeMetricFamily(
            "sidekick_workers_alive",
            "Workers on any host whose heartbeat the store saw within one lease")
        alive.add_metric([], beating)
        yield alive


class _Own(Collector):
    """This process's own instruments (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from OWN.collect()


def exposition(runtime: Any) -> bytes:
    """The text format of every metric: the store's, and the counts of all our processes."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StoreCollector(runtime))
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Own())
    return generate_latest(registry)
