"""Which draft version an API decision is on: the body's `version` or an `If-Match` ETag.

`GET /drafts/{id}` answers with the draft's version in the body and as its ETag (`"v3"`).
A decision must name one of the two; naming none is 428, a malformed tag or two that
disagree is 422, and a version a newer draft replaced is 409 (`stale_answer`).
"""

from __future__ import annotations

import re

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse

from agent.decisions import StaleDraft

_TAG = re.compile(r'^"v([1-9][0-9]{0,8})"$')


def draft_etag(version: int) -> str:
    """The ETag of a draft version.

    TRICKY: it names the draft version, not every byte of the result (whose `status`
    changes once it is decided): a decision is conditioned on which draft was read.
    """
    return f'"v{version}"'


def _unprocessable(loc: list[str], msg: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         [{"loc": loc, "msg": msg, "type": "value_error"}])


def _from_if_match(if_match: str) -> int:
    match = _TAG.match(if_match.strip())
    if match is None:
        raise _unprocessable(["header", "if-match"],
                             'must be one draft ETag as GET /drafts/{id} returns it, e.g. "v1" '
                             f"(got {if_match[:40]!r})")
    return int(match.group(1))


def decision_version(body_version: int | None, if_match: str | None) -> int | None:
    """The version a decision names, if any (422 when malformed or contradictory)."""
    header = _from_if_match(if_match) if if_match is not None else None
    if body_version is not None and header is not None and body_version != header:
        raise _unprocessable(["body", "version"],
                             f"version {body_version} disagrees with If-Match {if_match}")
    return body_version if body_version is not None else header


def version_required(ticket_id: str) -> HTTPException:
    """428 for a decision that names no draft version (checked once the ticket is known)."""
    return HTTPException(
        status.HTTP_428_PRECONDITION_REQUIRED,
        "name the draft version you decide on: `version` in the body, or an `If-Match` "
        f"header with the draft's ETag; both come from GET /drafts/{ticket_id}")


def stale_answer(exc: StaleDraft) -> JSONResponse:
    """409 for a decision on a replaced draft: the current version and where to read it."""
    where = f"/drafts/{exc.ticket_id}"
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT,
        content={"detail": f"{exc}: GET {where}", "current_version": exc.current,
                 "draft": where},
        headers={"ETag": draft_etag(exc.current)})
