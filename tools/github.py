"""GitHub issues over REST (httpx): find the closest issue, file one, or +1 one.

Bounded retries on 5xx, dropped connections, timeouts and rate limits (429, or 403 with
`Retry-After` or `x-ratelimit-remaining: 0`), waiting what GitHub asks for but never more
than `max_wait_s`. Writes carry a hidden `<!-- sidekick:KEY -->` marker. Reads are retried
freely; a write is not: a 502, a dropped connection or a timeout can come after GitHub made
the issue, so before every re-send the client looks for its marker and, when it is there,
returns what it finds instead of making a second one (the same look-up runs before the
first attempt, for a crash between making and recording).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]{2,}")
_STOP = frozenset(
    "the and for with that this from have has not but are was were you your our can cannot "
    "when what why how does doesn't don't into any all out get got just like there their "
    "hey hello thanks thank please would could should been being it's i'm since also".split())


class GitHubError(RuntimeError):
    """GitHub refused the call or kept failing."""


def marker(key: str) -> str:
    """The hidden idempotency marker put in bodies Sidekick writes."""
    return f"<!-- sidekick:{key} -->"


def _words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for w in _WORD.findall(text.lower()):
        if w not in _STOP:
            seen.setdefault(w, None)
    return list(seen)


def similarity(a: str, b: str) -> float:
    """Cosine of the two texts' word sets (0-1): a cheap, explainable closeness score."""
    x, y = set(_words(a)), set(_words(b))
    return len(x & y) / math.sqrt(len(x) * len(y)) if x and y else 0.0


