"""Pure values of the rag-query service: the request, what retrieval returns, what is kept.

No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from beacon_contracts.search import SearchHit
from beacon_rag_query.text import markers


class QueryStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    HITL_PENDING = "hitl_pending"
    REJECTED = "rejected"  # no longer written: a rejected answer completes with a refusal
    CANCELLED = "cancelled"


TERMINAL = frozenset(
    {QueryStatus.COMPLETED, QueryStatus.FAILED, QueryStatus.REJECTED, QueryStatus.CANCELLED}
)


class Route(StrEnum):
    VECTOR_STORE = "vector_store"
    COMPANY_DATA = "company_data"
    OUT_OF_SCOPE = "out_of_scope"


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    CANCELLED = "CANCELLED"
    LLM_ERROR = "LLM_ERROR"
    LLM_TIMEOUT = "LLM_TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class QueryFilters(BaseModel):
    """The `filters` object of the public request; every field optional."""

    model_config = ConfigDict(extra="ignore")

    company_symbol: str | None = None
    fiscal_period: str | None = None
    document_types: list[str] | None = None


@dataclass(frozen=True)
class Company:
    symbol: str  # Yahoo style, RELIANCE.NS
    name: str
    nse_symbol: str | None = None
    sector: str | None = None
    aliases: tuple[str, ...] = ()
    fiscal_year_end_month: int = 3  # March: the Indian fiscal year; a December filer says 12

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Company:
        return cls(
            symbol=data["symbol"],
            name=data.get("name") or data["symbol"],
            nse_symbol=data.get("nse_symbol"),
            sector=data.get("sector"),
            aliases=tuple(data.get("aliases") or ()),
            fiscal_year_end_month=data.get("fiscal_year_end_month") or 3,
        )


@dataclass
class Passage:
    """A retrieved chunk and the grade it earned for this question."""

    hit: SearchHit
    grade: float = 0.0
    relevant: bool = False
    lexical: float = 0.0

    @property
    def key(self) -> str:
        return self.hit.chunk_id


@dataclass(frozen=True)
class Evidence:
    """What the generator may cite as [index]: a passage of a filing or structured data."""

    index: int
    text: str
    document_id: int | None
    document_title: str
    page_number: int | None
    company_symbol: str | None = None
    fiscal_period: str | None = None
    score: float = 0.0
    section: str | None = None  # the heading the chunk sits under (a statement's title or columns)

    def citation(self, source_chars: int = 400) -> dict[str, Any]:
        source = " ".join(self.text.split())
        if len(source) > source_chars:
            source = source[: source_chars - 1].rstrip() + "…"
        return {
            "index": self.index,
            "document_id": self.document_id,
            "document_title": self.document_title,
            "source_text": source,
            "page_number": self.page_number,
        }


@dataclass(frozen=True)
class NodeTiming:
    node: str
    latency_ms: float  # two decimals: most nodes take well under a millisecond offline


@dataclass
class WorkflowTrace:
    nodes_executed: list[str] = field(default_factory=list)
    node_timings: list[NodeTiming] = field(default_factory=list)
    rewrite_count: int = 0
    generation_attempts: int = 0

    def record(self, node: str, latency_ms: float) -> None:
        self.nodes_executed.append(node)
        self.node_timings.append(NodeTiming(node, latency_ms))

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes_executed": list(self.nodes_executed),
            "rewrite_count": self.rewrite_count,
            "generation_attempts": self.generation_attempts,
            "node_latencies_ms": [
                {"node": t.node, "latency_ms": t.latency_ms} for t in self.node_timings
            ],
        }


@dataclass(frozen=True)
class Metrics:
    latency_ms: int
    token_count_input: int
    token_count_output: int
    retrieval_score: float | None
    faithfulness_score: float | None
    relevance_score: float | None = None  # does the answer address the question (relevance.py)

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "token_count_input": self.token_count_input,
            "token_count_output": self.token_count_output,
            "retrieval_score": self.retrieval_score,
            "faithfulness_score": self.faithfulness_score,
            "relevance_score": self.relevance_score,
        }


@dataclass(frozen=True)
class QueryRecord:
    id: str
    owner: str
    question: str
    filters: dict[str, Any] | None
    status: QueryStatus
    created_at: datetime
    response: str | None = None
    generated_response: str | None = None  # the answer before review; never shown unreviewed
    citations: list[dict[str, Any]] = field(default_factory=list)
    workflow_trace: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    review_reason: str | None = None
    review: dict[str, Any] | None = None  # decision, reviewed_by, notes once resolved
    completed_at: datetime | None = None
    review_id: str | None = None  # set when the answer was held for review
    frame_seq: int | None = None  # seq of the first frame sent once the review resolves

    @property
    def latency_ms(self) -> int | None:
        return self.metrics.get("latency_ms")


@dataclass(frozen=True)
class Outcome:
    """How a query ended, as the repository stores it."""

    status: QueryStatus
    response: str | None
    generated_response: str | None
    citations: list[dict[str, Any]]
    workflow_trace: dict[str, Any]
    metrics: dict[str, Any]
    completed_at: datetime | None  # None while a review is pending
    review_reason: str | None = None
    review_id: str | None = None
    frame_seq: int | None = None


# `reviewed_by` of a review nobody decided before it expired (the hitl service's name for it).
EXPIRY_REVIEWER = "system"
WITHHELD = "A reviewer withheld this answer. Contact your compliance team if you need it."
WITHHELD_UNREVIEWED = ("This answer was withheld: it needed a review, and no reviewer "
                       "approved it in time.")


@dataclass(frozen=True)
class ReviewDecision:
    decision: str  # approved, edited or rejected
    final_response: str | None
    reviewed_by: str
    notes: str | None
    reviewed_at: datetime
    review_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"review_id": self.review_id, "decision": self.decision,
                "reviewed_by": self.reviewed_by, "notes": self.notes,
                "reviewed_at": self.reviewed_at.isoformat()}


@dataclass(frozen=True)
class Resolution:
    """What the analyst finally sees of a held answer, and the decision behind it."""

    response: str
    citations: list[dict[str, Any]]
    review: ReviewDecision


def resolve(record: QueryRecord, review: ReviewDecision) -> Resolution:
    """approved: the generated answer; edited: the reviewer's text, keeping the citations
    it still marks; rejected: a refusal that says a reviewer withheld it (or that nobody
    reviewed it in time), without citations. Every outcome completes the query."""
    if review.decision == "rejected":
        refusal = WITHHELD_UNREVIEWED if review.reviewed_by == EXPIRY_REVIEWER else WITHHELD
        return Resolution(refusal, [], review)
    if review.decision == "edited" and review.final_response:
        used = set(markers(review.final_response))
        kept = [c for c in record.citations if c.get("index") in used]
        return Resolution(review.final_response, kept, review)
    return Resolution(record.generated_response or "", list(record.citations), review)


@dataclass(frozen=True)
class NewQuery:
    id: str
    owner: str
    question: str
    filters: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class Feedback:
    query_id: str
    owner: str
    rating: int
    feedback: str | None
    created_at: datetime


@dataclass(frozen=True)
class QueryStats:
    total_queries: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None
    by_status: dict[str, int]
    avg_faithfulness_score: float | None
    avg_relevance_score: float | None
