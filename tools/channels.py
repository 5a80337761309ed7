"""The real delivery channel: an approved reply becomes Zendesk, GitHub and Slack side effects.

`ChannelOutbox.deliver` satisfies the graph's `Outbox` contract (exactly once per key). Each
side effect has its own idempotency key (`{key}:github`, `:zendesk-comment`, `:status`,
`:slack`, `:cs-note`) recorded in a ledger right after it succeeds, and the whole delivery
is recorded as `{key}:done`; a repeated delivery skips what the ledger holds. The gap
between sending and recording (a crash there) is closed by asking the outside system
first: Zendesk's comments for a comment with our exact body, the GitHub issue list for our
hidden marker, the Slack thread (or channel) for our message metadata.

The payload is the one `agent/nodes/deliver.py` builds (plain dicts; `tools/` never imports
`agent/`). Optional keys it may carry: `kind`, `plan`, `priority`, `ticket_url`, `subject`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient

from tools.github import GitHubClient, issue_number
from tools.slack import parse_slack_ticket_id, post_once
from tools.zendesk import ZendeskClient, zendesk_id

log = logging.getLogger(__name__)

PAYING = ("paid", "enterprise")


class Ledger(Protocol):
    """Where deliveries are recorded: `tools.outbox.LocalOutbox` or the relational store."""

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record `payload` under `key` unless the key is there already."""
        ...

    def deliveries(self, ticket_id: str | None = None) -> list[dict[str, Any]]:
        """Records as dicts with `key` and `payload`."""
        ...


def with_issue_url(body: str, action: str, url: str | None) -> str:
    """The reply with the issue's URL in it (unless the draft already names it)."""
    if not url or url in body:
        return body
    if action == "create":
        return (f"{body.rstrip()}\n\nI've filed this as a GitHub issue, so you can follow "
                f"its progress here: {url}")
    return f"{body.rstrip()}\n\nYou can follow (and +1) the GitHub issue here: {url}"


