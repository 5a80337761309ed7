"""What intake knows reaches the hero's note: an in-app report's links, the Zendesk view.

Through the API and the worker (and the view poller against the local fake Zendesk): the
note lists the report's admin, recording and project links one a line, the reply carries
none of them, a link the customer typed is not listed, and a ticket polled from another
team's view says which view it was in and where Sidekick routes it.
"""

from __future__ import annotations

from db_fixtures import runtime_of
from fakes.zendesk_server import FakeZendesk
from pydantic import SecretStr

from agent.intake_evidence import report_links
from agent.models import Ticket
from app.api.main import open_runtime

ADMIN = "https://us.posthog.com/admin/posthog/organization/0190aa/change/"
REPLAY = "https://us.posthog.com/project/4211/replay/0193f7c2-77aa-7d3c-b1a2-5e2c9b0e1f00"
PROJECT = "https://us.posthog.com/project/4211"
REPORT = {
    "id": "inapp-7001", "source": "in_app",
    "subject": "Recording stops after the checkout page",
    "body": ("The recording of my session stops as soon as I reach checkout. See "
             "http://evil.example/steal for details.\n\n"
             f"Session recording: {REPLAY}\nAdmin: {ADMIN}\nProject: {PROJECT}"),
    "requester": {"name": "Wei Chen", "email": "wei@example.com"},
    "organization": {"name": "Orbital", "plan": "paid"},
}


def test_the_reports_links_are_in_the_note_and_never_in_the_reply(api):
    assert api.post("/tickets", json=REPORT).status_code == 202
    runtime_of(api).worker.drain()
    draft = api.get("/drafts/inapp-7001").json()["draft"]
    note, body = draft["internal_note"], draft["body"]
    assert f"- session recording: {REPLAY}" in note.splitlines()
    assert f"- admin panel: {ADMIN}" in note.splitlines()
    assert f"- project: {PROJECT}" in note.splitlines()
    assert "evil.example" not in note
    assert not any(link in body for link in (ADMIN, REPLAY, PROJECT))


def test_links_to_other_hosts_are_not_report_links():
    ticket = Ticket(id="t", subject="x", body="https://us.posthog.com.evil.example/admin/ "
                    "https://evil.example/?u=https://us.posthog.com/admin/")
    assert report_links(ticket) == []


def test_a_ticket_in_another_teams_view_says_so(api_settings, warm_context):
    with FakeZendesk() as zd:
        zd.add_organization(7, "Acme", plan="paid")
        zd.add_user(5, "Ada Lovelace", "ada@example.com", 7)
        zd.add_ticket(4900, subject="BigQuery batch export failing",
                      description="Our hourly batch export to BigQuery fails with a 403 "
                                  "permission denied on the dataset since Monday.",
                      requester_id=5, priority="normal", view=11)
        zd.add_ticket(4901, subject="Session recordings are blank",
                      description="Every session replay shows a blank screen.",
                      requester_id=5, priority="normal", view=12)
        settings = api_settings.model_copy(update={
            "zendesk_subdomain": "acme", "zendesk_email": "hero@example.com",
            "zendesk_token": SecretStr("zd-token"), "zendesk_url": zd.url,
            "zendesk_views": {"replay": 11, "pipeline": 12}, "zendesk_max_retries": 0})
        with open_runtime(settings, context=warm_context) as runtime:
            [poller] = runtime.worker.intake
            assert sorted(poller.poll_once()) == ["zd-4900", "zd-4901"]
            runtime.worker.drain()
            export = runtime.desk.service.get("zd-4900")
            replay = runtime.desk.service.get("zd-4901")
    assert export.team == "pipeline" and replay.team == "replay"
    assert ("Zendesk has this ticket in the replay view; Sidekick routes it to pipeline"
            in export.draft.internal_note)
    assert ("Zendesk has this ticket in the pipeline view; Sidekick routes it to replay"
            in replay.draft.internal_note)
