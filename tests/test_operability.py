"""Operating `sidekick serve`: JSON logs, /livez, /readyz and /metrics over real HTTP.

One server (a real process, its worker in another) is started for the whole story, since
starting one costs seconds; the log lines are its own stderr, parsed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sqlite3
from pathlib import Path

import pytest
import test_worker_process as wp
from db_fixtures import runtime_of
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from test_api_serve import _env

from app.logs import about_ticket, configure_logging
from app.settings import Settings

serve_home = wp.serve_home
servers = wp.servers

EMAIL = "grace.hopper@example.com"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def log_stream():
    """The one logging configuration, writing to a buffer; the root logger restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_ticket_and_hide_emails_and_secrets(log_stream):
    settings = Settings(log_format="json", api_tokens="first-api-token,second-api-token",
                        slack_bot_token="xoxb-123-456-abcdef")
    configure_logging(settings, "worker", stream=log_stream)
    log = logging.getLogger("sidekick.test")
    with about_ticket("t-42"):
        log.info("reply to %s for %s", EMAIL, "Grace")
        try:
            raise ValueError(f"Zendesk refused requester {EMAIL}")
        except ValueError:
            log.exception("delivery failed")
    log.warning("called with Bearer second-api-token and %s", "xoxb-123-456-abcdef")
    log.info("connect to postgresql://sidekick:hunter2pass@db.internal/sidekick")
    log.info("GET /export?api_key=k-12345&team=growth with the token provided")
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [line["ticket_id"] for line in lines[:2]] == ["t-42", "t-42"]
    assert "ticket_id" not in lines[2]  # outside the ticket's block
    assert lines[0]["message"] == "reply to g***@example.com for Grace"
    assert lines[0]["role"] == "worker" and lines[0]["level"] == "INFO"
    assert "ValueError: Zendesk refused requester g***@example.com" in lines[1]["exc_info"]
    assert lines[2]["message"] == "called with Bearer [secret] and [secret]"
    assert lines[3]["message"] == "connect to postgresql://sidekick:[secret]@db.internal/sidekick"
    assert lines[4]["message"] == "GET /export?api_key=[secret]&team=growth with the token provided"
    everything = log_stream.getvalue()
    for secret in (EMAIL, "second-api-token", "xoxb-123", "hunter2pass", "k-12345"):
        assert secret not in everything


def test_text_lines_name_the_ticket_and_the_level_is_a_setting(log_stream):
    configure_logging(Settings(log_level="WARNING"), "cli", stream=log_stream)
    log = logging.getLogger("sidekick.test")
    with about_ticket("t-7"):
        log.info("not shown at WARNING")
        log.warning("mail from %s", EMAIL)
    assert log_stream.getvalue().rstrip().endswith(
        "WARNING cli sidekick.test [ticket t-7]: mail from g***@example.com")
    assert "not shown" not in log_stream.getvalue()


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version

    from app.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"sidekick {version('sidekick-triage')}"


@pytest.mark.slow
def test_serve_is_observable(serve_home: Path, servers, tmp_path: Path):
    db = tmp_path / "store.db"
    server = servers(_env(serve_home, f"sqlite:///{db}", SIDEKICK_LOG_FORMAT="json",
                          SIDEKICK_WORKER_HANG_S="3", SIDEKICK_WORKER_POLL_S="0.2"))
    anonymous = {"Authorization": ""}
    assert server.client.get("/livez", headers=anonymous).json() == {"status": "ok"}
    assert server.client.get("/readyz", headers=anonymous).json() == {"status": "ok"}
    assert server.client.get("/metrics", headers=anonymous).status_code == 401

    ticket = {"id": "ops-1", "source": "zendesk", "subject": "Replay recordings are blank",
              "body": f"All our session recordings are blank. Write to {EMAIL}.",
              "requester": {"name": "Grace Hopper", "email": EMAIL}}
    assert server.client.post("/tickets", json=ticket).status_code == 202
    draft = server.wait_for_draft("ops-1")
    # Counted in the worker process, scraped from the API process (multiprocess mode).
    scraped = server.client.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    labels = (("priority", draft["priority"]), ("status", "awaiting_review"),
              ("team", draft["team"]))
    assert samples[("sidekick_queue_depth", labels)] == 1
    assert samples[("sidekick_triage_latency_seconds_count", ())] == 1
    assert samples[("sidekick_workers_alive", ())] == 1

    approved = server.client.post("/drafts/ops-1/approve", json={"by": "hero", "version": 1})
    assert approved.json()["status"] == "delivered"
    samples = _samples(server.client.get("/metrics").text)
    assert samples[("sidekick_delivery_latency_seconds_count", ())] == 1
    assert ("sidekick_queue_depth", labels) not in samples  # delivered: out of the queue

    # Not migrated: an older schema (as before `sidekick serve` upgrades it) is not ready.
    with sqlite3.connect(db) as conn:
        (head,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        conn.execute("UPDATE alembic_version SET version_num = '0003_older'")
    unready = server.client.get("/readyz", headers=anonymous)
    assert unready.status_code == 503 and "not migrated" in unready.json()["detail"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (head,))
    assert server.client.get("/readyz").status_code == 200

    # A worker that stops beating: not ready until the supervisor has replaced it.
    hung = wp.worker_pid(server)
    os.kill(hung, signal.SIGSTOP)
    body = wp._until("/readyz reports the hung worker", lambda: (
        (answer := server.client.get("/readyz")).status_code == 503 and answer.json()))
    assert "hung" in body["detail"]
    assert server.client.get("/livez").status_code == 200  # up, only not ready
    wp._until("the worker is replaced", lambda: server.client.get("/readyz").status_code == 200)

    code, output = wp.stop_group(server)
    assert code == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert {line["role"] for line in lines} == {"api", "worker"}
    about = [line for line in lines if "ops-1" in line["message"]]
    assert about and all(line.get("ticket_id") == "ops-1" for line in about), about
    assert EMAIL not in output


def test_readyz_and_the_queue_metric_on_both_databases(api):
    engine = runtime_of(api).engine
    anonymous = {"Authorization": ""}
    assert api.get("/readyz", headers=anonymous).json() == {"status": "ok"}
    with engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001_older'"))
    try:
        unready = api.get("/readyz", headers=anonymous)
    finally:  # the session's PostgreSQL database serves the next tests
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert unready.status_code == 503
    assert unready.json()["detail"] == f"the database is not migrated to {head}"
    assert api.get("/readyz").status_code == 200

    for n in range(3):
        ticket = {"id": f"q-{n}", "source": "zendesk", "subject": "Export fails",
                  "body": "The S3 export fails.", "priority": "high" if n else "normal"}
        assert api.post("/tickets", json=ticket).status_code == 202
    assert api.get("/metrics", headers=anonymous).status_code == 401
    samples = _samples(api.get("/metrics").text)
    waiting = {labels: value for (name, labels), value in samples.items()
               if name == "sidekick_queue_depth"}
    assert waiting == {
        (("priority", "high"), ("status", "accepted"), ("team", "none")): 2,
        (("priority", "normal"), ("status", "accepted"), ("team", "none")): 1,
    }
    assert samples[("sidekick_workers_alive", ())] == 0  # this app runs no worker
