"""One contract for both review repositories of hitl: in memory and Postgres.

The Postgres runs use the real server (DATABASE_URL / TEST_DATABASE_URL), each test in a
schema of its own, migrated by the repository's own Alembic scripts and dropped afterwards.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pgtools import drop_schema

from beacon_hitl.domain import (
    Decision,
    NewReview,
    ReviewClosed,
    ReviewNotFound,
    ReviewStatus,
)
from beacon_hitl.repository import InMemoryReviewRepository, PostgresReviewRepository

T0 = datetime(2024, 11, 25, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
ANSWER = "No material fraud was reported by the auditors during FY2024 [1]."


@pytest.fixture
async def repo(backend, request, unique_name):
    if backend == "memory":
        yield InMemoryReviewRepository()
        return
    database_url = request.getfixturevalue("database_url")
    repository = PostgresReviewRepository(database_url, schema=unique_name)
    await repository.start()
    try:
        yield repository
    finally:
        await repository.close()
        await drop_schema(database_url, unique_name)


def new_review(n: int = 1, at: datetime = T0, ttl: timedelta = HOUR) -> NewReview:
    return NewReview(
        id=f"r-{n}", query_id=f"q-{n}", owner="7",
        question="What is the fraud investigation status at Reliance?",
        generated_response=ANSWER, reason="Sensitive topic detected: fraud, investigation",
        citations=[{"index": 1, "document_id": 123, "page_number": 88}],
        workflow_state={"nodes_executed": ["router", "retrieve"],
                        "fact_check_result": {"is_faithful": True, "confidence": 0.65}},
        correlation_id=f"q-{n}", created_at=at, expires_at=at + ttl,
    )


def approve(at: datetime = T0 + timedelta(minutes=5), by: str = "rita@example.com") -> Decision:
    return Decision(ReviewStatus.APPROVED, by, at, notes="accurate")


async def test_a_review_is_stored_once_per_query(repo):
    stored, created = await repo.add(new_review())
    assert created and stored.status is ReviewStatus.PENDING
    assert stored.citations[0]["page_number"] == 88
    assert stored.workflow_state["fact_check_result"]["confidence"] == 0.65
    again, created = await repo.add(new_review())
    assert not created and again == stored
    # Same query, another id (rag-query ran the query again): still the first review.
    other_id = NewReview(**{**vars(new_review()), "id": "r-other"})
    again, created = await repo.add(other_id)
    assert not created and again.id == "r-1"
    assert await repo.get("r-other") is None
    assert [e.action for e in await repo.audit("r-1")] == ["received"]


async def test_pending_is_oldest_first_and_leaves_out_expired_and_decided(repo):
    for n in (3, 1, 2, 4):
        await repo.add(new_review(n, at=T0 + timedelta(minutes=n)))
    await repo.add(new_review(5, at=T0 - HOUR, ttl=timedelta(minutes=30)))  # expired, not swept
    await repo.decide("r-4", approve(at=T0 + timedelta(minutes=10)))
    now = T0 + timedelta(minutes=20)
    total, page = await repo.pending(now, limit=2, offset=0)
    assert total == 3 and [r.id for r in page] == ["r-1", "r-2"]
    total, page = await repo.pending(now, limit=2, offset=2)
    assert total == 3 and [r.id for r in page] == ["r-3"]


async def test_a_decision_is_recorded_with_its_audit_entry(repo):
    await repo.add(new_review())
    decided = await repo.decide("r-1", approve())
    assert decided.status is ReviewStatus.APPROVED
    assert (decided.reviewed_by, decided.reviewed_at, decided.notes) == (
        "rita@example.com", T0 + timedelta(minutes=5), "accurate")
    assert await repo.get("r-1") == decided
    received, approved = await repo.audit("r-1")
    assert (approved.actor, approved.action, approved.at) == (
        "rita@example.com", "approved", T0 + timedelta(minutes=5))
    assert approved.text_before == ANSWER and approved.text_after == ANSWER


async def test_an_edit_keeps_the_text_before_and_after(repo):
    await repo.add(new_review())
    edit = Decision(ReviewStatus.EDITED, "ed@example.com", T0 + timedelta(minutes=1),
                    notes="Removed speculation", edited_response="No fraud was reported [1].")
    decided = await repo.decide("r-1", edit)
    assert decided.edited_response == "No fraud was reported [1]."
    assert decided.generated_response == ANSWER, "the generated text is kept as it was"
    entry = (await repo.audit("r-1"))[-1]
    assert (entry.action, entry.text_before, entry.text_after, entry.notes) == (
        "edited", ANSWER, "No fraud was reported [1].", "Removed speculation")


async def test_a_rejection_shows_no_text_after(repo):
    await repo.add(new_review())
    await repo.decide("r-1", Decision(ReviewStatus.REJECTED, "x@example.com", T0, "unverified"))
    entry = (await repo.audit("r-1"))[-1]
    assert (entry.action, entry.text_before, entry.text_after) == ("rejected", ANSWER, None)


async def test_a_second_decision_is_refused_and_changes_nothing(repo):
    await repo.add(new_review())
    first = await repo.decide("r-1", approve())
    with pytest.raises(ReviewClosed) as refused:
        await repo.decide("r-1", Decision(ReviewStatus.REJECTED, "other@example.com",
                                          T0 + timedelta(minutes=6)))
    assert refused.value.review == first
    assert await repo.get("r-1") == first
    assert [e.action for e in await repo.audit("r-1")] == ["received", "approved"]


async def test_concurrent_decisions_have_one_winner(repo):
    await repo.add(new_review())
    decisions = [Decision(status, f"reviewer{i}@example.com", T0 + timedelta(seconds=i))
                 for i, status in enumerate([ReviewStatus.APPROVED, ReviewStatus.REJECTED] * 3)]
    outcomes = await asyncio.gather(*(repo.decide("r-1", d) for d in decisions),
                                    return_exceptions=True)
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ReviewClosed) for o in outcomes if o is not winners[0])
    stored = await repo.get("r-1")
    assert stored.reviewed_by == winners[0].reviewed_by
    assert [e.action for e in await repo.audit("r-1")].count(stored.status.value) == 1
    assert len(await repo.audit("r-1")) == 2


async def test_no_decision_on_a_missing_or_expired_review(repo):
    with pytest.raises(ReviewNotFound):
        await repo.decide("nope", approve())
    await repo.add(new_review(ttl=timedelta(minutes=10)))
    with pytest.raises(ReviewClosed):  # expired by the clock, before any sweep
        await repo.decide("r-1", approve(at=T0 + timedelta(minutes=10)))
    assert (await repo.get("r-1")).status is ReviewStatus.PENDING


async def test_expiry_closes_due_reviews_once(repo):
    await repo.add(new_review(1, ttl=timedelta(minutes=10)))
    await repo.add(new_review(2, ttl=timedelta(minutes=30)))
    await repo.add(new_review(3, ttl=timedelta(minutes=5)))
    await repo.decide("r-3", approve(at=T0 + timedelta(minutes=1)))
    now = T0 + timedelta(minutes=15)
    expired = await repo.expire_due(now, "reject")
    assert [r.id for r in expired] == ["r-1"]
    assert (expired[0].status, expired[0].reviewed_by, expired[0].reviewed_at) == (
        ReviewStatus.EXPIRED, "system", now)
    assert await repo.expire_due(now, "reject") == []
    assert (await repo.get("r-2")).status is ReviewStatus.PENDING
    assert (await repo.get("r-3")).status is ReviewStatus.APPROVED
    entry = (await repo.audit("r-1"))[-1]
    assert (entry.actor, entry.action, entry.text_after) == ("system", "expired", None)
    assert entry.details == {"policy": "reject"}
    with pytest.raises(ReviewClosed):
        await repo.decide("r-1", approve(at=now))


async def test_expiry_under_the_approve_policy_records_the_released_text(repo):
    await repo.add(new_review(ttl=timedelta(minutes=1)))
    await repo.expire_due(T0 + HOUR, "approve")
    entry = (await repo.audit("r-1"))[-1]
    assert entry.text_after == ANSWER and entry.details == {"policy": "approve"}


async def test_unpublished_outcomes_until_marked(repo):
    for n in (1, 2, 3):
        await repo.add(new_review(n, ttl=timedelta(minutes=10)))
    await repo.decide("r-2", approve(at=T0 + timedelta(minutes=2)))
    await repo.expire_due(T0 + timedelta(minutes=11), "reject")  # r-1 and r-3
    assert [r.id for r in await repo.unpublished()] == ["r-2", "r-1", "r-3"]
    await repo.mark_published("r-2", T0 + timedelta(minutes=3))
    await repo.mark_published("r-2", T0 + timedelta(minutes=9))  # the first time counts
    assert (await repo.get("r-2")).published_at == T0 + timedelta(minutes=3)
    assert [r.id for r in await repo.unpublished(limit=1)] == ["r-1"]
