"""The FastAPI app factory and the process runtime it shares with the worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from agent.context import Context
from agent.teams import load_teams
from app.api import errors
from app.api.desk import Desk
from app.api.limits import FrontDoor
from app.api.security import InsecureConfig, check_security, warning_block
from app.api.wiring import add_slack_route, announce_drafts, channel_outbox, start_slack
from app.api.zendesk_poll import view_poller
from app.cli import package_version
from app.settings import Settings, get_settings
from app.store.outbox import Sender, StoreOutbox
from app.worker import Worker
from app.worker_process import WorkerProcess

log = logging.getLogger("sidekick.api")


@dataclass
class Runtime:
    """What one process holds open: the store's engine, the desk and the worker."""

    engine: Engine
    desk: Desk
    worker: Worker
    outbox: StoreOutbox
    #: The worker's own process when `sidekick serve` runs it apart (else None).
    worker_process: WorkerProcess | None = None

    @property
    def worker_running(self) -> bool:
        """Whether the worker (thread or process) is alive."""
        if self.worker_process is not None:
            return self.worker_process.running
        return self.worker.running

    def worker_problem(self) -> str | None:
        """Why the worker process cannot triage now (None when it can, or runs as a thread)."""
        return self.worker_process.problem() if self.worker_process is not None else None


@contextmanager
def open_runtime(settings: Settings, *, context: Context | None = None,
                 sender: Sender | None = None, wake: Any = None,
                 worker_id: str | None = None) -> Iterator[Runtime]:
    """Migrate the store and build the desk; the graph opens on first use.

    The graph runs on a checkpointer on the same database. The context's outbox always
    records in the store's `deliveries` table: the ledger alone (with `sender` behind it
    when given), or the configured real channels over it. `worker_id` names the worker in
    its claims (default: host, pid and a random tag).
    """
    from app.runtime import apply_handbook
    from app.store.db import database_url, is_postgres, make_engine, migrate, session_factory

    apply_handbook(settings)  # the store orders the queue by the policy as it accepts
    url = database_url(settings)
    engine = make_engine(url)
    try:
        migrate(engine)
        with ExitStack() as stack:
            outbox = StoreOutbox(engine, sender=sender)

            def build_service() -> Any:
                # Heavy (models, Chroma, LangGraph): imported here, never at API start.
                from agent.graph import build_graph
                from app.runtime import build_context
                from app.service import TriageService
                from app.store.checkpoint import open_checkpointer

                saver = stack.enter_context(open_checkpointer(settings, url))
                ctx = replace(context or build_context(settings),
                              outbox=channel_outbox(settings, outbox, origin_of=desk.origin))
                return TriageService(graph=build_graph(saver), context=ctx)

            teams = context.teams if context is not None else load_teams(settings.teams_file)
            desk = Desk(sessions=session_factory(engine), build_service=build_service,
                        teams=teams, same_request_window_s=settings.same_request_window_s)
            poller = view_poller(settings, desk)
            worker = Worker(desk, poll_s=settings.worker_poll_s,
                            decide_grace_s=settings.decide_grace_s,
                            intake=[poller] if poller else [], wake=wake,
                            worker_id=worker_id, lease_s=settings.worker_lease_s,
                            batch=settings.worker_batch, single_writer=not is_postgres(url))
            desk.on_accept = worker.wake
            announce_drafts(settings, desk)
            yield Runtime(engine=engine, desk=desk, worker=worker, outbox=outbox)
    finally:
        engine.dispose()


def create_app(settings: Settings | None = None, *, context: Context | None = None,
               sender: Sender | None = None, start_worker: bool = True,
               worker_process: bool = False) -> FastAPI:
    """The API; its lifespan opens the runtime, starts the worker and drains it on stop.

    With `worker_process` (what `sidekick serve` does) the worker runs in a process of its
    own, so triage (CPU- and GIL-bound) never slows the acknowledgement of a ticket.
    """
    from app.api.routes import (
        drafts,
        health,
        messages,
        metrics,
        queue,
        tickets,
        zendesk_webhook,
    )

    settings = settings or get_settings()
    missing = check_security(settings)
    if missing:
        log.warning("\n%s", warning_block(missing))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process = WorkerProcess(settings) if worker_process and start_worker else None
        app.state.worker_process = process  # `sidekick serve`'s signal handler marks it
        with open_runtime(settings, context=context, sender=sender) as runtime:
            runtime.worker_process = process
            if process is not None:  # a byte down a pipe: never blocks an acknowledgement
                runtime.desk.on_accept = process.wake
            app.state.runtime = runtime
            app.state.desk = runtime.desk
            if slack:
                start_slack(app, settings, runtime.desk)
            if process is not None:
                # Started (and recovered) before the API serves: nothing is in flight yet.
                process.start()
            elif start_worker:
                runtime.worker.start()
            try:
                yield
            finally:
                # Finish the ticket in hand; the rest stay `accepted` for the next start.
                if process is not None:
                    process.stop()
                else:
                    runtime.worker.stop()
                if process is not None or start_worker:  # `serve --no-worker` runs none
                    log.info("worker drained")

    app = FastAPI(
        title="Sidekick",
        description="Triage support tickets; drafts wait for a person's decision.",
        version=package_version(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    #: `/readyz` then also waits for the worker (thread or process) of this server.
    app.state.runs_worker = start_worker
    for module in (health, tickets, messages, queue, drafts, metrics):
        app.include_router(module.router)
    if settings.zendesk_webhook_on:
        app.include_router(zendesk_webhook.router)
    slack = add_slack_route(app, settings)
    errors.install(app)
    app.add_middleware(
        FrontDoor, max_body_bytes=settings.api_max_body_bytes, tokens=settings.api_token_list,
        protected=tuple(r.prefix for r in (tickets.router, queue.router, drafts.router,
                                            metrics.router)))
    return app


__all__ = ["InsecureConfig", "Runtime", "check_security", "create_app", "open_runtime"]
