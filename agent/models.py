"""The contracts of DESIGN.md as pydantic models: the Ticket in, the triage result out.

Other tools depend on these shapes; change them only on purpose.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
MAX_BODY_CHARS = 200_000


class Requester(BaseModel):
    """Who wrote the ticket."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    email: str | None = None


class Organization(BaseModel):
    """The requester's organization and its plan (which sets the priority)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    plan: Plan | None = None


class Ticket(BaseModel):
    """A support request, from any channel."""

    # Unknown keys (e.g. `github`, `expected` in eval rows) are metadata, never classifier input.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    source: Source = "email"
    subject: str | None = Field(default=None, max_length=2_000)
    body: str | None = Field(default=None, max_length=MAX_BODY_CHARS)
    requester: Requester = Field(default_factory=Requester)
    organization: Organization = Field(default_factory=Organization)
    priority: ZendeskPriority | None = None
    cs_escalated: bool = False
    tags: list[str] = Field(default_factory=list)
    url: str | None = None
    created_at: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: object) -> object:
        # An integer id from Zendesk is fine; a list or an object is not.
        if isinstance(value, bool):
            raise ValueError("must be a string")
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _has_text(self) -> Ticket:
        if not (self.subject or "").strip() and not (self.body or "").strip():
            raise ValueError("one of `subject` or `body` must be non-empty text")
        return self

    @property
    def text(self) -> str:
        """Subject and body, the text every classifier and retriever reads."""
        return "\n\n".join(part for part in (self.subject, self.body) if part)

    @property
    def first_name(self) -> str | None:
        """The requester's first name, when the ticket has a usable one."""
        name = (self.requester.name or "").strip()
        if not name or "@" in name:
            return None
        return name.split()[0]


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
    engine: str
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
