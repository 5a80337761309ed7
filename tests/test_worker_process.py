"""`sidekick serve`'s worker process under real signals: killed, hung, stopped, orphaned.

Every wait is bounded (a regression fails instead of hanging); none is a speed target.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from test_api_serve import Server, _env, _ticket

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Generous: "it stops / answers at all", not how fast.
BOUND_S = 60


def _state(pid: int) -> str | None:
    """The process's state letter (R, S, T, Z, ...), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def _alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z", "X")


def _group(pgid: int) -> list[int]:
    """The live processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def _until(what: str, check, bound: float = BOUND_S, every: float = 0.05):
    deadline = time.monotonic() + bound
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {bound} s: {what}"
        time.sleep(every)
    return found


def worker_pid(server: Server) -> int:
    """The worker: the serve process's spawned child (not multiprocessing's resource tracker)."""
    def find() -> int | None:
        for children in Path(f"/proc/{server.proc.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"spawn_main" in cmdline and _alive(int(pid)):
                    return int(pid)
        return None
    return _until("a worker process", find)


def health(server: Server) -> tuple[int, dict]:
    response = server.client.get("/healthz")
    return response.status_code, response.json()


OK = (200, {"status": "ok", "worker": True})


class HealthWatch:
    """Polls /healthz on a thread of its own, recording each answer (None: no answer)."""

    def __init__(self, server: Server) -> None:
        self.server, self.seen = server, []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            try:
                self.seen.append(health(self.server))
            except httpx.HTTPError:
                self.seen.append((None, {}))

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(BOUND_S)


def status(server: Server, ticket_id: str) -> str:
    return server.client.get(f"/tickets/{ticket_id}").json()["status"]


def triaged_counts(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ticket_id in re.findall(r"ticket (\S+) triaged: awaiting_review", output):
        counts[ticket_id] = counts.get(ticket_id, 0) + 1
    return counts


def stop_group(server: Server) -> tuple[int, str]:
    """SIGTERM to the whole group, as systemd or `timeout` send it; code and output."""
    server.client.close()
    pgid = os.getpgid(server.proc.pid)
    os.killpg(pgid, signal.SIGTERM)
    code = server.proc.wait(timeout=BOUND_S)
    _until("every process of the group exits", lambda: not _group(pgid))
    return code, server.output()


@pytest.fixture
def serve_home(warm_context, tmp_path) -> Path:
    """A copy of the warm home (classifier trained, corpus ingested)."""
    home = tmp_path / "serve-home"
    shutil.copytree(warm_context.home, home)
    return home


@pytest.fixture
def servers():
    """Start servers in sessions of their own; whatever is left is killed at the end."""
    started: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        server = Server(env, own_group=True)
        started.append(server)
        # Read its output as it comes: a full pipe would block the server's logging.
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(server.proc.stdout), daemon=True)
        reader.start()
        server.output = lambda: (reader.join(BOUND_S), "".join(lines))[1]
        return server

    yield start
    for server in started:
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.proc.wait()


def test_a_killed_worker_never_blocks_a_post_and_is_restarted(serve_home, db_url, servers):
    server = servers(_env(serve_home, db_url))
    dead = worker_pid(server)
    with HealthWatch(server) as watch:
        os.kill(dead, signal.SIGKILL)
        _until("the killed worker is gone", lambda: not _alive(dead))

        def post(i: int) -> int:
            return server.client.post("/tickets", json=_ticket(f"kw-{i}")).status_code

        with ThreadPoolExecutor(8) as pool:  # the client's 30 s timeout bounds each
            assert list(pool.map(post, range(60))) == [202] * 60
        _until("the worker is restarted", lambda: watch.seen and watch.seen[-1] == OK)
    # Down meanwhile, and /healthz said so; then up again.
    down = [body for code, body in watch.seen if code == 503]
    assert down, watch.seen
    assert all(body["worker"] is False and "worker process" in body["detail"] for body in down)
    assert worker_pid(server) != dead
    for i in range(60):
        _until(f"kw-{i} is triaged", lambda i=i: status(server, f"kw-{i}") == "awaiting_review",
               bound=300, every=0.2)
    code, output = stop_group(server)
    assert code == 0, output
    assert "the worker process was killed by SIGKILL; restarting it" in output
    assert triaged_counts(output) == {f"kw-{i}": 1 for i in range(60)}


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "triaging"])
def test_sigterm_to_the_group_stops_every_process(serve_home, db_url, servers, busy):
    env = _env(serve_home, db_url)
    server = servers(env)
    worker_pid(server)
    ids = [f"tg-{i}" for i in range(6)] if busy else []
    for ticket_id in ids:
        assert server.client.post("/tickets", json=_ticket(ticket_id)).status_code == 202
    if busy:
        _until("a ticket is being triaged",
               lambda: any(status(server, t) == "triaging" for t in ids))
    code, first = stop_group(server)
    assert code == 0, first
    assert "worker drained" in first and "restarting" not in first

    again = servers(env)
    for ticket_id in ids:
        _until(f"{ticket_id} is triaged",
               lambda t=ticket_id: status(again, t) == "awaiting_review", bound=300, every=0.2)
    code, second = stop_group(again)
    assert code == 0, second
    # Drained or left to the next start: each ticket triaged exactly once over both runs.
    assert triaged_counts(first + second) == {t: 1 for t in ids}


def test_a_worker_stops_on_its_own_sigterm_and_is_restarted(serve_home, db_url, servers):
    server = servers(_env(serve_home, db_url))
    first = worker_pid(server)
    os.kill(first, signal.SIGTERM)
    _until("the worker exits on SIGTERM", lambda: not _alive(first))
    _until("the worker is restarted", lambda: health(server)[0] == 200)
    assert worker_pid(server) != first
    assert server.client.post("/tickets", json=_ticket("st-1")).status_code == 202
    _until("st-1 is triaged", lambda: status(server, "st-1") == "awaiting_review",
           bound=300, every=0.2)
    code, output = stop_group(server)
    assert code == 0, output
    assert "the worker process exited with code 0; restarting it" in output


def test_a_hung_worker_is_killed_and_restarted(serve_home, db_url, servers):
    server = servers(_env(serve_home, db_url, SIDEKICK_WORKER_HANG_S="3"))
    hung = worker_pid(server)
    os.kill(hung, signal.SIGSTOP)  # alive, but answers nothing
    code, body = _until("/healthz reports the hung worker", lambda: (
        (answer := health(server))[0] == 503 and answer))
    assert "hung" in body["detail"]
    _until("the hung worker is killed", lambda: not _alive(hung))
    _until("the worker is restarted", lambda: health(server)[0] == 200)
    code, output = stop_group(server)
    assert code == 0, output


def test_a_worker_whose_server_died_exits_on_its_own(serve_home, db_url, servers):
    server = servers(_env(serve_home, db_url))
    orphan = worker_pid(server)
    server.proc.kill()
    server.proc.wait(timeout=BOUND_S)
    _until("the orphaned worker exits", lambda: not _alive(orphan))
