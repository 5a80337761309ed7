"""The API's front door: a bearer token and a bounded body before any route reads the body.

An ASGI middleware, so it runs before FastAPI reads (and parses) anything:

1. On the bearer-token routes (`/tickets`, `/queue`, `/drafts`) a request without a valid
   token is answered 401 without reading a byte of its body.
2. On every route, the Slack and Zendesk ones too (they authenticate by a signature over
   the body, so they must read it first), a `Content-Length` above
   `SIDEKICK_API_MAX_BODY_BYTES` is answered 413 at once, and a body without one (chunked)
   is read up to that size and answered 413 as soon as it goes over. The route then reads
   the buffered body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from app.api.deps import token_ok

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _answer(send: Send, status: int, detail: str,
                  headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body})


class FrontDoor:
    """Token first, then a body of at most `max_body_bytes`, for every HTTP request."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, tokens: tuple[str, ...],
                 protected: tuple[str, ...]) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes
        self.tokens, self.protected = tokens, protected

    def _needs_token(self, path: str) -> bool:
        return bool(self.tokens) and any(
            path == prefix or path.startswith(prefix + "/") for prefix in self.protected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse early (401, 413, 400) or hand the request on with its body buffered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        if self._needs_token(scope.get("path", "")):
            scheme, _, given = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token_ok(given.strip(), self.tokens):
                await _answer(send, 401, "missing or invalid bearer token",
                              ((b"www-authenticate", b"Bearer"),))
                return
        limit = self.max_body_bytes
        length = headers.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _answer(send, 400, "Content-Length must be a number of bytes")
                return
            if int(length) > limit:
                await _answer(send, 413, self._too_large())
                return
        body = await self._read(receive)
        if body is None:
            await _answer(send, 413, self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return (f"request body larger than {self.max_body_bytes} bytes "
                "(SIDEKICK_API_MAX_BODY_BYTES)")

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it exceeds the limit (the rest is not read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then what the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
