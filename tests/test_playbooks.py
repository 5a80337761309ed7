"""Playbook detection and the handbook procedure each playbook carries (agent/playbooks.py)."""

from __future__ import annotations

import pytest

from agent.models import Ticket
from agent.playbooks import default_playbooks, detect_playbook, get_playbook, kind_for


def ticket(body: str, **fields) -> Ticket:
    return Ticket(id="t-1", body=body, **fields)


@pytest.mark.parametrize(
    "body",
    [
        "I lost my phone and can't log in anymore, my 2FA codes were on it",
        "Please remove 2FA from my account",
        "Could you reset the two-factor authentication on my account?",
        "I got a new phone and my authenticator app is empty, I'm locked out",
        "Lost my authenticator, need help getting back in",
        "Can you disable TOTP for ada@example.com?",
        "Ich habe mein Handy verloren und komme wegen der Zwei-Faktor-Authentifizierung nicht rein",
        "Bitte die 2FA für mein Konto deaktivieren",
        "Pouvez-vous désactiver la double authentification sur mon compte ?",
        "Perdí mi teléfono y tengo activada la autenticación de dos factores",
        "Podem desativar a autenticação de dois fatores da minha conta?",
        "My phone was stolen on the train; please switch off two-step verification for me",
        "The authenticator codes didn't survive my phone upgrade, can you clear my second factor?",
    ],
)
def test_two_factor_removal_is_detected(body: str) -> None:
    assert detect_playbook(ticket(body)) == "two_factor_removal", body


@pytest.mark.parametrize(
    "body",
    [
        "How do I enable 2FA for my team?",
        "Can we enforce 2FA for all members of our organization?",
        "Does PostHog support two-factor authentication with hardware keys?",
        "I lost my phone number field in the person properties",
        "Is 2FA enforcement available for organizations on the free plan?",
    ],
)
def test_two_factor_questions_are_not_removal_requests(body: str) -> None:
    assert detect_playbook(ticket(body)) != "two_factor_removal", body


@pytest.mark.parametrize(
    "body",
    [
        "We run PostHog self-hosted and ingestion stopped after the upgrade",
        "Self hosting question: the docker compose stack won't start",
        "Our hobby deployment is out of disk space",
        "helm chart upgrade fails on our cluster",
        "We are running our own instance of PostHog and the plugin server crashes",
        "The posthog pods on kubernetes keep restarting after upgrading posthog",
        "Wir haben PostHog selbst gehostet und der Import schlägt fehl",
    ],
)
def test_self_hosted_is_detected(body: str) -> None:
    assert detect_playbook(ticket(body)) == "self_hosted", body


@pytest.mark.parametrize(
    "body",
    [
        "We moved from self-hosted to cloud last month and some events look duplicated",
        "After migrating from our self-hosted instance to PostHog Cloud, cohorts are empty",
        "Our app runs on kubernetes and posthog isn't receiving events from the backend",
        "We send events from our own server with posthog-python",
    ],
)
def test_cloud_users_are_not_self_hosted(body: str) -> None:
    assert detect_playbook(ticket(body)) != "self_hosted", body


def test_self_hosted_tag_wins_over_a_migration_mention() -> None:
    t = ticket("We moved from self-hosted to cloud", tags=["self-hosted"])
    assert detect_playbook(t) == "self_hosted"


@pytest.mark.parametrize(
    "body",
    [
        "Our owner left the company, can you make me the owner?",
        "Please transfer ownership of our organization to me",
        "The admin no longer works here and nobody can manage billing",
        "How do we change the organization owner?",
        "Le propriétaire a quitté l'entreprise, pouvez-vous nous aider ?",
        "Notre seul propriétaire n'est plus joignable, pouvez-vous me donner son rôle ?",
        "A dona da nossa conta vai sair da empresa: como passamos a propriedade para mim?",
        "Our founder is the sole owner and is leaving in May; how do I take it over?",
    ],
)
def test_ownership_transfer_is_detected(body: str) -> None:
    assert detect_playbook(ticket(body)) == "ownership_transfer", body


@pytest.mark.parametrize(
    "body",
    [
        "How do I transfer ownership of a dashboard to a colleague?",
        "Can I move a project to another organization?",
    ],
)
def test_object_ownership_is_not_an_ownership_transfer(body: str) -> None:
    assert detect_playbook(ticket(body)) != "ownership_transfer", body


@pytest.mark.parametrize(
    "fields",
    [
        {"source": "community"},
        {"url": "https://posthog.com/questions/why-are-my-funnels-empty"},
        {"tags": ["community_question"]},
    ],
)
def test_community_question_from_metadata(fields: dict) -> None:
    assert detect_playbook(ticket("Why are my funnels empty?", **fields)) == "community_question"


def test_community_question_is_not_guessed_from_text() -> None:
    t = ticket("I asked this on the community forum: https://posthog.com/questions/x")
    assert detect_playbook(t) is None


def test_plain_tickets_have_no_playbook() -> None:
    assert detect_playbook(ticket("Recordings are blank since yesterday")) is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # On a self-hosted instance the TOTP device lives in the user's own database.
        ({"body": "Self-hosted: I lost my phone and 2FA locks me out"}, "self_hosted"),
        # Asked on a community page, a 2FA removal still needs the private confirmation.
        ({"body": "Please remove 2FA from my account", "source": "community"},
         "two_factor_removal"),
        ({"body": "Owner left the company; also please reset 2FA for me"}, "two_factor_removal"),
    ],
)
def test_precedence_when_several_match(fields: dict, expected: str) -> None:
    assert detect_playbook(Ticket(id="t-1", **fields)) == expected


def test_playbooks_carry_the_handbook_procedure() -> None:
    tfa = get_playbook("two_factor_removal")
    assert (tfa.kind, tfa.status_after, tfa.public) == ("account_request", "pending", "always")
    assert any("TOTP" in step for step in tfa.steps)
    assert any("confirm" in step for step in tfa.steps)

    owner = get_playbook("ownership_transfer")
    assert (owner.kind, owner.status_after) == ("account_request", "pending")
    assert len(owner.steps) == 4
    assert "current owner" in owner.steps[0]

    hosted = get_playbook("self_hosted")
    assert (hosted.kind, hosted.status_after) == (None, "solved")

    community = get_playbook("community_question")
    assert community.status_after == "solved" and community.is_public("low")
    assert "not from Zendesk" in community.venue


def test_publicity_follows_priority_only_where_the_handbook_allows() -> None:
    assert not get_playbook("self_hosted").is_public("low")
    assert get_playbook("self_hosted").is_public("normal")
    assert get_playbook("two_factor_removal").is_public("low")


def test_kind_for_applies_the_playbook_kind() -> None:
    assert kind_for("two_factor_removal", "question") == "account_request"
    assert kind_for("self_hosted", "bug") == "bug"
    assert kind_for(None, "feature_request") == "feature_request"


def test_precedence_is_unique_and_every_name_is_known() -> None:
    books = default_playbooks()
    assert len({b.precedence for b in books}) == len(books)
    with pytest.raises(ValueError, match="known"):
        get_playbook("reset_password")
