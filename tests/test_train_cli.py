"""`sidekick train FILE.jsonl`: validation, incremental adds, persistence, the CV gate."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from agent.classifier.examples import SHIPPED_EXAMPLES, load_examples
from app.cli import main

OUTPUTS = Path(__file__).parent / "outputs"

# Issue #3's gate: 5-fold CV on the dev issues, trained on shipped examples + other folds.
# Measured: team 0.885-0.897, kind 0.964-0.991 over three fold seeds.
DEV_TEAM_GATE = 0.78
DEV_KIND_GATE = 0.95

ROWS = [
    {"id": "c-1", "source": "zendesk", "subject": "Replays stop after two minutes",
     "body": "Recordings end abruptly although users keep clicking.",
     "expected": {"team": "replay", "kind": "bug"}},
    {"id": "c-2", "source": "github", "subject": "Add a Braze destination",
     "body": "## Is your feature request related to a problem?\nWe use Braze for messaging.",
     "expected": {"team": "pipeline", "kind": "feature_request"}},
    {"id": "c-3", "source": "email", "body": "Please move our invoices to the new card.",
     "expected": {"team": "growth", "kind": "account_request"}},
    {"id": "c-4", "subject": "Typo on the careers page", "expected": {"team": "marketing"}},
    {"id": "c-5", "subject": "No labels on this one", "expected": {}},
]


@pytest.fixture
def seeded_home(home: Path, trained_dir: Path) -> Path:
    """SIDEKICK_HOME holding an already-trained classifier, so tests skip the first training."""
    shutil.copytree(trained_dir, home / "classifier")
    return home


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_train_adds_rows_then_adds_nothing(seeded_home, tmp_path, capsys):
    path = _write(tmp_path / "past.jsonl", ROWS)
    assert main(["train", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5 rows, 4 added, 1 skipped" in out
    assert "marketing (1)" in out
    shipped = Counter(e.team for e in load_examples(SHIPPED_EXAMPLES, origin="shipped"))
    for team in ("replay", "pipeline", "growth"):  # one new row each
        assert f"{team} {shipped[team] + 1}" in out, team
    assert "team accuracy" in out and "ECE" in out
    stored = (seeded_home / "classifier" / "examples.jsonl").read_text(encoding="utf-8")
    assert '"c-1"' in stored and '"c-4"' in stored

    assert main(["train", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] == 0 and summary["skipped"] == 5
    assert summary["unknown_team"] == {"marketing": 1}
    assert summary["report"]["skipped_unknown_team"] == 1


@pytest.mark.parametrize(("line", "field"), [
    ('{"id": "x", "subject": "s", "expected": {"kind": "rant"}}', "expected.kind"),
    ('{"id": "x", "subject": "s"}', "expected"),
    ('{"subject": "s", "expected": {"team": "replay"}}', "id"),
    ('{"id": "x", "subject": "s", "priority": "p1", "expected": {}}', "priority"),
    ('{"id": "x", "subject": "s", "expected": {"team": "replay"}', "row"),
])
def test_bad_row_exits_2_naming_line_and_field(home, tmp_path, capsys, line, field):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n", encoding="utf-8")
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and f"`{field}`" in err, err
    assert not (home / "classifier").exists(), "nothing is trained when a row is bad"


def test_missing_file_exits_2(home, tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.shared
@pytest.mark.slow
def test_dev_issues_gate_then_train(seeded_home, shared_dir, capsys):
    dev = shared_dir / "data" / "posthog_issues_dev.jsonl"
    assert main(["train", str(dev), "--evaluate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["evaluation"]
    OUTPUTS.mkdir(exist_ok=True)
    (OUTPUTS / "classifier_dev_cv.json").write_text(json.dumps(report, indent=2) + "\n")
    assert report["n_team"] == 87 and report["n_kind"] == 110
    assert report["team_accuracy"] >= DEV_TEAM_GATE, report["team_errors"]
    assert report["kind_accuracy"] >= DEV_KIND_GATE, report
    examples = seeded_home / "classifier" / "examples.jsonl"
    assert "gh-posthog" not in examples.read_text(), "--evaluate must not add examples"

    assert main(["train", str(dev), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["added"] == 119 and first["skipped"] == 1  # one row has no label at all
    assert first["report"]["team"]["accuracy"] >= DEV_TEAM_GATE
    assert main(["train", str(dev), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 0
