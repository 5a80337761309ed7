"""The API load generator, run as its own process: `python -m app.bench.load URL ...`.

Sends a steady, bounded load of `POST /tickets` (open loop: request i leaves at i/rps
whatever the earlier ones are doing), records each acknowledgement's latency, then polls
`GET /queue` until every accepted ticket has a draft or the deadline passes (then
`GET /drafts/{id}` for the rest). With `--slack-rps`, signed Slack requests (app/bench/slack.py)
go to `/slack/events` at that rate meanwhile, and their latencies are reported too. Prints
one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from app.bench.tickets import bench_tickets
from app.bench.timing import percentile

ACCEPTED = (200, 201, 202)


async def _send(client, ticket: dict[str, Any], acks: list[float],
                accepted: dict[str, float], errors: list[str]) -> None:
    start = time.perf_counter()
    try:
        response = await client.post("/tickets", json=ticket)
    except Exception as exc:  # noqa: BLE001 - any failure is a lost ticket, counted
        errors.append(f"{ticket['id']}: {type(exc).__name__}")
        return
    done = time.perf_counter()
    acks.append((done - start) * 1000)
    if response.status_code in ACCEPTED:
        accepted[ticket["id"]] = done
    else:
        errors.append(f"{ticket['id']}: HTTP {response.status_code}")


async def _slack(client, rps: float, seconds: float, secret: str, run: str,
                 out: dict[str, list]) -> None:
    """Send rps × seconds signed Slack requests (open loop), recording latency and status."""
    from app.bench.slack import slack_request

    async def one(n: int) -> None:
        body, headers = slack_request(n, run, secret)
        start = time.perf_counter()
        try:
            response = await client.post("/slack/events", content=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - counted, the load goes on
            out["errors"].append(type(exc).__name__)
            return
        out["ms"].append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            out["errors"].append(f"HTTP {response.status_code}")

    tasks, start = [], time.perf_counter()
    for n in range(int(rps * seconds)):
        await asyncio.sleep(max(0.0, start + n / rps - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)


async def _poll(client, accepted: dict[str, float], ready: dict[str, float],
                deadline: float) -> None:
    """Wait for the drafts: one `GET /queue` a second, then each straggler's own draft.

    One queue read a second costs the server far less than thousands of per-id reads
    competing with its worker for the CPU.
    """
    while time.perf_counter() < deadline and len(ready) < len(accepted):
        try:
            response = await client.get("/queue", params={"status": "awaiting_review",
                                                           "limit": 500})
            items = response.json() if response.status_code == 200 else []
        except Exception:  # noqa: BLE001 - the next round retries
            items = []
        now = time.perf_counter()
        for item in items:
            ticket_id = item.get("id")
            if ticket_id in accepted and ticket_id not in ready:
                ready[ticket_id] = now - accepted[ticket_id]
        await asyncio.sleep(1.0)
    gate = asyncio.Semaphore(8)

    async def check(ticket_id: str) -> None:
        async with gate:
            try:
                response = await client.get(f"/drafts/{ticket_id}")
            except Exception:  # noqa: BLE001 - not ready as far as we can tell
                return
            if response.status_code == 200:
                ready[ticket_id] = time.perf_counter() - accepted[ticket_id]

    # Drafts already decided on (or missed by the queue) are found by id.
    await asyncio.gather(*(check(i) for i in accepted if i not in ready))


async def run_load(base_url: str, *, rps: float, seconds: float, drain_s: float,
                   token: str | None, slack_rps: float = 0.0,
                   slack_secret: str | None = None) -> dict[str, Any]:
    """Send rps × seconds tickets (and Slack requests), then wait for the tickets' drafts."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    total = int(rps * seconds)
    acks: list[float] = []
    accepted: dict[str, float] = {}
    ready: dict[str, float] = {}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=30) as client:
        tasks = []
        start = time.perf_counter()
        slack: dict[str, list] = {"ms": [], "errors": []}
        if slack_rps and slack_secret:
            tasks.append(asyncio.create_task(_slack(client, slack_rps, seconds, slack_secret,
                                                    str(int(start * 1000)), slack)))
        for n, ticket in enumerate(bench_tickets(total, prefix=f"api-{int(start * 1000)}")):
            await asyncio.sleep(max(0.0, start + n / rps - time.perf_counter()))
            tasks.append(asyncio.create_task(_send(client, ticket, acks, accepted, errors)))
        await asyncio.gather(*tasks)
        sent_s = time.perf_counter() - start
        await _poll(client, accepted, ready, time.perf_counter() + drain_s)
    to_draft = list(ready.values())
    return {
        "requests": total, "accepted": len(accepted), "ready": len(ready),
        "lost": total - len(ready), "send_s": round(sent_s, 3),
        "drain_s": round(time.perf_counter() - start - sent_s, 3),
        "ack_p50_ms": percentile(acks, 50), "ack_p99_ms": percentile(acks, 99),
        "draft_ready_p50_s": percentile(to_draft, 50),
        "draft_ready_p99_s": percentile(to_draft, 99),
        "errors": errors[:20],
        "slack_requests": int(slack_rps * seconds) if slack_rps and slack_secret else 0,
        "slack_failed": len(slack["errors"]),
        "slack_p50_ms": percentile(slack["ms"], 50), "slack_p99_ms": percentile(slack["ms"], 99),
        "slack_errors": slack["errors"][:20],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the load and print the JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m app.bench.load")
    parser.add_argument("base_url")
    parser.add_argument("--rps", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait for drafts")
    parser.add_argument("--token", default=None)
    parser.add_argument("--slack-rps", type=float, default=0.0,
                        help="signed Slack requests a second during the load")
    parser.add_argument("--slack-secret", default=None, help="the Slack signing secret")
    args = parser.parse_args(argv)
    summary = asyncio.run(run_load(args.base_url, rps=args.rps, seconds=args.seconds,
                                   drain_s=args.drain, token=args.token,
                                   slack_rps=args.slack_rps, slack_secret=args.slack_secret))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
