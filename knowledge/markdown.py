"""Markdown and MDX pages as plain markdown: front matter, title, and no JSX or diagrams.

PostHog's docs are MDX: `import`/`export` lines, React components (`<CalloutBox ...>`,
`<ProductScreenshot ... />`) and mermaid diagrams sit between the prose. None of that helps
an embedding or a reader of a passage, so it is removed, while the text *inside* a
component (a callout's paragraph) is kept. Code blocks are left untouched: a `<script>`
tag or a `# comment` inside one is content, not markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)")
_IMPORT_ONE_LINE = re.compile(r"""^import\s+(?:[\w*{}\s,$]+\s+from\s+)?['"][^'"]+['"];?\s*$""")
_IMPORT_START = re.compile(r"^import\s+[\w*{$]")
_IMPORT_END = re.compile(r"""from\s+['"][^'"]+['"];?\s*$""")
_EXPORT = re.compile(r"^export\s+(?:const|let|var|default|function|async|class)\b")
# Attribute values may hold strings or JSX expressions with nested braces (depth 3).
_BRACES = r"\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}"
_TAG = re.compile(
    r"</?[A-Za-z][\w.:-]*(?:\s(?:[^<>\"'{}]|\"[^\"]*\"|'[^']*'|" + _BRACES + r")*)?/?>"
)
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^(?:[-*+>|]|\d+[.)])\s")
_SNIPPET_IMPORT = re.compile(r"""^import\s+(\w+)\s+from\s+['"](\.{1,2}/[^'"]+)['"];?\s*$""",
                             re.MULTILINE)
#: How deep snippets that include snippets are followed.
_SNIPPET_DEPTH = 2


@dataclass(frozen=True)
class Page:
    """One markdown file, cleaned: its front matter, its title and its plain body."""

    title: str
    body: str
    front_matter: dict[str, Any] = field(default_factory=dict)


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter from the body.

    Returns:
        The front matter as a dict (empty when absent or not valid YAML) and the rest.

    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        data = None  # a broken header should not lose the page: index it without metadata
    return (data if isinstance(data, dict) else {}), text[match.end():]


def _strip_markup(prose: str) -> str:
    """Remove JSX/HTML tags, comments and images from prose, sparing inline code."""
    prose = _JSX_COMMENT.sub("", prose)
    prose = _HTML_COMMENT.sub("", prose)
    parts = _INLINE_CODE.split(prose)
    for i in range(0, len(parts), 2):  # even parts are outside backticks
        parts[i] = _IMAGE.sub("", _TAG.sub("", parts[i]))
    # Text that sat inside indented components would read as an indented code block.
    lines = "".join(parts).splitlines()
    return "\n".join(
        line if _LIST_ITEM.match(line.lstrip()) else line.lstrip() for line in lines
    )


def _skip_statement(lines: list[str], i: int) -> int:
    """Return the index after an `import`/`export` statement at line i (i if there is none)."""
    line = lines[i]
    if _IMPORT_ONE_LINE.match(line):
        return i + 1
    if _IMPORT_START.match(line):
        j = i
        while j < len(lines) and not _IMPORT_END.search(lines[j]):
            j += 1
        return min(j + 1, len(lines))
    if _EXPORT.match(line):
        # A multi-line `export const x = {...}`: read until the brackets balance.
        depth, j = 0, i
        while j < len(lines):
            depth += sum(lines[j].count(c) for c in "{[(") - sum(lines[j].count(c) for c in "}])")
            j += 1
            if depth <= 0:
                break
        return j
    return i


def strip_mdx(body: str) -> str:
    """Plain markdown from an MDX body: no imports/exports, JSX tags or mermaid blocks."""
    lines = body.splitlines()
    out: list[str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            out.append(_strip_markup("\n".join(prose)))
            prose = []
            marker, lang = fence.group(1), fence.group(2).lower()
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith(marker):
                end += 1
            if lang != "mermaid":  # diagrams are drawing instructions, not text
                out.append("\n".join(lines[i : end + 1]))
            i = end + 1
            continue
        after = _skip_statement(lines, i)
        if after > i:
            i = after
            continue
        prose.append(line)
        i += 1
    out.append(_strip_markup("\n".join(prose)))
    return _tidy("\n".join(part for part in out if part))


def _tidy(text: str) -> str:
    """Blank the lines that held only markup and collapse runs of empty lines."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _first_h1(body: str) -> str | None:
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := _H1.match(line)):
            return match.group(1).strip()
    return None


def title_from_path(path: Path) -> str:
    """Make a readable title from a file name (`index` files take their folder's name)."""
    stem = path.parent.name if path.stem.lower() == "index" and path.parent.name else path.stem
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def snippet_files(text: str, path: Path) -> dict[str, Path]:
    """Find the local files a page imports as components (`import Keys from './_snippets/k.mdx'`).

    Returns:
        Component name → existing file; imports of packages or missing files are left out.

    """
    found: dict[str, Path] = {}
    for name, target in _SNIPPET_IMPORT.findall(text):
        base = (path.parent / target.replace("\\_", "_")).resolve()
        for candidate in (base, *(base.with_name(base.name + s) for s in (".mdx", ".md"))):
            if candidate.is_file() and candidate.suffix in (".md", ".mdx"):
                found[name] = candidate
                break
    return found


def expand_snippets(text: str, path: Path, depth: int = _SNIPPET_DEPTH) -> str:
    """Put the text of locally imported snippets where their `<Component />` stands alone.

    The published page shows the snippet's text there; without it the page would lose the
    very paragraph that answers a question (e.g. whether a project key may be public).
    """
    files = snippet_files(text, path) if depth > 0 else {}
    for name, file in files.items():
        snippet = parse_front_matter(file.read_text(encoding="utf-8", errors="replace"))[1]
        body = expand_snippets(snippet, file, depth - 1).strip()
        tag = re.compile(rf"^[ \t]*<{name}\b[^<>]*/>[ \t]*$", re.MULTILINE)
        # Doubled backslashes: in the snippet they are text, not group references.
        text = tag.sub(body.replace("\\", "\\\\"), text)
    return text


def parse_page(text: str, path: Path) -> Page:
    """Front matter, title (front matter, else first `# heading`, else file name) and body."""
    front_matter, body = parse_front_matter(text)
    body = strip_mdx(expand_snippets(body, path))
    title = front_matter.get("title")
    if not isinstance(title, str) or not title.strip():
        title = _first_h1(body) or title_from_path(path)
    return Page(title=title.strip(), body=body, front_matter=front_matter)
