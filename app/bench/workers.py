"""`sidekick bench --workers 1,2`: batch throughput and accept-to-draft latency per worker count.

For each count: a scratch PostgreSQL database, one `sidekick serve --no-worker` replica and
that many `sidekick worker` processes (app/bench/cluster.py), every ticket posted at once
through the API, and the clock read from the store: `received_at` (the API's accept) to
`triaged_at` (the draft stored) per ticket; throughput is tickets over first accept to last
draft. On two cores a second worker adds coordination (claims, leases, two models in
memory) rather than speed: the ratio says what scaling out costs, not what it buys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.bench.cluster import Cluster, live_worker_ids, scratch_database, status_counts
from app.bench.timing import percentile

BENCH_TOKEN = "sidekick-bench-token"
#: Seconds a run may take to draft everything before it is reported as unfinished.
DRAIN_BOUND_S = 1800


def _post_all(url: str, tickets: Sequence[dict[str, Any]]) -> int:
    """POST every ticket (8 at a time); how many were accepted."""
    import httpx

    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {BENCH_TOKEN}"}) as client, \
            ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda t: client.post("/tickets", json=t).status_code, tickets))
    return codes.count(202)


def _timings(database_url: str) -> list[tuple[float, float]]:
    """(received, triaged) epoch seconds of every drafted ticket."""
    import psycopg

    with psycopg.connect("postgresql://" + database_url.split("://", 1)[1]) as conn:
        rows = conn.execute("SELECT received_at, triaged_at FROM tickets "
                            "WHERE triaged_at IS NOT NULL").fetchall()
    return [(received.timestamp(), triaged.timestamp()) for received, triaged in rows]


def one_count(workers: int, tickets: Sequence[dict[str, Any]], *, admin_url: str,
              home: Path, workdir: Path) -> dict[str, Any]:
    """One run with `workers` workers: throughput, latency percentiles, what was left."""
    env = {"SIDEKICK_ENV": "test", "SIDEKICK_API_TOKENS": BENCH_TOKEN,
           "SIDEKICK_WORKER_POLL_S": "0.2", "SIDEKICK_WORKER_NICE": "0"}
    with scratch_database(admin_url, prefix="sidekick_bench") as url:
        cluster = Cluster(url, home, workdir / f"workers-{workers}", env=env)
        try:
            api = cluster.api("api")
            for n in range(workers):
                cluster.worker(f"worker-{n}")
            cluster.wait_healthy(api)
            deadline = time.monotonic() + 300
            while len(live_worker_ids(url, within_s=60)) < workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{workers} worker(s) did not start")
                time.sleep(0.2)
            accepted = _post_all(api.url, tickets)
            deadline = time.monotonic() + DRAIN_BOUND_S
            while status_counts(url)["statuses"].get("awaiting_review", 0) < accepted:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            timings = _timings(url)
        finally:
            cluster.stop()
    latencies = [triaged - received for received, triaged in timings]
    span = (max(t for _, t in timings) - min(r for r, _ in timings)) if timings else 0.0
    return {"workers": workers, "tickets": accepted, "drafted": len(timings),
            "tickets_per_s": len(timings) / span if span else float("nan"),
            "latency_p50_s": percentile(latencies, 50) if latencies else float("nan"),
            "latency_p95_s": percentile(latencies, 95) if latencies else float("nan")}


def workers_bench(counts: Sequence[int], *, tickets: int, admin_url: str, home: Path,
                  workdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Every count in turn on the same tickets' texts (fresh ids each run)."""
    from app.bench.tickets import bench_tickets
    from app.runtime import build_context
    from app.settings import Settings

    log(f"warming {home} (classifier, corpus)")
    build_context(Settings(home=home, llm_base_url=None, llm_api_key=None))
    runs = []
    for count in counts:
        batch = accepted_by_api(list(bench_tickets(tickets * 2, prefix=f"w{count}")))[:tickets]
        log(f"{count} worker(s): {len(batch)} tickets through one API replica")
        runs.append(one_count(count, batch, admin_url=admin_url, home=home, workdir=workdir))
        log(f"{count} worker(s): {runs[-1]['tickets_per_s']:.1f} tickets/s, "
            f"p50 {runs[-1]['latency_p50_s']:.1f} s")
    base = runs[0]["tickets_per_s"] if runs else float("nan")
    for run in runs:
        run["ratio_to_first"] = run["tickets_per_s"] / base if base else float("nan")
    return {"workers_runs": runs}


def accepted_by_api(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tickets `POST /tickets` accepts (the eval sets hold a few it refuses on purpose)."""
    from pydantic import ValidationError

    from agent.models import TicketIn

    valid = []
    for ticket in tickets:
        try:
            TicketIn.model_validate(ticket)
        except ValidationError:
            continue
        valid.append(ticket)
    return valid


def workers_table(results: dict[str, Any]) -> str:
    """The per-count lines `sidekick bench --workers` prints."""
    lines = ["workers  tickets  tickets/s  accept->draft p50  p95     ratio"]
    for run in results["workers_runs"]:
        lines.append(f"{run['workers']:>7}  {run['drafted']:>4}/{run['tickets']:<4}"
                     f"{run['tickets_per_s']:>8.1f}  {run['latency_p50_s']:>13.1f} s"
                     f"  {run['latency_p95_s']:>5.1f} s  {run['ratio_to_first']:>5.2f}")
    return "\n".join(lines)
