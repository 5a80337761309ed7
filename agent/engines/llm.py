"""The LLM engine: classification refinement and drafting through an OpenAI-compatible endpoint.

Every answer is validated against a pydantic model whose `Literal`s are built from the run's
taxonomy, so a team, kind or citation outside it is an error, never a label. An unusable
answer gets one repair round (the validation error is sent back); after that, or when the
endpoint fails, the offline answer is used and a warning says so.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from agent import prompts
from agent.engines.base import DraftRequest, Engine, EngineResult
from agent.models import KINDS, Draft, Status, Ticket, Usage
from agent.playbooks import Playbook, get_playbook
from agent.stages import default_stages
from agent.state import Classification
from agent.teams import Teams
from tools.llm import ContextLengthError, LLMCallError, Wire, chat_json

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

ERROR_CHARS = 400
#: A conservative characters-per-token ratio for estimating a prompt before sending it
#: (English runs ~4 with most tokenizers; URLs, code and other languages fewer).
CHARS_PER_TOKEN = 3.0
#: Tokens the chat template adds around the messages, and a margin for the estimate.
TEMPLATE_TOKENS = 64
#: A classification answer is three short fields: it never needs the draft's budget.
CLASSIFY_MAX_TOKENS = 200
#: Shrink steps tried before the first request when the prompt looks too long.
SCALES = (1.0, 0.6, 0.35, 0.2, 0.1)
#: Tickets whose time budget is remembered (their classify and draft calls share it).
BUDGETS_KEPT = 256
#: Seconds past its budget after which a ticket's start belongs to an earlier turn: the
#: nodes between classification and draft (retrieval, issue search) take far less.
STALE_AFTER_S = 60.0

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


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """A cautious estimate of the tokens `messages` take (no tokenizer is loaded)."""
    chars = sum(len(m.get("content") or "") for m in messages)
    return int(chars / CHARS_PER_TOKEN) + TEMPLATE_TOKENS


Build = Callable[[float], list[dict[str, str]]]


class LLMEngine:
    """The `Engine` backed by a chat model, falling back to another engine on failure.

    Each call has a token budget: the prompt is shrunk (fewer, shorter passages, a shorter
    ticket) until its estimate plus `max_tokens` fits `context_tokens`, and again, from the
    server's own numbers, when the server still says it does not fit. A ticket's calls
    (classification, draft, repairs, retries) share `ticket_budget_s` of wall time.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        fallback: Engine,
        name: str = "llm",
        max_tokens: int = 768,
        context_tokens: int = 8192,
        ticket_budget_s: float = 120.0,
        max_retries: int | None = None,
        temperature: float | None = 0.0,
        secret: str | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.fallback = fallback
        self.name = name
        self.max_tokens = max_tokens
        self.context_tokens = context_tokens
        self.ticket_budget_s = ticket_budget_s
        self.max_retries = max_retries
        self.temperature = temperature
        self.secret = secret
        #: The endpoint's `response_format` step, learnt once for every later call.
        self.wire = Wire()
        self._started: OrderedDict[str, float] = OrderedDict()

    def _deadline(self, ticket_id: str, *, restart: bool) -> float:
        """The ticket's deadline; classification starts it, the draft reuses it."""
        now = time.monotonic()
        started = self._started.get(ticket_id)
        if restart or started is None or now - started > self.ticket_budget_s + STALE_AFTER_S:
            started = now
        self._started[ticket_id] = started
        self._started.move_to_end(ticket_id)
        while len(self._started) > BUDGETS_KEPT:
            self._started.popitem(last=False)
        return started + self.ticket_budget_s

    def _fit(self, build: Build, max_tokens: int, scale: float = 1.0
             ) -> tuple[list[dict[str, str]], float, int]:
        """The largest prompt (from `scale` down) whose estimate fits beside the answer."""
        budget = self.context_tokens - max_tokens
        for step in (s for s in SCALES if s <= scale):
            messages = build(step)
            if estimate_tokens(messages) <= budget:
                return messages, step, max_tokens
        # Even the smallest prompt does not fit beside the answer: give the answer less.
        messages = build(SCALES[-1])
        left = self.context_tokens - estimate_tokens(messages)
        return messages, SCALES[-1], max(64, min(max_tokens, left))

    def _ask(
        self, build: Build, schema: type[BaseModel], usage: Usage, *, deadline: float,
        max_tokens: int,
    ) -> tuple[BaseModel | None, str]:
        """Ask, validate, repair once. Returns the answer or None and the reason it failed.

        `usage` is updated in place with every request sent: retries, refused schemas,
        context overflows, repairs, and the failed ones.
        """
        json_schema = schema.model_json_schema()
        messages, scale, max_tokens = self._fit(build, max_tokens)
        error, repaired, shrunk = "", False, 0
        while True:
            try:
                answer = chat_json(
                    self.client, model=self.model, messages=messages,
                    schema_name=schema.__name__, json_schema=json_schema,
                    max_tokens=max_tokens, temperature=self.temperature, deadline=deadline,
                    max_retries=self.max_retries,
                    wire=self.wire, secret=self.secret,
                )
            except ContextLengthError as exc:
                _count(usage, exc.usage)
                if shrunk >= 2:
                    return None, str(exc)
                shrunk += 1
                messages, scale, max_tokens = self._shrink(build, exc, messages, scale,
                                                           max_tokens)
                repaired = False  # the shrunk prompt starts over, repair included
                continue
            except LLMCallError as exc:
                _count(usage, exc.usage)
                return None, str(exc)
            _count(usage, answer.usage)
            try:
                return schema.model_validate_json(answer.content), ""
            except ValidationError as exc:
                error = describe(exc)
                if answer.truncated:
                    error = (f"the answer was cut off at the {max_tokens}-token limit; "
                             f"answer again, shorter ({error})")[:ERROR_CHARS]
                log.info("llm answer failed validation: %s", error)
            if repaired:
                return None, f"invalid output after one repair ({error})"
            repaired = True
            messages = prompts.repair_messages(messages, answer.content, error)

    def _shrink(self, build: Build, exc: ContextLengthError, messages: list[dict[str, str]],
                scale: float, max_tokens: int) -> tuple[list[dict[str, str]], float, int]:
        """Rebuild the prompt to fit the context the server says it has."""
        n_ctx = exc.n_ctx or self.context_tokens
        # Later tickets fit up front instead of paying for the overflow again.
        self.context_tokens = min(self.context_tokens, n_ctx)
        sent = exc.n_prompt_tokens or estimate_tokens(messages)
        max_tokens = min(max_tokens, max(64, n_ctx // 4))
        room = n_ctx - max_tokens - TEMPLATE_TOKENS
        new_scale = max(SCALES[-1], min(scale * 0.9 * room / max(sent, 1), scale * 0.6))
        log.info("prompt of %d tokens over a %d-token context; shrinking to %.2f",
                 sent, n_ctx, new_scale)
        return build(new_scale), new_scale, max_tokens

    def classify(
        self, ticket: Ticket, *, teams: Teams, prior: Classification
    ) -> EngineResult[Classification]:
        """Ask the model for team and kind; on failure return `prior` with a warning.

        The answer is the model's reading only (no confidence: it gives no calibrated one);
        the classify node weighs it against the offline classifier's.
        """
        usage = Usage()
        deadline = self._deadline(ticket.id, restart=True)
        answer, reason = self._ask(
            lambda scale: prompts.classify_messages(ticket, teams, scale=scale),
            classification_model(teams.slugs), usage, deadline=deadline,
            max_tokens=min(CLASSIFY_MAX_TOKENS, self.max_tokens))
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

        def build(scale: float) -> list[dict[str, str]]:
            return prompts.draft_messages(
                ticket=request.ticket,
                team=request.team.slug,
                priority=request.priority,
                kind=request.kind,
                playbook=playbook,
                passages=request.passages,
                issue=request.issue,
                scale=scale,
                conversation=request.conversation if request.turn > 1 else "",
                stage=request.stage,
            )

        allowed = [p.url for p in request.passages if p.url and not p.internal]
        if request.issue.action == "link" and request.issue.url:
            allowed.append(request.issue.url)
        schema = draft_model(list(dict.fromkeys(allowed)))
        deadline = self._deadline(request.ticket.id, restart=False)
        answer, reason = self._ask(build, schema, usage, deadline=deadline,
                                   max_tokens=self.max_tokens)
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
        stage = default_stages().get(request.stage or "", request.stage_entry) \
            if request.turn > 1 else None
        if stage is not None:
            # A later turn: the stage decides (2FA confirmed: solved; denied: pending), and a
            # reply to someone who just wrote to us is public, as the offline follow-up's.
            status_after, public = stage.status_after, True
        draft = Draft(
            body=data["body"].strip(),
            internal_note=data["internal_note"].strip(),
            status_after=status_after,
            public=public,
            citations=list(dict.fromkeys(data["citations"])),
        )
        return EngineResult(draft, usage=usage, engine=self.name)


def _count(usage: Usage, spent: Any) -> None:
    usage.calls += spent.calls
    usage.prompt_tokens += spent.prompt_tokens
    usage.completion_tokens += spent.completion_tokens
