"""ChannelOutbox: Zendesk, GitHub and Slack side effects exactly once, against local fakes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.github_server import FakeGitHub
from fakes.slack_server import FakeSlack
from fakes.zendesk_server import FakeZendesk
from slack_sdk import WebClient
from test_zendesk_client import client_for

from tools.channels import ChannelOutbox, with_issue_url
from tools.github import GitHubClient
from tools.outbox import LocalOutbox
from tools.slack import slack_ticket_id


@pytest.fixture
def world(tmp_path: Path):
    with FakeZendesk() as zd, FakeGitHub() as gh, FakeSlack() as sl:
        zd.add_organization(7, "Acme", plan="paid")
        zd.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        zd.add_ticket(4812, subject="Export", description="Please add Parquet export",
                      requester_id=5)
        gh.add_issue("Recordings blank in Safari", "blank")
        sl.add_user("UCUST", "Cory Customer")
        yield zd, gh, sl, tmp_path


def outbox(world, ledger=None) -> ChannelOutbox:
    zd, gh, sl, tmp = world
    return ChannelOutbox(
        ledger or LocalOutbox(tmp / "outbox.sqlite"), zendesk=client_for(zd),
        github=GitHubClient(gh.url, "gh-token", gh.repo, sleep=lambda s: None),
        slack=WebClient(token="xoxb-test", base_url=sl.api_url), cs_channel="CCS")


def payload(ticket_id: str, **over) -> dict:
    base = {"ticket_id": ticket_id, "source": "zendesk", "team": "product-analytics",
            "body": "Hey Ada, thanks for the idea!", "public": True, "status_after": "solved",
            "citations": [], "issue": {"action": "create", "url": None,
                                       "title": "Export insights to Parquet",
                                       "body": "A customer asks for Parquet export."},
            "approved_by": "U1", "approved_at": "2026-11-22T10:00:00Z", "edited": False,
            "kind": "feature_request", "plan": "paid"}
    return {**base, **over}


def test_zendesk_feature_request_from_a_paying_customer(world):
    zd, gh, sl, _ = world
    record = outbox(world).deliver(key="zd-4812:reply:abc", ticket_id="zd-4812",
                                   payload=payload("zd-4812"))
    [comment] = zd.posted_comments(4812)
    url = "https://github.com/acme/product/issues/2"
    assert comment["public"] and url in comment["body"]
    assert comment["body"].startswith("Hey Ada, thanks for the idea!")
    assert zd.tickets[4812]["status"] == "solved"
    assert gh.issues[1]["title"] == "Export insights to Parquet"
    [note] = sl.posted("chat.postMessage")
    assert note["channel"] == "CCS" and "paid customer" in note["text"] and url in note["text"]
    assert record["first_delivery"] and record["results"]["github"]["url"] == url
    assert set(record["results"]) == {"github", "zendesk_comment", "status", "cs_note"}


def test_a_repeated_key_sends_nothing(world):
    zd, gh, sl, tmp = world
    box = outbox(world)
    first = box.deliver(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))
    n_requests = len(zd.requests) + len(gh.requests) + len(sl.requests)
    again = outbox(world).deliver(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))
    assert again["first_delivery"] is False and again["results"] == first["results"]
    assert len(zd.requests) + len(gh.requests) + len(sl.requests) == n_requests
    assert len(zd.posted_comments(4812)) == 1 and len(gh.issues) == 2


class ForgetfulLedger(LocalOutbox):
    """A ledger whose writes are lost: a crash after each send, before the record."""

    def deliver(self, *, key, ticket_id, payload):
        return {"key": key, "channel": "local", "first_delivery": True, "delivered_at": "x"}


def test_a_crash_between_send_and_record_does_not_send_twice(world):
    zd, gh, sl, tmp = world
    ledger = ForgetfulLedger(tmp / "lost.sqlite")
    for _ in range(2):
        outbox(world, ledger).deliver(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))
    assert len(zd.posted_comments(4812)) == 1  # found by its body
    assert len(gh.issues) == 2  # found by its hidden marker
    assert len(sl.messages["CCS"]) == 1  # found by its message metadata
    assert zd.tickets[4812]["status"] == "solved"


def test_low_priority_is_an_internal_note_and_link_adds_a_plus_one(world):
    zd, gh, sl, _ = world
    issue = {"action": "link", "url": "https://github.com/acme/product/issues/1",
             "title": "Recordings blank in Safari", "body": None}
    outbox(world).deliver(key="k", ticket_id="zd-4812", payload=payload(
        "zd-4812", public=False, issue=issue, kind="bug", plan="free"))
    [comment] = zd.posted_comments(4812)
    assert comment["public"] is False and issue["url"] in comment["body"]
    [plus_one] = gh.comments[1]
    assert "+1" in plus_one["body"] and "zd-4812" in plus_one["body"]
    assert sl.posted("chat.postMessage") == []  # no CS note for a free plan's bug


def test_slack_ticket_gets_a_thread_reply_once_even_after_a_crash(world):
    zd, gh, sl, tmp = world
    root = sl.post("CCUST", "Our dashboards are slow", user="UCUST")
    tid = slack_ticket_id("CCUST", root)
    p = payload(tid, source="slack", issue={"action": "none"}, kind="question")
    ledger = ForgetfulLedger(tmp / "lost.sqlite")
    for _ in range(2):
        outbox(world, ledger).deliver(key="s", ticket_id=tid, payload=p)
    replies = [m for m in sl.messages["CCUST"] if m.get("thread_ts") == root]
    assert len(replies) == 1 and replies[0]["text"] == p["body"]
    assert zd.requests == []


def test_issue_url_wording():
    assert with_issue_url("Hey", "create", "U").endswith("follow its progress here: U")
    assert with_issue_url("Hey, see U", "link", "U") == "Hey, see U"
    assert with_issue_url("Hey", "none", None) == "Hey"


def test_as_the_sender_of_a_ledger_that_reserved_the_key_first(world):
    """StoreOutbox-style wrapping: the outer ledger holds `key` before the channel sends."""
    zd, gh, sl, tmp = world
    ledger = LocalOutbox(tmp / "shared.sqlite")
    ledger.deliver(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))  # the reservation
    box = outbox(world, ledger)
    url = box.send(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))
    assert url and len(zd.posted_comments(4812)) == 1 and len(gh.issues) == 2
    box.send(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))
    assert len(zd.posted_comments(4812)) == 1


def test_make_channel_outbox_builds_what_the_settings_configure(world):
    from pydantic import SecretStr

    from app.settings import Settings
    from tools.channels import make_channel_outbox

    zd, gh, sl, tmp = world
    none = make_channel_outbox(Settings(home=tmp), LocalOutbox(tmp / "a.sqlite"))
    assert (none.zendesk, none.github, none.slack) == (None, None, None)
    full = make_channel_outbox(Settings(
        home=tmp, zendesk_subdomain="acme", zendesk_email="hero@example.com",
        zendesk_token=SecretStr("zd-token"), zendesk_url=zd.url, github_repo=gh.repo,
        github_token=SecretStr("gh-token"), github_api_url=gh.url,
        slack_bot_token=SecretStr("xoxb-test"), slack_api_url=sl.api_url,
        slack_cs_channel="CCS"), LocalOutbox(tmp / "b.sqlite"))
    full.deliver(key="k", ticket_id="zd-4812", payload=payload("zd-4812"))
    assert len(zd.posted_comments(4812)) == 1 and len(gh.issues) == 2
    assert len(sl.messages["CCS"]) == 1


#: Each write the channels make through the Zendesk and GitHub clients: how to match its
#: request in the fake, and the payload that makes it.
LINK = {"action": "link", "url": "https://github.com/acme/product/issues/1",
        "title": "Recordings blank in Safari", "body": None}
WRITES = {
    "github issue": ({"path_contains": "/repos/acme/product/issues", "method": "POST"}, {}),
    "github +1": ({"path_contains": "/issues/1/comments", "method": "POST"},
                  {"issue": LINK, "kind": "bug"}),
    "zendesk reply": ({"path_contains": "/tickets/4812.json", "method": "PUT",
                       "body_contains": '"comment"'}, {}),
    "zendesk note": ({"path_contains": "/tickets/4812.json", "method": "PUT",
                      "body_contains": '"comment"'}, {"public": False}),
    "zendesk status": ({"path_contains": "/tickets/4812.json", "method": "PUT",
                        "body_contains": '"status"'}, {}),
}
LANDED_THEN = {
    "502": lambda fake, **match: fake.fail_next(502, applied=True, **match),
    "dropped connection": lambda fake, **match: fake.drop_next(**match),
}


def _one_of_each(world, record: dict, payload_: dict) -> None:
    """Exactly one issue or +1, one Zendesk comment and one status change, with their ids."""
    zd, gh, _, _ = world
    results = record["results"]
    if payload_["issue"]["action"] == "create":
        assert len(gh.issues) == 2 and gh.comments[1] == []
        assert results["github"]["number"] == gh.issues[1]["number"]
    else:
        [plus_one] = gh.comments[1]
        assert len(gh.issues) == 1 and results["github"]["comment_url"] == plus_one["html_url"]
    [comment] = zd.posted_comments(4812)
    assert comment["public"] is payload_["public"]
    assert results["zendesk_comment"]["comment_id"] == comment["id"]
    status_puts = [r for r in zd.calls("PUT", "/api/v2/tickets/4812.json")
                   if "status" in r.body["ticket"]]
    assert len(status_puts) == 1 and zd.tickets[4812]["status"] == "solved"


@pytest.mark.parametrize("failure", list(LANDED_THEN))
@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_that_landed_before_a_failure_is_made_once(world, write, failure):
    zd, gh, _, _ = world
    match, over = WRITES[write]
    LANDED_THEN[failure](gh if write.startswith("github") else zd, **match)
    p = payload("zd-4812", **over)
    record = outbox(world).deliver(key="k", ticket_id="zd-4812", payload=p)
    assert record["first_delivery"]
    _one_of_each(world, record, p)


def test_a_delivery_that_landed_then_502d_is_recorded_once_and_not_sent_again(world):
    zd, gh, sl, tmp = world
    for write in ("github issue", "zendesk reply", "zendesk status"):
        match, _ = WRITES[write]
        (gh if write.startswith("github") else zd).fail_next(502, applied=True, **match)
    ledger = LocalOutbox(tmp / "outbox.sqlite")
    p = payload("zd-4812")
    first = outbox(world, ledger).deliver(key="k", ticket_id="zd-4812", payload=p)
    _one_of_each(world, first, p)
    n_requests = len(zd.requests) + len(gh.requests) + len(sl.requests)
    again = outbox(world, ledger).deliver(key="k", ticket_id="zd-4812", payload=p)
    assert again["first_delivery"] is False and again["results"] == first["results"]
    assert len(zd.requests) + len(gh.requests) + len(sl.requests) == n_requests
    keys = [d["key"] for d in ledger.deliveries("zd-4812")]
    assert sorted(keys) == ["k:cs-note", "k:done", "k:github", "k:status",
                            "k:zendesk-comment"]
    _one_of_each(world, again, p)
