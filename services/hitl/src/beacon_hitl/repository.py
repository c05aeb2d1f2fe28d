"""Reviews and their audit trail.

Two adapters, one contract (tests/suites/review_repository.py): Postgres
(schema "hitl", SQLAlchemy Core over asyncpg, Alembic migrations) and in memory for embedded
mode. All SQL lives here; every method is its own transaction, and a state change is written
in the same transaction as its audit entry.

Every transition is guarded by the state it leaves: `decide` moves only a pending review
that has not expired, `expire_due` only a pending one past its time. Two reviewers deciding
at once therefore cannot both win: in Postgres the second UPDATE waits for the first one's
row lock and then finds the review no longer pending.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert

from beacon_hitl.domain import (
    SYSTEM,
    AuditEntry,
    Decision,
    ExpiryPolicy,
    NewReview,
    Review,
    ReviewClosed,
    ReviewNotFound,
    ReviewStatus,
    audit_of_decision,
    audit_of_expiry,
    audit_of_receipt,
)
from beacon_runtime.db import PostgresStore

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "hitl"


class ReviewRepository(ABC):
    @abstractmethod
    async def add(self, review: NewReview) -> tuple[Review, bool]:
        """Store a pending review with its `received` audit entry, and return it with True.
        A review for a query that has one already (a redelivered ReviewRequired) is not
        stored again: the stored one is returned with False."""

    @abstractmethod
    async def get(self, review_id: str) -> Review | None: ...

    @abstractmethod
    async def pending(self, now: datetime, limit: int, offset: int) -> tuple[int, list[Review]]:
        """Pending reviews not yet expired at `now`, oldest first, and how many in all."""

    @abstractmethod
    async def decide(self, review_id: str, decision: Decision) -> Review:
        """Record a decision on a review that is pending and open at `decision.at`.
        Raises ReviewNotFound, or ReviewClosed when it was decided or has expired."""

    @abstractmethod
    async def expire_due(self, now: datetime, policy: ExpiryPolicy, limit: int = 100) -> list[Review]:
        """Mark pending reviews whose time is up (expires_at <= now) expired, by `system`."""

    @abstractmethod
    async def unpublished(self, limit: int = 100) -> list[Review]:
        """Ended reviews whose ReviewResolved has not been confirmed published, oldest first."""

    @abstractmethod
    async def mark_published(self, review_id: str, at: datetime) -> None: ...

    @abstractmethod
    async def audit(self, review_id: str) -> list[AuditEntry]:
        """The review's trail, oldest first."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True


def _decided(review: Review, decision: Decision) -> Review:
    return replace(review, status=decision.status, reviewed_by=decision.by,
                   reviewed_at=decision.at, notes=decision.notes,
                   edited_response=decision.edited_response)


