import re
from pathlib import Path

import pytest
from embedding_helpers import CountingEmbedder

from app.cli import main
from knowledge.ingest import PROJECT_CORPUS_DIR, ensure_project_corpus, ingest_path
from knowledge.store import open_store
from knowledge.sync import content_id

PAGES = {
    "contents/docs/replay/troubleshooting.mdx": """---
title: Replay troubleshooting
---

import { Callout } from 'components/Callout'

Start here when recordings misbehave.

## Blank recordings

<Callout type="tip">Check the stylesheet host.</Callout>

A recording that shows a white page usually could not load the site's stylesheets.

## Missing recordings

Recording may be switched off in the project settings, or sampled out.
""",
    "contents/docs/flags/index.mdx": """---
title: Feature flags
---

Flags turn code paths on for some users.

## Rollouts

Roll a flag out to a percentage of users.
""",
    "contents/docs/billing/invoices.md": """# Invoices

Invoices are sent at the start of each month.

## Refunds

Ask support for a refund within thirty days.
""",
    "contents/docs/_snippets/shared.mdx": "A snippet included into other pages.\n",
}


def write_site(root: Path) -> Path:
    for rel, text in PAGES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def docs_metadata(store):
    return store.docs.get(include=["metadatas"])["metadatas"]


def test_ingest_counts_and_idempotence(tmp_path: Path, embedder, backend):
    site = write_site(tmp_path / "site")
    store = backend.store(tmp_path / "chroma")
    counting = CountingEmbedder(embedder)

    first = ingest_path(store, site, counting)
    # Sections: 3 (replay) + 2 (flags) + 2 (invoices); the snippet is skipped.
    assert (first.added, first.updated, first.skipped, first.removed) == (7, 0, 0, 0)
    assert first.files == 3 and counting.texts == 7

    second = ingest_path(store, site, counting)
    assert (second.added, second.updated, second.skipped, second.removed) == (0, 0, 7, 0)
    assert counting.texts == 7, "unchanged chunks must not be embedded again"

    page = site / "contents/docs/replay/troubleshooting.mdx"
    page.write_text(page.read_text().replace("sampled out.", "sampled out by the rate."))
    third = ingest_path(store, site, counting)
    assert (third.added, third.updated, third.skipped, third.removed) == (0, 1, 6, 0)
    assert counting.texts == 8

    (site / "contents/docs/billing/invoices.md").unlink()
    fourth = ingest_path(store, site, counting)
    assert (fourth.added, fourth.updated, fourth.skipped, fourth.removed) == (0, 0, 5, 2)
    assert store.docs.count() == 5

    fifth = ingest_path(store, site, counting)
    assert fifth.counts() == (0, 0, 5, 0) and counting.texts == 8


def test_chunk_metadata(tmp_path: Path, embedder):
    site = write_site(tmp_path / "site")
    store = open_store(tmp_path / "chroma")
    ingest_path(store, site, embedder)
    metas = docs_metadata(store)
    by_heading = {m["heading"]: m for m in metas}
    blank = by_heading["Replay troubleshooting > Blank recordings"]
    assert blank["source"] == "contents/docs/replay/troubleshooting.mdx"
    assert blank["url"] == "https://posthog.com/docs/replay/troubleshooting"
    assert blank["title"] == "Replay troubleshooting"
    assert blank["anchor"] == "blank-recordings"
    assert blank["root"] == site.resolve().as_posix()
    assert by_heading["Feature flags > Rollouts"]["url"] == "https://posthog.com/docs/flags"
    assert "Invoices > Refunds" in by_heading
    assert not any("_snippets" in m["source"] for m in metas)
    got = store.docs.get(where={"heading": "Replay troubleshooting > Blank recordings"},
                         include=["documents"])
    assert "<Callout" not in got["documents"][0] and "stylesheet host" in got["documents"][0]


def test_ids_are_content_hashes():
    a = content_id("text", {"b": 1, "a": "x"})
    assert a == content_id("text", {"a": "x", "b": 1})
    assert a != content_id("text!", {"a": "x", "b": 1})
    assert a != content_id("text", {"a": "y", "b": 1})


def test_single_file_ingest_does_not_sweep_its_folder(tmp_path: Path, embedder):
    site = write_site(tmp_path / "site")
    store = open_store(tmp_path / "chroma")
    folder = site / "contents/docs/billing"
    (folder / "plans.md").write_text("# Plans\n\nThere are two plans.\n")
    assert ingest_path(store, folder, embedder).added == 3
    report = ingest_path(store, folder / "plans.md", embedder)
    # Different root (the file's folder is the same, but nothing else is swept).
    assert report.removed == 0 and report.skipped == 1


