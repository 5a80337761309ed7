"""Block Kit builders: shapes Slack accepts, the ticket id on every button."""

from __future__ import annotations

import json

from app.slack.blocks import (
    APPROVE,
    EDIT,
    REASSIGN,
    REASSIGN_VIEW,
    REJECT,
    decided_message,
    draft_message,
    edit_modal,
    parse_button_value,
    reassign_modal,
    replaced_message,
)

RESULT = {
    "ticket_id": "zd-4812", "team": "replay", "team_confidence": 0.83, "team_uncertain": False,
    "priority": "high", "kind": "bug",
    "passages": [{"title": "Troubleshooting replay", "url": "https://posthog.com/docs/x",
                  "score": 0.71}],
    "issue": {"action": "link", "url": "https://github.com/o/r/issues/1", "title": "Blank"},
    "draft": {"body": "Hey Ada,\n\nthanks" + "!" * 5000, "internal_note": "check Safari",
              "status_after": "pending", "public": True, "citations": []},
    "version": 3,
}
TICKET = {"id": "zd-4812", "subject": "Recordings are blank", "url": "https://z/agent/tickets/1",
          "requester": {"name": "Ada Lovelace"}, "organization": {"plan": "paid"}}


def test_draft_message_has_facts_passages_draft_and_buttons():
    text, blocks = draft_message(RESULT, TICKET)
    dumped = json.dumps(blocks)
    assert "zd-4812" in text
    assert blocks[0]["type"] == "header" and "Recordings are blank" in dumped
    for fact in ("replay", "high", "83%", "Ada Lovelace (paid)", "Troubleshooting replay",
                 "check Safari", "issues/1"):
        assert fact in dumped
    actions = blocks[-1]["elements"]
    assert [a["action_id"] for a in actions] == [APPROVE, EDIT, REASSIGN, REJECT]
    assert all(parse_button_value(a["value"]) == ("zd-4812", 3) for a in actions)
    assert "Draft version 3" in dumped
    for block in blocks:  # Slack's limit on section text
        assert len((block.get("text") or {}).get("text", "")) <= 3000


def test_decided_message_says_who_and_what_and_has_no_buttons():
    text, blocks = decided_message(RESULT, TICKET, action="approve", user_id="UHERO",
                                   sent="Hey Ada, done")
    assert "<@UHERO>" in text and "Hey Ada, done" in json.dumps(blocks)
    assert not any(b["type"] == "actions" for b in blocks)


def test_modals():
    modal = edit_modal("zd-1", "Hey", channel="C1", ts="1.2", version=2)
    assert modal["blocks"][0]["element"]["initial_value"] == "Hey"
    assert json.loads(modal["private_metadata"]) == {"ticket_id": "zd-1", "channel": "C1",
                                                     "ts": "1.2", "version": 2}
    picker = reassign_modal("zd-1", [("replay", "Replay"), ("growth", "Growth")],
                            current="replay", channel="C1", ts="1.2", version=2)
    assert picker["callback_id"] == REASSIGN_VIEW
    options = picker["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == ["growth"]


def test_button_values_name_the_ticket_and_version_and_old_ones_parse_without_one():
    assert parse_button_value(json.dumps({"ticket_id": "zd-1", "version": 2})) == ("zd-1", 2)
    assert parse_button_value("zd-1") == ("zd-1", None)  # a card from before versions
    assert parse_button_value('{"ticket_id": "zd-1", "version": "2"}') == ("zd-1", None)
    assert parse_button_value("[1]") == ("[1]", None)


def test_replaced_message_names_both_versions_and_has_no_buttons():
    text, blocks = replaced_message(RESULT, TICKET, shown=2, where="CGROWTH",
                                    detail="reassigned to growth by <@UHERO>")
    dumped = json.dumps(blocks)
    assert "version 2 was replaced" in text
    assert "Replaced by draft version 3" in dumped and "<#CGROWTH>" in dumped
    assert "showed draft version 2" in dumped and "reassigned to growth" in dumped
    assert not any(b["type"] == "actions" for b in blocks)
