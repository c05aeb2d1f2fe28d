"""The research assistant distributed: ingestion, rag-query and two gateway replicas as OS
processes over the real RabbitMQ, Redis and Postgres. An SSE stream started on one gateway
is resumed on the other with Last-Event-ID, without loss or repetition."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from pgtools import drop_schema
from processes import REPO_ROOT, free_port, start, start_service, wait_http_ok


ADMIN = {"email": "admin@example.com", "password": "admin-password-1"}
QUESTION = "What was Reliance revenue from operations in FY2024?"


@pytest.fixture
async def research(stack, database_url, tmp_path):
    llm_port = free_port()
    llm = stack._track(start("stream-llm", [str(REPO_ROOT / "bench" / "timestamp_llm.py")],
                             env=stack.distributed_env(PORT=llm_port, TOKENS=40, INTERVAL_MS=50),
                             log_dir=stack.log_dir, port=llm_port))
    common = {"DATABASE_URL": database_url, "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
              "OPENAI_MODEL": "timestamp", "EMBEDDING_BACKEND": "local",
              "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192}
    schemas = [f"{stack.ns}_{suffix}" for suffix in ("ing", "rag", "gw")]
    ingestion = stack._track(start_service("ingestion", "beacon_ingestion.main", env=stack.distributed_env(
        **common, DB_SCHEMA=schemas[0], INGEST_SAMPLE_CORPUS=True, FILES_DIR=tmp_path / "files"),
        log_dir=stack.log_dir))
    await wait_http_ok(ingestion, "/readyz")
    # The stamped tokens of the test model are no claims the filings support: without a zero
    # threshold the answer would be held for a review (tests/e2e/test_e2e_review_flow.py).
    rag = stack._track(start_service("rag-query", "beacon_rag_query.main", env=stack.distributed_env(
        **common, DB_SCHEMA=schemas[1], INGESTION_URL=ingestion.url, FAITHFULNESS_THRESHOLD=0),
        log_dir=stack.log_dir))
    gateway_env = {**common, "DB_SCHEMA": schemas[2], "INGESTION_URL": ingestion.url,
                   "DEV_ADMIN_EMAIL": ADMIN["email"], "DEV_ADMIN_PASSWORD": ADMIN["password"]}
    first = stack.gateway("gateway-a", RAG_QUERY_URL=rag.url, **gateway_env)
    second = stack.gateway("gateway-b", RAG_QUERY_URL=rag.url, **gateway_env)
    await stack.ready(rag, first, second)
    try:
        yield first, second
    finally:
        for schema in schemas:
            await drop_schema(database_url, schema)


async def read(response, limit: int | None = None):
    events, fields = [], {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if fields:
                events.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
                if limit and len(events) >= limit:
                    break
            fields = {}
            continue
        name, _, value = line.partition(": ")
        fields[name] = value
    return events


async def test_stream_resumes_on_another_gateway(research):
    first, second = research
    async with httpx.AsyncClient(timeout=60) as client:
        token = (await client.post(f"{first.url}/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(200):
            docs = (await client.get(f"{second.url}/api/v1/documents?status=completed", headers=headers)).json()
            if docs["total"] >= 6:
                break
            await asyncio.sleep(0.2)
        assert docs["total"] >= 6, "sample corpus ingested by the ingestion process"

        async with client.stream("POST", f"{first.url}/api/v1/query/stream", headers=headers,
                                 json={"question": QUESTION}) as response:
            query_id = response.headers["x-query-id"]
            head = await read(response, limit=6)  # nodes, then the first token batches
        assert any(kind == "token" for kind, _, _ in head), head
        async with client.stream("GET", f"{second.url}/api/v1/query/stream/{query_id}",
                                 headers={**headers, "Last-Event-ID": str(head[-1][1])}) as response:
            tail = await read(response)
    seqs = [seq for _, seq, _ in head + tail]
    assert seqs == list(range(len(seqs))), "no frame lost or repeated across replicas"
    assert tail[-1][0] == "done" and tail[-1][2]["id"] == query_id
    tokens = "".join(data["content"] for kind, _, data in head + tail if kind == "token")
    assert tokens.count("⟨") == 40, "every streamed model token reached the client"

    async with httpx.AsyncClient(timeout=30) as client:
        record = await client.get(f"{first.url}/api/v1/query/{query_id}", headers=headers)
    assert record.status_code == 200
    assert record.json()["workflow_trace"]["nodes_executed"][:3] == ["router", "retrieve", "grade"]


async def test_every_text_field_refuses_control_characters_as_in_embedded_mode(research, stack):
    """The walk of tests/e2e/test_api_fuzz.py (embedded mode), here through a gateway process
    in front of ingestion and rag-query processes on Postgres and Redis."""
    import text_walker

    first, _ = research
    async with httpx.AsyncClient(base_url=first.url, timeout=60) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        found = await text_walker.walk(client, {"Authorization": f"Bearer {token}",
                                                "X-API-Key": stack.api_key, "Session-Id": "s"})
    assert found["untyped"] == []
    assert len(found["fields"]) >= 60
    assert found["let_through"] == []
    assert found["refused_free_text"] == []
