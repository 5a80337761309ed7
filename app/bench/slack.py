"""Slack traffic for the API bench: a slow local Slack Web API and signed Slack requests.

`sidekick serve` talks to `SlowSlack` (every Web API call answers after `delay_s`, as a
distant or rate-limited Slack does) while the load child sends, beside its `POST /tickets`,
signed Slack requests to `/slack/events`: 🎫 reactions (their listeners read the thread from
the slow Slack, filling Bolt's listener threads) and modal submissions (each waits for its
listener's `ack()`). The acknowledgements of `POST /tickets` measured meanwhile show whether
Slack traffic holds up the API's event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

BENCH_SLACK_TOKEN = "xoxb-sidekick-bench"
BENCH_SIGNING_SECRET = "sidekick-bench-signing-secret"
CHANNEL, HERO = "CBENCH", "UBENCHHERO"
#: Seconds each Web API call of the bench's Slack takes.
SLACK_DELAY_S = 1.0


def _answer(method: str, args: dict[str, Any]) -> dict[str, Any]:
    """What Slack answers to the methods the listeners call (enough for them to proceed)."""
    ts = str(args.get("ts") or "1700000000.000100")
    if method == "auth.test":
        return {"ok": True, "user_id": "UBOT", "bot_id": "B1", "team_id": "T1", "team": "Bench",
                "user": "sidekick", "url": "https://bench.slack.invalid/"}
    if method == "conversations.replies":
        return {"ok": True, "has_more": False, "messages": [
            {"type": "message", "ts": ts, "user": "UCUST", "text": "Exports are stuck"}]}
    if method == "users.info":
        return {"ok": True, "user": {"id": args.get("user"), "real_name": "Cory Customer",
                                     "profile": {"real_name": "Cory Customer"}}}
    return {"ok": True, "ts": ts, "channel": args.get("channel"), "messages": []}


class SlowSlack:
    """A local Slack Web API on 127.0.0.1 whose every answer takes `delay_s`."""

    def __init__(self, delay_s: float = SLACK_DELAY_S) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        """The base URL for `SIDEKICK_SLACK_API_URL`."""
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def start(self) -> SlowSlack:
        """Serve in a daemon thread."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                args = json.loads(raw) if raw.startswith("{") else \
                    {k: v[0] for k, v in parse_qs(raw).items()}
                with stub._lock:
                    stub.calls += 1
                time.sleep(stub.delay_s)
                data = json.dumps(_answer(self.path.rsplit("/", 1)[-1], args)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket.listen(128)  # http.server's backlog is 5: calls pile up here
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def env(self) -> dict[str, str]:
        """The settings that turn `sidekick serve`'s Slack app on, pointed at this stub."""
        return {"SIDEKICK_SLACK_BOT_TOKEN": BENCH_SLACK_TOKEN,
                "SIDEKICK_SLACK_SIGNING_SECRET": BENCH_SIGNING_SECRET,
                "SIDEKICK_SLACK_API_URL": self.api_url,
                "SIDEKICK_SLACK_CUSTOMER_CHANNELS": json.dumps([CHANNEL]),
                "SIDEKICK_SLACK_ROTATION": json.dumps({"replay": [HERO]})}


def _signed(body: str, content_type: str, secret: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}"}


def slack_request(n: int, run: str, secret: str) -> tuple[str, dict[str, str]]:
    """The n-th Slack request of a run: a 🎫 reaction (even n) or a modal submission (odd)."""
    if n % 2 == 0:
        event = {"type": "reaction_added", "user": HERO, "reaction": "ticket",
                 "item": {"type": "message", "channel": CHANNEL, "ts": f"1700{n:06d}.000100"}}
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": f"Ev{run}{n}", "event_time": int(time.time()),
                           "event": event})
        return body, _signed(body, "application/json", secret)
    # An edit submitted empty: the listener only answers an error, once it has a thread.
    view = {"id": f"V{run}{n}", "type": "modal", "callback_id": "sidekick_edit_view",
            "private_metadata": json.dumps({"ticket_id": "bench", "channel": CHANNEL,
                                            "ts": "1.1"}),
            "state": {"values": {"draft_input": {"draft_input": {
                "type": "plain_text_input", "value": " "}}}}}
    payload = {"type": "view_submission", "team": {"id": "T1"}, "api_app_id": "A1",
               "user": {"id": HERO, "team_id": "T1"}, "view": view}
    body = urlencode({"payload": json.dumps(payload)})
    return body, _signed(body, "application/x-www-form-urlencoded", secret)
