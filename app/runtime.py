"""Factories: turn process settings into the graph's collaborators.

The only module that knows which concrete classes sit behind the Context's protocols.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.context import Context
from agent.engines.base import Engine
from agent.teams import load_teams
from app.settings import Settings
from knowledge.embeddings import MiniLMEmbedder


def checkpoint_serializer():
    """LangGraph's serializer, allowed to load exactly the state's own model classes."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from agent import models

    allowed = [(models.__name__, cls.__name__) for cls in models.CHECKPOINTED]
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


@contextmanager
def sqlite_checkpointer(path: Path) -> Iterator:
    """A LangGraph SqliteSaver on a WAL database: a killed process loses no committed step."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield SqliteSaver(conn, serde=checkpoint_serializer())
    finally:
        conn.close()


def build_engine(settings: Settings) -> Engine:
    """The LLM engine when an endpoint is configured, else the offline engine."""
    from agent.engines.offline import OfflineEngine

    offline = OfflineEngine()
    if not settings.llm_enabled:
        return offline
    from agent.engines.llm import LLMEngine
    from tools.llm import make_client

    client = make_client(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )
    return LLMEngine(client, model=settings.llm_model, fallback=offline)


def build_context(settings: Settings, *, engine: Engine | None = None) -> Context:
    """Everything a graph run needs, built from the settings."""
    from agent.classifier import load_or_train
    from app.store.outbox import store_outbox
    from knowledge.issues import ChromaIssueIndex
    from knowledge.search import HybridRetriever
    from knowledge.store import open_store

    teams = load_teams(settings.teams_file)
    embedder = MiniLMEmbedder()
    store = open_store(settings.chroma_dir)
    retriever = HybridRetriever(store, embedder)
    retriever.ensure_corpus(settings.corpus_dirs)
    issues = ChromaIssueIndex(store, embedder)
    return Context(
        teams=teams,
        embedder=embedder,
        classifier=load_or_train(settings.classifier_dir, embedder, teams),
        retriever=retriever,
        issues=issues if not issues.is_empty() else None,
        engine=engine or build_engine(settings),
        outbox=store_outbox(settings),
        top_k=settings.top_k,
        confidence_threshold=settings.confidence_threshold,
        link_threshold=settings.link_threshold,
        llm_skip_classify_above=settings.llm_skip_classify_above,
    )
