"""Job events outlive a job-store outage: the gateway's handler says "store unavailable"
(RetryLater) and the bus redelivers with bounded back-off for as long as Redis is down,
without using up attempts, so no JobStarted/JobCompleted is dead-lettered or lost.

Redis stays up (other tests share it); the handler reaches it through a TCP proxy the test
cuts. The back-off is short, so "longer than the retry budget" means more deliveries than
`max_attempts` (which used to dead-letter the event), not a long sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
from netproxy import TcpProxy
from yarl import URL

from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobStarted
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_contracts.routing import JOB_COMPLETED, JOB_STARTED
from beacon_gateway.handlers import apply_job_event
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.bus.rabbit import RabbitBus
from beacon_runtime.jobs.redis import RedisJobStore

pytestmark = pytest.mark.integration

RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.1, max_wait_delay_s=0.2)
JOBS = 8


async def eventually(probe: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


async def test_job_events_wait_out_a_redis_outage_and_none_is_lost(
    amqp_url, redis_url, unique_name
):
    target = URL(redis_url)
    proxy = TcpProxy((target.host, target.port or 6379))
    await proxy.start()
    proxied = str(target.with_port(proxy.port))
    store = RedisJobStore(proxied, namespace=unique_name, socket_timeout_s=1, connect_timeout_s=1)
    direct = RedisJobStore(redis_url, namespace=unique_name)
    consumer = RabbitBus(amqp_url, namespace=unique_name, retry=RETRY, stop_timeout_s=1)
    publisher = RabbitBus(amqp_url, namespace=unique_name, retry=RETRY)
    deliveries: Counter[str] = Counter()

    async def handler(envelope: Envelope) -> None:
        deliveries[str(envelope.event_id)] += 1
        await apply_job_event(envelope.parse(), envelope, jobs=store)

    consumer.subscribe("gateway", [JOB_STARTED, JOB_COMPLETED], handler, concurrency=4)
    try:
        job_ids = [f"job-{i}" for i in range(JOBS)]
        for job_id in job_ids:
            await store.create(JobRecord(job_id=job_id, kind=JobKind.GENERATE, owner="o"))
        await consumer.start()
        await publisher.start()

        await proxy.cut()  # Redis unreachable from here on
        events = []
        for job_id in job_ids:
            events.append(Envelope.wrap(
                JobStarted(job_id=job_id, kind=JobKind.GENERATE, worker="w"),
                correlation_id=job_id))
            events.append(Envelope.wrap(
                JobCompleted(job_id=job_id, kind=JobKind.GENERATE, outcome="completed",
                             result={"content": f"draft of {job_id}"}),
                correlation_id=job_id))
        for event in events:
            await publisher.publish(event)

        # Every event has now been delivered more often than a failure may be retried.
        async def outlasted_the_retry_budget() -> bool:
            return all(deliveries[str(e.event_id)] > RETRY.max_attempts + 1 for e in events)

        await eventually(outlasted_the_retry_budget)
        assert await consumer.dead_letters("gateway") == []

        await proxy.start()  # Redis reachable again

        async def all_completed() -> bool:
            jobs = [await direct.get(job_id) for job_id in job_ids]
            return all(job is not None and job.status is JobStatus.COMPLETED for job in jobs)

        await eventually(all_completed)
        for job_id in job_ids:
            job = await direct.get(job_id)
            assert job is not None and job.result == {"content": f"draft of {job_id}"}
        assert await consumer.dead_letters("gateway") == []
    finally:
        await consumer.stop()
        await publisher.stop()
        await consumer.delete_topology()
        await proxy.cut()
        await store.close()
        for job_id in [f"job-{i}" for i in range(JOBS)]:
            await direct._client.delete(direct.job_key(job_id))  # noqa: SLF001
        await direct.close()
