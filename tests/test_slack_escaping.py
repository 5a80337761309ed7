"""Customer text reaches Slack escaped: no @channel, no mention, no disguised or unsafe link.

Each case is read from the Block Kit the fake Slack received (chat.postMessage, chat.update,
chat.postEphemeral), not from the builders.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fakes.slack_server import FakeSlack
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import (
    HERO,
    SECRET,
    TOKEN,
    StubService,
    block_action,
    post_interaction,
    view_submission,
    wait_for,
)

from agent.models import Ticket, TriageResult
from app.settings import Settings
from app.slack.app import build_slack_app, mount_slack
from app.slack.blocks import APPROVE, REASON_INPUT, REJECT_VIEW
from app.slack.notify import post_draft
from tools.slack import make_slack_client

CHANNEL = "CREPLAY"
#: Slack's control sequences: `<!channel>`, `<@U1>`, `<#C1>`, `<url|label>`.
_CONTROL = re.compile(r"<[^<>]*>")

HOSTILE_NAME = "<!channel> <@U0ADMIN>"
HOSTILE_BODY = ("Hey <!here>, verify at <https://evil.example/reset|posthog.com/login> "
                "& <javascript:alert(1)|docs>")


def _ticket(url: str | None) -> Ticket:
    return Ticket(id="zd-4812", source="zendesk", subject="<!channel> Recordings are blank",
                  body="Every replay is blank", url=url,
                  requester={"name": HOSTILE_NAME}, organization={"plan": "paid"})


def _result(**draft: Any) -> TriageResult:
    return TriageResult.model_validate({
        "ticket_id": "zd-4812", "team": "replay", "team_confidence": 0.8, "priority": "high",
        "kind": "bug", "engine": "offline",
        "passages": [
            {"title": "<!everyone> Troubleshooting", "url": "https://posthog.com/docs/replay",
             "score": 0.7},
            {"title": "Click me", "url": "javascript:alert(document.cookie)", "score": 0.6}],
        "issue": {"action": "link", "url": "https://github.com/o/r/issues/1",
                  "title": "<https://evil.example|Blank replays>"},
        "draft": {"body": HOSTILE_BODY, "internal_note": "<@U0ADMIN> look", **draft}})


def _mrkdwn(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn text in the blocks (sections, fields, context elements)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def _controls(blocks: list[dict[str, Any]]) -> list[str]:
    return [c for text in _mrkdwn(blocks) for c in _CONTROL.findall(text)]


@pytest.fixture
def slack():
    with FakeSlack(TOKEN) as fake:
        yield fake


def _settings(slack: FakeSlack, tmp_path, **extra: Any) -> Settings:
    return Settings(home=tmp_path, slack_bot_token=SecretStr(TOKEN),
                    slack_signing_secret=SecretStr(SECRET), slack_api_url=slack.api_url,
                    slack_team_channels={"replay": CHANNEL}, **extra)


def _posted_blocks(slack: FakeSlack) -> list[dict[str, Any]]:
    [post] = slack.posted("chat.postMessage")
    blocks = post["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


@pytest.mark.parametrize("url", [None, "https://acme.zendesk.com/agent/tickets/4812"])
def test_the_review_message_carries_only_sidekicks_own_links(slack, tmp_path, url):
    settings = _settings(slack, tmp_path)
    service = StubService(_result(), _ticket(url))
    post_draft(make_slack_client(settings), settings, service, "zd-4812")
    blocks = _posted_blocks(slack)
    expected = ["<https://posthog.com/docs/replay|&lt;!everyone&gt; Troubleshooting>",
                "<https://github.com/o/r/issues/1|&lt;https://evil.example|Blank replays&gt;>"]
    if url:
        expected.insert(0, f"<{url}|zd-4812>")
    assert _controls(blocks) == expected
    texts = "\n".join(_mrkdwn(blocks))
    assert "&lt;!channel&gt; &lt;@U0ADMIN&gt; (paid)" in texts  # the requester's name
    assert ("Hey &lt;!here&gt;, verify at &lt;https://evil.example/reset|posthog.com/login&gt; "
            "&amp; &lt;javascript:alert(1)|docs&gt;") in texts  # the draft, quoted
    assert "Note: &lt;@U0ADMIN&gt; look" in texts
    assert "• Click me (0.60)" in texts  # a javascript: passage is shown, never linked
    header = blocks[0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"


@pytest.mark.parametrize("url", [
    "javascript:alert(1)",
    "https://acme.zendesk.com/agent/tickets/1|Verify your account>",
    "https://acme.zendesk.com/t/1> <!channel",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/x",
])
def test_a_ticket_url_never_breaks_out_of_its_link(slack, tmp_path, url):
    settings = _settings(slack, tmp_path)
    service = StubService(_result(), _ticket(url))
    post_draft(make_slack_client(settings), settings, service, "zd-4812")
    [ticket_field] = [t for t in _mrkdwn(_posted_blocks(slack)) if t.startswith("*Ticket*")]
    links = _CONTROL.findall(ticket_field)
    assert ticket_field.endswith("zd-4812>") or ticket_field == "*Ticket*\nzd-4812"
    for found in links:  # at most one link, to an http(s) target, labelled with the id
        target, _, label = found[1:-1].partition("|")
        assert target.startswith("https://acme.zendesk.com/") and label == "zd-4812"
        assert "<" not in target and ">" not in target and "|" not in target
    if not url.startswith("https://"):
        assert links == []


def _click_world(slack: FakeSlack, tmp_path, service: StubService):
    settings = _settings(slack, tmp_path, slack_rotation={"replay": [HERO]})
    client = make_slack_client(settings)
    posted = post_draft(client, settings, service, "zd-4812")
    bolt = build_slack_app(settings, service, client=client)
    api = FastAPI()
    mount_slack(api, bolt)
    return api, posted


def test_the_decided_message_escapes_what_was_sent(slack, tmp_path):
    service = StubService(_result(), _ticket(None))
    api, posted = _click_world(slack, tmp_path, service)
    with TestClient(api) as http:
        post_interaction(http, block_action(APPROVE, "zd-4812", user=HERO,
                                            channel=posted["channel"], ts=posted["ts"]))
        [update] = wait_for(lambda: slack.posted("chat.update"))
    blocks = update["blocks"] if isinstance(update["blocks"], list) \
        else json.loads(update["blocks"])
    assert _controls(blocks) == [f"<@{HERO}>"]
    assert any(t.startswith("*What was sent*\n> Hey &lt;!here&gt;, verify at "
                            "&lt;https://evil.example/reset|posthog.com/login&gt;")
               for t in _mrkdwn(blocks))
    assert "&lt;!channel&gt; &lt;@U0ADMIN&gt; (paid)" in "\n".join(_mrkdwn(blocks))
    assert [d.action for d in service.decisions] == ["approve"]


def test_a_rejection_reason_is_escaped_in_the_decided_message(slack, tmp_path):
    service = StubService(_result(), _ticket(None))
    api, posted = _click_world(slack, tmp_path, service)
    meta = {"ticket_id": "zd-4812", "channel": posted["channel"], "ts": posted["ts"],
            "version": 1}
    reason = "<!channel> spam, see <https://x.example|this>"
    values = {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input", "value": reason}}}
    with TestClient(api) as http:
        post_interaction(http, view_submission(REJECT_VIEW, meta, values, user=HERO))
        [update] = wait_for(lambda: slack.posted("chat.update"))
    blocks = update["blocks"] if isinstance(update["blocks"], list) \
        else json.loads(update["blocks"])
    assert _controls(blocks) == [f"<@{HERO}>"]
    assert (f"*Rejected* by <@{HERO}> — &lt;!channel&gt; spam, see "
            "&lt;https://x.example|this&gt;") in _mrkdwn(blocks)
