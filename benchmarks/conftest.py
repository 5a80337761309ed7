"""Fixtures for the micro-benchmarks: one warm home (corpus ingested, classifier trained).

Run them with `.venv/bin/pytest benchmarks --benchmark-enable`; the default test run
(`testpaths = ["tests"]`, `--benchmark-skip`) never collects this folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.models import Ticket
from app.bench.tickets import bench_tickets


@pytest.fixture(scope="session")
def tickets() -> list[Ticket]:
    """200 distinct tickets from the eval datasets."""
    return [Ticket.model_validate(t) for t in bench_tickets(200, prefix="micro")]


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A TriageService on a warm, offline home in a temporary folder."""
    from app.service import open_service
    from app.settings import Settings

    home = tmp_path_factory.mktemp("bench-home")
    with open_service(Settings(home=home, llm_base_url=None, llm_api_key=None)) as svc:
        yield svc
