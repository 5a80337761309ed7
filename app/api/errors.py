r"""The API's 422: each error names its field (`loc`), with no echo of the input.

FastAPI's default handler echoes every invalid `input`: a 5 MB name comes back as a 5 MB
answer, and a lone surrogate (`"\ud800"` in the JSON) cannot be encoded as UTF-8 at all, so
the answer to bad input became a 500. This one keeps `loc`, `msg` and `type`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorOut(BaseModel):
    """An error answer: a sentence, or (422) one {loc, msg, type} per invalid field."""

    detail: str | list[dict[str, Any]]


class DeliveryFailedOut(ErrorOut):
    """502: the decision was taken but a channel failed; `retry` says what to call."""

    status: str
    retry: str


_MEANING = {
    401: ("missing or invalid bearer token", ErrorOut),
    404: ("no such ticket (or no draft yet)", ErrorOut),
    409: ("the ticket is not in a state that allows this", ErrorOut),
    428: ("the decision names no draft version (`version` in the body or `If-Match`)",
          ErrorOut),
    413: ("the request body is larger than SIDEKICK_API_MAX_BODY_BYTES", ErrorOut),
    422: ("invalid input; `detail` names each field (`loc`)", ErrorOut),
    502: ("a delivery channel failed; the ticket is `failed` and `retry` says how to "
          "finish it", DeliveryFailedOut),
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses=` entry for these error codes."""
    return {code: {"description": _MEANING[code][0], "model": _MEANING[code][1]}
            for code in codes}


class DeliveryFailed(Exception):
    """A decision's delivery failed in the request; the client can retry it."""

    def __init__(self, ticket_id: str, status: str, retry: str, detail: str) -> None:
        super().__init__(detail)
        self.ticket_id, self.status, self.retry, self.detail = ticket_id, status, retry, detail


async def delivery_failed(request: Request, exc: Exception) -> JSONResponse:
    """502 with what failed, the ticket's status and the call that retries it."""
    assert isinstance(exc, DeliveryFailed)
    return JSONResponse(status_code=status.HTTP_502_BAD_GATEWAY, content={
        "detail": exc.detail, "status": exc.status, "retry": exc.retry})


def _clean(text: object) -> str:
    # A message may quote the input (e.g. a literal); keep it encodable.
    return str(text).encode("utf-8", "replace").decode("utf-8")[:500]


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with `detail`: a list of {loc, msg, type}, one per problem."""
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": [_clean(p) if isinstance(p, str) else p for p in e.get("loc", ())],
               "msg": _clean(e.get("msg", "")), "type": _clean(e.get("type", ""))}
              for e in exc.errors()]
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                        content={"detail": detail})


def install(app: FastAPI) -> None:
    """Use this 422 for every route."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DeliveryFailed, delivery_failed)
