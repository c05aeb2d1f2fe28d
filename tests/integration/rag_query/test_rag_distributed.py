"""rag-query as it runs distributed: RabbitMQ between the services, Postgres for records.

Two rag-query replicas compete on one queue; a cancellation must reach the replica that runs
the query, whichever it is. Each test has its own bus namespace and Postgres schema.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from pgtools import drop_schema

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope, JobCancelled, JobKind
from beacon_contracts.search import SearchHit
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.bootstrap import build
from beacon_rag_query.domain import Company, QueryStatus
from beacon_rag_query.repository import PostgresQueryRepository
from beacon_rag_query.settings import RagQuerySettings
from beacon_rag_query.sources import InMemoryCatalogue, InMemoryFundamentals, InMemoryPassageSearch
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.bus.rabbit import RabbitBus
from beacon_runtime.llm.port import ChatModel, Completion, Prompt


QUESTION = "What was Reliance's revenue in FY2024?"
PASSAGES = [
    SearchHit(chunk_id="ril-45", document_id=123, document_title="RIL Annual Report FY2024",
              company_symbol="RELIANCE.NS", doc_type="annual_report", fiscal_period="FY2024",
              page_number=45, score=0,
              text="Total revenue from operations for FY2024 was ₹9,74,864 crore, an increase of "
                   "2.6% over the previous year."),
]


class StallingModel(ChatModel):
    name = "stalling"

    def __init__(self) -> None:
        self.started, self.closed = asyncio.Event(), asyncio.Event()

    async def complete(self, prompt: Prompt) -> Completion:
        raise AssertionError("the test streams")

    async def stream(self, prompt: Prompt):
        self.started.set()
        try:
            yield "Revenue was "
            await asyncio.Event().wait()
        finally:
            self.closed.set()


async def _until(predicate, timeout: float = 30.0) -> None:
    async def poll():
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)  # a deadlock guard, not a measurement


@pytest.fixture
async def env(amqp_url, database_url, unique_name):
    buses: list[RabbitBus] = []
    services = []

    def new_bus() -> RabbitBus:
        bus = RabbitBus(amqp_url, namespace=f"test-{unique_name}",
                        retry=RetryPolicy(max_attempts=2, base_delay_s=0.05, max_delay_s=0.05),
                        publish_timeout_s=5, stop_timeout_s=2)
        buses.append(bus)
        return bus

    async def replica(instance_id: str, chat_model: ChatModel) -> RabbitBus:
        bus = new_bus()
        settings = RagQuerySettings(database_url=database_url, db_schema=unique_name,
                                    amqp_url=amqp_url)
        service = build(settings, Adapters(settings, bus=bus, chat_model=chat_model),
                        search=InMemoryPassageSearch(PASSAGES),
                        catalogue=InMemoryCatalogue([Company("RELIANCE.NS", "Reliance Industries Ltd.",
                                                 "RELIANCE")]),
                        fundamentals=InMemoryFundamentals(), instance_id=instance_id,
                        today=lambda: date(2024, 11, 25))
        await service.start()
        services.append(service)
        await bus.start()
        return bus

    seen: list[Envelope] = []

    async def observe(envelope: Envelope) -> None:
        seen.append(envelope)

    client = new_bus()
    client.subscribe("observer", ["query.frame", "job.#", "review.#"], observe, concurrency=4)

    class Env:
        pass

    e = Env()
    e.replica, e.client, e.seen = replica, client, seen
    e.repository = PostgresQueryRepository(database_url, schema=unique_name)
    try:
        yield e
    finally:
        for bus in buses:
            await bus.stop()
        for service in services:
            await service.stop()
        await e.repository.close()
        for bus in buses:
            await bus.delete_topology()
        await drop_schema(database_url, unique_name)


def _frames(seen: list[Envelope], query_id: str):
    return sorted((e.parse() for e in seen if e.type == "QueryFrame"
                   and e.payload["query_id"] == query_id), key=lambda f: f.seq)


async def _ask(client: RabbitBus, query_id: str) -> None:
    request = AnswerQuestion(job_id=query_id, owner="7", question=QUESTION,
                             stream=True)
    await client.publish(Envelope.wrap(request, correlation_id=query_id))


async def test_a_query_over_rabbitmq_is_answered_and_recorded_in_postgres(env):
    await env.replica("a", ExtractiveAnswerer())
    await env.client.start()
    await env.repository.start()
    query_id = str(uuid.uuid4())
    await _ask(env.client, query_id)
    await _until(lambda: any(e.type == "JobCompleted" for e in env.seen))
    frames = _frames(env.seen, query_id)
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert frames[-1].event == "done" and frames[-1].data["status"] == "completed"
    assert [f.data["page_number"] for f in frames if f.event == "citation"] == [45]
    record = await env.repository.get(query_id)
    assert record.status is QueryStatus.COMPLETED and "₹9,74,864 crore" in record.response
    assert record.workflow_trace["nodes_executed"] == [
        "router", "retrieve", "grade", "generate", "fact_check", "cite"]


async def test_a_cancel_reaches_whichever_replica_runs_the_query(env):
    models = {"a": StallingModel(), "b": StallingModel()}
    await env.replica("a", models["a"])
    await env.replica("b", models["b"])
    await env.client.start()
    await env.repository.start()
    query_id = str(uuid.uuid4())
    await _ask(env.client, query_id)
    await _until(lambda: any(m.started.is_set() for m in models.values()))
    running = next(m for m in models.values() if m.started.is_set())
    await env.client.publish(Envelope.wrap(
        JobCancelled(job_id=query_id, kind=JobKind.QUERY, reason="client disconnected"),
        correlation_id=query_id))
    await _until(lambda: any(e.type == "JobCompleted" for e in env.seen))
    assert running.closed.is_set()
    frames = _frames(env.seen, query_id)
    assert frames[-1].event == "error" and frames[-1].data["code"] == "CANCELLED"
    completed = next(e.parse() for e in env.seen if e.type == "JobCompleted")
    assert completed.error.error_code == "CANCELLED"
    assert (await env.repository.get(query_id)).status is QueryStatus.CANCELLED
