"""A 🎫 reaction survives Slack's rate limits and errors: no ticket is lost, none is doubled.

The app runs as `sidekick serve` builds it: the client from `make_slack_client`, handled
events recorded in the store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest
from fakes.slack_server import FakeSlack
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import CS, SECRET, TOKEN, RecordingSink, event_callback, post_event, wait_for

from agent.teams import load_teams
from app.settings import Settings
from app.slack.app import build_slack_app, mount_slack
from app.store.seen import SeenStore
from tools.slack import RATE_LIMIT_RETRIES, SERVER_ERROR_RETRIES, make_slack_client


class NoService:
    """Events never reach the triage service."""


def _world(slack: FakeSlack, store_engine, tmp_path, retry_s: tuple[float, ...]):
    settings = Settings(home=tmp_path, slack_bot_token=SecretStr(TOKEN),
                        slack_signing_secret=SecretStr(SECRET), slack_api_url=slack.api_url,
                        slack_customer_channels=["CCUST"])
    sink = RecordingSink()
    bolt = build_slack_app(settings, NoService(), sink=sink, client=make_slack_client(settings),
                           teams=load_teams(), engine=store_engine, event_retry_s=retry_s)
    api = FastAPI()
    mount_slack(api, bolt)
    return api, sink


@pytest.fixture
def slack():
    with FakeSlack(TOKEN) as fake:
        fake.add_user("UCUST", "Cory Customer")
        yield fake


def _reaction(slack: FakeSlack, event_id: str) -> tuple[dict, str]:
    root = slack.post("CCUST", "Exports are stuck since Monday", user="UCUST")
    event = {"type": "reaction_added", "user": CS, "reaction": "ticket", "item_user": "UCUST",
             "item": {"type": "message", "channel": "CCUST", "ts": root}, "event_ts": "1.0"}
    return event_callback(event, event_id), f"slack-CCUST-{root}"


def test_a_429_on_the_thread_read_is_waited_out_and_the_ticket_made(slack, store_engine,
                                                                     tmp_path):
    api, sink = _world(slack, store_engine, tmp_path, retry_s=())
    envelope, ticket_id = _reaction(slack, "EvRate1")
    slack.fail_next(429, retry_after="1", path_contains="conversations.replies")
    with TestClient(api) as http:
        assert post_event(http, envelope).status_code == 200
        wait_for(lambda: sink.accepted)
        wait_for(lambda: SeenStore(store_engine).handled("event:EvRate1"))
        assert post_event(http, envelope, retry=1).status_code == 200  # Slack's redelivery
    assert sink.accepted == [ticket_id]
    assert sink.tickets[ticket_id]["subject"] == "Exports are stuck since Monday"
    assert not (tmp_path / "slack_seen.sqlite").exists()  # no side file: the store has it


def test_a_429_that_outlasts_the_client_retries_is_handled_on_a_later_attempt(
        slack, store_engine, tmp_path):
    api, sink = _world(slack, store_engine, tmp_path, retry_s=(0.05,))
    envelope, ticket_id = _reaction(slack, "EvRate2")
    slack.fail_next(429, retry_after="0", times=RATE_LIMIT_RETRIES + 1,
                    path_contains="conversations.replies")
    with TestClient(api) as http:
        assert post_event(http, envelope).status_code == 200
        wait_for(lambda: sink.accepted)
        wait_for(lambda: SeenStore(store_engine).handled("event:EvRate2"))
    assert sink.accepted == [ticket_id]
    assert len(slack.posted("conversations.replies")) == RATE_LIMIT_RETRIES + 2


def test_a_failed_handling_is_not_recorded_so_slacks_redelivery_makes_the_ticket(
        slack, store_engine, tmp_path):
    api, sink = _world(slack, store_engine, tmp_path, retry_s=())
    envelope, ticket_id = _reaction(slack, "EvDown")
    slack.fail_next(500, times=SERVER_ERROR_RETRIES + 1, path_contains="conversations.replies")
    with TestClient(api) as http:
        assert post_event(http, envelope).status_code == 200
        wait_for(lambda: len(slack.posted("conversations.replies")) == SERVER_ERROR_RETRIES + 1)
        # Slack redelivers (our answer came late, say): this delivery must not be "seen".
        assert post_event(http, envelope, retry=1).status_code == 200
        wait_for(lambda: sink.accepted)
        wait_for(lambda: SeenStore(store_engine).handled("event:EvDown"))
    assert sink.accepted == [ticket_id]
