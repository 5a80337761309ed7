"""GitHub issues over REST (httpx): find the closest issue, file one, or +1 one.

Bounded retries on 5xx and on rate limits (429, or 403 with `Retry-After` or
`x-ratelimit-remaining: 0`), waiting what GitHub asks for but never more than `max_wait_s`.
Writes carry a hidden `<!-- sidekick:KEY -->` marker so that a retry after a crash can find
the issue or comment it already made instead of making a second one.
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

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.max_retries:
                    raise GitHubError(f"GitHub {method} {path}: {exc}") from exc
                self._sleep(0.5 * 2**attempt)
                continue
            wait = self._wait_for(response, attempt)
            if wait is None:
                if response.is_error:
                    raise GitHubError(f"GitHub {method} {path} failed "
                                      f"({response.status_code}): {response.text[:300]}")
                return response.json()
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

    def _find_marked(self, path: str, key: str) -> dict[str, Any] | None:
        items = self._request("GET", path, params={"per_page": 50, "state": "all",
                                                   "sort": "created", "direction": "desc"})
        return next((i for i in items if marker(key) in (i.get("body") or "")), None)

    # -- writing (idempotent by key) ---------------------------------------------------------
    def create_issue(self, title: str, body: str, *, key: str,
                     labels: list[str] | None = None) -> dict[str, Any]:
        """File an issue, or return the one already filed under `key`: number, url."""
        path = f"/repos/{self.repo}/issues"
        issue = self._find_marked(path, key)
        if issue is None:
            payload: dict[str, Any] = {"title": title, "body": f"{body}\n\n{marker(key)}"}
            if labels:
                payload["labels"] = labels
            issue = self._request("POST", path, json=payload)
        return {"number": issue["number"], "url": issue["html_url"]}

    def comment(self, number: int, body: str, *, key: str) -> dict[str, Any]:
        """Comment on an issue (a +1), or return the comment already made under `key`."""
        path = f"/repos/{self.repo}/issues/{number}/comments"
        found = self._find_marked(path, key)
        if found is None:
            found = self._request("POST", path, json={"body": f"{body}\n\n{marker(key)}"})
        return {"id": found["id"], "url": found["html_url"]}


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
