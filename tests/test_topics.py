"""The topic map reads the team ownership pages' bullets whole, and nothing else."""

from __future__ import annotations

from knowledge.topics import topic_lines

TEAM_PAGE = """## Typical tickets

- An unexpected bill or a usage spike, or a [billing limit](https://x.example/limits)
  that cut off data.
- SSO setup that fails.

## Docs to check

- [Billing limits and alerts](https://x.example/limits)
"""


def test_a_wrapped_bullet_is_one_line_without_link_targets_and_link_bullets_are_left_out(
) -> None:
    lines = topic_lines([TEAM_PAGE, TEAM_PAGE, "- A playbook step."],
                        [{"team": "growth"}, {"team": "growth"},
                         {"team": "growth", "playbook": "two_factor_removal"}])

    assert lines == ["An unexpected bill or a usage spike, or a billing limit that cut off data.",
                     "SSO setup that fails."]
