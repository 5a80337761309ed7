"""The bench's Slack traffic is what the app accepts: signed, handled, answered 200."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_helpers import RecordingSink, wait_for

from agent.teams import load_teams
from app.bench.slack import (
    BENCH_SIGNING_SECRET,
    BENCH_SLACK_TOKEN,
    CHANNEL,
    SlowSlack,
    slack_request,
)
from app.settings import Settings
from app.slack.app import build_slack_app, mount_slack
from tools.slack import make_slack_client


def test_the_bench_slack_requests_make_tickets_and_get_answers(tmp_path):
    stub = SlowSlack(delay_s=0).start()
    try:
        settings = Settings(home=tmp_path, slack_bot_token=SecretStr(BENCH_SLACK_TOKEN),
                            slack_signing_secret=SecretStr(BENCH_SIGNING_SECRET),
                            slack_api_url=stub.api_url, slack_customer_channels=[CHANNEL])
        sink = RecordingSink()
        api = FastAPI()
        mount_slack(api, build_slack_app(settings, object(), sink=sink, teams=load_teams(),
                                         client=make_slack_client(settings)))
        with TestClient(api) as http:
            answers = []
            for n in range(4):
                body, headers = slack_request(n, "t", BENCH_SIGNING_SECRET)
                answers.append(http.post("/slack/events", content=body, headers=headers))
            wait_for(lambda: len(sink.accepted) == 2)
        assert [a.status_code for a in answers] == [200] * 4
        assert answers[1].json()["response_action"] == "errors"  # the empty edit's answer
        assert sorted(sink.accepted) == [f"slack-{CHANNEL}-1700000000.000100",
                                         f"slack-{CHANNEL}-1700000002.000100"]
    finally:
        stub.stop()
