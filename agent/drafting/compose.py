"""The customer-facing reply: one message, built from the playbook or the request's kind.

Each composer returns paragraphs (the greeting is added by the caller), the URLs it cited
and the Zendesk status the handbook asks for. Only `request.passages` URLs and the issue URL
are ever cited; every other sentence comes from `data/templates.toml`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agent.drafting.extract import Extract, best_sentences
from agent.engines.base import DraftRequest
from agent.models import Passage, Status
from agent.templates import Templates

#: Passages whose URL contains this are the self-serve docs for self-hosted users.
SELF_HOST_URL_HINT = "/self-host"
#: For a ticket not in English, the top passage from this retrieval score up is pointed to
#: when no docs sentence shares its words (the docs are English; MiniLM still matches
#: product names and topics across languages: the right page scored 0.22-0.24 on our
#: German and Portuguese draft rows).
POINTER_MIN_SCORE = 0.2


@dataclass
class Reply:
    """A composed reply body (without greeting) and what it implies."""

    paragraphs: list[str]
    status: Status
    citations: list[str] = field(default_factory=list)
    answered: bool = True

    def cite(self, url: str | None) -> None:
        """Record a URL the body uses (once)."""
        if url and url not in self.citations:
            self.citations.append(url)


Composer = Callable[[DraftRequest, Templates, str], Reply]


def customer_passages(req: DraftRequest) -> list[Passage]:
    """The passages a reply may quote and cite: not the hero's own playbook pages."""
    return [p for p in req.passages if not p.internal]


def _quote(reply: Reply, extracts: list[Extract], lead: str, t: Templates, lang: str) -> None:
    """Append the chosen sentences as a list, then one source line per passage used."""
    reply.paragraphs.append(lead + "\n" + "\n".join(f"- {e.sentence}" for e in extracts))
    sources = []
    titles = {e.passage.url: e.passage.title for e in extracts if e.passage.url}
    for url, title in titles.items():
        sources.append(t.reply("source_line", lang, title=title, url=url))
        reply.cite(url)
    if sources:
        reply.paragraphs.append("\n".join(sources))


def _question(req: DraftRequest, t: Templates, lang: str) -> Reply:
    return question_reply(req, t, lang)


def question_reply(req: DraftRequest, t: Templates, lang: str, *, thanks: str = "thanks"
                   ) -> Reply:
    """Answer a question from the passages' best sentences, or ask for what would help."""
    reply = Reply([t.reply(thanks, lang)], status="solved")
    extracts = best_sentences(req.ticket.text, customer_passages(req))
    pointer = _pointer(req, lang) if not extracts else None
    if pointer is not None:
        # Word overlap cannot work across languages: point to the page retrieval found.
        reply.paragraphs.append(t.reply("pointer_lead", lang) + "\n"
                                + t.reply("source_line", lang, title=pointer.title,
                                          url=pointer.url))
        reply.cite(pointer.url)
        reply.paragraphs.append(t.reply("answer_followup", lang))
        return reply
    if not extracts:
        # Nothing grounded to say: ask for what would let a person answer instead.
        reply.paragraphs[0] += " " + t.reply("no_answer", lang)
        reply.status, reply.answered = "pending", False
        return reply
    _quote(reply, extracts, t.reply("answer_lead", lang), t, lang)
    reply.paragraphs.append(t.reply("answer_followup", lang))
    return reply


def _pointer(req: DraftRequest, lang: str) -> Passage | None:
    """The page to point a non-English question to, if retrieval found a close enough one."""
    if lang == "en":
        return None
    best = max((p for p in customer_passages(req) if p.url), key=lambda p: p.score, default=None)
    return best if best is not None and best.score >= POINTER_MIN_SCORE else None


