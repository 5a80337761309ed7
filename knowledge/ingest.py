"""`sidekick ingest`: markdown/MDX files → chunks → embeddings → the Chroma docs collection.

Each ingested folder is a *root* (its absolute path; the project's own playbooks use the
fixed root `sidekick:playbooks` so they survive the repository moving). A chunk's `source`
is its file's path relative to the root. A file whose bytes, URL rule and embedding model
are unchanged (its fingerprint) is not even parsed on the next run; a changed file is
re-chunked and only its changed chunks are embedded again; the chunks of a file that
vanished from an ingested folder are deleted.

Snippets (`_snippets/`, `snippets/`) are skipped: they are fragments included into other
pages, have no URL of their own and must not be cited.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from knowledge.chunking import chunk_markdown
from knowledge.embeddings import Embedder
from knowledge.markdown import parse_page, snippet_files
from knowledge.store import KnowledgeStore
from knowledge.sync import IngestReport, Record, clean_metadata, read_state, sync
from knowledge.urls import MARKDOWN_SUFFIXES, UrlRule, is_snippet

#: The project's own playbook pages, shipped inside the package.
PROJECT_CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
PROJECT_ROOT = "sidekick:playbooks"
#: Playbook pages without a `url:` key get this base + their file name.
PLAYBOOK_BASE_URL = "https://sidekick.dev/playbooks/"
PROJECT_RULE = UrlRule(base_url=PLAYBOOK_BASE_URL, strip_prefix="")
#: Bump when parsing or chunking changes, so that every file is read again.
CHUNKER_VERSION = "2"
_IGNORED_DIRS = frozenset({"node_modules", "__pycache__"})


def find_markdown(path: Path) -> tuple[Path, list[Path]]:
    """Find the root and the markdown files of a path (a file, or a folder, recursively).

    Raises:
        FileNotFoundError: The path does not exist.

    """
    path = Path(path).resolve()
    if path.is_file():
        return path.parent, [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    files = [
        p for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix.lower() in MARKDOWN_SUFFIXES
        and not any(part.startswith(".") or part in _IGNORED_DIRS
                    for part in p.relative_to(path).parts)
    ]
    return path, files


def _fingerprint(data: bytes, rule: UrlRule, model_id: str, root: str) -> str:
    digest = hashlib.sha256(data)
    digest.update(f"\0{rule!r}\0{model_id}\0{root}\0{CHUNKER_VERSION}".encode())
    return digest.hexdigest()[:32]


def _with_snippets(data: bytes, path: Path) -> bytes:
    """Join the file's bytes and its snippets': editing a snippet changes the page too."""
    text = data.decode("utf-8", errors="replace")
    included = sorted(snippet_files(text, path).values())
    return data + b"".join(b"\0" + p.read_bytes() for p in included)


def page_records(path: Path, root: Path, *, root_label: str, rule: UrlRule,
                 model_id: str, text: str | None = None) -> list[Record]:
    """Parse and chunk one file into records ready to index."""
    text = path.read_text(encoding="utf-8", errors="replace") if text is None else text
    page = parse_page(text, path)
    source = path.relative_to(root).as_posix()
    url = rule.url_for(path, root, page.front_matter)
    seen: Counter[str] = Counter()
    records = []
    for chunk in chunk_markdown(page.body, page.title):
        slot = f"{chunk.heading}#{chunk.part}"
        seen[slot] += 1  # two sections with one heading path keep distinct keys
        key = f"{slot}#{seen[slot]}"
        metadata = clean_metadata({
            "root": root_label, "source": source, "key": key,
            "title": page.title, "heading": chunk.heading, "anchor": chunk.anchor or None,
            "url": url, "team": page.front_matter.get("team"),
            "playbook": page.front_matter.get("playbook"), "model": model_id,
            "audience": page.front_matter.get("audience"),
        })
        # The heading path goes into the embedded text: a section often never names its topic.
        records.append(Record(key=key, document=chunk.text,
                              embed_text=f"{chunk.heading}\n\n{chunk.text}", metadata=metadata))
    return records


def ingest_path(store: KnowledgeStore, path: Path, embedder: Embedder, *,
                rule: UrlRule | None = None, progress: bool = False) -> IngestReport:
    """Index one file or folder; a folder's vanished files are removed from the index."""
    path = Path(path).resolve()
    root, files = find_markdown(path)
    is_project = path == PROJECT_CORPUS_DIR
    label = PROJECT_ROOT if is_project else root.as_posix()
    rule = PROJECT_RULE if is_project else (rule or UrlRule())
    collection = store.docs
    state = read_state(collection, label)
    fresh: dict[str, tuple[str, list[Record]]] = {}
    kept: list[str] = []
    for file in files:
        source = file.relative_to(root).as_posix()
        if is_snippet(PurePosixPath(source)):
            continue
        data = file.read_bytes()
        fingerprint = _fingerprint(_with_snippets(data, file), rule, embedder.model_id, label)
        if source in state and state[source].fingerprint == fingerprint:
            kept.append(source)
            continue
        fresh[source] = (fingerprint, page_records(
            file, root, root_label=label, rule=rule, model_id=embedder.model_id,
            text=data.decode("utf-8", errors="replace"),
        ))
    # A single file is its own world: never sweep its siblings out of the index.
    report = sync(collection, embedder, state=state, fresh=fresh, kept=kept,
                  sweep=path.is_dir(), progress=progress)
    report.files = len(fresh) + len(kept)
    return report


def ingest_paths(store: KnowledgeStore, paths: Iterable[Path], embedder: Embedder, *,
                 rule: UrlRule | None = None, progress: bool = False) -> IngestReport:
    """Index several files or folders; the reports are summed."""
    total = IngestReport()
    for path in paths:
        total += ingest_path(store, path, embedder, rule=rule, progress=progress)
    return total


def ensure_project_corpus(store: KnowledgeStore, embedder: Embedder, *,
                          progress: bool = False) -> IngestReport | None:
    """Index `knowledge/corpus` when it is missing or changed; None when already current.

    When current this costs reading ~20 small files and one metadata query: no parsing,
    no embedding.
    """
    report = ingest_path(store, PROJECT_CORPUS_DIR, embedder, progress=progress)
    return report if report.changed else None
