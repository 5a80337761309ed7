"""The conversations.jsonl validator: malformed rows are errors, the shipped file passes."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.models import Ticket
from evals import conversation_rows, validate_datasets
from evals.validate_datasets import Report

ROOT = Path(__file__).resolve().parent.parent
TEAMS = validate_datasets.team_slugs()

GOOD = {
    "id": "con-9001",
    "source": "zendesk",
    "subject": "Blank replays on the checkout page",
    "body": "Every recording of our checkout page plays as an empty white frame.",
    "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "organization": {"name": "Acme", "plan": "paid"},
    "priority": "normal",
    "tags": [],
    "created_at": "2026-11-02T09:00:00Z",
    "turns": [
        {"author": "sidekick", "decision": "approve"},
        {
            "author": "customer",
            "body": "posthog-js 1.200.0, Firefox 132, it starts after the cart modal opens.",
            "created_at": "2026-11-02T10:05:00Z",
        },
    ],
    "expected": {
        "team": "replay",
        "playbook": None,
        "stage": "details_received",
        "status_after": "solved",
        "language": "en",
        "must_contain": ["Ada"],
        "must_not_contain": ["which version"],
        "note_must_contain": [],
    },
    "notes": {"traits": ["bug_repro"], "why": "details arrive"},
}


def errors_of(row: dict) -> list[str]:
    """Run the conversation checks on one row and return the errors."""
    row = copy.deepcopy(row)
    row["_where"] = "conversations.jsonl:1 (con-9001)"
    report = Report()
    ticket = Ticket.model_validate({k: v for k, v in row.items() if not k.startswith("_")})
    conversation_rows.check_conversation(row, ticket, TEAMS, report)
    return report.errors


def changed(**edits: object) -> dict:
    """A copy of the good row with edits; `expected__stage="x"` sets expected.stage."""
    row = copy.deepcopy(GOOD)
    for path, value in edits.items():
        *parents, leaf = path.split("__")
        target = row
        for key in parents:
            target = target[key]
        target[leaf] = value
    return row


def test_the_good_row_has_no_errors():
    assert errors_of(GOOD) == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            changed(turns=[{"author": "sidekick", "decision": "approve", "body": "hi"}]),
            "unknown key 'body' in a sidekick turn",
        ),
        (
            changed(turns=[{"author": "hero", "decision": "edit"}, GOOD["turns"][1]]),
            "a hero turn needs 'body'",
        ),
        (
            changed(
                turns=[{"author": "hero", "decision": "approve", "body": "x"}, GOOD["turns"][1]]
            ),
            "a hero turn's decision must be 'edit'",
        ),
        (
            changed(turns=[{"author": "bot", "body": "x"}, GOOD["turns"][1]]),
            "turn author 'bot'",
        ),
        (
            changed(
                turns=[GOOD["turns"][0], {"author": "customer", "body": "  ", "created_at": "x"}]
            ),
            "a customer turn needs a non-empty body",
        ),
        (
            changed(
                turns=[GOOD["turns"][0], {"author": "customer", "body": "ok", "created_at": "x"}]
            ),
            "created_at 'x' is not an ISO 8601 time",
        ),
        (changed(turns=[GOOD["turns"][1], GOOD["turns"][0]]), "the last turn must be a customer"),
        (changed(turns=[GOOD["turns"][0], GOOD["turns"][0], GOOD["turns"][1]]), "two decisions"),
        (changed(turns=[]), "`turns` must be a non-empty list"),
        (changed(expected__stage="fixed_it"), "expected.stage 'fixed_it' not in"),
        (changed(expected__status_after="pending"), "status_after 'pending' for details_received"),
        (changed(expected__stage="owner_confirmed"), "belongs to playbook two_factor_removal"),
        (changed(expected__team="support"), "unknown team 'support'"),
        (changed(expected__language="xx"), "expected.language 'xx' not allowed"),
        (changed(expected__score=1), "unknown expected key 'score'"),
        (changed(expected__must_contain=["Grace"]), "lacks the first name 'Ada'"),
        (changed(expected__must_not_contain=[]), "details_received: must_not_contain"),
        (changed(expected__must_contain=["Ada", "which version"]), "both required and forbidden"),
        (changed(notes__traits=["bug_repro", "typo"]), "unknown trait 'typo'"),
        (changed(notes__traits=["hero_edit"]), "lists 'hero_edit' but the turns do not show it"),
        (changed(requester={"name": "Ada", "email": "ada@gmail.com"}), "@example.com/.org/.net"),
    ],
)
def test_a_malformed_row_is_an_error(row, message):
    errors = errors_of(row)
    assert any(message in e for e in errors), errors


def test_two_customer_messages_in_a_row_must_be_listed_as_a_waiting_draft():
    second = {"author": "customer", "body": "Also on Safari.", "created_at": "2026-11-02T10:09:00Z"}
    row = changed(turns=[*GOOD["turns"], second])
    assert any("'draft_waits'" in e for e in errors_of(row))
    row["notes"]["traits"].append("draft_waits")
    assert errors_of(row) == []


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, 2 Nov 2026 at 10:00, PostHog Support <support@posthog.com> wrote:",
        "Am Mo., 2. Nov. 2026 um 10:00 Uhr schrieb PostHog Support <support@posthog.com>:",
        "Le lun. 2 nov. 2026 à 10:00, PostHog Support <support@posthog.com> a écrit :",
        "El lun, 2 nov 2026 a las 10:00, PostHog Support <support@posthog.com> escribió:",
        "Em seg., 2 de nov. de 2026 às 10:00, PostHog Support <support@posthog.com> escreveu:",
        "Op ma 2 nov 2026 om 10:00 schreef PostHog Support <support@posthog.com>:",
        "Il giorno lun 2 nov 2026 alle ore 10:00 PostHog Support <support@posthog.com> ha scritto:",
    ],
)
def test_quoted_history_is_not_the_customers_new_text(header):
    body = f"Yes, I confirm.\n\n{header}\n> Could you confirm the request?"
    assert conversation_rows.new_text(body) == "Yes, I confirm."
    assert conversation_rows.has_quote(body)


def test_the_shipped_file_validates():
    done = subprocess.run(
        [sys.executable, "evals/validate_datasets.py", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 error(s)" in done.stdout
    rows = (ROOT / "evals" / "datasets" / "conversations.jsonl").read_text().splitlines()
    assert len(rows) >= 40


def test_a_bad_row_in_the_file_fails_the_whole_run(tmp_path, monkeypatch, capsys):
    for path in (ROOT / "evals" / "datasets").glob("*.jsonl"):
        shutil.copy(path, tmp_path / path.name)
    example = json.loads((ROOT / "agent" / "data" / "examples.jsonl").read_text().splitlines()[0])
    copied = changed(id="con-9002")
    copied["turns"][1]["body"] = example["body"]
    no_text = changed(id="con-9003", subject="", body="")
    with (tmp_path / "conversations.jsonl").open("a", encoding="utf-8") as fh:
        for row in (copied, no_text, changed(id="con-0001")):
            fh.write(json.dumps(row) + "\n")
    monkeypatch.setattr(validate_datasets, "DATASETS", tmp_path)

    assert validate_datasets.main(["--quiet"]) == 1
    out = capsys.readouterr().out
    assert "(con-9002): body identical to examples.jsonl" in out or (
        "(con-9002): body near-duplicate of examples.jsonl" in out
    )
    assert "(con-9003): not a valid Ticket" in out
    assert "(con-0001): duplicate id" in out


def test_the_held_out_file_is_checked_like_conversations(tmp_path, monkeypatch, capsys):
    for path in (ROOT / "evals" / "datasets").glob("*.jsonl"):
        shutil.copy(path, tmp_path / path.name)
    held_out = (tmp_path / "conversations_holdout.jsonl").read_text().splitlines()
    assert len(held_out) == 30
    assert all(json.loads(line)["id"].startswith("coh-") for line in held_out)
    no_totp = changed(id="coh-9001", expected__stage="owner_confirmed")
    no_totp["expected"]["playbook"] = "two_factor_removal"
    no_totp["expected"]["team"] = "growth"
    # Drop the resolved rows: the held-out set's own floors must catch the missing stage.
    kept = [line for line in held_out if json.loads(line)["expected"]["stage"] != "resolved"]
    (tmp_path / "conversations_holdout.jsonl").write_text(
        "\n".join([*kept, json.dumps(no_totp)]) + "\n", encoding="utf-8"
    )
    monkeypatch.setattr(validate_datasets, "DATASETS", tmp_path)

    assert validate_datasets.main(["--quiet"]) == 1
    out = capsys.readouterr().out
    assert "(coh-9001): owner_confirmed: the note must name the TOTP device step" in out
    assert "conversations_holdout: only 0 resolved (need 5)" in out
    assert "ERROR: conversations: " not in out


def test_the_blind_file_is_checked_with_its_own_floors(tmp_path, monkeypatch, capsys):
    for path in (ROOT / "evals" / "datasets").glob("*.jsonl"):
        shutil.copy(path, tmp_path / path.name)
    blind = (tmp_path / "conversations_blind.jsonl").read_text().splitlines()
    assert len(blind) == 40
    assert all(json.loads(line)["id"].startswith("cob-") for line in blind)
    # A con- id in the blind file is refused: each file keeps its own prefix.
    wrong_prefix = changed(id="con-9001")
    # Six "still broken" rows are its floor: keep five.
    broken = [n for n, line in enumerate(blind) if json.loads(line)["expected"]["stage"]
              == "still_broken"]
    kept = [line for n, line in enumerate(blind) if n != broken[0]]
    (tmp_path / "conversations_blind.jsonl").write_text(
        "\n".join([*kept, json.dumps(wrong_prefix)]) + "\n", encoding="utf-8"
    )
    monkeypatch.setattr(validate_datasets, "DATASETS", tmp_path)

    assert validate_datasets.main(["--quiet"]) == 1
    out = capsys.readouterr().out
    assert "(con-9001): id must look like cob-0001" in out
    assert "conversations_blind: only 5 still_broken (need 6)" in out
    assert "ERROR: conversations_holdout: " not in out
