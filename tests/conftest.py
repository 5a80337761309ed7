"""Shared fixtures: an isolated SIDEKICK_HOME, the shared data folder, one embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "examples" / "tickets"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SIDEKICK_HOME, no LLM and no Chroma server configured."""
    path = tmp_path / "sidekick-home"
    monkeypatch.setenv("SIDEKICK_HOME", str(path))
    for name in ("SIDEKICK_LLM_BASE_URL", "SIDEKICK_LLM_API_KEY", "OPENAI_API_KEY",
                 "SIDEKICK_CHROMA_URL", "SIDEKICK_CHROMA_TOKEN", "SIDEKICK_CHROMA_HEADERS",
                 "SIDEKICK_CHROMA_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def embedder():
    """One real MiniLM embedder for the whole run (it loads in ~0.3 s, but once is enough)."""
    from knowledge.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """A classifier trained once on the shipped examples; tests copy it, never change it."""
    from agent.classifier import load_or_train
    from agent.teams import load_teams

    directory = tmp_path_factory.mktemp("classifier")
    load_or_train(directory, embedder, load_teams())
    return directory


# The store and API fixtures (SQLite and PostgreSQL) and the knowledge-store ones (embedded
# Chroma and a Chroma server), in modules of their own.
pytest_plugins = ["db_fixtures", "chroma_fixtures"]
