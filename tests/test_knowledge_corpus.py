"""The project's own playbook pages: complete, well-formed, and in our own words."""

import re
from pathlib import Path

import pytest

from agent.models import PlaybookName
from agent.teams import load_teams
from knowledge.ingest import PLAYBOOK_BASE_URL, PROJECT_CORPUS_DIR
from knowledge.markdown import parse_page

PAGES = sorted(PROJECT_CORPUS_DIR.glob("*.md"))


def front_matters() -> dict[str, dict]:
    return {p.name: parse_page(p.read_text(), p).front_matter for p in PAGES}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_has_title_and_consistent_url(path: Path):
    page = parse_page(path.read_text(), path)
    assert page.front_matter.get("title"), "front matter needs a title"
    assert page.front_matter.get("url") == PLAYBOOK_BASE_URL + path.stem
    assert "## " in page.body, "pages are split by ## headings into passages"


def test_every_team_has_an_ownership_page():
    teams = {fm.get("team") for fm in front_matters().values()}
    for team in load_teams(None):
        assert team.slug in teams, f"no page with `team: {team.slug}`"


def test_every_playbook_has_a_page():
    playbooks = {fm.get("playbook") for fm in front_matters().values()}
    assert set(PlaybookName.__args__) <= playbooks


def test_2fa_page_has_the_confirmation_email():
    text = (PROJECT_CORPUS_DIR / "two-factor-removal.md").read_text()
    template = text[text.index("```"):]
    assert re.search(r"Subject: .*confirm.*two-factor", template, re.IGNORECASE)
    assert "ticket #[ticket number]" in template
    assert "reply to this email to confirm" in template
    assert "immediately" in template


def _shingles(text: str, n: int = 9) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.shared
def test_pages_do_not_copy_the_handbook(shared_dir: Path):
    sources = [*(shared_dir / "seeds").glob("*"), *(shared_dir / "corpus").rglob("*.md*")]
    theirs: set[tuple[str, ...]] = set()
    for path in sources:
        theirs |= _shingles(path.read_text(errors="replace"))
    for page in PAGES:
        copied = _shingles(page.read_text()) & theirs
        assert not copied, f"{page.name} repeats the handbook: {' '.join(next(iter(copied)))}"
