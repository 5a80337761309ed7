"""One bench run: warm a home, take the measurements in order, return one flat dict."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from app.bench.timing import median, percentile

Log = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    """What `sidekick bench` was asked for."""

    quick: bool = False
    tickets: int | None = None
    home: Path | None = None

    @property
    def batch_tickets(self) -> int:
        """Tickets in the batch run (1,000; 200 when quick)."""
        return self.tickets or (200 if self.quick else 1000)

    @property
    def sizes(self) -> dict[str, float]:
        """Sample sizes and the API load for this mode."""
        if self.quick:
            return {"warm": 25, "imports": 3, "cold": 2,
                    "rps": 20, "seconds": 5, "drain": 60, "slack_rps": 10}
        return {"warm": 150, "imports": 5, "cold": 3,
                "rps": 100, "seconds": 30, "drain": 420, "slack_rps": 20}


def _settings(home: Path):
    from app.settings import Settings

    # Offline whatever the environment says: the bench measures the offline engine.
    return Settings(home=home, llm_base_url=None, llm_api_key=None)


def _in_process(home: Path, sizes: dict[str, float], log: Log) -> dict[str, Any]:
    """Warm the home, then the floor and warm triage on its store, interleaved.

    One floor sample, then one triage, and so on: on a shared machine the load changes by
    the second, and the ratio must compare the two under the same load.
    """
    from agent.models import Ticket
    from app.bench.floor import floor_probe
    from app.bench.tickets import bench_tickets
    from app.bench.timing import timed
    from app.service import open_service

    log(f"warming the home {home} (corpus, classifier)…")
    start = time.perf_counter()
    with open_service(_settings(home)) as service:
        setup_s = time.perf_counter() - start
        count = int(sizes["warm"])
        tickets = [Ticket.model_validate(t) for t in bench_tickets(count + 3)]
        texts = [f"{t.text} (floor {n})" for n, t in enumerate(tickets)]
        probe = floor_probe(service.context.retriever)
        for ticket in tickets[:3]:  # warm-up, not counted
            service.triage(ticket)
        log(f"floor (embed + Chroma query) and warm triage, {count} of each, interleaved…")
        floor, warm = [], []
        for text, ticket in zip(texts[3:], tickets[3:], strict=True):
            floor.append(probe(text))
            warm.append(timed(partial(service.triage, ticket)) * 1000)
    floor_ms = median(floor)
    p50 = percentile(warm, 50)
    return {"home_setup_s": setup_s, "floor_ms": floor_ms, "warm_triage_p50_ms": p50,
            "warm_triage_p95_ms": percentile(warm, 95), "warm_triage_ratio": p50 / floor_ms,
            "warm_triage_n": len(warm)}


def _children(home: Path, options: BenchOptions, sizes: dict[str, float], workdir: Path,
              log: Log) -> dict[str, Any]:
    """Import floor, cold single triage and the batch run, each in fresh processes."""
    from app.bench.floor import import_floor_s
    from app.bench.triage import batch_triage, cold_triage_s

    # Interleaved, like floor and warm triage: the ratio compares two samples of one load.
    log("import floor and cold triage, interleaved…")
    rounds = int(max(sizes["imports"], sizes["cold"]))
    import_samples, cold_samples = [], []
    for n in range(rounds):
        if n < sizes["imports"]:
            import_samples.append(import_floor_s(1))
        if n < sizes["cold"]:
            cold_samples += cold_triage_s(home, 1)
    imports, cold = median(import_samples), median(cold_samples)
    log(f"batch triage of {options.batch_tickets} tickets…")
    batch = batch_triage(home, options.batch_tickets, workdir)
    return {"import_floor_s": imports, "cold_triage_s": cold,
            "cold_triage_ratio": cold / imports, "batch_tickets": batch.tickets,
            "batch_wall_s": batch.wall_s, "batch_tickets_per_s": batch.tickets_per_s,
            "peak_rss_mb": batch.peak_rss_mb}


def _ingest(options: BenchOptions, workdir: Path, log: Log) -> dict[str, Any]:
    from app.bench.ingest import default_corpus, ingest_times

    corpus = default_corpus(quick=options.quick)
    log(f"ingest {corpus}…")
    times = ingest_times(corpus, workdir)
    return {"ingest_corpus": str(corpus), "ingest_chunks": times.chunks,
            "ingest_cold_s": times.cold_s, "ingest_unchanged_s": times.unchanged_s,
            "reingest_ratio": times.unchanged_s / times.cold_s}


def _api(home: Path, sizes: dict[str, float], workdir: Path, log: Log) -> dict[str, Any]:
    from app.bench.api import api_available, api_load

    empty: dict[str, Any] = {"api_ack_p50_ms": None, "api_ack_p99_ms": None,
                             "api_requests": None, "api_lost": None, "api_rps": sizes["rps"],
                             "api_draft_ready_p50_s": None, "api_draft_ready_p99_s": None}
    if not api_available():
        log("API: no app.api / `sidekick serve` yet; its keys are null")
        return {**empty, "api_note": "app.api / sidekick serve not available"}
    log(f"API: {sizes['rps']:.0f} rps for {sizes['seconds']:.0f} s…")
    try:
        load = api_load(home, rps=sizes["rps"], seconds=sizes["seconds"],
                        drain_s=sizes["drain"], workdir=workdir)
    except Exception as exc:  # noqa: BLE001 - the other measurements still stand
        log(f"API bench failed: {exc}")
        return {**empty, "api_note": f"failed: {type(exc).__name__}: {str(exc)[:300]}"}
    return {**empty, "api_ack_p50_ms": load["ack_p50_ms"], "api_ack_p99_ms": load["ack_p99_ms"],
            "api_requests": load["requests"], "api_lost": load["lost"],
            "api_draft_ready_p50_s": load["draft_ready_p50_s"],
            "api_draft_ready_p99_s": load["draft_ready_p99_s"],
            "api_accepted": load["accepted"], "api_drain_s": load["drain_s"],
            "api_errors": load["errors"]}


def _api_slack(home: Path, sizes: dict[str, float], workdir: Path, log: Log
               ) -> dict[str, Any]:
    """The API load again, with the Slack app on and Slack requests arriving meanwhile."""
    from app.bench.api import api_available, api_load
    from app.bench.slack import SLACK_DELAY_S

    empty: dict[str, Any] = {"api_slack_ack_p50_ms": None, "api_slack_ack_p99_ms": None,
                             "api_slack_lost": None, "slack_rps": sizes["slack_rps"],
                             "slack_requests": None, "slack_failed": None,
                             "slack_p50_ms": None,
                             "slack_p99_ms": None}
    if not api_available():
        return empty
    log(f"API with Slack: {sizes['rps']:.0f} rps of tickets and {sizes['slack_rps']:.0f} "
        f"Slack requests/s (Slack answering in {SLACK_DELAY_S * 1000:.0f} ms) for "
        f"{sizes['seconds']:.0f} s…")
    try:
        load = api_load(home, rps=sizes["rps"], seconds=sizes["seconds"],
                        drain_s=sizes["drain"], workdir=workdir, slack_rps=sizes["slack_rps"])
    except Exception as exc:  # noqa: BLE001 - the other measurements still stand
        log(f"API bench with Slack failed: {exc}")
        return {**empty, "api_slack_note": f"failed: {type(exc).__name__}: {str(exc)[:300]}"}
    return {**empty, "api_slack_ack_p50_ms": load["ack_p50_ms"],
            "api_slack_ack_p99_ms": load["ack_p99_ms"], "api_slack_lost": load["lost"],
            "slack_requests": load["slack_requests"], "slack_p50_ms": load["slack_p50_ms"],
            "slack_p99_ms": load["slack_p99_ms"], "slack_failed": load["slack_failed"],
            "slack_errors": load["slack_errors"]}


def run_bench(options: BenchOptions, log: Log = lambda _: None) -> dict[str, Any]:
    """Every measurement of `sidekick bench`, as one flat dict (the `--json` object)."""
    sizes = options.sizes
    workdir = Path(tempfile.mkdtemp(prefix="sidekick-bench-"))
    home = Path(options.home) if options.home else workdir / "home"
    results: dict[str, Any] = {"quick": options.quick, "home": str(home),
                               "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}
    try:
        results |= _in_process(home, sizes, log)
        results |= _children(home, options, sizes, workdir, log)
        results |= _ingest(options, workdir, log)
        results |= _api(home, sizes, workdir, log)
        results |= _api_slack(home, sizes, workdir, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["load_avg"] = round(os.getloadavg()[0], 2)
    return results
