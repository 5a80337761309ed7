"""The Slack surface: a Bolt app whose listeners call the same TriageService as the CLI and API.

`build_slack_app()` wires the listeners (`app/slack/listeners/`) to a `SlackDeps` bundle that
a middleware puts in every listener's `context["sidekick"]`. `mount_slack()` serves the app at
`/slack/events` inside the FastAPI app through Bolt's adapter; Bolt verifies
`X-Slack-Signature` on every request (a forged one gets 401) and, with
`process_before_response=False`, acknowledges first and runs the listener afterwards.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

from agent.decisions import Decision
from agent.models import Ticket, TriageResult
from agent.teams import Teams, load_teams
from app.service import TriageService
from app.settings import Settings
from app.store.seen import SeenStore
from tools.slack import make_slack_client

EVENTS_PATH = "/slack/events"
#: Slack's own schedule for an event it could not deliver: again at once, after 1 and 5 min.
EVENT_RETRY_S = (5.0, 60.0, 300.0)
#: Threads that run listeners. Bolt's default is 5: five 🎫 listeners waiting on a slow or
#: rate-limited Slack (Retry-After) and every click after them misses its 3 s ack.
LISTENER_THREADS = 32


class TicketSink(Protocol):
    """Where a ticket made from Slack goes (the API's intake: store it, triage it later)."""

    def accept(self, ticket: dict[str, Any]) -> str:
        """Accept a Ticket-contract dict; the same id accepted twice is one ticket. Its id."""
        ...


def ticket_sink(accept: Callable[[Ticket], object]) -> TicketSink:
    """A TicketSink over a function that takes a validated Ticket (e.g. `Desk.accept`)."""

    class _Sink:
        def accept(self, ticket: dict[str, Any]) -> str:
            model = Ticket.model_validate(ticket)
            accept(model)
            return model.id

    return _Sink()


class EscalationSink(Protocol):
    """Marks an existing ticket as CS-escalated (queue position 1)."""

    def escalate(self, ticket_id: str, *, by: str) -> bool:
        """True when the ticket exists and is now marked."""
        ...


@dataclass
class SlackDeps:
    """What the listeners use."""

    settings: Settings
    service: TriageService
    teams: Teams
    seen: SeenStore
    sink: TicketSink | None = None
    escalations: EscalationSink | None = None
    #: How a decision is applied: `service.decide` unless the surface has its own (the Desk's).
    decide: Callable[[str, Decision], TriageResult] | None = None
    #: Seconds before each new attempt at an event whose handling failed (listeners/events.py).
    event_retry_s: tuple[float, ...] = EVENT_RETRY_S
    #: Adds a message to a ticket's conversation (`Desk.add_message`): replies in a 🎫
    #: thread. None: thread replies are not read.
    conversation: Callable[[str, Any], bool] | None = None
    _locks: dict[str, threading.Lock] = field(default_factory=lambda: defaultdict(threading.Lock))
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def ticket_lock(self, ticket_id: str) -> threading.Lock:
        """One decision at a time per ticket: a double click waits, then finds it decided."""
        with self._guard:
            return self._locks[ticket_id]

    def may_decide(self, team: str, user_id: str) -> bool:
        """Only the team's rotation may decide; with no rotation configured, nobody may."""
        return user_id in self.settings.slack_rotation.get(team, [])

    def heroes(self) -> set[str]:
        """Everyone on any rotation."""
        return {u for users in self.settings.slack_rotation.values() for u in users}


def build_slack_app(settings: Settings, service: TriageService, *,
                    sink: TicketSink | None = None, escalations: EscalationSink | None = None,
                    decide: Callable[[str, Decision], TriageResult] | None = None,
                    client: WebClient | None = None, teams: Teams | None = None,
                    engine: Engine | None = None,
                    event_retry_s: tuple[float, ...] = EVENT_RETRY_S,
                    conversation: Callable[[str, Any], bool] | None = None) -> App:
    """The Bolt app with Sidekick's listeners; `client` defaults to one built from settings.

    `service` answers reads (`get`, `state`); decisions go through `decide` when given (the
    API's `Desk.decide`, which also records them in the store), else `service.decide`.
    Handled events are recorded in the store on `engine` (default: the settings' store).
    """
    from app.slack.listeners import actions, events, views

    if not (settings.slack_bot_token and settings.slack_signing_secret):
        raise ValueError("Slack is not configured: set SIDEKICK_SLACK_BOT_TOKEN and "
                         "SIDEKICK_SLACK_SIGNING_SECRET")
    if client is None:
        client = make_slack_client(settings)
    # The client carries the bot token (Bolt warns when it is given twice).
    app = App(signing_secret=settings.slack_signing_secret.get_secret_value(),
              client=client, process_before_response=False,
              listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS,
                                                   thread_name_prefix="slack-listener"))
    deps = SlackDeps(settings=settings, service=service,
                     teams=teams or service.context.teams,
                     seen=SeenStore(engine if engine is not None else _store_engine(settings)),
                     sink=sink, escalations=escalations,
                     decide=decide or getattr(service, "decide", None),
                     event_retry_s=event_retry_s, conversation=conversation)

    @app.middleware
    def inject_deps(context: Any, next: Any) -> None:  # noqa: A002 (Bolt's name)
        context["sidekick"] = deps
        next()

    actions.register(app)
    views.register(app)
    events.register(app)
    return app


def _store_engine(settings: Settings) -> Engine:
    """The settings' store, migrated (for a Slack app built without the API's runtime)."""
    from app.store.db import database_url, make_engine, migrate

    engine = make_engine(database_url(settings))
    migrate(engine)
    return engine


class ThreadedSlackHandler:
    """Bolt's FastAPI adapter, but `App.dispatch` runs in a worker thread.

    TRICKY: Bolt's own `SlackRequestHandler.handle` is `async` yet calls the sync
    `App.dispatch` on the event loop: signature check, `auth.test` on the first request and
    the wait for a listener's `ack()` would stall every other request of the API (the
    acknowledgement of `POST /tickets` among them) for as long as Slack takes to answer.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    async def handle(self, req: Any) -> Any:
        """Read the body on the loop, dispatch in the thread pool, answer Bolt's response."""
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
        from starlette.concurrency import run_in_threadpool

        body = await req.body()
        response = await run_in_threadpool(self.app.dispatch, to_bolt_request(req, body))
        return to_starlette_response(response)


def mount_slack(fastapi_app: Any, bolt_app: App, path: str = EVENTS_PATH) -> None:
    """Serve the Bolt app's events and interactions at `path` in a FastAPI app."""
    from fastapi import Request

    handler = ThreadedSlackHandler(bolt_app)

    async def slack_events(req: Request) -> Any:
        return await handler.handle(req)

    # TRICKY: with postponed annotations FastAPI resolves "Request" in this module's globals,
    # where it is not (fastapi is imported lazily); give it the class itself.
    slack_events.__annotations__["req"] = Request
    fastapi_app.add_api_route(path, slack_events, methods=["POST"], include_in_schema=False)


def teams_of(settings: Settings) -> Teams:
    """The team taxonomy the settings name (for callers without a service)."""
    return load_teams(settings.teams_file)
