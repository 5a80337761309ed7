"""Micro-benchmarks of the hot functions of a triage (no assertions on time, ever).

    .venv/bin/pytest benchmarks --benchmark-enable

Embedding batch, classifier predict, retrieval fusion with a given vector, and draft
rendering: together with one Chroma query these are the per-ticket cost of a warm triage.
"""

from __future__ import annotations

import numpy as np
import pytest

from agent.drafting import build_draft, draft_request_from_state
from knowledge.embeddings import MiniLMEmbedder


@pytest.fixture(scope="module")
def uncached_embedder() -> MiniLMEmbedder:
    """An embedder that remembers nothing, so every round computes its vectors."""
    embedder = MiniLMEmbedder(cache_size=0)
    embedder.embed(["load the model outside the timed rounds"])
    return embedder


def test_embed_batch_of_32(benchmark, uncached_embedder, tickets) -> None:
    """32 ticket texts in one call, as `TriageService.prepare` embeds a batch."""
    texts = [t.text for t in tickets[:32]]
    vectors = benchmark(uncached_embedder.embed, texts)
    assert vectors.shape == (32, 384)


def test_embed_one_ticket(benchmark, uncached_embedder, tickets) -> None:
    """One ticket text: the embedding half of the floor."""
    vectors = benchmark(uncached_embedder.embed, [tickets[0].text])
    assert vectors.shape == (1, 384)


def test_classifier_predict(benchmark, service, tickets) -> None:
    """Team and kind from the text and subject vectors (numpy only)."""
    ticket = tickets[1]
    text, subject = service.context.embedder.embed([ticket.text, ticket.subject or ticket.text])
    classifier = service.context.classifier
    result = benchmark(classifier.predict, text, text=ticket.text, subject_embedding=subject)
    assert result["team"] in service.context.teams


def test_retrieval_fusion_with_vector(benchmark, service, tickets) -> None:
    """Chroma query + BM25 + fusion with the vector given (no embedding)."""
    ticket = tickets[2]
    vector = service.context.embedder.embed([ticket.text])[0]
    retriever = service.context.retriever
    retriever.search(ticket.text, embedding=vector)  # the BM25 snapshot is built once
    passages = benchmark(retriever.search, ticket.text, k=5, embedding=vector,
                         team="product-analytics")
    assert passages and all(np.isfinite(p.score) for p in passages)


def test_build_draft(benchmark, service, tickets) -> None:
    """The offline engine's templates around the retrieved passages."""
    ticket = tickets[3]
    service.triage(ticket)
    request = draft_request_from_state(service.state(ticket.id), service.context.teams)
    draft = benchmark(build_draft, request)
    assert draft.body.startswith("Hey")


def test_warm_triage_one_ticket(benchmark, service, tickets) -> None:
    """The whole graph with checkpointing, per distinct ticket (each round a new one)."""
    pending = iter(tickets[10:])
    service.triage(next(pending))

    def triage_next() -> None:
        service.triage(next(pending))

    benchmark.pedantic(triage_next, rounds=min(100, len(tickets) - 12), iterations=1)
