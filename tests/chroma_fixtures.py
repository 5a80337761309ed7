"""Knowledge-store fixtures: the store tests run on the embedded Chroma and on a real server.

One `chroma run` server per test session, started from the installed chromadb package (the
`chroma` script beside this interpreter) on a free loopback port, and stopped with SIGTERM
to its process group. Tests never share data on it: each store a test opens is a database
of its own, named after the store's embedded folder (so opening the same folder twice, as
a second process would, opens the same database).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.bench.api import free_port, wait_answering
from knowledge.store import KnowledgeStore, open_store
from tools.chroma import ChromaServer

#: Seconds `chroma run` may take to answer its first heartbeat (about 1 s here).
START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server for the session; its URL."""
    binary = Path(sys.executable).with_name("chroma")
    if not binary.exists():
        pytest.fail(f"{binary} is missing: chromadb is a dependency and ships `chroma run`")
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(binary), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_answering(f"{url}/api/v2/heartbeat", proc, START_TIMEOUT_S, name="chroma run",
                           every_s=0.1)
        except RuntimeError as exc:
            pytest.fail(f"{exc}:\n{(data / 'server.log').read_text()[-2000:]}")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@dataclass(frozen=True)
class Backend:
    """Where a test's knowledge stores live: `embedded` folders, or databases of the server."""

    kind: str
    url: str | None = None
    prefix: str = ""

    def server(self, folder: Path) -> ChromaServer | None:
        """The server and database standing in for the embedded store at folder."""
        if self.url is None:
            return None
        digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
        return ChromaServer(url=self.url, database=f"{self.prefix}-{digest}", timeout_s=30.0)

    def store(self, folder: Path) -> KnowledgeStore:
        """Open the store at folder (a new client each time, as another process would)."""
        return open_store(folder, server=self.server(folder))

    def use(self, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
        """Point the CLI's settings at the store of SIDEKICK_HOME=home."""
        server = self.server(home / "chroma")
        if server is not None:
            monkeypatch.setenv("SIDEKICK_CHROMA_URL", server.url)
            monkeypatch.setenv("SIDEKICK_CHROMA_DATABASE", server.database)


@pytest.fixture(scope="session", params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each test that takes it runs twice: on the embedded store and on the Chroma server."""
    if request.param == "embedded":
        return Backend("embedded")
    return Backend("server", request.getfixturevalue("chroma_server"),
                   f"t{uuid.uuid4().hex[:8]}")
