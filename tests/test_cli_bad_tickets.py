"""Malformed tickets are refused with exit code 2 and a message that names the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _triage(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, str]:
    code = main(["triage", *paths])
    return code, capsys.readouterr().err


CASES = {
    "missing id": (b'{"subject": "flags are broken"}', "`id`"),
    "empty text": (b'{"id": "t-1", "subject": "  ", "body": ""}', "`subject/body`"),
    "body not a string": (b'{"id": "t-1", "body": 42}', "`body`"),
    "requester wrong type": (b'{"id": "t-1", "body": "hi", "requester": "ada"}', "`requester`"),
    "plan outside the contract": (
        b'{"id": "t-1", "body": "hi", "organization": {"plan": "platinum"}}',
        "`organization.plan`",
    ),
    "cs_escalated not a bool": (b'{"id": "t-1", "body": "hi", "cs_escalated": "maybe"}',
                                "`cs_escalated`"),
    "id is a list": (b'{"id": ["a"], "body": "hi"}', "`id`"),
    "not an object": (b'["just", "strings"]', "must be a JSON object"),
    "invalid json": (b'{"id": "t-1", "body": ', "invalid JSON"),
    "invalid utf-8": (b'{"id": "t-1", "body": "caf\xe9"}', "not valid UTF-8"),
    "id with a slash": (b'{"id": "a/b", "body": "hi"}', "`id`"),
    "id climbing up": (b'{"id": "../x", "body": "hi"}', "`id`"),
    "id too long": (b'{"id": "' + b"x" * 129 + b'", "body": "hi"}', "`id`"),
    "only zero-width text": ('{"id": "t-1", "subject": "\u200b", "body": "\u200d"}'.encode(),
                             "`subject/body`"),
    "a lone surrogate": (b'{"id": "t-1", "body": "a\\ud800"}', "`body`"),
    "a NUL character": (b'{"id": "t-1", "body": "a\\u0000"}', "`body`"),
    "subject too long": (b'{"id": "t-1", "subject": "' + b"s" * 1001 + b'"}', "`subject`"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_ticket_exit_2_names_the_field(case, tmp_path, home, capsys):
    data, expected = CASES[case]
    code, err = _triage(capsys, _write(tmp_path, "bad.json", data))
    assert code == 2, err
    assert expected in err
    assert not (home / "checkpoints.sqlite").exists(), "nothing may be triaged"


def test_five_megabyte_body_is_refused(tmp_path, home, capsys):
    ticket = {"id": "big-1", "subject": "huge", "body": "x" * (5 * 1024 * 1024)}
    code, err = _triage(capsys, _write(tmp_path, "big.json", json.dumps(ticket).encode()))
    assert code == 2
    assert "`body`" in err and "too large" in err


def test_one_bad_ticket_in_a_folder_refuses_the_batch(tmp_path, home, capsys):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"id": "ok-1", "body": "hello"}))
    (folder / "b.jsonl").write_text('{"id": "ok-2", "body": "hi"}\n{"id": "bad", "body": 3}\n')
    code, err = _triage(capsys, str(folder))
    assert code == 2
    assert "b.jsonl:2" in err and "`body`" in err


def test_duplicate_ids_in_one_call_are_refused(tmp_path, home, capsys):
    data = b'{"id": "d-1", "body": "a"}\n{"id": "d-1", "body": "b"}\n'
    path = _write(tmp_path, "dup.jsonl", data)
    code, err = _triage(capsys, path)
    assert code == 2 and "`id`" in err and "d-1" in err


def test_missing_path(home, capsys):
    code, err = _triage(capsys, "does/not/exist.json")
    assert code == 2 and "no such file" in err
