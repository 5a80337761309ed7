"""A ticket is a conversation: each customer reply gets a follow-up draft on the same thread.

Through the service (the graph on a real SQLite checkpointer), the API (store on SQLite and
PostgreSQL, the worker drained by the test) and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from db_fixtures import runtime_of

from agent.conversation import Message
from agent.decisions import Decision
from agent.models import Ticket
from agent.stages import load_stages
from app.cli import main as cli
from app.service import TriageService, open_service
from app.settings import Settings

BUG = {
    "id": "zd-9001", "source": "zendesk", "subject": "Session recordings are blank",
    "body": "Since yesterday every session replay of our users is just a blank screen.",
    "requester": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "organization": {"name": "Acme", "plan": "paid"}, "priority": "normal",
}
TWO_FA = {
    "id": "zd-9002", "source": "zendesk", "subject": "Please remove 2FA from my account",
    "body": "I lost my phone with the authenticator app. Can you remove 2FA from my account?",
    "requester": {"name": "Tomás Rivera", "email": "tomas@example.com"},
    "organization": {"name": "Rivera Labs", "plan": "paid"}, "priority": "normal",
}


def customer(message_id: str, body: str) -> Message:
    return Message(id=message_id, author="customer", body=body,
                   created_at="2026-12-04T10:00:00Z")


@pytest.fixture
def service(tmp_path: Path, warm_context):
    from dataclasses import replace

    from agent.graph import build_graph
    from app.runtime import sqlite_checkpointer
    from tools.outbox import LocalOutbox

    context = replace(warm_context, outbox=LocalOutbox(tmp_path / "outbox.sqlite"))
    with sqlite_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
        yield TriageService(graph=build_graph(saver), context=context)


def approve(service: TriageService, ticket_id: str):
    version = service.get(ticket_id).version  # the draft the hero read
    return service.decide(ticket_id, Decision(action="approve", by="hero", version=version))


def test_a_customer_reply_gets_a_follow_up_draft_on_the_same_thread(service) -> None:
    first = service.triage(Ticket.model_validate(BUG)).result
    assert first.turn == 1 and first.kind == "bug" and first.stage == "awaiting_details"
    assert "version" in first.draft.body  # the first draft asks for the SDK version
    approve(service, "zd-9001")
    answer = customer("c-1", "We use posthog-js 1.160.0 on Chrome 120 and Safari 17.")
    follow = service.converse("zd-9001", [answer]).result
    assert follow.status == "awaiting_review" and follow.turn == 2
    assert follow.stage == "details_received" and follow.team == first.team
    assert follow.draft.body.startswith("Hey Ada,")
    assert "version" not in follow.draft.body.lower()  # never asks again for what it has
    assert "Since the last turn" in follow.draft.internal_note
    delivered = approve(service, "zd-9001")
    assert delivered.status == "delivered"
    outbox = service.context.outbox.deliveries("zd-9001")
    replies = [d for d in outbox if ":reply:" in d["key"]]
    assert len(replies) == 2 and len({d["key"] for d in replies}) == 2
    assert [h.outcome for h in delivered.history] == ["delivered", "delivered"]
    assert [e.author for e in delivered.conversation] == [
        "customer", "sidekick", "customer", "sidekick"]


def test_the_same_message_twice_is_one_turn(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    answer = customer("c-1", "Thanks, that fixed it!")
    assert service.converse("zd-9001", [answer]).created
    again = service.converse("zd-9001", [answer])
    assert not again.created and again.result.turn == 2
    assert [e.id for e in again.result.conversation].count("c-1") == 1


def test_thanks_that_fixed_it_gets_a_short_closing_reply(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    result = service.converse("zd-9001", [customer("c-1", "Thanks, that fixed it!")]).result
    assert result.stage == "resolved" and result.draft.status_after == "solved"
    assert len(result.draft.body) < 300 and not result.draft.citations


def test_a_reply_while_a_draft_waits_replaces_it_with_one_that_answers_both(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    result = service.converse("zd-9001", [customer(
        "c-1", "Forgot to say: posthog-js 1.160.0, Chrome 120.")]).result
    assert result.turn == 1 and result.status == "awaiting_review"
    assert [h.outcome for h in result.history] == ["replaced"]
    # One waiting draft, for the ticket and the new message: the version is not asked again.
    assert "version" not in result.draft.body.lower()
    assert result.draft.body.count("Hey Ada,") == 1


def test_a_person_answering_outside_sidekick_supersedes_the_waiting_draft(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    hero = Message(id="zd-comment-77", author="hero", body="Answered on the phone.",
                   public=True)
    result = service.converse("zd-9001", [hero]).result
    assert result.status == "superseded"
    assert [h.outcome for h in result.history] == ["superseded"]
    assert service.context.outbox.deliveries("zd-9001") == []


def test_an_internal_note_changes_nothing_in_the_waiting_draft(service) -> None:
    before = service.triage(Ticket.model_validate(BUG)).result
    note = Message(id="n-1", author="cs", body="They are a big account.", public=False)
    after = service.converse("zd-9001", [note]).result
    assert after.status == "awaiting_review" and after.draft.body == before.draft.body
    assert approve(service, "zd-9001").status == "delivered"


def test_the_owner_confirms_the_2fa_removal(service) -> None:
    first = service.triage(Ticket.model_validate(TWO_FA)).result
    assert first.playbook == "two_factor_removal" and first.stage == "confirmation_sent"
    approve(service, "zd-9002")
    result = service.converse("zd-9002", [customer(
        "c-1", "Yes, I confirm, please go ahead and remove it.")]).result
    assert result.stage == "owner_confirmed" and result.draft.status_after == "solved"
    note = result.draft.internal_note
    assert "app.posthog.com/admin/otp_totp/totpdevice" in note
    assert "eu.posthog.com/admin/otp_totp/totpdevice" in note
    assert "removed" in result.draft.body


def test_i_did_not_ask_for_this_stops_the_2fa_removal(service) -> None:
    service.triage(Ticket.model_validate(TWO_FA))
    approve(service, "zd-9002")
    result = service.converse("zd-9002", [customer(
        "c-1", "What? I did not request this. Please do not touch my account.")]).result
    assert result.stage == "owner_denied" and result.draft.status_after == "pending"
    assert result.draft.internal_note.startswith("⚠ URGENT")
    assert "do not remove" in result.draft.internal_note.lower()
    assert "We've removed" not in result.draft.body
    assert result.priority == "normal"  # the customer's words never change the priority


def owner_answers(service: TriageService, body: str):
    """The 2FA ticket, its confirmation e-mail sent, then the owner's answer."""
    service.triage(Ticket.model_validate(TWO_FA))
    approve(service, "zd-9002")
    return service.converse("zd-9002", [customer("c-1", body)]).result


