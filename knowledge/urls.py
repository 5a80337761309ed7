"""Where a page lives on the web: a path rule, overridden by a `url:` front-matter key.

The default rule is posthog.com's: the part of a path after `contents/` is the page's
address (`contents/docs/surveys/index.mdx` → `https://posthog.com/docs/surveys`).
Snippets (files under `_snippets/` or `snippets/`) are pieces included into other pages
and have no address of their own, so they get no URL and are never cited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

POSTHOG_BASE_URL = "https://posthog.com/"
SNIPPET_DIRS = frozenset({"_snippets", "snippets"})
MARKDOWN_SUFFIXES = (".md", ".mdx", ".markdown")


def is_snippet(relative: PurePosixPath | Path) -> bool:
    """Whether a file sits in a snippets folder (relative to the ingested root)."""
    return any(part in SNIPPET_DIRS for part in relative.parts[:-1])


@dataclass(frozen=True)
class UrlRule:
    """Map a file path to a URL: everything after `strip_prefix`, joined to `base_url`.

    Attributes:
        base_url: The site the pages are published on.
        strip_prefix: A folder name in the file's path; what follows it is the URL path.
            The prefix is looked for in the file's absolute path, so ingesting a subfolder
            (`.../contents/docs`) gives the same URLs as ingesting the whole tree. An empty
            prefix means "the path relative to the ingested root". A file whose path lacks
            the prefix gets no URL (it is indexed but cannot be cited).

    """

    base_url: str = POSTHOG_BASE_URL
    strip_prefix: str = "contents/"

    def url_path(self, path: Path, root: Path) -> str | None:
        """Return the URL path of a file (no extension, `index` dropped), or None."""
        relative = PurePosixPath(path.relative_to(root).as_posix())
        prefix = self.strip_prefix.strip("/")
        if not prefix:
            tail = relative.as_posix()
        else:
            full = "/" + path.resolve().as_posix().lstrip("/")
            at = full.rfind(f"/{prefix}/")
            if at < 0:
                return None
            tail = full[at + len(prefix) + 2 :]
        stem = PurePosixPath(tail)
        if stem.suffix.lower() in MARKDOWN_SUFFIXES:
            stem = stem.with_suffix("")
        if stem.name.lower() == "index":
            stem = stem.parent
        text = stem.as_posix()
        return "" if text == "." else text

    def url_for(self, path: Path, root: Path, front_matter: Mapping[str, Any]) -> str | None:
        """Return the page URL: front matter `url:` wins; snippets and unknown paths get None."""
        explicit = front_matter.get("url")
        if isinstance(explicit, str) and explicit.strip():
            return explicit.strip()
        if is_snippet(PurePosixPath(path.relative_to(root).as_posix())):
            return None
        tail = self.url_path(path, root)
        if tail is None:
            return None
        base = self.base_url.rstrip("/")
        return f"{base}/{tail}" if tail else base
