"""Human review end to end, through the public API: a sensitive question is held, reviewers
decide, and the analyst's attached SSE stream and query record both see the outcome.

Embedded: one process, no servers. Distributed: ingestion, rag-query, hitl and the gateway as
OS processes over the real RabbitMQ, Redis and Postgres; hitl is killed and restarted with a
review pending, a ReviewRequired is delivered twice, and a review expires.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pgtools import drop_schema
from processes import clean_env, free_port, kill, start_service, stop, wait_http_ok, wait_until
from review_flow import (
    ADMIN,
    SENSITIVE,
    Stream,
    is_hold,
    pending_review,
    people,
    wait_for_documents,
    wait_for_query,
)

from beacon_contracts.events import Envelope, ReviewRequired

EDITED = "We do not give buy or sell advice. Reliance reported its FY2024 revenue in its annual report [1]."


async def held_then_decided_concurrently(client: httpx.AsyncClient, h: dict) -> dict:
    """Ana streams a sensitive question; Rita and Raj decide at once; one wins, and Ana's
    open stream carries the outcome to `done`. Returns the query record."""
    async with client.stream("POST", "/api/v1/query/stream", headers=h["ana"],
                             json={"question": SENSITIVE}) as response:
        assert response.status_code == 200
        stream = Stream(response)
        before = await stream.until(is_hold)
        assert not [e for e in before if e.event in ("token", "citation", "done")]
        review_id = await pending_review(client, h["rita"], stream.query_id)
        assert review_id == before[-1].data["review_id"]
        assert (await client.get("/api/v1/hitl/pending", headers=h["ana"])).status_code == 403
        assert (await client.post(f"/api/v1/hitl/{review_id}/approve", headers=h["ana"],
                                  json={})).status_code == 403
        detail = (await client.get(f"/api/v1/hitl/{review_id}", headers=h["rita"])).json()
        assert detail["citations"] and detail["workflow_state"]["nodes_executed"]
        approve, reject = await asyncio.gather(
            client.post(f"/api/v1/hitl/{review_id}/approve", headers=h["rita"],
                        json={"notes": "Response is accurate and appropriate"}),
            client.post(f"/api/v1/hitl/{review_id}/reject", headers=h["raj"],
                        json={"notes": "Response contains unverified claims"}),
        )
        assert sorted([approve.status_code, reject.status_code]) == [200, 409]
        winner = approve if approve.status_code == 200 else reject
        loser = reject if winner is approve else approve
        assert loser.json()["error"]["code"] == "CONFLICT"
        after = await stream.until()
    assert after[-1].event == "done" and after[-1].data["id"] == stream.query_id
    decided = winner.json()
    assert after[-1].data["review"] == {"decision": decided["status"],
                                        "reviewed_by": decided["reviewed_by"]}
    seqs = [e.id for e in before + after]
    assert seqs == list(range(len(seqs))), "one stream, nothing lost or repeated"
    record = await wait_for_query(client, h["ana"], stream.query_id, "completed")
    assert record["review"]["reviewed_by"] == decided["reviewed_by"]
    shown = "".join(e.data["content"] for e in after if e.event == "token")
    assert record["response"] == shown
    if decided["status"] == "approved":
        assert record["response"] == detail["generated_response"] and record["citations"]
    else:
        assert "withheld" in record["response"] and record["citations"] == []
    second = await client.post(f"/api/v1/hitl/{review_id}/edit", headers=h["admin"],
                               json={"edited_response": "Too late."})
    assert second.status_code == 409
    return record


async def ask_and_hold(client: httpx.AsyncClient, h: dict) -> tuple[str, str]:
    """A synchronous question answers at once with hitl_pending; returns (query, review)."""
    response = await client.post("/api/v1/query", headers=h["ana"], json={"question": SENSITIVE})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "hitl_pending" and body["response"] is None
    return body["id"], await pending_review(client, h["rita"], body["id"])


# ---------------------------------------------------------------------------- embedded

async def test_review_flow_embedded(tmp_path):
    env = clean_env({"DEV_ADMIN_EMAIL": ADMIN["email"], "DEV_ADMIN_PASSWORD": ADMIN["password"],
                     "API_KEYS": "e2e-key", "LOG_JSON": True, "ARGON2_TIME_COST": 1,
                     "ARGON2_MEMORY_KIB": 8192})
    proc = start_service("embedded", "beacon_embedded.main", env=env, log_dir=tmp_path)
    try:
        await wait_http_ok(proc, "/readyz", timeout=60)
        async with httpx.AsyncClient(base_url=proc.url, timeout=30) as client:
            h = await people(client)
            await wait_for_documents(client, h["admin"])
            await held_then_decided_concurrently(client, h)

            query_id, review_id = await ask_and_hold(client, h)
            edited = await client.post(f"/api/v1/hitl/{review_id}/edit", headers=h["raj"],
                                       json={"edited_response": EDITED, "notes": "Shorter"})
            assert edited.status_code == 200 and edited.json()["status"] == "edited"
            record = await wait_for_query(client, h["ana"], query_id, "completed")
            assert record["response"] == EDITED and record["review"]["reviewed_by"] == "raj@example.com"

            stats = (await client.get("/api/v1/admin/stats/queries", headers=h["admin"])).json()
            assert stats["by_status"] == {"completed": 2}
            health = (await client.get("/api/v1/admin/health")).json()
            assert health["services"]["hitl"] == "healthy"
            assert health["services"]["report-writer"] == "healthy"
    finally:
        stop(proc, timeout=10)
    assert proc.logs("request.unhandled_error") == []


# ------------------------------------------------------------------------- distributed

@pytest.fixture
async def distributed(stack, database_url, tmp_path):
    common = {"DATABASE_URL": database_url, "EMBEDDING_BACKEND": "local",
              "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192}
    schemas = {name: f"{stack.ns}_{name}" for name in ("ing", "rag", "gw", "hitl")}
    ingestion = stack._track(start_service("ingestion", "beacon_ingestion.main", env=stack.distributed_env(
        **common, DB_SCHEMA=schemas["ing"], INGEST_SAMPLE_CORPUS=True, FILES_DIR=tmp_path / "files"),
        log_dir=stack.log_dir))
    await wait_http_ok(ingestion, "/readyz", timeout=180)
    rag = stack._track(start_service("rag-query", "beacon_rag_query.main", env=stack.distributed_env(
        **common, DB_SCHEMA=schemas["rag"], INGESTION_URL=ingestion.url), log_dir=stack.log_dir))
    hitl_port = free_port()

    def start_hitl(name: str, **settings):
        return stack._track(start_service(name, "beacon_hitl.main", port=hitl_port,
                                          env=stack.distributed_env(**common, DB_SCHEMA=schemas["hitl"],
                                                                    **settings),
                                          log_dir=stack.log_dir))

    hitl = start_hitl("hitl")
    gateway = stack.gateway("gateway", **common, DB_SCHEMA=schemas["gw"], INGESTION_URL=ingestion.url,
                            RAG_QUERY_URL=rag.url, HITL_URL=f"http://127.0.0.1:{hitl_port}",
                            DEV_ADMIN_EMAIL=ADMIN["email"], DEV_ADMIN_PASSWORD=ADMIN["password"])
    await stack.ready(rag, hitl, gateway, timeout=180)
    try:
        yield gateway, hitl, start_hitl
    finally:
        for schema in schemas.values():
            await drop_schema(database_url, schema)


async def publish_again(stack, request: ReviewRequired) -> None:
    """A second delivery of a ReviewRequired, as RabbitMQ makes after a lost acknowledgement."""
    from beacon_runtime.bus.rabbit import RabbitBus

    bus = RabbitBus(stack.amqp_url, namespace=stack.ns)
    await bus.start()
    try:
        await bus.publish(Envelope.wrap(request, correlation_id=request.query_id))
    finally:
        await bus.stop()


@pytest.mark.timeout(600)  # four processes, three hitl starts, the sample corpus ingested
async def test_review_flow_distributed(stack, distributed):
    gateway, hitl, start_hitl = distributed
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        h = await people(client)
        await wait_for_documents(client, h["admin"])
        await held_then_decided_concurrently(client, h)

        # A review survives a crash of hitl: it is in Postgres.
        query_id, review_id = await ask_and_hold(client, h)
        detail = (await client.get(f"/api/v1/hitl/{review_id}", headers=h["rita"])).json()
        kill(hitl)
        assert (await client.get("/api/v1/hitl/pending", headers=h["rita"])).status_code == 503
        hitl = start_hitl("hitl-restarted")
        await stack.ready(hitl, timeout=120)
        assert await pending_review(client, h["rita"], query_id) == review_id

        # A redelivered ReviewRequired creates no second review.
        await publish_again(stack, ReviewRequired(
            review_id=review_id, query_id=query_id, owner="someone", question=detail["question"],
            generated_response=detail["generated_response"], reason=detail["reason"],
            citations=detail["citations"], workflow_state=detail["workflow_state"]))
        await wait_until(lambda: hitl.logs("hitl.review_duplicate", review_id=review_id),
                         timeout=30, what="the duplicate to be handled", while_alive=[hitl])
        listed = (await client.get("/api/v1/hitl/pending?limit=100", headers=h["rita"])).json()
        assert [r["id"] for r in listed["reviews"] if r["query_id"] == query_id] == [review_id]
        trail = (await client.get(f"/api/v1/hitl/{review_id}/audit", headers=h["admin"])).json()
        assert [e["action"] for e in trail["entries"]] == ["received"]

        edited = await client.post(f"/api/v1/hitl/{review_id}/edit", headers=h["raj"],
                                   json={"edited_response": EDITED, "notes": "Shorter"})
        assert edited.status_code == 200
        record = await wait_for_query(client, h["ana"], query_id, "completed")
        assert record["response"] == EDITED and record["review"]["status"] == "edited"
        assert [c["index"] for c in record["citations"]] == [1]

        # An answer nobody reviews in time is withheld, through the same ReviewResolved path.
        stop(hitl)
        hitl = start_hitl("hitl-short-expiry", REVIEW_TTL_S=1, REVIEW_SWEEP_INTERVAL_S=0.2)
        await stack.ready(hitl, timeout=120)
        async with client.stream("POST", "/api/v1/query/stream", headers=h["ana"],
                                 json={"question": SENSITIVE}) as response:
            events = await Stream(response).until()
        assert is_hold(next(e for e in events if e.data.get("node") == "review"))
        assert events[-1].event == "done" and events[-1].data["review"]["reviewed_by"] == "system"
        shown = "".join(e.data["content"] for e in events if e.event == "token")
        assert "no reviewer approved it in time" in shown

        stats = (await client.get("/api/v1/admin/stats/queries", headers=h["admin"])).json()
        assert stats["by_status"] == {"completed": 3}
        health = (await client.get("/api/v1/admin/health")).json()
        assert health["services"]["hitl"] == "healthy"
