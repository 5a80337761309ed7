"""The graph's state: what each node reads and the partial updates it returns."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from agent.conversation import Message, add_messages
from agent.models import Draft, IssueProposal, Passage, Ticket, Usage


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


def _add_usage(left: Usage | None, right: Usage | None) -> Usage:
    left, right = left or Usage(), right or Usage()
    return Usage(
        calls=left.calls + right.calls,
        prompt_tokens=left.prompt_tokens + right.prompt_tokens,
        completion_tokens=left.completion_tokens + right.completion_tokens,
    )


class Classification(TypedDict, total=False):
    """Who owns the ticket and what kind of request it is."""

    team: str
    team_confidence: float
    team_uncertain: bool
    kind: str
    kind_confidence: float
    rationale: str
    engine: str


class State(TypedDict, total=False):
    """One ticket's way through the graph (thread id = ticket id).

    A ticket is a conversation: `ticket` is its first message, `messages` the ones after
    it (customer replies, and the replies Sidekick delivered), each channel id once. Every
    run of the graph is a turn; `turn_messages` are the customer messages it answers and
    `turns` the audit trail of the turns before it (draft, decision, delivery).
    """

    ticket: Ticket
    messages: Annotated[list[Message], add_messages]
    turn: int
    #: How many of `messages` the last reply that went out had read (later ones are new),
    #: and how many this turn's draft reads.
    answered: int
    read_upto: int
    turn_messages: list[Message]
    #: The conversation's stage after this turn (`agent/stages.py`).
    stage: str
    #: Which table of the stages file it was (a stage may be worded in several ways).
    stage_entry: int
    turns: Annotated[list[dict[str, Any]], operator.add]
    classification: Classification
    priority: str
    playbook: str | None
    passages: list[Passage]
    #: A new question's topic in the hero's words (a team page line), read with it by
    #: `retrieve` and `draft`; None on every other turn.
    topic: str | None
    issue: IssueProposal
    draft: Draft
    engine: str
    #: Which engine produced the classification and the draft, and why a fallback's answer
    #: was used: `classification`, `draft` ("offline", "llm" or "llm→offline") and
    #: `classification_reason`, `draft_reason` (`agent/result.py` reads it).
    engines: Annotated[dict[str, str], _merge]
    #: Set by a reassignment: the team a person chose, which classification may not override.
    team_override: str | None
    #: The draft's version: 1 for the first draft, one more each time `draft` runs again
    #: (a reassignment). A decision names the version it decides on.
    version: int
    decision: dict[str, Any]
    delivery: dict[str, Any]
    status: str
    warnings: Annotated[list[str], operator.add]
    usage: Annotated[Usage, _add_usage]
    timings_ms: Annotated[dict[str, float], _merge]


def draft_version(state: Any) -> int:
    """The version of the state's draft (0 before the first one).

    A thread checkpointed before versions existed has a draft and no counter: its draft
    is version 1, so the next one is 2 and a decision on 1 cannot land on it.
    """
    return int(state.get("version") or (1 if state.get("draft") else 0))
