"""The FastAPI app factory and the process runtime it shares with the worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace

from fastapi import FastAPI
from sqlalchemy import Engine

from agent.context import Context
from app.api.desk import Desk
from app.api.wiring import add_slack_route, channel_outbox, start_slack
from app.settings import Settings, get_settings
from app.store.outbox import Sender, StoreOutbox
from app.worker import Worker

log = logging.getLogger("sidekick.api")


class InsecureConfig(RuntimeError):
    """The server would start without authentication outside development."""


def check_security(settings: Settings) -> None:
    """Refuse to serve without API tokens unless SIDEKICK_ENV=development."""
    if not settings.api_token_list and settings.env != "development":
        raise InsecureConfig(
            "SIDEKICK_API_TOKENS is empty: set one or more comma-separated bearer tokens "
            f"(or SIDEKICK_ENV=development to serve without auth); SIDEKICK_ENV={settings.env}"
        )


@dataclass
class Runtime:
    """What one process holds open: the store's engine, the desk and the worker."""

    engine: Engine
    desk: Desk
    worker: Worker
    outbox: StoreOutbox


@contextmanager
def open_runtime(settings: Settings, *, context: Context | None = None,
                 sender: Sender | None = None) -> Iterator[Runtime]:
    """Migrate the store, open the checkpointer on the same database, build the desk.

    The context's outbox always records in the store's `deliveries` table: the ledger alone
    (with `sender` behind it when given), or the configured real channels over it.
    """
    from agent.graph import build_graph
    from app.runtime import build_context
    from app.service import TriageService
    from app.store.checkpoint import open_checkpointer
    from app.store.db import database_url, make_engine, migrate, session_factory

    url = database_url(settings)
    engine = make_engine(url)
    try:
        migrate(engine)
        with open_checkpointer(settings, url) as saver:
            outbox = StoreOutbox(engine, sender=sender)
            ctx = replace(context or build_context(settings),
                          outbox=channel_outbox(settings, outbox))
            desk = Desk(service=TriageService(graph=build_graph(saver), context=ctx),
                        sessions=session_factory(engine))
            worker = Worker(desk, poll_s=settings.worker_poll_s)
            desk.on_accept = worker.wake
            yield Runtime(engine=engine, desk=desk, worker=worker, outbox=outbox)
    finally:
        engine.dispose()


def create_app(settings: Settings | None = None, *, context: Context | None = None,
               sender: Sender | None = None, start_worker: bool = True) -> FastAPI:
    """The API; its lifespan opens the runtime, starts the worker and drains it on stop."""
    from app.api.routes import drafts, health, queue, tickets, zendesk_webhook

    settings = settings or get_settings()
    check_security(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_runtime(settings, context=context, sender=sender) as runtime:
            app.state.runtime = runtime
            app.state.desk = runtime.desk
            if slack:
                start_slack(app, settings, runtime.desk)
            if start_worker:
                runtime.worker.start()
            try:
                yield
            finally:
                # Finish the ticket in hand; the rest stay `accepted` for the next start.
                runtime.worker.stop()
                log.info("worker drained")

    app = FastAPI(
        title="Sidekick",
        description="Triage support tickets; drafts wait for a person's decision.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    for module in (health, tickets, queue, drafts, zendesk_webhook):
        app.include_router(module.router)
    slack = add_slack_route(app, settings)
    return app
