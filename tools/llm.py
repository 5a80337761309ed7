"""The LLM client: any OpenAI-compatible Chat Completions endpoint, through the `openai` SDK.

`openai` is imported inside the functions, never at module level: an offline run must not pay
for importing it (cold start), and must work where it is not installed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

#: Sent when no key is configured: a local server (Ollama, vLLM) ignores it, but the SDK
#: refuses to build a client without one.
PLACEHOLDER_API_KEY = "sk-no-key-required"


class LLMCallError(Exception):
    """The endpoint could not answer: timeout, connection error or an HTTP error status.

    Raised after the SDK's own retries are spent. Its message is safe to show the hero: it
    names the error type and status, never the request headers (the API key).
    """


@dataclass(frozen=True)
class ChatUsage:
    """Tokens one successful call spent (zeros when the server does not report them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


def make_client(
    *, base_url: str | None, api_key: str | None, timeout_s: float, max_retries: int
) -> openai.OpenAI:
    """Build the SDK client. Retries and timeouts are the SDK's, not ours.

    The SDK retries 408, 409, 429 and 5xx responses and connection errors with exponential
    backoff, honouring `Retry-After` / `retry-after-ms` when the server sends them.

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


def chat_json(
    client: openai.OpenAI,
    *,
    model: str,
    messages: list[dict[str, str]],
    schema_name: str,
    json_schema: dict[str, Any],
) -> tuple[str, ChatUsage]:
    """One chat completion that should answer with a JSON object matching `json_schema`.

    The content is returned unparsed: validating it is the caller's business (and its repair
    loop's). A server that rejects `json_schema` with a 400 is asked once more with the older
    `json_object` mode; the prompt must then describe the keys itself.

    Args:
        client: A client from `make_client`.
        model: The model name.
        messages: Chat messages (`role`, `content`).
        schema_name: A short name for the schema (letters, digits, `_`, `-`).
        json_schema: The JSON schema of the expected object.

    Returns:
        The message content (empty when the model refused) and the tokens spent.

    Raises:
        LLMCallError: On a timeout, a connection error or an error status after the retries.

    """
    import openai

    # Plain dicts, not the SDK's TypedDicts: callers (and tests) build messages as data.
    sdk_messages: Any = messages
    schema_format: Any = json_schema_format(schema_name, json_schema)
    object_format: Any = {"type": "json_object"}
    try:
        try:
            response = client.chat.completions.create(
                model=model, messages=sdk_messages, response_format=schema_format
            )
        except openai.BadRequestError as exc:
            # TRICKY: older vLLM/Ollama builds and some proxies know only `json_object`.
            log.info("json_schema rejected (%s); retrying with json_object", exc.status_code)
            response = client.chat.completions.create(
                model=model, messages=sdk_messages, response_format=object_format
            )
    except openai.APITimeoutError as exc:
        raise LLMCallError("timeout") from exc
    except openai.APIStatusError as exc:
        raise LLMCallError(f"HTTP {exc.status_code} ({type(exc).__name__})") from exc
    except openai.APIError as exc:
        # Connection errors and responses the SDK could not parse.
        raise LLMCallError(type(exc).__name__) from exc
    usage = response.usage
    tokens = ChatUsage(
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )
    content = response.choices[0].message.content if response.choices else None
    return content or "", tokens
