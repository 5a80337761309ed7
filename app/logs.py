"""One logging configuration for every process: the CLI, the API (uvicorn's too) and the worker.

`SIDEKICK_LOG_LEVEL` sets the level, `SIDEKICK_LOG_FORMAT` the shape of a line: `text` for a
person at a terminal, `json` (one object per line) for a log collector. Every line is
written to stderr by one handler on the root logger, so the libraries' loggers (uvicorn,
httpx, alembic) go through the same two filters as ours:

- the ticket a line is about: `about_ticket(ticket_id)` (or `@ticket_scoped`) sets a
  context variable where a ticket is handled (the desk, the service, the worker); every
  line logged inside it carries `ticket_id`, in the thread that set it and in the tasks and
  thread-pool calls it starts (contextvars are copied into them); uvicorn's access line of
  a request to `/tickets/{id}` or `/drafts/{id}` carries that id;
- redaction: the configured secrets (API tokens, the Slack, Zendesk, GitHub and LLM keys),
  bearer tokens, token-shaped strings and the password of a URL become `[secret]`, and an
  e-mail address keeps only its first character and its domain (`j***@example.com`), in
  the message, its arguments and an exception's traceback alike.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import unquote

from pydantic import SecretStr

from app.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

#: The ticket the current code is handling (None outside one).
_TICKET: ContextVar[str | None] = ContextVar("sidekick_ticket", default=None)

#: A local part (its first character kept) and a domain.
_EMAIL = re.compile(r"(?<![\w.%+-])([\w%+-])[\w.%+-]*@((?:[\w-]+\.)+[A-Za-z]{2,})")
_PATTERNS = (
    # The password of a URL (a database URL, a proxy): scheme://user:password@host.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/@]+@", re.I), r"\1:[secret]@"),
    (re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]{8,}", re.I), r"\1 [secret]"),
    # key=value in a query string or a config dump.
    (re.compile(r"\b((?:access_)?(?:token|secret|password|api_key|apikey)=)[^\s&]+", re.I),
     r"\1[secret]"),
    # Slack, GitHub and OpenAI-style keys, wherever they appear.
    (re.compile(r"\bxox[abposr]-[\w-]+"), "[secret]"),
    (re.compile(r"\bgh[pousr]_\w{16,}"), "[secret]"),
    (re.compile(r"\bsk-[\w-]{16,}"), "[secret]"),
)
_TICKET_PATH = re.compile(r"/(?:tickets|drafts)/([^/?#]+)")
#: Secrets shorter than this are not searched for (a 1-character "secret" would blank logs).
_MIN_SECRET = 6

FORMATS = ("text", "json")
_OWN = "sidekick"  # marks the handler this module installed


@contextmanager
def about_ticket(ticket_id: str | None) -> Iterator[None]:
    """Tag every log line inside the block with `ticket_id`."""
    token = _TICKET.set(ticket_id)
    try:
        yield
    finally:
        _TICKET.reset(token)


def ticket_scoped(method: Callable[Concatenate[Any, Any, P], R]) -> Callable[
        Concatenate[Any, Any, P], R]:
    """A method whose first argument is a ticket id (or a ticket): its lines carry the id."""
    @functools.wraps(method)
    # Positional-only: the method's own keywords may be called `ticket` (converse's is).
    def scoped(self: Any, subject: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with about_ticket(subject if isinstance(subject, str) else getattr(subject, "id", None)):
            return method(self, subject, *args, **kwargs)

    return scoped


def current_ticket() -> str | None:
    """The ticket the current code is handling, if any."""
    return _TICKET.get()


def mask_email(match: re.Match[str]) -> str:
    """`jane.doe@example.com` -> `j***@example.com`."""
    return f"{match.group(1)}***@{match.group(2)}"


class Redactor:
    """Replaces secrets and e-mail addresses in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first: a token that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len,
                              reverse=True)

    def __call__(self, text: str) -> str:
        """The text without secrets and with e-mail addresses masked."""
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return _EMAIL.sub(mask_email, text)


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings (each API token on its own)."""
    found = list(settings.api_token_list)
    for value in settings.__dict__.values():
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
    return found


class ContextFilter(logging.Filter):
    """Adds `ticket_id` and the process's role to a record, and redacts what it says."""

    def __init__(self, role: str, redact: Redactor) -> None:
        super().__init__()
        self.role, self.redact = role, redact

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag and redact the record in place; never drops it."""
        if getattr(record, "ticket_id", None) is None:
            record.ticket_id = _TICKET.get() or _ticket_of_request(record)
        record.role = self.role
        # The message with its arguments, redacted once: every formatter sees the same text.
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - bad arguments: the handler reports them as usual
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _ticket_of_request(record: logging.LogRecord) -> str | None:
    """The ticket a request names (`/tickets/{id}`, `/drafts/{id}/...`) in uvicorn's access line.

    TRICKY: uvicorn writes that line after the response, outside the request's context, so
    the context variable a route set is gone; its arguments still hold the path.
    """
    if record.name != "uvicorn.access" or not isinstance(record.args, tuple) \
            or len(record.args) < 3:
        return None
    found = _TICKET_PATH.match(str(record.args[2]))
    return unquote(found.group(1)) if found else None


class TextFormatter(logging.Formatter):
    """`2026-12-04 18:40:01,123 INFO api sidekick.desk [ticket 42]: message`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(role)s %(name)s%(about)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, with the ticket when there is one."""
        ticket = getattr(record, "ticket_id", None)
        record.about = f" [ticket {ticket}]" if ticket else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, role, pid, message, ticket_id, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "role": getattr(record, "role", None),
            "pid": record.process,
            "message": record.getMessage(),
        }
        ticket = getattr(record, "ticket_id", None)
        if ticket is not None:
            line["ticket_id"] = ticket
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is written, not when configured.

    A test runner swaps `sys.stderr` per test and closes the old one; a handler holding it
    would then fail on every later line.
    """

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def configure_logging(settings: Settings, role: str, *, level: str | int | None = None,
                      stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's lines through one redacting handler on stderr; the handler.

    Args:
        settings: `log_level`, `log_format` and the secrets to redact.
        role: which process this is (`cli`, `api`, `worker`), on every line.
        level: overrides `SIDEKICK_LOG_LEVEL` (`sidekick serve --log-level`).
        stream: where lines go (default stderr).

    Calling it again replaces the handler it installed before (nothing is logged twice).
    """
    chosen = level if level is not None else settings.log_level
    numeric = chosen if isinstance(chosen, int) else logging.getLevelName(chosen.upper())
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.set_name(_OWN)
    handler.addFilter(ContextFilter(role, Redactor(configured_secrets(settings))))
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _OWN]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's loggers (run with log_config=None) and ours propagate to the root handler.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", _OWN):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(numeric)
    # Chatty at INFO without saying anything an operator needs.
    for name in ("alembic", "httpx", "httpcore", "chromadb"):
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    return handler
