"""retrieve: the handbook and docs passages that answer the ticket, for its team."""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.conversation import retrieval_text
from agent.nodes._timing import elapsed_ms
from agent.state import State


def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    """Hybrid search with the ticket's text; pages of its team and playbook are preferred."""
    started = perf_counter()
    ctx = runtime.context
    text = retrieval_text(state)
    passages = ctx.retriever.search(
        text,
        k=ctx.top_k,
        embedding=ctx.embed_one(text),
        team=state["classification"]["team"],
        playbook=state.get("playbook"),
    )
    return {"passages": passages, "timings_ms": {"retrieve": elapsed_ms(started)}}
