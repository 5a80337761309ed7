"""`GET /healthz`: liveness and readiness, without authentication."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health(request: Request) -> dict:
    """Whether the database answers and the worker runs."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return {"status": "starting"}
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "worker": runtime.worker_running}
