"""A local GitHub REST API (issues slice): search, list, create, comment.

`GET /search/issues?q=...` matches every bare word of `q` (or any, when the words are joined
by ` OR `) against title and body, honouring `repo:o/r` and `is:issue`; `POST
/repos/{o}/{r}/issues` and `/issues/{n}/comments` answer 201 with GitHub's fields
(`number`, `html_url`, `id`). Lists are paginated as GitHub does (`per_page`, at most
100, default 30; `page`; a `Link` header with `next` and `last`): issues newest first,
filtered by `state` (default `open`), an issue's comments oldest first. Requires
`Authorization: Bearer {token}`. The failure modes of `fakes.http_base` apply: a POST can
be applied and then answered 502, or applied and left without an answer.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fakes.http_base import FakeServer, Request

_ISSUES = re.compile(r"^/repos/([^/]+)/([^/]+)/issues$")
_COMMENTS = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")


class FakeGitHub(FakeServer):
    """Issues of one repository held in a list."""

    def __init__(self, repo: str = "acme/product", token: str = "gh-token") -> None:
        super().__init__()
        self.repo, self.token = repo, token
        self.issues: list[dict[str, Any]] = []
        self.comments: dict[int, list[dict[str, Any]]] = {}

    def add_issue(self, title: str, body: str = "", state: str = "open") -> dict[str, Any]:
        """A pre-existing issue."""
        number = len(self.issues) + 1
        issue = {"id": 9000 + number, "number": number, "title": title, "body": body,
                 "state": state, "html_url": f"https://github.com/{self.repo}/issues/{number}",
                 "url": f"{self.url}/repos/{self.repo}/issues/{number}", "labels": [],
                 "pull_request": None}
        self.issues.append(issue)
        self.comments[number] = []
        return issue

    def route(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        """GitHub's answers."""
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}, {}
        if req.path == "/search/issues" and req.method == "GET":
            return self._search(req.query.get("q", [""])[0])
        match = _ISSUES.match(req.path)
        if match and f"{match.group(1)}/{match.group(2)}" == self.repo:
            if req.method == "POST":
                body = req.body if isinstance(req.body, dict) else {}
                if not body.get("title"):
                    return 422, {"message": "Validation Failed",
                                 "errors": [{"field": "title", "code": "missing_field"}]}, {}
                issue = self.add_issue(body["title"], body.get("body") or "")
                return 201, issue, {}
            state = req.query.get("state", ["open"])[0]
            newest = sorted((i for i in self.issues if state in ("all", i["state"])),
                            key=lambda i: -i["number"])
            if req.query.get("direction", ["desc"])[0] == "asc":
                newest.reverse()
            return self._page(req, newest)
        match = _COMMENTS.match(req.path)
        if match and f"{match.group(1)}/{match.group(2)}" == self.repo:
            number = int(match.group(3))
            if number not in self.comments:
                return 404, {"message": "Not Found"}, {}
            if req.method == "GET":
                return self._page(req, self.comments[number])
            body = req.body if isinstance(req.body, dict) else {}
            cid = 5001 + sum(map(len, self.comments.values()))
            comment = {"id": cid, "body": body.get("body", ""),
                       "html_url": f"https://github.com/{self.repo}/issues/{number}"
                                   f"#issuecomment-{cid}"}
            self.comments[number].append(comment)
            return 201, comment, {}
        return 404, {"message": "Not Found"}, {}

    def _page(self, req: Request, items: list[dict[str, Any]]
              ) -> tuple[int, Any, dict[str, str]]:
        """One page of `items`, with GitHub's `Link` header when there are more."""
        per_page = min(100, int(req.query.get("per_page", ["30"])[0]))
        page = max(1, int(req.query.get("page", ["1"])[0]))
        last = max(1, -(-len(items) // per_page))
        links = []
        for rel, number in (("next", page + 1), ("last", last)):
            if page < last:
                query = {k: v[0] for k, v in req.query.items()} | {"page": str(number)}
                links.append(f'<{self.url}{req.path}?{urlencode(query)}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, items[(page - 1) * per_page: page * per_page], headers

    def _search(self, q: str) -> tuple[int, Any, dict[str, str]]:
        words = [w for w in q.split() if ":" not in w]
        any_of = "OR" in words
        words = [w.lower().strip('"') for w in words if w != "OR"]
        items = []
        for issue in self.issues:
            text = f"{issue['title']} {issue['body']}".lower()
            hits = sum(w in text for w in words)
            if words and (hits == len(words) or (any_of and hits)):
                items.append({**issue, "score": float(hits)})
        items.sort(key=lambda i: -i["score"])
        return 200, {"total_count": len(items), "incomplete_results": False, "items": items}, {}
