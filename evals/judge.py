"""An LLM judge of replies: helpful, polite in tone, grounded in the cited sources.

Runs only when an LLM is configured (`Settings.llm_enabled`), through the same client
factory as the LLM engine (`tools/llm.py`), beside the rule checks of draft_checks.py: the
rules say what a reply must and must not contain, the judge whether a person would find it
useful. Each verdict is pass/fail with a one-sentence reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.models import TriageResult
from evals.prompts import JUDGE_SYSTEM
from evals.runner import Observation

#: Criteria, in the order the report lists them.
CRITERIA = ("helpful", "tone", "grounded")
#: Characters of each passage shown to the judge.
PASSAGE_CHARS = 700
#: A verdict is three booleans and one sentence.
JUDGE_MAX_TOKENS = 200
#: Said in the report when the judge's model also wrote the drafts it judges.
SELF_JUDGED = ("the judge ({model}) judged drafts that its own model wrote: a model rates "
               "its own output kindly, so these verdicts flatter the LLM engine")

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "helpful": {"type": "boolean"},
        "tone": {"type": "boolean"},
        "grounded": {"type": "boolean"},
        "reason": {"type": "string"},
    },
    "required": ["helpful", "tone", "grounded", "reason"],
    "additionalProperties": False,
}


class Verdict(BaseModel):
    """The judge's answer for one draft."""

    helpful: bool
    tone: bool
    grounded: bool
    reason: str = ""

    @property
    def passed(self) -> bool:
        """Whether every criterion passed."""
        return self.helpful and self.tone and self.grounded


def judge_messages(ticket_text: str, result: TriageResult) -> list[dict[str, str]]:
    """The chat messages asking for one verdict."""
    sources = [f"[{i}] {p.title} — {p.url or 'no URL'}\n{p.text[:PASSAGE_CHARS]}"
               for i, p in enumerate(result.passages, 1)]
    if result.issue.url:
        sources.append(f"[GitHub issue, {result.issue.action}] {result.issue.title or ''} — "
                       f"{result.issue.url}")
    user = (f"<ticket>\n{ticket_text}\n</ticket>\n\n<sources>\n"
            + ("\n\n".join(sources) or "(none)")
            + f"\n</sources>\n\n<draft status_after=\"{result.draft.status_after}\">\n"
            + f"{result.draft.body}\n</draft>")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def judge_one(client: Any, model: str, obs: Observation) -> tuple[Verdict | None, str, int]:
    """Ask for one verdict; returns it (None on failure), the error, and tokens spent."""
    from tools.llm import LLMCallError, chat_json

    assert obs.result is not None
    try:
        answer = chat_json(client, model=model,
                           messages=judge_messages(obs.row.ticket.text, obs.result),
                           schema_name="draft_verdict", json_schema=JUDGE_SCHEMA,
                           max_tokens=JUDGE_MAX_TOKENS)
    except LLMCallError as exc:
        return None, str(exc), exc.usage.prompt_tokens + exc.usage.completion_tokens
    tokens = answer.usage.prompt_tokens + answer.usage.completion_tokens
    try:
        return Verdict.model_validate(json.loads(answer.content)), "", tokens
    except (json.JSONDecodeError, ValidationError) as exc:
        return None, f"unreadable verdict ({type(exc).__name__})", tokens


def self_judged(model: str, engine_model: str | None, observations: Sequence[Observation]
                ) -> bool:
    """Whether any draft was written by an LLM engine running the judge's own model."""
    return engine_model == model and any(
        o.result is not None and o.result.engine.startswith("llm") for o in observations)


def judge_drafts(client: Any, model: str, observations: Sequence[Observation],
                 engine_model: str | None = None) -> dict[str, Any] | None:
    """Judge every row that has draft expectations; None when there is none.

    `engine_model` is the model the LLM engine drafted with (None: no LLM engine ran); when
    it is the judge's, the result carries a warning, and the CLI prints it.
    """
    rows = [o for o in observations if o.row.expected.get("draft") and o.result is not None]
    if not rows:
        return None
    warnings = [SELF_JUDGED.format(model=model)] if self_judged(model, engine_model,
                                                                rows) else []
    verdicts: list[tuple[Observation, Verdict]] = []
    failures, errors, tokens = [], [], 0
    for obs in rows:
        verdict, error, spent = judge_one(client, model, obs)
        tokens += spent
        if verdict is None:
            errors.append({"id": obs.row.id, "error": error})
            continue
        verdicts.append((obs, verdict))
        if not verdict.passed:
            failures.append({"id": obs.row.id, "failed": [c for c in CRITERIA
                                                          if not getattr(verdict, c)],
                             "reason": verdict.reason})
    judged = len(verdicts)

    def rate(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "model": model, "n": judged, "errors": errors, "tokens": tokens,
        "warnings": warnings,
        "pass_rate": rate([v.passed for _, v in verdicts]),
        **{f"{c}_rate": rate([getattr(v, c) for _, v in verdicts]) for c in CRITERIA},
        "failures": failures,
    }


def make_judge_client(settings: Any) -> Any:
    """The judge's client, from the same settings as the LLM engine's."""
    from tools.llm import make_client

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return make_client(base_url=settings.llm_base_url, api_key=key,
                       timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
