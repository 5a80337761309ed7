"""tools/slack.py against the fake Slack failing the way Slack does: 429s, 5xx, lost answers."""

from __future__ import annotations

import pytest
from fakes.slack_server import FakeSlack
from pydantic import SecretStr
from slack_helpers import TOKEN
from slack_sdk.errors import SlackApiError

from app.settings import Settings
from tools.channels import ChannelOutbox
from tools.outbox import LocalOutbox
from tools.slack import (
    RATE_LIMIT_RETRIES,
    SERVER_ERROR_RETRIES,
    make_slack_client,
    post_once,
    thread_messages,
)


@pytest.fixture
def slack():
    with FakeSlack(TOKEN) as fake:
        fake.add_user("UCUST", "Cory Customer")
        yield fake


@pytest.fixture
def client(slack, tmp_path):
    """The client `sidekick serve` builds, pointed at the fake."""
    return make_slack_client(Settings(home=tmp_path, slack_bot_token=SecretStr(TOKEN),
                                      slack_api_url=slack.api_url))


def _thread(slack: FakeSlack) -> str:
    root = slack.post("CCUST", "Exports are stuck", user="UCUST")
    slack.post("CCUST", "Still stuck", user="UCUST", thread_ts=root)
    return root


def test_a_429_on_a_read_waits_out_retry_after_and_reads(slack, client):
    root = _thread(slack)
    slack.fail_next(429, retry_after="1", path_contains="conversations.replies")
    messages = thread_messages(client, "CCUST", root)
    assert [m["text"] for m in messages] == ["Exports are stuck", "Still stuck"]
    assert len(slack.posted("conversations.replies")) == 2


def test_a_429_that_outlasts_the_retries_is_an_error_not_an_empty_thread(slack, client):
    root = _thread(slack)
    slack.fail_next(429, retry_after="0", times=RATE_LIMIT_RETRIES + 1,
                    path_contains="conversations.replies")
    with pytest.raises(SlackApiError) as failed:
        thread_messages(client, "CCUST", root)
    assert failed.value.response.status_code == 429
    assert len(slack.posted("conversations.replies")) == RATE_LIMIT_RETRIES + 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_a_read_is_retried(slack, client, status):
    root = _thread(slack)
    slack.fail_next(status, times=SERVER_ERROR_RETRIES, path_contains="conversations.replies")
    assert len(thread_messages(client, "CCUST", root)) == 2


def test_a_429_on_a_post_is_retried_and_posts_once(slack, client):
    root = _thread(slack)
    slack.fail_next(429, retry_after="0", path_contains="chat.postMessage")
    posted = post_once(client, "CCUST", "Hey Cory, fixed.", key="k-429", thread_ts=root)
    replies = [m for m in slack.messages["CCUST"] if m["text"] == "Hey Cory, fixed."]
    assert [m["ts"] for m in replies] == [posted["ts"]]


@pytest.mark.parametrize("failure", ["502 after applying", "500 after applying",
                                     "dropped after applying"])
def test_a_post_that_landed_then_failed_is_found_not_posted_again(slack, client, failure):
    root = _thread(slack)
    if failure.startswith("dropped"):
        slack.drop_after_apply("chat.postMessage")
    else:
        slack.fail_after_apply("chat.postMessage", int(failure[:3]))
    posted = post_once(client, "CCUST", "Hey Cory, fixed.", key="k-landed", thread_ts=root)
    replies = [m for m in slack.messages["CCUST"] if m["text"] == "Hey Cory, fixed."]
    assert len(replies) == 1, f"{failure}: the reply was posted {len(replies)} times"
    assert posted["ts"] == replies[0]["ts"] and posted["already_posted"] is True
    assert len(slack.posted("chat.postMessage")) == 1


def test_a_post_that_failed_before_applying_is_posted_on_the_next_attempt(slack, client):
    root = _thread(slack)
    slack.fail_next(502, path_contains="chat.postMessage")
    posted = post_once(client, "CCUST", "Hey Cory, fixed.", key="k-lost", thread_ts=root)
    replies = [m for m in slack.messages["CCUST"] if m["text"] == "Hey Cory, fixed."]
    assert [m["ts"] for m in replies] == [posted["ts"]] and posted["already_posted"] is False
    assert len(slack.posted("chat.postMessage")) == 2


def test_an_approved_reply_to_a_slack_thread_is_posted_once_when_the_answer_is_lost(
        slack, client, tmp_path):
    """Through the delivery channel, as an approval sends it, then the same key again."""
    root = _thread(slack)
    outbox = ChannelOutbox(LocalOutbox(tmp_path / "ledger.sqlite"), slack=client)
    slack.drop_after_apply("chat.postMessage")
    payload = {"body": "Hey Cory, the export is running again.", "public": True}
    first = outbox.deliver(key="slack-CCUST:approve:1", ticket_id=f"slack-CCUST-{root}",
                           payload=payload)
    again = outbox.deliver(key="slack-CCUST:approve:1", ticket_id=f"slack-CCUST-{root}",
                           payload=payload)
    replies = [m for m in slack.messages["CCUST"] if m["text"] == payload["body"]]
    assert len(replies) == 1 and replies[0]["thread_ts"] == root
    assert first["results"]["slack"]["ts"] == replies[0]["ts"]
    assert again["first_delivery"] is False


def test_text_posted_as_plain_text_reaches_slack_escaped(slack, client):
    root = _thread(slack)
    post_once(client, "CCUST", "Hey <!channel>, see <https://evil.example|docs> & <@U1>",
              key="k-esc", thread_ts=root)
    [sent] = slack.posted("chat.postMessage")
    assert sent["text"] == ("Hey &lt;!channel&gt;, see &lt;https://evil.example|docs&gt; "
                            "&amp; &lt;@U1&gt;")


def test_a_thread_becomes_a_ticket_in_the_words_the_customer_typed(slack, client):
    """Slack sends `<` as `&lt;` and links and mentions as `<...>`: the ticket spells them out."""
    from tools.slack import ticket_from_thread

    root = slack.post("CCUST", "Funnel &lt;signup&gt; is empty &amp; <!here> should know",
                      user="UCUST")
    slack.post("CCUST", "See <https://acme.example/f/1|our funnel>, cc <@U0CS|dana> "
                        "and <https://acme.example/raw>; I typed &amp;lt; too", user="UCUST",
               thread_ts=root)
    ticket = ticket_from_thread(client, "CCUST", thread_messages(client, "CCUST", root))
    assert ticket["subject"] == "Funnel <signup> is empty & @here should know"
    assert ticket["body"].endswith("See our funnel (https://acme.example/f/1), cc @dana and "
                                   "https://acme.example/raw; I typed &lt; too")
