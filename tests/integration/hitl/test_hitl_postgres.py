"""hitl on the real Postgres: reviews outlive the process, and the trail cannot be rewritten."""

from __future__ import annotations

import asyncpg
import pytest
from hitl_harness import ADMIN, REVIEWER, start_hitl

from beacon_hitl.repository import PostgresReviewRepository
from beacon_runtime.db import asyncpg_url


async def test_a_review_survives_a_restart(database_url, pg_schema):
    async for first in start_hitl(database_url=database_url, db_schema=pg_schema, repository=None):
        request = await first.ask_review()
    # A new process: the service migrates the schema again (a no-op) and finds the review.
    async for second in start_hitl(database_url=database_url, db_schema=pg_schema, repository=None):
        listed = (await second.client.get("/api/v1/hitl/pending", headers=REVIEWER)).json()
        assert [r["id"] for r in listed["reviews"]] == [request.review_id]
        await second.ask_review(query_id=request.query_id, review_id=request.review_id)
        assert (await second.client.get("/api/v1/hitl/pending", headers=REVIEWER)).json()["total"] == 1
        decided = await second.client.post(f"/api/v1/hitl/{request.review_id}/approve",
                                           headers=REVIEWER, json={"notes": "ok"})
        assert decided.status_code == 200
        await second.bus.drain()
        assert [r.decision for _, r in second.resolved] == ["approved"]
        trail = (await second.client.get(f"/api/v1/hitl/{request.review_id}/audit",
                                          headers=ADMIN)).json()
        assert [e["action"] for e in trail["entries"]] == ["received", "approved"]


async def test_the_audit_trail_is_append_only(database_url, pg_schema):
    repository = PostgresReviewRepository(database_url, schema=pg_schema)
    await repository.start()
    async for hitl in start_hitl(repository=repository):
        request = await hitl.ask_review()
        await hitl.client.post(f"/api/v1/hitl/{request.review_id}/reject", headers=REVIEWER, json={})
    await repository.close()
    conn = await asyncpg.connect(asyncpg_url(database_url).replace("+asyncpg", ""))
    try:
        await conn.execute(f'SET search_path TO "{pg_schema}"')
        for statement in ("UPDATE review_audit SET actor = 'someone else'",
                          "DELETE FROM review_audit", "TRUNCATE review_audit"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
        actors = [r["actor"] for r in await conn.fetch("SELECT actor FROM review_audit ORDER BY id")]
        assert actors == ["rag-query", "rita@example.com"]
    finally:
        await conn.close()
