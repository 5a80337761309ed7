from pathlib import Path

import pytest

import knowledge.search as search_module
from agent.context import Retriever
from app.cli import main
from knowledge.ingest import ensure_project_corpus, ingest_path
from knowledge.search import HybridRetriever, open_retriever
from knowledge.store import open_store

DOCS = {
    "privacy/ad-blockers.md": """---
title: Tracking and ad blockers
---

## Blocked requests

Browser extensions that block trackers stop events from reaching us. In the browser console
the failed calls show net::ERR_BLOCKED_BY_CLIENT. Route the requests through your own domain
with a reverse proxy and they go through again.
""",
    "libraries/js.mdx": """---
title: JavaScript web SDK
---

import { Tab } from 'components/Tab'

## Installing

Add posthog-js from npm and initialise it with your project key.

## Sending events

Call posthog.capture() with an event name and properties. Page loads are sent for you as
$pageview events unless you turn that off.
""",
    "session-replay/troubleshooting.mdx": """---
title: Session replay troubleshooting
---

## Recordings are blank

When playback only shows an empty page, the recorder could not download the site's CSS or
fonts. Make the stylesheet host reachable from our servers.

## Recordings are missing

Check that recording is enabled in the project settings and that sampling keeps the session.
""",
    "feature-flags/local-evaluation.mdx": """---
title: Local evaluation
---

## Evaluating flags on the server

A server SDK can download flag definitions and decide flags without a request per check,
which needs a personal API key and keeps latency low.
""",
    "billing/refunds.md": """---
title: Refunds
---

## Getting money back

If an invoice was higher than expected because of a spike in usage, contact support within
thirty days and we can return the difference.
""",
    "data-warehouse/sources.mdx": """---
title: Warehouse sources
---

## Syncing tables

Connect Stripe, Hubspot or a Postgres database and its tables are copied on a schedule.
""",
}
BASE = "https://posthog.com/docs/"


def write_docs(root: Path) -> Path:
    for rel, text in DOCS.items():
        path = root / "contents" / "docs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="module")
def docs_only(tmp_path_factory, embedder, backend) -> HybridRetriever:
    root = tmp_path_factory.mktemp("docs-only")
    store = backend.store(root / "chroma")
    ingest_path(store, write_docs(root / "site"), embedder)
    return HybridRetriever(store, embedder)


@pytest.fixture(scope="module")
def full_home(tmp_path_factory, embedder, backend) -> Path:
    """A SIDEKICK_HOME whose store holds the test docs and the project playbooks."""
    home = tmp_path_factory.mktemp("full-home")
    store = backend.store(home / "chroma")
    ingest_path(store, write_docs(home / "site"), embedder)
    ensure_project_corpus(store, embedder)
    return home


@pytest.fixture
def full(full_home: Path, embedder, backend) -> HybridRetriever:
    return HybridRetriever(backend.store(full_home / "chroma"), embedder)


def top_urls(passages) -> list[str]:
    return [p.url for p in passages]


def test_retriever_satisfies_the_protocol(docs_only):
    assert isinstance(docs_only, HybridRetriever)
    retriever: Retriever = docs_only  # the type checker holds us to the protocol
    assert retriever.search("blank recordings", k=1)


@pytest.mark.parametrize("query, expected", [
    ("ERR_BLOCKED_BY_CLIENT", "privacy/ad-blockers"),
    ("posthog-js", "libraries/js"),
    ("$pageview", "libraries/js"),
    ("capture()", "libraries/js"),
])
def test_lexical_queries_find_the_page(docs_only, query, expected):
    passages = docs_only.search(query, k=3)
    assert passages[0].url == BASE + expected, [(p.url, p.score) for p in passages]


@pytest.mark.parametrize("query, expected", [
    ("the session videos only display an empty white screen", "session-replay/troubleshooting"),
    ("can I get my money back after an unexpectedly large bill", "billing/refunds"),
    ("decide feature toggles in my backend without network calls",
     "feature-flags/local-evaluation"),
])
def test_semantic_paraphrases_find_the_page(docs_only, query, expected):
    passages = docs_only.search(query, k=3)
    assert passages[0].url == BASE + expected, [(p.url, p.score) for p in passages]


