"""The Bolt app mounted in FastAPI, with the real TriageService and a fake Slack Web API."""

from __future__ import annotations

import itertools
import json

import pytest
from fakes.slack_server import FakeSlack
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import (
    HERO,
    SECRET,
    STRANGER,
    TOKEN,
    RecordingSink,
    SpyService,
    block_action,
    post_interaction,
    view_submission,
    wait_for,
)
from slack_sdk import WebClient

from agent.models import Ticket
from app.settings import Settings
from app.slack.app import build_slack_app, mount_slack
from app.slack.blocks import (
    APPROVE,
    DRAFT_INPUT,
    EDIT,
    EDIT_VIEW,
    REASON_INPUT,
    REASSIGN,
    REJECT,
    REJECT_VIEW,
    parse_button_value,
)
from app.slack.notify import post_draft

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from app.service import open_service

    with open_service(Settings(home=tmp_path_factory.mktemp("slack-home"))) as svc:
        yield svc


@pytest.fixture
def slack():
    with FakeSlack(TOKEN) as fake:
        yield fake


@pytest.fixture
def surface(service, slack, tmp_path):
    teams = service.context.teams
    settings = Settings(
        home=tmp_path, slack_bot_token=SecretStr(TOKEN), slack_signing_secret=SecretStr(SECRET),
        slack_api_url=slack.api_url,
        slack_team_channels={t.slug: f"C{t.slug.upper().replace('-', '')}" for t in teams},
        slack_rotation={t.slug: [HERO] for t in teams})
    spy, sink = SpyService(service), RecordingSink()
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    bolt = build_slack_app(settings, spy, sink=sink, escalations=sink, client=client)
    api = FastAPI()
    mount_slack(api, bolt)
    with TestClient(api) as http:
        yield http, spy, settings, client


def waiting_draft(service, settings, client):
    """Triage a fresh ticket and post its review message: (ticket id, channel, ts)."""
    tid = f"slack-test-{next(_ids)}"
    service.triage(Ticket(id=tid, source="zendesk", subject="Session recordings are blank",
                          body="Every replay shows a blank screen since yesterday.",
                          requester={"name": "Ada Lovelace"}, organization={"plan": "paid"}))
    posted = post_draft(client, settings, service, tid)
    assert posted is not None
    return tid, posted["channel"], posted["ts"]


