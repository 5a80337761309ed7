from pathlib import Path

import pytest

from knowledge.urls import UrlRule, is_snippet


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "posthog-com"
    for rel in ("contents/docs/feature-flags/installation.mdx",
                "contents/docs/surveys/index.mdx",
                "contents/docs/_snippets/keys.mdx",
                "contents/docs/feature-flags/snippets/faq.mdx",
                "contents/handbook/support/support-hero.md",
                "notes/readme.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    return root


def test_default_rule_maps_contents_paths(site: Path):
    rule = UrlRule()
    assert rule.url_for(site / "contents/docs/feature-flags/installation.mdx", site, {}) == (
        "https://posthog.com/docs/feature-flags/installation")
    assert rule.url_for(site / "contents/handbook/support/support-hero.md", site, {}) == (
        "https://posthog.com/handbook/support/support-hero")


def test_index_maps_to_its_folder(site: Path):
    assert UrlRule().url_for(site / "contents/docs/surveys/index.mdx", site, {}) == (
        "https://posthog.com/docs/surveys")


def test_subfolder_root_gives_the_same_urls(site: Path):
    sub = site / "contents" / "docs"
    assert UrlRule().url_for(sub / "surveys/index.mdx", sub, {}) == (
        "https://posthog.com/docs/surveys")


def test_snippets_have_no_url(site: Path):
    rule = UrlRule()
    assert rule.url_for(site / "contents/docs/_snippets/keys.mdx", site, {}) is None
    assert rule.url_for(site / "contents/docs/feature-flags/snippets/faq.mdx", site, {}) is None
    assert is_snippet(Path("docs/_snippets/keys.mdx"))
    assert not is_snippet(Path("docs/snippets.md"))


def test_front_matter_url_wins(site: Path):
    path = site / "contents/docs/_snippets/keys.mdx"
    assert UrlRule().url_for(path, site, {"url": " https://x.dev/keys "}) == "https://x.dev/keys"


def test_path_without_prefix_has_no_url(site: Path):
    assert UrlRule().url_for(site / "notes/readme.md", site, {}) is None


def test_custom_base_and_empty_prefix(site: Path):
    rule = UrlRule(base_url="https://docs.example.com/", strip_prefix="")
    assert rule.url_for(site / "notes/readme.md", site, {}) == (
        "https://docs.example.com/notes/readme")
    assert rule.url_for(site / "contents/docs/surveys/index.mdx", site / "contents/docs/surveys",
                        {}) == "https://docs.example.com"
    other = UrlRule(base_url="https://example.com/help", strip_prefix="docs")
    assert other.url_for(site / "contents/docs/feature-flags/installation.mdx", site, {}) == (
        "https://example.com/help/feature-flags/installation")
