"""Safe by default: `sidekick serve` refuses to start without its protections.

Without API tokens, without a Slack signing secret when the Slack app is on, without a
Zendesk webhook secret when the webhook route is on, it exits 2 naming the setting, unless
SIDEKICK_ENV=development is set explicitly; then it starts with a WARNING block, and still
refuses a non-loopback address without tokens. The CLI runs for real, in a subprocess.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import InsecureConfig, create_app
from app.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment without any SIDEKICK_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SIDEKICK_") and k != "OPENAI_API_KEY"}
    env.update({"SIDEKICK_HOME": str(tmp_path / "home"),
                "SIDEKICK_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", **extra})
    env["PYTHONPATH"] = str(REPO)
    return env


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port",
                           str(_free_port()), *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=REPO)


@pytest.mark.parametrize(("settings", "named"), [
    ({}, "SIDEKICK_API_TOKENS"),
    ({"SIDEKICK_ENV": "production"}, "SIDEKICK_API_TOKENS"),
    ({"SIDEKICK_API_TOKENS": "t1", "SIDEKICK_SLACK_BOT_TOKEN": "xoxb-1"},
     "SIDEKICK_SLACK_SIGNING_SECRET"),
    ({"SIDEKICK_API_TOKENS": "t1", "SIDEKICK_ZENDESK_SUBDOMAIN": "acme",
      "SIDEKICK_ZENDESK_EMAIL": "hero@example.com", "SIDEKICK_ZENDESK_TOKEN": "zd"},
     "SIDEKICK_ZENDESK_WEBHOOK_SECRET"),
], ids=["plain", "production", "slack-no-secret", "zendesk-no-webhook-secret"])
def test_serve_refuses_to_start_without_a_protection(tmp_path, settings, named):
    done = _serve(_env(tmp_path, **settings))
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and "refusing to start" in done.stderr
    assert "SIDEKICK_ENV=development" in done.stderr  # says how to run without it


def test_zendesk_polling_only_needs_no_webhook_secret_once_the_route_is_off(tmp_path):
    settings = Settings(env="production", home=tmp_path, api_tokens="t1",
                        zendesk_subdomain="acme", zendesk_webhook=False)
    app = create_app(settings, start_worker=False)
    assert "/webhooks/zendesk" not in app.openapi()["paths"]


def test_development_still_refuses_a_public_address_without_tokens(tmp_path):
    done = _serve(_env(tmp_path, SIDEKICK_ENV="development"), "--host", "0.0.0.0")
    assert done.returncode == 2
    assert "0.0.0.0" in done.stderr and "SIDEKICK_API_TOKENS" in done.stderr


def test_development_starts_with_a_loud_warning_naming_each_missing_protection(tmp_path):
    env = _env(tmp_path, SIDEKICK_ENV="development", SIDEKICK_SLACK_BOT_TOKEN="xoxb-1",
               SIDEKICK_ZENDESK_WEBHOOK="true")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port",
                             str(_free_port())], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "Uvicorn running" in line or "Application startup failed" in line:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    output = "".join(lines) + rest
    assert "Uvicorn running" in output, output
    block = output[output.index("WARNING"):output.index("Uvicorn running")]
    for name in ("SIDEKICK_API_TOKENS", "SIDEKICK_SLACK_SIGNING_SECRET",
                 "SIDEKICK_ZENDESK_WEBHOOK_SECRET"):
        assert name in block


def test_create_app_refuses_outside_development_and_warns_in_it(tmp_path, caplog):
    with pytest.raises(InsecureConfig, match="SIDEKICK_API_TOKENS"):
        create_app(Settings(home=tmp_path), start_worker=False)  # the default: production
    with pytest.raises(InsecureConfig, match="SIDEKICK_SLACK_SIGNING_SECRET"):
        create_app(Settings(env="test", home=tmp_path, api_tokens="t1",
                            slack_bot_token="xoxb-1"), start_worker=False)
    with caplog.at_level(logging.WARNING, logger="sidekick.api"):
        app = create_app(Settings(env="development", home=tmp_path,
                                  database_url=f"sqlite:///{tmp_path / 's.db'}"),
                         start_worker=False)
    assert "WARNING: SIDEKICK_ENV=development" in caplog.text
    assert "SIDEKICK_API_TOKENS" in caplog.text
    with TestClient(app) as client:  # open, as the warning says
        assert client.get("/queue").status_code == 200