def _bug(req: DraftRequest, t: Templates, lang: str) -> Reply:
    reply = Reply([t.reply("bug_thanks", lang)], status="pending")
    extracts = best_sentences(req.ticket.text, customer_passages(req))
    if extracts:
        _quote(reply, extracts, t.reply("bug_known_lead", lang), t, lang)
    if req.issue.action == "link" and req.issue.url:
        reply.paragraphs.append(t.reply("bug_issue_link", lang, url=req.issue.url))
        reply.cite(req.issue.url)
    elif req.issue.action == "create":
        reply.paragraphs.append(t.reply("bug_issue_create", lang, team=req.team.name))
    else:
        reply.paragraphs.append(t.reply("bug_issue_none", lang, team=req.team.name))
    asks = t.missing_info(req.team.slug, req.ticket.text, lang)
    if asks:
        reply.paragraphs.append(t.reply("bug_ask", lang) + "\n" + "\n".join(f"- {a}" for a in asks))
    else:
        reply.paragraphs.append(t.reply("bug_ask_fallback", lang))
    reply.paragraphs.append(t.reply("bug_followup", lang))
    return reply


def _feature(req: DraftRequest, t: Templates, lang: str) -> Reply:
    reply = Reply([t.reply("feature_thanks", lang)], status="solved")
    if req.issue.action == "link" and req.issue.url:
        reply.paragraphs.append(t.reply("feature_issue_link", lang, url=req.issue.url))
        reply.cite(req.issue.url)
    else:
        reply.paragraphs.append(t.reply("feature_issue_create", lang))
    reply.paragraphs.append(t.reply("feature_pass_on", lang, team=req.team.name))
    extracts = best_sentences(req.ticket.text, customer_passages(req), limit=2, min_overlap=3)
    if extracts:
        _quote(reply, extracts, t.reply("feature_meanwhile", lang), t, lang)
    return reply


def _self_hosted(req: DraftRequest, t: Templates, lang: str) -> Reply:
    reply = Reply([t.reply("self_hosted_intro", lang)], status="solved")
    docs = [p.url for p in customer_passages(req) if p.url and SELF_HOST_URL_HINT in p.url][:2]
    if docs:
        reply.paragraphs.append(t.reply("self_hosted_docs", lang) + "\n" + "\n".join(docs))
        for url in docs:
            reply.cite(url)
    else:
        reply.paragraphs.append(t.reply("self_hosted_docs_nolink", lang))
    reply.paragraphs.append(t.reply("self_hosted_github", lang))
    if req.issue.action == "link" and req.issue.url:
        reply.paragraphs.append(t.reply("self_hosted_issue", lang, url=req.issue.url))
        reply.cite(req.issue.url)
    reply.paragraphs.append(t.reply("self_hosted_close", lang))
    return reply


def _two_factor(req: DraftRequest, t: Templates, lang: str) -> Reply:
    # The handbook's confirmation email, reworded: the hero sends it to the account owner.
    return Reply(
        [t.reply("tfa_body", lang, ticket_id=req.ticket.id), t.reply("tfa_warning", lang)],
        status="pending",
    )


def _ownership(req: DraftRequest, t: Templates, lang: str) -> Reply:
    # Only the handbook's first step goes to the customer; the rest are the hero's to do.
    return Reply(
        [t.reply("ownership_intro", lang), t.reply("ownership_next", lang)], status="pending"
    )


#: Playbooks that decide the content; community questions only decide where it is posted.
PLAYBOOK_COMPOSERS: dict[str, Composer] = {
    "self_hosted": _self_hosted,
    "two_factor_removal": _two_factor,
    "ownership_transfer": _ownership,
}
KIND_COMPOSERS: dict[str, Composer] = {
    "bug": _bug,
    "feature_request": _feature,
    "question": _question,
    "account_request": _question,
}


def compose(request: DraftRequest, templates: Templates, lang: str) -> Reply:
    """Compose the reply with the playbook's composer if it has one, else its kind's."""
    composer = PLAYBOOK_COMPOSERS.get(request.playbook or "") or KIND_COMPOSERS.get(
        request.kind, _question
    )
    return composer(request, templates, lang)
