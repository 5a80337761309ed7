"""`sidekick bench --quick --json` runs end to end and prints every key issue #5 names.

Only the shape is checked: numbers on a shared machine are not a test's business.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRED = (
    "warm_triage_p50_ms", "warm_triage_p95_ms", "floor_ms", "warm_triage_ratio",
    "batch_tickets_per_s", "peak_rss_mb", "cold_triage_s", "import_floor_s",
    "cold_triage_ratio", "ingest_cold_s", "ingest_unchanged_s", "reingest_ratio",
)
#: Null when the API (`sidekick serve`) is not available in this checkout.
API_KEYS = ("api_ack_p50_ms", "api_ack_p99_ms", "api_requests", "api_lost")


@pytest.mark.slow
def test_bench_quick_json_has_every_key_as_a_number(home: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--quick", "--json", "--tickets", "20",
         "--home", str(tmp_path / "bench-home")],
        capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for key in REQUIRED:
        value = result.get(key)
        assert isinstance(value, int | float) and math.isfinite(value), f"{key}: {value!r}"
    for key in API_KEYS:
        assert key in result, key
        assert result[key] is None or isinstance(result[key], int | float), key
    assert set(result["targets"].values()) <= {"PASS", "MISS", "n/a"}


def test_bench_refuses_a_nonpositive_ticket_count(capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    assert main(["bench", "--tickets", "0"]) == 2
    assert "--tickets" in capsys.readouterr().err


@pytest.mark.parametrize("counts", ["0,2", "one,two", ","])
def test_bench_refuses_worker_counts_that_are_not_positive_numbers(
        counts: str, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    assert main(["bench", "--workers", counts]) == 2
    assert "--workers" in capsys.readouterr().err