def test_a_denial_told_as_a_story_stops_the_2fa_removal(service) -> None:
    result = owner_answers(service, "Odd. I signed in an hour ago with my codes and my "
                           "partner says neither of us sent you anything. Leave everything "
                           "as it is.")
    assert result.stage == "owner_denied" and result.draft.status_after == "pending"
    assert "We've removed" not in result.draft.body


def test_a_go_ahead_from_the_person_who_asked_confirms_the_2fa_removal(service) -> None:
    result = owner_answers(service, "Checked the mail headers, all legit. You have my "
                           "go-ahead, I'm the one who asked.")
    assert result.stage == "owner_confirmed" and result.draft.status_after == "solved"


def test_a_2fa_ticket_is_growths_whatever_the_words_lean_to(service) -> None:
    ticket = {**TWO_FA, "id": "zd-9003", "subject": "Can't watch our recordings",
              "body": "My authenticator got wiped with my old phone, so I can't get past the "
                      "second-factor screen to watch our session recordings. Please switch "
                      "off the second factor on my login."}
    result = service.triage(Ticket.model_validate(ticket)).result
    assert result.playbook == "two_factor_removal"
    assert result.team == "growth" and not result.team_uncertain


def test_a_new_question_after_a_thank_you_is_answered_as_a_question(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    result = service.converse("zd-9001", [customer(
        "c-1", "Upgrading did the trick, recordings play again. Separate question while I "
               "have you: can feature flags target users by their country?")]).result
    assert result.stage == "follow_up_question"


def test_the_latest_of_two_messages_says_where_the_conversation_is(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    service.converse("zd-9001", [customer("c-1", "Thanks, recordings load fine again.")])
    result = service.converse("zd-9001", [customer(
        "c-2", "Oh and how do I export a recording to share it with a colleague?")]).result
    assert result.stage == "follow_up_question"


def test_a_reply_with_few_telltale_words_keeps_the_conversations_language(service) -> None:
    ticket = {**TWO_FA, "id": "zd-9004", "subject": "Perdi o celular",
              "body": "Olá, perdi o celular com o aplicativo de autenticação e não consigo "
                      "entrar. Vocês podem desativar a autenticação de dois fatores da minha "
                      "conta? Obrigado!"}
    service.triage(Ticket.model_validate(ticket))
    approve(service, "zd-9004")
    result = service.converse("zd-9004", [customer(
        "c-1", "Pode seguir, sim. O pedido partiu de mim mesmo; assim que liberarem, "
               "cadastro o aparelho novo no aplicativo logo em seguida.")]).result
    assert result.stage == "owner_confirmed"
    assert result.draft.body.startswith("Olá Tomás")


def test_a_german_reply_is_answered_in_german(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    result = service.converse("zd-9001", [customer("c-1", "Danke, das hat geklappt!")]).result
    assert result.stage == "resolved"
    assert result.draft.body.startswith("Hallo Ada,")


def test_quoted_history_is_not_read_as_the_customers_words(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    body = ("Still broken, sadly.\n\nOn Thu, 3 Dec 2026 at 09:00, PostHog Support "
            "<support@example.com> wrote:\n> Thanks for the details, that fixed it!\n")
    result = service.converse("zd-9001", [customer("c-1", body)]).result
    assert result.stage == "still_broken" and result.draft.status_after == "pending"


def test_details_reach_the_issue_without_the_customers_links(service) -> None:
    service.triage(Ticket.model_validate(BUG))
    approve(service, "zd-9001")
    result = service.converse("zd-9001", [customer(
        "c-1", "posthog-js 1.160.0. Repro: https://evil.example.com/x, ping @octocat")]).result
    issue = result.issue
    assert issue.action in ("create", "link")
    text = issue.body or ""
    assert "1.160.0" in text
    assert "evil.example.com" not in text and "@octocat" not in text


def test_a_stages_file_with_a_bad_key_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "stages.toml"
    bad.write_text('[[stage]]\nname = "x"\nstatus_after = "later"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="status_after"):
        load_stages(bad)
    bad.write_text('[[stage]]\nname = "x"\nstatus_after = "solved"\nmatchany = []\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="matchany"):
        load_stages(bad)


# --- the API: POST /tickets/{id}/messages, the worker, GET /tickets/{id} ---

def _decide_approve(client, ticket_id: str) -> None:
    draft = client.get(f"/drafts/{ticket_id}")
    body = {"by": "hero"}
    headers = {}
    if "version" in draft.json():
        body["version"] = draft.json()["version"]
    if draft.headers.get("etag"):
        headers["If-Match"] = draft.headers["etag"]
    response = client.post(f"/drafts/{ticket_id}/approve", json=body, headers=headers)
    assert response.status_code == 200, response.text


def test_api_created_approved_replied_followed_up_approved_two_replies(api) -> None:
    worker = runtime_of(api).worker
    assert api.post("/tickets", json={**BUG, "id": "api-1"}).status_code == 202
    worker.drain()
    _decide_approve(api, "api-1")
    message = {"id": "m-1", "author": "customer", "public": True,
               "body": "We are on posthog-js 1.160.0 in Chrome 120.",
               "created_at": "2026-12-04T10:00:00Z"}
    first = api.post("/tickets/api-1/messages", json=message)
    again = api.post("/tickets/api-1/messages", json=message)
    assert first.status_code == again.status_code == 202
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert worker.drain() == ["api-1"]
    draft = api.get("/drafts/api-1").json()
    assert draft["turn"] == 2 and draft["stage"] == "details_received"
    assert [e["id"] for e in draft["conversation"]].count("m-1") == 1
    _decide_approve(api, "api-1")
    ticket = api.get("/tickets/api-1").json()
    assert ticket["status"] == "delivered"
    assert [t["outcome"] for t in ticket["turns"]] == ["delivered", "delivered"]
    assert any("m-1" not in line and "customer" in line for line in ticket["audit"])
    replies = [d for d in runtime_of(api).outbox.deliveries("api-1") if ":reply:" in d["key"]
               and d["key"].count(":") <= 3]
    assert len({d["key"] for d in replies}) == 2


def test_api_messages_refuse_bad_input_naming_the_field(api) -> None:
    assert api.post("/tickets/nope/messages", json={
        "id": "m", "author": "customer", "body": "hi"}).status_code == 404
    api.post("/tickets", json={**BUG, "id": "api-2"})
    for bad, field in (({"author": "customer", "body": "hi"}, "id"),
                       ({"id": "m", "author": "boss", "body": "hi"}, "author"),
                       ({"id": "m", "author": "customer", "body": "\u200b\u200b"}, "body"),
                       ({"id": "m", "author": "customer", "body": "x",
                         "created_at": "yesterday"}, "created_at")):
        response = api.post("/tickets/api-2/messages", json=bad)
        assert response.status_code == 422, bad
        assert field in json.dumps(response.json()["detail"])


def test_a_message_waiting_when_the_worker_restarts_is_answered_once(api_settings,
                                                                     warm_context) -> None:
    from db_fixtures import TOKEN
    from fastapi.testclient import TestClient

    from app.api.main import create_app

    headers = {"Authorization": f"Bearer {TOKEN}"}
    app = create_app(api_settings, context=warm_context, start_worker=False)
    with TestClient(app, headers=headers) as client:
        client.post("/tickets", json={**BUG, "id": "api-3"})
        runtime_of(client).worker.drain()
        _decide_approve(client, "api-3")
        client.post("/tickets/api-3/messages", json={
            "id": "m-1", "author": "customer", "body": "Thanks, that fixed it!"})
    # The process died before the worker drafted the follow-up; a new one picks it up.
    app = create_app(api_settings, context=warm_context, start_worker=False)
    with TestClient(app, headers=headers) as client:
        worker = runtime_of(client).worker
        worker.recover()
        assert worker.drain() == ["api-3"]
        assert worker.drain() == []
        draft = client.get("/drafts/api-3").json()
        assert draft["turn"] == 2 and draft["stage"] == "resolved"
        assert [h["outcome"] for h in draft["history"]] == ["delivered"]


# --- the CLI: sidekick message, then sidekick review ---

def test_cli_message_then_review_shows_the_follow_up(home: Path, tmp_path: Path, capsys
                                                     ) -> None:
    ticket = tmp_path / "ticket.json"
    ticket.write_text(json.dumps(BUG), encoding="utf-8")
    assert cli(["triage", str(ticket)]) == 0
    assert cli(["review", "zd-9001", "--approve"]) == 0
    message = tmp_path / "message.json"
    message.write_text(json.dumps({"id": "c-1", "author": "customer",
                                   "body": "Thanks, that fixed it!"}), encoding="utf-8")
    capsys.readouterr()
    assert cli(["message", "zd-9001", str(message)]) == 0
    assert cli(["review", "zd-9001"]) == 0
    out = capsys.readouterr().out
    assert "Glad to hear it's working now" in out and "turn 2" in out
    message.write_text(json.dumps({"id": "c-2", "author": "customer"}), encoding="utf-8")
    assert cli(["message", "zd-9001", str(message)]) == 2
    assert "field `body`" in capsys.readouterr().err
    assert cli(["message", "zd-0000", str(message)]) == 2


def test_open_service_follows_up_on_a_restart(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", llm_base_url=None, llm_api_key=None)
    with open_service(settings) as service:
        service.triage(Ticket.model_validate(BUG))
        approve(service, "zd-9001")
    with open_service(settings) as service:
        result = service.converse("zd-9001", [customer("c-1", "That didn't work.")]).result
        assert result.turn == 2 and result.stage == "still_broken"


def test_the_queue_lists_follow_ups_by_the_customers_latest_message_and_apart_the_pending(
        api) -> None:
    worker = runtime_of(api).worker
    api.post("/tickets", json={**BUG, "id": "q-1", "created_at": "2026-01-01T00:00:00Z"})
    worker.drain()
    _decide_approve(api, "q-1")  # a bug draft asks for details: left pending
    [waiting] = api.get("/queue/waiting").json()
    assert waiting["id"] == "q-1" and waiting["turn"] == 1
    assert [i["id"] for i in api.get("/queue").json()] == []
    api.post("/tickets/q-1/messages", json={"id": "m-1", "author": "customer",
                                           "body": "posthog-js 1.160.0, Chrome 120."})
    worker.drain()
    [item] = api.get("/queue").json()
    # Created in January, but the customer just wrote: the clock starts now.
    assert item["id"] == "q-1" and item["turn"] == 2 and item["age_seconds"] < 3600
    assert item["response_state"] in ("great", "fine")
    assert api.get("/queue/waiting").json() == []
