"""Quoted e-mail history is removed so the classifier and the draft read only the new text."""

from __future__ import annotations

import pytest

from agent.nodes.intake import normalize_text
from agent.quoting import strip_quoted

NEW = "The SDK is posthog-js 1.160.0 on Safari 17."

# One reply per language the drafts support, each with the header that language's mail
# clients write above the quoted thread (Gmail-, Apple Mail- and Outlook-style).
QUOTED = {
    "en": "On Tue, 1 Dec 2026 at 09:12, PostHog Support <support@example.com> wrote:",
    "en-wrapped": "On Tue, 1 Dec 2026 at 09:12, PostHog Support\n<support@example.com> wrote:",
    "de": "Am Di., 1. Dez. 2026 um 09:12 Uhr schrieb PostHog Support <support@example.com>:",
    "fr": "Le mar. 1 déc. 2026 à 09:12, PostHog Support <support@example.com> a écrit :",
    "es": "El mar, 1 dic 2026 a las 09:12, PostHog Support (<support@example.com>) escribió:",
    "pt": "Em ter., 1 de dez. de 2026 às 09:12, PostHog Support <support@example.com> "
          "escreveu:",
    "nl": "Op di 1 dec 2026 om 09:12 schreef PostHog Support <support@example.com>:",
    "it": "Il giorno mar 1 dic 2026 alle ore 09:12 PostHog Support <support@example.com> "
          "ha scritto:",
    "outlook": "-----Original Message-----\nFrom: PostHog Support\nSent: Tuesday",
    "outlook-de": "Von: PostHog Support <support@example.com>\nGesendet: Dienstag, 1. Dezember",
    "outlook-pt": "De: PostHog Support <support@example.com>\nEnviado: terça-feira, 1 de dezembro",
}


@pytest.mark.parametrize("header", QUOTED.values(), ids=QUOTED.keys())
def test_the_quoted_thread_is_dropped_in_every_language(header: str) -> None:
    body = f"{NEW}\n\n{header}\n> Hey Ada, which SDK version are you on?\n> Best, the team\n"
    assert strip_quoted(body) == NEW


def test_a_trailing_block_of_quote_marks_is_history_without_any_header() -> None:
    body = f"{NEW}\n\n> Hey Ada, which SDK version are you on?\n> Thanks"
    assert strip_quoted(body) == NEW


def test_text_without_history_is_left_alone() -> None:
    # "From:" mid-sentence and a quote followed by the customer's own words are the
    # customer's text, not a thread.
    body = ("Since Monday our funnels show 0%.\nFrom: the insights page nothing loads.\n"
            "> expected 10%\nbut it shows 0%.")
    assert strip_quoted(body) == body


def test_a_bare_forward_keeps_its_text() -> None:
    assert strip_quoted("> forwarded from Ada\n> the export fails") == (
        "> forwarded from Ada\n> the export fails")


def test_intake_strips_history_before_anything_reads_the_body() -> None:
    body = f"{NEW}\r\n\r\n{QUOTED['de']}\r\n> Welche Version?\r\n"
    assert normalize_text(body) == NEW
