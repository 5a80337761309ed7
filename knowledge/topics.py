"""The hero's topic map: the lines of each team's ownership page, read as a bridge of words.

A customer names a thing in their words ("a spending cap", "our events in BigQuery every
day"), the docs in theirs ("billing limit", "batch exports"). The team pages
(`knowledge/corpus/team-*.md`) describe every area in both: "An unexpected bill or a usage
spike, a request for a refund or credits, or a billing limit that cut off data". The line
closest in meaning to a new question, read with it, lends the question the docs' words, so
that retrieval and the word-overlap sentence picking find the docs' answer.

The lines are the bullets of the pages that name a `team` and no `playbook`; a bullet that
is only a link ("Docs to check") says nothing about a topic and is left out. A bullet often
lists several topics, so each of its parts of three words or more (between commas, colons
or parentheses) is a line too: "a billing limit that cut off data" is closer to "a spending
cap" than the whole bullet about bills and refunds is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
#: A line that cannot go on a bullet: a blank one or a heading (markdown's lazy continuation
#: lets any other line go on, indented or not, as chunk text may have lost its indent).
_BREAK = re.compile(r"^\s*(#|$)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_PARTS = re.compile(r"[,;:]\s+|\s*[()]\s*")
_JOINER = re.compile(r"^(or|and)\s+", re.IGNORECASE)
#: A part shorter than this ("plans", "SSO and SAML") names too little to bridge words.
MIN_PART_WORDS = 3


def _bullets(text: str) -> list[str]:
    """The bullets of a markdown chunk, each with the wrapped lines that go on with it."""
    bullets: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        match = _BULLET.match(line)
        if match:
            current = [match.group(1).strip()]
            bullets.append("")
        elif current is not None and not _BREAK.match(line):
            current.append(line.strip())
        else:
            current = None
            continue
        bullets[-1] = " ".join(current)
    return bullets


def _parts(line: str) -> list[str]:
    """The topics a bullet lists, each of at least MIN_PART_WORDS words."""
    parts = (_JOINER.sub("", part.strip(" .")) for part in _PARTS.split(line))
    return [part for part in parts if len(part.split()) >= MIN_PART_WORDS]


def topic_lines(documents: Sequence[str], metadatas: Sequence[Mapping[str, Any]]) -> list[str]:
    """The bullets of the team ownership pages and their parts, once each, in index order."""
    lines: dict[str, None] = {}
    for text, meta in zip(documents, metadatas, strict=True):
        if not meta.get("team") or meta.get("playbook"):
            continue
        for bullet in _bullets(text):
            if bullet.startswith("[") or not bullet:
                continue
            line = _LINK.sub(r"\1", bullet)
            lines[line] = None
            for part in _parts(line):
                lines.setdefault(part, None)
    return list(lines)
