"""`GET /healthz`: liveness and readiness, without authentication."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {
    "description": "Starting, the database does not answer, or the worker is not running "
                   "(`detail` says which)"}}


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
