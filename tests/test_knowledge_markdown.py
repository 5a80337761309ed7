from pathlib import Path

from knowledge.chunking import chunk_markdown, slugify, split_long
from knowledge.markdown import parse_front_matter, parse_page, strip_mdx

MDX = '''---
title: Blank recordings
sidebar: Docs
---

import { CalloutBox } from 'components/CalloutBox'
import {
    ProductScreenshot,
    ProductVideo,
} from 'components/Media'
export const ImageLight = "https://example.com/light.png"
export const settings = {
    mode: "dark",
    sizes: [1, 2],
}

Intro paragraph about replays.

<CalloutBox icon="IconInfo" title="Heads up" type="fyi">

Text inside the callout stays.

</CalloutBox>

<ProductScreenshot
    imageLight={ImageLight}
    imageDark={{ src: "x", alt: "a > b" }}
    classes="rounded"
/>

{/* a JSX comment */}
Inline `<Component />` code stays, so does a < b.

```mermaid
graph TD
    A --> B
```

```html
<script src="https://cdn.example.com/app.js"></script>
# not a heading
```
'''


def test_front_matter_is_parsed_and_removed():
    meta, body = parse_front_matter("---\ntitle: Hello\nteam: replay\n---\nBody\n")
    assert meta == {"title": "Hello", "team": "replay"}
    assert body == "Body\n"


def test_broken_or_missing_front_matter_keeps_the_text():
    assert parse_front_matter("no header\n") == ({}, "no header\n")
    meta, body = parse_front_matter("---\ntitle: [unclosed\n---\nBody\n")
    assert meta == {} and body == "Body\n"


def test_mdx_imports_exports_and_tags_are_stripped():
    page = parse_page(MDX, Path("docs/replay.mdx"))
    body = page.body
    assert page.title == "Blank recordings"
    assert page.front_matter["sidebar"] == "Docs"
    for gone in ("import", "export", "CalloutBox", "ProductScreenshot", "imageDark",
                 "JSX comment", "mermaid", "A --> B", "ProductVideo"):
        assert gone not in body, gone
    assert "Intro paragraph about replays." in body
    assert "Text inside the callout stays." in body
    assert "Inline `<Component />` code stays, so does a < b." in body


def test_code_blocks_are_left_alone():
    body = strip_mdx(MDX.split("---\n", 2)[2])
    assert '<script src="https://cdn.example.com/app.js"></script>' in body
    assert "# not a heading" in body


def test_title_falls_back_to_h1_then_file_name():
    assert parse_page("Intro\n\n# The Heading\n\ntext", Path("a/b.md")).title == "The Heading"
    assert parse_page("just text", Path("docs/feature-flags/local-evaluation.md")).title == (
        "Local evaluation")
    assert parse_page("just text", Path("docs/surveys/index.mdx")).title == "Surveys"


def test_chunks_carry_heading_paths():
    body = (
        "Intro.\n\n## How do I prioritize?\n\nBy plan.\n\n### Ties\n\nOldest first.\n\n"
        "```bash\n## a comment, not a heading\necho hi\n```\n\n#### Deep\n\nStays inside.\n\n"
        "## Empty\n\n## Last\n\nEnd."
    )
    chunks = chunk_markdown(body, "Support hero")
    assert [c.heading for c in chunks] == [
        "Support hero",
        "Support hero > How do I prioritize?",
        "Support hero > How do I prioritize? > Ties",
        "Support hero > Last",
    ]
    ties = chunks[2]
    assert "## a comment, not a heading" in ties.text and "Stays inside." in ties.text
    assert chunks[1].anchor == "how-do-i-prioritize"


def test_body_h1_equal_to_title_is_not_repeated():
    chunks = chunk_markdown("# Guide\n\nHello\n\n## Part\n\nWorld", "Guide")
    assert [c.heading for c in chunks] == ["Guide", "Guide > Part"]


def test_long_sections_split_between_paragraphs():
    paragraphs = [f"Paragraph {i} " + "word " * 60 for i in range(12)]
    chunks = chunk_markdown("## Long\n\n" + "\n\n".join(paragraphs), "Page", max_chars=1_000)
    assert len(chunks) > 2
    assert all(len(c.text) <= 1_000 for c in chunks)
    assert [c.part for c in chunks] == list(range(len(chunks)))
    assert all(c.heading == "Page > Long" for c in chunks)
    # Every paragraph survives whole, in order.
    joined = "\n\n".join(c.text for c in chunks)
    assert joined == "\n\n".join(p.rstrip() for p in paragraphs) or all(
        p.strip() in joined for p in paragraphs)


def test_code_block_with_blank_lines_stays_one_unit():
    code = "```\n" + "\n\n".join(f"line {i}" for i in range(8)) + "\n```"
    pieces = split_long("Before " * 30 + "\n\n" + code + "\n\n" + "After " * 30, 300)
    assert any(code in piece for piece in pieces)


def test_slugify():
    assert slugify("What if I'm scheduled?") == "what-if-im-scheduled"


def test_oversized_code_block_is_cut_between_lines_and_fenced_again():
    code = "```python\n" + "\n".join(f"print({i})" for i in range(200)) + "\n```"
    pieces = split_long("Before.\n\n" + code + "\n\nAfter.", 300)
    fenced = [p for p in pieces if "print(" in p]
    assert len(fenced) > 1
    for piece in fenced:
        assert piece.count("```python") == 1 and piece.count("```") == 2
        assert len(piece) <= 300


def test_local_snippets_are_inlined(tmp_path: Path):
    snippets = tmp_path / "docs" / "_snippets"
    snippets.mkdir(parents=True)
    (snippets / "keys.mdx").write_text(
        "---\ntitle: ignored\n---\nimport X from 'pkg'\n\nThe project key is safe to publish"
        " (path C:\\keys).\n")
    page = tmp_path / "docs" / "privacy.mdx"
    text = ("import Keys from './\\_snippets/keys.mdx'\nimport Gone from './_snippets/gone'\n"
            "import { Icon } from '@posthog/icons'\n\n## Keys\n\n<Keys />\n\n<Gone />\n")
    body = parse_page(text, page).body
    assert "The project key is safe to publish (path C:\\keys)." in body
    assert "<Keys" not in body and "<Gone" not in body and "import" not in body
