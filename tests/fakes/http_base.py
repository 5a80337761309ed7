"""The shared machinery of the fake servers: a real HTTP server on 127.0.0.1 that records
every request and can be scripted to fail the next N requests (429 with Retry-After, 500).

Each fake (Zendesk, Slack, GitHub) subclasses `FakeServer` and implements `route()`.
"""

from __future__ import annotations

import json
import threading
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

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path_contains: str = ""


class FakeServer:
    """Subclasses implement `route(req) -> (status, body, headers)`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting ---------------------------------------------------------------------------
    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None,
                  body: Any = None, path_contains: str = "") -> None:
        """The next `times` requests (whose path contains `path_contains`) get `status`."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.failures.append(Failure(status, headers, body, path_contains))

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
            failure = next((f for f in self.failures if f.path_contains in req.path), None)
            if failure is not None:
                self.failures.remove(failure)
        if failure is not None:
            status, payload, headers = failure.status, failure.body or {"error": "scripted"}, \
                failure.headers
        else:
            with self._lock:
                status, payload, headers = self.route(req)
        data = json.dumps(payload).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """Answer one request (called with the fake's lock held)."""
        raise NotImplementedError
