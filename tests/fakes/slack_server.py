"""A local Slack Web API (the methods Sidekick calls), for slack_sdk's WebClient.

`POST|GET /api/{method}` with form, JSON or query arguments, answering `{"ok": true, ...}`
as Slack does (`{"ok": false, "error": ...}` for unknown channels, users or tokens).
Channels hold messages (with `thread_ts` and `metadata`), so `conversations.replies` returns
what `chat.postMessage` posted. Also builds signed requests the way Slack sends them.

Failure modes beyond `fail_next` (429 with Retry-After, 5xx, all before anything applies):
`fail_after_apply` (the call takes effect, then the answer is a 5xx), `drop_after_apply`
(the call takes effect, then the connection closes unanswered), `hold` (a method's calls
wait until the test releases them: a slow Slack without timing) and `delay` (each call of a
method takes that long, for `sidekick bench`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode, urlsplit

from fakes.http_base import FakeServer, Request

BOT_USER = "UBOT"


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers for `body`: v0=HMAC-SHA256(secret, v0:ts:body)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def interaction_body(payload: dict[str, Any]) -> str:
    """An interactivity request body: form-encoded `payload=<json>`."""
    return urlencode({"payload": json.dumps(payload)})


class _Drop(Exception):
    """Raised by `route` to close the connection without an answer."""


class Hold:
    """Calls of one method wait here until `release()`; `arrived` is set by the first."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        #: Calls waiting right now.
        self.waiting = 0

    def wait(self) -> None:
        with self._lock:
            self.waiting += 1
        self.arrived.set()
        self._released.wait()
        with self._lock:
            self.waiting -= 1

    def release(self) -> None:
        """Let every waiting (and later) call through."""
        self._released.set()


class FakeSlack(FakeServer):
    """One workspace: users and channels of messages."""

    def __init__(self, token: str = "xoxb-test") -> None:
        super().__init__()
        self.token = token
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.views: list[dict[str, Any]] = []
        self._ts = 1_700_000_000.0
        #: method -> scripted outcomes after applying: a status to answer, or "drop".
        self._after_apply: dict[str, list[int | str]] = defaultdict(list)
        self._holds: dict[str, Hold] = {}
        self._delays: dict[str, float] = {}

    def start(self) -> FakeSlack:
        """Serve, with room for many connections at once (held calls pile up)."""
        super().start()
        assert self._server is not None
        self._server.socket.listen(128)  # http.server's backlog is 5
        return self

    # -- failure modes -------------------------------------------------------------------
    def fail_after_apply(self, method: str, status: int = 502, *, times: int = 1) -> None:
        """The next `times` calls of `method` take effect, then answer `status`."""
        self._after_apply[method].extend([status] * times)

    def drop_after_apply(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` take effect, then the connection just closes."""
        self._after_apply[method].extend(["drop"] * times)

    def hold(self, method: str) -> Hold:
        """Calls of `method` wait (unanswered) until the returned Hold is released."""
        self._holds[method] = Hold()
        return self._holds[method]

    def delay(self, method: str, seconds: float) -> None:
        """Each call of `method` takes `seconds` more (`*`: every method)."""
        self._delays[method] = seconds

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        method = urlsplit(handler.path).path.removeprefix("/api/")
        # Outside the fake's lock: a held or slow call never stalls the others.
        wait = self._delays.get(method, self._delays.get("*", 0.0))
        if wait:
            time.sleep(wait)
        hold = self._holds.get(method)
        if hold is not None:
            hold.wait()
        try:
            super()._dispatch(handler)
        except _Drop:
            handler.close_connection = True  # nothing written: the client sees it drop

    @property
    def api_url(self) -> str:
        """The base URL to hand to WebClient."""
        return f"{self.url}/api/"

    def add_user(self, uid: str, real_name: str) -> None:
        """A workspace member."""
        self.users[uid] = {"id": uid, "name": real_name.split()[0].lower(),
                           "real_name": real_name,
                           "profile": {"real_name": real_name, "display_name": real_name}}

    def post(self, channel: str, text: str, *, user: str, thread_ts: str | None = None
             ) -> str:
        """Seed a message (a customer's) and return its ts."""
        return self._post(channel, {"text": text, "user": user, "thread_ts": thread_ts})["ts"]

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts:.6f}"

    def _post(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        msg = {"type": "message", "ts": ts, "user": args.get("user", BOT_USER),
               "text": args.get("text", ""), "blocks": blocks or [],
               "thread_ts": args.get("thread_ts") or None, "metadata": metadata}
        if "user" not in args:  # posted by the app: Slack marks a bot's message so
            msg["bot_id"] = "B1"
        self.messages.setdefault(channel, []).append(msg)
        return msg

    def posted(self, method: str) -> list[dict[str, Any]]:
        """The arguments of each call to a Web API method."""
        return [self.args(r) for r in self.calls(path=f"/api/{method}")]

    @staticmethod
    def args(req: Request) -> dict[str, Any]:
        """A call's arguments, wherever the client put them."""
        out = {k: v[0] for k, v in req.query.items()}
        if isinstance(req.body, dict):
            out.update(req.body)
        return out

    def route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """Slack's answers."""
        method = req.path.removeprefix("/api/")
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method"}, {}
        answer = handler(self.args(req))
        if self._after_apply.get(method):
            outcome = self._after_apply[method].pop(0)
            if outcome == "drop":
                raise _Drop
            return int(outcome), {"ok": False, "error": "bad_gateway"}, {}
        return 200, answer, {}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "sidekick",
                "team_id": "T1", "user_id": BOT_USER, "bot_id": "B1",
                "is_enterprise_install": False}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        msg = self._post(args["channel"], args)
        return {"ok": True, "channel": args["channel"], "ts": msg["ts"], "message": msg}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        for msg in self.messages.get(args["channel"], []):
            if msg["ts"] == args["ts"]:
                msg["text"] = args.get("text", msg["text"])
                msg["blocks"] = args.get("blocks", msg["blocks"])
                return {"ok": True, "channel": args["channel"], "ts": args["ts"],
                        "text": msg["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        self.views.append(view)
        return {"ok": True, "view": {**view, "id": f"V{len(self.views)}"}}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        msgs = self.messages.get(args.get("channel", ""), [])
        ts = args.get("ts")
        root = next((m for m in msgs if m["ts"] == ts), None)
        if root is None:
            return {"ok": False, "error": "thread_not_found"}
        if root.get("thread_ts") and root["thread_ts"] != ts:
            return {"ok": True, "messages": [root], "has_more": False}  # a reply alone
        thread = [root] + [m for m in msgs if m.get("thread_ts") == ts and m is not root]
        include_md = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        out = [{k: v for k, v in m.items() if include_md or k != "metadata"} for m in thread]
        return {"ok": True, "messages": out, "has_more": False}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        msgs = self.messages.get(args.get("channel", ""), [])
        top = [m for m in reversed(msgs) if not m.get("thread_ts")][: int(args.get("limit", 100))]
        include_md = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        out = [{k: v for k, v in m.items() if include_md or k != "metadata"} for m in top]
        return {"ok": True, "messages": out, "has_more": False}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
