"""The handbook's special cases, how to recognise them and what the hero does.

Self-hosted, 2FA removal, ownership transfer and community questions, read from
`data/playbooks.toml`.

Sidekick only drafts and lists steps; it never performs an admin action itself.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from agent.models import Kind, PlaybookName, Status, Ticket

DEFAULT_PLAYBOOKS_FILE = Path(__file__).parent / "data" / "playbooks.toml"

Publicity = Literal["always", "by_priority"]


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


@dataclass(frozen=True)
class Playbook:
    """One special case: its detection patterns and the handbook's procedure."""

    name: PlaybookName
    title: str
    precedence: int
    kind: Kind | None
    status_after: Status
    public: Publicity
    venue: str
    steps: tuple[str, ...]
    sources: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    url_patterns: tuple[re.Pattern[str], ...] = ()
    match_any: tuple[re.Pattern[str], ...] = ()
    match_all: tuple[tuple[re.Pattern[str], ...], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    #: The team whose procedure this is ("" = the classifier's team stands).
    team: str = ""

    def matches_metadata(self, ticket: Ticket) -> bool:
        """Tell whether the channel, a tag or the ticket's URL says it is this case."""
        tags = {t.strip().lower() for t in ticket.tags}
        url = ticket.url or ""
        return (
            ticket.source in self.sources
            or bool(tags & self.tags_any)
            or any(p.search(url) for p in self.url_patterns)
        )

    def matches_text(self, text: str) -> bool:
        """Tell whether the text asks for this case (and no exclusion vetoes it)."""
        hit = any(p.search(text) for p in self.match_any) or (
            bool(self.match_all) and all(any(p.search(text) for p in g) for g in self.match_all)
        )
        return hit and not any(p.search(text) for p in self.exclude)

    def matches(self, ticket: Ticket) -> bool:
        """Check metadata first (it cannot be argued with), then the text."""
        return self.matches_metadata(ticket) or self.matches_text(ticket.text)

    def is_public(self, priority: str) -> bool:
        """Tell whether the reply is public: low priority may be closed without one."""
        return self.public == "always" or priority != "low"


_LIST_KEYS = ("steps", "sources", "tags_any", "url_patterns", "match_any", "match_all",
              "exclude")
_PLAYBOOK_KEYS = frozenset({"title", "precedence", "kind", "status_after", "public", "venue",
                            "team", *_LIST_KEYS})


def _playbook(name: str, table: dict, path: Path) -> Playbook:
    where = f"playbooks file {path}: [{name}]"
    if not isinstance(table, dict):
        raise ValueError(f"{where}: must be a table")
    if name not in get_args(PlaybookName):
        raise ValueError(f"{where}: unknown playbook; known: {get_args(PlaybookName)}")
    kind = table.get("kind") or None
    if kind is not None and kind not in get_args(Kind):
        raise ValueError(f"{where}: `kind` must be empty or one of {get_args(Kind)}")
    if table.get("status_after") not in get_args(Status):
        raise ValueError(f"{where}: `status_after` must be one of {get_args(Status)}")
    if table.get("public") not in get_args(Publicity):
        raise ValueError(f"{where}: `public` must be one of {get_args(Publicity)}")
    unknown = set(table) - _PLAYBOOK_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    for key in _LIST_KEYS:
        if key in table and not (isinstance(table[key], list)
                                 and all(isinstance(v, str | list) for v in table[key])):
            raise ValueError(f"{where}: `{key}` must be a list of strings")
    if "precedence" in table and (isinstance(table["precedence"], bool)
                                  or not isinstance(table["precedence"], int)):
        raise ValueError(f"{where}: `precedence` must be a whole number")
    try:
        return Playbook(
            name=name,  # type: ignore[arg-type]  # checked against PlaybookName above
            title=str(table.get("title", name)),
            precedence=int(table.get("precedence", 100)),
            kind=kind,
            status_after=table["status_after"],
            public=table["public"],
            venue=str(table.get("venue", "")),
            steps=tuple(table.get("steps", [])),
            sources=frozenset(table.get("sources", [])),
            tags_any=frozenset(t.lower() for t in table.get("tags_any", [])),
            url_patterns=_compile(table.get("url_patterns", [])),
            match_any=_compile(table.get("match_any", [])),
            match_all=tuple(_compile(group) for group in table.get("match_all", [])),
            exclude=_compile(table.get("exclude", [])),
            team=str(table.get("team", "")),
        )
    except re.error as exc:
        raise ValueError(f"{where}: bad pattern: {exc}") from None


def load_playbooks(path: str | Path | None = None) -> tuple[Playbook, ...]:
    """Read a playbooks TOML file, ordered by precedence (the first match wins).

    Raises:
        ValueError: the file is missing, not TOML, or a playbook is malformed.

    """
    path = Path(path) if path else DEFAULT_PLAYBOOKS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"playbooks file {path} unreadable: {exc}") from None
    books = (_playbook(name, table, path) for name, table in data.items())
    return tuple(sorted(books, key=lambda b: b.precedence))


#: The playbooks `install_playbooks` put in place of the packaged ones.
_installed: list[tuple[Playbook, ...]] = []


def install_playbooks(playbooks: tuple[Playbook, ...] | None) -> None:
    """Make `playbooks` every caller's default (None: back to the packaged file)."""
    _installed[:] = [playbooks] if playbooks is not None else []


@cache
def _packaged_playbooks() -> tuple[Playbook, ...]:
    return load_playbooks()


def default_playbooks() -> tuple[Playbook, ...]:
    """Return the installed playbooks, else the packaged ones (parsed once)."""
    return _installed[0] if _installed else _packaged_playbooks()


def detect_playbook(
    ticket: Ticket, playbooks: tuple[Playbook, ...] | None = None
) -> PlaybookName | None:
    """Return the playbook that applies to the ticket, by precedence, or None."""
    for book in playbooks or default_playbooks():
        if book.matches(ticket):
            return book.name
    return None


def get_playbook(name: str, playbooks: tuple[Playbook, ...] | None = None) -> Playbook:
    """Return the playbook called `name`.

    Raises:
        ValueError: no such playbook (the message lists the known ones).

    """
    books = playbooks or default_playbooks()
    for book in books:
        if book.name == name:
            return book
    raise ValueError(f"unknown playbook {name!r}; known: {', '.join(b.name for b in books)}")


def kind_for(playbook: str | None, classified_kind: str) -> str:
    """Return the kind once the playbook is known (2FA, ownership: account_request)."""
    if playbook is None:
        return classified_kind
    return get_playbook(playbook).kind or classified_kind
