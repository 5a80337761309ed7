"""Thresholds as data: the loader, the gate's comparisons and table, the shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.thresholds import (
    DEFAULT_THRESHOLDS,
    Bound,
    ThresholdError,
    apply,
    dataset_key,
    format_table,
    load_thresholds,
)

#: The issue's targets for the offline engine: a CI threshold may sit above, never below.
TARGETS = {
    "triage": {"team_accuracy": 0.90, "kind_accuracy": 0.90, "priority_accuracy": 0.97,
               "playbook_accuracy": 0.95},
    "retrieval": {"retrieval_hit_at_5": 0.85},
    "drafts": {"draft_checks_pass_rate": 0.95},
    "posthog_issues_dev@cv5": {"team_accuracy": 0.78, "kind_accuracy": 0.95},
    "conversations": {"conversation_pass_rate": 0.90},
    "conversations_holdout": {"conversation_pass_rate": 0.90},
    "intake_shapes": {"priority_accuracy": 0.97, "playbook_accuracy": 0.95},
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_floors_ceilings_and_cv_tables(tmp_path: Path) -> None:
    bounds = load_thresholds(write(tmp_path, """
[triage]
team_accuracy = 0.9
team_ece = { max = 0.1 }

[dev]
kind_accuracy = 0.5

[dev.cv5]
team_accuracy = 0.8
"""))
    assert bounds["triage"] == [Bound("triage", "team_accuracy", min=0.9),
                                Bound("triage", "team_ece", max=0.1)]
    assert bounds["dev"] == [Bound("dev", "kind_accuracy", min=0.5)]
    assert bounds["dev@cv5"] == [Bound("dev@cv5", "team_accuracy", min=0.8)]
    assert dataset_key("dev", 5) == "dev@cv5" and dataset_key("dev", None) == "dev"


@pytest.mark.parametrize(("text", "message"), [
    ("[triage]\nteam_accuracy = 'high'", "[triage] team_accuracy: expected a number"),
    ("[triage]\nteam_accuracy = { above = 1 }", "a table takes `min` and/or `max`"),
    ("team_accuracy = 0.9", "team_accuracy: expected a table"),
    ("[triage\n", "not valid TOML"),
])
def test_malformed_files_name_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ThresholdError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_thresholds(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ThresholdError, match="no such file"):
        load_thresholds(tmp_path / "nope.toml")


def test_apply_and_the_table() -> None:
    bounds = {"triage": [Bound("triage", "team_accuracy", min=0.9),
                         Bound("triage", "team_ece", max=0.1),
                         Bound("triage", "kind_accuracy", min=0.9)],
              "drafts": [Bound("drafts", "draft_checks_pass_rate", min=0.95)]}
    checks = apply(bounds, {"triage": {"team_accuracy": 0.95, "team_ece": 0.2}})
    assert [(c.bound.metric, c.passed) for c in checks] == [
        ("team_accuracy", True), ("team_ece", False), ("kind_accuracy", False)]
    assert checks[2].value is None  # a metric the report lacks fails: never a silent pass
    table = format_table(checks)
    lines = table.splitlines()
    assert lines[0].split() == ["dataset", "metric", "value", "threshold", "result"]
    assert "team_accuracy" in lines[2] and "0.9500" in lines[2] and lines[2].endswith("PASS")
    assert "≤ 0.10" in lines[3] and lines[3].rstrip().endswith("FAIL")
    assert "missing" in lines[4]
    assert checks[0].as_dict() == {"dataset": "triage", "metric": "team_accuracy",
                                   "value": 0.95, "min": 0.9, "max": None, "passed": True}


def test_the_shipped_thresholds_never_sit_below_the_targets() -> None:
    bounds = load_thresholds(DEFAULT_THRESHOLDS)
    for key, targets in TARGETS.items():
        floors = {b.metric: b.min for b in bounds[key]}
        for metric, target in targets.items():
            assert floors.get(metric) is not None, f"{key}.{metric} has no threshold"
            assert floors[metric] >= target, f"{key}.{metric}: {floors[metric]} < {target}"


def test_bounds_print_as_written() -> None:
    # A floor of 0.875 printed as 0.88 would make a value of 0.8775 look like a failure.
    assert Bound("holdout", "kind_accuracy", min=0.875).describe() == "≥ 0.875"
    assert Bound("triage", "team_ece", max=0.08).describe() == "≤ 0.08"
    assert Bound("x", "y", min=0.8, max=0.95).describe() == "0.80–0.95"
