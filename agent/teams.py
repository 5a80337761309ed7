"""The team taxonomy: which teams exist and what each owns, read from a replaceable file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

DEFAULT_TEAMS_FILE = Path(__file__).parent / "data" / "teams.toml"


@dataclass(frozen=True)
class Team:
    """One team that owns a part of the product."""

    slug: str
    name: str
    owns: tuple[str, ...]

    @property
    def description(self) -> str:
        """One line for prompts, notes and the classifier's prototype text."""
        return f"{self.name}: " + "; ".join(self.owns)


@dataclass(frozen=True)
class Teams:
    """An ordered set of teams; iteration order is the file's order."""

    teams: tuple[Team, ...]

    def __post_init__(self) -> None:
        if not self.teams:
            raise ValueError("the teams file defines no team")

    def __iter__(self):  # noqa: D105
        return iter(self.teams)

    def __len__(self) -> int:  # noqa: D105
        return len(self.teams)

    def __contains__(self, slug: object) -> bool:  # noqa: D105
        return slug in self.by_slug

    @cached_property
    def slugs(self) -> tuple[str, ...]:
        """The team slugs, in file order."""
        return tuple(t.slug for t in self.teams)

    @cached_property
    def by_slug(self) -> dict[str, Team]:
        """Teams keyed by slug."""
        return {t.slug: t for t in self.teams}

    def get(self, slug: str) -> Team:
        """The team with this slug, or a ValueError that lists the known ones."""
        try:
            return self.by_slug[slug]
        except KeyError:
            raise ValueError(
                f"unknown team {slug!r}; known teams: {', '.join(self.slugs)}"
            ) from None


def load_teams(path: str | Path | None = None) -> Teams:
    """Read a teams TOML file (the default taxonomy when no path is given)."""
    path = Path(path) if path else DEFAULT_TEAMS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"teams file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"teams file {path} is not valid TOML: {exc}") from None
    teams = []
    for slug, table in data.items():
        if not isinstance(table, dict):
            raise ValueError(f"teams file {path}: `{slug}` must be a table")
        owns = table.get("owns", [])
        if not isinstance(owns, list) or not all(isinstance(o, str) for o in owns):
            raise ValueError(f"teams file {path}: `{slug}.owns` must be a list of strings")
        teams.append(Team(slug=slug, name=str(table.get("name", slug)), owns=tuple(owns)))
    return Teams(tuple(teams))
