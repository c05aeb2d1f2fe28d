"""The internal HTTP API: the seed's shapes, ownership, admin-only stats, research errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from beacon_contracts.events import utcnow
from beacon_rag_query.api import create_app
from beacon_rag_query.domain import NewQuery, Outcome, QueryStatus
from beacon_rag_query.repository import InMemoryQueryRepository

USER = {"X-User-Id": "7", "X-User-Role": "user"}
OTHER = {"X-User-Id": "8", "X-User-Role": "user"}
ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}


@pytest.fixture
async def repo() -> InMemoryQueryRepository:
    repo = InMemoryQueryRepository()
    now = utcnow()
    for i, (status, latency) in enumerate([(QueryStatus.COMPLETED, 3420),
                                           (QueryStatus.HITL_PENDING, 5000),
                                           (QueryStatus.COMPLETED, 1000)]):
        query_id = f"q-{i}"
        await repo.create(NewQuery(query_id, "7", f"Question {i} about Reliance?", None,
                                   now - timedelta(minutes=10 - i)))
        pending = status is QueryStatus.HITL_PENDING
        await repo.finish(query_id, Outcome(
            status=status, response=None if pending else f"Answer {i} [1].",
            generated_response=f"Answer {i} [1].",
            citations=[{"index": 1, "document_id": 123, "document_title": "RIL AR FY2024",
                        "source_text": "Total revenue ...", "page_number": 45}],
            workflow_trace={"nodes_executed": ["router", "retrieve", "grade", "generate",
                                               "fact_check", "cite"],
                            "rewrite_count": 0, "generation_attempts": 1,
                            "node_latencies_ms": [{"node": "router", "latency_ms": 1}],
                            "route": "vector_store"},
            metrics={"latency_ms": latency, "token_count_input": 2500, "token_count_output": 350,
                     "retrieval_score": 0.3, "faithfulness_score": 0.9, "relevance_score": 0.8},
            completed_at=None if pending else now,
        ))
    return repo


@pytest.fixture
async def client(repo) -> AsyncIterator[httpx.AsyncClient]:
    async def healthy() -> bool:
        return True

    app = create_app(repo, {"repository": healthy})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://rag-query") as c:
        yield c


async def test_query_by_id_has_the_seed_shape(client):
    response = await client.get("/api/v1/query/q-0", headers=USER)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "question", "response", "citations", "status", "latency_ms",
                         "workflow_trace", "metrics", "created_at", "completed_at", "review"}
    assert body["status"] == "completed" and body["response"] == "Answer 0 [1]."
    assert body["citations"][0]["page_number"] == 45
    assert body["workflow_trace"]["nodes_executed"][-1] == "cite"
    assert set(body["workflow_trace"]) >= {"nodes_executed", "rewrite_count", "generation_attempts"}
    assert set(body["metrics"]) == {"latency_ms", "token_count_input", "token_count_output",
                                    "retrieval_score", "faithfulness_score", "relevance_score"}
    assert body["metrics"]["relevance_score"] == 0.8
    assert body["created_at"].endswith("Z") and body["completed_at"].endswith("Z")


async def test_a_pending_review_shows_neither_response_nor_citations(client):
    body = (await client.get("/api/v1/query/q-1", headers=USER)).json()
    assert body["status"] == "hitl_pending"
    assert body["response"] is None and body["citations"] == [] and body["completed_at"] is None


async def test_other_peoples_queries_are_not_found_except_for_admins(client):
    response = await client.get("/api/v1/query/q-0", headers=OTHER)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await client.get("/api/v1/query/q-0", headers=ADMIN)).status_code == 200
    assert (await client.get("/api/v1/query/nope", headers=ADMIN)).status_code == 404


async def test_a_caller_identity_is_required(client):
    response = await client.get("/api/v1/query/history", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "UNAUTHORIZED", "message": "Missing caller identity", "details": []},
        "request_id": "req-1",
    }


async def test_history_is_paged_newest_first_and_only_mine(client):
    body = (await client.get("/api/v1/query/history?limit=2&offset=0", headers=USER)).json()
    assert body["total"] == 3 and body["limit"] == 2 and body["offset"] == 0
    assert [q["id"] for q in body["queries"]] == ["q-2", "q-1"]
    assert set(body["queries"][0]) == {"id", "question", "status", "latency_ms", "created_at"}
    assert body["queries"][0]["latency_ms"] == 1000
    other = (await client.get("/api/v1/query/history", headers=OTHER)).json()
    assert other == {"total": 0, "limit": 20, "offset": 0, "queries": []}
    bad = await client.get("/api/v1/query/history?limit=0", headers=USER)
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "limit"


async def test_feedback(client, repo):
    response = await client.post("/api/v1/query/q-0/feedback", headers=USER,
                                 json={"rating": 5, "feedback": "Very accurate and well-cited answer"})
    assert response.status_code == 201
    assert response.json()["rating"] == 5
    stored = await repo.feedback_for("q-0")
    assert [(f.owner, f.rating, f.feedback) for f in stored] == [
        ("7", 5, "Very accurate and well-cited answer")
    ]
    invalid = await client.post("/api/v1/query/q-0/feedback", headers=USER, json={"rating": 6})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "VALIDATION_ERROR"
    assert invalid.json()["error"]["details"][0]["field"] == "rating"
    not_mine = await client.post("/api/v1/query/q-0/feedback", headers=OTHER, json={"rating": 1})
    assert not_mine.status_code == 404


async def test_admin_query_stats(client):
    response = await client.get("/api/v1/admin/stats/queries?period=7d", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "period": "7d",
        "total_queries": 3,
        "avg_latency_ms": 3140,
        "p95_latency_ms": 4842,  # 3420 + 0.9 * (5000 - 3420)
        "by_status": {"completed": 2, "hitl_pending": 1},
        "avg_faithfulness_score": 0.9,
        "avg_relevance_score": 0.8,
    }
    assert (await client.get("/api/v1/admin/stats/queries", headers=USER)).status_code == 403
    bad = await client.get("/api/v1/admin/stats/queries?period=1y", headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "period"


async def test_health(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"repository": "ok"}


async def test_metrics_are_served(client):
    await client.get("/api/v1/query/q-0", headers=USER)
    body = (await client.get("/metrics")).text
    assert 'beacon_http_requests_total{method="GET",route="/api/v1/query/{query_id}",status="200"}' in body
    assert "beacon_rag_queries_total" in body
