"""Pure values of the review service: a review, a decision on it, its audit trail.

No I/O here. A review is created pending when rag-query holds an answer back, and ends once:
approved, rejected or edited by a reviewer, or expired by the clock. Nothing moves it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

SYSTEM = "system"  # `reviewed_by` of an expired review: nobody decided in time


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EDITED = "edited"
    EXPIRED = "expired"


class Action(StrEnum):
    """What a reviewer does (the last segment of the route) and the status it leads to."""

    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"

    @property
    def status(self) -> ReviewStatus:
        return {Action.APPROVE: ReviewStatus.APPROVED, Action.REJECT: ReviewStatus.REJECTED,
                Action.EDIT: ReviewStatus.EDITED}[self]


# What an unreviewed answer becomes when its review expires: withheld (as a rejection) by
# default, or released as generated where an operator prefers that.
ExpiryPolicy = Literal["reject", "approve"]


@dataclass(frozen=True)
class NewReview:
    id: str
    query_id: str
    owner: str
    question: str
    generated_response: str
    reason: str
    citations: list[dict[str, Any]]
    workflow_state: dict[str, Any]
    correlation_id: str  # of the query, so the resolution joins its trace and logs
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Review:
    id: str
    query_id: str
    owner: str
    question: str
    generated_response: str
    reason: str
    citations: list[dict[str, Any]]
    workflow_state: dict[str, Any]
    correlation_id: str
    status: ReviewStatus
    created_at: datetime
    expires_at: datetime
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    notes: str | None = None
    edited_response: str | None = None
    published_at: datetime | None = None  # when ReviewResolved was confirmed by the broker

    @classmethod
    def pending(cls, new: NewReview) -> Review:
        return cls(**vars(new), status=ReviewStatus.PENDING)

    def open_at(self, now: datetime) -> bool:
        return self.status is ReviewStatus.PENDING and now < self.expires_at

    def resolution(self, expiry_policy: ExpiryPolicy) -> tuple[str, str | None]:
        """(decision, final response) as ReviewResolved carries them to rag-query."""
        status = self.status
        if status is ReviewStatus.EXPIRED:
            status = ReviewStatus.APPROVED if expiry_policy == "approve" else ReviewStatus.REJECTED
        if status is ReviewStatus.APPROVED:
            return "approved", self.generated_response
        if status is ReviewStatus.EDITED:
            return "edited", self.edited_response
        if status is ReviewStatus.REJECTED:
            return "rejected", None
        raise ValueError(f"review {self.id} is still {status.value}")


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision (or the clock's, for an expiry) as it is recorded."""

    status: ReviewStatus
    by: str
    at: datetime
    notes: str | None = None
    edited_response: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One line of a review's trail; written once, never changed (Postgres enforces it)."""

    review_id: str
    at: datetime
    actor: str
    action: str  # received, approved, rejected, edited, expired
    notes: str | None = None
    text_before: str | None = None
    text_after: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def audit_of_decision(review: Review, decision: Decision) -> AuditEntry:
    """The trail entry of a decision: the text the analyst would have seen before, and the
    text they see after (none for a rejection)."""
    after: str | None
    if decision.status is ReviewStatus.EDITED:
        after = decision.edited_response
    elif decision.status is ReviewStatus.APPROVED:
        after = review.generated_response
    else:
        after = None
    return AuditEntry(
        review_id=review.id, at=decision.at, actor=decision.by, action=decision.status.value,
        notes=decision.notes, text_before=review.generated_response, text_after=after,
    )


def audit_of_expiry(review: Review, at: datetime, policy: ExpiryPolicy) -> AuditEntry:
    released = policy == "approve"
    return AuditEntry(
        review_id=review.id, at=at, actor=SYSTEM, action=ReviewStatus.EXPIRED.value,
        notes=f"Not reviewed by {review.expires_at.isoformat()}; "
              + ("released as generated" if released else "withheld"),
        text_before=review.generated_response,
        text_after=review.generated_response if released else None,
        details={"policy": policy},
    )


def audit_of_receipt(review: NewReview) -> AuditEntry:
    return AuditEntry(
        review_id=review.id, at=review.created_at, actor="rag-query", action="received",
        notes=review.reason, text_after=review.generated_response,
        details={"query_id": review.query_id, "expires_at": review.expires_at.isoformat()},
    )


class ReviewNotFound(Exception):
    pass


class ReviewClosed(Exception):
    """A decision on a review that is no longer pending (decided, or expired)."""

    def __init__(self, review: Review) -> None:
        super().__init__(f"review {review.id} is {review.status.value}")
        self.review = review
