"""classify: team, kind, priority and playbook.

Team and kind come from the embedding classifier (and the LLM when it is unsure); priority
and playbook from the handbook's rules, which read metadata the ticket's text cannot change.
"""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes._timing import elapsed_ms
from agent.playbooks import detect_playbook, get_playbook
from agent.policy import priority_for
from agent.state import Classification, State


def _offline_guess(state: State, ctx: Context) -> Classification:
    ticket = state["ticket"]
    # The subject on its own and the raw text (word and character features) both help the
    # classifier on real issues; the embedder's cache makes the second embedding free in batches.
    prediction = ctx.classifier.predict(
        ctx.embed_one(ticket.text),
        text=ticket.text,
        subject_embedding=ctx.embed_one(ticket.subject) if ticket.subject else None,
    )
    scores: dict[str, float] = prediction.get("team_scores", {})
    runners_up = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[1:3]
    rationale = f"embedding classifier: {prediction['team']} {prediction['team_confidence']:.2f}"
    if runners_up:
        rationale += "; next: " + ", ".join(f"{t} {s:.2f}" for t, s in runners_up)
    return Classification(
        team=prediction["team"],
        team_confidence=float(prediction["team_confidence"]),
        kind=prediction["kind"],
        kind_confidence=float(prediction["kind_confidence"]),
        rationale=rationale,
        engine="offline",
    )


def classify(state: State, runtime: Runtime[Context]) -> dict:
    """Decide team, kind, priority and playbook."""
    started = perf_counter()
    ctx = runtime.context
    ticket = state["ticket"]
    guess = _offline_guess(state, ctx)
    update: dict = {"warnings": []}
    # TRICKY: a confident offline answer skips the LLM's classification call entirely.
    if ctx.engine.name != "offline" and guess["team_confidence"] < ctx.llm_skip_classify_above:
        answer = ctx.engine.classify(ticket, teams=ctx.teams, prior=guess)
        if answer.value.get("team") in ctx.teams:
            guess = answer.value
        update["warnings"] = list(answer.warnings)
        update["usage"] = answer.usage
    playbook = detect_playbook(ticket)
    implied_kind = get_playbook(playbook).kind if playbook is not None else None
    if implied_kind:
        guess = {**guess, "kind": implied_kind}
    guess["team_uncertain"] = guess["team_confidence"] < ctx.confidence_threshold
    priority, _reason = priority_for(ticket)
    update.update(
        classification=guess,
        priority=priority,
        playbook=playbook,
        engine=ctx.engine.name,
        timings_ms={"classify": elapsed_ms(started)},
    )
    return update
