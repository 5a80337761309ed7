"""What `sidekick serve` will not run without, and the one explicit way to run without it.

Outside `SIDEKICK_ENV=development` (set explicitly; the default is `production`) the server
refuses to start, naming each missing setting, without:

- `SIDEKICK_API_TOKENS` (the HTTP API's bearer tokens);
- `SIDEKICK_SLACK_SIGNING_SECRET` when the Slack app is on (`SIDEKICK_SLACK_BOT_TOKEN` set);
- `SIDEKICK_ZENDESK_WEBHOOK_SECRET` when the Zendesk webhook route is on
  (`SIDEKICK_ZENDESK_WEBHOOK`, by default on when Zendesk is configured).

In development it starts, with a WARNING block naming each missing protection, but still
refuses to listen on a non-loopback address without API tokens.
"""

from __future__ import annotations

import ipaddress

from app.settings import Settings


class InsecureConfig(RuntimeError):
    """The server would start without a protection it needs."""


def missing_protections(settings: Settings) -> list[str]:
    """One sentence per protection the settings leave out (empty: all in place)."""
    missing = []
    if not settings.api_token_list:
        missing.append("SIDEKICK_API_TOKENS is empty: the HTTP API (/tickets, /queue, "
                       "/drafts) would answer anyone")
    if settings.slack_bot_token and not settings.slack_signing_secret:
        missing.append("SIDEKICK_SLACK_SIGNING_SECRET is not set although the Slack app is "
                       "on (SIDEKICK_SLACK_BOT_TOKEN): Slack's requests cannot be verified")
    if settings.zendesk_webhook_on and not settings.zendesk_webhook_secret:
        missing.append("SIDEKICK_ZENDESK_WEBHOOK_SECRET is not set although the Zendesk "
                       "webhook is on (Zendesk is configured; SIDEKICK_ZENDESK_WEBHOOK=false "
                       "turns it off): POST /webhooks/zendesk cannot verify Zendesk")
    return missing


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_security(settings: Settings, *, host: str | None = None) -> list[str]:
    """The missing protections development runs without (empty when none are missing).

    Raises:
        InsecureConfig: one is missing and SIDEKICK_ENV is not `development`, or `host` is
            not a loopback address and there are no API tokens.

    """
    missing = missing_protections(settings)
    if missing and settings.env != "development":
        raise InsecureConfig(
            f"refusing to start (SIDEKICK_ENV={settings.env}): " + "; ".join(missing)
            + ". Set what is missing, or SIDEKICK_ENV=development explicitly to run without "
            "it on this machine only")
    if host is not None and not settings.api_token_list and not is_loopback(host):
        raise InsecureConfig(
            f"refusing to listen on {host} without SIDEKICK_API_TOKENS, even with "
            "SIDEKICK_ENV=development: bind 127.0.0.1 or set the tokens")
    return missing


def warning_block(missing: list[str]) -> str:
    """The loud banner a development server prints at start."""
    rule = "!" * 78
    lines = [rule, "WARNING: SIDEKICK_ENV=development: serving WITHOUT these protections:",
             *(f"  - {m}" for m in missing),
             "Do not expose this server. Set the settings above before anyone else can reach it.",
             rule]
    return "\n".join(lines)
