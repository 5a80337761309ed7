"""Conversations through the channels: Zendesk comments read by the view poller.

The real zenpy client talks to the local fake Zendesk; the store runs on SQLite and
PostgreSQL. created → draft → approve → the customer comments in Zendesk → a follow-up draft
in the same thread → approve → two replies in Zendesk, each once.
"""

from __future__ import annotations

import pytest
from fakes.zendesk_server import FakeZendesk
from pydantic import SecretStr

from agent.decisions import Decision
from app.api.main import open_runtime

VIEW = 360002
API_USER = 1  # the fake's author id for comments posted through the API
AGENT = 42  # a person at PostHog answering in Zendesk itself


@pytest.fixture
def zd():
    with FakeZendesk() as fake:
        fake.add_organization(7, "Acme", plan="paid")
        fake.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        fake.add_ticket(4901, subject="Session recordings are blank",
                        description="Every replay shows a blank screen since yesterday.",
                        requester_id=5, priority="normal", view=VIEW)
        yield fake


@pytest.fixture
def settings(api_settings, zd):
    return api_settings.model_copy(update={
        "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
        "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
        "zendesk_views": {"replay": VIEW}, "zendesk_poll_s": 60,
        "zendesk_max_retries": 1, "zendesk_ratelimit_budget_s": 2,
    })


def approve(runtime, ticket_id: str):
    version = runtime.desk.service.get(ticket_id).version
    return runtime.desk.decide(ticket_id, Decision(action="approve", by="hero",
                                                   version=version))


def test_a_zendesk_comment_gets_a_follow_up_and_each_reply_is_posted_once(
        settings, warm_context, zd):
    with open_runtime(settings, context=warm_context) as runtime:
        [poller] = runtime.worker.intake
        assert poller.poll_once() == ["zd-4901"]
        runtime.worker.drain()
        approve(runtime, "zd-4901")
        [first] = zd.posted_comments(4901)
        assert zd.tickets[4901]["status"] == "pending"  # out of the view until it changes
        assert poller.poll_once() == []
        zd.reply(4901, "We use posthog-js 1.160.0 on Chrome 120. The replays are all blank.")
        # The round reads both comments: our own reply (by the API user: recognised as
        # Sidekick's, not a person answering outside it) and the customer's.
        assert poller.poll_once() == ["zd-4901"]
        assert poller.poll_once() == []  # nothing new since
        assert runtime.worker.drain() == ["zd-4901"]
        follow = runtime.desk.service.get("zd-4901")
        assert follow.turn == 2 and follow.status == "awaiting_review"
        assert "version" not in follow.draft.body.lower()
        approve(runtime, "zd-4901")
        comments = zd.posted_comments(4901)
        ours = [c for c in comments if c["author_id"] == API_USER]
        assert len(ours) == 2 and ours[0]["body"] == first["body"]
        assert follow.draft.body.split("\n\n")[1] in ours[1]["body"]
        sent = runtime.desk.service.get("zd-4901")
        # The ticket, our reply, its echo from Zendesk (recognised), the customer, our reply.
        assert [e.author for e in sent.conversation] == [
            "customer", "sidekick", "sidekick", "customer", "sidekick"]
        # Polled again after the second reply: still two replies, nothing re-sent.
        zd.tickets[4901]["updated_at"] = "2026-11-22T13:00:00Z"
        poller.poll_once()
        runtime.worker.drain()
        assert len([c for c in zd.posted_comments(4901) if c["author_id"] == API_USER]) == 2


def test_an_agent_answering_in_zendesk_supersedes_the_waiting_draft(
        settings, warm_context, zd):
    with open_runtime(settings, context=warm_context) as runtime:
        [poller] = runtime.worker.intake
        poller.poll_once()
        runtime.worker.drain()
        zd.reply(4901, "Hi Ada, I called you: it was the ad blocker.", author_id=AGENT)
        assert poller.poll_once() == ["zd-4901"]
        runtime.worker.drain()
        result = runtime.desk.service.get("zd-4901")
        assert result.status == "superseded"
        assert [h.outcome for h in result.history] == ["superseded"]
        # Nothing was sent by Sidekick, and the ticket left the hero's queue.
        assert [c for c in zd.posted_comments(4901) if c["author_id"] == API_USER] == []
        from sqlalchemy.orm import Session

        from app.store import repo
        with Session(runtime.engine) as session:
            assert repo.get_ticket(session, "zd-4901").status == "superseded"



