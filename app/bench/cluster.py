"""Several Sidekick processes on one PostgreSQL: `serve --no-worker` replicas and workers.

Each process gets a home of its own (a copy of one warm home), as if each ran on its own
host: whatever they share has to go through the database. Used by `sidekick bench
--workers` and by the scale-out test, which kills one of the workers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.bench.api import free_port
from app.bench.timing import child_env, sidekick_cmd


@dataclass
class Member:
    """One process of the cluster and everything it printed."""

    name: str
    proc: subprocess.Popen
    port: int | None = None
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def __post_init__(self) -> None:
        # Read the output as it comes: a full pipe would block the child's logging.
        assert self.proc.stdout is not None
        out = self.proc.stdout
        self._reader = threading.Thread(target=lambda: self.lines.extend(out), daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        """The API's base URL (API members only)."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """What the process printed so far (everything, once it has exited)."""
        if self.proc.poll() is not None and self._reader is not None:
            self._reader.join(10)
        return "".join(self.lines)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM to its process group, then SIGKILL after `timeout`; the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


@dataclass
class Cluster:
    """Start API replicas and workers over one database, each on a copy of a warm home."""

    database_url: str
    warm_home: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)

    def _start(self, name: str, *args: str, port: int | None = None,
               env: dict[str, str] | None = None) -> Member:
        home = self.workdir / f"home-{name}"
        shutil.copytree(self.warm_home, home, ignore=shutil.ignore_patterns("sidekick.db*"))
        env = child_env(home, SIDEKICK_DATABASE_URL=self.database_url,
                        **{**self.env, **(env or {})})
        # A session of its own: a SIGKILL to the group is what a host that dies does.
        proc = subprocess.Popen(sidekick_cmd(*args), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        member = Member(name, proc, port)
        self.members.append(member)
        return member

    def api(self, name: str) -> Member:
        """A `sidekick serve --no-worker` replica on a free loopback port."""
        port = free_port()
        return self._start(name, "serve", "--no-worker", "--host", "127.0.0.1",
                           "--port", str(port), "--log-level", "warning", port=port)

    def worker(self, name: str, **env: str) -> Member:
        """A `sidekick worker` (`env`: settings of its own over the cluster's)."""
        return self._start(name, "worker", env=env)

    def wait_healthy(self, member: Member, timeout_s: float = 120) -> None:
        """Until the API answers /healthz with 200."""
        import httpx

        deadline = time.monotonic() + timeout_s
        while True:
            if member.proc.poll() is not None:
                raise RuntimeError(f"{member.name} exited:\n{member.output()}")
            try:
                if httpx.get(f"{member.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{member.name} not healthy in {timeout_s:.0f} s")
            time.sleep(0.2)

    def stop(self) -> dict[str, int]:
        """Stop every member still running; exit codes by name."""
        return {member.name: member.stop() for member in self.members}


def live_worker_ids(database_url: str, within_s: float) -> list[str]:
    """The workers whose heartbeat the store saw in the last `within_s` seconds."""
    from sqlalchemy.orm import Session

    from app.store.claims import live_workers
    from app.store.db import make_engine

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return [row.id for row in live_workers(session, within_s=within_s)]
    finally:
        engine.dispose()


@contextmanager
def scratch_database(admin_url: str, prefix: str = "sidekick_scale") -> Iterator[str]:
    """A new PostgreSQL database on the server of `admin_url` (dropped after), as a URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{admin_url.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def status_counts(database_url: str) -> dict[str, Any]:
    """How many tickets are in each status, and who holds the `triaging` ones."""
    import psycopg

    with psycopg.connect("postgresql://" + database_url.split("://", 1)[1]) as conn:
        statuses: dict[str, int] = dict(conn.execute(
            "SELECT status, count(*) FROM tickets GROUP BY status"))
        holders: dict[str, int] = dict(conn.execute(
            "SELECT claimed_by, count(*) FROM tickets WHERE status = 'triaging' "
            "AND claimed_by IS NOT NULL GROUP BY claimed_by"))
    return {"statuses": statuses, "holders": holders}
