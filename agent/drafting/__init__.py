"""Grounded template drafting (the offline engine's reply) and the draft request builder.

`build_draft` needs no network and no model: it stitches the handbook's wording
(`data/templates.toml`) around the retrieved passages' most relevant sentences.
"""

from __future__ import annotations

from agent.drafting.compose import compose
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
    ticket = state["ticket"]
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
    )
