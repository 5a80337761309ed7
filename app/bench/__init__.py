"""`sidekick bench`: measure triage speed on this machine against the targets of issue #5.

One run measures the floors (one embedding plus one Chroma query; the imports a triage
needs) and, as ratios to them, warm and cold triage, batch throughput, re-ingest and the
API's acknowledgement latency. Each concern lives in its own module:

- `tickets`: distinct tickets generated from the eval datasets (fresh ids);
- `timing`: percentiles, medians and child processes with their peak memory;
- `floor`: the embedding + query floor and the import floor;
- `triage`: warm in-process triage, batch and cold CLI runs;
- `ingest`: cold and unchanged ingest of the docs corpus;
- `api`: `sidekick serve` under a steady load from a second process (`load`), also with
  Slack requests arriving against a slow local Slack (`slack`);
- `report`: targets, PASS/MISS and the table;
- `runner`: the order of the measurements and the JSON object.
"""

from app.bench.runner import BenchOptions, run_bench

__all__ = ["BenchOptions", "run_bench"]
