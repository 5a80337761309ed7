"""Factories: turn process settings into the graph's collaborators.

The only module that knows which concrete classes sit behind the Context's protocols.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.context import Context
from agent.engines.base import Engine
from agent.teams import load_teams
from app.settings import Settings
from knowledge.embeddings import MiniLMEmbedder

if TYPE_CHECKING:
    from knowledge.store import KnowledgeStore
    from tools.chroma import ChromaServer


def checkpoint_serializer():
    """LangGraph's serializer, allowed to load exactly the state's own model classes."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from agent import conversation, models

    allowed = [(cls.__module__, cls.__name__)
               for cls in (*models.CHECKPOINTED, *conversation.CHECKPOINTED)]
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


def chroma_server(settings: Settings) -> ChromaServer | None:
    """The Chroma server of `SIDEKICK_CHROMA_URL`, or None for the embedded store."""
    if not settings.chroma_url:
        return None
    from tools.chroma import ChromaServer

    return ChromaServer(url=settings.chroma_url, database=settings.chroma_database,
                        timeout_s=settings.chroma_timeout_s,
                        headers=settings.chroma_header_map)


def open_knowledge(settings: Settings) -> KnowledgeStore:
    """The knowledge store: the Chroma server when configured, else embedded under home."""
    from knowledge.store import open_store

    return open_store(settings.chroma_dir, server=chroma_server(settings))


def build_engine(settings: Settings) -> Engine:
    """The LLM engine when an endpoint is configured, else the offline engine."""
    from agent.engines.offline import OfflineEngine

    offline = OfflineEngine()
    if not settings.llm_enabled:
        return offline
    from agent.engines.llm import LLMEngine
    from tools.llm import make_client

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    client = make_client(base_url=settings.llm_base_url, api_key=key,
                         timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
    return LLMEngine(
        client, model=settings.llm_model, fallback=offline, max_tokens=settings.llm_max_tokens,
        context_tokens=settings.llm_context_tokens,
        ticket_budget_s=settings.llm_ticket_budget_s, max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature, secret=key,
    )


class LazyStoreOutbox:
    """The store's delivery ledger, opened on the first delivery.

    Triage never delivers (only an approval does), so `sidekick triage` pays neither for
    SQLAlchemy nor for the migration check of the store.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._outbox: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        with self._lock:
            if self._outbox is None:
                from app.store.outbox import store_outbox

                self._outbox = store_outbox(self._settings)
            return self._outbox

    @property
    def channel(self) -> str:
        """The ledger's channel name."""
        return self._open().channel

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record the reply under `key` unless it was delivered already (see StoreOutbox)."""
        return self._open().deliver(key=key, ticket_id=ticket_id, payload=payload)

    def deliveries(self, ticket_id: str | None = None) -> list[dict[str, Any]]:
        """What was delivered, oldest first (all tickets, or one)."""
        return self._open().deliveries(ticket_id)


def apply_handbook(settings: Settings) -> None:
    """Install the handbook files the settings name (policy, playbooks, templates).

    Raises:
        agent.handbook.HandbookError: a file is unreadable or malformed (names the key).

    """
    from agent.handbook import use_handbook

    use_handbook(policy_file=settings.policy_file, playbooks_file=settings.playbooks_file,
                 templates_file=settings.templates_file)


def build_context(settings: Settings, *, engine: Engine | None = None) -> Context:
    """Everything a graph run needs, built from the settings."""
    apply_handbook(settings)
    from app.shared_classifier import open_classifier
    from knowledge.issues import ChromaIssueIndex
    from knowledge.search import HybridRetriever

    teams = load_teams(settings.teams_file)
    embedder = MiniLMEmbedder()
    # The model loads (0.2-0.4 s, mostly outside the GIL) while Chroma starts.
    embedder.preload()
    store = open_knowledge(settings)
    retriever = HybridRetriever(store, embedder)
    retriever.ensure_corpus(settings.corpus_dirs)
    return Context(
        teams=teams,
        embedder=embedder,
        classifier=open_classifier(settings, embedder, teams),
        retriever=retriever,
        # Even while empty (it then answers [] after one count): the issues another process
        # or host ingests later are linked without a restart.
        issues=ChromaIssueIndex(store, embedder),
        engine=engine or build_engine(settings),
        outbox=LazyStoreOutbox(settings),
        top_k=settings.top_k,
        confidence_threshold=settings.confidence_threshold,
        link_threshold=settings.link_threshold,
        llm_skip_classify_above=settings.llm_skip_classify_above,
        llm_outvote_below=settings.llm_outvote_below,
    )
