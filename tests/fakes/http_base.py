"""The shared machinery of the fake servers: a real HTTP server on 127.0.0.1 that records
every request and can be scripted to fail the next N requests.

The ways a real service fails, each scriptable per path and method:

- `fail_next(status)`: refused before anything happens (429 with Retry-After, 500, 502);
- `fail_next(status, applied=True)`: the write is APPLIED, then the answer is `status`
  (a gateway timing out in front of a server that did the work);
- `drop_next()`: the connection is closed without an answer (applied, or not);
- `delay_next(seconds)`: the write is applied and the answer comes `seconds` late, so a
  client with a shorter timeout gives up on a write that landed.

Each fake (Zendesk, Slack, GitHub) subclasses `FakeServer` and implements `route()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, a form dict, or the raw text


@dataclass
class Failure:
    """A scripted failure for the next matching request."""

    status: int  # 0: no answer at all (the connection is closed)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path_contains: str = ""
    method: str | None = None  # None: any method
    applied: bool = False  # route() runs (the write lands) before the failure is answered
    delay_s: float = 0.0  # the real answer, this late (with applied=True, status unused)
    body_contains: str = ""  # e.g. '"status"': only the update that sets a status

    def matches(self, req: Request) -> bool:
        """Whether this failure is for `req`."""
        body = req.body if isinstance(req.body, str) else json.dumps(req.body)
        return (self.path_contains in req.path and self.method in (None, req.method)
                and self.body_contains in body)


class FakeServer:
    """Subclasses implement `route(req) -> (status, body, headers)`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting ---------------------------------------------------------------------------
    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None,
                  body: Any = None, path_contains: str = "", method: str | None = None,
                  body_contains: str = "", applied: bool = False) -> None:
        """The next `times` matching requests get `status` (after doing their work if
        `applied`). A request matches if its path contains `path_contains`, its method is
        `method` (any when None) and its body (as JSON text) contains `body_contains`."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.failures.append(Failure(status, headers, body, path_contains, method,
                                         applied, body_contains=body_contains))

    def drop_next(self, *, times: int = 1, path_contains: str = "", method: str | None = None,
                  body_contains: str = "", applied: bool = True) -> None:
        """The next `times` matching requests get no answer: the connection is closed."""
        for _ in range(times):
            self.failures.append(Failure(0, {}, None, path_contains, method, applied,
                                         body_contains=body_contains))

    def delay_next(self, seconds: float, *, times: int = 1, path_contains: str = "",
                   method: str | None = None, body_contains: str = "") -> None:
        """The next `times` matching requests are applied and answered `seconds` late."""
        for _ in range(times):
            self.failures.append(Failure(200, {}, None, path_contains, method, applied=True,
                                         delay_s=seconds, body_contains=body_contains))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """Recorded requests, filtered by method and exact path."""
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and (path is None or r.path == path)]

    # -- the server --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        """Serve on a free port in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        ctype = handler.headers.get("Content-Type", "")
        body: Any = raw
        if raw and "json" in ctype:
            body = json.loads(raw)
        elif raw and "x-www-form-urlencoded" in ctype:
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        req = Request(handler.command, parts.path, parse_qs(parts.query),
                      {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.requests.append(req)
            failure = next((f for f in self.failures if f.matches(req)), None)
            if failure is not None:
                self.failures.remove(failure)
            if failure is None or failure.applied:
                status, payload, headers = self.route(req)
        if failure is not None and failure.delay_s:
            time.sleep(failure.delay_s)  # the work is done; the answer is late
        elif failure is not None and failure.status == 0:
            handler.close_connection = True  # no status line, no headers: a dropped socket
            return
        elif failure is not None:
            status, payload, headers = failure.status, failure.body or {"error": "scripted"}, \
                failure.headers
        self._answer(handler, status, payload, headers)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, payload: Any,
                headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a delayed answer): nothing to answer
    def route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """Answer one request (called with the fake's lock held)."""
        raise NotImplementedError
