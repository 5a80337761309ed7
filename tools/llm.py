"""The LLM client: any OpenAI-compatible Chat Completions endpoint, through the `openai` SDK.

`openai` is imported inside the functions, never at module level: an offline run must not pay
for importing it (cold start), and must work where it is not installed.

Real servers differ in how they refuse what they cannot do, so this module reads their
answers, not only their status codes:

- a schema they cannot enforce: llama.cpp's `llama-server` answers 400 naming the schema or
  the grammar, `llama-cpp-python`'s server 500 naming `response_format`, others 422. The call
  steps down to `json_object` with the schema (both llama.cpp servers enforce it), then to
  plain `json_object` with the schema in the prompt, and the client remembers the step;
- a prompt longer than the context: a 400 naming the context (`exceed_context_size_error`,
  `context_length_exceeded`), raised as `ContextLengthError` so the caller shrinks the
  prompt; it is never mistaken for a refused schema;
- a slow server: a timeout is not retried (the same prompt would be as slow again); 429, 5xx
  and dropped connections are retried with backoff, `Retry-After` honoured, all inside the
  caller's deadline.

Every attempt is counted in `ChatUsage`, failed or not.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

#: Sent when no key is configured: a local server (Ollama, vLLM) ignores it, but the SDK
#: refuses to build a client without one.
PLACEHOLDER_API_KEY = "sk-no-key-required"
#: How much of a server's own error message a warning quotes.
SERVER_MESSAGE_CHARS = 160
#: Backoff before a retry when the server sends no Retry-After (doubles each time).
BACKOFF_S = 0.5
#: The longest Retry-After honoured; a longer one ends the call (the ticket falls back).
MAX_RETRY_AFTER_S = 20.0

#: What `response_format` asks for, from the strictest to the most widely understood.
FORMATS = ("json_schema", "json_object+schema", "json_object")

_CONTEXT_WORDS = re.compile(
    r"exceed_context_size|context_length_exceeded|context (size|length|window)"
    r"|maximum context|too many tokens|prompt is too long", re.IGNORECASE)
_SCHEMA_WORDS = re.compile(r"response_format|json_schema|schema|grammar", re.IGNORECASE)
_SECRET = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+\S+|api[_-]?key\S*)", re.IGNORECASE)
_N_CTX = re.compile(r"context (?:size|length|window)(?: is| of)? \(?(\d+)", re.IGNORECASE)
_N_CTX_ALT = re.compile(r"maximum context length is (\d+)", re.IGNORECASE)
_N_PROMPT = re.compile(r"\((\d+) tokens\)|requested (\d+) tokens|Requested tokens \((\d+)\)",
                       re.IGNORECASE)


class LLMCallError(Exception):
    """The endpoint could not answer: timeout, connection error, an HTTP error status.

    Raised after the retries are spent. Its message is safe to show the hero: it names the
    error and quotes the server's own message with anything key-like removed, never the
    request headers. `usage` holds what the failed attempts cost.
    """

    def __init__(self, message: str, usage: ChatUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage or ChatUsage()


class ContextLengthError(LLMCallError):
    """The prompt (plus `max_tokens`) does not fit the server's context window.

    `n_ctx` and `n_prompt_tokens` are the server's numbers when it said them (llama.cpp's
    server does in the error body), else None.
    """

    def __init__(self, message: str, *, n_ctx: int | None, n_prompt_tokens: int | None,
                 usage: ChatUsage | None = None) -> None:
        super().__init__(message, usage)
        self.n_ctx = n_ctx
        self.n_prompt_tokens = n_prompt_tokens


@dataclass
class ChatUsage:
    """What calls cost: requests sent and tokens (zeros when the server does not say)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: ChatUsage) -> None:
        """Add `other` into this one."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


@dataclass
class ChatAnswer:
    """A completed call: the content (unparsed), why generation stopped, what it cost."""

    content: str
    finish_reason: str | None
    usage: ChatUsage = field(default_factory=ChatUsage)

    @property
    def truncated(self) -> bool:
        """Whether generation stopped at `max_tokens` (the content is probably cut off)."""
        return self.finish_reason == "length"


@dataclass
class Wire:
    """How one endpoint is spoken to: remembered across calls so a refusal costs once."""

    format_step: int = 0

    @property
    def format(self) -> str:
        """The `response_format` step in use."""
        return FORMATS[self.format_step]


def make_client(
    *, base_url: str | None, api_key: str | None, timeout_s: float, max_retries: int
) -> openai.OpenAI:
    """Build the SDK client. Its timeout and retry count are the ones `chat_json` uses.

    TRICKY: the SDK retries timeouts like any other failure, so one 30 s timeout became two
    minutes. `chat_json` turns the SDK's retries off for each request and retries itself,
    timeouts excepted, inside a deadline, `max_retries` times at most.

    Args:
        base_url: The endpoint's `/v1` URL; None means api.openai.com.
        api_key: The key; None for a local server that needs none.
        timeout_s: Per-request timeout in seconds (connect and read).
        max_retries: Retries after the first attempt; 0 disables them.

    Returns:
        An `openai.OpenAI` client.

    """
    import openai

    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key or PLACEHOLDER_API_KEY,
        timeout=timeout_s,
        max_retries=max_retries,
    )


def json_schema_format(schema_name: str, json_schema: dict[str, Any]) -> dict[str, Any]:
    """Return the `response_format` asking for output that matches `json_schema`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name, "schema": json_schema, "strict": True},
    }


