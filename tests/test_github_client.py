"""tools.github with the real httpx client against a local fake GitHub REST API."""

from __future__ import annotations

import pytest
from fakes.github_server import FakeGitHub

from tools.github import GitHubClient, GitHubError, issue_number, marker, similarity


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_issue("Session replay recordings are blank in Safari",
                       "Recordings show a blank screen on Safari 17")
        fake.add_issue("Feature request: export funnels to CSV", "Please allow CSV export")
        yield fake


def client(fake: FakeGitHub, sleeps: list[float] | None = None, **kw) -> GitHubClient:
    rec = sleeps if sleeps is not None else []
    return GitHubClient(fake.url, "gh-token", fake.repo, sleep=rec.append, **kw)


def test_closest_searches_the_repo_and_scores(gh):
    matches = client(gh).closest("Hi, my session recordings are blank since yesterday")
    assert matches[0]["url"].endswith("/issues/1")
    assert matches[0]["number"] == 1 and 0 < matches[0]["score"] <= 1
    [req] = gh.calls("GET", "/search/issues")
    q = req.query["q"][0]
    assert "repo:acme/product is:issue" in q and " OR " in q


def test_create_issue_and_plus_one(gh):
    c = client(gh)
    made = c.create_issue("Export insights to Parquet", "A customer asks for it", key="k1:github")
    assert made == {"number": 3, "url": "https://github.com/acme/product/issues/3"}
    assert marker("k1:github") in gh.issues[2]["body"]
    comment = c.comment(1, "+1 from a customer (zd-1)", key="k2:github")
    assert comment["url"].startswith("https://github.com/acme/product/issues/1#issuecomment")
    [posted] = gh.comments[1]
    assert posted["body"].startswith("+1 from a customer")


def test_writes_are_idempotent_by_key(gh):
    c = client(gh)
    first = c.create_issue("Export to Parquet", "body", key="same")
    again = c.create_issue("Export to Parquet", "body", key="same")
    assert first == again and len(gh.issues) == 3
    c.comment(1, "+1", key="c")
    c.comment(1, "+1", key="c")
    assert len(gh.comments[1]) == 1


def test_5xx_is_retried(gh):
    gh.fail_next(502, times=2, path_contains="/search/issues")
    sleeps: list[float] = []
    assert client(gh, sleeps).closest("recordings blank safari")
    assert len(gh.calls("GET", "/search/issues")) == 3 and len(sleeps) == 2


def test_secondary_rate_limit_waits_retry_after(gh):
    gh.fail_next(403, retry_after="7", path_contains="/issues",
                 body={"message": "You have exceeded a secondary rate limit"})
    sleeps: list[float] = []
    client(gh, sleeps).comment(2, "+1", key="x")
    assert sleeps == [7.0] and len(gh.comments[2]) == 1


def test_bounded_retries_then_clear_error(gh):
    gh.fail_next(500, times=10)
    with pytest.raises(GitHubError, match="failed after 3 attempts"):
        client(gh, max_retries=2).closest("recordings blank")


def test_too_long_a_wait_is_an_error_not_a_hang(gh):
    gh.fail_next(429, retry_after="3600")
    with pytest.raises(GitHubError, match="asked to wait 3600"):
        client(gh).closest("recordings blank")


def test_a_4xx_is_not_retried(gh):
    with pytest.raises(GitHubError, match="401"):
        GitHubClient(gh.url, "wrong", gh.repo).closest("recordings")
    assert len(gh.calls()) == 1


def test_helpers():
    assert issue_number("https://github.com/o/r/issues/42") == 42
    assert issue_number("https://example.com") is None
    assert similarity("blank recordings", "Recordings are blank") == 1.0
    assert similarity("", "x") == 0.0


#: The failures that come AFTER GitHub made the issue or comment (`fakes.http_base`).
LANDED_THEN = {
    "502": lambda fake, **match: fake.fail_next(502, applied=True, **match),
    "dropped connection": lambda fake, **match: fake.drop_next(**match),
    "timeout": lambda fake, **match: fake.delay_next(3.0, **match),
}


