"""Store and API fixtures: every store test runs on SQLite and on the local PostgreSQL.

PostgreSQL: one `sidekick_test_<random>` database per test session (dropped at the end),
emptied before each test, so parallel runs never collide. It is skipped when no server
answers, unless SIDEKICK_TEST_REQUIRE_POSTGRES=1 (what `.ci/run` sets), then it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ADMIN_URL = os.environ.get("SIDEKICK_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "test-token-not-a-secret"
WEBHOOK_SECRET = "zendesk-webhook-test-secret"
STORE_TABLES = ("classifier_versions", "leases", "workers", "messages", "slack_events",
                "deliveries", "decisions", "triage_results", "tickets")
CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")


def _admin_connect():
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, as a SQLAlchemy URL."""
    try:
        admin = _admin_connect()
    except Exception as exc:  # noqa: BLE001 - any connection failure means no server
        if os.environ.get("SIDEKICK_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {ADMIN_URL} is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {ADMIN_URL} is unreachable: {exc}")
    name = f"sidekick_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with _admin_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        present = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        tables = [t for t in STORE_TABLES + CHECKPOINT_TABLES if t in present]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("pg_database")
    _empty(url)
    return url


@pytest.fixture
def store_engine(db_url: str):
    """A migrated engine on the store."""
    from app.store.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def warm_context(tmp_path_factory: pytest.TempPathFactory):
    """One graph context (classifier trained, corpus ingested) shared by every API test."""
    from app.runtime import build_context
    from app.settings import Settings

    home = tmp_path_factory.mktemp("warm") / "home"
    settings = Settings(home=home, llm_base_url=None, llm_api_key=None)
    context = build_context(settings)
    context.home = home  # type: ignore[attr-defined]  # for tests that copy the warm home
    return context


@pytest.fixture
def api_settings(db_url: str, tmp_path: Path):
    """Settings for a test server: its own home and store, one token, a webhook secret."""
    from app.settings import Settings

    return Settings(
        env="test", home=tmp_path / "home", database_url=db_url, api_tokens=TOKEN,
        zendesk_webhook_secret=WEBHOOK_SECRET, worker_poll_s=0.05,
        llm_base_url=None, llm_api_key=None,
    )


@pytest.fixture
def api(api_settings, warm_context):
    """A TestClient on the app with the worker stopped (tests drain it when they want)."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app

    app = create_app(api_settings, context=warm_context, start_worker=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def runtime_of(client):
    """The app's runtime (desk, worker, outbox) behind a TestClient."""
    return client.app.state.runtime
