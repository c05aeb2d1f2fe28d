"""The internal HTTP app of rag-query: query reads, history, feedback, admin statistics.

The gateway authenticates the caller and forwards public requests here unchanged by path,
adding the trusted headers `X-User-Id` and `X-User-Role`. Errors use the research API's
format, since the gateway relays them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel

from beacon_contracts.events import utcnow
from beacon_contracts.research_api import FeedbackRequest
from beacon_rag_query.domain import EXPIRY_REVIEWER, Feedback, QueryRecord, QueryStatus
from beacon_rag_query.repository import QueryRepository
from beacon_runtime.http_errors import ServiceError, install_internal_error_handlers
from beacon_runtime.health import Check, build_health_router
from beacon_runtime.http_app import ServiceApp
from beacon_runtime.telemetry import instrument_app


PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class Caller(BaseModel):
    user_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def caller(
    x_user_id: Annotated[str | None, Header()] = None,
    x_user_role: Annotated[str | None, Header()] = None,
) -> Caller:
    if not x_user_id:
        raise ServiceError(401, "Missing caller identity")
    return Caller(user_id=x_user_id, role=(x_user_role or "user").lower())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def review_body(record: QueryRecord) -> dict[str, Any] | None:
    """Why the answer was held and, once decided, who reviewed it (not in the contract)."""
    if record.review_id is None and record.review is None:
        return None
    decided = record.review or {}
    status = decided.get("decision", "pending")
    if decided.get("reviewed_by") == EXPIRY_REVIEWER:
        status = "expired"
    return {"id": record.review_id or decided.get("review_id"), "status": status,
            "reason": record.review_reason, "reviewed_by": decided.get("reviewed_by"),
            "reviewed_at": decided.get("reviewed_at", "").replace("+00:00", "Z") or None}


def query_body(record: QueryRecord) -> dict[str, Any]:
    """The contract's query result; `response` stays null until a review lets it out."""
    metrics = dict(record.metrics)
    return {
        "id": record.id,
        "question": record.question,
        "response": record.response,
        "citations": record.citations if record.status is QueryStatus.COMPLETED else [],
        "status": record.status.value,
        "latency_ms": record.latency_ms,
        "workflow_trace": {
            "nodes_executed": record.workflow_trace.get("nodes_executed", []),
            "rewrite_count": record.workflow_trace.get("rewrite_count", 0),
            "generation_attempts": record.workflow_trace.get("generation_attempts", 0),
            "node_latencies_ms": record.workflow_trace.get("node_latencies_ms", []),
            # Additions: what query understanding read, and every passage retrieved.
            "understood": record.workflow_trace.get("filters"),
            "retrieved_passages": record.workflow_trace.get("retrieved_passages", []),
        },
        "metrics": {
            key: metrics.get(key)
            for key in ("latency_ms", "token_count_input", "token_count_output",
                        "retrieval_score", "faithfulness_score", "relevance_score")
        },
        "created_at": _iso(record.created_at),
        "completed_at": _iso(record.completed_at),
        "review": review_body(record),
    }


def build_router(repository: QueryRepository) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    async def owned(query_id: str, who: Caller) -> QueryRecord:
        record = await repository.get(query_id)
        # Someone else's query is reported as missing, not forbidden: ids are not disclosed.
        if record is None or (record.owner != who.user_id and not who.is_admin):
            raise ServiceError(404, "Query not found")
        return record

    @router.get("/query/history")
    async def history(
        who: Annotated[Caller, Depends(caller)],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        total, records = await repository.history(who.user_id, limit, offset)
        return {
            "total": total, "limit": limit, "offset": offset,
            "queries": [
                {"id": r.id, "question": r.question, "status": r.status.value,
                 "latency_ms": r.latency_ms, "created_at": _iso(r.created_at)}
                for r in records
            ],
        }

    @router.get("/query/{query_id}")
    async def get_query(query_id: str, who: Annotated[Caller, Depends(caller)]) -> dict[str, Any]:
        return query_body(await owned(query_id, who))

    @router.post("/query/{query_id}/feedback", status_code=201)
    async def feedback(
        query_id: str, body: FeedbackRequest, who: Annotated[Caller, Depends(caller)]
    ) -> dict[str, Any]:
        record = await repository.get(query_id)
        if record is None or record.owner != who.user_id:
            raise ServiceError(404, "Query not found")
        stored = await repository.add_feedback(
            Feedback(query_id, who.user_id, body.rating, body.feedback, utcnow())
        )
        return {"query_id": query_id, "rating": stored.rating, "feedback": stored.feedback,
                "created_at": _iso(stored.created_at)}

    @router.get("/admin/stats/queries")
    async def stats(
        who: Annotated[Caller, Depends(caller)], period: str = "7d"
    ) -> dict[str, Any]:
        if not who.is_admin:
            raise ServiceError(403, "Admin role required")
        if period not in PERIODS:
            raise ServiceError(400, "Invalid request parameters", details=[
                {"field": "period", "message": f"must be one of {', '.join(PERIODS)}"}
            ])
        s = await repository.stats(since=utcnow() - PERIODS[period])
        return {
            "period": period,
            "total_queries": s.total_queries,
            "avg_latency_ms": _round(s.avg_latency_ms, 0),
            "p95_latency_ms": _round(s.p95_latency_ms, 0),
            "by_status": s.by_status,
            "avg_faithfulness_score": _round(s.avg_faithfulness_score, 4),
            "avg_relevance_score": _round(s.avg_relevance_score, 4),
        }

    return router


def _round(value: float | None, digits: int) -> float | int | None:
    if value is None:
        return None
    return int(round(value)) if digits == 0 else round(value, digits)


def create_app(repository: QueryRepository, checks: Mapping[str, Check]) -> ServiceApp:
    app = ServiceApp(title="rag-query (internal)", docs_url=None, redoc_url=None)
    install_internal_error_handlers(app)
    app.include_router(build_router(repository))

    app.include_router(build_health_router(dict(checks)))
    instrument_app(app)
    return app

