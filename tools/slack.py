"""Slack's Web API through slack_sdk: the client factory and the few calls Sidekick makes.

Slack-sourced tickets carry their thread in the id (`slack-C123-1700000000.000100`), so the
delivery channel knows where to reply without a lookup. Replies Sidekick posts carry Slack
message metadata (`sidekick_delivery` with the idempotency key): a retry after a crash reads
the thread and finds the reply it already posted.

The client retries what Slack asks it to (429, honouring `Retry-After`) on every method, and
server errors and dropped connections only on methods that cannot repeat an effect (reads,
`chat.update`). A `chat.postMessage` that failed that way may have landed: `post_once` reads
the thread again for its key before it posts again.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

log = logging.getLogger(__name__)

ID_PREFIX = "slack-"
METADATA_EVENT = "sidekick_delivery"
_ID = re.compile(r"^slack-([A-Z0-9]+)-(\d+\.\d+)$")
#: Retries of one call: on 429 (each after its Retry-After), on a 5xx or a dropped connection.
RATE_LIMIT_RETRIES, SERVER_ERROR_RETRIES = 4, 2
#: Methods whose repetition changes nothing: reads, and the edit of a message by its ts.
_IDEMPOTENT = ("auth.test", "conversations.history", "conversations.replies", "users.info",
               "chat.update")
#: How many times `post_once` looks and posts when a post may have landed.
POST_ATTEMPTS = 3


def _idempotent(request: HttpRequest) -> bool:
    return urlsplit(request.url).path.rsplit("/", 1)[-1] in _IDEMPOTENT


class IdempotentServerErrorRetryHandler(ServerErrorRetryHandler):
    """slack_sdk's server-error retry, on any 5xx, for idempotent methods only."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None
                   ) -> bool:
        return _idempotent(request) and response is not None and response.status_code >= 500


class IdempotentConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retry, for idempotent methods only.

    TRICKY: the default client retries a dropped connection on every method, so a
    `chat.postMessage` whose answer was lost posts twice; `post_once` retries it instead,
    after reading the thread again.
    """

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None
                   ) -> bool:
        return _idempotent(request) and super()._can_retry(
            state=state, request=request, response=response, error=error)


def retry_handlers() -> list[RetryHandler]:
    """The client's retries: 429 everywhere (Slack applied nothing), the rest on reads."""
    return [RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            IdempotentServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
            IdempotentConnectionErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES)]


def make_slack_client(settings: Any) -> WebClient:
    """A WebClient from process settings (`slack_bot_token`, `slack_api_url`)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if settings.slack_api_url:
        return WebClient(token=token, base_url=settings.slack_api_url,
                         retry_handlers=retry_handlers())
    return WebClient(token=token, retry_handlers=retry_handlers())


def escape(text: object) -> str:
    """`text` as Slack shows it literally in mrkdwn: `&`, `<` and `>` escaped (None: "")."""
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: object) -> str | None:
    """`url` when it is an absolute http(s) URL with a host and no spaces; else None."""
    if not isinstance(url, str) or not url or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def link(url: object, label: object) -> str:
    """A mrkdwn link `<url|label>` for a safe URL; the escaped label alone otherwise."""
    target = safe_url(url)
    if target is None:
        return escape(label)
    # `|` ends the target in Slack's syntax: percent-encode it, as a browser would.
    return f"<{escape(target).replace('|', '%7C')}|{escape(label)}>"


def slack_ticket_id(channel: str, thread_ts: str) -> str:
    """The ticket id of a Slack thread."""
    return f"{ID_PREFIX}{channel}-{thread_ts}"


def parse_slack_ticket_id(ticket_id: str) -> tuple[str, str] | None:
    """`slack-C1-17.0001` -> (channel, thread_ts); None for other tickets."""
    match = _ID.match(ticket_id)
    return (match.group(1), match.group(2)) if match else None


def thread_messages(client: WebClient, channel: str, ts: str) -> list[dict[str, Any]]:
    """The whole thread `ts` belongs to (its root first), metadata included."""
    first = client.conversations_replies(channel=channel, ts=ts, include_all_metadata=True)
    messages = first["messages"]
    root_ts = messages[0].get("thread_ts") if messages else None
    if root_ts and root_ts != ts:  # `ts` is a reply: read its thread from the root
        messages = client.conversations_replies(
            channel=channel, ts=root_ts, include_all_metadata=True)["messages"]
    return messages


def user_name(client: WebClient, user_id: str | None) -> str | None:
    """A member's real name (or handle); None when unknown."""
    if not user_id:
        return None
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError:  # a deleted user, a guest from another workspace: no name
        return None
    profile = user.get("profile") or {}
    return profile.get("real_name") or user.get("real_name") or user.get("name")


