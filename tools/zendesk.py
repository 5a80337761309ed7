"""Zendesk through zenpy: poll the team views, read a ticket's requester and plan, post replies.

Everything returns plain dicts (the Ticket contract's shape); `tools/` never imports `agent/`.
Rate limits: zenpy itself waits out a 429's Retry-After, bounded by `ratelimit_budget`
seconds; 5xx answers and dropped connections are retried here a bounded number of times,
then raised as `ZendeskError` naming the call.
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

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Sidekick's ticket ids for Zendesk tickets: `zd-4812`.
ID_PREFIX = "zd-"
PLANS = ("enterprise", "paid", "free")
#: Zendesk has four priorities, the Ticket contract three: urgent counts as high.
_PRIORITY = {"urgent": "high", "high": "high", "normal": "normal", "low": "low"}


class ZendeskError(RuntimeError):
    """Zendesk kept failing (5xx, rate limit budget spent, unreachable) or refused a call."""


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

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying 5xx and connection errors; anything else fails at once."""
        self._refill_budget()
        for attempt in range(self.max_retries + 1):
            try:
                return fn()
            except RatelimitBudgetExceeded as exc:
                raise ZendeskError(f"Zendesk {what}: rate limited beyond the budget") from exc
            except (APIException, requests.HTTPError) as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if status is None or (status < 500 and status != 429):  # 429: no Retry-After
                    raise ZendeskError(f"Zendesk {what} failed ({status}): {exc}") from exc
                error: Exception = exc
            except requests.ConnectionError as exc:
                status, error = None, exc
            except ZenpyException as exc:
                raise ZendeskError(f"Zendesk {what} failed: {exc}") from exc
            if attempt < self.max_retries:
                log.warning("Zendesk %s: %s, retry %d", what, status or error, attempt + 1)
                self._sleep(self.backoff_s * 2**attempt)
        raise ZendeskError(
            f"Zendesk {what} failed after {self.max_retries + 1} attempts "
            f"(last: {status or error})") from error

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
             seen: Iterable[str] | Callable[[list[str]], Iterable[str]] = ()
             ) -> list[dict[str, Any]]:
        """New tickets from the team views, as Ticket dicts; ids in `seen` are skipped.

        `seen` may be a function of a view's ticket ids returning those already known (one
        store lookup per view), so a known ticket costs no requester or organization read.
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
        if team:
            tags.append(f"view:{team}")
        return {
            "id": f"{ID_PREFIX}{ticket.id}",
            "source": "zendesk",
            "subject": ticket.subject,
            "body": ticket.description,
            "requester": {"name": user.name, "email": user.email},
            "organization": {"name": org.name if org else None, "plan": self._plan(org)},
            "priority": _PRIORITY.get(ticket.priority or ""),
            "tags": tags,
            "url": f"{self.agent_url}/agent/tickets/{ticket.id}",
            "created_at": ticket.created_at,
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

    def comments(self, zid: int) -> list[dict[str, Any]]:
        """The ticket's comments, oldest first: id, body, public."""
        items = self._call(f"comments of {zid}", lambda: list(self.zenpy.tickets.comments(zid)))
        return [{"id": c.id, "body": c.body, "public": c.public} for c in items]

    # -- writing -----------------------------------------------------------------------------
    def add_comment(self, zid: int, body: str, *, public: bool) -> dict[str, Any]:
        """Post the reply (public) or an internal note (public=False)."""
        update = ZenpyTicket(id=zid, comment=Comment(body=body, public=public))
        self._call(f"comment on {zid}", lambda: self.zenpy.tickets.update(update))
        return {"ticket": zid, "public": public, "url": f"{self.agent_url}/agent/tickets/{zid}"}

    def set_status(self, zid: int, status: str) -> dict[str, Any]:
        """Set the ticket's status (pending, solved, ...)."""
        update = ZenpyTicket(id=zid, status=status)
        self._call(f"status of {zid}", lambda: self.zenpy.tickets.update(update))
        return {"ticket": zid, "status": status}
