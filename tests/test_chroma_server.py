"""Chroma as a server (`SIDEKICK_CHROMA_URL`): what a second host, a gateway's auth, and a
down or slow server look like to a person at the CLI.

The knowledge tests themselves (ingest, search, issue linking) run on both stores through
the `backend` fixture; these are the things only a server has.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from pathlib import Path

import numpy as np
import pytest
from fakes.chroma_proxy import ChromaProxy

from app.bench.api import free_port
from app.cli import main
from app.runtime import open_knowledge
from app.settings import Settings
from knowledge.embeddings import DIMENSION
from knowledge.issues import ChromaIssueIndex
from knowledge.search import HybridRetriever
from tools.chroma import ChromaUnavailable

PAGE = """---
title: Replay troubleshooting
---

## Blank recordings

A recording that shows a white page usually could not load the site's stylesheets.
"""
ISSUE = {"id": "gh-7", "subject": "Session recordings show a blank white screen on Safari",
         "body": "Every replay recorded in Safari is empty.",
         "url": "https://github.com/acme/app/issues/7",
         "github": {"number": 7, "state": "open", "labels": ["bug"]}}
TOKEN = "tok-chroma-s3cret-1234"
TEAM_HEADER = {"X-Sidekick-Team": "support-s3cret-5678"}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A one-page docs folder and a one-issue JSONL file."""
    site = tmp_path / "site" / "contents" / "docs" / "replay"
    site.mkdir(parents=True)
    (site / "troubleshooting.md").write_text(PAGE)
    issues = tmp_path / "issues.jsonl"
    issues.write_text(json.dumps(ISSUE) + "\n")
    return tmp_path / "site", issues


@pytest.fixture
def on_server(home: Path, monkeypatch: pytest.MonkeyPatch, embedder):
    """Point the CLI at a database of its own on a server; returns a setter for the URL."""
    monkeypatch.setattr("knowledge.embeddings.MiniLMEmbedder", lambda: embedder)
    monkeypatch.setenv("SIDEKICK_CHROMA_DATABASE", f"t{uuid.uuid4().hex[:10]}")

    def use(url: str, **env: str) -> None:
        monkeypatch.setenv("SIDEKICK_CHROMA_URL", url)
        for name, value in env.items():
            monkeypatch.setenv(f"SIDEKICK_CHROMA_{name.upper()}", value)
    return use


def test_a_second_host_searches_and_links_what_the_first_ingested(
        chroma_server, on_server, files, tmp_path, monkeypatch, capsys, embedder):
    site, issues = files
    on_server(chroma_server)
    assert main(["ingest", str(site), "-q"]) == 0
    assert main(["ingest-issues", str(issues), "-q"]) == 0
    capsys.readouterr()

    # Host B: another SIDEKICK_HOME, the same server (what `build_context` opens there).
    other_home = tmp_path / "host-b"
    monkeypatch.setenv("SIDEKICK_HOME", str(other_home))
    store = open_knowledge(Settings())
    passages = HybridRetriever(store, embedder).search("the replay is just a white page", k=1)
    assert passages[0].url == "https://posthog.com/docs/replay/troubleshooting"
    match = ChromaIssueIndex(store, embedder).closest("blank replays in Safari", k=1)[0]
    assert match.url == ISSUE["url"] and match.kind == "bug"
    # Nothing of the index lives on host B: no Chroma folder under its SIDEKICK_HOME.
    assert not (other_home / "chroma").exists()


