"""The offline engine: no network, no model calls beyond the embedding classifier.

Classification is the embedding classifier's (which always runs before any engine), and the
draft is a grounded template (`agent.drafting.build_draft`). It is also the fallback the
check node uses when another engine's draft cannot be repaired.
"""

from __future__ import annotations

from agent.drafting import build_draft
from agent.engines.base import DraftRequest, EngineResult
from agent.models import Draft, Ticket
from agent.state import Classification
from agent.teams import Teams
from agent.templates import Templates, default_templates


class OfflineEngine:
    """Grounded templates; deterministic, fast and free."""

    name = "offline"

    def __init__(self, templates: Templates | None = None) -> None:
        """Use `templates` for the wording (the packaged ones by default)."""
        self._templates = templates or default_templates()

    def classify(
        self, ticket: Ticket, *, teams: Teams, prior: Classification
    ) -> EngineResult[Classification]:
        """Return the embedding classifier's answer unchanged: there is nothing to refine."""
        return EngineResult(value=prior)

    def draft(self, request: DraftRequest) -> EngineResult[Draft]:
        """Return the template draft, with a warning when no passage grounded an answer."""
        draft = build_draft(request, self._templates)
        warnings = []
        if request.kind in ("question", "account_request") and not request.playbook:
            if not draft.citations:
                warnings.append(
                    f"ticket {request.ticket.id}: no retrieved passage answered the question; "
                    "the draft asks for details instead"
                )
        return EngineResult(value=draft, warnings=warnings)
