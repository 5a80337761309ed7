"""Handbook policy is replaceable: SIDEKICK_POLICY_FILE / _PLAYBOOKS_FILE / _TEMPLATES_FILE.

Each file is checked when loaded, the error names the key, and the CLI exits 2 on it; the
example policy of the newer handbook page (no community tier) changes the queue order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.handbook import HandbookError, use_handbook
from agent.models import Ticket
from agent.policy import default_policy, priority_for
from app.cli import main

REPO = Path(__file__).resolve().parents[1]
NEWER_PAGE = REPO / "examples" / "handbook" / "policy-newer-page.toml"


@pytest.fixture(autouse=True)
def packaged_handbook():
    yield
    use_handbook()  # back to the packaged files for the next test


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_newer_pages_queue_has_no_community_tier():
    question = Ticket(id="q1", source="community", subject="Why are my funnels empty?",
                      priority="normal")
    assert priority_for(question).priority == "community"
    use_handbook(policy_file=NEWER_PAGE)
    assert priority_for(question).priority == "normal"
    assert priority_for(Ticket(id="s1", source="slack", subject="x")).priority == "high"
    # The guard against promised dates stays on without a [guards] table of its own.
    assert default_policy().timeline_patterns


@pytest.mark.parametrize(("setting", "text", "named"), [
    ("SIDEKICK_POLICY_FILE", '[[priority]]\npriority = "urgentish"\n', "`priority`"),
    ("SIDEKICK_POLICY_FILE", '[[priority]]\npriority = "low"\nplan = "paid"\n'
                             '[[priority]]\npriority = "low"\n', "`plan`"),
    ("SIDEKICK_POLICY_FILE", '[[priority]]\npriority = "low"\n[response_time]\n'
                             'fine_under_seconds = "an hour"\n', "`fine_under_seconds`"),
    ("SIDEKICK_PLAYBOOKS_FILE", '[self_hosted]\nstatus_after = "solved"\npublic = "always"\n'
                                'stepz = []\n', "stepz"),
    ("SIDEKICK_TEMPLATES_FILE", '[reply.en]\ngreeting = "Hi {name},"\n', "reply.en"),
])
def test_a_bad_file_is_exit_2_naming_the_key(tmp_path, monkeypatch, capsys, setting, text,
                                             named):
    monkeypatch.setenv(setting, str(_write(tmp_path, "bad.toml", text)))
    monkeypatch.setenv("SIDEKICK_HOME", str(tmp_path / "home"))
    assert main(["search", "funnels"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and named in err, err


def test_a_bad_file_installs_nothing(tmp_path):
    with pytest.raises(HandbookError, match="playbooks file"):
        use_handbook(policy_file=NEWER_PAGE,
                     playbooks_file=_write(tmp_path, "p.toml", "[nope]\n"))
    question = Ticket(id="q1", source="community", subject="x", priority="normal")
    assert priority_for(question).priority == "community"  # still the packaged policy


def test_a_bad_channel_org_is_exit_2_naming_the_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIDEKICK_SLACK_CHANNEL_ORGS", '{"C0ACME": {"plan": "gold"}}')
    monkeypatch.setenv("SIDEKICK_HOME", str(tmp_path / "home"))
    assert main(["search", "funnels"]) == 2
    assert "SIDEKICK_SLACK_CHANNEL_ORGS['C0ACME']['plan']" in capsys.readouterr().err