def test_the_draft_message_has_the_four_buttons(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    [msg] = slack.messages[channel]
    actions = [b for b in msg["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == [APPROVE, EDIT, REASSIGN, REJECT]
    assert {parse_button_value(a["value"]) for a in actions} == {(tid, 1)}
    assert post_draft(client, settings, spy, tid)["already_posted"] is True


def test_signed_approve_decides_once_and_updates_the_message(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    response = post_interaction(http, block_action(APPROVE, tid, user=HERO, channel=channel, ts=ts))
    assert response.status_code == 200
    update = wait_for(lambda: slack.posted("chat.update"))[0]
    assert update["ts"] == ts and f"<@{HERO}>" in update["text"]
    assert "What was sent" in str(update["blocks"])
    assert [d.action for t, d in spy.decisions if t == tid] == ["approve"]
    assert spy.get(tid).status == "delivered"


def test_a_retried_click_and_a_double_click_send_one_reply(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    click = block_action(APPROVE, tid, user=HERO, channel=channel, ts=ts, action_ts="1.1")
    assert post_interaction(http, click).status_code == 200
    assert post_interaction(http, click).status_code == 200  # the same delivery again
    second = block_action(APPROVE, tid, user=HERO, channel=channel, ts=ts, action_ts="1.2")
    assert post_interaction(http, second).status_code == 200
    wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert len(slack.posted("chat.update")) == 1
    assert "already decided" in slack.posted("chat.postEphemeral")[0]["text"]
    delivered = [d for t, d in spy.decisions if t == tid]
    assert len(delivered) <= 2 and spy.get(tid).status == "delivered"
    assert len(spy.context.outbox.deliveries(tid)) == 1


def test_a_forged_signature_is_refused(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    payload = block_action(APPROVE, tid, user=HERO, channel=channel, ts=ts)
    assert post_interaction(http, payload, secret="not-the-secret").status_code == 401
    assert http.post("/slack/events", content="payload=%7B%7D").status_code == 401
    assert spy.decisions == [] and spy.get(tid).status == "awaiting_review"


def test_only_the_rotation_may_decide(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    post_interaction(http, block_action(APPROVE, tid, user=STRANGER, channel=channel, ts=ts))
    [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert note["user"] == STRANGER and "not on the" in note["text"]
    assert spy.decisions == [] and spy.get(tid).status == "awaiting_review"


def test_edit_opens_a_modal_and_its_submission_sends_the_edit(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    post_interaction(http, block_action(EDIT, tid, user=HERO, channel=channel, ts=ts))
    [view] = wait_for(lambda: slack.views)
    assert view["callback_id"] == EDIT_VIEW
    assert view["blocks"][0]["element"]["multiline"] is True
    meta = json.loads(view["private_metadata"])
    assert meta == {"ticket_id": tid, "channel": channel, "ts": ts, "version": 1}
    values = {DRAFT_INPUT: {DRAFT_INPUT: {"type": "plain_text_input",
                                          "value": "Hey Ada, we're on it."}}}
    post_interaction(http, view_submission(EDIT_VIEW, meta, values, user=HERO))
    update = wait_for(lambda: slack.posted("chat.update"))[0]
    assert "Hey Ada, we're on it." in str(update["blocks"])
    assert spy.get(tid).status == "delivered"


def _reject_through_the_modal(http, slack, tid, channel, ts, reason_value):
    post_interaction(http, block_action(REJECT, tid, user=HERO, channel=channel, ts=ts))
    [view] = wait_for(lambda: slack.views)
    assert view["callback_id"] == REJECT_VIEW
    [block] = view["blocks"]
    assert block["block_id"] == REASON_INPUT and block["optional"] is True
    assert json.loads(view["private_metadata"]) == {"ticket_id": tid, "channel": channel,
                                                    "ts": ts, "version": 1}
    assert not slack.posted("chat.update")  # the click alone decides nothing
    values = {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input",
                                            "value": reason_value}}}
    post_interaction(http, view_submission(REJECT_VIEW, json.loads(view["private_metadata"]),
                                           values, user=HERO))
    return wait_for(lambda: slack.posted("chat.update"))[0]


def test_reject_asks_why_and_the_message_shows_who_and_why(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    update = _reject_through_the_modal(http, slack, tid, channel, ts, "answered on the phone")
    assert f"rejected by <@{HERO}>" in update["text"]
    assert f"*Rejected* by <@{HERO}> — answered on the phone" in str(update["blocks"])
    assert [(t, d.action, d.reason, d.by) for t, d in spy.decisions] == [
        (tid, "reject", "answered on the phone", f"slack:{HERO}")]
    assert spy.get(tid).status == "rejected"


def test_reject_without_a_reason_records_that_none_was_given(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    update = _reject_through_the_modal(http, slack, tid, channel, ts, None)
    assert "no reason given" in str(update["blocks"])
    assert [d.reason for _, d in spy.decisions] == ["no reason given"]
    assert spy.get(tid).status == "rejected"


def test_only_the_rotation_may_open_the_reject_modal(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    post_interaction(http, block_action(REJECT, tid, user=STRANGER, channel=channel, ts=ts))
    wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert slack.views == [] and spy.get(tid).status == "awaiting_review"


def test_click_to_zendesk_and_github_through_the_channel_outbox(surface, slack, service,
                                                                tmp_path):
    """A signed click → one Zendesk comment with the draft's status, one GitHub issue."""
    from fakes.github_server import FakeGitHub
    from fakes.zendesk_server import FakeZendesk
    from test_zendesk_client import client_for

    from tools.channels import ChannelOutbox
    from tools.github import GitHubClient
    from tools.outbox import LocalOutbox

    http, spy, settings, client = surface
    with FakeZendesk() as zd, FakeGitHub() as gh:
        zd.add_user(5, "Ada Lovelace", "ada@example.com")
        zd.add_ticket(4900, subject="Session recordings are blank",
                      description="Every replay shows a blank screen.", requester_id=5)
        ticket = client_for(zd).ticket(4900)
        spy.triage(Ticket.model_validate(ticket))
        result = spy.get("zd-4900")
        assert result.issue.action == "create"
        posted = post_draft(client, settings, spy, "zd-4900")
        original = service.context.outbox
        service.context.outbox = ChannelOutbox(
            LocalOutbox(tmp_path / "ledger.sqlite"), zendesk=client_for(zd),
            github=GitHubClient(gh.url, "gh-token", gh.repo, sleep=lambda s: None), slack=client)
        try:
            for action_ts in ("9.1", "9.1", "9.2"):  # a retry and a double click
                post_interaction(http, block_action(APPROVE, "zd-4900", user=HERO,
                                                    channel=posted["channel"], ts=posted["ts"],
                                                    action_ts=action_ts))
            wait_for(lambda: slack.posted("chat.update"))
            wait_for(lambda: slack.posted("chat.postEphemeral"))
        finally:
            service.context.outbox = original
        [comment] = zd.posted_comments(4900)
        [issue] = [i for i in gh.issues]
        assert comment["public"] is True and issue["html_url"] in comment["body"]
        assert comment["body"].startswith(result.draft.body.split("\n")[0])
        assert zd.tickets[4900]["status"] == result.draft.status_after
        assert issue["title"] == result.issue.title


def test_reassign_picks_a_team_and_posts_the_new_draft_to_its_channel(surface, slack):
    from app.slack.blocks import REASSIGN_VIEW, TEAM_INPUT

    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    before = spy.get(tid).team
    post_interaction(http, block_action(REASSIGN, tid, user=HERO, channel=channel, ts=ts))
    [view] = wait_for(lambda: slack.views)
    options = [o["value"] for o in view["blocks"][0]["element"]["options"]]
    assert before not in options and "growth" in options
    meta = {"ticket_id": tid, "channel": channel, "ts": ts, "version": 1}
    values = {TEAM_INPUT: {TEAM_INPUT: {"type": "static_select",
                                        "selected_option": {"value": "growth"}}}}
    post_interaction(http, view_submission(REASSIGN_VIEW, meta, values, user=HERO,
                                           view_id="V-reassign"))
    update = wait_for(lambda: slack.posted("chat.update"))[0]
    assert "to growth" in str(update["blocks"])
    growth = settings.slack_team_channels["growth"]
    wait_for(lambda: slack.messages.get(growth))
    assert spy.get(tid).team == "growth" and spy.get(tid).status == "awaiting_review"



def _buttons(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _reassign_elsewhere(spy, tid: str) -> tuple[str, object]:
    """Reassign outside Slack (as the API or the CLI does): the new team and draft."""
    from agent.decisions import Decision

    team = "growth" if spy.get(tid).team != "growth" else "pipeline"
    return team, spy.decide(tid, Decision(action="reassign", team=team, version=1))


def test_approve_on_a_card_whose_draft_was_replaced_sends_nothing_and_says_so(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    _, second = _reassign_elsewhere(spy, tid)
    assert second.version == 2
    post_interaction(http, block_action(APPROVE, tid, user=HERO, channel=channel, ts=ts,
                                        version=1))
    [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert note["user"] == HERO
    assert "replaced by version 2; see the updated card" in note["text"]
    assert spy.get(tid).status == "awaiting_review"
    assert spy.context.outbox.deliveries(tid) == []
    old = next(m for m in slack.messages[channel] if m["ts"] == ts)
    assert not _buttons(old) and "Replaced by draft version 2" in str(old["blocks"])
    # The current version got its own card, whose buttons decide on version 2.
    new_channel = settings.slack_team_channels[second.team]
    [card] = [m for m in slack.messages[new_channel] if _buttons(m)]
    assert {parse_button_value(b["value"]) for b in _buttons(card)} == {(tid, 2)}


def test_a_card_from_before_versions_cannot_decide_and_is_replaced(surface, slack, service):
    import hashlib

    from app.slack.blocks import draft_message
    from tools.slack import METADATA_EVENT

    http, spy, settings, client = surface
    tid = f"slack-test-{next(_ids)}"
    spy.triage(Ticket(id=tid, source="zendesk", subject="Session recordings are blank",
                      body="Every replay shows a blank screen since yesterday."))
    result = spy.get(tid).model_dump(mode="json")
    channel = settings.slack_team_channels[result["team"]]
    # The card as Sidekick posted it before versions: bare ids as values, the old key.
    _, blocks = draft_message(result)
    for block in blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            element["value"] = tid
    digest = hashlib.sha256(result["draft"]["body"].encode()).hexdigest()[:16]
    ts = slack._post(channel, {"text": "draft", "blocks": blocks, "metadata": {
        "event_type": METADATA_EVENT, "event_payload": {"key": f"{tid}:draft:{digest}"}}})["ts"]
    post_interaction(http, block_action(APPROVE, tid, user=HERO, channel=channel, ts=ts,
                                        version=None))
    [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert "see the updated card" in note["text"]
    assert spy.decisions == [] and spy.get(tid).status == "awaiting_review"
    old = next(m for m in slack.messages[channel] if m["ts"] == ts)
    assert not _buttons(old) and "posted before drafts had versions" in str(old["blocks"])
    [card] = [m for m in slack.messages[channel] if _buttons(m)]  # the current draft, anew
    assert {parse_button_value(b["value"]) for b in _buttons(card)} == {(tid, 1)}


def test_a_stale_card_opens_no_modal(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    _reassign_elsewhere(spy, tid)
    post_interaction(http, block_action(EDIT, tid, user=HERO, channel=channel, ts=ts, version=1))
    [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert "replaced by version 2" in note["text"] and slack.views == []


def test_a_modal_of_a_replaced_draft_decides_nothing(surface, slack):
    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    post_interaction(http, block_action(EDIT, tid, user=HERO, channel=channel, ts=ts))
    [view] = wait_for(lambda: slack.views)
    _reassign_elsewhere(spy, tid)  # while the modal is open
    values = {DRAFT_INPUT: {DRAFT_INPUT: {"type": "plain_text_input", "value": "Hey Ada!"}}}
    post_interaction(http, view_submission(EDIT_VIEW, json.loads(view["private_metadata"]),
                                           values, user=HERO, view_id="V-stale"))
    [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
    assert "replaced by version 2" in note["text"]
    assert spy.get(tid).status == "awaiting_review"
    assert spy.context.outbox.deliveries(tid) == []


def test_a_reassign_in_slack_replaces_the_card_and_the_new_one_decides_on_version_2(
        surface, slack):
    from app.slack.blocks import REASSIGN_VIEW, TEAM_INPUT

    http, spy, settings, client = surface
    tid, channel, ts = waiting_draft(spy, settings, client)
    team = "growth" if spy.get(tid).team != "growth" else "pipeline"
    post_interaction(http, block_action(REASSIGN, tid, user=HERO, channel=channel, ts=ts))
    [view] = wait_for(lambda: slack.views)
    values = {TEAM_INPUT: {TEAM_INPUT: {"type": "static_select",
                                        "selected_option": {"value": team}}}}
    post_interaction(http, view_submission(REASSIGN_VIEW, json.loads(view["private_metadata"]),
                                           values, user=HERO, view_id="V-reassign-2"))
    old = next(m for m in slack.messages[channel] if m["ts"] == ts)
    wait_for(lambda: not _buttons(old))
    assert f"reassigned to {team} by <@{HERO}>" in str(old["blocks"])
    new_channel = settings.slack_team_channels[team]
    [card] = [m for m in slack.messages[new_channel] if _buttons(m)]
    assert {parse_button_value(b["value"]) for b in _buttons(card)} == {(tid, 2)}
    post_interaction(http, block_action(APPROVE, tid, user=HERO, channel=new_channel,
                                        ts=card["ts"], version=2, action_ts="7.1"))
    wait_for(lambda: spy.get(tid).status == "delivered")
    [sent] = spy.context.outbox.deliveries(tid)
    assert sent["payload"]["body"] == spy.get(tid).draft.body
