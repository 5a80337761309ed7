"""With Slack on and no rotation for a team, nobody decides on its drafts; the message says how."""

from __future__ import annotations

import pytest
from fakes.slack_server import FakeSlack
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import HERO, SECRET, TOKEN, StubService, block_action, post_interaction, wait_for

from agent.models import Ticket, TriageResult
from app.settings import Settings
from app.slack.app import build_slack_app, mount_slack
from app.slack.blocks import APPROVE, REJECT
from app.slack.notify import post_draft
from tools.slack import make_slack_client

RESULT = TriageResult.model_validate({
    "ticket_id": "zd-77", "team": "replay", "team_confidence": 0.8, "priority": "high",
    "kind": "bug", "engine": "offline", "draft": {"body": "Hey Ada, we're on it."}})
TICKET = Ticket(id="zd-77", source="zendesk", subject="Blank replays",
                requester={"name": "Ada"})


@pytest.mark.parametrize("rotation", [{}, {"growth": [HERO]}], ids=["none", "other team only"])
@pytest.mark.parametrize("action", [APPROVE, REJECT])
def test_nobody_may_decide_until_the_teams_rotation_is_configured(tmp_path, rotation, action):
    with FakeSlack(TOKEN) as slack:
        settings = Settings(home=tmp_path, slack_bot_token=SecretStr(TOKEN),
                            slack_signing_secret=SecretStr(SECRET), slack_api_url=slack.api_url,
                            slack_team_channels={"replay": "CREPLAY"}, slack_rotation=rotation)
        service = StubService(RESULT, TICKET)
        client = make_slack_client(settings)
        posted = post_draft(client, settings, service, "zd-77")
        api = FastAPI()
        mount_slack(api, build_slack_app(settings, service, client=client))
        with TestClient(api) as http:
            response = post_interaction(http, block_action(
                action, "zd-77", user=HERO, channel=posted["channel"], ts=posted["ts"]))
            assert response.status_code == 200
            [note] = wait_for(lambda: slack.posted("chat.postEphemeral"))
        assert note["user"] == HERO
        assert "SIDEKICK_SLACK_ROTATION" in note["text"] and "replay" in note["text"]
        assert service.decisions == [] and slack.views == []
        assert slack.posted("chat.update") == []


def test_the_teams_rotation_decides(tmp_path):
    with FakeSlack(TOKEN) as slack:
        settings = Settings(home=tmp_path, slack_bot_token=SecretStr(TOKEN),
                            slack_signing_secret=SecretStr(SECRET), slack_api_url=slack.api_url,
                            slack_team_channels={"replay": "CREPLAY"},
                            slack_rotation={"replay": [HERO]})
        service = StubService(RESULT, TICKET)
        client = make_slack_client(settings)
        posted = post_draft(client, settings, service, "zd-77")
        api = FastAPI()
        mount_slack(api, build_slack_app(settings, service, client=client))
        with TestClient(api) as http:
            post_interaction(http, block_action(APPROVE, "zd-77", user=HERO,
                                                channel=posted["channel"], ts=posted["ts"]))
            wait_for(lambda: slack.posted("chat.update"))
        assert [d.action for d in service.decisions] == ["approve"]
        assert slack.posted("chat.postEphemeral") == []
