"""The contracts of DESIGN.md as pydantic models: the Ticket in, the triage result out.

Other tools depend on these shapes; change them only on purpose.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.types import StringConstraints

Source = Literal["zendesk", "slack", "community", "in_app", "email", "github"]
ZendeskPriority = Literal["high", "normal", "low"]
Plan = Literal["enterprise", "paid", "free"]
Priority = Literal["urgent", "high", "normal", "community", "low"]
Kind = Literal["bug", "feature_request", "question", "account_request"]
PlaybookName = Literal[
    "self_hosted", "two_factor_removal", "ownership_transfer", "community_question"
]
Status = Literal["pending", "solved"]

PRIORITY_ORDER: tuple[Priority, ...] = ("urgent", "high", "normal", "community", "low")
KINDS: tuple[Kind, ...] = ("bug", "feature_request", "question", "account_request")

#: A ticket body larger than this is refused: it is an attachment or a paste gone wrong,
#: and embedding it would only read its first few hundred tokens anyway.
MAX_BODY_CHARS = 50_000
MAX_SUBJECT_CHARS = 1_000
MAX_NAME_CHARS = 200
#: Every ticket id, on every surface: it names the LangGraph thread, appears in URLs
#: (`/drafts/{id}`) and in idempotency keys, so no `/`, no spaces, no `..` at the start.
TICKET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"

# Characters that draw nothing (zero-width, bidi controls, soft hyphen: category Cf), control
# characters (Cc), lone surrogates (Cs) and private-use code points (Co).
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co"})
_NAME_PUNCTUATION = frozenset(" '’.-")
# A link or a bare domain (`evil.example.com`): a greeting must never carry one.
_LINKISH = re.compile(r"://|\bwww\.|[^\W_]\.[^\W\d_]{2,}", re.IGNORECASE)


def _plain_text(value: str) -> str:
    """Refuse what no store can hold: NUL (PostgreSQL) and lone surrogates (UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("must be valid Unicode text (a lone surrogate is not)")
    return value


def _text(max_length: int) -> Any:
    return (StringConstraints(max_length=max_length), AfterValidator(_plain_text))


# Free text every store can keep (see `_plain_text`), each with its maximum length.
NameText = Annotated[str, *_text(MAX_NAME_CHARS)]
EmailText = Annotated[str, *_text(320)]
SubjectText = Annotated[str, *_text(MAX_SUBJECT_CHARS)]
BodyText = Annotated[str, *_text(MAX_BODY_CHARS)]
TagText = Annotated[str, *_text(100)]
UrlText = Annotated[str, *_text(2_000)]
StampText = Annotated[str, *_text(64)]


def visible(text: str | None) -> bool:
    """Whether `text` has a character that shows (not only spaces or zero-width ones)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE
               for ch in text or "")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be used to greet someone, or None when it can."""
    if len(name) > MAX_NAME_CHARS:
        return f"must be at most {MAX_NAME_CHARS} characters"
    if any(unicodedata.category(ch) in _INVISIBLE for ch in name):
        return "must not contain control, zero-width or bidi characters"
    if _LINKISH.search(name) or "@" in name:
        return "must be a name, not a link or an e-mail address"
    # Letters and marks of any script (Devanagari's vowel signs are marks), digits, ' . -
    if not visible(name) or not all(unicodedata.category(ch)[0] in "LMN"
                                    or ch in _NAME_PUNCTUATION for ch in name):
        return "may hold only letters, digits, spaces and ' . -"
    return None


def usable_name(name: str | None) -> str | None:
    """The name, stripped, when it is fit to greet someone with; else None (greet no one)."""
    name = (name or "").strip()
    return name if name and name_problem(name) is None else None


def id_as_text(value: object) -> object:
    """An id as text: an integer from Zendesk is fine; a bool, a list or an object is not."""
    if isinstance(value, bool):
        raise ValueError("must be a string")
    return str(value) if isinstance(value, int) else value


class Requester(BaseModel):
    """Who wrote the ticket."""

    model_config = ConfigDict(extra="ignore")

    name: NameText | None = None
    email: EmailText | None = None


class Organization(BaseModel):
    """The requester's organization and its plan (which sets the priority)."""

    model_config = ConfigDict(extra="ignore")

    name: NameText | None = None
    plan: Plan | None = None


class Ticket(BaseModel):
    """A support request, from any channel."""

    # Unknown keys (e.g. `github`, `expected` in eval rows) are metadata, never classifier input.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(pattern=TICKET_ID_PATTERN, description=(
        "Letters, digits and `._:-`, starting with a letter or digit, at most 128 "
        f"characters ({TICKET_ID_PATTERN})"))
    source: Source = "email"
    subject: SubjectText | None = None
    body: BodyText | None = None
    requester: Requester = Field(default_factory=Requester)
    organization: Organization = Field(default_factory=Organization)
    priority: ZendeskPriority | None = None
    cs_escalated: bool = False
    tags: list[TagText] = Field(default_factory=list, max_length=50)
    url: UrlText | None = None
    created_at: StampText | None = None
    #: How the ticket reached its system (Zendesk's `via.channel`: web, email, api, ...).
    via: TagText | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: object) -> object:
        return id_as_text(value)

    @model_validator(mode="after")
    def _has_text(self) -> Ticket:
        # Zero-width or control characters alone are no text: intake drops them.
        if not visible(self.subject) and not visible(self.body):
            raise ValueError("one of `subject` or `body` must be non-empty text")
        return self

    @classmethod
    def from_integration(cls, fields: dict[str, Any]) -> Ticket:
        """Validate a ticket an integration (Zendesk, Slack) built.

        A requester name unfit to greet with is dropped (the ticket is greeted with no
        name), since nobody can be asked to fix it.
        """
        requester = fields.get("requester")
        if isinstance(requester, dict) and requester.get("name") is not None:
            name = requester["name"]
            fields = {**fields, "requester": {
                **requester, "name": usable_name(name) if isinstance(name, str) else None}}
        return cls.model_validate(fields)

    @property
    def text(self) -> str:
        """Subject and body, the text every classifier and retriever reads."""
        return "\n\n".join(part for part in (self.subject, self.body) if part)

    @property
    def first_name(self) -> str | None:
        """The requester's first name, when the ticket has a usable one."""
        name = usable_name(self.requester.name)
        return name.split()[0] if name else None


