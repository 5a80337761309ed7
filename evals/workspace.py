"""SIDEKICK_HOME folders for evals: one base built once, a fresh copy for every run.

A ticket already triaged in a home is returned as it was, so each dataset (and each
cross-validation fold) is triaged in a home of its own. Building a home from nothing costs
about a minute and a half (620 posthog.com chunks to embed, the classifier to train); the
base home pays that once, later homes are file copies of its Chroma store and classifier
(a few MB). `--home DIR` keeps the base between runs: a second run only checks it is
current.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from time import perf_counter
from typing import Any

from app.settings import Settings
from knowledge.embeddings import Embedder

#: ../shared beside the repository (DESIGN.md: data read at run time, never copied in).
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS_SUBDIR = Path("corpus") / "posthog-com"
ISSUES_FILE = Path("data") / "posthog_issues_dev.jsonl"

Notify = Callable[[str], None]


@dataclass(frozen=True)
class SharedData:
    """What the evals read from ../shared: the posthog.com corpus and the GitHub issues."""

    corpus: Path | None
    issues: Path | None

    @classmethod
    def find(cls, shared: Path | None) -> SharedData:
        """Locate the two inputs; either is None when absent."""
        if shared is None or not shared.is_dir():
            return cls(None, None)
        corpus, issues = shared / CORPUS_SUBDIR, shared / ISSUES_FILE
        return cls(corpus if corpus.is_dir() else None, issues if issues.is_file() else None)


@dataclass
class Workspace:
    """A base home plus a scratch folder where fresh homes are copied from it."""

    base: Path
    scratch: Path
    settings: Settings
    embedder: Embedder
    data: SharedData
    timings_s: dict[str, float] = field(default_factory=dict)
    _count: int = 0

    def settings_for(self, home: Path) -> Settings:
        """The run's settings (LLM, teams file, knobs) with another home."""
        # Every run works on its own embedded copy, never on a shared Chroma server.
        copy = self.settings.model_copy(update={"home": Path(home), "chroma_url": None})
        # TRICKY: model_copy also copies cached paths (chroma_dir, ...) of the old home.
        for name, attr in vars(Settings).items():
            if isinstance(attr, cached_property):
                copy.__dict__.pop(name, None)
        return copy

    def build(self, notify: Notify, *, progress: bool = False) -> None:
        """Make the base current: docs and issues ingested, the classifier trained."""
        from agent.classifier import load_or_train
        from agent.teams import load_teams
        from knowledge.ingest import ingest_path
        from knowledge.issues import ingest_issues
        from knowledge.search import open_retriever

        settings = self.settings_for(self.base)
        started = perf_counter()
        retriever = open_retriever(settings.chroma_dir, self.embedder,
                                   corpus_dirs=settings.corpus_dirs)
        if self.data.corpus is not None:
            report = ingest_path(retriever.store, self.data.corpus, self.embedder,
                                 progress=progress)
            if report.changed:
                notify(f"indexed {self.data.corpus}: {report.summary()}")
        if self.data.issues is not None:
            ingest_issues(retriever.store, self.data.issues, self.embedder, progress=False)
        self.timings_s["ingest"] = perf_counter() - started
        started = perf_counter()
        load_or_train(settings.classifier_dir, self.embedder, load_teams(settings.teams_file))
        self.timings_s["classifier"] = perf_counter() - started

    def fresh_home(self, label: str) -> Path:
        """Copy the base's store and classifier into a new, never-used home."""
        self._count += 1
        home = self.scratch / f"{self._count:02d}-{label}"
        for part in ("chroma", "classifier"):
            source = self.base / part
            if source.exists():
                shutil.copytree(source, home / part)
        return home

    def forget_issues(self, home: Path, urls: Iterable[str]) -> int:
        """Remove the given issues from a home's index: a ticket must not link to itself."""
        from knowledge.store import open_store

        wanted = sorted({u for u in urls if u})
        if not wanted:
            return 0
        issues = open_store(self.settings_for(home).chroma_dir).issues
        found = issues.get(where={"url": {"$in": wanted}}, include=[])["ids"]
        if found:
            issues.delete(ids=list(found))
        return len(found)

    def train(self, home: Path, rows: Sequence[Any]) -> tuple[int, int]:
        """Add labeled rows to a home's classifier and retrain it (`sidekick train`'s path)."""
        from agent.classifier import add_and_train
        from agent.teams import load_teams

        settings = self.settings_for(home)
        teams = load_teams(settings.teams_file)
        _classifier, added, skipped = add_and_train(settings.classifier_dir, self.embedder,
                                                    teams, rows)
        return added, skipped

    def vectors(self, texts: Sequence[str]) -> Any:
        """MiniLM vectors of texts, through the base classifier's persistent cache."""
        from agent.classifier.persistence import EMBEDDINGS_FILE, EmbeddingCache

        cache = EmbeddingCache(self.settings_for(self.base).classifier_dir / EMBEDDINGS_FILE,
                               self.embedder)
        return cache.vectors(list(texts))

    def warm_cache(self, rows: Sequence[Any]) -> None:
        """Embed rows' texts into the base classifier's cache: every copied home reuses them.

        Cross-validation retrains once per fold on the other folds' rows; without this each
        fold would embed most of the dataset again.
        """
        from agent.classifier import parse_example

        examples = [parse_example(row) for row in rows]
        self.vectors([e.text for e in examples] + [e.subject_text for e in examples])

    def layered(self, label: str, rows: Sequence[Any]) -> Workspace:
        """A workspace whose base is a copy of this one's, its classifier trained on `rows`."""
        home = self.fresh_home(label)
        self.train(home, rows)
        return Workspace(base=home, scratch=self.scratch, settings=self.settings,
                         embedder=self.embedder, data=self.data, timings_s=self.timings_s,
                         _count=self._count + 100)


def open_workspace(settings: Settings, embedder: Embedder, *, home: Path | None,
                   shared: Path | None) -> tuple[Workspace, Callable[[], None]]:
    """Create the workspace (base under `home`, or a temporary one) and its cleanup."""
    scratch = Path(tempfile.mkdtemp(prefix="sidekick-eval-"))
    base = Path(home) if home is not None else scratch / "base"
    base.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(base=base, scratch=scratch, settings=settings, embedder=embedder,
                          data=SharedData.find(shared))

    def cleanup() -> None:
        shutil.rmtree(scratch, ignore_errors=True)

    return workspace, cleanup
