"""The offline engine's wording, per language, read from `data/templates.toml`.

Keeping the text out of the drafting logic lets support staff fix a phrase or add a
language without touching code; a key missing in one language falls back to English.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agent.language import LANGUAGE_NAMES
from agent.models import usable_name

DEFAULT_TEMPLATES_FILE = Path(__file__).parent / "data" / "templates.toml"
FALLBACK_LANGUAGE = "en"


class _Blank(dict):
    # str.format_map with this leaves unknown placeholders empty instead of raising.
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Templates:
    """Reply phrases per language, the bug checklist per team, and the note's lines."""

    replies: dict[str, dict[str, str]]
    missing_items: dict[str, dict[str, str]]
    missing_by_team: dict[str, tuple[str, ...]]
    missing_default: tuple[str, ...]
    missing_present: dict[str, re.Pattern[str]]
    max_missing: int
    note: dict[str, str]

    def reply(self, key: str, lang: str, **values: object) -> str:
        """Return reply phrase `key` in `lang` (English if missing), placeholders filled."""
        phrases = self.replies.get(lang, {})
        text = phrases.get(key) or self.replies[FALLBACK_LANGUAGE][key]
        return text.format_map(_Blank(values))

    def note_line(self, key: str, **values: object) -> str:
        """Return a line of the hero's internal note, placeholders filled."""
        return self.note[key].format_map(_Blank(values))

    def greeting(self, name: str | None, lang: str) -> str:
        """Return `Hey <name>,` in `lang`, or the language's greeting with no name.

        A name unfit to greet with (a link, a secret-looking string, invisible characters)
        gets the greeting with no name: the guards flag such text in a draft, and the
        fallback reply must not then carry it itself.
        """
        name = usable_name(name)
        if name:
            return self.reply("greeting", lang, name=name)
        return self.reply("greeting_fallback", lang)

    def greeting_words(self, lang: str) -> tuple[str, ...]:
        """Return the words a reply may open with: `Hey`, plus the language's own greeting."""
        words = {"Hey"}
        for key in ("greeting", "greeting_fallback"):
            text = self.reply(key, lang, name="x")
            words.add(re.split(r"[\s,]", text, maxsplit=1)[0])
        return tuple(sorted(words))

    def missing_info(self, team: str, ticket_text: str, lang: str) -> list[str]:
        """List what to ask a bug reporter of `team`, minus what the ticket already gives."""
        keys = self.missing_by_team.get(team, self.missing_default)
        asked = []
        for key in keys:
            present = self.missing_present.get(key)
            if present is not None and present.search(ticket_text):
                continue
            items = self.missing_items.get(lang) or self.missing_items[FALLBACK_LANGUAGE]
            asked.append(items.get(key) or self.missing_items[FALLBACK_LANGUAGE][key])
        return asked[: self.max_missing]


def load_templates(path: str | Path | None = None) -> Templates:
    """Read a templates TOML file (the packaged one when no path is given).

    Raises:
        ValueError: the file is missing, not TOML, or lacks the English replies.

    """
    path = Path(path) if path else DEFAULT_TEMPLATES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"templates file {path} unreadable: {exc}") from None
    replies = data.get("reply", {})
    if FALLBACK_LANGUAGE not in replies:
        raise ValueError(f"templates file {path}: [reply.{FALLBACK_LANGUAGE}] is required")
    unknown = set(replies) - set(LANGUAGE_NAMES)
    if unknown:
        raise ValueError(f"templates file {path}: unknown languages {sorted(unknown)}")
    missing = data.get("missing_info", {})
    if path != DEFAULT_TEMPLATES_FILE:
        _check_against_packaged(data, path)
    for key, pattern in missing.get("present_if", {}).items():
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise ValueError(f"templates file {path}: [missing_info.present_if] `{key}`: "
                             f"bad pattern: {exc}") from None
    return Templates(
        replies=replies,
        missing_items=missing.get("items", {FALLBACK_LANGUAGE: {}}),
        missing_by_team={k: tuple(v) for k, v in missing.get("teams", {}).items()},
        missing_default=tuple(missing.get("default", [])),
        missing_present={
            k: re.compile(v, re.IGNORECASE) for k, v in missing.get("present_if", {}).items()
        },
        max_missing=int(missing.get("max_items", 3)),
        note=data.get("note", {}),
    )


def _check_against_packaged(data: dict, path: Path) -> None:
    """A replacement file must hold every English reply and note line the drafter uses."""
    packaged = tomllib.loads(DEFAULT_TEMPLATES_FILE.read_text(encoding="utf-8"))
    for table, have, need in (
            (f"reply.{FALLBACK_LANGUAGE}", data["reply"][FALLBACK_LANGUAGE],
             packaged["reply"][FALLBACK_LANGUAGE]),
            ("note", data.get("note", {}), packaged["note"]),
            (f"missing_info.items.{FALLBACK_LANGUAGE}",
             data.get("missing_info", {}).get("items", {}).get(FALLBACK_LANGUAGE, {}),
             packaged["missing_info"]["items"][FALLBACK_LANGUAGE])):
        absent = sorted(set(need) - set(have))
        if absent:
            raise ValueError(f"templates file {path}: [{table}] lacks {', '.join(absent)}")
        wrong = sorted(k for k in need if not isinstance(have[k], str))
        if wrong:
            raise ValueError(f"templates file {path}: [{table}] `{wrong[0]}` must be text")


#: The templates `install_templates` put in place of the packaged ones.
_installed: list[Templates] = []


def install_templates(templates: Templates | None) -> None:
    """Make `templates` every caller's default (None: back to the packaged file)."""
    _installed[:] = [templates] if templates is not None else []


@cache
def _packaged_templates() -> Templates:
    return load_templates()


def default_templates() -> Templates:
    """Return the installed templates, else the packaged ones (parsed once)."""
    return _installed[0] if _installed else _packaged_templates()