def test_passages_have_text_heading_and_ordered_scores(docs_only):
    passages = docs_only.search("recordings are blank", k=4)
    assert len(passages) == 4
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    best = passages[0]
    assert best.heading == "Session replay troubleshooting > Recordings are blank"
    assert "CSS" in best.text and best.title == "Session replay troubleshooting"


def test_precomputed_embedding_gives_the_same_result(docs_only, embedder):
    query = "reverse proxy for blocked events"
    vector = embedder.embed([query])[0]
    assert top_urls(docs_only.search(query, embedding=vector)) == top_urls(
        docs_only.search(query))


def test_empty_query_and_empty_store(tmp_path: Path, docs_only, embedder):
    assert docs_only.search("   ") == []
    assert HybridRetriever(open_store(tmp_path / "empty"), embedder).search("anything") == []


def test_lexical_index_is_built_once_and_rebuilt_when_the_store_changes(
        tmp_path: Path, embedder, monkeypatch, backend):
    store = backend.store(tmp_path / "chroma")
    site = write_docs(tmp_path / "site")
    ingest_path(store, site, embedder)
    loads = []
    real = search_module._load_index
    monkeypatch.setattr(search_module, "_load_index", lambda c: loads.append(1) or real(c))
    retriever = HybridRetriever(store, embedder)
    retriever.search("blank recordings")
    retriever.search("refunds")
    assert len(loads) == 1
    extra = site / "contents" / "docs" / "new.md"
    extra.write_text("# Cohorts\n\nStatic cohorts are saved lists of people.\n")
    ingest_path(store, site, embedder)
    assert retriever.search("static cohorts")[0].title == "Cohorts"
    assert len(loads) == 2


def test_playbook_page_always_gets_a_slot(full):
    passages = full.search("how do I export events to BigQuery", k=5,
                           playbook="two_factor_removal")
    assert len(passages) == 5
    assert "https://sidekick.dev/playbooks/two-factor-removal" in top_urls(passages)


def test_a_2fa_ticket_finds_the_2fa_playbook(full):
    passages = full.search("I lost my phone with the authenticator app and cannot log in", k=5)
    assert passages[0].url == "https://sidekick.dev/playbooks/two-factor-removal"


def test_team_pages_are_preferred_after_a_reassignment(full):
    query = "the numbers on my dashboard look wrong since yesterday"
    replay = "https://sidekick.dev/playbooks/team-replay"
    without = top_urls(full.search(query, k=5))
    with_team = top_urls(full.search(query, k=5, team="replay"))
    # Without a team the replay page is at best a weak filler; with it, it moves up.
    assert replay not in without[:3]
    assert replay in with_team[:3]
    assert len(with_team) == 5


def test_team_and_playbook_together_keep_both(full):
    passages = full.search("refund for last month", k=2, team="infrastructure",
                           playbook="self_hosted")
    urls = top_urls(passages)
    assert "https://sidekick.dev/playbooks/self-hosted" in urls
    assert "https://sidekick.dev/playbooks/team-infrastructure" in urls


def test_at_most_two_chunks_per_page_and_one_per_team_page(full):
    passages = full.search("Recordings are blank or missing in session replay", k=5)
    urls = top_urls(passages)
    assert all(urls.count(url) <= 2 for url in urls)
    assert urls.count("https://sidekick.dev/playbooks/team-replay") <= 1


def test_open_retriever_indexes_the_playbooks(tmp_path: Path, embedder):
    retriever = open_retriever(tmp_path / "chroma", embedder)
    passages = retriever.search("customer wants to transfer organization ownership", k=3)
    assert passages[0].url == "https://sidekick.dev/playbooks/ownership-transfer"


