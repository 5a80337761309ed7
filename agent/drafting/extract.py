"""Extractive answers: the sentences of the retrieved passages that best match the ticket.

Lexical overlap is enough here (the passages are already the semantically closest ones)
and keeps a draft well under a few milliseconds. Passage text is markdown/MDX, so it is
cleaned first, and every link inside it is dropped: a reply may cite a passage's own URL
only, never a link the passage happens to contain.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from agent.guards import find_timeline, find_urls
from agent.models import Passage

#: Only the best few passages are read; lower ones rarely add a better sentence.
MAX_PASSAGES = 3
#: A chunk is read up to this many characters: the answer is rarely deeper, and it keeps
#: drafting within a few milliseconds whatever the chunk size of the index.
MAX_PASSAGE_CHARS = 6_000
MIN_CHARS, MAX_CHARS = 30, 320

_FENCE = re.compile(r"```.*?```", re.DOTALL)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS = re.compile(r"(\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w))")
_SKIP_LINE = re.compile(r"^\s*(#|\||import\s|export\s|<|>|:::|\{)")
_BULLET = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"(])")
_TOKEN = re.compile(r"[a-z0-9$][a-z0-9_$-]*")
_STOP = frozenset(
    "the a an and or but is are was were be been to of in on at for with by from as it this "
    "that these those you your we our i my me they them their can could would should will do "
    "does did not no yes if when what how why which who there here have has had so just also "
    "any all some more most very than then into out up about over only get got use using "
    "posthog hi hey hello thanks thank please help need want like one".split()
)


@dataclass(frozen=True)
class Extract:
    """A sentence chosen for the answer and the passage it comes from."""

    sentence: str
    passage: Passage
    score: float


def _tokens(text: str) -> set[str]:
    # A crude plural strip lets "recordings" meet "recording" without a stemmer.
    return {
        t[:-1] if len(t) > 4 and t.endswith("s") else t
        for t in _TOKEN.findall(text.lower())
        if t not in _STOP and len(t) > 2
    }


def clean_markdown(text: str) -> list[str]:
    """Return the prose lines of a markdown/MDX passage (no code, tables, tags or links)."""
    text = _FENCE.sub("\n", _FRONT_MATTER.sub("", text))
    lines = []
    for line in text.splitlines():
        if _SKIP_LINE.match(line):
            continue
        line = _BULLET.sub("", _IMAGE.sub("", line))
        line = _EMPHASIS.sub("", _TAG.sub("", _LINK.sub(r"\1", line)))
        for url in find_urls(line):
            line = line.replace(url, "")
        line = re.sub(r"\s{2,}", " ", line).strip()
        if line:
            lines.append(line)
    return lines


def sentences(text: str) -> list[str]:
    """Return the self-contained sentences of a passage that are fit to quote."""
    out = []
    for line in clean_markdown(text):
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip()
            if not MIN_CHARS <= len(sentence) <= MAX_CHARS or sentence.endswith(":"):
                continue  # a lead-in to a list or code block says nothing alone
            if sentence[-1] not in ".!?)`" or find_timeline(sentence):
                continue  # fragments, and docs dates that would read as our promise
            out.append(sentence)
    return out


def best_sentences(
    query: str, passages: list[Passage], *, limit: int = 3, min_overlap: int = 2
) -> list[Extract]:
    """Return the `limit` sentences sharing most words with the query, in reading order.

    A sentence needs `min_overlap` shared content words (one for a very short query) so
    that an unrelated docs line is never presented as an answer.
    """
    wanted = _tokens(query)
    if not wanted:
        return []
    need = 1 if len(wanted) < 4 else min_overlap
    candidates = []
    seen: set[str] = set()
    for rank, passage in enumerate(passages[:MAX_PASSAGES]):
        for position, sentence in enumerate(sentences(passage.text[:MAX_PASSAGE_CHARS])):
            # Two chunks of one page (or two pages) can repeat a line: quote it once.
            normalized = " ".join(sentence.lower().split())
            if normalized in seen:
                continue
            seen.add(normalized)
            shared = wanted & _tokens(sentence)
            if len(shared) < need:
                continue
            # Overlap normalised by length, nudged towards higher passages and earlier lines.
            score = len(shared) / math.sqrt(len(_tokens(sentence)) + 1)
            score += 0.3 / (rank + 1) + 0.05 / (position + 1)
            candidates.append((score, rank, position, sentence, passage))
    chosen = sorted(candidates, key=lambda c: c[0], reverse=True)[:limit]
    chosen.sort(key=lambda c: (c[1], c[2]))
    return [Extract(sentence=c[3], passage=c[4], score=c[0]) for c in chosen]
