import json
import re
from pathlib import Path

import pytest

from agent.context import IssueIndex, IssueMatch
from app.cli import main
from knowledge.issues import ChromaIssueIndex, IssueFileError, ingest_issues, read_issue_rows
from knowledge.store import open_store

ISSUES = [
    {"id": "gh-1", "subject": "Session recordings show a blank white screen on Safari",
     "body": "Since the last release every replay recorded in Safari is empty.",
     "url": "https://github.com/acme/app/issues/1",
     "github": {"number": 1, "state": "open", "labels": ["bug", "feature/replay"]}},
    {"id": "gh-2", "subject": "Feature flag evaluates to false right after identify()",
     "body": "Calling identify and then isFeatureEnabled returns false for a matching user.",
     "url": "https://github.com/acme/app/issues/2",
     "github": {"number": 2, "state": "closed", "labels": ["bug", "feature/flags"]}},
    {"id": "gh-3", "subject": "Allow exporting dashboards as PDF",
     "body": "We would like to send a PDF of a dashboard to our board every month.",
     "url": "https://github.com/acme/app/issues/3",
     "github": {"number": 3, "state": "open", "labels": ["enhancement"]}},
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


@pytest.fixture
def issues_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "issues.jsonl", ISSUES)


def test_ingest_issues_is_idempotent(tmp_path: Path, issues_file: Path, embedder, backend):
    store = backend.store(tmp_path / "chroma")
    assert ingest_issues(store, issues_file, embedder).counts() == (3, 0, 0, 0)
    assert ingest_issues(store, issues_file, embedder).counts() == (0, 0, 3, 0)

    changed = [dict(ISSUES[0], github={**ISSUES[0]["github"], "state": "closed"}), ISSUES[1]]
    write_jsonl(issues_file, changed)
    assert ingest_issues(store, issues_file, embedder).counts() == (0, 1, 1, 1)
    assert ChromaIssueIndex(store, embedder).count() == 2


def test_closest_issue(tmp_path: Path, issues_file: Path, embedder, backend):
    store = backend.store(tmp_path / "chroma")
    index = ChromaIssueIndex(store, embedder)
    assert index.is_empty() and index.closest("anything") == []
    ingest_issues(store, issues_file, embedder)
    assert not index.is_empty()
    assert isinstance(index, ChromaIssueIndex)
    protocol: IssueIndex = index  # the type checker holds us to the protocol

    matches = protocol.closest("Replays are empty in Safari, just a white page", k=2)
    assert len(matches) == 2
    best = matches[0]
    assert isinstance(best, IssueMatch)
    assert best.url == "https://github.com/acme/app/issues/1"
    assert best.number == 1 and best.state == "open"
    assert best.title.startswith("Session recordings")
    assert 0.0 <= matches[1].score <= best.score <= 1.0

    vector = embedder.embed(["Can I get a PDF export of my dashboard?"])[0]
    assert index.closest("ignored when a vector is given", embedding=vector, k=1)[0].number == 3


def test_an_issue_kind_comes_from_the_maintainers_or_the_labels(tmp_path: Path, embedder):
    rows = [{**ISSUES[0], "expected": {"team": "replay", "kind": "bug"}},
            ISSUES[2],  # labelled "enhancement"
            {**ISSUES[1], "github": {"number": 2, "labels": ["feature/flags"]}}]  # an area only
    store = open_store(tmp_path / "chroma")
    ingest_issues(store, write_jsonl(tmp_path / "issues.jsonl", rows), embedder)
    kinds = {m.number: m.kind for m in ChromaIssueIndex(store, embedder).closest("x", k=3)}
    assert kinds == {1: "bug", 2: None, 3: "feature_request"}


def test_a_ticket_that_names_the_issue_title_ranks_it_first(tmp_path: Path, issues_file: Path,
                                                             embedder, backend):
    store = backend.store(tmp_path / "chroma")
    ingest_issues(store, issues_file, embedder)
    matches = ChromaIssueIndex(store, embedder).closest(
        "Our board wants our dashboards as a PDF every month; exporting by hand is painful.",
        k=3)
    assert matches[0].number == 3
    assert matches[0].title_overlap > 0.5 > max(m.title_overlap for m in matches[1:])
    scores = [m.link_score for m in matches]
    assert scores == sorted(scores, reverse=True)


def test_same_issue_in_two_files_is_listed_once(tmp_path: Path, issues_file: Path, embedder,
                                                backend):
    store = backend.store(tmp_path / "chroma")
    ingest_issues(store, issues_file, embedder)
    ingest_issues(store, write_jsonl(tmp_path / "copy.jsonl", ISSUES[:1]), embedder)
    matches = ChromaIssueIndex(store, embedder).closest("blank replay in Safari", k=3)
    urls = [m.url for m in matches]
    assert len(urls) == len(set(urls)) == 3


def test_bad_issue_files(tmp_path: Path):
    with pytest.raises(IssueFileError, match=":2: not JSON"):
        read_issue_rows(_with_line(tmp_path, "{oops"))
    with pytest.raises(IssueFileError, match="needs `url` and `subject`"):
        read_issue_rows(write_jsonl(tmp_path / "b.jsonl", [{"id": "x", "body": "no title"}]))


def _with_line(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ISSUES[0]) + "\n" + line + "\n")
    return path


COUNTS = re.compile(r"added (\d+), updated (\d+), skipped (\d+), removed (\d+)")


def test_cli_ingest_issues(issues_file: Path, home: Path, capsys, embedder, monkeypatch,
                           backend):
    monkeypatch.setattr("knowledge.embeddings.MiniLMEmbedder", lambda: embedder)
    backend.use(monkeypatch, home)
    assert main(["ingest-issues", str(issues_file)]) == 0
    assert COUNTS.search(capsys.readouterr().out).groups() == ("3", "0", "0", "0")
    assert main(["ingest-issues", str(issues_file), "-q"]) == 0
    assert COUNTS.search(capsys.readouterr().out).groups() == ("0", "0", "3", "0")
    assert ChromaIssueIndex(backend.store(home / "chroma"), embedder).count() == 3
    assert main(["ingest-issues", str(home / "missing.jsonl")]) == 2
    assert main(["ingest-issues", str(_with_line(home.parent, "[1, 2"))]) == 2
    assert "not JSON" in capsys.readouterr().err


@pytest.mark.shared
def test_shared_dev_issues(shared_dir: Path, tmp_path: Path, embedder):
    path = shared_dir / "data" / "posthog_issues_dev.jsonl"
    if not path.exists():
        pytest.skip("posthog_issues_dev.jsonl is absent")
    rows = read_issue_rows(path)
    store = open_store(tmp_path / "chroma")
    first = ingest_issues(store, path, embedder)
    assert first.counts() == (len(rows), 0, 0, 0)
    assert ingest_issues(store, path, embedder).counts() == (0, 0, len(rows), 0)

    index = ChromaIssueIndex(store, embedder)
    for row in rows[:5]:
        best = index.closest(row["subject"], k=3)[0]
        assert best.url == row["url"], row["subject"]
        assert best.score > 0.5
        assert best.number == row["github"]["number"]
