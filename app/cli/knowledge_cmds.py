"""`sidekick ingest`, `sidekick ingest-issues` and `sidekick search`: the knowledge base."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from time import perf_counter

from app.cli import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `ingest`, `ingest-issues` and `search` subcommands."""
    ingest = sub.add_parser(
        "ingest", help="index markdown/MDX docs (files or folders) for retrieval",
        description="Index markdown/MDX files into the knowledge store (local, or the "
        "SIDEKICK_CHROMA_URL server). Unchanged chunks are skipped, changed ones re-embedded, "
        "those of vanished files removed.",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    ingest.add_argument("--base-url", default=None,
                        help="site the pages live on (default https://posthog.com/)")
    ingest.add_argument("--strip-prefix", default=None, metavar="FOLDER",
                        help="path part before the URL path (default contents/; '' = the "
                        "path relative to PATH). A `url:` front-matter key always wins.")
    ingest.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(func=run_ingest)

    issues = sub.add_parser("ingest-issues", help="index GitHub issues from a JSONL file")
    issues.add_argument("file", type=Path, metavar="FILE.jsonl")
    issues.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    issues.set_defaults(func=run_ingest_issues)

    search = sub.add_parser("search", help="search the indexed docs and playbooks")
    search.add_argument("query", nargs="+", metavar="QUERY")
    search.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    search.add_argument("--team", default=None, help="prefer this team's pages")
    search.add_argument("--playbook", default=None, help="prefer this playbook's page")
    search.add_argument("--text", action="store_true", help="print each passage's text")
    search.set_defaults(func=run_search)


def _progress(quiet: bool) -> bool:
    # A bar only for a person watching: never in pipes, logs or tests.
    return not quiet and sys.stderr.isatty()


def run_ingest(args: argparse.Namespace) -> int:
    """Index every PATH and print the four counts."""
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    from app.runtime import open_knowledge
    from app.settings import get_settings
    from knowledge.embeddings import MiniLMEmbedder
    from knowledge.ingest import ingest_path
    from knowledge.urls import UrlRule

    defaults = UrlRule()
    rule = UrlRule(base_url=args.base_url if args.base_url is not None else defaults.base_url,
                   strip_prefix=(args.strip_prefix if args.strip_prefix is not None
                                 else defaults.strip_prefix))
    started = perf_counter()
    store = open_knowledge(get_settings())
    embedder = MiniLMEmbedder()
    total = None
    for path in args.paths:
        report = ingest_path(store, path, embedder, rule=rule, progress=_progress(args.quiet))
        print(f"{path}: {report.files} files; {report.summary()}")
        total = report if total is None else total + report
    if total is not None and len(args.paths) > 1:
        print(f"total: {total.files} files; {total.summary()}")
    print(f"done in {perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def run_ingest_issues(args: argparse.Namespace) -> int:
    """Index the issues of a JSONL file and print the four counts."""
    if not args.file.is_file():
        raise UsageError(f"no such file: {args.file}")
    from app.runtime import open_knowledge
    from app.settings import get_settings
    from knowledge.embeddings import MiniLMEmbedder
    from knowledge.issues import IssueFileError, ingest_issues

    started = perf_counter()
    store = open_knowledge(get_settings())
    try:
        report = ingest_issues(store, args.file, MiniLMEmbedder(),
                               progress=_progress(args.quiet))
    except IssueFileError as exc:
        raise UsageError(str(exc)) from None
    print(f"{args.file}: {report.files} issues; {report.summary()}")
    print(f"done in {perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def run_search(args: argparse.Namespace) -> int:
    """Print the top passages with score, title, heading and URL."""
    if args.k < 1:
        raise UsageError("-k must be at least 1")
    query = " ".join(args.query).strip()
    if not query:
        raise UsageError("the query is empty")
    from app.runtime import open_knowledge
    from app.settings import get_settings
    from knowledge.embeddings import MiniLMEmbedder
    from knowledge.search import HybridRetriever

    settings = get_settings()
    retriever = HybridRetriever(open_knowledge(settings), MiniLMEmbedder())
    retriever.ensure_corpus(settings.corpus_dirs)
    started = perf_counter()
    passages = retriever.search(query, k=args.k, team=args.team, playbook=args.playbook)
    elapsed_ms = (perf_counter() - started) * 1000
    if not passages:
        print("no passages found; index some docs with `sidekick ingest PATH`")
        return 0
    for rank, passage in enumerate(passages, 1):
        print(f"{rank}. [{passage.score:.3f}] {passage.heading or passage.title}")
        print(f"   {passage.url or '(no URL)'}")
        if args.text:
            print(textwrap.indent(textwrap.shorten(passage.text, 400), "   "))
    print(f"{len(passages)} passages in {elapsed_ms:.0f} ms", file=sys.stderr)
    return 0
