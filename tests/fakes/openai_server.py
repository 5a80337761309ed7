"""A local OpenAI-compatible Chat Completions server, scripted by the test that runs it.

It is a real HTTP server (stdlib, 127.0.0.1, a free port, a background thread), so the real
`openai` client exercises its own wire format, retries and timeouts against it. Each request
pops the next scripted `Reply`; when the queue is empty the `default` reply is used (a 418,
which nothing retries, so a test that under-scripts fails loudly).

The refusals are the real servers' own bodies (their source: llama.cpp's
`tools/server/server-common.cpp` `format_error_response` and `server-context.cpp`;
llama-cpp-python's `llama_cpp/server/errors.py`, which turns any exception, the request's
pydantic validation included, into a 500):

- `llama_cpp_python_schema_refusal()`: the 500 llama-cpp-python answers to `json_schema`;
- `llama_server_context_overflow(n_prompt, n_ctx)`: llama.cpp's 400 for a long prompt;
- `llama_cpp_python_context_overflow(...)`: llama-cpp-python's OpenAI-style 400;
- `Reply(finish_reason="length")`: an answer cut at `max_tokens`; `delay_s`: a slow one;
- `dropped_reply()`: the request was read (and the tokens spent) but the connection closes
  with no answer, as a proxy or a crashed worker does; `status_reply(429)` / `(502)`: the
  rate limit with Retry-After, the gateway error.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

#: The retry delay the fake asks for. TRICKY: the SDK treats `Retry-After: 0` as "no hint"
#: and falls back to 0.5 s exponential backoff; a small positive (non-standard, float) value
#: is honoured as is, which keeps retry tests fast.
FAST_RETRY_AFTER = "0.01"


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    content: str | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 11
    completion_tokens: int = 7
    finish_reason: str = "stop"
    #: The error body of a non-200 reply (default: an OpenAI-style one naming the status).
    error: dict[str, Any] | None = None
    #: Close the connection without a status line (the answer is lost on the way back).
    drop: bool = False


def json_reply(obj: Any, **kwargs: Any) -> Reply:
    """A 200 whose assistant message is `obj` as JSON."""
    return Reply(content=json.dumps(obj), **kwargs)


def text_reply(text: str, **kwargs: Any) -> Reply:
    """A 200 whose assistant message is `text` verbatim (e.g. malformed JSON)."""
    return Reply(content=text, **kwargs)


def draft_reply(body: str, *, internal_note: str = "Checked the docs.",
                status_after: str = "solved", citations: tuple[str, ...] = ()) -> Reply:
    """A 200 with a well-formed draft (the engine's `LLMDraft` schema) whose body is `body`."""
    return json_reply({"body": body, "internal_note": internal_note,
                       "status_after": status_after, "citations": list(citations)})


#: Draft bodies SmolLM2-135M really answered through llama.cpp (issue #16): valid JSON,
#: valid schema, and nothing a customer should read.
DEGENERATE_BODIES = {"field name": "body", "bare number": "1", "template word": "TICKET",
                     "signature placeholder": "Your Name"}


def dropped_reply() -> Reply:
    """The request is read, then the connection closes without an answer."""
    return Reply(drop=True)


def status_reply(status: int, *, retry_after: str | None = FAST_RETRY_AFTER) -> Reply:
    """An error status with an OpenAI-style error body (and a Retry-After header)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status=status, headers=headers)


def llama_cpp_python_schema_refusal() -> Reply:
    """llama-cpp-python's answer to `response_format: json_schema`: its request model knows
    only `text` and `json_object`, and its route handler turns the validation error into a 500.
    """
    message = ("[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
               "'ctx': {'expected': \"'text' or 'json_object'\"}}]")
    return Reply(status=500, error={"message": message, "type": "internal_server_error",
                                    "param": None, "code": None})


def llama_server_context_overflow(n_prompt_tokens: int, n_ctx: int) -> Reply:
    """llama.cpp's `llama-server` when the prompt does not fit its context."""
    message = (f"request ({n_prompt_tokens} tokens) exceeds the available context size "
               f"({n_ctx} tokens), try increasing it")
    return Reply(status=400, error={"code": 400, "message": message,
                                    "type": "exceed_context_size_error",
                                    "n_prompt_tokens": n_prompt_tokens, "n_ctx": n_ctx})


def llama_cpp_python_context_overflow(n_prompt_tokens: int, n_ctx: int, max_tokens: int
                                      ) -> Reply:
    """llama-cpp-python's OpenAI-style 400 for a prompt longer than its context."""
    message = (f"This model's maximum context length is {n_ctx} tokens. However, you requested "
               f"{n_prompt_tokens + max_tokens} tokens ({n_prompt_tokens} in the messages, "
               f"{max_tokens} in the completion). Please reduce the length of the messages "
               "or completion.")
    return Reply(status=400, error={"message": message, "type": "invalid_request_error",
                                    "param": "messages", "code": "context_length_exceeded"})


def llama_server_grammar_refusal() -> Reply:
    """llama.cpp's `llama-server` when it cannot turn a schema into a grammar."""
    return Reply(status=400, error={"code": 400, "type": "invalid_request_error",
                                    "message": "JSON schema conversion failed:\n"
                                    "Unresolved $ref #/$defs/Missing"})


@dataclass
class Recorded:
    """A request the fake received."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]
    received_at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent."""
        return self.body.get("messages", [])

    def content(self, role: str) -> str:
        """All message contents with this role, joined."""
        return "\n".join(m.get("content") or "" for m in self.messages if m.get("role") == role)


class FakeOpenAI:
    """The server. Use as a context manager or call `start()` / `stop()`."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        #: Replies for requests whose `json_schema` has this name, before the general queue:
        #: a test scripts the draft without knowing whether a classification call comes first.
        self.by_schema: dict[str, deque[Reply]] = {}
        self.default = status_reply(418, retry_after=None)
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The `/v1` URL to give the client."""
        assert self._server is not None, "the fake is not started"
        # Bound to 127.0.0.1 in `start`; only the port is chosen by the OS.
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def push(self, *replies: Reply) -> None:
        """Queue replies, served in order."""
        with self._lock:
            self.replies.extend(replies)

    def push_for(self, schema_name: str, *replies: Reply) -> None:
        """Queue replies for requests asking for the JSON schema `schema_name`."""
        with self._lock:
            self.by_schema.setdefault(schema_name, deque()).extend(replies)

    def always(self, reply: Reply) -> None:
        """Serve `reply` whenever the queue is empty."""
        self.default = reply

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            fmt = recorded.body.get("response_format") or {}
            scripted = self.by_schema.get((fmt.get("json_schema") or {}).get("name", ""))
            if scripted:
                return scripted.popleft()
            return self.replies.popleft() if self.replies else self.default

    def start(self) -> FakeOpenAI:
        """Listen on a free port in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: `shutdown()` waits up to one interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed replies still sleeping are woken and dropped."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def completion(content: str | None, reply: Reply, model: str) -> dict[str, Any]:
    """The Chat Completions response body."""
    return {
        "id": f"chatcmpl-fake-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": reply.finish_reason,
        }],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep pytest output clean

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = fake._next(Recorded(self.path, headers, body))
            if reply.delay_s and fake._stopping.wait(reply.delay_s):
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                reply = Reply(status=404)
            if reply.drop:
                self.close_connection = True  # no status line, no headers: a dropped socket
                return
            if reply.status == 200:
                payload = completion(reply.content, reply, body.get("model", "fake"))
            else:
                payload = {"error": reply.error or {"message": f"fake error {reply.status}",
                                                    "type": "fake_error",
                                                    "code": str(reply.status)}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up: that is the point of a delay

    return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started fake server, stopped after the test."""
    with FakeOpenAI() as server:
        yield server
