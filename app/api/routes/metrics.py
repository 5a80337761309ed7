"""`GET /metrics`: Prometheus's text format (app/metrics.py says what each number is).

Behind the API's bearer token like `/tickets` (the front door, `app/api/limits.py`): the
numbers name teams and show the volume of support work. Prometheus sends the token with
`authorization: {credentials_file: ...}` in its scrape config (docs/deploying.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import Authorized
from app.api.errors import responses

router = APIRouter(prefix="/metrics", tags=["metrics"], dependencies=[Authorized],
                   responses=responses(401))


@router.get("", response_class=Response)
def read_metrics(request: Request) -> Response:
    """Every metric of this server's processes, and the queue read from the store."""
    from app.metrics import CONTENT_TYPE, exposition

    return Response(exposition(request.app.state.runtime), media_type=CONTENT_TYPE)