def test_headers_reach_the_gateway_and_every_vector_is_ours(chroma_server, on_server, files,
                                                             capsys, embedder):
    site, issues = files
    with ChromaProxy(chroma_server, token=TOKEN, headers=TEAM_HEADER) as proxy:
        on_server(proxy.url, token=TOKEN, headers=json.dumps(TEAM_HEADER))
        assert main(["ingest-issues", str(issues), "-q"]) == 0
        assert "added 1" in capsys.readouterr().out
        index = ChromaIssueIndex(open_knowledge(Settings()), embedder)
        assert index.closest("Safari replays", k=1)
        # Chroma never embedded anything: every write and query carried our own vectors.
        writes = [r.body for r in proxy.calls("POST") if r.path.endswith(("/upsert", "/add"))]
        queries = [r.body for r in proxy.calls("POST") if r.path.endswith("/query")]
        assert writes and queries
        sent = [_decoded(v) for body in writes for v in body["embeddings"]]
        sent += [_decoded(v) for body in queries for v in body["query_embeddings"]]
        assert all(v.shape == (DIMENSION,) and abs(np.linalg.norm(v) - 1) < 1e-3 for v in sent)


def _decoded(vector) -> np.ndarray:
    """A vector as the client sent it: a list of floats, or base64 of little-endian float32."""
    if isinstance(vector, str):
        return np.frombuffer(base64.b64decode(vector), dtype="<f4")
    return np.asarray(vector, dtype=np.float32)


def test_refused_credentials_are_named_and_never_printed(chroma_server, on_server, files,
                                                          capsys, caplog):
    _site, issues = files
    caplog.set_level(logging.DEBUG)
    with ChromaProxy(chroma_server, token=TOKEN) as proxy:
        on_server(proxy.url, token="wrong-" + TOKEN, headers=json.dumps(TEAM_HEADER))
        assert main(["ingest-issues", str(issues)]) == 1
        out, err = capsys.readouterr()
        assert f"SIDEKICK_CHROMA_URL={proxy.url}" in err and "refused the credentials" in err
    for secret in (TOKEN, TEAM_HEADER["X-Sidekick-Team"]):
        assert secret not in out + err + caplog.text


def test_a_server_that_is_down_is_named(on_server, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    on_server(url)
    assert main(["search", "blank recordings"]) == 1
    err = capsys.readouterr().err
    assert f"SIDEKICK_CHROMA_URL={url} could not be reached" in err


def test_a_slow_server_is_an_error_not_a_hang(chroma_server, on_server, files, capsys,
                                              embedder):
    _site, issues = files
    with ChromaProxy(chroma_server, token=TOKEN) as proxy:
        on_server(proxy.url, token=TOKEN, timeout_s="0.5")
        proxy.delay_next(2.0, path_contains="/heartbeat")
        assert main(["ingest-issues", str(issues)]) == 1
        assert "did not answer within 0.5 s (SIDEKICK_CHROMA_TIMEOUT_S)" in capsys.readouterr().err
        # Slow later, mid-search: the client's own requests are bounded too.
        assert main(["ingest-issues", str(issues), "-q"]) == 0
        index = ChromaIssueIndex(open_knowledge(Settings()), embedder)
        proxy.delay_next(2.0, path_contains="/query")
        with pytest.raises(ChromaUnavailable, match="did not answer within 0.5 s"):
            index.closest("Safari", k=1)


@pytest.mark.parametrize("name, value", [
    ("SIDEKICK_CHROMA_URL", "chroma.internal:8000"),
    ("SIDEKICK_CHROMA_URL", "http://admin:hunter2-s3cret@chroma:8000"),
    ("SIDEKICK_CHROMA_HEADERS", "X-Token: hunter2-s3cret"),
    ("SIDEKICK_CHROMA_TIMEOUT_S", "0"),
])
def test_bad_chroma_settings_name_the_variable_and_hide_the_value(home, monkeypatch, capsys,
                                                                  name, value):
    monkeypatch.setenv(name, value)
    assert main(["search", "anything"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sidekick: error: {name}: ") and "hunter2" not in err


def test_evals_never_use_the_shared_server(tmp_path, monkeypatch):
    from evals.workspace import SharedData, Workspace

    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SIDEKICK_CHROMA_URL", down)
    workspace = Workspace(base=tmp_path / "base", scratch=tmp_path, settings=Settings(),
                          embedder=None, data=SharedData(None, None))
    home = workspace.fresh_home("fold")
    open_knowledge(workspace.settings_for(home)).docs.count()  # the server is down: not asked
    assert (home / "chroma").is_dir()
