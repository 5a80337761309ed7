"""Where a Zendesk ticket was really asked: a community question, a GitHub issue, or Zendesk.

The handbook page says Zendesk also receives outside contributors' GitHub issues and the
community questions asked on posthog.com, each with a link to where it was asked, and that
they are answered there rather than from Zendesk.

TRICKY: the link is in the ticket's text, and customer text must never choose the queue. A
link counts only on a ticket an integration made (Zendesk's `via` channel `api`) or one its
form tagged; a customer who pastes a community link into an e-mail is still an e-mail.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

#: The tags the posthog.com question form (and Zendesk triggers) put on a community question.
COMMUNITY_TAGS = frozenset({"community", "community_question", "community-question",
                            "community-questions"})
#: The tags the GitHub integration puts on a ticket made from an issue.
GITHUB_TAGS = frozenset({"github", "github_issue", "github-issue"})
#: `via` channels of tickets an integration created (not a person typing to support).
INTEGRATION_VIA = frozenset({"api"})

_COMMUNITY_LINK = re.compile(
    r"https?://(?:www\.)?posthog\.com/(?:questions|community/questions)/[\w%.~-]+(?:#[\w-]+)?",
    re.IGNORECASE)
_GITHUB_LINK = re.compile(
    r"https?://github\.com/PostHog/(?:posthog|posthog\.com)/issues/\d+", re.IGNORECASE)


class AskedElsewhere(NamedTuple):
    """The channel a Zendesk ticket stands for, and the page to answer it on (None: unknown)."""

    source: str
    url: str | None


def via_channel(via: Any) -> str | None:
    """Zendesk's `via.channel` (zenpy's Via object or the JSON dict), lower-cased."""
    channel = via.get("channel") if isinstance(via, dict) else getattr(via, "channel", None)
    return str(channel).strip().lower() or None if channel is not None else None


def asked_elsewhere(body: str | None, tags: list[str], via: str | None
                    ) -> AskedElsewhere | None:
    """A community question or a GitHub issue that reached Zendesk; None for a plain ticket.

    A form's tag is enough on its own (its link, when the body has one, is the page); a link
    alone counts only on a ticket an integration made (see the module's TRICKY note).
    """
    lowered = {t.strip().lower() for t in tags}
    text = body or ""
    from_integration = via in INTEGRATION_VIA
    for source, wanted, pattern in (("community", COMMUNITY_TAGS, _COMMUNITY_LINK),
                                    ("github", GITHUB_TAGS, _GITHUB_LINK)):
        link = pattern.search(text)
        if lowered & wanted or (from_integration and link):
            return AskedElsewhere(source, link.group(0) if link else None)
    return None
