"""classify: team, kind, priority and playbook.

Team and kind come from the embedding classifier (and the LLM when it is unsure, weighed by
`agent/second_opinion.py`: the LLM outvotes only an unsure offline label); priority
and playbook from the handbook's rules, which read metadata the ticket's text cannot change.
"""

from __future__ import annotations

from time import perf_counter

from langgraph.runtime import Runtime

from agent.context import Context
from agent.conversation import is_follow_up, new_customer_text, turn_ticket
from agent.models import Ticket
from agent.nodes._timing import elapsed_ms
from agent.playbooks import detect_playbook, get_playbook
from agent.policy import priority_for
from agent.second_opinion import weigh
from agent.stages import default_stages
from agent.state import Classification, State

#: Below this kind confidence a known issue the ticket clearly matches has a say in its
#: kind: "does PostHog support security keys?" is a question in form, and the open feature
#: request it matches says what it is.
TRACKER_KIND_BELOW = 0.75
#: How far past the link threshold a match must be to count as one more full vote.
TRACKER_KIND_SPAN = 0.4


def _tracker_kind(ticket_text: str, kind_scores: dict[str, float], ctx: Context
                  ) -> tuple[dict[str, float], str | None]:
    """The kind scores with the vote of the closest known issue, and what that issue was."""
    if ctx.issues is None or max(kind_scores.values(), default=1.0) >= TRACKER_KIND_BELOW:
        return kind_scores, None
    matches = ctx.issues.closest(ticket_text, embedding=ctx.embed_one(ticket_text), k=1)
    best = matches[0] if matches else None
    if (best is None or best.kind not in kind_scores
            or best.link_score < ctx.link_threshold):
        return kind_scores, None
    vote = min((best.link_score - ctx.link_threshold) / TRACKER_KIND_SPAN, 1.0)
    scores = {**kind_scores, best.kind: kind_scores[best.kind] + vote}
    total = sum(scores.values())
    label = f"#{best.number}" if best.number is not None else best.url
    evidence = f"{label} ({best.kind}, {best.link_score:.2f})"
    return {k: v / total for k, v in scores.items()}, evidence


def _offline_guess(state: State, ctx: Context
                   ) -> tuple[Classification, dict[str, float], dict[str, float]]:
    """The offline classification, with the team and kind scores it chose from."""
    ticket = turn_ticket(state)
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
    kind_scores, issue = _tracker_kind(ticket.text, prediction["kind_scores"], ctx)
    kind = max(kind_scores, key=kind_scores.__getitem__)
    if issue is not None:
        rationale += f"; kind {kind}, weighed with the known issue {issue}"
    return Classification(
        team=prediction["team"],
        team_confidence=float(prediction["team_confidence"]),
        kind=kind,
        kind_confidence=float(kind_scores[kind]),
        rationale=rationale,
        engine="offline",
    ), scores, kind_scores


def _second_opinion(guess: Classification, team_scores: dict[str, float],
                    kind_scores: dict[str, float], ticket: Ticket, ctx: Context
                    ) -> tuple[Classification, dict]:
    """Ask the LLM engine when the offline classifier is not sure, and weigh its answer."""
    if ctx.engine.name == "offline":
        return guess, {"engines": {"classification": "offline", "classification_reason": ""}}
    # TRICKY: a confident offline answer skips the LLM's classification call entirely.
    if guess["team_confidence"] >= ctx.llm_skip_classify_above:
        why = (f"the offline classifier was sure ({guess['team_confidence']:.2f} ≥ "
               f"{ctx.llm_skip_classify_above:.2f}): the LLM was not asked")
        return guess, {"engines": {"classification": "offline", "classification_reason": why}}
    answer = ctx.engine.classify(ticket, teams=ctx.teams, prior=guess)
    update: dict = {"warnings": list(answer.warnings), "usage": answer.usage}
    reading = answer.value
    if answer.value.get("engine") == "offline" or reading.get("team") not in ctx.teams:
        reason = answer.reason or "the LLM gave no usable classification"
        update["engines"] = {"classification": f"{ctx.engine.name}→offline",
                             "classification_reason": reason}
        return guess, update
    merged, outvoted = weigh(guess, reading, team_scores=team_scores,
                             kind_scores=kind_scores, outvote_below=ctx.llm_outvote_below)
    source = f"{ctx.engine.name}→offline" if outvoted else ctx.engine.name
    update["engines"] = {"classification": source, "classification_reason": outvoted}
    return merged, update


