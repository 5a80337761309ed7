"""The handbook's policy files, replaceable: queue order, playbooks and templates.

`SIDEKICK_POLICY_FILE`, `SIDEKICK_PLAYBOOKS_FILE` and `SIDEKICK_TEMPLATES_FILE` (beside
`SIDEKICK_TEAMS_FILE`) name files that replace the packaged `agent/data/*.toml`. Each is
read and checked once, when a process starts (`app/runtime.py: apply_handbook`); an error
names the file and the key, and the CLI exits 2 on it.

TRICKY: the three are installed as the process's defaults rather than passed in the
Context: the store orders its queue by `priority_for` when it accepts a ticket (no graph
context there), and every node, guard and drafter reads them through `default_*()`.
"""

from __future__ import annotations

from pathlib import Path

from agent.playbooks import install_playbooks, load_playbooks
from agent.policy import install_policy, load_policy
from agent.templates import install_templates, load_templates


class HandbookError(ValueError):
    """A handbook file is missing, not TOML, or has a key that is wrong (named)."""


def use_handbook(*, policy_file: Path | None = None, playbooks_file: Path | None = None,
                 templates_file: Path | None = None) -> None:
    """Read and check the given files, then make them (or the packaged ones) the defaults.

    Nothing is installed unless all three load: a bad file never leaves half a handbook.

    Raises:
        HandbookError: a file is unreadable or malformed (the message names the key).

    """
    try:
        policy = load_policy(policy_file) if policy_file else None
        playbooks = load_playbooks(playbooks_file) if playbooks_file else None
        templates = load_templates(templates_file) if templates_file else None
    except ValueError as exc:
        raise HandbookError(str(exc)) from None
    install_policy(policy)
    install_playbooks(playbooks)
    install_templates(templates)
