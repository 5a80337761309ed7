"""`sidekick serve` as a real process: accept, triage, SIGTERM drains, a restart finishes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

TOKEN = "serve-test-token"
SIDEKICK = Path(sys.executable).parent / "sidekick"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SIDEKICK_") and k != "OPENAI_API_KEY"}
    env.update({"SIDEKICK_HOME": str(home), "SIDEKICK_DATABASE_URL": db_url,
                "SIDEKICK_ENV": "test", "SIDEKICK_API_TOKENS": f"other,{TOKEN}",
                "SIDEKICK_WORKER_POLL_S": "0.1", **extra})
    return env


class Server:
    def __init__(self, env: dict[str, str], *, own_group: bool = False) -> None:
        self.port = _free_port()
        # own_group: a process group of its own, as a terminal gives a foreground command.
        self.proc = subprocess.Popen(
            [str(SIDEKICK), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=own_group)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}",
                                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.proc.stdout.read()
            try:
                if self.client.get("/healthz").json().get("status") == "ok":
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def wait_for_draft(self, ticket_id: str) -> dict:
        deadline = time.monotonic() + 120
        while (response := self.client.get(f"/drafts/{ticket_id}")).status_code != 200:
            assert response.status_code == 404, response.text
            assert time.monotonic() < deadline, f"no draft for {ticket_id}"
            time.sleep(0.1)
        return response.json()

    def terminate(self) -> tuple[int, str]:
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        output, _ = self.proc.communicate(timeout=120)
        return self.proc.returncode, output

    def ctrl_c(self) -> tuple[int, str]:
        """What Ctrl-C does: SIGINT to every process of the group (API and worker alike)."""
        self.client.close()
        os.killpg(self.proc.pid, signal.SIGINT)
        output, _ = self.proc.communicate(timeout=120)
        return self.proc.returncode, output


@pytest.fixture
def serve_home(warm_context, tmp_path) -> Path:
    """A copy of the warm home (classifier trained, corpus ingested): no 10 s of training."""
    home = tmp_path / "serve-home"
    shutil.copytree(warm_context.home, home)
    return home


def _ticket(ticket_id: str) -> dict:
    return {"id": ticket_id, "source": "zendesk", "subject": "Replay recordings are blank",
            "body": "All our session recordings are blank since yesterday.",
            "requester": {"name": "Ada Lovelace", "email": "ada@example.com"}}


def test_serve_triages_and_a_sigterm_drains(serve_home, db_url):
    server = Server(_env(serve_home, db_url))
    assert server.client.get("/docs").status_code == 200
    assert server.client.get("/queue", headers={"Authorization": ""}).status_code == 401
    assert server.client.post("/tickets", json=_ticket("srv-1")).status_code == 202
    assert server.wait_for_draft("srv-1")["draft"]["body"].startswith("Hey Ada")
    approved = server.client.post("/drafts/srv-1/approve", json={"by": "hero", "version": 1})
    assert approved.status_code == 200 and approved.json()["status"] == "delivered"
    # A burst right before SIGTERM: whatever is not triaged stays accepted, nothing is lost.
    for i in range(2, 6):
        assert server.client.post("/tickets", json=_ticket(f"srv-{i}")).status_code == 202
    code, output = server.terminate()
    assert code == 0, output
    assert TOKEN not in output and "ada@example.com" not in output

    again = Server(_env(serve_home, db_url))
    for i in range(2, 6):
        assert again.wait_for_draft(f"srv-{i}")["ticket_id"] == f"srv-{i}"
    assert again.client.post("/drafts/srv-1/approve", json={"version": 1}).status_code == 409
    statuses = {item["id"]: item["status"] for item in again.client.get("/queue").json()}
    assert statuses == {f"srv-{i}": "awaiting_review" for i in range(2, 6)}
    code, output = again.terminate()
    assert code == 0, output


def test_ctrl_c_reaches_both_processes_and_still_drains(serve_home, db_url):
    server = Server(_env(serve_home, db_url), own_group=True)
    assert server.client.get("/healthz").json() == {"status": "ok", "worker": True}
    for i in range(1, 5):
        assert server.client.post("/tickets", json=_ticket(f"cc-{i}")).status_code == 202
    code, output = server.ctrl_c()
    assert code == 0, output
    assert "worker drained" in output

    again = Server(_env(serve_home, db_url))
    for i in range(1, 5):
        assert again.wait_for_draft(f"cc-{i}")["ticket_id"] == f"cc-{i}"
    statuses = {item["id"]: item["status"] for item in again.client.get("/queue").json()}
    assert statuses == {f"cc-{i}": "awaiting_review" for i in range(1, 5)}
    code, output = again.terminate()
    assert code == 0, output


def test_serve_refuses_to_start_without_tokens_outside_development(tmp_path):
    env = _env(tmp_path / "home", f"sqlite:///{tmp_path / 'db.sqlite'}",
               SIDEKICK_ENV="production")
    del env["SIDEKICK_API_TOKENS"]
    done = subprocess.run([str(SIDEKICK), "serve", "--port", str(_free_port())], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SIDEKICK_API_TOKENS" in done.stderr
