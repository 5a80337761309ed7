"""The internal note: what the hero should know before approving the draft.

Why this team (and a plain request to choose when the classifier was unsure), the priority
and its handbook reason, the playbook's steps, the issue, and what to check.
"""

from __future__ import annotations

from agent.drafting.compose import Reply
from agent.engines.base import DraftRequest
from agent.language import LANGUAGE_NAMES
from agent.playbooks import Playbook, get_playbook
from agent.policy import priority_for
from agent.templates import Templates

#: Priorities that mean a paying customer (handbook queue items 1 to 3).
PAYING_PRIORITIES = frozenset({"urgent", "high", "normal"})
PAYING_PLANS = frozenset({"paid", "enterprise"})


def team_candidates(request: DraftRequest) -> list[str]:
    """List the chosen team, then the other teams the rationale names, in order of mention.

    Falls back to every team when the rationale names none: the hero still has to choose.
    """
    text = request.rationale or ""
    named = sorted(
        (text.find(slug), slug)
        for slug in request.teams.slugs
        if slug != request.team.slug and slug in text
    )
    others = [slug for _, slug in named] or [
        s for s in request.teams.slugs if s != request.team.slug
    ]
    return [request.team.slug, *others]


def _team_lines(request: DraftRequest, t: Templates) -> list[str]:
    lines = [t.note_line("team", team_name=request.team.name, team=request.team.slug,
                         confidence=request.team_confidence)]
    if request.rationale:
        lines.append(t.note_line("why", rationale=request.rationale.strip()))
    if request.team_uncertain:
        lines.append(t.note_line("uncertain", candidates=", ".join(team_candidates(request))))
    return lines


def _priority_line(request: DraftRequest, t: Templates) -> str:
    decided = priority_for(request.ticket)
    if decided.priority == request.priority:
        return t.note_line("priority", priority=request.priority, reason=decided.reason)
    return t.note_line("priority_upstream", priority=request.priority)


def _playbook_lines(request: DraftRequest, playbook: Playbook | None, t: Templates) -> list[str]:
    if playbook is None:
        return []
    lines = [t.note_line("playbook", title=playbook.title)]
    lines += [f"  {i}. {step}" for i, step in enumerate(playbook.steps, 1)]
    if playbook.name == "two_factor_removal":
        lines.append(t.note_line("tfa_subject"))
    return lines


def _venue_line(request: DraftRequest, playbook: Playbook | None, t: Templates) -> list[str]:
    # A community question keeps its venue even when another playbook decided the content.
    venue = playbook.venue if playbook else ""
    if not venue and request.ticket.source == "community":
        venue = get_playbook("community_question").venue
    if not venue:
        return []
    return [t.note_line("venue", venue=venue, url=request.ticket.url or "(not given)")]


def _check_lines(request: DraftRequest, reply: Reply, public: bool, t: Templates) -> list[str]:
    lines = []
    if request.kind == "bug":
        lines.append(t.note_line("check_bug"))
    paying = (request.priority in PAYING_PRIORITIES
              or request.ticket.organization.plan in PAYING_PLANS)
    if request.kind == "feature_request" and paying:
        lines.append(t.note_line("check_cs"))
    if not public:
        lines.append(t.note_line("check_low"))
    if not reply.answered:
        lines.append(t.note_line("check_no_answer"))
    return lines


def _issue_line(request: DraftRequest, t: Templates) -> list[str]:
    issue = request.issue
    if issue.action == "link" and issue.url:
        score = f"{issue.score:.2f}" if issue.score is not None else "n/a"
        return [t.note_line("issue_link", url=issue.url, score=score)]
    if issue.action == "create":
        return [t.note_line("issue_create", title=issue.title or "(untitled)")]
    return []


def internal_note(
    request: DraftRequest,
    *,
    reply: Reply,
    playbook: Playbook | None,
    public: bool,
    lang: str,
    templates: Templates,
) -> str:
    """Write the note for the hero, one fact per line."""
    t = templates
    lines = [t.note_line("engine"), *_team_lines(request, t), _priority_line(request, t),
             t.note_line("kind", kind=request.kind)]
    lines += _playbook_lines(request, playbook, t)
    lines += _venue_line(request, playbook, t)
    lines += _issue_line(request, t)
    lines += _check_lines(request, reply, public, t)
    if lang != "en":
        lines.append(t.note_line("language", language=LANGUAGE_NAMES[lang]))
    if reply.citations:
        lines.append(t.note_line("sources", urls=", ".join(reply.citations)))
    return "\n".join(lines)