def find_delivery(messages: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The message in `messages` that Sidekick posted under idempotency `key`, if any."""
    for msg in messages:
        metadata = msg.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT and \
                (metadata.get("event_payload") or {}).get("key") == key:
            return msg
    return None


def _recent(client: WebClient, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
    if thread_ts:
        return thread_messages(client, channel, thread_ts)
    return client.conversations_history(
        channel=channel, limit=100, include_all_metadata=True)["messages"]


def _may_have_landed(exc: Exception) -> bool:
    """A 5xx, a dropped connection or a timeout: Slack may have posted before failing."""
    if isinstance(exc, SlackApiError):
        return exc.response is not None and exc.response.status_code >= 500
    return isinstance(exc, OSError)  # URLError, ConnectionResetError, TimeoutError


def post_once(client: WebClient, channel: str, text: str, *, key: str,
              thread_ts: str | None = None, blocks: list[dict[str, Any]] | None = None,
              plain: bool = True) -> dict[str, Any]:
    """Post `text` (in a thread) unless a message with this key is already there: channel, ts.

    A thread is read whole; for a top-level post the channel's latest 100 messages are read,
    before the post and again before each retry of a post that may have landed. `text` is
    plain text (escaped here) unless `plain` is False (mrkdwn the caller escaped).
    """
    for attempt in range(POST_ATTEMPTS):
        found = find_delivery(_recent(client, channel, thread_ts), key)
        if found is not None:
            return {"channel": channel, "ts": found["ts"], "already_posted": True}
        try:
            response = client.chat_postMessage(
                channel=channel, text=escape(text) if plain else text, thread_ts=thread_ts,
                blocks=blocks, unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}})
        except (SlackApiError, OSError) as exc:
            if attempt == POST_ATTEMPTS - 1 or not _may_have_landed(exc):
                raise
            log.warning("chat.postMessage to %s failed (%s); looking again before a retry",
                        channel, type(exc).__name__)
            time.sleep(0.5 * 2 ** attempt)
            continue
        return {"channel": channel, "ts": response["ts"], "already_posted": False}
    raise AssertionError("unreachable")  # the loop returns or raises


_CONTROL = re.compile(r"<([^<>]*)>")


def _spelled(match: re.Match[str]) -> str:
    """One of Slack's control sequences as a person reads it."""
    target, _, label = match.group(1).partition("|")
    if target[:1] in ("@", "#"):  # <@U123>, <@U123|ada>, <#C1|general>
        return target[0] + label if label else target
    if target.startswith("!"):  # <!here>, <!subteam^S1|@team>
        return label or "@" + target[1:].split("^")[0]
    return f"{label} ({target})" if label and label != target else target


def plain_text(text: str) -> str:
    """A Slack message's `text` as the person wrote it: links, mentions and `&lt;` spelled out.

    Slack sends what a person typed escaped and their links and mentions as `<...>`; kept
    as they are, the ticket would carry Slack's syntax to every other surface (and an
    escaped `&lt;` would be escaped again when the ticket is shown in Slack).
    """
    spelled = _CONTROL.sub(_spelled, text)
    return spelled.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def ticket_from_thread(client: WebClient, channel: str, messages: list[dict[str, Any]], *,
                       cs_escalated: bool = False) -> dict[str, Any]:
    """A Ticket-contract dict from a Slack thread (its root first); bots' messages left out."""
    root = messages[0]
    people = [m for m in messages if not m.get("bot_id") and m.get("subtype") is None] or [root]
    first_line = plain_text(root.get("text") or "").strip().splitlines() or [""]
    return {
        "id": slack_ticket_id(channel, root.get("thread_ts") or root["ts"]),
        "source": "slack",
        "subject": first_line[0][:200] or None,
        "body": "\n\n".join(plain_text(m.get("text") or "").strip() for m in people) or None,
        "requester": {"name": user_name(client, root.get("user"))},
        "cs_escalated": cs_escalated,
        "tags": ["slack", f"channel:{channel}"],
    }
