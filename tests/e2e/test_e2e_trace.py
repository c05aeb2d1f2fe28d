"""One trace per streamed question, across processes: the gateway, rag-query and ingestion
(real RabbitMQ, Redis, Postgres) export their spans over OTLP/HTTP to a receiver in this test,
and the spans that share the question's trace id form one tree: the gateway's request span,
the bus hop, every workflow node, the model call, and ingestion's search with its embedding
call and vector search. The client's request id is in the worker's log lines."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
from otlp_receiver import OtlpReceiver, ReceivedSpan, span_tree
from pgtools import drop_schema
from processes import REPO_ROOT, free_port, start, start_service, wait_http_ok

ADMIN = {"email": "admin@example.com", "password": "admin-password-1"}
QUESTION = "What was Reliance revenue from operations in FY2024?"
NODES = ("router", "retrieve", "grade", "generate", "fact_check", "cite")


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
async def traced_stack(stack, database_url, tmp_path, receiver):
    llm_port = free_port()
    stack._track(start("stream-llm", [str(REPO_ROOT / "bench" / "timestamp_llm.py")],
                       env=stack.distributed_env(PORT=llm_port, TOKENS=8, INTERVAL_MS=10),
                       log_dir=stack.log_dir, port=llm_port))
    common = {"DATABASE_URL": database_url, "OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
              "OPENAI_MODEL": "timestamp", "EMBEDDING_BACKEND": "local",
              "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192,
              # Spans go to the receiver, in batches sent every 100 ms.
              "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": 100}
    schemas = [f"{stack.ns}_{suffix}" for suffix in ("ing", "rag", "gw")]
    ingestion = stack._track(start_service("ingestion", "beacon_ingestion.main", env=stack.distributed_env(
        **common, DB_SCHEMA=schemas[0], INGEST_SAMPLE_CORPUS=True, FILES_DIR=tmp_path / "files"),
        log_dir=stack.log_dir))
    await wait_http_ok(ingestion, "/readyz")
    rag = stack._track(start_service("rag-query", "beacon_rag_query.main", env=stack.distributed_env(
        **common, DB_SCHEMA=schemas[1], INGESTION_URL=ingestion.url, FAITHFULNESS_THRESHOLD=0),
        log_dir=stack.log_dir))
    gateway = stack.gateway("gateway", RAG_QUERY_URL=rag.url, DB_SCHEMA=schemas[2],
                            INGESTION_URL=ingestion.url, DEV_ADMIN_EMAIL=ADMIN["email"],
                            DEV_ADMIN_PASSWORD=ADMIN["password"], **common)
    await stack.ready(rag, gateway)
    try:
        yield gateway, rag, ingestion
    finally:
        for schema in schemas:
            await drop_schema(database_url, schema)


async def stream_question(gateway, traceparent: str) -> tuple[str, list[tuple[str, dict]]]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(300):
            docs = (await client.get("/api/v1/documents?status=completed", headers=headers)).json()
            if docs["total"] >= 6:
                break
            await asyncio.sleep(0.2)
        assert docs["total"] >= 6, "sample corpus ingested by the ingestion process"
        events, fields = [], {}
        async with client.stream("POST", "/api/v1/query/stream", json={"question": QUESTION},
                                 headers={**headers, "traceparent": traceparent}) as response:
            assert response.status_code == 200
            request_id = response.headers["x-request-id"]
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    continue
                if line == "" and fields:
                    events.append((fields["event"], json.loads(fields["data"])))
                    fields = {}
                    continue
                name, _, value = line.partition(": ")
                if name:
                    fields[name] = value
    return request_id, events


def one(spans: list[ReceivedSpan], service: str, name: str) -> ReceivedSpan:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, (service, name, span_tree(spans))
    return found[0]


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


async def test_one_trace_spans_gateway_rag_query_and_ingestion_for_a_streamed_question(
    traced_stack, receiver, stack
):
    gateway, rag, ingestion = traced_stack
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    request_id, events = await stream_question(gateway, f"00-{trace_id}-{caller_span}-01")
    assert events[-1][0] == "done", events[-3:]

    def complete() -> bool:
        spans = receiver.trace(trace_id)
        names = {(s.service, s.name) for s in spans}
        # The request span ends with the stream, the consumer span after the last node.
        return {("rag-query", "node cite"), ("ingestion", "POST /internal/search"),
                ("rag-query", "chat timestamp"), ("gateway", "POST /api/v1/query/stream")} <= names \
            and any(s.service == "rag-query" and s.kind == "consumer" for s in spans)
    for _ in range(300):
        if complete():
            break
        await asyncio.sleep(0.1)
    spans = receiver.trace(trace_id)
    by_id = {s.span_id: s for s in spans}
    tree = span_tree(spans, root_parent=caller_span)
    (stack.log_dir / "span_tree.txt").write_text("\n".join(tree) + "\n")
    assert {s.service for s in spans} == {"gateway", "rag-query", "ingestion"}, tree

    # The gateway's request span is named after its route and continues the caller's trace.
    request = one(spans, "gateway", "POST /api/v1/query/stream")
    assert request.kind == "server" and request.parent_id == caller_span
    assert request.attributes["http.route"] == "/api/v1/query/stream"

    # rag-query's handling is a consumer span under the gateway's publish, under the request.
    [consumer] = [s for s in spans if s.service == "rag-query" and s.kind == "consumer"]
    publish = by_id[consumer.parent_id]
    assert publish.service == "gateway" and publish.kind == "producer"
    assert request in ancestors(publish, by_id)

    # Every node of the workflow is a span inside that handling.
    nodes = {name: one(spans, "rag-query", f"node {name}") for name in NODES}
    for node in nodes.values():
        assert consumer in ancestors(node, by_id), tree
        assert node.attributes["langgraph.graph"] == "rag-query"

    # The model call, with the GenAI attributes, inside `generate`.
    chat = one(spans, "rag-query", "chat timestamp")
    assert by_id[chat.parent_id] is nodes["generate"] or nodes["generate"] in ancestors(chat, by_id)
    assert chat.kind == "client"
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "timestamp"

    # Ingestion's search, called from `retrieve` (and from `generate` when it reads a
    # statement page whole), with its embedding call and vector search.
    searches = [s for s in spans if s.service == "ingestion" and s.name == "POST /internal/search"]
    assert searches and all(any(nodes.get(n) in ancestors(s, by_id) for n in ("retrieve", "rewrite", "generate"))
                            for s in searches), tree
    assert nodes["retrieve"] in ancestors(searches[0], by_id), tree
    search = searches[0]
    inside = [s for s in spans if search in ancestors(s, by_id)]
    embedding = [s for s in inside if s.attributes.get("gen_ai.operation.name") == "embeddings"]
    vectors = [s for s in inside if s.attributes.get("db.operation.name") == "hybrid_search"]
    assert embedding and vectors, tree
    assert vectors[0].attributes["db.system.name"] == "qdrant"

    # The request id the client got back is in the worker's log lines for this question,
    # beside the trace id.
    lines = rag.logs(request_id=request_id)
    assert lines, rag.tail()
    assert {line.get("trace_id") for line in lines} == {trace_id}
