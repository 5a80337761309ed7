"""Per-node timings, recorded into the state's `timings_ms`."""

from __future__ import annotations

from time import perf_counter


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a perf_counter reading), rounded for humans."""
    return round((perf_counter() - started) * 1000, 2)
