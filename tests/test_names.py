"""A requester name never reaches a reply unless it is fit to greet someone with.

The check node flags a link or a secret in a draft and replaces the draft; the replacement
must not then carry the link or the secret itself, in its greeting.
"""

from __future__ import annotations

import pytest
from test_check_node import make_ticket, run_twice, state_with

from agent.models import Requester, Ticket, usable_name
from agent.templates import default_templates

UNFIT = ["https://evil.example.com/reset", "password:Hunter2!xyz", "evil.example.com",
         "www.evil.io", "Ada\u200bLovelace", "\u202eecilA", "ada@example.com", "x" * 201]


def _named(name: str) -> Ticket:
    """A ticket whose requester has exactly this name (as an old checkpoint might hold)."""
    return make_ticket().model_copy(update={"requester": Requester.model_construct(name=name)})


@pytest.mark.parametrize("name", UNFIT)
def test_the_replacement_draft_greets_no_one_when_the_name_is_unfit(name):
    ticket = _named(name)
    first, _ = run_twice(state_with("Hey Grace,\n\nSure, the admin password is hunter2!",
                                    ticket=ticket))
    body = first["draft"].body
    assert body.startswith("Hey there,"), body
    assert name not in body and "evil" not in body and "Hunter2" not in body


@pytest.mark.parametrize("name", UNFIT)
def test_no_greeting_path_takes_a_raw_name(name):
    assert default_templates().greeting(name, "en") == "Hey there,"
    assert usable_name(name) is None
    assert _named(name).first_name is None


def test_a_fit_name_still_greets():
    assert default_templates().greeting("Grace", "en") == "Hey Grace,"
    assert make_ticket(requester={"name": "Grace Hopper"}).first_name == "Grace"
