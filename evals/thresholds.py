"""Quality thresholds as data (`evals/thresholds.toml`) and the gate that applies them.

One table per dataset (the file's stem); a cross-validated run reads the sub-table
`cv<K>` of its dataset instead. A bare number is a floor (`team_accuracy = 0.9`); a table
can give a ceiling for metrics where lower is better (`team_ece = { max = 0.1 }`):

    [triage]
    team_accuracy = 0.90

    [posthog_issues_dev.cv5]
    team_accuracy = 0.80
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"


class ThresholdError(ValueError):
    """The thresholds file is not valid; the message names the dataset and metric."""


@dataclass(frozen=True)
class Bound:
    """A floor (`min`) and/or a ceiling (`max`) for one metric of one dataset."""

    dataset: str
    metric: str
    min: float | None = None
    max: float | None = None

    def passes(self, value: float | None) -> bool:
        """Whether the value is within the bounds (a missing value never passes)."""
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """Print as `≥ 0.90`, `≤ 0.10`, `0.80–0.95` or `≥ 0.875` (never rounded)."""
        if self.min is not None and self.max is not None:
            return f"{_decimals(self.min)}–{_decimals(self.max)}"
        if self.min is not None:
            return f"≥ {_decimals(self.min)}"
        return f"≤ {_decimals(self.max)}" if self.max is not None else "any"


def _decimals(value: float) -> str:
    # Two decimals at least, more when the bound has them: 0.875 must not print as 0.88.
    text = f"{value:.4f}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.partition(".")[2]))


@dataclass(frozen=True)
class Check:
    """A metric compared with its bound."""

    bound: Bound
    value: float | None

    @property
    def passed(self) -> bool:
        """Whether the value is within its bound."""
        return self.bound.passes(self.value)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready row of the table."""
        return {"dataset": self.bound.dataset, "metric": self.bound.metric,
                "value": self.value, "min": self.bound.min, "max": self.bound.max,
                "passed": self.passed}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ThresholdError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _bound(dataset: str, metric: str, value: Any) -> Bound:
    where = f"[{dataset}] {metric}"
    if isinstance(value, dict):
        unknown = set(value) - {"min", "max"}
        if unknown or not value:
            raise ThresholdError(f"{where}: a table takes `min` and/or `max`")
        return Bound(dataset, metric,
                     min=_number(value["min"], where) if "min" in value else None,
                     max=_number(value["max"], where) if "max" in value else None)
    return Bound(dataset, metric, min=_number(value, where))


def parse_thresholds(data: dict[str, Any]) -> dict[str, list[Bound]]:
    """Turn the decoded TOML into bounds per dataset key (`triage`, `posthog_issues_dev@cv5`)."""
    out: dict[str, list[Bound]] = {}
    for dataset, table in data.items():
        if not isinstance(table, dict):
            raise ThresholdError(f"{dataset}: expected a table of metrics")
        plain = out.setdefault(dataset, [])
        for metric, value in table.items():
            is_cv = isinstance(value, dict) and metric.startswith("cv") and metric[2:].isdigit()
            if is_cv:
                key = f"{dataset}@{metric}"
                out[key] = [_bound(key, m, v) for m, v in value.items()]
            else:
                plain.append(_bound(dataset, metric, value))
    return out


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> dict[str, list[Bound]]:
    """Read a thresholds file.

    Raises:
        ThresholdError: the file is missing, not TOML, or has a malformed entry.

    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThresholdError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThresholdError(f"{path}: not valid TOML ({exc})") from None
    return parse_thresholds(data)


def dataset_key(name: str, cv: int | None) -> str:
    """The thresholds key of a run: the dataset's stem, plus `@cv<K>` when cross-validated."""
    return f"{name}@cv{cv}" if cv else name


def apply(bounds: dict[str, list[Bound]], metrics: dict[str, dict[str, Any]]) -> list[Check]:
    """Compare every bound of every evaluated dataset key with its metric value."""
    checks = []
    for key, values in metrics.items():
        for bound in bounds.get(key, []):
            value = values.get(bound.metric)
            checks.append(Check(bound, float(value) if isinstance(value, int | float) else None))
    return checks


def format_table(checks: list[Check]) -> str:
    """The gate's table: dataset, metric, value, threshold, PASS/FAIL."""
    header = ("dataset", "metric", "value", "threshold", "result")
    rows = [(c.bound.dataset, c.bound.metric,
             "missing" if c.value is None else f"{c.value:.4f}", c.bound.describe(),
             "PASS" if c.passed else "FAIL") for c in checks]
    if not rows:
        return "no thresholds apply to the evaluated datasets"
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in lines)
