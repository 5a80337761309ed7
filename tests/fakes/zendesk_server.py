"""A local Zendesk Support REST API (the slice Sidekick uses), for zenpy to talk to.

Speaks `/api/v2/...json` as Zendesk does: tickets (GET, PUT with `{"ticket": {"comment":
{"body", "public"}, "status"}}`), a ticket's comments, a view's tickets (cursor-paginated),
users and organizations. A ticket update answers `{"ticket", "audit"}`, the audit's
`events` holding a `Comment` event (with the new comment's id) and a `Change` event per
changed field, as Zendesk does. Requires HTTP basic auth as `{email}/token:{token}`.
Scriptable through `fakes.http_base`: 429 (Retry-After) or 500 before the update, or the
update applied and then a 502, a dropped connection or a late answer; every request is
recorded.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from fakes.http_base import FakeServer, Request

_TICKET = re.compile(r"^/api/v2/tickets/(\d+)\.json$")
_COMMENTS = re.compile(r"^/api/v2/tickets/(\d+)/comments\.json$")
_VIEW = re.compile(r"^/api/v2/views/(\d+)/tickets(?:\.json)?$")
_USER = re.compile(r"^/api/v2/users/(\d+)\.json$")
_ORG = re.compile(r"^/api/v2/organizations/(\d+)\.json$")


class FakeZendesk(FakeServer):
    """Tickets, users, organizations and views held in dicts; tests seed them directly."""

    def __init__(self, *, email: str = "hero@example.com", token: str = "zd-token") -> None:
        super().__init__()
        self.auth = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}
        self.views: dict[int, list[int]] = {}
        self._next_comment = 1000

    # -- seeding -----------------------------------------------------------------------------
    def add_user(self, uid: int, name: str, email: str, organization_id: int | None = None
                 ) -> None:
        """A requester."""
        self.users[uid] = {"id": uid, "name": name, "email": email,
                           "organization_id": organization_id, "role": "end-user"}

    def add_organization(self, oid: int, name: str, *, plan: str | None = None,
                         tags: list[str] | None = None) -> None:
        """An organization, its plan in the `plan` organization field."""
        self.organizations[oid] = {"id": oid, "name": name, "tags": tags or [],
                                   "organization_fields": {"plan": plan}}

    def add_ticket(self, tid: int, *, subject: str, description: str, requester_id: int,
                   priority: str | None = "normal", view: int | None = None,
                   tags: list[str] | None = None, via: str = "web") -> None:
        """A new ticket (its description is its first comment), optionally in a view.

        `via`: the channel Zendesk records it came through (`web`, `email`, `api`, ...).
        """
        user = self.users.get(requester_id, {})
        self.tickets[tid] = {
            "id": tid, "url": f"{self.url}/api/v2/tickets/{tid}.json", "subject": subject,
            "description": description, "requester_id": requester_id,
            "submitter_id": requester_id, "organization_id": user.get("organization_id"),
            "priority": priority, "status": "new", "tags": tags or [],
            "via": {"channel": via, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z",
        }
        self.comments[tid] = [self._comment(description, True, requester_id)]
        if view is not None:
            self.views.setdefault(view, []).append(tid)

    def _comment(self, body: str, public: bool, author_id: int) -> dict[str, Any]:
        self._next_comment += 1
        return {"id": self._next_comment, "type": "Comment", "body": body,
                "html_body": f"<p>{body}</p>", "plain_body": body, "public": public,
                "author_id": author_id, "created_at": "2026-11-22T10:05:00Z"}

    def reply(self, tid: int, body: str, *, author_id: int | None = None,
              public: bool = True) -> dict[str, Any]:
        """Someone comments on the ticket in Zendesk (the requester by default).

        As Zendesk does, the ticket's `updated_at` moves on, and a requester's reply
        re-opens a pending or solved ticket.
        """
        ticket = self.tickets[tid]
        author = ticket["requester_id"] if author_id is None else author_id
        self.comments[tid].append(self._comment(body, public, author))
        self._touch(ticket)
        if author == ticket["requester_id"] and ticket["status"] in ("pending", "solved"):
            ticket["status"] = "open"
        return self.comments[tid][-1]

    def _touch(self, ticket: dict[str, Any]) -> None:
        self._updates = getattr(self, "_updates", 0) + 1
        ticket["updated_at"] = f"2026-11-22T11:{self._updates // 60:02d}:{self._updates % 60:02d}Z"

    def posted_comments(self, tid: int) -> list[dict[str, Any]]:
        """Comments added through the API (the description excluded)."""
        return self.comments.get(tid, [])[1:]

    # -- the API -----------------------------------------------------------------------------
    def route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """Zendesk's answers."""
        if req.headers.get("authorization") != self.auth:
            return 401, {"error": "Couldn't authenticate you"}, {}
        for pattern, handler in ((_TICKET, self._ticket), (_COMMENTS, self._comments),
                                 (_VIEW, self._view), (_USER, self._user), (_ORG, self._org)):
            match = pattern.match(req.path)
            if match:
                return handler(req, int(match.group(1)))
        return 404, {"error": "InvalidEndpoint", "description": "Not found"}, {}

    @staticmethod
    def _not_found() -> tuple[int, Any, dict[str, str]]:
        return 404, {"error": "RecordNotFound", "description": "Not found"}, {}

    def _ticket(self, req: Request, tid: int) -> tuple[int, Any, dict[str, str]]:
        ticket = self.tickets.get(tid)
        if ticket is None:
            return self._not_found()
        if req.method == "GET":
            return 200, {"ticket": ticket}, {}
        if req.method != "PUT":
            return 405, {"error": "MethodNotAllowed"}, {}
        update = (req.body or {}).get("ticket") if isinstance(req.body, dict) else None
        if not isinstance(update, dict):
            return 400, {"error": "InvalidValue", "description": "ticket is required"}, {}
        audit_id, events = 70000 + len(self.requests), []
        comment = update.get("comment")
        if isinstance(comment, dict) and comment.get("body"):
            self.comments[tid].append(
                self._comment(comment["body"], bool(comment.get("public", True)), 1))
            made = self.comments[tid][-1]
            events.append({**{k: v for k, v in made.items() if k != "created_at"},
                           "attachments": [], "audit_id": audit_id})
        if update.get("status") and update["status"] != ticket["status"]:
            self._next_comment += 1
            events.append({"id": self._next_comment, "type": "Change", "field_name": "status",
                           "value": update["status"], "previous_value": ticket["status"]})
            ticket["status"] = update["status"]
        if events:
            self._touch(ticket)
        audit = {"id": audit_id, "ticket_id": tid, "author_id": 1,
                 "created_at": "2026-11-22T10:05:00Z", "events": events}
        return 200, {"ticket": ticket, "audit": audit}, {}

    def _comments(self, req: Request, tid: int) -> tuple[int, Any, dict[str, str]]:
        if tid not in self.tickets:
            return self._not_found()
        items = self.comments[tid]
        return 200, {"comments": items, "meta": {"has_more": False, "after_cursor": None},
                     "links": {"next": None}, "count": len(items), "next_page": None}, {}

    def _view(self, req: Request, vid: int) -> tuple[int, Any, dict[str, str]]:
        if vid not in self.views:
            return self._not_found()
        items = [self.tickets[t] for t in self.views[vid]]
        return 200, {"tickets": items, "meta": {"has_more": False, "after_cursor": None},
                     "links": {"next": None}, "count": len(items), "next_page": None}, {}

    def _user(self, req: Request, uid: int) -> tuple[int, Any, dict[str, str]]:
        user = self.users.get(uid)
        return (200, {"user": user}, {}) if user else self._not_found()

    def _org(self, req: Request, oid: int) -> tuple[int, Any, dict[str, str]]:
        org = self.organizations.get(oid)
        return (200, {"organization": org}, {}) if org else self._not_found()
