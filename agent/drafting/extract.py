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


#: Suffixes stripped so that "configured" meets "configure" and "recordings" "recording",
#: longest first; a stem keeps at least four letters ("uses" stays "uses").
_SUFFIXES = ("ings", "ing", "ed", "es", "s", "e")


def _stem(token: str) -> str:
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


def _tokens(text: str) -> set[str]:
    return {_stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOP and len(t) > 2}


def content_words(text: str) -> set[str]:
    """The stemmed content words of `text` (no stop words), as the extractor compares them."""
    return _tokens(text)


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


def _complete(sentence: str) -> bool:
    # Not a fragment, not a question (the docs' own questions are rhetorical or headings),
    # and no date that would read as our promise.
    return bool(sentence) and sentence[-1] in ".!)`" and find_timeline(sentence) is None


#: A colon sentence that only announces what follows ("Run the following:") says nothing
#: without it; one that states a fact before a table or screenshot ("The retention period
#: can be configured in the Data Retention settings:") is quoted with a full stop.
_ANNOUNCES = re.compile(
    r"\b(following|below|these|as follows|example|e\.g\.|like so|like this|here)\b|"
    r"^(to|for|if|when|then|run|add|install|open|go|click|select)\b",
    re.IGNORECASE)
_MIN_STATEMENT_WORDS = 7


def _stated(sentence: str) -> str | None:
    """A lead-in ending with a colon as a statement, or None if it only announces."""
    if len(sentence.split()) < _MIN_STATEMENT_WORDS or _ANNOUNCES.search(sentence):
        return None
    return sentence[:-1].rstrip() + "."


def _quotable(sentence: str) -> str | None:
    """The sentence as it can be quoted, or None."""
    if not MIN_CHARS <= len(sentence) <= MAX_CHARS:
        return None
    if sentence.endswith(":"):
        stated = _stated(sentence)
        if stated is None:
            return None
        sentence = stated
    return sentence if _complete(sentence) else None


def _following(parts: list[str]) -> str | None:
    """Up to two complete sentences that follow, short ones included ("Ours does too.")."""
    taken: list[str] = []
    for part in parts[:2]:
        if not _complete(part) or len(" ".join([*taken, part])) > MAX_CHARS:
            break
        taken.append(part)
    return " ".join(taken) or None


def sentence_pairs(text: str) -> list[tuple[str, str | None]]:
    """Each quotable sentence of a passage with the quotable one after it in its paragraph.

    Docs often state a fact and give the fix in the next sentence ("Ours includes a world
    map. If you can't see it, enable GeoIP."): the fix rarely shares the ticket's words.
    """
    out: list[tuple[str, str | None]] = []
    for line in clean_markdown(text):
        parts = [p.strip() for p in _SENTENCE_END.split(line)]
        for i, part in enumerate(parts):
            sentence = _quotable(part)
            if sentence is None:
                continue
            following = None if part.endswith(":") else _following(parts[i + 1:])
            out.append((sentence, following))
    return out


def sentences(text: str) -> list[str]:
    """Return the self-contained sentences of a passage that are fit to quote."""
    return [sentence for sentence, _ in sentence_pairs(text)]


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
        pairs = sentence_pairs(passage.text[:MAX_PASSAGE_CHARS])
        for position, (sentence, following) in enumerate(pairs):
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
            candidates.append((score, rank, position, sentence, passage, following))
    chosen = sorted(candidates, key=lambda c: c[0], reverse=True)[:limit]
    if chosen and chosen[0][5]:
        # The best match keeps the sentence after it: where the docs usually say what to do.
        # A chosen sentence it now holds is not listed twice.
        best, carried = chosen[0], chosen[0][5]
        chosen = [best, *(c for c in chosen[1:] if c[3] not in carried)]
        chosen[0] = (*best[:3], f"{best[3]} {carried}", *best[4:])
    chosen.sort(key=lambda c: (c[1], c[2]))
    return [Extract(sentence=c[3], passage=c[4], score=c[0]) for c in chosen]
