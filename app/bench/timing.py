"""Small measuring helpers: percentiles, a stopwatch, and child processes with peak RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values."""
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of fn takes (monotonic clock)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass(frozen=True)
class ChildRun:
    """One finished child process: wall time, peak resident memory and exit code."""

    wall_s: float
    peak_rss_mb: float
    returncode: int


def run_child(args: Sequence[str], *, env: Mapping[str, str] | None = None,
              stdout: IO[bytes] | int = subprocess.DEVNULL, timeout_s: float = 900) -> ChildRun:
    """Run a child to completion and read its own rusage (not that of earlier children).

    Raises:
        subprocess.TimeoutExpired: The child ran longer than timeout_s (it is killed).

    """
    # stderr goes to a file, not a pipe: a chatty child must not block on a full pipe.
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(args), env=dict(env) if env else None, stdout=stdout,
                                stderr=err)
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                raise subprocess.TimeoutExpired(list(args), timeout_s)
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} … exited {proc.returncode}: {stderr[-2000:]}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return ChildRun(wall_s=wall, peak_rss_mb=usage.ru_maxrss / scale,
                    returncode=proc.returncode)


def child_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for a child: offline (no LLM keys), optionally a home."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SIDEKICK_LLM_BASE_URL", "SIDEKICK_LLM_API_KEY", "OPENAI_API_KEY")}
    if home is not None:
        env["SIDEKICK_HOME"] = str(home)
    env.update(extra)
    return env


def sidekick_cmd(*args: str) -> list[str]:
    """The command line that runs `sidekick ARGS` with this interpreter."""
    return [sys.executable, "-m", "app.cli", *args]
