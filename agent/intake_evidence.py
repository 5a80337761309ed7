"""What intake knows that the hero should see in the note, whichever engine drafted.

- An in-app report carries links (the admin panel, the session recording, the project):
  they are listed in the note, one a line, for the hero to click. Only links to PostHog's
  own app hosts count, so a link the customer typed is never made clickable; they are
  never put in a reply (the check node allows only passages' and issues' URLs there).
- The Zendesk view a polled ticket sits in (its `view:<team>` tag) is evidence for the
  team: when Sidekick's team is another, the note says so and names both. Routing stays
  the classifier's and the handbook's.
"""

from __future__ import annotations

import re

from agent.models import Draft, Ticket

#: The note's block of intake evidence starts with this line (replaced, never repeated).
HEADER = "From intake:"
#: Where PostHog's in-app support panel points: the app itself, US and EU.
#: A link that starts where a word would (not one nested in another link's query).
_APP_LINK = re.compile(
    r"(?<![^\s(<\[:])https://(?:us|eu|app)\.posthog\.com/[^\s<>()\[\]\"'`]*",
    re.IGNORECASE)
_LABELS = (
    (re.compile(r"/admin(?:/|$)"), "admin panel"),
    (re.compile(r"/(?:replay|recordings)/"), "session recording"),
    (re.compile(r"/(?:person|persons)/"), "person"),
    (re.compile(r"/project/\d+/?$"), "project"),
)
MAX_LINKS = 10


def report_links(ticket: Ticket) -> list[tuple[str, str]]:
    """The PostHog app links the ticket's body carries, each with what it points to."""
    found = []
    for url in dict.fromkeys(m.group(0).rstrip(".,;:!?") for m in
                             _APP_LINK.finditer(ticket.body or "")):
        label = next((name for pattern, name in _LABELS if pattern.search(url.split("?")[0])),
                     "link")
        found.append((label, url))
    return found[:MAX_LINKS]


def view_team(ticket: Ticket) -> str | None:
    """The team whose Zendesk view the ticket was polled from (`view:<team>` tag)."""
    return next((t.split(":", 1)[1] for t in ticket.tags if t.startswith("view:")), None)


def evidence_lines(ticket: Ticket, team: str | None) -> list[str]:
    """The note's intake lines for this ticket and the team Sidekick chose."""
    lines = [f"- {label}: {url}" for label, url in report_links(ticket)]
    if lines:
        lines.insert(0, "Links in the report:")
    view = view_team(ticket)
    if view and team and view != team:
        lines.append(f"Zendesk has this ticket in the {view} view; Sidekick routes it to "
                     f"{team}. Check which team owns it (reassign, or move it in Zendesk).")
    return lines


def with_evidence(draft: Draft, ticket: Ticket, team: str | None) -> Draft:
    """The draft with the intake block at the end of its note (an older block replaced)."""
    note = draft.internal_note
    if HEADER in note:
        note = note[: note.index(HEADER)].rstrip()
    lines = evidence_lines(ticket, team)
    if lines:
        note = "\n".join(filter(None, [note.rstrip(), HEADER, *lines]))
    if note == draft.internal_note:
        return draft
    return draft.model_copy(update={"internal_note": note})
