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
