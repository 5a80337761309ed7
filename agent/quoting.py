"""Quoted e-mail history: keep only what the customer just wrote.

A reply by e-mail carries the whole thread below it ("On Mon, … wrote:", "Am … schrieb …:",
"Le … a écrit :"). Left in, the classifier and the draft read our own last reply as the
customer's words. mail-parser-reply knows the headers of the common clients in en, de, fr,
es, it and nl; `agent/data/quoted_headers.toml` adds the wordings it misses (Portuguese
among them), and a trailing block of `>` lines is history whatever its header said.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from mailparser_reply import EmailReplyParser

#: The languages drafts are written in, and two more the customers write in.
LANGUAGES = ("en", "de", "fr", "es", "pt", "nl", "it")
HEADERS_FILE = Path(__file__).parent / "data" / "quoted_headers.toml"
_TRAILING_QUOTE = re.compile(r"(?:\n>[^\n]*)+\s*\Z")


@cache
def _parser() -> EmailReplyParser:
    return EmailReplyParser(languages=[lang for lang in LANGUAGES if lang != "pt"])


@cache
def _headers() -> re.Pattern[str]:
    data = tomllib.loads(HEADERS_FILE.read_text(encoding="utf-8"))
    patterns = [p for lang in LANGUAGES for p in data["headers"].get(lang, [])]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.M)


def strip_quoted(text: str) -> str:
    """The new part of an e-mail body: the quoted history and its header removed.

    Text without quoted history comes back unchanged but for surrounding blank space.
    A body that is nothing but a quote (a bare forward) is kept whole: some text is better
    than none.
    """
    if not text.strip():
        return text.strip()
    head = _headers().search(text)
    kept = text[: head.start()] if head else text
    kept = _parser().parse_reply(text=kept) or kept
    kept = _TRAILING_QUOTE.sub("", "\n" + kept).strip()
    return kept or text.strip()