class InMemoryReviewRepository(ReviewRepository):
    """No awaits between a check and its write: each method is atomic on the event loop."""

    def __init__(self) -> None:
        self._reviews: dict[str, Review] = {}
        self._by_query: dict[str, str] = {}
        self._audit: dict[str, list[AuditEntry]] = {}

    async def add(self, review: NewReview) -> tuple[Review, bool]:
        existing = self._by_query.get(review.query_id) or (
            review.id if review.id in self._reviews else None
        )
        if existing is not None:
            return self._reviews[existing], False
        stored = Review.pending(review)
        self._reviews[review.id] = stored
        self._by_query[review.query_id] = review.id
        self._audit[review.id] = [audit_of_receipt(review)]
        return stored, True

    async def get(self, review_id: str) -> Review | None:
        return self._reviews.get(review_id)

    async def pending(self, now: datetime, limit: int, offset: int) -> tuple[int, list[Review]]:
        waiting = sorted((r for r in self._reviews.values() if r.open_at(now)),
                         key=lambda r: (r.created_at, r.id))
        return len(waiting), waiting[offset:offset + limit]

    async def decide(self, review_id: str, decision: Decision) -> Review:
        review = self._reviews.get(review_id)
        if review is None:
            raise ReviewNotFound(review_id)
        if not review.open_at(decision.at):
            raise ReviewClosed(review)
        self._reviews[review_id] = _decided(review, decision)
        self._audit[review_id].append(audit_of_decision(review, decision))
        return self._reviews[review_id]

    async def expire_due(self, now: datetime, policy: ExpiryPolicy, limit: int = 100) -> list[Review]:
        due = sorted((r for r in self._reviews.values()
                      if r.status is ReviewStatus.PENDING and r.expires_at <= now),
                     key=lambda r: (r.expires_at, r.id))[:limit]
        expired = []
        for review in due:
            self._reviews[review.id] = _decided(
                review, Decision(ReviewStatus.EXPIRED, SYSTEM, now))
            self._audit[review.id].append(audit_of_expiry(review, now, policy))
            expired.append(self._reviews[review.id])
        return expired

    async def unpublished(self, limit: int = 100) -> list[Review]:
        ended = [r for r in self._reviews.values()
                 if r.status is not ReviewStatus.PENDING and r.published_at is None]
        return sorted(ended, key=lambda r: (r.reviewed_at, r.id))[:limit]

    async def mark_published(self, review_id: str, at: datetime) -> None:
        review = self._reviews.get(review_id)
        if review is not None and review.published_at is None:
            self._reviews[review_id] = replace(review, published_at=at)

    async def audit(self, review_id: str) -> list[AuditEntry]:
        return list(self._audit.get(review_id, []))


# ---- Postgres -----------------------------------------------------------------------------

