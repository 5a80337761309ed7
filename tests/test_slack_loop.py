"""A slow Slack never holds up the API: `POST /tickets` is acknowledged while a Slack request
is still in flight.

Slack is slow here the way it is in production: the fake holds `conversations.replies`, so
the 🎫 listeners occupy every one of Bolt's listener threads, and a modal submission that arrives
next waits (up to Bolt's 3 s ack timeout) for its listener to acknowledge it. Before the
Slack handler ran in the thread pool, that wait ran on the event loop and the ticket's
acknowledgement came only after it.
"""

from __future__ import annotations

import threading

from fakes.slack_server import FakeSlack
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import (
    CS,
    HERO,
    SECRET,
    TOKEN,
    event_callback,
    post_event,
    post_interaction,
    view_submission,
    wait_for,
)

from app.api.main import create_app
from app.settings import Settings
from app.slack.app import LISTENER_THREADS
from app.slack.blocks import DRAFT_INPUT, EDIT_VIEW

API_TOKEN = "loop-test-token"
#: slack_bolt.App's own listener pool: ThreadPoolExecutor(max_workers=5).
BOLT_DEFAULT_THREADS = 5


def _settings(slack: FakeSlack, tmp_path) -> Settings:
    return Settings(env="test", home=tmp_path / "home", api_tokens=API_TOKEN,
                    database_url=f"sqlite:///{tmp_path / 'store.db'}",
                    zendesk_webhook_secret="loop-webhook-secret",
                    slack_bot_token=SecretStr(TOKEN), slack_signing_secret=SecretStr(SECRET),
                    slack_api_url=slack.api_url, slack_customer_channels=["CCUST"],
                    slack_rotation={"replay": [HERO]}, llm_base_url=None, llm_api_key=None)


def _reaction(slack: FakeSlack, n: int) -> dict:
    root = slack.post("CCUST", f"Exports are stuck ({n})", user="UCUST")
    return event_callback({"type": "reaction_added", "user": CS, "reaction": "ticket",
                           "item": {"type": "message", "channel": "CCUST", "ts": root},
                           "event_ts": "1.0"}, f"EvLoop{n}")


def test_a_ticket_is_acknowledged_while_a_slow_slack_request_is_in_flight(tmp_path):
    with FakeSlack(TOKEN) as slack:
        slack.add_user("UCUST", "Cory Customer")
        app = create_app(_settings(slack, tmp_path), start_worker=False)
        replies = slack.hold("conversations.replies")
        with TestClient(app) as http:
            http.headers["Authorization"] = f"Bearer {API_TOKEN}"
            in_dispatch = threading.Event()

            @app.state.slack_handler.app.middleware
            def mark(body, next):  # noqa: A002, ANN001 - Bolt's names
                if body.get("type") == "view_submission":
                    in_dispatch.set()
                return next()

            try:
                for n in range(LISTENER_THREADS):
                    assert post_event(http, _reaction(slack, n)).status_code == 200
                wait_for(lambda: replies.waiting == LISTENER_THREADS)
                # An empty edit: its listener only acks (with an error), once it gets a thread.
                submission = view_submission(
                    EDIT_VIEW, {"ticket_id": "zd-1", "channel": "C1", "ts": "1.1"},
                    {DRAFT_INPUT: {DRAFT_INPUT: {"type": "plain_text_input", "value": " "}}},
                    user=HERO)
                slack_done = threading.Event()

                def submit() -> None:
                    post_interaction(http, submission)
                    slack_done.set()

                slack_request = threading.Thread(target=submit, daemon=True)
                slack_request.start()
                assert in_dispatch.wait(30), "the Slack request never reached Bolt"
                ticket = {"id": "loop-1", "source": "community", "subject": "Export help"}
                response = http.post("/tickets", json=ticket)
                slack_in_flight = not slack_done.is_set()
            finally:
                replies.release()
            slack_request.join(30)
            assert response.status_code in (200, 201, 202)
            assert slack_in_flight, ("POST /tickets was acknowledged only after the Slack "
                                     "request finished: Bolt ran on the event loop")
            # The held reactions end too (their last Slack call) before the fake stops.
            wait_for(lambda: len(slack.posted("users.info")) == LISTENER_THREADS)


def test_a_click_is_acknowledged_while_slack_keeps_several_listeners_waiting(tmp_path):
    """Bolt's default five listener threads, all waiting on Slack, made every click time out."""
    with FakeSlack(TOKEN) as slack:
        slack.add_user("UCUST", "Cory Customer")
        app = create_app(_settings(slack, tmp_path), start_worker=False)
        replies = slack.hold("conversations.replies")
        busy = BOLT_DEFAULT_THREADS + 3  # more than Bolt's default pool, fewer than ours
        with TestClient(app) as http:
            try:
                for n in range(busy):
                    assert post_event(http, _reaction(slack, n)).status_code == 200
                wait_for(lambda: replies.waiting >= BOLT_DEFAULT_THREADS)
                submission = view_submission(
                    EDIT_VIEW, {"ticket_id": "zd-1", "channel": "C1", "ts": "1.1"},
                    {DRAFT_INPUT: {DRAFT_INPUT: {"type": "plain_text_input", "value": " "}}},
                    user=HERO)
                answer = post_interaction(http, submission)
            finally:
                replies.release()
            wait_for(lambda: len(slack.posted("users.info")) == busy)  # the reactions ended
        assert answer.status_code == 200, "the modal's listener never got a thread to ack"
        assert answer.json()["errors"] == {DRAFT_INPUT: "The reply can't be empty."}
