"""One contract for both query repositories of rag-query: in memory and Postgres.

The Postgres runs use the real server (DATABASE_URL / TEST_DATABASE_URL), each test in a
schema of its own, migrated by the repository's own Alembic scripts and dropped afterwards.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pgtools import drop_schema

from beacon_rag_query.domain import (
    Feedback,
    NewQuery,
    Outcome,
    QueryStatus,
    Resolution,
    ReviewDecision,
)
from beacon_rag_query.repository import InMemoryQueryRepository, PostgresQueryRepository

T0 = datetime(2024, 11, 25, 10, 30, tzinfo=UTC)


@pytest.fixture
async def repo(backend, request, unique_name):
    if backend == "memory":
        yield InMemoryQueryRepository()
        return
    database_url = request.getfixturevalue("database_url")
    repository = PostgresQueryRepository(database_url, schema=unique_name)
    await repository.start()
    try:
        yield repository
    finally:
        await repository.close()
        await drop_schema(database_url, unique_name)


def new_query(query_id="q-1", owner="7", at=T0, question="What was Reliance's revenue in FY2024?"):
    return NewQuery(id=query_id, owner=owner, question=question,
                    filters={"company_symbol": "RELIANCE.NS"}, created_at=at)


def outcome(status=QueryStatus.COMPLETED, latency=3420, faithfulness=0.95, retrieval=0.89,
            response="Revenue was ₹9,74,864 crore [1].", reason=None, completed=T0, relevance=0.9):
    return Outcome(
        status=status,
        response=None if status is QueryStatus.HITL_PENDING else response,
        generated_response=response,
        citations=[{"index": 1, "document_id": 123, "document_title": "RIL AR FY2024",
                    "source_text": "Total revenue ...", "page_number": 45}],
        workflow_trace={"nodes_executed": ["router", "retrieve", "grade", "generate",
                                           "fact_check", "cite"],
                        "rewrite_count": 0, "generation_attempts": 1},
        metrics={"latency_ms": latency, "token_count_input": 2500, "token_count_output": 350,
                 "retrieval_score": retrieval, "faithfulness_score": faithfulness,
                 "relevance_score": relevance},
        completed_at=completed,
        review_reason=reason,
    )


async def test_create_is_idempotent_and_starts_processing(repo):
    first = await repo.create(new_query())
    again = await repo.create(new_query(question="a different question, same id"))
    assert first.status is QueryStatus.PROCESSING
    assert again.question == "What was Reliance's revenue in FY2024?"
    stored = await repo.get("q-1")
    assert stored.owner == "7" and stored.filters == {"company_symbol": "RELIANCE.NS"}
    assert stored.created_at == T0 and stored.completed_at is None and stored.response is None
    assert await repo.get("missing") is None


async def test_finish_stores_everything_once(repo):
    await repo.create(new_query())
    assert await repo.finish("q-1", outcome(completed=T0 + timedelta(seconds=3))) is True
    late = outcome(status=QueryStatus.FAILED, response="late duplicate")
    assert await repo.finish("q-1", late) is False, "a finished query never moves again"
    stored = await repo.get("q-1")
    assert stored.status is QueryStatus.COMPLETED
    assert stored.response == "Revenue was ₹9,74,864 crore [1]."
    assert stored.citations[0]["page_number"] == 45
    assert stored.workflow_trace["nodes_executed"][-1] == "cite"
    assert stored.metrics["faithfulness_score"] == 0.95 and stored.latency_ms == 3420
    assert stored.completed_at == T0 + timedelta(seconds=3)
    assert await repo.finish("unknown", outcome()) is False


async def test_a_held_answer_is_completed_once_by_its_review(repo):
    await repo.create(new_query())
    held = Outcome(**{**vars(outcome(status=QueryStatus.HITL_PENDING, response="generated [1].",
                                     reason="Sensitive topic detected: fraud", completed=None)),
                      "review_id": "r-1", "frame_seq": 7})
    await repo.finish("q-1", held)
    pending = await repo.get("q-1")
    assert pending.status is QueryStatus.HITL_PENDING and pending.response is None
    assert pending.review_reason == "Sensitive topic detected: fraud"
    assert (pending.review_id, pending.frame_seq) == ("r-1", 7)
    review = ReviewDecision("edited", "edited text.", "admin@example.com", "checked",
                            T0 + timedelta(minutes=5), review_id="r-1")
    updated = await repo.resolve_review("q-1", Resolution("edited text.", [], review))
    assert updated.status is QueryStatus.COMPLETED and updated.response == "edited text."
    assert updated.citations == [] and updated.generated_response == "generated [1]."
    assert updated.review["decision"] == "edited" and updated.review["review_id"] == "r-1"
    assert updated.completed_at == review.reviewed_at
    assert (updated.review_id, updated.frame_seq) == ("r-1", 7)
    assert await repo.get("q-1") == updated
    again = Resolution("other text.", [], review)
    assert await repo.resolve_review("q-1", again) is None, "a resolved review is not redone"
    assert (await repo.get("q-1")).response == "edited text."


async def test_resolving_a_query_that_is_not_pending_changes_nothing(repo):
    await repo.create(new_query())
    await repo.finish("q-1", outcome())
    resolution = Resolution("withheld", [], ReviewDecision("rejected", None, "admin", None, T0))
    assert await repo.resolve_review("q-1", resolution) is None
    assert (await repo.get("q-1")).status is QueryStatus.COMPLETED
    assert await repo.resolve_review("nope", resolution) is None


async def test_history_is_the_owners_newest_first(repo):
    for i in range(5):
        await repo.create(new_query(f"q-{i}", owner="7", at=T0 + timedelta(minutes=i)))
    await repo.create(new_query("other", owner="8", at=T0 + timedelta(hours=1)))
    total, page = await repo.history("7", limit=2, offset=1)
    assert total == 5
    assert [q.id for q in page] == ["q-3", "q-2"]
    total, page = await repo.history("9", limit=20, offset=0)
    assert (total, page) == (0, [])


async def test_feedback_is_one_per_owner_and_query(repo):
    await repo.create(new_query())
    await repo.add_feedback(Feedback("q-1", "7", 2, "meh", T0))
    await repo.add_feedback(Feedback("q-1", "7", 5, "Very accurate", T0 + timedelta(seconds=1)))
    await repo.add_feedback(Feedback("q-1", "9", 4, None, T0))
    stored = await repo.feedback_for("q-1")
    assert [(f.owner, f.rating, f.feedback) for f in stored] == [("7", 5, "Very accurate"), ("9", 4, None)]
    with pytest.raises(KeyError):
        await repo.add_feedback(Feedback("missing", "7", 3, None, T0))


async def test_stats_cover_the_window(repo):
    latencies = [100, 200, 300, 400, 1000]
    for i, latency in enumerate(latencies):
        await repo.create(new_query(f"q-{i}", at=T0 + timedelta(minutes=i)))
        await repo.finish(f"q-{i}", outcome(latency=latency, faithfulness=0.5 + i * 0.1,
                                            retrieval=0.3, relevance=0.6 + i * 0.1))
    await repo.create(new_query("pending", at=T0))
    await repo.finish("pending", outcome(status=QueryStatus.HITL_PENDING, latency=None,
                                         faithfulness=None, retrieval=None, completed=None,
                                         relevance=None))
    await repo.create(new_query("old", at=T0 - timedelta(days=30)))
    stats = await repo.stats(since=T0 - timedelta(days=7))
    assert stats.total_queries == 6
    assert stats.by_status == {"completed": 5, "hitl_pending": 1}
    assert stats.avg_latency_ms == pytest.approx(400.0)
    assert stats.p95_latency_ms == pytest.approx(880.0)  # 400 + 0.8 * (1000 - 400)
    assert stats.avg_faithfulness_score == pytest.approx(0.7)
    # Relevance is the answer's own score (does it address the question), not retrieval's.
    assert stats.avg_relevance_score == pytest.approx(0.8)
    empty = await repo.stats(since=T0 + timedelta(days=1))
    assert empty.total_queries == 0 and empty.by_status == {} and empty.avg_latency_ms is None


async def test_concurrent_creates_of_one_id_keep_one_record(repo):
    records = await asyncio.gather(*(repo.create(new_query(question=f"q{i}")) for i in range(8)))
    assert len({r.question for r in records}) == 1
    total, _ = await repo.history("7", limit=10, offset=0)
    assert total == 1
