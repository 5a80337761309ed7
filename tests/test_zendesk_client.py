"""tools.zendesk with the real zenpy client against a local fake Zendesk on 127.0.0.1."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from fakes.zendesk_server import FakeZendesk
from pydantic import SecretStr

from tools.zendesk import ZendeskClient, ZendeskError, make_zendesk, zendesk_id

VIEW = 360001


@pytest.fixture
def zd():
    with FakeZendesk() as fake:
        fake.add_organization(7, "Acme", plan="paid")
        fake.add_organization(8, "Hobby Co", tags=["plan_free"])
        fake.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        fake.add_user(6, "Grace Hopper", "grace@example.com", 8)
        fake.add_ticket(4812, subject="Recordings are blank",
                        description="Hi, every replay is blank", requester_id=5,
                        priority="urgent", view=VIEW)
        fake.add_ticket(4813, subject="Feature flag question", description="How do I roll out?",
                        requester_id=6, priority="low", view=VIEW)
        yield fake


def client_for(fake: FakeZendesk, **overrides) -> ZendeskClient:
    settings = SimpleNamespace(
        zendesk_subdomain="acme", zendesk_email="hero@example.com",
        zendesk_token=SecretStr("zd-token"), zendesk_url=fake.url, zendesk_plan_field="plan",
        zendesk_max_retries=2, zendesk_ratelimit_budget_s=10)
    client = make_zendesk(settings)
    client.backoff_s = 0.01
    for name, value in overrides.items():
        setattr(client, name, value)
    return client


def test_poll_reads_the_view_with_requester_name_and_plan(zd):
    tickets = client_for(zd).poll({"replay": VIEW})
    assert [t["id"] for t in tickets] == ["zd-4812", "zd-4813"]
    ada, grace = tickets
    assert ada["requester"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert ada["organization"] == {"name": "Acme", "plan": "paid"}
    assert ada["priority"] == "high"  # Zendesk's `urgent` is the contract's `high`
    assert ada["source"] == "zendesk" and ada["body"] == "Hi, every replay is blank"
    assert grace["organization"]["plan"] == "free"  # from the `plan_free` tag
    assert zd.calls("GET", f"/api/v2/views/{VIEW}/tickets")


def test_poll_skips_seen_and_solved_tickets(zd):
    zd.tickets[4813]["status"] = "solved"
    assert client_for(zd).poll({"replay": VIEW}, seen=["zd-4812"]) == []


def test_public_reply_and_status(zd):
    client = client_for(zd)
    client.add_comment(4812, "Hey Ada, ...", public=True)
    client.set_status(4812, "pending")
    [comment] = zd.posted_comments(4812)
    assert comment["body"] == "Hey Ada, ..." and comment["public"] is True
    assert zd.tickets[4812]["status"] == "pending"
    puts = zd.calls("PUT", "/api/v2/tickets/4812.json")
    assert puts[0].body == {"ticket": {"id": 4812, "comment": {"body": "Hey Ada, ...",
                                                              "public": True}}}


def test_internal_note(zd):
    client_for(zd).add_comment(4813, "Closed without reply (low priority).", public=False)
    assert zd.posted_comments(4813)[0]["public"] is False


def test_429_retry_after_is_honoured(zd):
    zd.fail_next(429, retry_after="1", path_contains="/tickets/4812")
    started = time.monotonic()
    client_for(zd).set_status(4812, "solved")
    assert time.monotonic() - started >= 0.9
    assert zd.tickets[4812]["status"] == "solved"
    assert len(zd.calls("PUT", "/api/v2/tickets/4812.json")) == 2


def test_429_beyond_the_budget_is_a_clear_error(zd):
    zd.fail_next(429, retry_after="30", path_contains="/tickets/4812")
    client = client_for(zd)
    client.zenpy.tickets.ratelimit_budget = 2
    with pytest.raises(ZendeskError, match="rate limited"):
        client.set_status(4812, "solved")


def test_500_is_retried_then_a_clear_error(zd):
    zd.fail_next(500, times=10, path_contains="/tickets/4812", method="PUT")
    with pytest.raises(ZendeskError, match=r"status of 4812 failed after 3 attempts"):
        client_for(zd).set_status(4812, "solved")
    assert len(zd.calls("PUT", "/api/v2/tickets/4812.json")) == 3
    assert zd.tickets[4812]["status"] == "new"


def test_a_write_is_not_sent_again_when_the_look_up_fails_too(zd):
    zd.fail_next(500, times=10, path_contains="/tickets/4812")  # reads fail as well
    with pytest.raises(ZendeskError, match=r"comment on 4812 failed \(500\) and whether "
                                           r"it landed is unknown"):
        client_for(zd).add_comment(4812, "Hey Ada", public=True)
    assert len(zd.calls("PUT", "/api/v2/tickets/4812.json")) == 1  # never re-sent blind


#: The failures that come AFTER Zendesk applied the update, as `fakes.http_base` scripts them.
LANDED_THEN = {
    "502": lambda fake, **match: fake.fail_next(502, applied=True, **match),
    "dropped connection": lambda fake, **match: fake.drop_next(**match),
    "timeout": lambda fake, **match: fake.delay_next(3.0, **match),
}


def _short_timeout(client: ZendeskClient) -> ZendeskClient:
    client.zenpy.tickets.timeout = 0.5  # zenpy's per-endpoint timeout (Zenpy(timeout=...))
    return client


@pytest.mark.parametrize("public", [True, False], ids=["public reply", "internal note"])
@pytest.mark.parametrize("failure", list(LANDED_THEN))
def test_a_comment_that_landed_before_a_failure_is_not_posted_again(zd, failure, public):
    LANDED_THEN[failure](zd, path_contains="/tickets/4812.json", method="PUT")
    result = _short_timeout(client_for(zd)).add_comment(4812, "Hey Ada, fixed.", public=public)
    [comment] = zd.posted_comments(4812)
    assert comment["body"] == "Hey Ada, fixed." and comment["public"] is public
    assert result["comment_id"] == comment["id"] and result["public"] is public
    assert len(zd.calls("PUT", "/api/v2/tickets/4812.json")) == 1


@pytest.mark.parametrize("failure", list(LANDED_THEN))
def test_a_status_update_that_landed_before_a_failure_is_not_sent_again(zd, failure):
    LANDED_THEN[failure](zd, path_contains="/tickets/4812.json", method="PUT")
    result = _short_timeout(client_for(zd)).set_status(4812, "pending")
    assert result == {"ticket": 4812, "status": "pending"}
    assert zd.tickets[4812]["status"] == "pending"
    assert len(zd.calls("PUT", "/api/v2/tickets/4812.json")) == 1


def test_a_comment_refused_before_it_landed_is_sent_again_once(zd):
    zd.fail_next(502, path_contains="/tickets/4812.json", method="PUT")  # nothing applied
    zd.drop_next(path_contains="/tickets/4812.json", method="PUT", applied=False)
    result = client_for(zd).add_comment(4812, "Hey Ada", public=True)
    [comment] = zd.posted_comments(4812)
    assert result["comment_id"] == comment["id"]
    assert len(zd.calls("PUT", "/api/v2/tickets/4812.json")) == 3
    assert len(zd.calls("GET", "/api/v2/tickets/4812/comments.json")) == 2  # before each


def test_the_same_text_as_an_internal_note_does_not_count_as_the_public_reply(zd):
    client = client_for(zd)
    client.add_comment(4812, "Hey Ada", public=False)
    zd.fail_next(502, path_contains="/tickets/4812.json", method="PUT")  # nothing applied
    client.add_comment(4812, "Hey Ada", public=True)
    assert [c["public"] for c in zd.posted_comments(4812)] == [False, True]


def test_one_500_then_success(zd):
    zd.fail_next(500, path_contains="/tickets/4812")
    client_for(zd).add_comment(4812, "Hey Ada", public=True)
    assert len(zd.posted_comments(4812)) == 1


def test_not_configured_and_ids():
    settings = SimpleNamespace(zendesk_subdomain=None, zendesk_email=None, zendesk_token=None)
    with pytest.raises(ZendeskError, match="SIDEKICK_ZENDESK_SUBDOMAIN"):
        make_zendesk(settings)
    assert zendesk_id("zd-4812") == 4812 and zendesk_id("slack-C1-1.2") is None


def test_429_without_retry_after_is_retried_with_backoff(zd):
    zd.fail_next(429, path_contains="/tickets/4812")
    client_for(zd).set_status(4812, "solved")
    assert zd.tickets[4812]["status"] == "solved"


def test_the_look_up_matches_a_reply_whose_whitespace_came_back_different(zd):
    zd.comments[4812].append(zd._comment("Hey Ada,\r\n\r\nit is fixed.  ", True, 1))
    client = client_for(zd)
    found = client.find_comment(4812, "Hey Ada,\n\nit is fixed.")
    assert found is not None and found["id"] == zd.comments[4812][-1]["id"]
    assert client.find_comment(4812, "Hey Ada, it is not fixed.") is None
    assert client.find_comment(4812, "Hey Ada,\n\nit is fixed.", public=False) is None