def test_adding_a_section_counts_as_added(tmp_path: Path, embedder):
    site = write_site(tmp_path / "site")
    store = open_store(tmp_path / "chroma")
    ingest_path(store, site, embedder)
    page = site / "contents/docs/flags/index.mdx"
    page.write_text(page.read_text() + "\n## Targeting\n\nTarget by person property.\n")
    assert ingest_path(store, site, embedder).counts() == (1, 0, 7, 0)


def test_project_corpus_is_ensured_once(tmp_path: Path, embedder):
    store = open_store(tmp_path / "chroma")
    report = ensure_project_corpus(store, embedder)
    assert report is not None and report.added > 0
    assert report.files == len(list(PROJECT_CORPUS_DIR.glob("*.md")))
    assert ensure_project_corpus(store, embedder) is None
    metas = docs_metadata(store)
    assert {m["root"] for m in metas} == {"sidekick:playbooks"}
    assert all(m["url"].startswith("https://sidekick.dev/playbooks/") for m in metas)


COUNTS = re.compile(r"added (\d+), updated (\d+), skipped (\d+), removed (\d+)")


def cli_counts(capsys) -> tuple[int, ...]:
    out = capsys.readouterr().out
    match = COUNTS.search(out)
    assert match, out
    return tuple(int(n) for n in match.groups())


@pytest.fixture
def shared_embedder(monkeypatch, embedder):
    # The CLI builds its own MiniLMEmbedder; hand it the session's (same model, warm cache).
    monkeypatch.setattr("knowledge.embeddings.MiniLMEmbedder", lambda: embedder)
    return embedder


def test_cli_ingest_prints_the_four_counts(tmp_path: Path, home: Path, capsys, shared_embedder,
                                           backend, monkeypatch):
    backend.use(monkeypatch, home)
    site = write_site(tmp_path / "site")
    assert main(["ingest", str(site), "--quiet"]) == 0
    assert cli_counts(capsys) == (7, 0, 0, 0)
    # On a server nothing is written under SIDEKICK_HOME: a second host sees the same index.
    assert (home / "chroma").is_dir() == (backend.kind == "embedded")
    assert backend.store(home / "chroma").docs.count() == 7

    assert main(["ingest", str(site)]) == 0
    assert cli_counts(capsys) == (0, 0, 7, 0)

    page = site / "contents/docs/flags/index.mdx"
    page.write_text(page.read_text().replace("percentage", "share"))
    (site / "contents/docs/billing/invoices.md").unlink()
    assert main(["ingest", str(site), "-q"]) == 0
    assert cli_counts(capsys) == (0, 1, 4, 2)


def test_cli_ingest_url_options(tmp_path: Path, home: Path, capsys, shared_embedder):
    docs = tmp_path / "handbook"
    (docs / "team").mkdir(parents=True)
    (docs / "team" / "index.md").write_text("# Team\n\nWho we are.\n")
    assert main(["ingest", str(docs), "--base-url", "https://hb.example.com",
                 "--strip-prefix", ""]) == 0
    assert cli_counts(capsys) == (1, 0, 0, 0)
    store = open_store(home / "chroma")
    assert docs_metadata(store)[0]["url"] == "https://hb.example.com/team"


def test_cli_ingest_missing_path_is_a_usage_error(tmp_path: Path, home: Path, capsys):
    assert main(["ingest", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_editing_a_snippet_updates_the_pages_that_include_it(tmp_path: Path, embedder):
    docs = tmp_path / "site" / "contents" / "docs"
    (docs / "_snippets").mkdir(parents=True)
    (docs / "_snippets" / "note.mdx").write_text("Keys starting with phc_ are public.\n")
    (docs / "keys.mdx").write_text(
        "import Note from './_snippets/note.mdx'\n\n# Keys\n\n## Public keys\n\n<Note />\n")
    store = open_store(tmp_path / "chroma")
    assert ingest_path(store, tmp_path / "site", embedder).counts() == (1, 0, 0, 0)
    (docs / "_snippets" / "note.mdx").write_text("Keys starting with phc_ may be shared.\n")
    assert ingest_path(store, tmp_path / "site", embedder).counts() == (0, 1, 0, 0)
    text = store.docs.get(include=["documents"])["documents"][0]
    assert text == "Keys starting with phc_ may be shared."
