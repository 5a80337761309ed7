"""Health without authentication: `/livez` (the process is up), `/readyz` and `/healthz`.

`/readyz` is what a load balancer or an orchestrator routes by: 503 until this process can
do its part, that is the database answers and is migrated to the newest schema, and, when
this process runs a worker (`sidekick serve`), the worker is ready and its heartbeat recent
(`SIDEKICK_WORKER_HANG_S`). `/healthz` is the older check of the database and the worker.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {
    "description": "Starting, the database does not answer, or the worker is not running "
                   "(`detail` says which)"}}


@router.get("/livez")
def read_liveness() -> dict:
    """200 while the process answers at all (restart it when this fails)."""
    return {"status": "ok"}


def _unready(request: Request) -> str | None:
    """Why this process cannot serve its part yet (None: it can)."""
    from app.store.db import HEAD_REVISION, at_head

    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return "the server is starting"
    try:
        migrated = at_head(runtime.engine)
    except SQLAlchemyError as exc:
        return f"the database does not answer ({type(exc).__name__})"
    if not migrated:
        return f"the database is not migrated to {HEAD_REVISION}"
    if getattr(request.app.state, "runs_worker", False):
        if runtime.worker_process is not None:
            return runtime.worker_process.problem()
        if not runtime.worker.running:
            return "the worker thread is not running"
    return None


@router.get("/readyz", responses=_UNAVAILABLE)
def read_readiness(request: Request, response: Response) -> dict:
    """200 when the database is reachable and migrated and this process's worker beats."""
    problem = _unready(request)
    if problem is not None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "unavailable", "detail": problem}
    return {"status": "ok"}


@router.get("/healthz", responses=_UNAVAILABLE)
def read_health(request: Request, response: Response) -> dict:
    """Whether the database answers and the worker runs: 200 when both do, else 503."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "starting"}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "unavailable",
                "detail": f"the database does not answer ({type(exc).__name__})"}
    problem = runtime.worker_problem()
    if problem is not None:
        # Tickets are still accepted (the store is the queue); nothing is triaged meanwhile.
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "unavailable", "worker": False,
                "detail": f"{problem}; tickets are accepted and wait for it"}
    return {"status": "ok", "worker": runtime.worker_running}