class ChannelOutbox:
    """Deliver an approved reply on the ticket's real channels, each side effect once."""

    channel = "channels"

    def __init__(self, ledger: Ledger, *, zendesk: ZendeskClient | None = None,
                 github: GitHubClient | None = None, slack: WebClient | None = None,
                 cs_channel: str | None = None,
                 origin_of: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        self.ledger = ledger
        self.zendesk, self.github, self.slack = zendesk, github, slack
        self.cs_channel = cs_channel
        self.origin_of = origin_of

    def _targets(self, ticket_id: str) -> tuple[int | None, tuple[str, str] | None]:
        """The Zendesk ticket and the Slack thread the reply goes to (each maybe None).

        TRICKY: with `origin_of` (what the API wires: the channel recorded at intake) the
        id's shape is never read, since an API client chooses its ids. Without it (a
        caller whose ids all come from its own integration) the id is parsed as before.
        """
        if self.origin_of is None:
            return zendesk_id(ticket_id), parse_slack_ticket_id(ticket_id)
        origin = self.origin_of(ticket_id) or {}
        if origin.get("channel") == "zendesk" and origin.get("zendesk_id") is not None:
            return int(origin["zendesk_id"]), None
        if origin.get("channel") == "slack" and origin.get("thread_ts"):
            return None, (str(origin["slack_channel"]), str(origin["thread_ts"]))
        return None, None

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run every side effect the payload calls for; a repeated key sends nothing again."""
        done = {d["key"]: d["payload"] for d in self.ledger.deliveries(ticket_id)}
        # TRICKY: completion is recorded under `{key}:done`, not `key`, so that a ledger which
        # also wraps this channel (StoreOutbox with a sender reserves `key` before sending)
        # cannot make a half-finished delivery look finished.
        if f"{key}:done" in done:
            first = done[f"{key}:done"]
            return {"key": key, "channel": self.channel, "first_delivery": False,
                    "body": first.get("sent_body"), "results": first.get("results", {})}

        def once(suffix: str, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            sub = f"{key}:{suffix}"
            if sub in done:
                return done[sub]["result"]
            result = send()
            self.ledger.deliver(key=sub, ticket_id=ticket_id, payload={"result": result})
            return result

        results: dict[str, Any] = {}
        body = payload["body"]
        issue = payload.get("issue") or {}
        if self.github and issue.get("action") in ("create", "link"):
            results["github"] = once("github", lambda: self._github(key, ticket_id, payload))
            body = with_issue_url(body, issue["action"], results["github"].get("url"))
        (zid, thread), zendesk = self._targets(ticket_id), self.zendesk
        if zendesk is not None and zid is not None:
            public, status = bool(payload.get("public", True)), payload.get("status_after")
            # TRICKY: a conversation may say the same words twice ("Glad it works!"): only
            # comments newer than the ones earlier turns posted can be this reply.
            floor = max((int(d["result"].get("comment_id") or 0) for k, d in done.items()
                         if k.endswith(":zendesk-comment") and not k.startswith(f"{key}:")
                         and isinstance(d.get("result"), dict)), default=None)
            results["zendesk_comment"] = once(
                "zendesk-comment", lambda: self._zendesk_comment(zid, body, public, floor))
            if status:
                results["status"] = once("status", lambda: zendesk.set_status(zid, status))
        slack, cs = self.slack, self.cs_channel
        if slack is not None and thread:
            results["slack"] = once("slack", lambda: post_once(
                slack, thread[0], body, key=f"{key}:slack", thread_ts=thread[1]))
        if slack is not None and cs and payload.get("kind") == "feature_request" \
                and payload.get("plan") in PAYING:
            results["cs_note"] = once("cs-note", lambda: post_once(
                slack, cs, self._cs_note(ticket_id, payload, results), key=f"{key}:cs-note"))
        record = self.ledger.deliver(key=f"{key}:done", ticket_id=ticket_id,
                                     payload={**payload, "sent_body": body, "results": results})
        return {**record, "key": key, "channel": self.channel, "body": body, "results": results}

    def send(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> str | None:
        """The `Sender` face (app/store/outbox.py): deliver, return the main external URL."""
        results = self.deliver(key=key, ticket_id=ticket_id, payload=payload)["results"]
        for name in ("zendesk_comment", "slack", "github"):
            if results.get(name, {}).get("url"):
                return str(results[name]["url"])
        return None

    def _github(self, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.github is not None
        issue = payload["issue"]
        where = payload.get("ticket_url") or ticket_id
        if issue["action"] == "create":
            made = self.github.create_issue(
                issue.get("title") or f"Request from support ticket {ticket_id}",
                issue.get("body") or "", key=f"{key}:github")
            return {"action": "create", **made}
        number = issue_number(issue.get("url") or "")
        if number is None:
            raise ValueError(f"ticket {ticket_id}: cannot link issue {issue.get('url')!r}")
        comment = self.github.comment(
            number, f"+1 from a customer (support ticket {where}).", key=f"{key}:github")
        return {"action": "link", "url": issue["url"], "comment_url": comment["url"]}

    def _zendesk_comment(self, zid: int, body: str, public: bool,
                         after: int | None = None) -> dict[str, Any]:
        assert self.zendesk is not None
        # A crash between posting and recording: the comment with our body is the answer.
        comment = self.zendesk.find_comment(zid, body, after=after)
        if comment is not None:
            log.info("Zendesk ticket %s already has this reply; not posting again", zid)
            return {"ticket": zid, "public": comment["public"], "comment_id": comment["id"],
                    "already_posted": True}
        return self.zendesk.add_comment(zid, body, public=public, after=after)

    @staticmethod
    def _cs_note(ticket_id: str, payload: dict[str, Any], results: dict[str, Any]) -> str:
        issue_url = (results.get("github") or {}).get("url") or payload["issue"].get("url")
        plan = payload.get("plan")
        where = payload.get("ticket_url") or ticket_id
        line = f"A {plan} customer asked for a feature ({where}, team {payload.get('team')})."
        return line + (f" Tracked in {issue_url}" if issue_url else "")


def make_channel_outbox(settings: Any, ledger: Ledger) -> ChannelOutbox:
    """A ChannelOutbox with every channel the settings configure (the others left out)."""
    from tools.github import make_github
    from tools.slack import make_slack_client
    from tools.zendesk import make_zendesk

    return ChannelOutbox(
        ledger,
        zendesk=make_zendesk(settings) if settings.zendesk_subdomain else None,
        github=make_github(settings) if settings.github_repo else None,
        slack=make_slack_client(settings) if settings.slack_bot_token else None,
        cs_channel=settings.slack_cs_channel,
    )
