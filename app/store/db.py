"""Engines, sessions and migrations: SQLite under SIDEKICK_HOME or PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

#: Shipped inside the package (package data), so a non-editable install migrates too.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL: `SIDEKICK_DATABASE_URL`, or a SQLite file under the home."""
    url = settings.database_url
    if not url:
        return f"sqlite:///{settings.home / 'sidekick.db'}"
    # Plain libpq URLs name the driver we ship (psycopg 3), not psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_postgres(url: str) -> bool:
    """Whether the URL is a PostgreSQL one."""
    return url.startswith("postgresql")


def libpq_url(url: str) -> str:
    """The same database as a libpq connection string (for psycopg and PostgresSaver)."""
    return "postgresql://" + url.split("://", 1)[1]


def make_engine(url: str) -> Engine:
    """An engine; SQLite files get WAL and a busy timeout so threads wait instead of failing."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a killed process loses no committed row (only a power cut could),
            # and an accepted ticket costs no fsync (docs/performance.md: API ack p99).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Any:
    """Alembic's configuration, built in code: no alembic.ini is needed at run time."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


#: The newest migration in app/store/migrations/versions (a test keeps the two in step).
HEAD_REVISION = "0006_classifier_versions"


def at_head(engine: Engine) -> bool:
    """Whether the schema is already at HEAD_REVISION (a plain query; no Alembic import)."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        versions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    return versions == {HEAD_REVISION}


def migrate(engine: Engine) -> None:
    """Bring the schema to Alembic's head (what `sidekick serve` does on start)."""
    # Importing Alembic and reading its scripts costs ~0.3 s: most runs find nothing to do.
    if at_head(engine):
        return
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Several processes (workers, API replicas) start at once: one migrates while
            # the others wait in this transaction, then find the schema at head.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('sidekick:migrate'))")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
