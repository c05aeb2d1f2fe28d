"""Event envelope and every event payload exchanged over the bus.

Payload classes carry their event name in ``EVENT_TYPE``; the envelope stores the payload as
plain JSON so that a consumer built against an older version can still read what it knows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from beacon_contracts.base import JobError, JobKind, Payload, utcnow
from beacon_contracts.commands import COMMAND_TYPES, JOB_REQUESTED, Command, parse_command

__all__ = [
    "COMMAND_TYPES", "EVENT_TYPES", "PAYLOAD_TYPES", "Command", "DocumentIngested", "Envelope",
    "JobCancelled", "JobCompleted", "JobError", "JobKind", "JobProgress", "JobStarted",
    "Payload", "QueryFrame", "ReviewRequired", "ReviewResolved", "utcnow",
]


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


EVENT_TYPES: dict[str, type[Payload]] = {
    cls.EVENT_TYPE: cls
    for cls in (
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
# Every message the bus carries, by name: the events, and the commands (all of envelope
# type JobRequested) by class name. The AsyncAPI document and the schema snapshots use it.
PAYLOAD_TYPES: dict[str, type[Payload]] = {
    **{cls.__name__: cls for cls in COMMAND_TYPES}, **EVENT_TYPES,
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
        """The typed payload (a Command for JobRequested). Raises ValueError, pydantic's
        ValidationError included, for an unknown type or an invalid payload."""
        if self.type == JOB_REQUESTED:
            return parse_command(self.payload)
        try:
            payload_type = EVENT_TYPES[self.type]
        except KeyError as exc:
            raise ValueError(f"unknown event type {self.type!r}") from exc
        return payload_type.model_validate(self.payload)
