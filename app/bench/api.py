"""The API bench: `sidekick serve` on loopback, loaded from a second process."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.bench.timing import child_env, sidekick_cmd

BENCH_TOKEN = "sidekick-bench-token"


def api_available() -> bool:
    """Whether `app.api` exists and the CLI has a `serve` command."""
    if importlib.util.find_spec("app.api") is None:
        return False
    from app.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    return "serve" in (sub.choices or {})


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(url: str, process: subprocess.Popen, timeout_s: float, *, name: str,
                   every_s: float = 0.2) -> None:
    """Poll url until it answers 200 (a server that process started).

    Raises:
        RuntimeError: The process exited, or url did not answer within timeout_s.

    """
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(every_s)
    raise RuntimeError(f"{name} did not answer {url} within {timeout_s:.0f} s")


def api_load(home: Path, *, rps: float, seconds: float, drain_s: float,
             workdir: Path, slack_rps: float = 0.0) -> dict[str, Any]:
    """Start the server on a free loopback port, run the load child, stop the server.

    With `slack_rps`, the server's Slack app is on, talking to a slow local Slack
    (app/bench/slack.py), and the load child sends that many Slack requests a second.
    """
    from app.bench.slack import BENCH_SIGNING_SECRET, SlowSlack

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    slack = SlowSlack().start() if slack_rps else None
    run = "slack-" if slack else ""
    # A fresh ticket store for every run: a backlog left in the home's store by an earlier
    # (interrupted) run would be triaged first and make this run's tickets look lost.
    env = child_env(home, SIDEKICK_API_TOKENS=BENCH_TOKEN, SIDEKICK_ENV="development",
                    SIDEKICK_DATABASE_URL=f"sqlite:///{workdir / f'api-{run}store.sqlite'}",
                    **(slack.env() if slack else {}))
    extra = ["--slack-rps", str(slack_rps), "--slack-secret", BENCH_SIGNING_SECRET] \
        if slack else []
    log = (workdir / f"serve-{run}log").open("wb")
    server = subprocess.Popen(sidekick_cmd("serve", "--host", "127.0.0.1", "--port", str(port),
                                           "--log-level", "warning"),
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_answering(f"{base_url}/healthz", server, 120, name="sidekick serve")
        load = subprocess.run(
            [sys.executable, "-m", "app.bench.load", base_url, "--rps", str(rps),
             "--seconds", str(seconds), "--drain", str(drain_s), "--token", BENCH_TOKEN,
             *extra],
            env=env, capture_output=True, text=True, timeout=seconds + drain_s + 120,
            check=True,
        )
        return json.loads(load.stdout)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        if slack is not None:
            slack.stop()
