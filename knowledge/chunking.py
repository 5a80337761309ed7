"""Split a cleaned page into chunks by its `##`/`###` headings, each with its heading path.

A chunk is one section ("Support hero > How do I prioritize?"); a section longer than
`max_chars` is cut between paragraphs, never inside a code block, so that every chunk fits
the embedding model's window and a passage stays readable on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 1_500
#: Headings of these levels start a new chunk; deeper ones stay inside their section.
SPLIT_LEVELS = (1, 2, 3)

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class Chunk:
    """A piece of a page: its text, the heading path above it, and its place in the section."""

    heading: str
    anchor: str
    text: str
    part: int = 0


def clean_heading(text: str) -> str:
    """Reduce a heading to plain words: no link targets, emphasis or backticks."""
    text = _LINK.sub(r"\1", text)
    return re.sub(r"[`*]|\{#[^}]*\}", "", text).strip()


def slugify(text: str) -> str:
    """Make a heading's GitHub-style anchor (`How do I prioritize?` → `how-do-i-prioritize`)."""
    slug = re.sub(r"[^\w\- ]", "", text.lower()).strip()
    return re.sub(r"\s+", "-", slug)


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs separated by blank lines; a fenced code block is one unit."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if match and fence is None:
            fence = match.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        if fence is None and not match and not line.strip():
            if current:
                blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _pieces(block: str, max_chars: int) -> list[str]:
    """Keep a block no longer than max_chars whole, else pack its lines greedily.

    An oversized code block is cut between lines and each piece fenced again, so that no
    chunk holds half a fence.
    """
    if len(block) <= max_chars:
        return [block]
    lines = block.splitlines()
    fence = _FENCE.match(lines[0])
    if not fence or len(lines) < 3:
        return pack(lines, max_chars, sep="\n")
    opening, closing = lines[0], fence.group(1)
    inner = lines[1:-1] if lines[-1].strip().startswith(closing) else lines[1:]
    room = max(max_chars - len(opening) - len(closing) - 2, 1)
    return [f"{opening}\n{piece}\n{closing}" for piece in pack(inner, room, sep="\n")]


def pack(units: list[str], max_chars: int, *, sep: str = "\n\n") -> list[str]:
    """Join units greedily into pieces of at most max_chars (a longer unit stays whole)."""
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + len(sep) + len(unit) > max_chars:
            pieces.append(current)
            current = unit
        else:
            current = f"{current}{sep}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces


def split_long(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Cut a section's text between paragraphs into pieces of about max_chars."""
    if len(text) <= max_chars:
        return [text]
    units = [piece for block in _blocks(text.splitlines()) for piece in _pieces(block, max_chars)]
    return pack(units, max_chars)


def _sections(body: str, title: str) -> list[tuple[list[str], str, str]]:
    """(heading path, anchor, text) per section, in page order."""
    sections: list[tuple[list[str], str, str]] = []
    stack: dict[int, str] = {}
    path, anchor = [title], ""
    lines: list[str] = []
    fence: str | None = None

    def close() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append((path, anchor, text))

    for line in body.splitlines():
        match = _FENCE.match(line)
        if match and fence is None:
            fence = match.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        heading = _HEADING.match(line) if fence is None and not match else None
        if heading and len(heading.group(1)) in SPLIT_LEVELS:
            close()
            level, name = len(heading.group(1)), clean_heading(heading.group(2))
            stack = {lv: h for lv, h in stack.items() if lv < level}
            stack[level] = name
            # A body `# Title` that repeats the page title adds nothing to the path.
            path = [title] + [h for _, h in sorted(stack.items()) if h != title]
            anchor, lines = slugify(name), []
            continue
        lines.append(line)
    close()
    return sections


def chunk_markdown(body: str, title: str, *, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Chunk a page: one chunk per heading section, long sections cut between paragraphs."""
    chunks = []
    for path, anchor, text in _sections(body, title):
        for part, piece in enumerate(split_long(text, max_chars)):
            chunks.append(Chunk(heading=" > ".join(path), anchor=anchor, text=piece, part=part))
    return chunks
