"""Process settings: the one place that reads the environment (prefix `SIDEKICK_`)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChannelOrg(BaseModel):
    """The customer behind a Slack customer channel (`SIDEKICK_SLACK_CHANNEL_ORGS`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    plan: Literal["enterprise", "paid", "free"] | None = None


class Settings(BaseSettings):
    """Paths, endpoints and secrets. Per-run knobs travel in the graph's Context."""

    # Errors name the setting, never echo its value: the environment holds secrets.
    model_config = SettingsConfigDict(env_prefix="SIDEKICK_", env_file=None, extra="ignore",
                                      hide_input_in_errors=True)

    #: `production` unless set: `serve` then refuses to start without its protections (API
    #: tokens, the Slack signing secret, the Zendesk webhook secret). `development`, set
    #: explicitly, starts without them and says so; `test` is production for the test suite.
    env: Literal["development", "production", "test"] = "production"
    home: Path = Path(".sidekick")
    #: The level of every process's log (the CLI, the API, the worker); `sidekick serve
    #: --log-level` overrides it for the API and its worker (app/logs.py).
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    #: `text` for a person at a terminal; `json`: one object per line, with `ticket_id` on
    #: every line about a ticket, for a log collector.
    log_format: Literal["text", "json"] = "text"
    teams_file: Path | None = None
    #: Handbook policy replacing the packaged `agent/data/*.toml` (queue order and response
    #: targets; the special cases' playbooks; reply and note templates). Each is checked
    #: when loaded: an error names the file and the key.
    policy_file: Path | None = None
    playbooks_file: Path | None = None
    templates_file: Path | None = None
    corpus_dirs: list[Path] = Field(default_factory=list)

    # LLM engine: on when a base URL or an OpenAI key is set.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SIDEKICK_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_model: str = "gpt-4o-mini"
    #: Seconds one request may take; a timeout is not retried (the prompt would be as slow).
    llm_timeout_s: float = 30.0
    #: Retries of a 429, a 5xx or a dropped connection (Retry-After honoured), per request.
    llm_max_retries: int = Field(default=2, ge=0)
    #: The most tokens one answer may take (`max_tokens`; a classification takes ≤ 200).
    llm_max_tokens: int = Field(default=768, ge=16)
    #: The model's context window in tokens: each prompt is shrunk to fit beside the answer.
    #: A server that says its window is smaller is believed for the rest of the run.
    llm_context_tokens: int = Field(default=8192, ge=256)
    #: Seconds of LLM time per ticket (classification, draft, repairs and retries together);
    #: past it the ticket gets the offline answer.
    llm_ticket_budget_s: float = Field(default=120.0, gt=0)
    #: Sampling temperature: 0 makes a ticket's triage repeatable.
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    #: When the offline classifier is at least this sure, the LLM's classification call is skipped.
    llm_skip_classify_above: float = Field(default=0.9, ge=0.0, le=1.0)
    #: Below this offline confidence a disagreeing LLM may choose the team or kind (among the
    #: offline classifier's top three, marked uncertain); from it up the offline label stays.
    llm_outvote_below: float = Field(default=0.45, ge=0.0, le=1.0)

    top_k: int = 5
    #: Below this team confidence the result says the team is uncertain and asks the hero.
    confidence_threshold: float = 0.45
    #: Link score (cosine + 0.5 × IDF-weighted title overlap, see `IssueMatch.link_score`)
    #: from which an existing GitHub issue is linked instead of drafting a new one.
    link_threshold: float = 0.8

    # The knowledge store: embedded under `home`, or a Chroma server (`chroma run`).
    #: http(s)://host:port of a Chroma server that every host shares; unset: embedded.
    chroma_url: str | None = None
    #: Sent as `Authorization: Bearer <token>` to the Chroma server (or the proxy before it).
    chroma_token: SecretStr | None = None
    #: More headers for the Chroma server, as a JSON object (`{"X-Chroma-Token": "..."}`).
    chroma_headers: SecretStr | None = None
    #: The server's database that holds Sidekick's collections (created on first use).
    chroma_database: str = "default_database"
    #: Seconds any one request to the Chroma server may take before it is an error.
    chroma_timeout_s: float = Field(default=10.0, gt=0)

    # The store and the API (`sidekick serve`).
    #: SQLAlchemy URL of the store (and the checkpointer); default: SQLite under `home`.
    database_url: str | None = None
    #: Seconds between a process's checks for a newer classifier version in the store (one
    #: query; `sidekick train` anywhere stores a new one, every process then swaps it in).
    classifier_refresh_s: float = Field(default=30.0, ge=0)
    #: Connections of the PostgreSQL checkpointer's pool, per process.
    checkpoint_pool_size: int = Field(default=4, ge=1)
    #: Bearer tokens the API accepts, comma-separated; none: `serve` refuses outside development.
    api_tokens: SecretStr | None = None
    #: The secret of Zendesk's webhook (signs `POST /webhooks/zendesk`).
    zendesk_webhook_secret: SecretStr | None = None
    #: Serve `POST /webhooks/zendesk`; unset: on when a webhook secret or Zendesk is configured.
    zendesk_webhook: bool | None = None
    #: Largest request body the API reads (413 above it), on every route, before any auth.
    api_max_body_bytes: int = Field(default=1_000_000, ge=1_024)
    #: Seconds the background worker sleeps when no ticket is waiting.
    worker_poll_s: float = 1.0
    #: Niceness added to the worker process of `sidekick serve`: on a busy CPU the API's
    #: acknowledgements go first and triage takes what is left (0: same priority).
    worker_nice: int = 10
    #: Seconds the worker process of `sidekick serve` may go without its heartbeat (one a
    #: second, even mid-triage) before the server counts it as hung, kills and restarts it.
    worker_hang_s: float = 60.0
    #: Seconds a worker's claim on a ticket holds without a heartbeat (renewed every third
    #: of it): a dead worker's tickets go to another worker this long after its last beat.
    worker_lease_s: float = Field(default=30.0, gt=0)
    #: Accepted tickets a worker claims at once (and triages one after the other).
    worker_batch: int = Field(default=8, ge=1)
    #: Seconds a ticket may stay `deciding` before the worker finishes its decision itself
    #: (the request that started it died). Longer than a decision's slowest delivery.
    decide_grace_s: float = 300.0
    #: Seconds uvicorn keeps an idle connection open. Longer than clients' own idle expiry
    #: (httpx: 5 s), so the client closes first and never sends on a connection being closed.
    api_keep_alive_s: int = 75

    # Zendesk (zenpy). `zendesk_url` overrides https://{subdomain}.zendesk.com (a proxy, a fake).
    zendesk_subdomain: str | None = None
    zendesk_email: str | None = None
    zendesk_token: SecretStr | None = None
    zendesk_url: str | None = None
    #: Team slug -> the id of the Zendesk view (the team's folder) that `poll` reads.
    zendesk_views: dict[str, int] = Field(default_factory=dict)
    #: Seconds between two reads of the team views by `sidekick serve` (with views set).
    zendesk_poll_s: float = 60.0
    #: The organization field (or `plan_<value>` tag) that holds enterprise / paid / free.
    zendesk_plan_field: str = "plan"
    zendesk_max_retries: int = 3
    #: Seconds Sidekick may spend waiting on Zendesk's Retry-After per call.
    zendesk_ratelimit_budget_s: int = 60

    #: Seconds within which a Zendesk ticket and a 🎫 Slack thread from the same requester
    #: with nearly the same words are one request (Pylon makes the one of the other; its
    #: permalink in the Zendesk ticket matches them at any age).
    same_request_window_s: float = Field(default=86_400.0, gt=0)

    # Slack (slack-bolt / slack_sdk). `slack_api_url` overrides https://slack.com/api/.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    #: Team slug -> the channel id where that team's drafts are posted.
    slack_team_channels: dict[str, str] = Field(default_factory=dict)
    #: The Customer Success escalation channel (mentions there mark a ticket CS-escalated).
    slack_cs_channel: str | None = None
    #: Channels where a 🎫 reaction turns a thread into a ticket (empty: any channel).
    slack_customer_channels: list[str] = Field(default_factory=list)
    #: Customer channel id -> its organization and plan, e.g.
    #: `{"C0ACME": {"name": "Acme", "plan": "enterprise"}}`: a 🎫 thread there is theirs.
    slack_channel_orgs: dict[str, ChannelOrg] = Field(default_factory=dict)
    #: Team slug -> Slack user ids who may decide on that team's drafts (none: nobody may).
    slack_rotation: dict[str, list[str]] = Field(default_factory=dict)

    # GitHub (httpx, REST).
    github_repo: str | None = None
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_max_retries: int = 3

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be http(s)://host:port of a Chroma server")
        if parts.username or parts.password:  # they would be printed with the URL
            raise ValueError("must not carry credentials: use SIDEKICK_CHROMA_TOKEN or "
                             "SIDEKICK_CHROMA_HEADERS")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.strip()

    @field_validator("chroma_headers")
    @classmethod
    def _chroma_headers(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _header_map(value)
        return value

    @property
    def chroma_header_map(self) -> dict[str, str]:
        """Every header for the Chroma server (values are secrets: never log them)."""
        headers = _header_map(self.chroma_headers) if self.chroma_headers else {}
        if self.chroma_token:
            headers["Authorization"] = f"Bearer {self.chroma_token.get_secret_value()}"
        return headers

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def api_token_list(self) -> tuple[str, ...]:
        """The API's bearer tokens (empty when none are configured)."""
        raw = self.api_tokens.get_secret_value() if self.api_tokens else ""
        return tuple(t.strip() for t in raw.split(",") if t.strip())

    @property
    def zendesk_webhook_on(self) -> bool:
        """Whether the API serves Zendesk's webhook (`SIDEKICK_ZENDESK_WEBHOOK`, or inferred)."""
        if self.zendesk_webhook is not None:
            return self.zendesk_webhook
        return bool(self.zendesk_webhook_secret or self.zendesk_subdomain)

    @property
    def llm_enabled(self) -> bool:
        """Whether an LLM endpoint is configured."""
        return bool(self.llm_base_url or self.llm_api_key)

    @cached_property
    def chroma_dir(self) -> Path:
        """The persistent Chroma store."""
        return self.home / "chroma"

    @cached_property
    def checkpoint_db(self) -> Path:
        """The LangGraph SQLite checkpointer's file."""
        return self.home / "checkpoints.sqlite"

    @cached_property
    def classifier_dir(self) -> Path:
        """The trained classifier and the embeddings of its examples."""
        return self.home / "classifier"

    @cached_property
    def outbox_db(self) -> Path:
        """Where approved replies are recorded (the local delivery channel)."""
        return self.home / "outbox.sqlite"


def _header_map(value: SecretStr) -> dict[str, str]:
    """Parse SIDEKICK_CHROMA_HEADERS; the error says what is wrong, never what was set."""
    try:
        parsed = json.loads(value.get_secret_value())
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()):
        raise ValueError("must be a JSON object of header names to string values")
    return parsed


def get_settings() -> Settings:
    """Read the settings from the environment, now (never at import)."""
    return Settings()
