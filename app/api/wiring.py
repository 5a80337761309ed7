"""Optional surfaces and channels, switched on by the settings that configure them.

- The outbox: the store's delivery ledger alone (record only), or wrapped by
  `tools.channels.ChannelOutbox` when Zendesk, GitHub or Slack is configured, so every side
  effect is recorded in the `deliveries` table under its own key.
- Slack: with a bot token and a signing secret, the Bolt app is served at `/slack/events`
  and the worker (in whichever process runs it) posts each new draft to its team's channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.api.desk import Desk
from app.settings import Settings
from app.store.outbox import StoreOutbox

log = logging.getLogger("sidekick.api")


def slack_configured(settings: Settings) -> bool:
    """Whether the Slack app can run."""
    return bool(settings.slack_bot_token and settings.slack_signing_secret)


def channel_outbox(settings: Settings, ledger: StoreOutbox,
                   origin_of: Callable[[str], dict[str, Any] | None] | None = None) -> Any:
    """The graph's outbox: the real channels over the ledger, or the ledger alone.

    `origin_of` gives each ticket's recorded origin (`Desk.origin`): only a ticket that came
    from Zendesk (or Slack) is answered there.
    """
    zendesk = github = slack = None
    if settings.zendesk_subdomain and settings.zendesk_email and settings.zendesk_token:
        from tools.zendesk import make_zendesk

        zendesk = make_zendesk(settings)
    if settings.github_repo:
        from tools.github import make_github

        github = make_github(settings)
    if settings.slack_bot_token:
        from tools.slack import make_slack_client

        slack = make_slack_client(settings)
    if zendesk is None and github is None and slack is None:
        return ledger
    from tools.channels import ChannelOutbox

    return ChannelOutbox(ledger, zendesk=zendesk, github=github, slack=slack,
                         cs_channel=settings.slack_cs_channel,
                         origin_of=origin_of or (lambda ticket_id: None))


def add_slack_route(app: FastAPI, settings: Settings) -> bool:
    """Route /slack/events to the Bolt handler the lifespan builds; False without Slack."""
    if not slack_configured(settings):
        return False
    from fastapi import Request

    async def slack_events(request: Request) -> Any:
        # Bolt verifies X-Slack-Signature (401 on a forged one), acks, then works.
        return await request.app.state.slack_handler.handle(request)

    slack_events.__annotations__["request"] = Request  # resolved lazily, see app/slack/app.py
    app.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)
    return True


class _LazyService:
    """The desk's graph, resolved on first use.

    The Slack app is built at API start; the API process loads the models only when
    someone decides.
    """

    def __init__(self, desk: Desk) -> None:
        self._desk = desk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._desk.service, name)


def start_slack(app: FastAPI, settings: Settings, desk: Desk) -> None:
    """Build the Bolt app on this process's desk."""
    from app.api.origin import SlackIntake
    from app.slack.app import ThreadedSlackHandler, build_slack_app
    from tools.slack import make_slack_client

    client = make_slack_client(settings)
    bolt = build_slack_app(settings, _LazyService(desk),  # type: ignore[arg-type]
                           sink=SlackIntake(desk), escalations=desk,
                           decide=desk.decide, client=client, teams=desk.teams,
                           engine=app.state.runtime.engine, conversation=desk.add_message)
    app.state.slack_handler = ThreadedSlackHandler(bolt)


def announce_drafts(settings: Settings, desk: Desk) -> None:
    """With Slack configured, post each new draft to its team's channel after triage."""
    if not slack_configured(settings):
        return
    from tools.slack import make_slack_client

    client = make_slack_client(settings)

    def post(ticket_id: str) -> object:
        from app.slack.notify import post_draft

        return post_draft(client, settings, desk.service, ticket_id)

    desk.on_triaged = post