def response_format(step: str, schema_name: str, json_schema: dict[str, Any]) -> dict[str, Any]:
    """The `response_format` of one step of `FORMATS`."""
    if step == "json_schema":
        return json_schema_format(schema_name, json_schema)
    if step == "json_object+schema":
        # llama.cpp's server and llama-cpp-python enforce this schema by grammar.
        return {"type": "json_object", "schema": json_schema}
    return {"type": "json_object"}


def with_schema_in_prompt(messages: list[dict[str, str]], json_schema: dict[str, Any]
                          ) -> list[dict[str, str]]:
    """Append the schema to the system message, for servers that cannot enforce it."""
    note = ("\n\nThe JSON object must match this JSON schema:\n"
            + json.dumps(json_schema, separators=(",", ":")))
    if messages and messages[0].get("role") == "system":
        return [{**messages[0], "content": messages[0]["content"] + note}, *messages[1:]]
    return [{"role": "system", "content": note.strip()}, *messages]


def server_message(exc: Exception, secret: str | None = None) -> str:
    """The server's own error message, one line, short, with anything key-like removed."""
    body = getattr(exc, "body", None)
    message: Any = None
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
    if not message:
        message = getattr(exc, "message", "") or str(exc)
    text = " ".join(str(message).split())
    if secret:
        text = text.replace(secret, "[key]")
    text = _SECRET.sub("[key]", text)
    return text[:SERVER_MESSAGE_CHARS] + ("…" if len(text) > SERVER_MESSAGE_CHARS else "")


def _error_fields(exc: Exception) -> tuple[str, str]:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", str(body or "")
    kind = " ".join(str(error.get(k) or "") for k in ("type", "code"))
    return kind, str(error.get("message") or "")


def is_context_error(exc: Exception) -> bool:
    """Whether an error status says the prompt does not fit the context window."""
    kind, message = _error_fields(exc)
    return getattr(exc, "status_code", None) in (400, 413, 422, 500) and bool(
        _CONTEXT_WORDS.search(f"{kind} {message}"))


def is_schema_refusal(exc: Exception) -> bool:
    """Whether an error status says the server cannot do the `response_format` asked for."""
    status = getattr(exc, "status_code", None)
    if status not in (400, 422, 500, 501) or is_context_error(exc):
        return False
    kind, message = _error_fields(exc)
    return bool(_SCHEMA_WORDS.search(message)) or (status == 400 and not message)


def _context_numbers(exc: Exception) -> tuple[int | None, int | None]:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else {}
    error = error if isinstance(error, dict) else {}
    _kind, message = _error_fields(exc)
    n_ctx = error.get("n_ctx")
    n_prompt = error.get("n_prompt_tokens")
    if n_ctx is None:
        found = _N_CTX.search(message) or _N_CTX_ALT.search(message)
        n_ctx = int(found.group(1)) if found else None
    if n_prompt is None:
        found = _N_PROMPT.search(message)
        n_prompt = int(next(g for g in found.groups() if g)) if found else None
    return (int(n_ctx) if n_ctx else None), (int(n_prompt) if n_prompt else None)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:
            return None  # an HTTP date: rare from model servers; use the backoff
    return None