def _follow_up(state: State, started: float) -> dict:
    """A later turn: the team, kind and playbook stay; priority and stage are read anew.

    The team stays what it was (or what a person reassigned it to): a customer's follow-up
    on another topic is still this team's until the hero says otherwise. Priority follows
    the ticket's metadata as it is now (a CS escalation, a new Zendesk priority).
    """
    ticket = state["ticket"]
    previous = state["classification"]
    kind = previous.get("kind", "question")
    stages = default_stages()
    last_sent = next((t for t in reversed(state.get("turns") or [])
                      if t.get("outcome") == "delivered"), None)
    pending = bool(last_sent and (last_sent.get("draft") or {}).get("status_after") == "pending")
    # The latest message says where the conversation is now ("still broken", then
    # "scratch that, found it"; "runs fine again", then "oh, and how do I ...?"), unless
    # an earlier one of the turn moved the playbook on ("yes, I confirm", then "where do I
    # add my phone?").
    # The draft answers every message of the turn either way.
    texts = [m.body for m in reversed(state.get("turn_messages") or [])]
    found = [stages.detect(text, playbook=state.get("playbook"), kind=kind,
                           plan=ticket.organization.plan, pending=pending)
             for text in texts or [new_customer_text(state)]]
    stage = next((s for s in found if s.playbooks), found[0])
    priority, _reason = priority_for(ticket)
    rationale = previous.get("rationale", "")
    if not rationale.startswith("kept from turn"):
        rationale = f"kept from turn 1 ({rationale})" if rationale else "kept from turn 1"
    return {
        "classification": {**previous, "rationale": rationale},
        "priority": priority,
        "stage": stage.name,
        "stage_entry": stages.entry_of(stage),
        "warnings": [],
        "timings_ms": {"classify": elapsed_ms(started)},
    }


def classify(state: State, runtime: Runtime[Context]) -> dict:
    """Decide team, kind, priority and playbook (on a later turn: priority and stage)."""
    started = perf_counter()
    if is_follow_up(state) and state.get("classification"):
        return _follow_up(state, started)
    ctx = runtime.context
    ticket = turn_ticket(state)
    guess, update = _second_opinion(*_offline_guess(state, ctx), ticket, ctx)
    update.setdefault("warnings", [])
    playbook = detect_playbook(ticket)
    book = get_playbook(playbook) if playbook is not None else None
    if book is not None and book.kind:
        guess = {**guess, "kind": book.kind}
    # Uncertain below the threshold, or when the two engines left it to the hero.
    guess["team_uncertain"] = (bool(guess.get("team_uncertain"))
                               or guess["team_confidence"] < ctx.confidence_threshold)
    if book is not None and book.team in ctx.teams and book.team != guess["team"]:
        # The handbook's procedure belongs to one team (2FA and ownership: Growth's, as
        # the teams file says), whatever the engines thought the words were about: a rule
        # of the handbook, not a guess, as sure as the playbook's detection.
        guess = {**guess, "team": book.team, "team_confidence": 1.0, "team_uncertain": False,
                 "rationale": f"{book.title} is {ctx.teams.get(book.team).name}'s procedure "
                              f"({guess.get('rationale') or guess['team']})"}
    priority, _reason = priority_for(ticket)
    update.update(
        classification=guess,
        priority=priority,
        playbook=playbook,
        stage=default_stages().first_stage(playbook, guess["kind"]),
        engine=ctx.engine.name,
        timings_ms={"classify": elapsed_ms(started)},
    )
    return update
