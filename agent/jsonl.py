"""JSON Lines, read one way everywhere: eval datasets, labeled examples, issue files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class JsonlLineError(ValueError):
    """A line that is not JSON; `line` is its 1-based number, `msg` the decoder's reason."""

    def __init__(self, line: int, msg: str) -> None:
        super().__init__(f"line {line}: not valid JSON ({msg})")
        self.line, self.msg = line, msg


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, decoded value) for each non-blank line, reading as it goes.

    Raises:
        JsonlLineError: at the first line that is not JSON.

    """
    with Path(path).open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise JsonlLineError(number, exc.msg) from None
            yield number, value