def _retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    status = getattr(exc, "status_code", None)
    return status in (408, 409, 429) or (status is not None and status >= 500)


def _describe(exc: Exception, secret: str | None) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIStatusError):
        quoted = server_message(exc, secret)
        return f"HTTP {exc.status_code} ({type(exc).__name__})" + (
            f": {quoted}" if quoted else "")
    return type(exc).__name__


def chat_json(
    client: openai.OpenAI,
    *,
    model: str,
    messages: list[dict[str, str]],
    schema_name: str,
    json_schema: dict[str, Any],
    max_tokens: int | None = None,
    temperature: float | None = None,
    deadline: float | None = None,
    max_retries: int | None = None,
    wire: Wire | None = None,
    secret: str | None = None,
) -> ChatAnswer:
    """One chat completion that should answer with a JSON object matching `json_schema`.

    The content is returned unparsed: validating it is the caller's business (and its repair
    loop's), and so is a truncated answer (`ChatAnswer.truncated`).

    Args:
        client: A client from `make_client`.
        model: The model name.
        messages: Chat messages (`role`, `content`).
        schema_name: A short name for the schema (letters, digits, `_`, `-`).
        json_schema: The JSON schema of the expected object.
        max_tokens: The most tokens the answer may take (None: the server's default).
        temperature: Sampling temperature (None: the server's default).
        deadline: `time.monotonic()` after which no request starts and none waits longer;
            each request's timeout is cut to what is left.
        max_retries: Retries of a 429, 5xx or dropped connection (never of a timeout);
            None: the client's `max_retries`.
        wire: The endpoint's remembered `response_format` step; a fresh one if None.
        secret: The API key, removed from any quoted server message.

    Returns:
        The answer, its finish reason and what every attempt cost.

    Raises:
        ContextLengthError: The prompt does not fit; the caller should shrink it.
        LLMCallError: On a timeout, a connection error, an error status after the retries,
            or the deadline; its `usage` holds what the attempts cost.

    """
    import openai

    wire = wire or Wire()
    usage = ChatUsage()
    retries, most = 0, client.max_retries if max_retries is None else max_retries
    sdk = client.with_options(max_retries=0)
    while True:
        step = wire.format
        sent: Any = messages if step != "json_object" else with_schema_in_prompt(
            messages, json_schema)
        fmt: Any = response_format(step, schema_name, json_schema)
        extra: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0.05:
                raise LLMCallError("time budget for the ticket spent", usage)
            # The client's own timeout, cut to what the ticket has left.
            own = client.timeout if isinstance(client.timeout, float | int) else left
            extra["timeout"] = min(float(own), left)
        if temperature is not None:
            extra["temperature"] = temperature
        usage.calls += 1
        try:
            response = sdk.chat.completions.create(
                model=model, messages=sent, response_format=fmt, **extra)
        except openai.APIError as exc:
            if isinstance(exc, openai.APIStatusError) and is_context_error(exc):
                n_ctx, n_prompt = _context_numbers(exc)
                raise ContextLengthError(
                    f"prompt too long for the context: {server_message(exc, secret)}",
                    n_ctx=n_ctx, n_prompt_tokens=n_prompt, usage=usage) from exc
            if (isinstance(exc, openai.APIStatusError) and is_schema_refusal(exc)
                    and wire.format_step + 1 < len(FORMATS)):
                wire.format_step += 1
                log.info("%s refused (HTTP %s: %s); trying %s", step, exc.status_code,
                         server_message(exc, secret), wire.format)
                continue
            wait = _retry_after(exc)
            if _retryable(exc) and retries < most and (wait or 0) <= MAX_RETRY_AFTER_S:
                wait = BACKOFF_S * 2**retries if wait is None else wait
                if deadline is None or time.monotonic() + wait < deadline:
                    retries += 1
                    log.info("llm call failed (%s); retry %d in %.2f s",
                             _describe(exc, secret), retries, wait)
                    time.sleep(wait)
                    continue
            raise LLMCallError(_describe(exc, secret), usage) from exc
        spent = response.usage
        usage.prompt_tokens += getattr(spent, "prompt_tokens", 0) or 0
        usage.completion_tokens += getattr(spent, "completion_tokens", 0) or 0
        choice = response.choices[0] if response.choices else None
        content = choice.message.content if choice is not None else None
        return ChatAnswer(content or "", getattr(choice, "finish_reason", None), usage)
