"""The hero's topic map: the lines of each team's ownership page, read as a bridge of words.

A customer names a thing in their words ("a spending cap", "our events in BigQuery every
day"), the docs in theirs ("billing limit", "batch exports"). The team pages
(`knowledge/corpus/team-*.md`) describe every area in both: "An unexpected bill or a usage
spike, a request for a refund or credits, or a billing limit that cut off data". The line
closest in meaning to a new question, read with it, lends the question the docs' words, so
that retrieval and the word-overlap sentence picking find the docs' answer.

The lines are the bullets of the pages that name a `team` and no `playbook`; a bullet that
is only a link ("Docs to check") says nothing about a topic and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_CONTINUED = re.compile(r"^\s{2,}\S")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def _bullets(text: str) -> list[str]:
    """The bullets of a markdown chunk, each with its wrapped continuation lines."""
    bullets: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        match = _BULLET.match(line)
        if match:
            current = [match.group(1).strip()]
            bullets.append("")
        elif current is not None and _CONTINUED.match(line):
            current.append(line.strip())
        else:
            current = None
            continue
        bullets[-1] = " ".join(current)
    return bullets


def topic_lines(documents: Sequence[str], metadatas: Sequence[Mapping[str, Any]]) -> list[str]:
    """The bullets of the team ownership pages in an index, once each, in index order."""
    lines: dict[str, None] = {}
    for text, meta in zip(documents, metadatas, strict=True):
        if not meta.get("team") or meta.get("playbook"):
            continue
        for bullet in _bullets(text):
            if bullet.startswith("[") or not bullet:
                continue
            lines[_LINK.sub(r"\1", bullet)] = None
    return list(lines)
