"""The service: a ticket is triaged exactly once, even when a run was cut short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.decisions import Decision, StaleDraft, VersionRequired
from agent.models import Ticket

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def service(tmp_path):
    from app.service import open_service
    from app.settings import Settings

    with open_service(Settings(home=tmp_path / "home")) as svc:
        yield svc


TICKET = Ticket(id="svc-1", subject="Batch export to S3 fails with AccessDenied",
                body="Our hourly S3 export fails since the bucket policy change.",
                requester={"name": "Wei Chen"}, organization={"plan": "paid"})


def test_run_cut_short_resumes_instead_of_starting_over(service):
    config = {"configurable": {"thread_id": TICKET.id}}
    # Stop after retrieve with a checkpoint, as a run that raised there leaves the thread
    # (on an error, durability "exit" still saves the steps that completed).
    service.graph.invoke({"ticket": TICKET}, config, context=service.context,
                         interrupt_after=["retrieve"])
    assert service.graph.get_state(config).next == ("link_issue",)
    outcome = service.triage(TICKET)
    assert outcome.created and outcome.result.status == "awaiting_review"
    assert set(outcome.result.timings_ms) >= {"intake", "classify", "retrieve", "draft", "check"}
    assert service.triage(TICKET).created is False


def test_decide_needs_a_waiting_draft(service):
    from app.service import NotAwaitingReview, UnknownTicket

    with pytest.raises(UnknownTicket):
        service.decide("nope", Decision(action="approve", version=1))
    service.triage(TICKET)
    result = service.decide(TICKET.id, Decision(action="reject", reason="duplicate", version=1))
    assert result.status == "rejected"
    with pytest.raises(NotAwaitingReview):
        service.decide(TICKET.id, Decision(action="approve", version=1))


def _other_team(team: str) -> str:
    return "growth" if team != "growth" else "pipeline"


def test_a_redraft_is_a_new_version_and_a_decision_on_the_old_one_sends_nothing(service):
    first = service.triage(TICKET).result
    assert first.version == 1
    with pytest.raises(VersionRequired, match="`version`"):
        service.decide(TICKET.id, Decision(action="approve"))
    second = service.decide(TICKET.id, Decision(action="reassign", team=_other_team(first.team),
                                                version=1))
    assert second.version == 2 and second.status == "awaiting_review"
    assert second.draft.body != first.draft.body  # the re-draft is a different text
    with pytest.raises(StaleDraft, match="replaced by version 2") as stale:
        service.decide(TICKET.id, Decision(action="approve", version=1))
    assert (stale.value.given, stale.value.current) == (1, 2)
    assert service.context.outbox.deliveries(TICKET.id) == []
    assert service.get(TICKET.id).status == "awaiting_review"
    approved = service.decide(TICKET.id, Decision(action="approve", version=2))
    [sent] = service.context.outbox.deliveries(TICKET.id)
    assert approved.status == "delivered" and sent["payload"]["body"] == second.draft.body


def test_a_thread_checkpointed_before_versions_counts_its_draft_as_version_1(service):
    from agent.state import draft_version

    first = service.triage(TICKET).result
    config = {"configurable": {"thread_id": TICKET.id}}
    values = service.graph.get_state(config).values
    legacy = {k: v for k, v in values.items() if k != "version"}
    assert draft_version(legacy) == 1 and draft_version({}) == 0
    assert first.model_dump(mode="json")["version"] == 1


def test_decision_validation_names_the_field():
    with pytest.raises(ValueError, match="`body` is required"):
        Decision(action="edit", body="  ")
    with pytest.raises(ValueError, match="`team` is required"):
        Decision(action="reassign")


_KILLED_WHILE_DRAFTING = """
import os, sys
from agent.models import Ticket
from app.service import open_service
from app.settings import Settings

class Killing:
    def __init__(self, inner):
        self.inner, self.name = inner, inner.name
    def classify(self, *args, **kwargs):
        return self.inner.classify(*args, **kwargs)
    def draft(self, request):
        os._exit(9)  # a kill -9 half-way through the graph, after retrieve and link_issue

with open_service(Settings(home=sys.argv[1], llm_base_url=None, llm_api_key=None)) as svc:
    svc.context.engine = Killing(svc.context.engine)
    svc.triage(Ticket.model_validate_json(sys.argv[2]))
"""


def test_a_process_killed_before_the_review_leaves_nothing_and_the_retry_triages_once(
        service, tmp_path):
    # Triage checkpoints only when the run stops at the review (durability "exit"). A
    # process killed before that leaves no thread: the retry starts over, which is safe
    # because nothing before the review has a side effect.
    ticket = TICKET.model_copy(update={"id": "svc-killed"})
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_DRAFTING, str(tmp_path / "home"),
         ticket.model_dump_json()], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert child.returncode == 9, child.stderr[-2000:]
    assert not service.graph.get_state({"configurable": {"thread_id": ticket.id}}).values
    outcome = service.triage(ticket)
    assert outcome.created and outcome.result.status == "awaiting_review"
    assert service.triage(ticket).created is False
    assert service.context.outbox.deliveries(ticket.id) == []


def _count_encoded(embedder, monkeypatch) -> list[str]:
    encoded: list[str] = []
    original = embedder._encode

    def counting(texts):
        encoded.extend(texts)
        return original(texts)

    monkeypatch.setattr(embedder, "_encode", counting)
    return encoded


def test_prepare_embeds_exactly_what_the_nodes_ask_for(service, monkeypatch):
    # Subject and body as intake normalises them: Windows line ends, runs of spaces.
    ticket = Ticket(id="svc-prep", subject="Export  to S3 fails",
                    body="Our hourly   export fails.\r\n\r\n\r\nSince Monday.",
                    organization={"plan": "paid"})
    encoded = _count_encoded(service.context.embedder, monkeypatch)
    service.prepare([ticket])
    assert len(encoded) == 2  # the text and the subject
    service.triage(ticket)
    assert len(encoded) == 2, f"the graph embedded again: {encoded[2:]}"


def test_triage_many_keeps_order_and_embeds_each_ticket_once(service, monkeypatch):
    tickets = [TICKET.model_copy(update={"id": f"svc-many-{n}", "body": f"{TICKET.body} ({n})"})
               for n in range(5)]
    service.triage(tickets[1])
    encoded = _count_encoded(service.context.embedder, monkeypatch)
    outcomes = list(service.triage_many(tickets, chunk=2))
    assert [o.result.ticket_id for o in outcomes] == [t.id for t in tickets]
    assert [o.created for o in outcomes] == [True, False, True, True, True]
    assert all(o.result.status == "awaiting_review" for o in outcomes)
    # The four new texts, once each; the shared subject and the triaged ticket were cached.
    assert sorted(encoded) == sorted(t.text for t in tickets if t.id != tickets[1].id)
