"""Cancellation: a JobCancelled stops a running query between token batches or between
nodes, and one heard before the query starts stops it before any node runs."""

from __future__ import annotations

import asyncio

from beacon_contracts.events import Envelope, JobCancelled, JobKind
from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.domain import QueryStatus
from beacon_rag_query.sources import InMemoryPassageSearch, PassageSearch
from beacon_runtime.llm.port import ChatModel, Completion, Prompt
from rag_harness import PASSAGES, Run, start_harness

QUESTION = "What was Reliance's revenue in FY2024?"


class StallingModel(ChatModel):
    """Streams one sentence, then never another: only a cancellation ends the query."""

    name = "stalling"

    def __init__(self) -> None:
        self.closed = asyncio.Event()

    async def complete(self, prompt: Prompt) -> Completion:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def stream(self, prompt: Prompt):
        try:
            yield "Revenue was high. "
            await asyncio.Event().wait()
        finally:
            self.closed.set()


class BlockingSearch(PassageSearch):
    """Holds the first search until released, so a test can cancel mid-node."""

    def __init__(self, hits: list[SearchHit]) -> None:
        self._inner = InMemoryPassageSearch(hits)
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.calls = 0

    async def search(self, request: SearchRequest) -> list[SearchHit]:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        return await self._inner.search(request)


async def _until(predicate, timeout: float = 10.0) -> None:
    async def poll():
        while not predicate():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)  # a deadlock guard, not a measurement


def _cancel(query_id: str) -> Envelope:
    return Envelope.wrap(JobCancelled(job_id=query_id, kind=JobKind.QUERY, reason="client left"),
                         correlation_id=query_id)


def _assert_cancelled(run: Run) -> None:
    kinds = [f.event for f in run.frames]
    assert kinds[-1] == "error" and "done" not in kinds
    assert run.frames[-1].data == {"code": "CANCELLED", "message": "The query was cancelled."}
    completed, = run.of("JobCompleted")
    assert completed.outcome == "failed" and completed.error.error_code == "CANCELLED"
    assert completed.result == {"id": run.query_id, "status": "cancelled"}


async def test_cancel_while_tokens_stream():
    model = StallingModel()
    async for h in start_harness(chat_model=model):
        await h.publish_request(QUESTION, query_id="q-stream", stream=True)
        await _until(lambda: any(e.type == "QueryFrame" and e.payload["event"] == "token"
                                 for e in h.seen))
        await h.bus.publish(_cancel("q-stream"))
        await h.bus.drain()
        run = Run("q-stream", [e for e in h.seen if e.correlation_id == "q-stream"])
        _assert_cancelled(run)
        assert run.streamed_text == "Revenue was high. "
        assert model.closed.is_set(), "the model's stream is closed"
        record = await h.repository.get("q-stream")
        assert record.status is QueryStatus.CANCELLED and record.response is None
        assert record.workflow_trace["nodes_executed"] == ["router", "retrieve", "grade"]


async def test_cancel_between_nodes():
    search = BlockingSearch(PASSAGES)
    async for h in start_harness(search=search):
        await h.publish_request(QUESTION, query_id="q-nodes")
        await asyncio.wait_for(search.entered.wait(), 10)
        await h.bus.publish(_cancel("q-nodes"))
        await _until(lambda: h.cancels.is_cancelled("q-nodes"))
        search.release.set()
        await h.bus.drain()
        run = Run("q-nodes", [e for e in h.seen if e.correlation_id == "q-nodes"])
        _assert_cancelled(run)
        assert run.events("node") == [{"node": "router", "status": "completed",
                                       "route": "vector_store"}]
        record = await h.repository.get("q-nodes")
        assert record.status is QueryStatus.CANCELLED
        assert record.workflow_trace["nodes_executed"] == ["router", "retrieve"]
        # retrieve's own two searches (the question, and its statement for a figure
        # question), and no rewrite's after the cancel
        assert search.calls == 2


async def test_a_cancel_heard_before_the_request_stops_it_before_any_node():
    async for h in start_harness():
        await h.bus.publish(_cancel("q-early"))
        await h.bus.drain()
        run = await h.ask(QUESTION, query_id="q-early")
        _assert_cancelled(run)
        assert run.events("node") == []
        assert (await h.repository.get("q-early")).status is QueryStatus.CANCELLED


async def test_cancelling_another_query_or_another_kind_changes_nothing():
    async for h in start_harness():
        await h.bus.publish(_cancel("someone-else"))
        other_kind = JobCancelled(job_id="q-mine", kind=JobKind.GENERATE, reason="x")
        await h.bus.publish(Envelope.wrap(other_kind, correlation_id="q-mine"))
        await h.bus.drain()
        run = await h.ask(QUESTION, query_id="q-mine")
        assert run.events("done")[0]["status"] == "completed"