def test_cli_search_prints_rank_score_title_and_url(full_home: Path, embedder, monkeypatch,
                                                     capsys, backend):
    monkeypatch.setenv("SIDEKICK_HOME", str(full_home))
    backend.use(monkeypatch, full_home)
    monkeypatch.setattr("knowledge.embeddings.MiniLMEmbedder", lambda: embedder)
    assert main(["search", "ERR_BLOCKED_BY_CLIENT", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("1. [") and "]" in lines[0]
    assert BASE + "privacy/ad-blockers" in {line.strip() for line in lines[1::2]}

    assert main(["search", "blank", "recordings", "-k", "3", "--text"]) == 0
    out = capsys.readouterr().out
    assert "Session replay troubleshooting > Recordings are blank" in out and "CSS" in out


def test_cli_search_bad_k(full_home: Path, monkeypatch, capsys):
    monkeypatch.setenv("SIDEKICK_HOME", str(full_home))
    assert main(["search", "x", "-k", "0"]) == 2
    assert "-k" in capsys.readouterr().err


def test_snapshot_is_reloaded_when_an_update_keeps_the_count(tmp_path: Path, embedder,
                                                             backend):
    store = backend.store(tmp_path / "chroma")
    site = write_docs(tmp_path / "site")
    ingest_path(store, site, embedder)
    retriever = HybridRetriever(store, embedder)
    assert retriever.search("refund", k=1)[0].title == "Refunds"
    page = site / "contents" / "docs" / "billing" / "refunds.md"
    page.write_text(page.read_text().replace("thirty days", "sixty days"))
    other = HybridRetriever(backend.store(tmp_path / "chroma"), embedder)
    assert ingest_path(other.store, site, embedder).updated == 1
    assert "sixty days" in retriever.search("refund within sixty days", k=1)[0].text


class _CountingCollection:
    """A Chroma collection that counts `count()` and `query()` calls."""

    def __init__(self, inner):
        self.inner, self.calls = inner, {"count": 0, "query": 0}

    def count(self):
        self.calls["count"] += 1
        return self.inner.count()

    def query(self, **kwargs):
        self.calls["query"] += 1
        return self.inner.query(**kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _counted(retriever: HybridRetriever) -> _CountingCollection:
    collection = _CountingCollection(retriever.store.docs)
    retriever.store.__dict__["docs"] = collection  # the cached property's slot
    return collection


def test_the_size_of_the_collection_is_checked_at_most_every_few_seconds(
        tmp_path: Path, embedder, monkeypatch, backend):
    store = backend.store(tmp_path / "chroma")
    site = write_docs(tmp_path / "site")
    ingest_path(store, site, embedder)
    monkeypatch.setattr(search_module, "COUNT_RECHECK_S", 3600.0)
    retriever = HybridRetriever(store, embedder)
    collection = _counted(retriever)
    for query in ("blank recordings", "refunds", "posthog-js"):
        retriever.search(query)
    assert collection.calls == {"count": 0, "query": 3}
    # Another process removes a page: the next search after the interval sees it.
    (site / "contents" / "docs" / "billing" / "refunds.md").unlink()
    ingest_path(backend.store(tmp_path / "chroma"), site, embedder)
    monkeypatch.setattr(search_module, "COUNT_RECHECK_S", 0.0)
    assert "Refunds" not in {p.title for p in retriever.search("refund within thirty days")}
    assert collection.calls["count"] == 1


def test_prefetched_searches_give_the_same_passages_with_one_query(full_home, embedder,
                                                                   backend):
    queries = ["blank recordings", "refund for a usage spike", "ERR_BLOCKED_BY_CLIENT",
               "two-factor authentication reset"]
    vectors = embedder.embed(queries)
    pairs = list(zip(queries, vectors, strict=True))
    plain = HybridRetriever(backend.store(full_home / "chroma"), embedder)
    expected = [plain.search(q, embedding=v, team="replay") for q, v in pairs]
    ahead = HybridRetriever(backend.store(full_home / "chroma"), embedder)
    collection = _counted(ahead)
    ahead.prefetch(vectors)
    got = [ahead.search(q, embedding=v, team="replay") for q, v in pairs]
    assert got == expected
    assert collection.calls["query"] == 1
    ahead.search(queries[0], embedding=vectors[0])  # each prefetched result is used once
    assert collection.calls["query"] == 2
