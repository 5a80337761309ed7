"""Block Kit JSON for Sidekick's Slack messages and modals, built here and nowhere else.

Inputs are plain dicts: a triage result (`TriageResult.model_dump(mode="json")`) and, when
known, the ticket (the Ticket contract). Every button carries the ticket id and the draft
version it shows as its `value` (`button_value`), and every modal its `private_metadata`,
so a decision is on the draft the person read.

Every piece of text that is not Sidekick's own wording (the customer's subject and name,
the draft quoting them, titles and URLs from the corpus or GitHub, a hero's reason) goes
through `tools.slack.escape` before it enters mrkdwn, and a link only through `link`
(http and https targets only): a ticket can never ping `@channel`, mention someone, or
dress a link up as another.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tools.slack import escape, link

APPROVE, EDIT, REASSIGN, REJECT = ("sidekick_approve", "sidekick_edit", "sidekick_reassign",
                                   "sidekick_reject")
EDIT_VIEW, REASSIGN_VIEW, REJECT_VIEW = ("sidekick_edit_view", "sidekick_reassign_view",
                                         "sidekick_reject_view")
DRAFT_INPUT, TEAM_INPUT, REASON_INPUT = "draft_input", "team_input", "reason_input"
#: Slack refuses a section whose text is longer than 3000 characters.
_SECTION_MAX = 2900
_VERBS = {"approve": "Approved & sent", "edit": "Edited & sent", "reassign": "Reassigned",
          "reject": "Rejected"}


def _clip(text: str, limit: int = _SECTION_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in (text or " ").splitlines() or [" "])


def button_value(ticket_id: str, version: int) -> str:
    """A decision button's value: the ticket and the draft version the card shows."""
    return json.dumps({"ticket_id": ticket_id, "version": version}, separators=(",", ":"))


def parse_button_value(value: str) -> tuple[str, int | None]:
    """(ticket id, version) of a button; a card posted before versions has no version."""
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("ticket_id"), str):
        version = parsed.get("version")
        return parsed["ticket_id"], version if isinstance(version, int) else None
    return value, None


def _button(text: str, action_id: str, ticket_id: str, version: int, style: str | None = None
            ) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id,
                              "value": button_value(ticket_id, version),
                              "text": {"type": "plain_text", "text": text, "emoji": True}}
    if style:
        button["style"] = style
    return button


