"""The LLM engine: classification refinement and drafting through an OpenAI-compatible endpoint.

Every answer is validated against a pydantic model whose `Literal`s are built from the run's
taxonomy, so a team, kind or citation outside it is an error, never a label. An unusable
answer gets one repair round (the validation error is sent back); after that, or when the
endpoint fails, the offline answer is used and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from agent import prompts
from agent.engines.base import DraftRequest, Engine, EngineResult
from agent.models import KINDS, Draft, Status, Ticket, Usage
from agent.playbooks import Playbook, get_playbook
from agent.state import Classification
from agent.teams import Teams
from tools.llm import LLMCallError, chat_json

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

ERROR_CHARS = 400

_STRICT = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class _DraftBase(BaseModel):
    model_config = _STRICT

    @field_validator("body", check_fields=False)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # A validator, not `min_length`: strict json_schema mode rejects `minLength`.
        if not value.strip():
            raise ValueError("must be the reply text, not empty")
        return value


def classification_model(team_slugs: Sequence[str]) -> type[BaseModel]:
    """Build the classification answer's model, its team `Literal` from the taxonomy.

    Priority is deliberately absent: the handbook orders the queue by metadata (CS escalation,
    Zendesk priority, plan, channel) that `agent.policy` reads exactly. Asking the model would
    cost tokens and invite a second, unaccountable opinion on a rule-decided field.
    """
    # Literals built at run time: the taxonomy is data, so mypy cannot see their members.
    team: Any = Literal[tuple(team_slugs)]
    kind: Any = Literal[KINDS]
    return create_model(
        "LLMClassification", __config__=_STRICT, team=(team, ...), kind=(kind, ...),
        rationale=(str, ...),
    )


def draft_model(allowed_urls: Sequence[str]) -> type[BaseModel]:
    """Build the draft answer's model; `citations` may only name the URLs given."""
    url: Any = Literal[tuple(allowed_urls)] if allowed_urls else str
    citations: Any = (list[url], ...) if allowed_urls else (list[str], Field(..., max_length=0))
    status: Any = Status
    return create_model(
        "LLMDraft",
        __base__=_DraftBase,
        body=(str, ...),
        internal_note=(str, ...),
        status_after=(status, ...),
        citations=citations,
    )


def describe(exc: ValidationError) -> str:
    """Say briefly what was wrong, without the input (safe to log and send back)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)[:ERROR_CHARS]


def _add(left: Usage, right: Usage) -> Usage:
    return Usage(
        calls=left.calls + right.calls,
        prompt_tokens=left.prompt_tokens + right.prompt_tokens,
        completion_tokens=left.completion_tokens + right.completion_tokens,
    )


def find_playbook(name: str | None) -> Playbook | str | None:
    """Return the named playbook, or just its name when the playbooks file lacks it."""
    if not name:
        return None
    try:
        return get_playbook(name)
    except ValueError:
        return name


class LLMEngine:
    """The `Engine` backed by a chat model, falling back to another engine on failure."""

    def __init__(
        self, client: openai.OpenAI, *, model: str, fallback: Engine, name: str = "llm"
    ) -> None:
        self.client = client
        self.model = model
        self.fallback = fallback
        self.name = name

    def _ask(
        self, messages: list[dict[str, str]], schema: type[BaseModel], usage: Usage
    ) -> tuple[BaseModel | None, str]:
        """Ask, validate, repair once. Returns the answer or None and the reason it failed.

        `usage` is updated in place with every call, including failed and repair calls; a
        call is one request as we see it (the SDK's own retries inside it are not counted).
        """
        json_schema = schema.model_json_schema()
        error = ""
        for _attempt in range(2):
            usage.calls += 1
            try:
                content, tokens = chat_json(
                    self.client,
                    model=self.model,
                    messages=messages,
                    schema_name=schema.__name__,
                    json_schema=json_schema,
                )
            except LLMCallError as exc:
                return None, str(exc)
            usage.prompt_tokens += tokens.prompt_tokens
            usage.completion_tokens += tokens.completion_tokens
            try:
                return schema.model_validate_json(content), ""
            except ValidationError as exc:
                error = describe(exc)
                log.info("llm answer failed validation: %s", error)
                messages = prompts.repair_messages(messages, content, error)
        return None, f"invalid output after one repair ({error})"

    def classify(
        self, ticket: Ticket, *, teams: Teams, prior: Classification
    ) -> EngineResult[Classification]:
        """Ask the model for team and kind; on failure return `prior` with a warning.

        The answer is the model's reading only (no confidence: it gives no calibrated one);
        the classify node weighs it against the offline classifier's.
        """
        usage = Usage()
        messages = prompts.classify_messages(ticket, teams)
        answer, reason = self._ask(messages, classification_model(teams.slugs), usage)
        if answer is None:
            warning = f"llm classify failed: {reason}; used the offline classifier"
            log.warning("%s (ticket %s)", warning, ticket.id)
            return EngineResult(prior, usage=usage, warnings=[warning],
                                engine=f"{self.name}→offline",
                                reason=f"llm classify failed: {reason}")
        reading = Classification(
            team=answer.team,  # type: ignore[attr-defined]
            kind=answer.kind,  # type: ignore[attr-defined]
            rationale=answer.rationale,  # type: ignore[attr-defined]
            engine=self.name,
        )
        return EngineResult(reading, usage=usage, engine=self.name)

    def draft(self, request: DraftRequest) -> EngineResult[Draft]:
        """Ask the model for the reply; on failure use the fallback engine's draft."""
        usage = Usage()
        playbook = find_playbook(request.playbook)
        messages = prompts.draft_messages(
            ticket=request.ticket,
            team=request.team.slug,
            priority=request.priority,
            kind=request.kind,
            playbook=playbook,
            passages=request.passages,
            issue=request.issue,
        )
        allowed = [p.url for p in request.passages if p.url and not p.internal]
        if request.issue.action == "link" and request.issue.url:
            allowed.append(request.issue.url)
        schema = draft_model(list(dict.fromkeys(allowed)))
        answer, reason = self._ask(messages, schema, usage)
        if answer is None:
            warning = f"llm draft failed: {reason}; used the {self.fallback.name} draft"
            log.warning("%s (ticket %s)", warning, request.ticket.id)
            fallback = self.fallback.draft(request)
            return EngineResult(
                fallback.value,
                usage=_add(usage, fallback.usage),
                warnings=[warning, *fallback.warnings],
                engine=f"{self.name}→{self.fallback.name}",
                reason=f"llm draft failed: {reason}",
            )
        data: dict[str, Any] = answer.model_dump()
        # Status and publicity are policy, not the model's call: a playbook fixes both (2FA
        # waits for the owner's confirmation); otherwise low priority may close silently.
        status_after, public = data["status_after"], request.priority != "low"
        if isinstance(playbook, Playbook):
            status_after, public = playbook.status_after, playbook.is_public(request.priority)
        draft = Draft(
            body=data["body"].strip(),
            internal_note=data["internal_note"].strip(),
            status_after=status_after,
            public=public,
            citations=list(dict.fromkeys(data["citations"])),
        )
        return EngineResult(draft, usage=usage, engine=self.name)
