"""The internal HTTP app of the review service: the queue, one review, decisions, the trail.

The gateway authenticates the caller, allows reviewers and admins only, and forwards
/api/v1/hitl/* here unchanged by path with the trusted headers X-User-Id, X-User-Role and
X-User-Email (the reviewer's name in `reviewed_by`). The role is checked here again, and
errors use the research API's format, which the gateway relays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel

from beacon_contracts.research_api import ReviewEdit, ReviewListParams, ReviewNotes
from beacon_hitl.decisions import ReviewDesk
from beacon_hitl.domain import Action, AuditEntry, Review, ReviewClosed, ReviewNotFound, ReviewStatus
from beacon_runtime.health import Check, build_health_router
from beacon_runtime.http_app import ServiceApp
from beacon_runtime.http_errors import ServiceError, install_internal_error_handlers
from beacon_runtime.telemetry import instrument_app

REVIEWERS = frozenset({"reviewer", "admin"})


class Caller(BaseModel):
    user_id: str
    role: str
    email: str | None

    @property
    def name(self) -> str:
        """Who `reviewed_by` names: the reviewer's email, as the contract shows."""
        return self.email or f"user:{self.user_id}"


def caller(
    x_user_id: Annotated[str | None, Header()] = None,
    x_user_role: Annotated[str | None, Header()] = None,
    x_user_email: Annotated[str | None, Header()] = None,
) -> Caller:
    if not x_user_id:
        raise ServiceError(401, "Missing caller identity")
    who = Caller(user_id=x_user_id, role=(x_user_role or "user").lower(), email=x_user_email)
    if who.role not in REVIEWERS:
        raise ServiceError(403, "Reviewer or admin role required")
    return who


Reviewer = Annotated[Caller, Depends(caller)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def summary_body(review: Review) -> dict[str, Any]:
    return {
        "id": review.id, "query_id": review.query_id, "question": review.question,
        "generated_response": review.generated_response, "reason": review.reason,
        "created_at": _iso(review.created_at), "expires_at": _iso(review.expires_at),
    }


def detail_body(review: Review) -> dict[str, Any]:
    state = dict(review.workflow_state)
    state.setdefault("nodes_executed", [])
    state.setdefault("fact_check_result", None)
    return summary_body(review) | {
        "citations": review.citations,
        "workflow_state": state,
        "status": review.status.value,
        "reviewed_by": review.reviewed_by,
        "reviewed_at": _iso(review.reviewed_at),
        "notes": review.notes,
        "edited_response": review.edited_response,
    }


def decision_body(review: Review) -> dict[str, Any]:
    return {"id": review.id, "status": review.status.value, "reviewed_by": review.reviewed_by,
            "reviewed_at": _iso(review.reviewed_at), "query_id": review.query_id}


def audit_body(entry: AuditEntry) -> dict[str, Any]:
    return {"at": _iso(entry.at), "actor": entry.actor, "action": entry.action,
            "notes": entry.notes, "text_before": entry.text_before,
            "text_after": entry.text_after, "details": entry.details}


def conflict(review: Review) -> ServiceError:
    if review.status is ReviewStatus.PENDING or review.status is ReviewStatus.EXPIRED:
        message = f"Review {review.id} expired at {_iso(review.expires_at)}"
        status = ReviewStatus.EXPIRED.value
    else:
        message = (f"Review {review.id} was already {review.status.value} by "
                   f"{review.reviewed_by} at {_iso(review.reviewed_at)}")
        status = review.status.value
    return ServiceError(409, message, details=[{"field": "status", "message": status}])


def build_router(desk: ReviewDesk) -> APIRouter:
    router = APIRouter(prefix="/api/v1/hitl")
    repository = desk.repository

    async def found(review_id: str) -> Review:
        review = await repository.get(review_id)
        if review is None:
            raise ServiceError(404, "Review not found")
        return review

    async def decide(review_id: str, action: Action, who: Caller, notes: str | None,
                     edited: str | None = None) -> dict[str, Any]:
        try:
            review = await desk.decide(review_id, action, by=who.name, notes=notes,
                                       edited_response=edited)
        except ReviewNotFound:
            raise ServiceError(404, "Review not found") from None
        except ReviewClosed as exc:
            raise conflict(exc.review) from None
        return decision_body(review)

    @router.get("/pending")
    async def pending(who: Reviewer, page: Annotated[ReviewListParams, Query()]) -> dict[str, Any]:
        """Answers waiting for a reviewer, oldest first; expired ones are not listed."""
        total, reviews = await repository.pending(desk.clock(), page.limit, page.offset)
        return {"total": total, "limit": page.limit, "offset": page.offset,
                "reviews": [summary_body(r) for r in reviews]}

    @router.get("/{review_id}")
    async def detail(review_id: str, who: Reviewer) -> dict[str, Any]:
        return detail_body(await found(review_id))

    @router.get("/{review_id}/audit")
    async def audit(review_id: str, who: Reviewer) -> dict[str, Any]:
        if who.role != "admin":
            raise ServiceError(403, "Admin role required")
        await found(review_id)
        return {"id": review_id,
                "entries": [audit_body(e) for e in await repository.audit(review_id)]}

    # The bodies are the contract's models, as the gateway validates them (a JSON object:
    # `{}` when there are no notes).
    @router.post("/{review_id}/approve")
    async def approve(review_id: str, who: Reviewer, body: ReviewNotes) -> dict[str, Any]:
        return await decide(review_id, Action.APPROVE, who, body.notes)

    @router.post("/{review_id}/reject")
    async def reject(review_id: str, who: Reviewer, body: ReviewNotes) -> dict[str, Any]:
        return await decide(review_id, Action.REJECT, who, body.notes)

    @router.post("/{review_id}/edit")
    async def edit(review_id: str, who: Reviewer, body: ReviewEdit) -> dict[str, Any]:
        return await decide(review_id, Action.EDIT, who, body.notes, body.edited_response)

    return router


def create_app(desk: ReviewDesk, checks: Mapping[str, Check]) -> ServiceApp:
    app = ServiceApp(title="hitl (internal)", docs_url=None, redoc_url=None)
    app.state.desk = desk  # for operators' tools and tests that sweep on demand
    install_internal_error_handlers(app)
    app.include_router(build_router(desk))
    app.include_router(build_health_router(dict(checks)))
    instrument_app(app)
    return app
