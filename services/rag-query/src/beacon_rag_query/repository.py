"""Query records: the question, how it was answered, the trace, metrics and feedback.

Two adapters, one contract (tests/contract/test_query_repository_contract.py): Postgres
(schema "rag_query", SQLAlchemy Core over asyncpg, Alembic migrations) and in memory for
embedded mode. All SQL lives here; every method is its own transaction.

Transitions are guarded so redeliveries are harmless: `finish` only moves a `processing`
query, `resolve_review` only a `hitl_pending` one (a held answer waiting for its review).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.dialects.postgresql import JSONB, insert

from beacon_rag_query.domain import (
    Feedback,
    NewQuery,
    Outcome,
    QueryRecord,
    QueryStats,
    QueryStatus,
    Resolution,
)
from beacon_runtime.db import PostgresStore

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "rag_query"


class QueryRepository(ABC):
    @abstractmethod
    async def create(self, query: NewQuery) -> QueryRecord:
        """Record a query as processing; if the id exists, return the stored one unchanged."""

    @abstractmethod
    async def get(self, query_id: str) -> QueryRecord | None: ...

    @abstractmethod
    async def finish(self, query_id: str, outcome: Outcome) -> bool:
        """Store how a processing query ended. False if it is not processing (any more)."""

    @abstractmethod
    async def resolve_review(self, query_id: str, resolution: Resolution) -> QueryRecord | None:
        """Complete a hitl_pending query with what the review let out. None if the query was
        not pending (unknown, or resolved already)."""

    @abstractmethod
    async def history(self, owner: str, limit: int, offset: int) -> tuple[int, list[QueryRecord]]:
        """The owner's queries, newest first, and how many there are in all."""

    @abstractmethod
    async def add_feedback(self, feedback: Feedback) -> Feedback:
        """One feedback per owner and query: a second one replaces the first."""

    @abstractmethod
    async def feedback_for(self, query_id: str) -> list[Feedback]: ...

    @abstractmethod
    async def stats(self, since: datetime) -> QueryStats:
        """Queries created at or after `since`."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks, as Postgres' percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


class InMemoryQueryRepository(QueryRepository):
    def __init__(self) -> None:
        self._queries: dict[str, QueryRecord] = {}
        self._feedback: dict[tuple[str, str], Feedback] = {}

    async def create(self, query: NewQuery) -> QueryRecord:
        if query.id not in self._queries:
            self._queries[query.id] = QueryRecord(
                id=query.id, owner=query.owner, question=query.question, filters=query.filters,
                status=QueryStatus.PROCESSING, created_at=query.created_at,
            )
        return self._queries[query.id]

    async def get(self, query_id: str) -> QueryRecord | None:
        return self._queries.get(query_id)

    async def finish(self, query_id: str, outcome: Outcome) -> bool:
        record = self._queries.get(query_id)
        if record is None or record.status is not QueryStatus.PROCESSING:
            return False
        self._queries[query_id] = replace(
            record, status=outcome.status, response=outcome.response,
            generated_response=outcome.generated_response, citations=list(outcome.citations),
            workflow_trace=dict(outcome.workflow_trace), metrics=dict(outcome.metrics),
            review_reason=outcome.review_reason, completed_at=outcome.completed_at,
            review_id=outcome.review_id, frame_seq=outcome.frame_seq,
        )
        return True

    async def resolve_review(self, query_id: str, resolution: Resolution) -> QueryRecord | None:
        record = self._queries.get(query_id)
        if record is None or record.status is not QueryStatus.HITL_PENDING:
            return None
        self._queries[query_id] = replace(
            record, status=QueryStatus.COMPLETED, response=resolution.response,
            citations=list(resolution.citations), review=resolution.review.as_dict(),
            completed_at=resolution.review.reviewed_at,
        )
        return self._queries[query_id]

    async def history(self, owner: str, limit: int, offset: int) -> tuple[int, list[QueryRecord]]:
        mine = sorted(
            (q for q in self._queries.values() if q.owner == owner),
            key=lambda q: (q.created_at, q.id), reverse=True,
        )
        return len(mine), mine[offset:offset + limit]

    async def add_feedback(self, feedback: Feedback) -> Feedback:
        if feedback.query_id not in self._queries:
            raise KeyError(feedback.query_id)
        self._feedback[(feedback.query_id, feedback.owner)] = feedback
        return feedback

    async def feedback_for(self, query_id: str) -> list[Feedback]:
        return sorted((f for (q, _), f in self._feedback.items() if q == query_id),
                      key=lambda f: f.owner)

    async def stats(self, since: datetime) -> QueryStats:
        window = [q for q in self._queries.values() if q.created_at >= since]
        by_status: dict[str, int] = {}
        for q in window:
            by_status[q.status.value] = by_status.get(q.status.value, 0) + 1

        def metric(name: str) -> list[float]:
            return [float(q.metrics[name]) for q in window if q.metrics.get(name) is not None]

        latencies = metric("latency_ms")
        return QueryStats(
            total_queries=len(window),
            avg_latency_ms=_mean(latencies),
            p95_latency_ms=percentile(latencies, 0.95),
            by_status=by_status,
            avg_faithfulness_score=_mean(metric("faithfulness_score")),
            avg_relevance_score=_mean(metric("relevance_score")),
        )


# ---- Postgres -----------------------------------------------------------------------------

metadata = sa.MetaData()
queries = sa.Table(
    "queries", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128)),
    sa.Column("question", sa.Text),
    sa.Column("filters", JSONB),
    sa.Column("status", sa.String(20)),
    sa.Column("response", sa.Text),
    sa.Column("generated_response", sa.Text),
    sa.Column("citations", JSONB),
    sa.Column("workflow_trace", JSONB),
    sa.Column("metrics", JSONB),
    sa.Column("latency_ms", sa.Integer),
    sa.Column("retrieval_score", sa.Float),
    sa.Column("faithfulness_score", sa.Float),
    sa.Column("review_reason", sa.Text),
    sa.Column("review", JSONB),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("review_id", sa.String(64)),
    sa.Column("frame_seq", sa.Integer),
)
query_feedback = sa.Table(
    "query_feedback", metadata,
    sa.Column("query_id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128), primary_key=True),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("feedback", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)


class PostgresQueryRepository(PostgresStore, QueryRepository):
    def __init__(self, database_url: str, schema: str = SCHEMA, *,
                 migrate_on_start: bool = True) -> None:
        super().__init__(database_url, schema, migrations=MIGRATIONS,
                         migrate_on_start=migrate_on_start)

    async def create(self, query: NewQuery) -> QueryRecord:
        await self._run(
            insert(queries).values(
                id=query.id, owner=query.owner, question=query.question, filters=query.filters,
                status=QueryStatus.PROCESSING.value, created_at=query.created_at,
            ).on_conflict_do_nothing(index_elements=["id"]),
            write=True,
        )
        record = await self.get(query.id)
        assert record is not None
        return record

    async def get(self, query_id: str) -> QueryRecord | None:
        rows = await self._run(queries.select().where(queries.c.id == query_id))
        return _record(rows[0]) if rows else None

    async def finish(self, query_id: str, outcome: Outcome) -> bool:
        metrics = outcome.metrics
        count = await self._run(
            queries.update()
            .where(queries.c.id == query_id, queries.c.status == QueryStatus.PROCESSING.value)
            .values(
                status=outcome.status.value, response=outcome.response,
                generated_response=outcome.generated_response, citations=list(outcome.citations),
                workflow_trace=dict(outcome.workflow_trace), metrics=dict(metrics),
                latency_ms=metrics.get("latency_ms"),
                retrieval_score=metrics.get("retrieval_score"),
                faithfulness_score=metrics.get("faithfulness_score"),
                review_reason=outcome.review_reason, completed_at=outcome.completed_at,
                review_id=outcome.review_id, frame_seq=outcome.frame_seq,
            ),
            write=True,
        )
        return count == 1

    async def resolve_review(self, query_id: str, resolution: Resolution) -> QueryRecord | None:
        rows = await self._run(
            queries.update()
            .where(queries.c.id == query_id, queries.c.status == QueryStatus.HITL_PENDING.value)
            .values(status=QueryStatus.COMPLETED.value, response=resolution.response,
                    citations=list(resolution.citations), review=resolution.review.as_dict(),
                    completed_at=resolution.review.reviewed_at)
            .returning(*queries.c),
            write=True,
        )
        return _record(rows[0]) if rows else None

    async def history(self, owner: str, limit: int, offset: int) -> tuple[int, list[QueryRecord]]:
        total = await self._run(
            sa.select(sa.func.count().label("n")).select_from(queries).where(queries.c.owner == owner)
        )
        rows = await self._run(
            queries.select().where(queries.c.owner == owner)
            .order_by(queries.c.created_at.desc(), queries.c.id.desc())
            .limit(limit).offset(offset)
        )
        return total[0]["n"], [_record(r) for r in rows]

    async def add_feedback(self, feedback: Feedback) -> Feedback:
        statement = insert(query_feedback).values(
            query_id=feedback.query_id, owner=feedback.owner, rating=feedback.rating,
            feedback=feedback.feedback, created_at=feedback.created_at,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["query_id", "owner"],
            set_={"rating": statement.excluded.rating, "feedback": statement.excluded.feedback,
                  "created_at": statement.excluded.created_at},
        )
        try:
            await self._run(statement, write=True)
        except sqlalchemy.exc.IntegrityError as exc:
            raise KeyError(feedback.query_id) from exc
        return feedback

    async def feedback_for(self, query_id: str) -> list[Feedback]:
        rows = await self._run(
            query_feedback.select().where(query_feedback.c.query_id == query_id)
            .order_by(query_feedback.c.owner)
        )
        return [Feedback(r["query_id"], r["owner"], r["rating"], r["feedback"], r["created_at"])
                for r in rows]

    async def stats(self, since: datetime) -> QueryStats:
        window = queries.c.created_at >= since
        summary = (await self._run(
            sa.select(
                sa.func.count().label("total"),
                sa.func.avg(queries.c.latency_ms).label("avg_latency"),
                sa.func.percentile_cont(0.95).within_group(queries.c.latency_ms).label("p95"),
                sa.func.avg(queries.c.faithfulness_score).label("faithfulness"),
                sa.func.avg(
                    queries.c.metrics["relevance_score"].astext.cast(sa.Float)
                ).label("relevance"),
            ).where(window)
        ))[0]
        by_status = await self._run(
            sa.select(queries.c.status, sa.func.count().label("n")).where(window)
            .group_by(queries.c.status)
        )
        return QueryStats(
            total_queries=summary["total"],
            avg_latency_ms=_float(summary["avg_latency"]),
            p95_latency_ms=_float(summary["p95"]),
            by_status={r["status"]: r["n"] for r in by_status},
            avg_faithfulness_score=_float(summary["faithfulness"]),
            avg_relevance_score=_float(summary["relevance"]),
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _record(row) -> QueryRecord:
    return QueryRecord(
        id=row["id"], owner=row["owner"], question=row["question"], filters=row["filters"],
        status=QueryStatus(row["status"]), created_at=row["created_at"],
        response=row["response"], generated_response=row["generated_response"],
        citations=list(row["citations"] or []), workflow_trace=dict(row["workflow_trace"] or {}),
        metrics=dict(row["metrics"] or {}), review_reason=row["review_reason"],
        review=row["review"], completed_at=row["completed_at"],
        review_id=row["review_id"], frame_seq=row["frame_seq"],
    )
