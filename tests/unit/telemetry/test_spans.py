"""Spans for model and embedding calls, vector searches, LangGraph nodes and ingestion stages,
each made in one place (beacon_runtime.instrumentation, the ingestion stage runner), and
request spans named after their route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ingestion_testkit import FileServer, Harness, make_pdf
from opentelemetry import trace
from prometheus_client import REGISTRY

from beacon_report_writer.drafter import OfflineDrafter
from beacon_report_writer.graph import build_graph
from beacon_report_writer.repository import InMemorySessionDrafts
from beacon_runtime.embeddings.local import HashingEmbedder
from beacon_runtime.instrumentation import record_usage, traced_node
from beacon_runtime.llm.port import ChatModel, Completion, LLMError, Prompt
from beacon_runtime.vectors.edge import EdgeVectorStore
from beacon_runtime.vectors.port import SparseVector, VectorPoint

PROMPT = Prompt(system="s", user="u")


class CountingModel(ChatModel):
    """Reports usage as a real provider does: with the completion, or at the end of a stream."""

    name = "acme:tiny-1"

    async def complete(self, prompt: Prompt) -> Completion:
        return Completion(text="ok", model="tiny-1-0325", input_tokens=11, output_tokens=3)

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        for piece in ("a", "b", "c"):
            yield piece
        record_usage(7, 3)


class BrokenModel(CountingModel):
    async def complete(self, prompt: Prompt) -> Completion:
        raise LLMError("down")


def tokens(model: str, kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "beacon_model_tokens_total", {"operation": "chat", "model": model, "type": kind})
    return value or 0.0


async def test_a_model_call_is_a_genai_span_with_its_token_usage_counted(spans):
    before = tokens("tiny-1", "input"), tokens("tiny-1", "output")
    await CountingModel().complete(PROMPT)
    span = spans.one("chat tiny-1")
    assert span.kind == trace.SpanKind.CLIENT
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["gen_ai.provider.name"] == "acme"
    assert span.attributes["gen_ai.request.model"] == "tiny-1"
    assert span.attributes["gen_ai.response.model"] == "tiny-1-0325"
    assert span.attributes["gen_ai.usage.input_tokens"] == 11
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert (tokens("tiny-1", "input"), tokens("tiny-1", "output")) == (before[0] + 11, before[1] + 3)


async def test_a_stream_is_one_span_current_only_inside_the_adapter(spans):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("caller") as caller:
        seen = []
        async for piece in CountingModel().stream(PROMPT):
            # Between pieces the caller's span is current again, not the model's.
            seen.append((piece, trace.get_current_span() is caller))
    assert seen == [("a", True), ("b", True), ("c", True)]
    span = spans.one("chat tiny-1")
    assert span.parent.span_id == caller.get_span_context().span_id
    assert span.attributes["gen_ai.usage.input_tokens"] == 7
    assert span.attributes["gen_ai.usage.output_tokens"] == 3


async def test_a_failed_model_call_marks_its_span_as_an_error(spans):
    with pytest.raises(LLMError):
        await BrokenModel().complete(PROMPT)
    span = spans.one("chat tiny-1")
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.attributes["error.type"] == "LLMError"


async def test_embedding_calls_and_vector_searches_are_spans(spans):
    embedder, store = HashingEmbedder(dim=64), EdgeVectorStore()
    await store.ensure_collection("chunks", 64)
    [dense] = await embedder.embed_documents(["net profit rose"])
    await store.upsert("chunks", [VectorPoint(id="00000000-0000-0000-0000-000000000001", dense=dense,
                                              sparse=SparseVector([1], [1.0]), payload={"k": "v"})])
    query = await embedder.embed_query("net profit")
    hits = await store.hybrid_search("chunks", query, SparseVector([1], [1.0]), limit=3)
    assert len(hits) == 1
    documents, single = spans.named("embeddings local-hashing-64")
    assert documents.attributes["gen_ai.operation.name"] == "embeddings"
    assert documents.attributes["beacon.embeddings.inputs"] == 1
    assert documents.attributes["gen_ai.embeddings.dimension.count"] == 64
    search = spans.one("hybrid_search chunks")
    assert search.attributes["db.system.name"] == "qdrant"
    assert search.attributes["db.collection.name"] == "chunks"
    assert search.attributes["db.response.returned_rows"] == 1
    assert spans.one("upsert chunks").attributes["db.operation.batch.size"] == 1


async def test_a_traced_node_is_a_span_and_the_model_call_is_inside_it(spans):
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        text: str

    async def draft(state: State, config) -> State:  # takes LangGraph's config, as rag-query's do
        assert config["configurable"]["run"] == "r1"
        return {"text": (await CountingModel().complete(PROMPT)).text}

    graph = StateGraph(State)
    graph.add_node("draft", traced_node("demo", "draft", draft))
    graph.add_edge(START, "draft")
    graph.add_edge("draft", END)
    state = await graph.compile().ainvoke({}, {"configurable": {"run": "r1"}})
    assert state == {"text": "ok"}
    node = spans.one("node draft")
    assert node.attributes["langgraph.graph"] == "demo"
    assert node.attributes["langgraph.node"] == "draft"
    assert spans.one("chat tiny-1").parent.span_id == node.context.span_id


def test_every_node_of_both_graphs_is_traced():
    from beacon_rag_query.graph import Deps
    from beacon_rag_query.graph import build_graph as build_rag_graph

    report = build_graph(OfflineDrafter(), InMemorySessionDrafts())
    assert set(report.builder.nodes) == {"prepare", "retrieve", "draft", "check", "finalize", "remember"}
    # Building a graph calls none of its sources.
    rag = build_rag_graph(Deps(search=None, catalogue=None, fundamentals=None,
                               chat_model=CountingModel()))
    assert {"router", "retrieve", "grade", "generate", "fact_check", "cite"} <= set(rag.builder.nodes)
    for graph in (report, rag):
        for name, spec in graph.builder.nodes.items():
            assert getattr(spec.runnable.afunc, "__beacon_node__", None) == name


async def test_every_ingestion_stage_is_a_span_and_a_timed_stage(tmp_path, spans):
    def completed(stage: str) -> float:
        return REGISTRY.get_sample_value("beacon_ingestion_stage_seconds_count",
                                         {"stage": stage, "outcome": "completed"}) or 0.0

    before = {stage: completed(stage) for stage in ("download", "parse", "chunk", "embed", "index")}
    server = FileServer()
    try:
        url = server.serve("/ril/ar2024.pdf", make_pdf(2))
        async with Harness(tmp_path, server) as h:
            assert (await h.ingest(url)).status_code == 202
            await h.drain()
    finally:
        server.stop()
    for stage in before:
        span = spans.one(f"ingest {stage}")
        assert span.attributes["beacon.ingestion.stage"] == stage
        assert completed(stage) == before[stage] + 1
    # The embed stage's model call and the index stage's upsert sit inside their stages.
    embed, index = spans.one("ingest embed"), spans.one("ingest index")
    assert any(s.parent and s.parent.span_id == embed.context.span_id
               for s in spans.spans if s.name.startswith("embeddings "))
    assert any(s.parent and s.parent.span_id == index.context.span_id
               for s in spans.spans if s.name.startswith("upsert "))


async def test_request_spans_are_named_after_the_route_template(spans, monkeypatch):
    # FastAPI's server spans are on when spans are exported (the endpoint is never called).
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    from research_stack import bearer, research_stack

    from beacon_gateway.repository import Role

    async with research_stack() as (client, tokens, _service):
        # No ingestion service behind it: a 503, named after its route all the same.
        response = await client.get("/api/v1/companies/NOPE.NS", headers=bearer(tokens[Role.ADMIN]))
        assert response.status_code == 503
    server = [s for s in spans.spans if s.kind == trace.SpanKind.SERVER]
    assert "GET /api/v1/companies/{symbol}" in {s.name for s in server}, [s.name for s in server]
    assert all(s.name != "GET" for s in server)


async def test_an_adapter_that_calls_its_parent_makes_one_span(spans):
    class Delegating(CountingModel):
        async def complete(self, prompt: Prompt) -> Completion:
            return await super().complete(prompt)

    await Delegating().complete(PROMPT)
    assert [s.name for s in spans.spans] == ["chat tiny-1"]
