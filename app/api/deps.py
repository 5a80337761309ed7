"""Dependencies for the routes, as `Annotated` aliases (`DeskDep`, `SessionDep`, ...)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.api.desk import Desk
from app.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="a token from SIDEKICK_API_TOKENS")


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


def get_desk(request: Request) -> Desk:
    """The desk (store + graph) of this process."""
    return request.app.state.desk


def get_session(desk: Annotated[Desk, Depends(get_desk)]) -> Iterator[Session]:
    """A read session for one request."""
    with desk.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DeskDep = Annotated[Desk, Depends(get_desk)]
SessionDep = Annotated[Session, Depends(get_session)]


def token_ok(given: str, tokens: tuple[str, ...]) -> bool:
    """Whether `given` is one of `tokens`, compared with each in constant time."""
    # Compare against every token, so timing leaks neither which one nor how much matched.
    matches = [hmac.compare_digest(given.encode(), t.encode()) for t in tokens]
    return bool(given) and any(matches)


def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse a request without one of the configured bearer tokens (401).

    With no token configured (allowed only when SIDEKICK_ENV=development) the API is open.
    """
    tokens = settings.api_token_list
    if not tokens:
        return
    given = credentials.credentials if credentials else ""
    if not token_ok(given, tokens):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


Authorized = Depends(require_token)
