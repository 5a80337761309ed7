"""The guards on substance (agent/substance.py, rules in agent/data/guards.toml), one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.engines.base import DraftRequest
from agent.models import Draft, IssueProposal, Passage, Ticket
from agent.substance import inspect_substance, load_substance_rules
from agent.teams import load_teams

TEAMS = load_teams()
DOCS = "https://posthog.com/docs/feature-flags/local-evaluation"
PASSAGE = Passage(title="Local evaluation", url=DOCS, score=0.7,
                  text="Local evaluation polls flag definitions every thirty seconds by default. "
                       "Local evaluation needs a personal API key.")


def request(body: str = "Local evaluation of flags is slow, why is that?", *,
            kind: str = "question", playbook: str | None = None, stage: str | None = None,
            turn: int = 1) -> DraftRequest:
    ticket = Ticket(id="zd-9", subject="Flags", body=body, requester={"name": "Grace"})
    return DraftRequest(ticket=ticket, team=TEAMS.get("feature-success"), teams=TEAMS,
                        priority="normal", kind=kind, playbook=playbook, passages=[PASSAGE],
                        issue=IssueProposal(), team_confidence=0.8, team_uncertain=False,
                        stage=stage, turn=turn)


def codes(body: str, req: DraftRequest | None = None) -> list[str]:
    return [p.code for p in inspect_substance(Draft(body=body), req or request())]


GOOD = (f"Hey Grace,\n\nLocal evaluation polls flag definitions every thirty seconds, see "
        f"{DOCS}.")


@pytest.mark.parametrize("body", [
    "Hey Grace,\n\nLocal evaluation polls flag definitions every thirty seconds. Cheers, "
    "[Your Name]",
    "Hey {{first_name}},\n\nLocal evaluation polls flag definitions every thirty seconds.",
    "Hey [name],\n\nLocal evaluation polls flag definitions every thirty seconds.",
    "Hey Grace,\n\nLocal evaluation polls flag definitions every thirty seconds.\n\nBest,\n"
    "Your Name",
    "Hey Grace,\n\n42",
])
def test_placeholders_anywhere_are_refused(body: str) -> None:
    assert "placeholder" in codes(body)


def test_a_markdown_link_is_not_a_placeholder() -> None:
    body = ("Hey Grace,\n\nLocal evaluation polls flag definitions every thirty seconds: "
            f"[link]({DOCS}).")
    assert codes(body) == []


@pytest.mark.parametrize(("body", "stage"), [
    ("Hey Grace,\n\nWe've removed the two-factor authentication from your account, so you "
     "can log in with your password now.", None),
    ("Hallo Grace,\n\nWir haben die Zwei-Faktor-Authentifizierung von Ihrem Konto entfernt, "
     "Sie können sich jetzt wieder anmelden.", None),
    ("Hey Grace,\n\nGood news: we have transferred the ownership of the organization to you, "
     "so you can manage it now.", "email_owner"),
    ("Hey Grace,\n\nWe've issued a refund for last month's invoice; it shows up on your card "
     "in a few days.", "owner_confirmed"),
])
def test_an_account_action_claimed_as_done_is_refused(body: str, stage: str | None) -> None:
    req = request(body="Please remove the 2FA from my account and refund last month.",
                  kind="account_request", playbook="two_factor_removal", stage=stage)
    problems = inspect_substance(Draft(body=body), req)
    assert [p.code for p in problems if p.code == "action_claim"] == ["action_claim"], problems


@pytest.mark.parametrize(("body", "stage"), [
    # The owner confirmed: the hero removes the device, then approves this reply.
    ("Hey Grace,\n\nThanks for confirming. We've removed the two-factor authentication method "
     "from your account, so you can now log in with your password.", "owner_confirmed"),
    ("Hey Grace,\n\nPlease confirm by replying here. After we've removed the two-factor "
     "authentication, you can log in with your password and set it up again.", None),
    ("Hey Grace,\n\nWe have not changed anything: two-factor authentication stays on for your "
     "account until the owner confirms.", None),
])
def test_an_action_done_by_a_person_or_only_promised_is_not_a_claim(body: str,
                                                                     stage: str | None) -> None:
    req = request(body="Please remove the 2FA from my account, I lost my phone.",
                  kind="account_request", playbook="two_factor_removal", stage=stage)
    assert codes(body, req) == []


def test_a_reply_in_another_language_is_refused() -> None:
    french = ("Bonjour Grace,\n\nL'évaluation locale interroge les définitions des flags toutes "
              f"les trente secondes, voir {DOCS}. Nous sommes là pour vous aider.")
    assert codes(french) == ["language"]
    assert codes(GOOD) == []


def test_a_bad_regex_in_the_guards_file_names_where(tmp_path: Path) -> None:
    bad = tmp_path / "guards.toml"
    bad.write_text('[[actions]]\nname = "refund"\nclaims = ["(unclosed"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="actions 'refund': bad regex"):
        load_substance_rules(bad)
