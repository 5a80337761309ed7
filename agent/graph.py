"""The triage graph: intake → classify → retrieve → link_issue → draft → check → review → deliver.

One thread per ticket (thread_id = ticket id). `review` interrupts until a person decides;
a reassignment loops back to `retrieve` for the new team.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.context import Context
from agent.nodes.check import check
from agent.nodes.classify import classify
from agent.nodes.deliver import deliver
from agent.nodes.draft import draft
from agent.nodes.intake import intake
from agent.nodes.link_issue import link_issue
from agent.nodes.retrieve import retrieve
from agent.nodes.review import review, route_after_review
from agent.state import State


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None,
) -> CompiledStateGraph[State, Context, State, State]:
    """Wire the nodes; the checkpointer is what lets a waiting draft survive a restart."""
    builder = StateGraph(State, context_schema=Context)
    for node in (intake, classify, retrieve, link_issue, draft, check, review, deliver):
        builder.add_node(node)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "classify")
    builder.add_edge("classify", "retrieve")
    builder.add_edge("retrieve", "link_issue")
    builder.add_edge("link_issue", "draft")
    builder.add_edge("draft", "check")
    builder.add_edge("check", "review")
    builder.add_conditional_edges("review", route_after_review, ["deliver", "retrieve", END])
    builder.add_edge("deliver", END)
    return builder.compile(checkpointer=checkpointer)