def test_the_same_words_on_a_later_turn_are_a_new_reply_not_a_duplicate(
        settings, warm_context, zd):
    """Zendesk comments carry no marker: the look-up for "already posted?" must not take an
    earlier turn's identical reply for this one (the customer would get no answer)."""
    with open_runtime(settings, context=warm_context) as runtime:
        [poller] = runtime.worker.intake
        poller.poll_once()
        runtime.worker.drain()
        approve(runtime, "zd-4901")
        bodies = []
        for n in (1, 2):
            zd.reply(4901, "Thanks, that fixed it!")
            assert poller.poll_once() == ["zd-4901"]
            runtime.worker.drain()
            result = runtime.desk.service.get("zd-4901")
            assert result.stage == "resolved" and result.turn == n + 1
            bodies.append(result.draft.body)
            approve(runtime, "zd-4901")
        assert bodies[0] == bodies[1]  # the same closing words, twice
        ours = [c for c in zd.posted_comments(4901) if c["author_id"] == API_USER]
        assert len(ours) == 3 and ours[1]["body"] == ours[2]["body"]


# --- the event webhook: ticket.created, then ticket.comment_added ---

def _signed(client, event: dict) -> int:
    import json

    from db_fixtures import WEBHOOK_SECRET

    from app.api.routes.zendesk_webhook import SIGNATURE, TIMESTAMP, sign

    body = json.dumps(event).encode()
    stamp = "2026-11-26T01:00:00Z"
    return client.post("/webhooks/zendesk", content=body, headers={
        SIGNATURE: sign(WEBHOOK_SECRET, stamp, body), TIMESTAMP: stamp,
        "Content-Type": "application/json"})


def _event(kind: str, detail: dict, event: dict, event_id: str) -> dict:
    return {"type": f"zen:event-type:ticket.{kind}", "account_id": 1, "id": event_id,
            "time": "2026-11-26T01:00:00Z", "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{detail['id']}", "detail": detail, "event": event}


DETAIL = {"id": "4901", "subject": "Session recordings are blank", "requester_id": "5",
          "description": "Every replay shows a blank screen since yesterday.",
          "priority": "NORMAL", "status": "NEW"}


