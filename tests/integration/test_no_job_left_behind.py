"""No job left behind and nothing done twice, on the real RabbitMQ and Redis: the report
writer with two replicas sharing a Redis ledger, the gateway's job-event handler and job
store, model calls counted.

* the same JobRequested published 3 times: one draft's worth of model calls, one result;
* a JobCancelled that reached the worker's queue before its request (no worker running):
  the request is never drafted and the job ends failed (CANCELLED);
* a request the worker rejects: its job ends failed with INVALID_INPUT, not pending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
import redis.asyncio as aioredis

from beacon_contracts.events import Envelope, JobCancelled, JobCompleted, JobKind, JobStarted
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_contracts.routing import COMMAND_QUEUES
from beacon_gateway.handlers import apply_job_event
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.dispatch import subscribe
from beacon_report_writer.bootstrap import CONSUMER, build
from beacon_report_writer.drafter import OfflineDrafter
from beacon_report_writer.repository import InMemorySessionDrafts
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.bus.once import OncePolicy
from beacon_runtime.bus.once_redis import RedisProcessedEvents
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.bus.rabbit import RabbitBus
from beacon_runtime.jobs.redis import RedisJobStore
from beacon_runtime.llm.port import ChatModel, Completion, Prompt
from beacon_runtime.metrics import BUS_ONCE

pytestmark = pytest.mark.integration

RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.1, max_wait_delay_s=0.2)
# A GenerateSection's fields (beacon_contracts.commands).
PARAMS = {"session_id": "s1", "request": {
    "type": "Technical_scope", "customer_id": "ACME", "opportunity_id": "OPP-1",
    "section_title": "technology stack"}}


class CountingModel(ChatModel):
    """The offline drafter behind a counter shared by every replica: billed calls. While
    `gate` is closed a call waits at it, so the test decides when a draft is mid-call."""

    name = "counting"

    def __init__(self, calls: list[str], gate: asyncio.Event) -> None:
        self.inner, self.calls, self.gate = OfflineDrafter(), calls, gate

    async def complete(self, prompt: Prompt) -> Completion:
        self.calls.append(prompt.user)
        await self.gate.wait()
        return await self.inner.complete(prompt)

    def stream(self, prompt: Prompt):
        self.calls.append(prompt.user)
        return self.inner.stream(prompt)


def _once(consumer: str, outcome: str) -> float:
    return BUS_ONCE.labels(consumer, outcome)._value.get()  # noqa: SLF001 - a test's probe


async def eventually(probe: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


class Stack:
    def __init__(self, amqp_url: str, redis_url: str, ns: str) -> None:
        self.amqp_url, self.redis_url, self.ns = amqp_url, redis_url, ns
        self.jobs = RedisJobStore(redis_url, namespace=ns)
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.buses: list[RabbitBus] = []
        self.gateway = self.bus()
        apply = partial(apply_job_event, jobs=self.jobs)
        subscribe(self.gateway, "gateway", {JobStarted: apply, JobCompleted: apply}, once=False)

    def bus(self) -> RabbitBus:
        bus = RabbitBus(self.amqp_url, namespace=self.ns, retry=RETRY, declare=COMMAND_QUEUES,
                        stop_timeout_s=2, ledger=RedisProcessedEvents(self.redis_url, namespace=self.ns),
                        once=OncePolicy(lease_s=3))
        self.buses.append(bus)
        return bus

    def replica(self) -> RabbitBus:
        bus = self.bus()
        build(ReportWriterSettings(openai_base_url=None, redis_url=None, worker_concurrency=4),
              Adapters(bus=bus, chat_model=CountingModel(self.calls, self.gate)),
              drafts=InMemorySessionDrafts())
        return bus

    async def submit(self, job_id: str, envelope: Envelope | None = None) -> Envelope:
        await self.jobs.create(JobRecord(job_id=job_id, kind=JobKind.GENERATE, owner="o"))
        return envelope or Envelope(type="JobRequested", correlation_id=job_id, payload={
            "job_id": job_id, "kind": "generate", "owner": "o", **PARAMS})

    async def finished(self, job_id: str) -> JobRecord:
        async def terminal() -> bool:
            job = await self.jobs.get(job_id)
            return job is not None and job.status.is_terminal

        await eventually(terminal)
        return await self.jobs.get(job_id)

    async def close(self) -> None:
        for bus in self.buses:
            await bus.stop()
        await self.buses[0].delete_topology()
        for consumer in COMMAND_QUEUES:
            for name in self.buses[0].topology.all_queues(consumer, RETRY):
                await _delete_queue(self.amqp_url, name)
        await self.jobs.close()
        admin = aioredis.Redis.from_url(self.redis_url)
        keys = [key async for key in admin.scan_iter(match=f"{self.ns}:*")]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()


async def _delete_queue(amqp_url: str, name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


@pytest.fixture
async def stack(amqp_url, redis_url, unique_name):
    s = Stack(amqp_url, redis_url, unique_name)
    try:
        yield s
    finally:
        await s.close()


async def test_one_event_published_three_times_to_two_replicas_is_drafted_once(stack):
    first, second = stack.replica(), stack.replica()
    await stack.gateway.start()
    await first.start()
    await second.start()

    baseline = await stack.submit("baseline")
    await stack.gateway.publish(baseline)
    assert (await stack.finished("baseline")).status is JobStatus.COMPLETED
    per_draft = len(stack.calls)
    assert per_draft >= 1

    duplicates_before, busy_before = _once(CONSUMER, "duplicate"), _once(CONSUMER, "busy")
    stack.gate.clear()  # job-1's first delivery stops in its model call
    duplicated = await stack.submit("job-1")
    for _ in range(3):
        await stack.gateway.publish(duplicated)

    async def met_mid_call() -> bool:
        return len(stack.calls) > per_draft and _once(CONSUMER, "busy") - busy_before >= 2

    # Duplicates met the first delivery's live lease (each look of a waiting one counts).
    await eventually(met_mid_call)
    assert len(stack.calls) == per_draft + 1, "one delivery is drafting, the others wait"
    stack.gate.set()
    job = await stack.finished("job-1")
    assert job.status is JobStatus.COMPLETED
    # Duplicates that found the first delivery mid-draft wait for it, then are dropped.
    async def duplicates_dropped() -> bool:
        return _once(CONSUMER, "duplicate") - duplicates_before == 2

    await eventually(duplicates_dropped)
    assert len(stack.calls) == 2 * per_draft  # baseline and job-1, once
    assert await first.dead_letters(CONSUMER) == []


async def test_a_job_cancelled_before_any_worker_ran_is_never_drafted(stack):
    await stack.gateway.start()  # declares the worker's queue, bound to job.cancelled
    request = await stack.submit("job-2")
    await stack.gateway.publish(Envelope.wrap(
        JobCancelled(job_id="job-2", kind=JobKind.GENERATE, reason="publish not confirmed"),
        correlation_id="job-2"))
    await stack.gateway.publish(request)

    worker = stack.replica()
    await worker.start()
    job = await stack.finished("job-2")
    assert job.status is JobStatus.FAILED and job.error.error_code == "CANCELLED"
    assert stack.calls == []


async def test_a_rejected_request_fails_its_job_with_a_code_the_client_sees(stack):
    worker = stack.replica()
    await stack.gateway.start()
    await worker.start()
    await stack.submit("job-3")
    unreadable = Envelope(type="JobRequested", correlation_id="job-3",
                          payload={"job_id": "job-3", "kind": "generate", **PARAMS})
    await stack.gateway.publish(unreadable)  # no owner
    job = await stack.finished("job-3")
    assert job.status is JobStatus.FAILED and job.error.error_code == "INVALID_INPUT"
    assert [e.event_id for e in await worker.dead_letters(CONSUMER)] == [unreadable.event_id]
    assert stack.calls == []
