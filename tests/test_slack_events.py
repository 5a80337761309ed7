"""Slack events through the mounted Bolt app: 🎫 reactions and CS escalations, retries deduped."""

from __future__ import annotations

import time

import pytest
from fakes.slack_server import FakeSlack
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import (
    CS,
    HERO,
    SECRET,
    TOKEN,
    RecordingSink,
    event_callback,
    post_event,
    wait_for,
)
from slack_sdk import WebClient

from agent.teams import load_teams
from app.settings import Settings
from app.slack.app import build_slack_app, mount_slack


class NoService:
    """Events never reach the triage service."""


@pytest.fixture
def world(tmp_path):
    with FakeSlack(TOKEN) as slack:
        slack.add_user("UCUST", "Cory Customer")
        settings = Settings(
            home=tmp_path, slack_bot_token=SecretStr(TOKEN),
            slack_signing_secret=SecretStr(SECRET), slack_api_url=slack.api_url,
            slack_cs_channel="CCS", slack_customer_channels=["CCUST", "CACME"],
            slack_rotation={"replay": [HERO]},
            slack_channel_orgs={"CACME": {"name": "Acme", "plan": "paid"}})
        sink = RecordingSink()
        bolt = build_slack_app(settings, NoService(), sink=sink, escalations=sink,
                               client=WebClient(token=TOKEN, base_url=slack.api_url),
                               teams=load_teams())
        api = FastAPI()
        mount_slack(api, bolt)
        with TestClient(api) as http:
            yield http, slack, sink


def reaction(channel: str, ts: str, name: str = "ticket") -> dict:
    return {"type": "reaction_added", "user": CS, "reaction": name, "item_user": "UCUST",
            "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": "1.0"}


def test_a_ticket_reaction_makes_one_ticket_even_when_slack_retries(world):
    http, slack, sink = world
    root = slack.post("CCUST", "Our funnels show zero conversions\nsince Monday", user="UCUST")
    slack.post("CCUST", "It's the signup funnel", user="UCUST", thread_ts=root)
    envelope = event_callback(reaction("CCUST", root), "Ev001")
    assert post_event(http, envelope).status_code == 200
    wait_for(lambda: sink.accepted)
    assert post_event(http, envelope, retry=1).status_code == 200
    assert post_event(http, envelope, retry=2).status_code == 200
    time.sleep(0.3)
    assert sink.accepted == [f"slack-CCUST-{root}"]
    ticket = sink.tickets[sink.accepted[0]]
    assert ticket["source"] == "slack" and ticket["subject"] == "Our funnels show zero conversions"
    assert "signup funnel" in ticket["body"]
    assert ticket["requester"]["name"] == "Cory Customer"


def test_a_ticket_thread_is_high_priority_and_its_channel_names_the_customer(world):
    from agent.models import Ticket
    from agent.policy import priority_for

    http, slack, sink = world
    plain = slack.post("CCUST", "Exports stopped", user="UCUST")
    acme = slack.post("CACME", "Our flags stopped evaluating", user="UCUST")
    post_event(http, event_callback(reaction("CCUST", plain), "Ev010"))
    post_event(http, event_callback(reaction("CACME", acme), "Ev011"))
    wait_for(lambda: len(sink.accepted) == 2)
    unknown = Ticket.from_integration(sink.tickets[f"slack-CCUST-{plain}"])
    known = Ticket.from_integration(sink.tickets[f"slack-CACME-{acme}"])
    assert unknown.organization.plan is None and known.organization.model_dump() == {
        "name": "Acme", "plan": "paid"}
    # The newer handbook page: 🎫 threads are normally high priority; a known plan decides.
    assert priority_for(unknown).priority == "high"
    assert priority_for(known).priority == "normal"


def test_a_reaction_on_a_reply_makes_a_ticket_of_the_whole_thread(world):
    http, slack, sink = world
    root = slack.post("CCUST", "Exports are stuck", user="UCUST")
    reply = slack.post("CCUST", "Still stuck today", user="UCUST", thread_ts=root)
    post_event(http, event_callback(reaction("CCUST", reply), "Ev002"))
    wait_for(lambda: sink.accepted)
    assert sink.accepted == [f"slack-CCUST-{root}"]


def test_other_reactions_and_channels_are_ignored(world):
    http, slack, sink = world
    root = slack.post("CCUST", "hi", user="UCUST")
    other = slack.post("CRANDOM", "hi", user="UCUST")
    post_event(http, event_callback(reaction("CCUST", root, "eyes"), "Ev003"))
    post_event(http, event_callback(reaction("CRANDOM", other), "Ev004"))
    time.sleep(0.3)
    assert sink.accepted == []


def message(text: str, ts: str = "1700000500.000100") -> dict:
    return {"type": "message", "channel": "CCS", "user": CS, "text": text, "ts": ts,
            "channel_type": "channel", "event_ts": ts}


def test_a_cs_mention_escalates_the_named_ticket_once(world):
    http, slack, sink = world
    envelope = event_callback(message(f"<@{HERO}> can you look at zd-4812? Acme is upset"),
                              "Ev010")
    post_event(http, envelope)
    wait_for(lambda: sink.escalated)
    post_event(http, envelope, retry=1)
    time.sleep(0.3)
    assert sink.escalated == ["zd-4812"] and sink.accepted == []


def test_a_cs_mention_without_a_ticket_becomes_an_escalated_ticket(world):
    http, slack, sink = world
    post_event(http, event_callback(message(f"<@{HERO}> Acme's replays are all blank"), "Ev011"))
    wait_for(lambda: sink.accepted)
    ticket = sink.tickets[sink.accepted[0]]
    assert ticket["cs_escalated"] is True and ticket["id"].startswith("slack-CCS-")


def test_cs_messages_without_a_hero_mention_are_ignored(world):
    http, slack, sink = world
    post_event(http, event_callback(message("<@USOMEONE> lunch?"), "Ev012"))
    post_event(http, event_callback(message("no mention zd-1"), "Ev013"))
    time.sleep(0.3)
    assert sink.accepted == [] and sink.escalated == []


def test_a_forged_event_is_refused(world):
    http, slack, sink = world
    body = '{"type": "event_callback", "event_id": "Ev9"}'
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp":
               str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
    assert http.post("/slack/events", content=body, headers=headers).status_code == 401
