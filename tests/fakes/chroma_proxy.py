"""A gateway in front of the real Chroma server, as a deployment puts one for auth.

`chroma run` has no auth of its own; a team that shares one puts a reverse proxy in front
that wants a bearer token. This one forwards every request to the real server and answers
what it answered, after checking `Authorization: Bearer <token>` (401 as a proxy does, with
no upstream call) and the extra headers it is told to want. `FakeServer`'s scripting gives
the slow and dropped answers; `requests` records what the client sent.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from fakes.http_base import FakeServer, Request


class ChromaProxy(FakeServer):
    """Forwards to `upstream` (a real Chroma server) once the request is authorized."""

    def __init__(self, upstream: str, *, token: str, headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.token = token
        self.wanted = {k.lower(): v for k, v in (headers or {}).items()}
        self._http = httpx.Client(timeout=30.0)

    def route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        authorized = req.headers.get("authorization") == f"Bearer {self.token}"
        if not authorized or any(req.headers.get(k) != v for k, v in self.wanted.items()):
            return 401, {"error": "Unauthorized", "message": "missing or wrong credentials"}, {}
        body = req.body if isinstance(req.body, str) else json.dumps(req.body)
        answer = self._http.request(req.method, self.upstream + req.path, params=req.query,
                                    content=body.encode() if body else None,
                                    headers={"Content-Type": "application/json"})
        return answer.status_code, answer.json() if answer.content else None, {}

    def stop(self) -> None:
        """Stop serving and close the upstream connection."""
        super().stop()
        self._http.close()
