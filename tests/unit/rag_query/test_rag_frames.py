"""Frame order on the bus, and token batching."""

from __future__ import annotations

import asyncio

import pytest

from beacon_rag_query.frames import CancelRegistry, QueryCancelled, stream_batched

EVENT_RANK = {"node": 0, "token": 0, "citation": 1, "done": 2}


async def test_frames_are_numbered_from_zero_without_gaps(harness):
    for question in ("What was Reliance's revenue in FY2024?", "Compare TCS and Infosys revenue growth",
                     "What is the weather in Mumbai?"):
        run = await harness.ask(question)
        assert [f.seq for f in run.frames] == list(range(len(run.frames)))
        # Bus delivery order is publish order here, and it matches seq.
        published = [f.seq for f in run.of("QueryFrame")]
        assert published == sorted(published)


async def test_nodes_in_graph_order_then_tokens_citations_done(harness):
    run = await harness.ask("Compare TCS and Infosys revenue growth")
    kinds = [f.event for f in run.frames]
    assert [d["node"] for d in run.events("node")] == [
        "router", "retrieve", "grade", "generate", "fact_check", "cite"
    ]
    # Tokens stream while `generate` runs, so they come before its node frame.
    generate_at = next(i for i, f in enumerate(run.frames) if f.data.get("node") == "generate")
    token_at = [i for i, k in enumerate(kinds) if k == "token"]
    assert token_at and max(token_at) < generate_at
    assert min(token_at) > next(i for i, f in enumerate(run.frames) if f.data.get("node") == "grade")
    # Then citations, then exactly one done, last.
    ranks = [EVENT_RANK[k] for k in kinds]
    assert ranks == sorted(ranks)
    assert kinds.count("done") == 1 and kinds[-1] == "done"
    assert sorted(c["index"] for c in run.events("citation")) == [1, 2]
    assert set(run.events("citation")[0]) == {"index", "document_id", "document_title", "page_number"}


async def test_node_frames_carry_the_seed_fields(harness):
    run = await harness.ask("What was Reliance's revenue in FY2024?")
    router, retrieve, grade = run.events("node")[:3]
    assert router == {"node": "router", "status": "completed", "route": "vector_store"}
    assert retrieve["status"] == "completed" and retrieve["documents_found"] >= 1
    assert grade["status"] == "completed" and grade["relevant_count"] >= 1
    done = run.events("done")[0]
    assert done["id"] == run.query_id and done["status"] == "completed"
    assert isinstance(done["latency_ms"], int)


async def _pieces(items):
    for item in items:
        yield item


async def test_batches_flush_by_size():
    sent: list[str] = []

    async def emit(text: str) -> None:
        sent.append(text)

    text = await stream_batched(
        _pieces(["0123456789"] * 10), emit, cancel=CancelRegistry().token("q"),
        max_chars=25, max_age_s=3600,
    )
    assert sent == ["0123456789" * 3] * 3 + ["0123456789"]
    assert text == "0123456789" * 10


async def test_a_stalled_model_does_not_hold_back_what_it_already_sent():
    """The model sends one piece, then waits until the client has seen it: only an
    age-based flush can let it go on."""
    seen_first = asyncio.Event()
    sent: list[str] = []

    async def emit(text: str) -> None:
        sent.append(text)
        seen_first.set()

    async def stalling():
        yield "Hello"
        await seen_first.wait()
        yield " world"

    text = await asyncio.wait_for(
        stream_batched(stalling(), emit, cancel=CancelRegistry().token("q"),
                       max_chars=1000, max_age_s=0.01),
        timeout=10,  # a deadlock guard, not a measurement
    )
    assert sent == ["Hello", " world"] and text == "Hello world"


async def test_cancellation_stops_the_stream_and_closes_the_model():
    registry = CancelRegistry()
    closed = asyncio.Event()
    sent: list[str] = []

    async def endless():
        try:
            while True:
                yield "x" * 10
                await asyncio.sleep(0)
        finally:
            closed.set()

    async def emit(text: str) -> None:
        sent.append(text)
        if len(sent) == 2:
            registry.cancel("q")

    with pytest.raises(QueryCancelled):
        await stream_batched(endless(), emit, cancel=registry.token("q"), max_chars=20,
                             max_age_s=3600)
    assert len(sent) == 2 and closed.is_set()


def test_the_cancel_registry_is_bounded():
    registry = CancelRegistry(capacity=2)
    for query_id in ("a", "b", "c"):
        registry.cancel(query_id)
    assert [registry.is_cancelled(q) for q in ("a", "b", "c")] == [False, True, True]
