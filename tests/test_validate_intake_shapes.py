"""evals/intake_shapes.py: a row must have the shape it claims; its hand label stands."""

from __future__ import annotations

import json
from pathlib import Path

from agent.models import Ticket
from evals import intake_shapes
from evals.validate_datasets import Report, rule_priority

ROWS = Path(__file__).resolve().parents[1] / "evals" / "datasets" / "intake_shapes.jsonl"
TEAMS = {"replay", "pipeline", "growth"}


def _check(row: dict) -> Report:
    report = Report()
    row = {**row, "_where": f"row ({row['id']})"}
    ticket = Ticket.model_validate(row)
    intake_shapes.check_row(row, ticket, TEAMS, report, rule_priority(ticket))
    return report


def _thread(**changes) -> dict:
    row = {"id": "int-9001", "source": "slack", "subject": "Replays are blank",
           "requester": {"name": "Ada"}, "tags": ["slack", "channel:C1"],
           "expected": {"team": "replay", "priority": "high", "playbook": None},
           "notes": {"shape": "slack_thread", "why": "a 🎫 thread"}}
    return {**row, **changes}


def test_a_row_that_lacks_its_shapes_facts_is_an_error():
    assert _check(_thread()).errors == []
    wrong = _check(_thread(tags=[], requester={"name": "Ada", "email": "ada@example.com"}))
    assert any("channel:" in e for e in wrong.errors)
    assert any("e-mail" in e for e in wrong.errors)
    assert any("notes.shape" in e for e in _check(_thread(notes={"why": "x"})).errors)


def test_a_hand_label_that_differs_from_the_rules_is_only_a_warning():
    report = _check(_thread(organization={"plan": "paid"}))  # the rules: normal
    assert report.errors == [] and any("'high'" in w for w in report.warnings)


def test_the_shipped_rows_cover_every_shape():
    rows = [json.loads(line) for line in ROWS.read_text().splitlines() if line.strip()]
    report = Report()
    intake_shapes.check_coverage([{**r, "_where": r["id"]} for r in rows], report)
    assert report.errors == []
    assert {r["notes"]["shape"] for r in rows} == set(intake_shapes.SHAPES)