def test_webhook_comment_events_follow_up_once_each(settings, warm_context, zd):
    from db_fixtures import TOKEN, runtime_of
    from fastapi.testclient import TestClient

    from app.api.main import create_app

    settings = settings.model_copy(update={"zendesk_views": {}})
    app = create_app(settings, context=warm_context, start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        runtime = runtime_of(client)
        assert _signed(client, _event("created", DETAIL, {}, "e1")).status_code == 202
        runtime.worker.drain()
        approve(runtime, "zd-4901")
        comment = {"comment": {"id": "9001", "body": "posthog-js 1.160.0, Chrome 120.",
                               "is_public": True,
                               "author": {"id": "5", "is_staff": False, "name": "Ada"}}}
        answers = [_signed(client, _event("comment_added", DETAIL, comment, f"e{n}"))
                   for n in (2, 3, 4)]  # Zendesk redelivers
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert [a.json()["message_duplicate"] for a in answers] == [False, True, True]
        assert runtime.worker.drain() == ["zd-4901"]
        follow = runtime.desk.service.get("zd-4901")
        assert follow.turn == 2 and [e.id for e in follow.conversation].count(
            "zd-comment-9001") == 1
        approve(runtime, "zd-4901")
        assert len([c for c in zd.posted_comments(4901) if c["author_id"] == API_USER]) == 2
        bad = {"comment": {"id": "x", "body": "hi", "author": {"id": "5"}}}
        response = _signed(client, _event("comment_added", DETAIL, bad, "e5"))
        assert response.status_code == 422 and "comment" in response.text


# --- Slack: a 🎫 thread, then the customer's reply in the thread ---


@pytest.fixture
def slack_api(api_settings, warm_context):
    """The API with Slack on (a fake Slack, a customer channel, every team's rotation)."""
    from db_fixtures import TOKEN
    from fakes.slack_server import FakeSlack
    from fastapi.testclient import TestClient
    from slack_helpers import HERO, SECRET

    from app.api.main import create_app

    slack_token = "xoxb-test"
    with FakeSlack(slack_token) as slack:
        slack.add_user("UCUST", "Cory Customer")
        teams = warm_context.teams
        channels = {t.slug: f"C{t.slug.upper().replace('-', '')}" for t in teams}
        settings = api_settings.model_copy(update={
            "slack_bot_token": SecretStr(slack_token), "slack_signing_secret": SecretStr(SECRET),
            "slack_api_url": slack.api_url, "slack_customer_channels": ["CCUST"],
            "slack_team_channels": channels, "slack_rotation": {t.slug: [HERO] for t in teams}})
        app = create_app(settings, context=warm_context, start_worker=False)
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client, slack, channels


def _ticket_thread(client, slack, text: str, event_id: str) -> tuple[str, str]:
    """A customer's thread marked 🎫 and triaged: (its root ts, the ticket id)."""
    from db_fixtures import runtime_of
    from slack_helpers import CS, event_callback, post_event, wait_for

    root = slack.post("CCUST", text, user="UCUST")
    tid = f"slack-CCUST-{root}"
    post_event(client, event_callback(
        {"type": "reaction_added", "user": CS, "reaction": "ticket", "item_user": "UCUST",
         "item": {"type": "message", "channel": "CCUST", "ts": root}, "event_ts": "1.0"},
        event_id))
    wait_for(lambda: runtime_of(client).worker.drain() == [tid])
    return root, tid


def test_a_reply_in_a_ticket_thread_gets_a_follow_up_and_two_replies_in_the_thread(slack_api):
    from db_fixtures import runtime_of
    from slack_helpers import event_callback, post_event, wait_for

    client, slack, _ = slack_api
    runtime = runtime_of(client)
    root, tid = _ticket_thread(client, slack, "Session replays are all blank since yesterday",
                               "EvT1")
    approve(runtime, tid)
    text = "We are on posthog-js 1.160.0 and Chrome 120."
    reply = slack.post("CCUST", text, user="UCUST", thread_ts=root)
    event = {"type": "message", "channel": "CCUST", "user": "UCUST", "text": text, "ts": reply,
             "thread_ts": root, "team": "TPOSTHOG", "user_team": "TCUSTOMER"}
    for retry in (None, 1):  # Slack redelivers: one message
        post_event(client, event_callback(event, "EvT2"), retry=retry)
    wait_for(lambda: runtime.worker.drain() == [tid])
    follow = runtime.desk.service.get(tid)
    assert follow.turn == 2 and follow.status == "awaiting_review"
    assert [e.author for e in follow.conversation].count("customer") == 2
    approve(runtime, tid)
    ours = [m for m in slack.messages["CCUST"] if m.get("thread_ts") == root and m.get("bot_id")]
    assert len(ours) == 2
    # The bot's own posts in the thread come back as events: they are not messages.
    for n, mine in enumerate(ours):
        post_event(client, event_callback(
            {"type": "message", "channel": "CCUST", "bot_id": "BSIDEKICK", "text": mine["text"],
             "ts": mine["ts"], "thread_ts": root}, f"EvB{n}"))
    assert runtime.worker.drain() == []


def test_a_person_answering_in_the_thread_supersedes_the_draft_and_its_card_says_so(slack_api):
    from db_fixtures import runtime_of
    from slack_helpers import HERO, event_callback, post_event, wait_for

    client, slack, channels = slack_api
    runtime = runtime_of(client)
    root, tid = _ticket_thread(client, slack, "How do I exclude internal users from insights?",
                               "EvS1")
    [card] = [m for ch in channels.values() for m in slack.messages.get(ch, [])
              if any(b["type"] == "actions" for b in m["blocks"])]
    text = "Use a cohort filter, I'll send you the steps."
    answer = slack.post("CCUST", text, user=HERO, thread_ts=root)
    post_event(client, event_callback(
        {"type": "message", "channel": "CCUST", "user": HERO, "ts": answer, "text": text,
         "thread_ts": root, "team": "TPOSTHOG", "user_team": "TPOSTHOG"}, "EvS2"))
    wait_for(lambda: runtime.worker.drain() == [tid])
    assert runtime.desk.service.get(tid).status == "superseded"
    assert not [b for b in card["blocks"] if b["type"] == "actions"]
    assert "Answered outside Sidekick" in str(card["blocks"])
    assert [m for m in slack.messages["CCUST"] if m.get("bot_id")] == []
    assert runtime.outbox.deliveries(tid) == []