class GitHubClient:
    """One repository's issues."""

    def __init__(self, base_url: str, token: str | None, repo: str, *, max_retries: int = 3,
                 max_wait_s: float = 30.0, timeout_s: float = 15.0,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "sidekick-triage"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.repo = repo
        self.max_retries, self.max_wait_s = max_retries, max_wait_s
        self._sleep = sleep
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                  timeout=timeout_s, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _wait_for(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying this response, or None if it is final."""
        status, headers = response.status_code, response.headers
        limited = status == 429 or (status == 403 and (
            "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"))
        if not (limited or status >= 500):
            return None
        if "retry-after" in headers:
            try:
                return float(headers["retry-after"])
            except ValueError:
                pass
        if limited and "x-ratelimit-reset" in headers:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
        return 0.5 * 2**attempt

    def _request(self, method: str, path: str, *,
                 landed: Callable[[], dict[str, Any] | None] | None = None,
                 **kwargs: Any) -> Any:
        """The call's JSON answer (or what `landed` found), with bounded retries."""
        answer = self._send(method, path, landed=landed, **kwargs)
        return answer if isinstance(answer, dict) else answer.json()

    def _send(self, method: str, path: str, *,
              landed: Callable[[], dict[str, Any] | None] | None = None,
              **kwargs: Any) -> httpx.Response | dict[str, Any]:
        """Send one call, retrying what GitHub may answer better next time.

        A write passes `landed`, which looks for what the write makes. It runs before every
        re-send and what it finds is returned instead: a failed attempt (5xx, a dropped
        connection, a timeout) may have landed all the same.
        """
        for attempt in range(self.max_retries + 1):
            if attempt and landed is not None:
                try:
                    found = landed()  # a read, with its own retries
                except GitHubError as exc:  # cannot tell: never re-send blind
                    raise GitHubError(f"GitHub {method} {path} failed and whether it landed "
                                      f"is unknown: {exc}") from exc
                if found is not None:
                    log.info("GitHub %s %s: the earlier attempt landed; not sending it again",
                             method, path)
                    return found
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # refused, dropped, or timed out
                if attempt == self.max_retries:
                    raise GitHubError(f"GitHub {method} {path}: {exc!r}") from exc
                log.warning("GitHub %s %s: %r, retrying", method, path, exc)
                self._sleep(0.5 * 2**attempt)
                continue
            wait = self._wait_for(response, attempt)
            if wait is None:
                if response.is_error:
                    raise GitHubError(f"GitHub {method} {path} failed "
                                      f"({response.status_code}): {response.text[:300]}")
                return response
            if attempt == self.max_retries or wait > self.max_wait_s:
                raise GitHubError(f"GitHub {method} {path} failed after {attempt + 1} attempts "
                                  f"({response.status_code}, asked to wait {wait:.0f} s)")
            log.warning("GitHub %s %s: %s, retrying in %.1f s", method, path,
                        response.status_code, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")

    # -- reading -----------------------------------------------------------------------------
    def closest(self, text: str, *, embedding: Any = None, k: int = 3) -> list[dict[str, Any]]:
        """The k issues most similar to `text`: url, title, score (0-1), state, number.

        The keys are `agent.context.IssueMatch`'s fields (`IssueMatch(**m)`); `embedding` is
        accepted for the IssueIndex protocol's shape and unused (the score is lexical).
        """
        # GitHub ANDs bare words; OR the most telling ones (it allows five operators).
        words = sorted(_words(text), key=len, reverse=True)[:6]
        if not words:
            return []
        query = " OR ".join(words) + f" repo:{self.repo} is:issue"
        found = self._request("GET", "/search/issues", params={"q": query, "per_page": 20})
        matches = [
            {"url": item["html_url"], "title": item["title"], "state": item.get("state"),
             "number": item["number"],
             "score": round(similarity(text, f"{item['title']} {item.get('body') or ''}"), 4)}
            for item in found.get("items", []) if not item.get("pull_request")
        ]
        return sorted(matches, key=lambda m: -m["score"])[:k]

    def _find_issue(self, key: str) -> dict[str, Any] | None:
        """The issue (of the 100 newest, any state) whose body holds `key`'s marker."""
        items = self._request("GET", f"/repos/{self.repo}/issues", params={
            "per_page": 100, "state": "all", "sort": "created", "direction": "desc"})
        return _marked(items, key)

    def _find_comment(self, number: int, key: str, *, max_pages: int = 10
                      ) -> dict[str, Any] | None:
        """The comment on issue `number` whose body holds `key`'s marker.

        TRICKY: an issue's comments come oldest first and cannot be sorted, and the issues
        worth a +1 are the ones with many comments: after the first page, read from the last
        page (the newest, where a comment just made lands) backwards.
        """
        path = f"/repos/{self.repo}/issues/{number}/comments"
        first = self._send("GET", path, params={"per_page": 100})
        assert isinstance(first, httpx.Response)  # a read: no `landed`
        found = _marked(first.json(), key)
        last = _page_number(first.links.get("last", {}).get("url"))
        for page in range(last, max(1, last - max_pages), -1):
            if found is not None:
                break
            found = _marked(self._request(
                "GET", path, params={"per_page": 100, "page": page}), key)
        return found

    # -- writing (idempotent by key) ---------------------------------------------------------
    def create_issue(self, title: str, body: str, *, key: str,
                     labels: list[str] | None = None) -> dict[str, Any]:
        """File an issue, or return the one already filed under `key`: number, url."""
        issue = self._find_issue(key)
        if issue is None:
            payload: dict[str, Any] = {"title": title, "body": f"{body}\n\n{marker(key)}"}
            if labels:
                payload["labels"] = labels
            issue = self._request("POST", f"/repos/{self.repo}/issues", json=payload,
                                  landed=lambda: self._find_issue(key))
        return {"number": issue["number"], "url": issue["html_url"]}

    def comment(self, number: int, body: str, *, key: str) -> dict[str, Any]:
        """Comment on an issue (a +1), or return the comment already made under `key`."""
        found = self._find_comment(number, key)
        if found is None:
            found = self._request(
                "POST", f"/repos/{self.repo}/issues/{number}/comments",
                json={"body": f"{body}\n\n{marker(key)}"},
                landed=lambda: self._find_comment(number, key))
        return {"id": found["id"], "url": found["html_url"]}


def _marked(items: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The first item whose body holds `key`'s marker."""
    return next((i for i in items if marker(key) in (i.get("body") or "")), None)


def _page_number(url: str | None) -> int:
    """The `page` of a `Link` URL (1 when there is none)."""
    match = re.search(r"[?&]page=(\d+)", url or "")
    return int(match.group(1)) if match else 1


def issue_number(url: str) -> int | None:
    """`https://github.com/o/r/issues/42` -> 42."""
    match = re.search(r"/issues/(\d+)", url or "")
    return int(match.group(1)) if match else None


def make_github(settings: Any) -> GitHubClient:
    """A GitHubClient from process settings (`github_*` attributes)."""
    if not settings.github_repo:
        raise GitHubError("GitHub is not configured: set SIDEKICK_GITHUB_REPO (owner/name)")
    token = settings.github_token.get_secret_value() if settings.github_token else None
    return GitHubClient(settings.github_api_url, token, settings.github_repo,
                        max_retries=settings.github_max_retries)
