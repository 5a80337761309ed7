"""Human-readable output for the terminal."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence

from agent.models import TriageResult

_WIDTH = 92


def _indent(text: str, prefix: str = "    ") -> str:
    lines = []
    for paragraph in text.splitlines() or [""]:
        wrapped = textwrap.wrap(paragraph, _WIDTH - len(prefix)) or [""]
        lines += [prefix + line for line in wrapped]
    return "\n".join(lines)


def summary_line(result: TriageResult, subject: str | None) -> str:
    """One ticket's headline: id, subject, team, priority, kind, playbook."""
    unsure = "?" if result.team_uncertain else ""
    playbook = f"  playbook {result.playbook}" if result.playbook else ""
    return (
        f"{result.ticket_id}  {(subject or '').strip()[:60]}\n"
        f"  team {result.team}{unsure} ({result.team_confidence:.2f})  "
        f"priority {result.priority}  kind {result.kind}{playbook}  [{result.engine}]"
    )


def ticket_block(result: TriageResult, subject: str | None, *, full: bool = False) -> str:
    """A ticket's triage as a short block; `full` adds the whole draft and the note."""
    lines = [summary_line(result, subject)]
    if result.issue.action != "none":
        target = result.issue.url or result.issue.title or ""
        lines.append(f"  issue: {result.issue.action} {target}")
    if result.passages:
        # The docs page a customer would be pointed to, before the hero's own playbooks.
        top = next((p for p in result.passages if not p.internal), result.passages[0])
        label = "playbook" if top.internal else "source"
        lines.append(f"  {label}: {top.title} <{top.url or '-'}>")
    body = result.draft.body
    if not full:
        first = body.strip().splitlines()[0] if body.strip() else ""
        lines.append(f"  draft: {first[:80]}{' …' if len(body) > len(first) else ''}")
    else:
        lines += ["  passages:"] + [
            f"    {p.score:.2f}  {p.title} <{p.url or '-'}>" + ("  (hero playbook)" * p.internal)
            for p in result.passages
        ]
        if len(result.conversation) > 1:
            lines.append(f"  conversation (turn {result.turn}, stage {result.stage}):")
            lines += [f"    {m.author}{'' if m.public else ' (internal)'}: "
                      f"{' '.join(m.body.split())[:100]}" for m in result.conversation]
        visibility = "public reply" if result.draft.public else "internal note only"
        lines += [f"  draft ({visibility}, then {result.draft.status_after}):", _indent(body)]
        lines += ["  internal note:", _indent(result.draft.internal_note)]
    if "→" in result.engine:
        lines += [f"  engine {result.engine}: {reason}" for reason in result.engines.reasons]
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def totals(results: Sequence[TriageResult]) -> str:
    """Counts by priority (queue order) and by team."""
    from agent.models import PRIORITY_ORDER

    by_priority = Counter(r.priority for r in results)
    by_team = Counter(r.team for r in results)
    queue = "  ".join(f"{p} {by_priority[p]}" for p in PRIORITY_ORDER if by_priority[p])
    teams = "  ".join(f"{t} {n}" for t, n in sorted(by_team.items()))
    return f"{len(results)} ticket(s) awaiting review\n  queue: {queue}\n  teams: {teams}"
