"""`sidekick eval` as a command: input validation, and a small run end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main


def rows(n: int, team: str = "replay") -> list[dict[str, Any]]:
    subjects = ["Recordings are blank after the SDK upgrade",
                "Replay player skips the first minute of every session",
                "Funnel conversion drops to zero after we renamed an event",
                "Trends insight shows duplicated series since this morning",
                "Please remove 2FA from my account, I lost my phone",
                "How do I invite a teammate to our organization?"]
    teams = ["replay", "replay", "product-analytics", "product-analytics", "growth", "growth"]
    kinds = ["bug", "bug", "bug", "bug", "account_request", "question"]
    return [{"id": f"cli-{i}", "source": "email", "subject": subjects[i % 6],
             "requester": {"name": "Ada Lovelace"}, "organization": {"plan": "paid"},
             "expected": {"team": teams[i % 6], "kind": kinds[i % 6], "priority": "normal"}}
            for i in range(n)]


def write_rows(path: Path, data: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "nope.jsonl"], "nope.jsonl: no such file"),
    (["--cv", "1"], "--cv must be between 2 and"),
    (["--train", "nope.jsonl"], "--train nope.jsonl: no such file"),
    (["--thresholds", "nope.toml"], "nope.toml: no such file"),
])
def test_bad_arguments_are_refused_before_any_work(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert main(["eval", *args]) == 2
    assert message in capsys.readouterr().err
    assert not home.exists()  # nothing was built


def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            home: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows(1)[0]) + "\n" + json.dumps({"id": "x"}) + "\n")
    assert main(["eval", "--dataset", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and "subject" in err


def test_train_rows_also_evaluated_are_left_out(tmp_path: Path) -> None:
    from evals.dataset import load_dataset
    from evals.suite import _overlap_free

    dataset = load_dataset(write_rows(tmp_path / "d.jsonl", rows(3)))
    same_id = {**rows(1)[0], "subject": "something else entirely"}
    same_text = {**rows(2)[1], "id": "past-2"}
    fresh = {**rows(1)[0], "id": "past-3", "subject": "Session replays show a white screen"}
    kept, dropped = _overlap_free([same_id, same_text, fresh], [dataset])
    assert kept == [fresh] and dropped == 2


def test_folds_are_stratified_by_team_and_seeded(tmp_path: Path) -> None:
    from collections import Counter

    from evals.dataset import assign_folds, load_dataset

    dataset = load_dataset(write_rows(tmp_path / "d.jsonl", rows(30)))
    folds = assign_folds(dataset.rows, 5, seed=0)
    assert folds == assign_folds(dataset.rows, 5, seed=0)
    assert folds != assign_folds(dataset.rows, 5, seed=1)
    assert Counter(folds) == {f: 6 for f in range(5)}
    for fold in range(5):  # 10 rows per team -> 2 of each team in every fold
        teams = Counter(r.expected["team"] for r, f in zip(dataset.rows, folds, strict=True)
                        if f == fold)
        assert set(teams.values()) == {2}, teams
