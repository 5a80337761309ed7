"""Grounded template drafting (the offline engine's reply) and the draft request builder.

`build_draft` needs no network and no model: it stitches the handbook's wording
(`data/templates.toml`) around the retrieved passages' most relevant sentences.
"""

from __future__ import annotations

from agent.conversation import conversation_text, turn_ticket
from agent.drafting.compose import compose
from agent.drafting.follow_up import build_follow_up
from agent.drafting.note import internal_note
from agent.engines.base import DraftRequest
from agent.language import detect_language
from agent.models import Draft, IssueProposal
from agent.playbooks import detect_playbook, get_playbook, kind_for
from agent.policy import priority_for
from agent.state import State
from agent.teams import Teams
from agent.templates import Templates, default_templates

__all__ = ["build_draft", "draft_request_from_state"]


def build_draft(request: DraftRequest, templates: Templates | None = None) -> Draft:
    """Draft the reply and internal note for one ticket from templates and passages only.

    The reply opens with the greeting in the ticket's language, cites only the passages'
    and the issue's URLs, and is public unless the ticket is low priority (a playbook such
    as 2FA removal may require a reply whatever the priority).
    """
    t = templates or default_templates()
    if request.turn > 1:
        return build_follow_up(request, t)
    lang = detect_language(request.ticket.text)
    playbook = get_playbook(request.playbook) if request.playbook else None
    reply = compose(request, t, lang)
    public = playbook.is_public(request.priority) if playbook else request.priority != "low"
    body = "\n\n".join([t.greeting(request.ticket.first_name, lang), *reply.paragraphs])
    note = internal_note(
        request, reply=reply, playbook=playbook, public=public, lang=lang, templates=t
    )
    return Draft(
        body=body,
        internal_note=note,
        status_after=playbook.status_after if playbook else reply.status,
        public=public,
        citations=reply.citations,
    )


def draft_request_from_state(state: State, teams: Teams) -> DraftRequest:
    """Build a DraftRequest from the graph state, filling what earlier nodes left unset.

    A person's reassignment (`team_override`) wins over the classifier. A team that is not
    in the taxonomy falls back to the first team, marked uncertain so the note asks the
    hero to choose. Priority and playbook are recomputed from the ticket when absent.
    """
    ticket = turn_ticket(state)
    classification = state.get("classification") or {}
    uncertain = bool(classification.get("team_uncertain", False))
    slug = state.get("team_override") or classification.get("team") or ""
    if state.get("team_override") and slug in teams:
        uncertain = False
    if slug in teams:
        team = teams.get(slug)
    else:
        team, uncertain = teams.teams[0], True
    playbook = state["playbook"] if "playbook" in state else detect_playbook(ticket)
    return DraftRequest(
        ticket=ticket,
        team=team,
        teams=teams,
        priority=state.get("priority") or priority_for(ticket).priority,
        kind=kind_for(playbook, classification.get("kind") or "question"),
        playbook=playbook,
        passages=list(state.get("passages") or []),
        issue=state.get("issue") or IssueProposal(),
        team_confidence=float(classification.get("team_confidence", 0.0)),
        team_uncertain=uncertain,
        rationale=classification.get("rationale", ""),
        turn=int(state.get("turn") or 1),
        stage=state.get("stage"),
        stage_entry=state.get("stage_entry"),
        conversation=conversation_text(state),
        changes=tuple(changes_since_last_turn(state)),
        topic=state.get("topic") or "",
    )


def changes_since_last_turn(state: State) -> list[str]:
    """What the hero should know changed since the last turn that reached an end."""
    if int(state.get("turn") or 1) <= 1:
        return []
    last: dict = next((t for t in reversed(state.get("turns") or [])
                 if t.get("outcome") != "replaced"), {})
    fresh = state.get("turn_messages") or []
    changes = [f"the customer replied ({len(fresh)} message{'s' if len(fresh) != 1 else ''})"]
    if last.get("stage") and last.get("stage") != state.get("stage"):
        changes.append(f"stage {last['stage']} → {state.get('stage')}")
    if last.get("priority") and last.get("priority") != state.get("priority"):
        changes.append(f"priority {last['priority']} → {state.get('priority')}")
    team = (state.get("classification") or {}).get("team")
    if last.get("team") and last.get("team") != team:
        changes.append(f"team {last['team']} → {team}")
    return changes
