"""The classifier's trained version lives in the store: train on one host, route on another.

Each "process" is its own SIDEKICK_HOME on the same database (SQLite file or PostgreSQL):
what one trains, another with no classifier file of its own loads at start, and one already
running swaps in at its next check.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.classifier import persistence
from agent.classifier.fitting import prototypes
from agent.teams import load_teams
from app.cli import main
from app.settings import Settings
from app.shared_classifier import open_classifier

PROBE = "Zorblatt export keeps failing"


@pytest.fixture(scope="module")
def embedded_dir(trained_dir, embedder, tmp_path_factory) -> Path:
    """The trained classifier with its examples' vectors cached: a retrain only fits."""
    directory = tmp_path_factory.mktemp("embedded") / "classifier"
    shutil.copytree(trained_dir, directory)
    rows = persistence.read_examples(directory) + prototypes(load_teams())
    cache = persistence.EmbeddingCache(directory / persistence.EMBEDDINGS_FILE, embedder)
    cache.vectors([e.text for e in rows] + [e.subject_text for e in rows])
    return directory


def _route(classifier, embedder, text: str) -> str:
    return classifier.predict(embedder.embed([text])[0], text=text)["team"]


def _settings(home: Path, db_url: str) -> Settings:
    return Settings(home=home, database_url=db_url, classifier_refresh_s=0,
                    llm_base_url=None, llm_api_key=None)


def test_a_version_trained_on_one_home_routes_on_another(db_url, home, tmp_path, monkeypatch,
                                                          embedded_dir, embedder, capsys):
    teams = load_teams()
    shutil.copytree(embedded_dir, home / "classifier")
    # Process B runs before anything is trained: it stores the version it started with.
    running = open_classifier(_settings(tmp_path / "b", db_url), embedder, teams)
    first = running.version
    before = _route(running, embedder, PROBE)
    target = next(slug for slug in teams.slugs if slug != before)

    # Process A (its own home, the same database) trains on past tickets naming `target`.
    rows = [{"id": f"z-{i}", "subject": f"Zorblatt {what}",
             "body": f"The zorblatt {what} since this morning.", "expected": {"team": target}}
            for i, what in enumerate(["export fails", "export is slow", "sync is broken",
                                      "page is blank", "import errors", "keeps failing"])]
    path = tmp_path / "past.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv("SIDEKICK_DATABASE_URL", db_url)
    assert main(["train", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] == 6 and summary["stored"]
    trained = summary["version"]
    assert trained != first

    # B swaps A's version in at its next check; C, a new home with no classifier file,
    # starts on it without training.
    assert _route(running, embedder, PROBE) == target
    assert running.version == trained
    fresh_home = tmp_path / "c"
    started = open_classifier(_settings(fresh_home, db_url), embedder, teams)
    assert started.version == trained
    assert _route(started, embedder, PROBE) == target
    cached = json.loads((fresh_home / "classifier" / "meta.json").read_text(encoding="utf-8"))
    assert cached["token"] == trained


def test_two_trainings_at_once_store_one_whole_version_each(store_engine, trained_dir,
                                                          tmp_path):
    import dataclasses
    import io
    import threading

    from agent.classifier.model import load_model, save_model
    from app.store import classifier_versions

    homes = []
    for name in ("a", "b"):  # two trained states with their own token
        directory = tmp_path / name
        shutil.copytree(trained_dir, directory)
        model = dataclasses.replace(load_model(directory / persistence.MODEL_FILE),
                                    token=f"token-{name}")
        save_model(model, directory / persistence.MODEL_FILE)
        meta = persistence.read_meta(directory) or {}
        persistence.write_meta(directory, {**meta, "token": f"token-{name}"})
        homes.append(directory)
    start = threading.Barrier(2)
    ids: list[int | None] = []

    def train(directory: Path) -> None:
        start.wait()
        ids.append(classifier_versions.publish(store_engine, directory))

    threads = [threading.Thread(target=train, args=(h,)) for h in homes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.store.models import ClassifierVersionRow

    with Session(store_engine) as session:
        rows = list(session.scalars(select(ClassifierVersionRow).order_by(ClassifierVersionRow.id)))
    assert sorted(ids) == [r.id for r in rows]
    assert {r.version for r in rows} == {"token-a", "token-b"}
    for row in rows:  # each version's weights are its own training's, never the other's
        assert load_model(io.BytesIO(row.data)).token == row.meta["token"] == row.version
    newest = classifier_versions.newest(store_engine)
    assert newest is not None and newest.id == rows[-1].id


def test_the_default_sqlite_file_shares_the_version_once_serve_made_it(tmp_path, trained_dir,
                                                                       embedder):
    from app.shared_classifier import SharedClassifier
    from app.store import classifier_versions
    from app.store.db import database_url, make_engine, migrate

    home = tmp_path / "home"
    shutil.copytree(trained_dir, home / "classifier")
    settings = Settings(home=home, llm_base_url=None, llm_api_key=None)
    # A bare home (`sidekick triage`): the files only, no database made for it.
    plain = open_classifier(settings, embedder, load_teams())
    assert not isinstance(plain, SharedClassifier)
    assert not (home / "sidekick.db").exists()

    engine = make_engine(database_url(settings))  # what `sidekick serve` does first
    migrate(engine)
    shared = open_classifier(settings, embedder, load_teams())
    assert isinstance(shared, SharedClassifier)
    stored = classifier_versions.newest(engine)
    assert stored is not None and stored.version == shared.version == plain.version
    engine.dispose()
