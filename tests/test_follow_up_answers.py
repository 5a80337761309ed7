"""A new question later in a conversation, in other words than the docs', gets the docs' answer.

Through the service on a real checkpointer and a real Chroma index holding the project's
pages and two docs pages written here (a paragraph on one line, as the docs are): one that
answers in the docs' words ("billing limit"), one about replay costs that shares the
customer's topic but not the answer.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agent.conversation import Message
from agent.decisions import Decision
from agent.models import Ticket
from app.service import TriageService

LIMITS_URL = "https://docs.example.com/billing/limits"
LIMITS = f"""---
title: Billing limits
url: {LIMITS_URL}
---

# Billing limits

""" + ("To avoid surprise invoices, you can set a billing limit for each product in your "
       "organization's billing settings. Once a product reaches its limit, data for it is "
       "dropped until the next period starts.\n")
REPLAY_COSTS = """---
title: Replay costs
url: https://docs.example.com/replay/costs
---

# Replay costs

""" + ("Recordings are priced by how many are ingested each month. Old recordings that are "
       "kept do not add to what you pay.\n")
BUG = {
    "id": "zd-9301", "source": "zendesk", "subject": "Session recordings are blank",
    "body": "Since yesterday every session replay of our users is just a blank screen.",
    "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "organization": {"name": "Acme", "plan": "paid"}, "priority": "normal",
}


@pytest.fixture
def service(tmp_path: Path, warm_context):
    from agent.graph import build_graph
    from app.runtime import sqlite_checkpointer
    from knowledge.search import HybridRetriever
    from knowledge.store import open_store
    from tools.outbox import LocalOutbox

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "limits.md").write_text(LIMITS)
    (docs / "replay-costs.md").write_text(REPLAY_COSTS)
    retriever = HybridRetriever(open_store(tmp_path / "chroma"), warm_context.embedder)
    retriever.ensure_corpus([docs])
    context = replace(warm_context, retriever=retriever,
                      outbox=LocalOutbox(tmp_path / "outbox.sqlite"))
    with sqlite_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
        yield TriageService(graph=build_graph(saver), context=context)


def test_a_follow_up_question_in_the_customers_words_gets_the_docs_answer(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    version = service.get(BUG["id"]).version
    service.decide(BUG["id"], Decision(action="approve", by="hero", version=version))
    result = service.converse(BUG["id"], [Message(
        id="c-1", author="customer", created_at="2026-12-04T10:00:00Z",
        body="Recordings play again, thank you! Different question: our invoices keep "
             "growing every month. Is there a way to cap what we pay?")]).result

    assert result.stage == "follow_up_question"
    assert result.draft is not None
    assert "you can set a billing limit for each product" in result.draft.body
    assert LIMITS_URL in result.draft.citations
    assert result.draft.status_after == "solved"
    assert 'Read as a question about "' in result.draft.internal_note