def summary_blocks(result: dict[str, Any], ticket: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The header and the facts: subject, team, priority, confidence, kind, requester."""
    ticket = ticket or {}
    # The header is plain_text: Slack shows it as written, nothing in it is parsed.
    subject = ticket.get("subject") or (ticket.get("body") or "")[:80] or result["ticket_id"]
    requester = escape((ticket.get("requester") or {}).get("name") or "unknown")
    plan = escape((ticket.get("organization") or {}).get("plan") or "unknown plan")
    confidence = f"{float(result.get('team_confidence', 0)):.0%}"
    if result.get("team_uncertain"):
        confidence += " (uncertain)"
    fields = [("Team", escape(result.get("team"))), ("Priority", escape(result.get("priority"))),
              ("Confidence", confidence), ("Kind", escape(result.get("kind"))),
              ("Requester", f"{requester} ({plan})"),
              ("Ticket", link(ticket.get("url"), result["ticket_id"]))]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(f"🎫 {subject}", 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"}
                                       for k, v in fields]},
    ]


def passages_blocks(passages: Iterable[dict[str, Any]], limit: int = 5) -> list[dict[str, Any]]:
    """The cited passages as a bulleted list of links with scores."""
    lines = [f"• {link(p.get('url'), p['title'])} ({float(p.get('score', 0)):.2f})"
             for p in list(passages)[:limit]]
    return [_section("*Cited passages*\n" + "\n".join(lines))] if lines else []


def draft_message(result: dict[str, Any], ticket: dict[str, Any] | None = None
                  ) -> tuple[str, list[dict[str, Any]]]:
    """The review message: (fallback text, blocks) with the four decision buttons."""
    tid, draft = result["ticket_id"], result.get("draft") or {}
    version = int(result.get("version") or 1)
    shown = escape(tid)
    issue = result.get("issue") or {}
    blocks = summary_blocks(result, ticket) + passages_blocks(result.get("passages") or [])
    if issue.get("action") in ("link", "create"):
        what = (f"link {link(issue['url'], issue.get('title') or issue['url'])}"
                if issue.get("action") == "link" and issue.get("url")
                else f"create “{escape(issue.get('title') or 'a new issue')}”")
        blocks.append(_section(f"*GitHub issue*: {what}"))
    visibility = "public reply" if draft.get("public", True) else "internal note"
    blocks.append(_section(f"*Draft* ({visibility}, then {escape(draft.get('status_after'))})\n"
                           + _quote(escape(draft.get("body", "")))))
    if draft.get("internal_note"):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _clip(f"Note: {escape(draft['internal_note'])}", 2000)}]})
    blocks.append({"type": "actions", "block_id": "sidekick_decision", "elements": [
        _button("Approve & send", APPROVE, tid, version, "primary"),
        _button("Edit", EDIT, tid, version), _button("Reassign", REASSIGN, tid, version),
        _button("Reject", REJECT, tid, version, "danger")]})
    blocks.insert(-1, {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Draft version {version}"}]})
    text = f"Draft for {shown} ({escape(result.get('team'))}, {escape(result.get('priority'))})"
    return text, blocks


def decided_message(result: dict[str, Any], ticket: dict[str, Any] | None, *, action: str,
                    user_id: str, sent: str | None = None, detail: str | None = None
                    ) -> tuple[str, list[dict[str, Any]]]:
    """The review message after a decision: who decided, and what was sent (no buttons)."""
    verb = _VERBS.get(action, action)
    who = f"<@{escape(user_id)}>"
    line = f"*{verb}* by {who}" + (f" — {escape(detail)}" if detail else "")
    blocks = summary_blocks(result, ticket) + [_section(line)]
    if sent:
        blocks.append(_section("*What was sent*\n" + _quote(escape(sent))))
    return f"{escape(result['ticket_id'])}: {verb.lower()} by {who}", blocks


def replaced_message(result: dict[str, Any], ticket: dict[str, Any] | None, *, shown: int | None,
                     detail: str | None = None, where: str | None = None
                     ) -> tuple[str, list[dict[str, Any]]]:
    """An old review message once a newer draft replaced it: what happened, no buttons.

    `result` is the current one (its `version` is the new draft's), `shown` the version the
    old card showed (None: a card from before versions), `where` the new card's channel id.
    """
    tid = result["ticket_id"]
    line = f"*Replaced by draft version {result.get('version')}*"
    line += (f" — {detail}" if detail else "") + ". "
    line += f"See the updated card in <#{where}>." if where else "See the updated card."
    blocks = summary_blocks(result, ticket) + [_section(line), {
        "type": "context", "elements": [
            {"type": "mrkdwn", "text": f"This card showed draft version {shown}." if shown
             else "This card was posted before drafts had versions."}]}]
    return f"{tid}: draft version {shown or 'shown here'} was replaced", blocks


def superseded_message(result: dict[str, Any], ticket: dict[str, Any] | None, *,
                       shown: int | None) -> tuple[str, list[dict[str, Any]]]:
    """A review message whose draft a person made moot by answering outside Sidekick."""
    tid = result["ticket_id"]
    line = ("*Answered outside Sidekick*: a person replied to the customer directly, so "
            "this draft was not sent. A new customer message will bring a new draft.")
    blocks = summary_blocks(result, ticket) + [_section(line), {
        "type": "context", "elements": [
            {"type": "mrkdwn", "text": f"This card showed draft version {shown}." if shown
             else "This card was posted before drafts had versions."}]}]
    return f"{tid}: answered outside Sidekick; the draft was not sent", blocks


def _modal(callback_id: str, title: str, submit: str, input_block: dict[str, Any], *,
           ticket_id: str, channel: str, ts: str, version: int) -> dict[str, Any]:
    """A decision modal: one input, the draft version, where its review message is."""
    meta = {"ticket_id": ticket_id, "channel": channel, "ts": ts, "version": version}
    return {
        "type": "modal", "callback_id": callback_id,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [input_block],
    }


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
           ) -> dict[str, Any]:
    """An input block whose element's action_id is its block_id (how views.py reads it)."""
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {**element, "action_id": block_id}}


def edit_modal(ticket_id: str, body: str, *, channel: str, ts: str, version: int
               ) -> dict[str, Any]:
    """A modal with the draft in a multiline input."""
    element = {"type": "plain_text_input", "multiline": True, "initial_value": body[:3000]}
    return _modal(EDIT_VIEW, "Edit the draft", "Send",
                  _input(DRAFT_INPUT, f"Reply for {ticket_id}", element),
                  ticket_id=ticket_id, channel=channel, ts=ts, version=version)


def reassign_modal(ticket_id: str, teams: Iterable[tuple[str, str]], *, current: str,
                   channel: str, ts: str, version: int) -> dict[str, Any]:
    """A modal with a static_select of the teams (slug, name) from the teams file."""
    options = [{"text": {"type": "plain_text", "text": name[:75]}, "value": slug}
               for slug, name in teams if slug != current]
    element = {"type": "static_select", "options": options[:100]}
    return _modal(REASSIGN_VIEW, "Reassign", "Reassign",
                  _input(TEAM_INPUT, f"New team for {ticket_id}", element),
                  ticket_id=ticket_id, channel=channel, ts=ts, version=version)


def reject_modal(ticket_id: str, *, channel: str, ts: str, version: int) -> dict[str, Any]:
    """A modal asking why the draft is rejected (optional: nothing is sent either way)."""
    element = {"type": "plain_text_input", "multiline": True, "max_length": 2000,
               "placeholder": {"type": "plain_text", "text": "e.g. answered on the phone"}}
    return _modal(REJECT_VIEW, "Reject the draft", "Reject",
                  _input(REASON_INPUT, f"Why reject {ticket_id}?", element, optional=True),
                  ticket_id=ticket_id, channel=channel, ts=ts, version=version)
