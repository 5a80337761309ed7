"""Triage timings: warm in-process per ticket, batch through the CLI, cold single ticket."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from app.bench.tickets import bench_tickets, write_ticket_dir
from app.bench.timing import child_env, run_child, sidekick_cmd, timed


def warm_triage_ms(service, tickets: Sequence[dict[str, Any]], *, warmup: int = 3) -> list[float]:
    """Milliseconds per `service.triage` (full graph, checkpointed) of distinct tickets.

    Nothing is pre-embedded: each timed triage embeds its own ticket, as a single ticket
    arriving through the API would. The first `warmup` tickets are run but not counted.
    """
    from agent.models import Ticket

    parsed = [Ticket.model_validate(t) for t in tickets]
    for ticket in parsed[:warmup]:
        service.triage(ticket)
    return [timed(partial(service.triage, ticket)) * 1000 for ticket in parsed[warmup:]]


@dataclass(frozen=True)
class BatchRun:
    """`sidekick triage DIR --json` over a folder of tickets."""

    tickets: int
    wall_s: float
    peak_rss_mb: float

    @property
    def tickets_per_s(self) -> float:
        """Throughput, process start-up included."""
        return self.tickets / self.wall_s


def batch_triage(home: Path, count: int, workdir: Path) -> BatchRun:
    """Triage `count` fresh tickets in one `sidekick triage DIR --json` child process.

    Raises:
        RuntimeError: The child failed or printed fewer results than tickets.

    """
    folder = write_ticket_dir(workdir / "batch-tickets", count)
    out_path = workdir / "batch-out.jsonl"
    with out_path.open("wb") as out:
        run = run_child(sidekick_cmd("triage", str(folder), "--json"),
                        env=child_env(home), stdout=out)
    lines = [line for line in out_path.read_text().splitlines() if line.strip()]
    if len(lines) != count:
        raise RuntimeError(f"batch triage printed {len(lines)} results for {count} tickets")
    return BatchRun(tickets=count, wall_s=run.wall_s, peak_rss_mb=run.peak_rss_mb)


def cold_triage_s(home: Path, runs: int) -> list[float]:
    """Wall seconds of `sidekick triage FILE --json` of one new ticket in a fresh process."""
    times = []
    with tempfile.TemporaryDirectory(prefix="sidekick-bench-cold-") as tmp:
        for n, ticket in enumerate(bench_tickets(runs)):
            path = Path(tmp) / f"cold-{n}.json"
            path.write_text(json.dumps(ticket), encoding="utf-8")
            times.append(run_child(sidekick_cmd("triage", str(path), "--json"),
                                   env=child_env(home)).wall_s)
    return times
