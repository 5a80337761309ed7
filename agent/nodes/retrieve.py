"""retrieve: the handbook and docs passages that answer the ticket, for its team."""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.conversation import is_follow_up, new_customer_text, retrieval_text
from agent.nodes._timing import elapsed_ms
from agent.stages import default_stages
from agent.state import State


def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    """Hybrid search with the ticket's text; pages of its team and playbook are preferred.

    A new question later in a conversation is read alone, with the line of a team page
    closest to it in meaning (`topic`): the customer's words are rarely the docs' ("a
    spending cap" for a billing limit), the team pages name each area in both.
    """
    started = perf_counter()
    ctx = runtime.context
    stage = default_stages().get(state.get("stage") or "", state.get("stage_entry"))
    new_topic = is_follow_up(state) and stage is not None and stage.new_topic
    topic = None
    if new_topic and stage:
        # A new question in the same ticket may be about anything: read it alone.
        question = stage.focus(new_customer_text(state))
        topic = ctx.retriever.describe(ctx.embed_one(question))
        text = f"{question}\n{topic}" if topic else question
    else:
        text = retrieval_text(state)
    passages = ctx.retriever.search(
        text,
        k=ctx.top_k,
        embedding=ctx.embed_one(text),
        team=None if new_topic else state["classification"]["team"],
        playbook=None if new_topic else state.get("playbook"),
    )
    return {"passages": passages, "topic": topic,
            "timings_ms": {"retrieve": elapsed_ms(started)}}