@pytest.mark.parametrize("failure", list(LANDED_THEN))
def test_an_issue_filed_before_a_failure_is_not_filed_again(gh, failure):
    LANDED_THEN[failure](gh, path_contains="/repos/acme/product/issues", method="POST")
    made = client(gh, timeout_s=0.5).create_issue("Export to Parquet", "asked", key="k:github")
    [issue] = [i for i in gh.issues if marker("k:github") in i["body"]]
    assert len(gh.issues) == 3
    assert made == {"number": issue["number"], "url": issue["html_url"]}
    assert len(gh.calls("POST", "/repos/acme/product/issues")) == 1


@pytest.mark.parametrize("failure", list(LANDED_THEN))
def test_a_comment_made_before_a_failure_is_not_made_again(gh, failure):
    LANDED_THEN[failure](gh, path_contains="/issues/1/comments", method="POST")
    made = client(gh, timeout_s=0.5).comment(1, "+1 from a customer", key="c:github")
    [comment] = gh.comments[1]
    assert marker("c:github") in comment["body"]
    assert made == {"id": comment["id"], "url": comment["html_url"]}
    assert len(gh.calls("POST", "/repos/acme/product/issues/1/comments")) == 1


def test_a_write_refused_before_it_landed_is_sent_again_once(gh):
    gh.fail_next(502, path_contains="/issues", method="POST")  # nothing made
    gh.drop_next(path_contains="/issues", method="POST", applied=False)
    sleeps: list[float] = []
    made = client(gh, sleeps).create_issue("Export to Parquet", "asked", key="k")
    assert made["number"] == 3 and len(gh.issues) == 3
    assert len(gh.calls("POST", "/repos/acme/product/issues")) == 3
    assert len(gh.calls("GET", "/repos/acme/product/issues")) == 3  # first, then before each


def test_a_rate_limited_write_waits_retry_after_and_is_made_once(gh):
    gh.fail_next(429, retry_after="5", path_contains="/issues", method="POST")
    sleeps: list[float] = []
    client(gh, sleeps).create_issue("Export to Parquet", "asked", key="k")
    assert sleeps == [5.0] and len(gh.issues) == 3


class DownAfterAWrite(FakeGitHub):
    """GitHub makes the issue, answers 502, and then answers every request with 500."""

    def route(self, req):
        if req.method == "POST":
            super().route(req)
            self.fail_next(500, times=100)
            return 502, {"message": "Server Error"}, {}
        return super().route(req)


def test_a_write_is_not_sent_again_when_the_look_up_fails_too():
    with DownAfterAWrite() as fake:
        with pytest.raises(GitHubError, match="whether it landed is unknown"):
            client(fake).create_issue("Export to Parquet", "asked", key="k")
        assert len(fake.calls("POST", "/repos/acme/product/issues")) == 1
        assert len(fake.issues) == 1


def test_the_look_up_reads_the_newest_comments_of_a_long_thread(gh):
    """An issue's comments come oldest first, 100 a page: ours is on the last page."""
    for n in range(230):
        gh.comments[1].append({"id": 100 + n, "body": f"+1 number {n}",
                               "html_url": f"https://github.com/acme/product/issues/1#c{n}"})
    gh.fail_next(502, applied=True, path_contains="/issues/1/comments", method="POST")
    made = client(gh).comment(1, "+1 from a customer", key="long")
    assert [c["id"] for c in gh.comments[1] if marker("long") in c["body"]] == [made["id"]]
    assert len(gh.calls("POST", "/repos/acme/product/issues/1/comments")) == 1
    # and after a crash between making and recording, the comment is found, not made again
    assert client(gh).comment(1, "+1 from a customer", key="long") == made
    assert len(gh.calls("POST", "/repos/acme/product/issues/1/comments")) == 1
