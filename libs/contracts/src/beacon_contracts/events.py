"""Event envelope and every event payload exchanged over the bus.

Payload classes carry their event name in ``EVENT_TYPE``; the envelope stores the payload as
plain JSON so that a consumer built against an older version can still read what it knows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobKind(StrEnum):
    GENERATE = "generate"
    REFINE = "refine"
    QUERY = "query"
    INGEST = "ingest"
    BOOTSTRAP = "bootstrap"


class Payload(BaseModel):
    """Base of every event payload. Subclasses set EVENT_TYPE."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    EVENT_TYPE: ClassVar[str]


class JobError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    error_code: str
    message: str


class JobRequested(Payload):
    EVENT_TYPE: ClassVar[str] = "JobRequested"

    job_id: str
    kind: JobKind
    owner: str = Field(description="Opaque owner id: a hash of the API key or a user id")
    params: dict[str, Any] = Field(default_factory=dict)


class JobStarted(Payload):
    EVENT_TYPE: ClassVar[str] = "JobStarted"

    job_id: str
    kind: JobKind
    worker: str
    attempt: int = 1


class JobProgress(Payload):
    EVENT_TYPE: ClassVar[str] = "JobProgress"

    job_id: str
    kind: JobKind
    stage: str
    state: Literal["pending", "in_progress", "completed", "failed"]
    detail: str | None = None


class JobCompleted(Payload):
    EVENT_TYPE: ClassVar[str] = "JobCompleted"

    job_id: str
    kind: JobKind
    outcome: Literal["completed", "failed"]
    result: dict[str, Any] | None = None
    error: JobError | None = None


class JobCancelled(Payload):
    """The requester no longer needs the result (e.g. the SSE client went away)."""

    EVENT_TYPE: ClassVar[str] = "JobCancelled"

    job_id: str
    kind: JobKind
    reason: str


class DocumentIngested(Payload):
    EVENT_TYPE: ClassVar[str] = "DocumentIngested"

    document_id: int
    company_symbol: str | None
    doc_type: str
    fiscal_period: str | None
    chunk_count: int
    page_count: int


class ReviewRequired(Payload):
    EVENT_TYPE: ClassVar[str] = "ReviewRequired"

    review_id: str = Field(description="Chosen by rag-query, so it can tell the analyst at once")
    query_id: str
    owner: str
    question: str
    generated_response: str
    reason: str
    citations: list[dict[str, Any]] = Field(default_factory=list)
    workflow_state: dict[str, Any] = Field(default_factory=dict)


class ReviewResolved(Payload):
    EVENT_TYPE: ClassVar[str] = "ReviewResolved"

    review_id: str
    query_id: str
    decision: Literal["approved", "rejected", "edited"]
    final_response: str | None
    reviewed_by: str
    notes: str | None = None
    reviewed_at: datetime | None = Field(default=None, description="When the review ended")


class QueryFrame(Payload):
    """One step of a streamed answer, relayed by the gateway as one SSE event."""

    EVENT_TYPE: ClassVar[str] = "QueryFrame"

    query_id: str
    seq: int = Field(ge=0, description="Order of the frame within its query, from 0")
    event: Literal["node", "token", "citation", "done", "error"]
    data: dict[str, Any]


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    cls.EVENT_TYPE: cls
    for cls in (
        JobRequested,
        JobStarted,
        JobProgress,
        JobCompleted,
        JobCancelled,
        DocumentIngested,
        ReviewRequired,
        ReviewResolved,
        QueryFrame,
    )
}


class Envelope(BaseModel):
    """What travels on the bus: identity and causality around one payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)
    correlation_id: str
    causation_id: str | None = None
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: Payload,
        *,
        correlation_id: str,
        causation: Envelope | None = None,
    ) -> Envelope:
        return cls(
            type=payload.EVENT_TYPE,
            correlation_id=correlation_id,
            causation_id=str(causation.event_id) if causation else None,
            payload=payload.model_dump(mode="json"),
        )

    def follow(self, payload: Payload) -> Envelope:
        """An envelope caused by this one, in the same correlation."""
        return Envelope.wrap(payload, correlation_id=self.correlation_id, causation=self)

    def parse(self) -> Payload:
        try:
            payload_type = PAYLOAD_TYPES[self.type]
        except KeyError as exc:
            raise ValueError(f"unknown event type {self.type!r}") from exc
        return payload_type.model_validate(self.payload)