metadata = sa.MetaData()
reviews = sa.Table(
    "reviews", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("query_id", sa.String(64)),
    sa.Column("owner", sa.String(128)),
    sa.Column("question", sa.Text),
    sa.Column("generated_response", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("citations", JSONB),
    sa.Column("workflow_state", JSONB),
    sa.Column("correlation_id", sa.String(128)),
    sa.Column("status", sa.String(16)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("reviewed_by", sa.String(320)),
    sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    sa.Column("notes", sa.Text),
    sa.Column("edited_response", sa.Text),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)
review_audit = sa.Table(
    "review_audit", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("review_id", sa.String(64)),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("actor", sa.String(320)),
    sa.Column("action", sa.String(16)),
    sa.Column("notes", sa.Text),
    sa.Column("text_before", sa.Text),
    sa.Column("text_after", sa.Text),
    sa.Column("details", JSONB),
)
PENDING = ReviewStatus.PENDING.value


class PostgresReviewRepository(PostgresStore, ReviewRepository):
    def __init__(self, database_url: str, schema: str = SCHEMA, *,
                 migrate_on_start: bool = True) -> None:
        super().__init__(database_url, schema, migrations=MIGRATIONS,
                         migrate_on_start=migrate_on_start)

    async def add(self, review: NewReview) -> tuple[Review, bool]:
        async with self.transaction() as conn:
            inserted = (await conn.execute(
                insert(reviews).values(**vars(review), status=PENDING)
                .on_conflict_do_nothing().returning(*reviews.c)
            )).mappings().first()
            if inserted is not None:
                await conn.execute(review_audit.insert().values(_audit_row(audit_of_receipt(review))))
                return _review(inserted), True
            stored = (await conn.execute(
                reviews.select().where(sa.or_(reviews.c.query_id == review.query_id,
                                              reviews.c.id == review.id))
            )).mappings().first()
        return _review(stored), False

    async def get(self, review_id: str) -> Review | None:
        rows = await self._run(reviews.select().where(reviews.c.id == review_id))
        return _review(rows[0]) if rows else None

    async def pending(self, now: datetime, limit: int, offset: int) -> tuple[int, list[Review]]:
        waiting = sa.and_(reviews.c.status == PENDING, reviews.c.expires_at > now)
        async with self.transaction(write=False) as conn:
            total = (await conn.execute(
                sa.select(sa.func.count()).select_from(reviews).where(waiting))).scalar_one()
            rows = (await conn.execute(
                reviews.select().where(waiting)
                .order_by(reviews.c.created_at, reviews.c.id).limit(limit).offset(offset)
            )).mappings().all()
        return total, [_review(r) for r in rows]

    async def decide(self, review_id: str, decision: Decision) -> Review:
        async with self.transaction() as conn:
            row = (await conn.execute(
                reviews.update()
                .where(reviews.c.id == review_id, reviews.c.status == PENDING,
                       reviews.c.expires_at > decision.at)
                .values(status=decision.status.value, reviewed_by=decision.by,
                        reviewed_at=decision.at, notes=decision.notes,
                        edited_response=decision.edited_response)
                .returning(*reviews.c)
            )).mappings().first()
            if row is None:
                current = (await conn.execute(
                    reviews.select().where(reviews.c.id == review_id))).mappings().first()
                if current is None:
                    raise ReviewNotFound(review_id)
                raise ReviewClosed(_review(current))
            decided = _review(row)
            # The text before: what was generated (the decision never changes that column).
            await conn.execute(review_audit.insert().values(
                _audit_row(audit_of_decision(decided, decision))))
        return decided

    async def expire_due(self, now: datetime, policy: ExpiryPolicy, limit: int = 100) -> list[Review]:
        due = (
            sa.select(reviews.c.id)
            .where(reviews.c.status == PENDING, reviews.c.expires_at <= now)
            .order_by(reviews.c.expires_at, reviews.c.id).limit(limit)
            .with_for_update(skip_locked=True)  # replicas sweeping at once share the work
        )
        async with self.transaction() as conn:
            rows = (await conn.execute(
                reviews.update().where(reviews.c.id.in_(due.scalar_subquery()))
                .values(status=ReviewStatus.EXPIRED.value, reviewed_by=SYSTEM, reviewed_at=now)
                .returning(*reviews.c)
            )).mappings().all()
            expired = sorted((_review(r) for r in rows), key=lambda r: (r.expires_at, r.id))
            if expired:
                await conn.execute(review_audit.insert(), [
                    _audit_row(audit_of_expiry(r, now, policy)) for r in expired])
        return expired

    async def unpublished(self, limit: int = 100) -> list[Review]:
        rows = await self._run(
            reviews.select()
            .where(reviews.c.status != PENDING, reviews.c.published_at.is_(None))
            .order_by(reviews.c.reviewed_at, reviews.c.id).limit(limit)
        )
        return [_review(r) for r in rows]

    async def mark_published(self, review_id: str, at: datetime) -> None:
        await self._run(
            reviews.update()
            .where(reviews.c.id == review_id, reviews.c.published_at.is_(None))
            .values(published_at=at),
            write=True,
        )

    async def audit(self, review_id: str) -> list[AuditEntry]:
        rows = await self._run(
            review_audit.select().where(review_audit.c.review_id == review_id)
            .order_by(review_audit.c.id)
        )
        return [AuditEntry(
            review_id=r["review_id"], at=r["at"], actor=r["actor"], action=r["action"],
            notes=r["notes"], text_before=r["text_before"], text_after=r["text_after"],
            details=dict(r["details"] or {}),
        ) for r in rows]


def _audit_row(entry: AuditEntry) -> dict:
    return {"review_id": entry.review_id, "at": entry.at, "actor": entry.actor,
            "action": entry.action, "notes": entry.notes, "text_before": entry.text_before,
            "text_after": entry.text_after, "details": entry.details}


def _review(row) -> Review:
    return Review(
        id=row["id"], query_id=row["query_id"], owner=row["owner"], question=row["question"],
        generated_response=row["generated_response"], reason=row["reason"],
        citations=list(row["citations"] or []), workflow_state=dict(row["workflow_state"] or {}),
        correlation_id=row["correlation_id"], status=ReviewStatus(row["status"]),
        created_at=row["created_at"], expires_at=row["expires_at"],
        reviewed_by=row["reviewed_by"], reviewed_at=row["reviewed_at"], notes=row["notes"],
        edited_response=row["edited_response"], published_at=row["published_at"],
    )
