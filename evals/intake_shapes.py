"""Rows of `datasets/intake_shapes.jsonl`: tickets in the shapes the real intake makes.

Each row is a Ticket as one channel's intake builds it (`notes.shape` names which), with
`expected` priority and playbook (team and kind where known) written by hand from the
handbook pages, not computed by the rules the code uses. The shapes:

- `webhook_before_enrichment`: what the Zendesk event's `detail` alone gives: no requester,
  no organization, Zendesk's priority if set, `via`.
- `webhook_enriched`: the same ticket read from Zendesk (requester, organization and plan,
  `url` of the agent page); `notes.same_ticket_as` names its before-enrichment row.
- `slack_thread`: a 🎫 thread (a name, the `slack` and `channel:` tags, no plan); a CS
  message in their channel is `cs_escalated`.
- `community_via_zendesk`: source `community`, made by an integration (`via` api), the
  page's link as `url` or the form's community tag.
- `github`: an outside contributor's GitHub issue (its link as `url`).
- `email`: through Zendesk's e-mail channel (`via` email) or straight to Sidekick.
- `in_app`: a support-panel report whose body ends with its PostHog app links.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from agent.models import KINDS, PRIORITY_ORDER, Ticket

SHAPES = ("webhook_before_enrichment", "webhook_enriched", "slack_thread",
          "community_via_zendesk", "github", "email", "in_app")
PLAYBOOKS = (None, "self_hosted", "two_factor_removal", "ownership_transfer",
             "community_question")
_APP_LINK = re.compile(r"https://(?:us|eu|app)\.posthog\.com/")
_COMMUNITY_PAGE = re.compile(r"^https://posthog\.com/questions/")
_GITHUB_ISSUE = re.compile(r"^https://github\.com/PostHog/[\w.-]+/issues/\d+$")


def _shape_problems(shape: str, t: Ticket) -> list[str]:
    """What makes the ticket not look like its shape (empty: it does)."""
    checks: dict[str, list[tuple[bool, str]]] = {
        "webhook_before_enrichment": [
            (t.source == "zendesk", "source must be zendesk"),
            (not t.requester.name and not t.organization.plan,
             "the event alone has no requester name and no plan"),
            (t.via is not None, "`via` is in the event")],
        "webhook_enriched": [
            (t.source == "zendesk", "source must be zendesk"),
            (bool(t.requester.name and t.requester.email), "Zendesk has the requester"),
            (t.via is not None and bool(t.url), "`via` and the agent `url` are set")],
        "slack_thread": [
            (t.source == "slack", "source must be slack"),
            ("slack" in t.tags and any(x.startswith("channel:") for x in t.tags),
             "the Slack app tags `slack` and `channel:<id>`"),
            (t.requester.email is None, "a Slack thread has no e-mail address")],
        "community_via_zendesk": [
            (t.source == "community" and t.via == "api", "source community, via api"),
            (bool(t.url and _COMMUNITY_PAGE.match(t.url)) or "community_question" in t.tags,
             "the question's page as `url`, or the form's tag")],
        "github": [
            (t.source == "github", "source must be github"),
            (bool(t.url and _GITHUB_ISSUE.match(t.url)), "`url` is the issue")],
        "email": [
            (t.source == "email" or (t.source == "zendesk" and t.via == "email"),
             "source email, or zendesk via email"),
            (bool(t.requester.email), "an e-mail has a sender")],
        "in_app": [
            (t.source == "in_app", "source must be in_app"),
            (bool(_APP_LINK.search(t.body or "")), "the report carries its app links")],
    }
    return [message for ok, message in checks[shape] if not ok]


def check_row(row: dict, ticket: Ticket, teams: set[str], report: Any, rule: str) -> None:
    """Check one row's labels and that the ticket has the shape it claims."""
    where, exp = row["_where"], row["expected"]
    notes = row.get("notes") or {}
    for key in ("priority", "playbook"):
        if key not in exp:
            report.error(where, f"expected.{key} is missing (priority and playbook are scored)")
    if exp.get("priority") not in PRIORITY_ORDER:
        report.error(where, f"unknown priority {exp.get('priority')!r}")
    if exp.get("playbook") not in PLAYBOOKS:
        report.error(where, f"unknown playbook {exp.get('playbook')!r}")
    if exp.get("team") is not None and exp["team"] not in teams:
        report.error(where, f"unknown team {exp['team']!r}")
    if exp.get("kind") is not None and exp["kind"] not in KINDS:
        report.error(where, f"unknown kind {exp['kind']!r}")
    shape = notes.get("shape")
    if shape not in SHAPES:
        report.error(where, f"notes.shape must be one of {SHAPES}")
        return
    for problem in _shape_problems(shape, ticket):
        report.error(where, f"shape {shape}: {problem}")
    if not notes.get("why"):
        report.error(where, "notes.why: say which handbook rule the labels follow")
    if exp.get("priority") != rule:
        # A hand label is not corrected to the rules: a difference may be the rules' bug.
        report.warn(where, f"label {exp.get('priority')!r}, the metadata rules give {rule!r}")


def twin_where(row: dict, rows: list[tuple[dict, Ticket]]) -> str | None:
    """The `_where` of the row this one is the same ticket as (either way round), if any."""
    me, twin = row.get("id"), (row.get("notes") or {}).get("same_ticket_as")
    for other, _ in rows:
        if other.get("id") == twin or (other.get("notes") or {}).get("same_ticket_as") == me:
            return str(other["_where"])
    return None


def check_coverage(rows: list[dict], report: Any) -> None:
    """Every shape at least once; every enriched row's twin exists."""
    shapes = Counter((r.get("notes") or {}).get("shape") for r in rows)
    for shape in SHAPES:
        if not shapes[shape]:
            report.error("intake_shapes", f"no row of shape {shape}")
    ids = {r.get("id") for r in rows}
    for r in rows:
        twin = (r.get("notes") or {}).get("same_ticket_as")
        if twin is not None and twin not in ids:
            report.error(r["_where"], f"notes.same_ticket_as {twin!r}: no such row")
