"""The topic map reads the team ownership pages' bullets whole and in parts, nothing else."""

from __future__ import annotations

from knowledge.topics import topic_lines

TEAM_PAGE = """## Typical tickets

- An unexpected bill or a usage spike, or a [billing limit](https://x.example/limits)
  that cut off
data.
- SSO setup that fails.

## Docs to check

- [Billing limits and alerts](https://x.example/limits)
"""


def test_a_wrapped_bullet_is_a_line_and_so_are_its_parts_link_bullets_are_left_out() -> None:
    # The bullet's last line lost its indent, as chunk text may: it still goes on with it.
    lines = topic_lines([TEAM_PAGE, TEAM_PAGE, "- A playbook step."],
                        [{"team": "growth"}, {"team": "growth"},
                         {"team": "growth", "playbook": "two_factor_removal"}])

    assert lines == ["An unexpected bill or a usage spike, or a billing limit that cut off data.",
                     "An unexpected bill or a usage spike", "a billing limit that cut off data",
                     "SSO setup that fails.", "SSO setup that fails"]
