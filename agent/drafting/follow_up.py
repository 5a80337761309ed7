"""A later turn's draft: it answers what the customer just wrote, in the conversation's stage.

The stage (`agent/stages.py`) decides the reply: a short close when it is fixed, the next
handbook step of a 2FA removal or an ownership transfer, thanks and the issue for a bug's
details, or an answer from the docs for a new question. Nothing the customer already gave
is asked again: the bug checklist is checked against everything they said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from agent.drafting.compose import Reply, customer_passages, question_reply
from agent.drafting.extract import best_sentences
from agent.engines.base import DraftRequest
from agent.language import clearly_english, detect_language
from agent.models import Draft
from agent.stages import Stage, default_stages
from agent.templates import Templates

#: A reply this short is read with a lower bar ("Danke, das hat geklappt!"); when even
#: that finds no language, the conversation's language is used.
SHORT_WORDS = 8

StageComposer = Callable[[DraftRequest, Stage, Templates, str], Reply]


def follow_up_language(request: DraftRequest) -> str:
    """The customer's language: of their new text (not the first message's subject)."""
    text = request.ticket.body or request.ticket.text
    words = len(text.split())
    lang = detect_language(text)
    if lang != "en":
        return lang
    # A reply with few of the function words counted ("Pode seguir, sim. O pedido partiu
    # de mim mesmo") stays in the conversation's language unless it is clearly English.
    earlier = detect_language(request.conversation) if request.conversation else "en"
    if earlier != "en" and not clearly_english(text):
        return earlier
    if lang == "en" and words < 2 * SHORT_WORDS:
        lang = detect_language(text, min_hits=1)
    if lang == "en" and words < SHORT_WORDS:
        return detect_language(request.conversation or text)
    return lang


def _fixed(req: DraftRequest, stage: Stage, t: Templates, lang: str) -> Reply:
    """The stage's own wording (`reply` in the stages file)."""
    return Reply([t.reply(k, lang) for k in stage.reply], status=stage.status_after)


def _still_broken(req: DraftRequest, stage: Stage, t: Templates, lang: str) -> Reply:
    reply = Reply([t.reply("still_broken_sorry", lang)], status=stage.status_after)
    extracts = best_sentences(req.ticket.text, customer_passages(req)) if stage.answers else []
    if extracts:
        reply.paragraphs.append(t.reply("bug_known_lead", lang) + "\n"
                                + "\n".join(f"- {e.sentence}" for e in extracts))
        for url in dict.fromkeys(e.passage.url for e in extracts if e.passage.url):
            reply.paragraphs.append(t.reply("source_line", lang, title=next(
                e.passage.title for e in extracts if e.passage.url == url), url=url))
            reply.cite(url)
    asks = (t.missing_info(req.team.slug, req.conversation, lang)
            if stage.asks_missing and req.kind == "bug" else [])
    if asks:
        reply.paragraphs.append(t.reply("still_broken_ask", lang) + "\n"
                                + "\n".join(f"- {a}" for a in asks))
    else:
        reply.paragraphs.append(t.reply("still_broken_ask_fallback", lang))
    reply.paragraphs.append(t.reply("still_broken_next", lang))
    return reply


def _details(req: DraftRequest, stage: Stage, t: Templates, lang: str) -> Reply:
    reply = Reply([t.reply("details_thanks", lang)], status=stage.status_after)
    issue = req.issue
    if issue.action == "link" and issue.url:
        reply.paragraphs.append(t.reply("details_issue_link", lang, url=issue.url))
        reply.cite(issue.url)
    elif issue.action == "create":
        reply.paragraphs.append(t.reply("details_issue_create", lang, team=req.team.name))
    else:
        reply.paragraphs.append(t.reply("details_issue_none", lang, team=req.team.name))
    reply.paragraphs.append(t.reply("details_next", lang))
    return reply


def _question(req: DraftRequest, stage: Stage, t: Templates, lang: str) -> Reply:
    # The new question alone: the first message's subject is about something else. Its
    # topic in the hero's words (as retrieval read it) lends it the docs' words.
    question = stage.focus(req.ticket.body or req.ticket.text)
    asked = replace(req, ticket=req.ticket.model_copy(update={
        "subject": None, "body": f"{question}\n{req.topic}" if req.topic else question}))
    return question_reply(asked, t, lang, thanks="followup_thanks")


#: Stages whose reply is built; every other stage says its `reply` keys' wording.
STAGE_COMPOSERS: dict[str, StageComposer] = {
    "still_broken": _still_broken,
    "details_received": _details,
    "follow_up_question": _question,
}


def _note(req: DraftRequest, stage: Stage, reply: Reply, lang: str, t: Templates) -> str:
    team = req.team
    lines = [t.note_line("urgent")] if stage.urgent else []
    lines += [t.note_line("engine"), t.note_line("turn", turn=req.turn, stage=stage.name)]
    if req.changes:
        lines.append(t.note_line("changes", changes="; ".join(req.changes)))
    if stage.step in t.note:
        lines.append(t.note_line(stage.step, team=team.name))
    if req.topic:
        lines.append(t.note_line("topic", topic=req.topic.rstrip(".")))
    lines.append(t.note_line("team", team_name=team.name, team=team.slug,
                             confidence=req.team_confidence))
    lines.append(t.note_line("priority_upstream", priority=req.priority))
    if req.issue.action == "link" and req.issue.url and req.issue.body:
        lines.append(t.note_line("issue_comment", url=req.issue.url))
    elif req.issue.action == "create":
        lines.append(t.note_line("issue_create", title=req.issue.title or "(untitled)"))
    if lang != "en":
        from agent.language import LANGUAGE_NAMES

        lines.append(t.note_line("language", language=LANGUAGE_NAMES[lang]))
    if not reply.answered:
        lines.append(t.note_line("check_no_answer"))
    if reply.citations:
        lines.append(t.note_line("sources", urls=", ".join(reply.citations)))
    return "\n".join(lines)


def build_follow_up(request: DraftRequest, t: Templates) -> Draft:
    """The draft that answers the customer's latest message(s) in the conversation's stage."""
    stages = default_stages()
    stage = stages.get(request.stage or "", request.stage_entry) or stages.later[-1]
    lang = follow_up_language(request)
    composer = STAGE_COMPOSERS.get(stage.name) or (_fixed if stage.reply else _question)
    reply = composer(request, stage, t, lang)
    body = "\n\n".join([t.greeting(request.ticket.first_name, lang), *reply.paragraphs])
    # A reply to someone who just wrote to us is public: answering privately would leave
    # them waiting (low priority may close without a reply only when nothing is asked).
    return Draft(body=body, internal_note=_note(request, stage, reply, lang, t),
                 status_after=reply.status, public=True, citations=reply.citations)
