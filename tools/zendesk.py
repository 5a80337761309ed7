"""Zendesk through zenpy: poll the team views, read a ticket's requester and plan, post replies.

Everything returns plain dicts (the Ticket contract's shape); `tools/` never imports `agent/`.
Rate limits: zenpy itself waits out a 429's Retry-After, bounded by `ratelimit_budget`
seconds; 5xx answers, dropped connections and timeouts are retried here a bounded number of
times, then raised as `ZendeskError` naming the call. Reads are retried freely. A write is
not: a 502, a dropped connection or a timeout can come after Zendesk applied the update, so
before every re-send the client looks for what the write would have made (a comment with
its body, the status it sets) and, when it is there, takes that as the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from zenpy import Zenpy
from zenpy.lib.api import BaseApi
from zenpy.lib.api_objects import Comment
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

from tools.zendesk_channels import asked_elsewhere, via_channel

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Sidekick's ticket ids for Zendesk tickets: `zd-4812`.
ID_PREFIX = "zd-"
PLANS = ("enterprise", "paid", "free")
#: Zendesk has four priorities, the Ticket contract three: urgent counts as high.
_PRIORITY = {"urgent": "high", "high": "high", "normal": "normal", "low": "low"}


class ZendeskError(RuntimeError):
    """Zendesk kept failing (5xx, rate limit budget spent, unreachable) or refused a call."""


#: Conversation message ids of Zendesk comments: `zd-comment-<comment id>`.
COMMENT_ID_PREFIX = "zd-comment-"


def _iso(value: Any) -> str | None:
    """A Zendesk time (zenpy may give a string or a datetime) as ISO 8601 text."""
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def zendesk_id(ticket_id: str) -> int | None:
    """`zd-4812` -> 4812; None for a ticket that did not come from Zendesk."""
    if ticket_id.startswith(ID_PREFIX) and ticket_id[len(ID_PREFIX):].isdigit():
        return int(ticket_id[len(ID_PREFIX):])
    return None


class _RebasedSession(requests.Session):
    """A session that sends zenpy's `https://{sub}.zendesk.com/...` URLs to another base URL.

    TRICKY: zenpy builds every URL as `{protocol}://{subdomain}.{domain}/api/v2/...` with no
    hook for a full base URL (only the process-wide ZENPY_FORCE_NETLOC variable). Rewriting
    scheme and host here keeps the override per client, which is what tests and proxies need.
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base = urlsplit(base_url.rstrip("/"))

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request to the same path under the configured base URL."""
        original = url if isinstance(url, str) else url.decode()
        parts = urlsplit(original)
        path = self._base.path + parts.path
        rebased = urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))
        response = super().request(method, rebased, *args, **kwargs)
        # zenpy picks its response handler by finding its own base URL in the request's URL.
        response.request.url = original
        return response


def make_zendesk(settings: Any) -> ZendeskClient:
    """A ZendeskClient from process settings (`zendesk_*` attributes; see app/settings.py)."""
    if not (settings.zendesk_subdomain and settings.zendesk_email and settings.zendesk_token):
        raise ZendeskError(
            "Zendesk is not configured: set SIDEKICK_ZENDESK_SUBDOMAIN, "
            "SIDEKICK_ZENDESK_EMAIL and SIDEKICK_ZENDESK_TOKEN")
    session = _RebasedSession(settings.zendesk_url) if settings.zendesk_url else None
    zenpy = Zenpy(
        subdomain=settings.zendesk_subdomain,
        email=settings.zendesk_email,
        token=settings.zendesk_token.get_secret_value(),
        session=session,
        timeout=30,
        ratelimit_budget=settings.zendesk_ratelimit_budget_s,
        disable_cache=True,
    )
    base = settings.zendesk_url or f"https://{settings.zendesk_subdomain}.zendesk.com"
    return ZendeskClient(zenpy, agent_url=base, plan_field=settings.zendesk_plan_field,
                         max_retries=settings.zendesk_max_retries,
                         ratelimit_budget_s=settings.zendesk_ratelimit_budget_s)


class ZendeskClient:
    """The Zendesk calls Sidekick makes, each with bounded retries."""

    def __init__(self, zenpy: Zenpy, *, agent_url: str, plan_field: str = "plan",
                 max_retries: int = 3, backoff_s: float = 0.5,
                 ratelimit_budget_s: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.zenpy = zenpy
        self.ratelimit_budget_s = ratelimit_budget_s
        self.agent_url = agent_url.rstrip("/")
        self.plan_field = plan_field
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep

    def _call(self, what: str, fn: Callable[[], T], *,
              landed: Callable[[], T | None] | None = None) -> T:
        """Run `fn`, retrying 5xx, 429s, dropped connections and timeouts; else fail at once.

        A write passes `landed`, which looks for what `fn` writes. It runs before every
        re-send and what it finds is the answer: a failed attempt may have landed.
        """
        self._refill_budget()
        reason, error = "", None
        for attempt in range(self.max_retries + 1):
            if attempt and landed is not None:
                try:
                    found = landed()  # a read, with its own retries
                except ZendeskError as exc:  # cannot tell: never re-send blind
                    raise ZendeskError(f"Zendesk {what} failed ({reason}) and whether it "
                                       f"landed is unknown: {exc}") from exc
                if found is not None:
                    log.info("Zendesk %s: the earlier attempt landed; not sending it again",
                             what)
                    return found
            try:
                return fn()
            except (APIException, ZenpyException, requests.RequestException) as exc:
                reason = self._retry_reason(what, exc)
                error = exc
            if attempt < self.max_retries:
                log.warning("Zendesk %s: %s, retry %d", what, reason, attempt + 1)
                self._sleep(self.backoff_s * 2**attempt)
        raise ZendeskError(
            f"Zendesk {what} failed after {self.max_retries + 1} attempts "
            f"(last: {reason})") from error

    @staticmethod
    def _retry_reason(what: str, exc: Exception) -> str:
        """Why `exc` is worth another attempt; raises ZendeskError when it is not."""
        if isinstance(exc, RatelimitBudgetExceeded):
            raise ZendeskError(f"Zendesk {what}: rate limited beyond the budget") from exc
        if isinstance(exc, (APIException, requests.HTTPError)):
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status is None or (status < 500 and status != 429):  # 429: no Retry-After
                raise ZendeskError(f"Zendesk {what} failed ({status}): {exc}") from exc
            return str(status)
        # TRICKY: a read timeout is not a ConnectionError in requests; on a write it is the
        # same doubt as a dropped connection (sent, maybe applied, no answer).
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            return f"{type(exc).__name__}: {exc}"
        raise ZendeskError(f"Zendesk {what} failed: {exc}") from exc

    def _refill_budget(self) -> None:
        """Give every zenpy endpoint its full Retry-After budget for this call.

        TRICKY: zenpy's budget is spent for good (each endpoint object subtracts the seconds
        it waited and never refills), so a long-lived client (the view poller, the worker's
        deliveries) would refuse every call once a few 429s had added up to the budget.
        """
        if self.ratelimit_budget_s is None:
            return
        for api in vars(self.zenpy).values():
            if isinstance(api, BaseApi):
                api.ratelimit_budget = self.ratelimit_budget_s

    # -- reading -----------------------------------------------------------------------------
    def poll(self, views: dict[str, int], *,
             seen: Iterable[str] | Callable[[list[str]], Iterable[str]] = (),
             updated: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """New tickets from the team views, as Ticket dicts; ids in `seen` are skipped.

        `seen` may be a function of a view's ticket ids returning those already known (one
        store lookup per view), so a known ticket costs no requester or organization read.
        `updated`, when given, is filled with each skipped ticket's `updated_at`: the
        caller reads the comments of those that changed since it last looked.
        """
        skip, out = (set() if callable(seen) else set(seen)), []
        for team, view_id in views.items():

            def read(v: int = view_id) -> list[Any]:
                return list(self.zenpy.views.tickets(v))

            tickets = [t for t in self._call(f"view {view_id} ({team})", read)
                       if t.status in ("new", "open")]
            if callable(seen):
                skip.update(seen([f"{ID_PREFIX}{t.id}" for t in tickets]))
            for ticket in tickets:
                if f"{ID_PREFIX}{ticket.id}" in skip:
                    if updated is not None:
                        updated[f"{ID_PREFIX}{ticket.id}"] = str(ticket.updated_at or "")
                    continue
                skip.add(f"{ID_PREFIX}{ticket.id}")
                out.append(self._ticket_dict(ticket, team))
        return out

    def ticket(self, zid: int) -> dict[str, Any]:
        """One ticket as a Ticket dict."""
        return self._ticket_dict(self._call(f"ticket {zid}", lambda: self.zenpy.tickets(id=zid)))

    def _ticket_dict(self, ticket: ZenpyTicket, team: str | None = None) -> dict[str, Any]:
        user = self._call(f"user {ticket.requester_id}",
                          lambda: self.zenpy.users(id=ticket.requester_id))
        org_id = ticket.organization_id or getattr(user, "organization_id", None)
        org = (self._call(f"organization {org_id}", lambda: self.zenpy.organizations(id=org_id))
               if org_id else None)
        tags = list(ticket.tags or [])
        via = via_channel(getattr(ticket, "via", None))
        # A community question or GitHub issue carried by Zendesk is that channel's ticket,
        # answered on its own page; Zendesk stays where it is closed (the origin says so).
        elsewhere = asked_elsewhere(ticket.description, tags, via)
        if team:
            tags.append(f"view:{team}")
        return {
            "id": f"{ID_PREFIX}{ticket.id}",
            "source": elsewhere.source if elsewhere else "zendesk",
            "subject": ticket.subject,
            "body": ticket.description,
            "requester": {"name": user.name, "email": user.email},
            "organization": {"name": org.name if org else None, "plan": self._plan(org)},
            "priority": _PRIORITY.get(ticket.priority or ""),
            "tags": tags,
            "url": elsewhere.url if elsewhere else f"{self.agent_url}/agent/tickets/{ticket.id}",
            "created_at": _iso(ticket.created_at),
            "via": via,
        }

    def _plan(self, org: Any) -> str | None:
        """The plan from the organization field, else a `plan_<value>` tag."""
        if org is None:
            return None
        fields = getattr(org, "organization_fields", None) or {}
        value = str(fields.get(self.plan_field) or "").strip().lower()
        if value in PLANS:
            return value
        for tag in getattr(org, "tags", None) or []:
            if tag.lower().removeprefix(f"{self.plan_field}_") in PLANS:
                return tag.lower().removeprefix(f"{self.plan_field}_")
        return None

    def conversation(self, zid: int) -> list[dict[str, Any]]:
        """The ticket's comments after its description, as conversation Message dicts.

        The requester's comments are the customer's; every other author's is a person's at
        PostHog (`hero`): Sidekick's own replies among them are recognised by the
        conversation, which holds what it sent (`TriageService.converse`).
        """
        ticket = self._call(f"ticket {zid}", lambda: self.zenpy.tickets(id=zid))
        items = self._call(f"comments of {zid}", lambda: list(self.zenpy.tickets.comments(zid)))
        return [{"id": f"{COMMENT_ID_PREFIX}{c.id}",
                 "author": "customer" if c.author_id == ticket.requester_id else "hero",
                 "body": getattr(c, "plain_body", None) or c.body or "", "public": c.public,
                 "created_at": _iso(c.created_at)}
                for c in items[1:] if (getattr(c, "plain_body", None) or c.body or "").strip()]

    def comments(self, zid: int) -> list[dict[str, Any]]:
        """The ticket's comments, oldest first: id, body, public."""
        items = self._call(f"comments of {zid}", lambda: list(self.zenpy.tickets.comments(zid)))
        return [{"id": c.id, "body": c.body, "public": c.public} for c in items]

    def find_comment(self, zid: int, body: str, *, public: bool | None = None,
                     after: int | None = None) -> dict[str, Any] | None:
        """The newest comment whose body is `body` (and, if given, whose `public` matches).

        `after`: only comments newer than this comment id count (Zendesk's ids grow), so
        the same words said on an earlier turn of the conversation are not this reply.

        TRICKY: a Zendesk comment cannot carry a hidden marker, so "did we already post
        this?" is answered by an existing comment with our body. Whitespace is compared
        collapsed: Zendesk renders the text to HTML and back, and a missed match is a
        second reply to the customer.
        """
        wanted = " ".join(body.split())
        for comment in reversed(self.comments(zid)):
            if after is not None and int(comment["id"]) <= after:
                break
            if " ".join((comment["body"] or "").split()) == wanted \
                    and public in (None, comment["public"]):
                return comment
        return None

    # -- writing (each re-send only after looking for the earlier attempt) -------------------
    def add_comment(self, zid: int, body: str, *, public: bool,
                    after: int | None = None) -> dict[str, Any]:
        """Post the reply (public) or an internal note (public=False): ticket, comment_id.

        `after` bounds the look-up before a re-send (see `find_comment`).
        """
        def send() -> dict[str, Any]:
            # TRICKY: a fresh object per attempt. zenpy sends only an object's "dirty" fields
            # and marks a failed update clean on the next successful call (our look-up), so
            # a re-sent `update` object would go out without its comment.
            update = ZenpyTicket(id=zid, comment=Comment(body=body, public=public))
            audit = self.zenpy.tickets.update(update)
            events = getattr(getattr(audit, "audit", None), "events", None) or []
            ids = [e.get("id") for e in events if e.get("type") == "Comment"]
            return self._commented(zid, public, ids[0] if ids else None)

        def landed() -> dict[str, Any] | None:
            found = self.find_comment(zid, body, public=public, after=after)
            return self._commented(zid, public, found["id"]) if found else None

        return self._call(f"comment on {zid}", send, landed=landed)

    def _commented(self, zid: int, public: bool, comment_id: int | None) -> dict[str, Any]:
        return {"ticket": zid, "public": public, "comment_id": comment_id,
                "url": f"{self.agent_url}/agent/tickets/{zid}"}

    def set_status(self, zid: int, status: str) -> dict[str, Any]:
        """Set the ticket's status (pending, solved, ...)."""
        done = {"ticket": zid, "status": status}

        def send() -> dict[str, Any]:
            self.zenpy.tickets.update(ZenpyTicket(id=zid, status=status))  # fresh: see above
            return done

        def landed() -> dict[str, Any] | None:
            ticket = self._call(f"ticket {zid}", lambda: self.zenpy.tickets(id=zid))
            return done if ticket.status == status else None

        return self._call(f"status of {zid}", send, landed=landed)
