"""The service: a ticket is triaged exactly once, even when a run was cut short."""

from __future__ import annotations

import pytest

from agent.decisions import Decision
from agent.models import Ticket


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
    # Stop after retrieve, as a process killed there would leave the thread.
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
        service.decide("nope", Decision(action="approve"))
    service.triage(TICKET)
    result = service.decide(TICKET.id, Decision(action="reject", reason="duplicate"))
    assert result.status == "rejected"
    with pytest.raises(NotAwaitingReview):
        service.decide(TICKET.id, Decision(action="approve"))


def test_decision_validation_names_the_field():
    with pytest.raises(ValueError, match="`body` is required"):
        Decision(action="edit", body="  ")
    with pytest.raises(ValueError, match="`team` is required"):
        Decision(action="reassign")