class RequesterIn(Requester):
    """The requester as an API client sends it: a name unfit to greet with is refused."""

    @field_validator("name")
    @classmethod
    def _greetable(cls, value: str | None) -> str | None:
        problem = name_problem(value.strip()) if value and value.strip() else None
        if problem:
            raise ValueError(problem)
        return value


class TicketIn(Ticket):
    """`POST /tickets`' body: a Ticket whose requester name is checked, not dropped."""

    requester: RequesterIn = Field(default_factory=RequesterIn)

    def to_ticket(self) -> Ticket:
        """The plain Ticket (the class the graph and its checkpoints know)."""
        return Ticket.model_validate(self.model_dump())


class Passage(BaseModel):
    """A retrieved handbook or docs passage."""

    title: str
    url: str | None = None
    score: float
    #: A page written for the hero (the project's playbooks), never cited to a customer.
    internal: bool = False
    text: str = Field(default="", exclude=True)
    heading: str | None = Field(default=None, exclude=True)


class IssueProposal(BaseModel):
    """The GitHub issue to link (an existing one) or to create (a draft of a new one)."""

    action: Literal["link", "create", "none"] = "none"
    url: str | None = None
    title: str | None = None
    body: str | None = None
    score: float | None = None


class Draft(BaseModel):
    """The reply for the customer and the note for the hero."""

    body: str
    internal_note: str = ""
    status_after: Status = "solved"
    public: bool = True
    citations: list[str] = Field(default_factory=list)


class Usage(BaseModel):
    """LLM calls and tokens spent on one ticket."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ConversationEntry(BaseModel):
    """One message of the conversation as the result shows it (the first is the ticket)."""

    id: str
    author: Literal["customer", "hero", "sidekick", "cs"]
    body: str
    public: bool = True
    created_at: str | None = None


class TurnRecord(BaseModel):
    """A turn that reached an end: its draft and what became of it (the audit trail)."""

    model_config = ConfigDict(extra="ignore")

    turn: int
    stage: str | None = None
    team: str | None = None
    priority: str | None = None
    #: The ids of the customer messages this turn's draft answered.
    answered: list[str] = Field(default_factory=list)
    draft: Draft | None = None
    decision: dict | None = None
    delivery: dict | None = None
    #: delivered, rejected, replaced (a new customer message came first) or superseded
    #: (a person answered outside Sidekick).
    outcome: str


class EngineTrace(BaseModel):
    """Which engine produced the classification and the draft, and why a fallback was used.

    Each is "offline", "llm", or "llm→offline" when the LLM's answer was not used (the call
    failed, the offline label outvoted it, or the check refused its draft).
    """

    classification: str = ""
    draft: str = ""
    reasons: list[str] = Field(default_factory=list)


class TriageResult(BaseModel):
    """What `sidekick triage --json` prints and `GET /drafts/{id}` returns."""

    ticket_id: str
    team: str
    team_confidence: float = Field(ge=0.0, le=1.0)
    team_uncertain: bool = False
    priority: Priority
    kind: Kind
    playbook: PlaybookName | None = None
    passages: list[Passage] = Field(default_factory=list)
    issue: IssueProposal = Field(default_factory=IssueProposal)
    draft: Draft
    #: "offline", "llm", or "llm→offline" when any LLM answer was not used (`engines` says
    #: which and why).
    engine: str
    engines: EngineTrace = Field(default_factory=EngineTrace)
    warnings: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    status: Literal["awaiting_review", "approved", "edited", "rejected", "delivered",
                    "superseded"] = "awaiting_review"
    #: The draft's version (1, then one more per re-draft): what a decision names.
    version: int = Field(default=1, ge=1)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    #: The conversation: which turn the draft answers, the stage it is in, every message
    #: (the first is the ticket), and the earlier turns' drafts, decisions and deliveries.
    turn: int = 1
    stage: str | None = None
    conversation: list[ConversationEntry] = Field(default_factory=list)
    history: list[TurnRecord] = Field(default_factory=list)


#: The models stored in graph checkpoints: the checkpointer may load these and no others.
CHECKPOINTED = (Ticket, Requester, Organization, Passage, IssueProposal, Draft, Usage)
