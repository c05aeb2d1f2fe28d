"""The client's request id crosses the real broker in the `x-request-id` header and is
current in the consumer (log lines, and messages the consumer publishes), retries included."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
import structlog

from beacon_contracts.events import Envelope, JobKind, JobStarted
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.bus.rabbit import RabbitBus
from beacon_runtime.logs import REQUEST_ID_HEADER, current_request_id, request_id_bound


@pytest.fixture
async def bus(amqp_url) -> AsyncIterator[RabbitBus]:
    bus = RabbitBus(amqp_url, namespace=f"test-{uuid.uuid4().hex[:12]}",
                    retry=RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.2),
                    stop_timeout_s=1.0)
    try:
        yield bus
    finally:
        await bus.stop()
        await bus.delete_topology()


async def test_the_request_id_travels_in_headers_through_a_retry_and_a_second_hop(bus, amqp_url):
    seen: list[tuple[str, object, object]] = []
    done = asyncio.Event()

    async def worker(envelope: Envelope) -> None:
        seen.append(("worker", structlog.contextvars.get_contextvars().get("request_id"),
                     current_request_id()))
        if len(seen) == 1:
            raise RuntimeError("first attempt fails: the retry must keep the id")
        await bus.publish(Envelope.wrap(
            JobStarted(job_id="j1", kind=JobKind.REFINE, worker="w"),
            correlation_id=envelope.correlation_id, causation=envelope))

    async def watcher(_envelope: Envelope) -> None:
        seen.append(("watcher", structlog.contextvars.get_contextvars().get("request_id"),
                     current_request_id()))
        done.set()

    bus.subscribe("worker", ["job.requested.*"], worker)
    bus.subscribe("watcher", ["job.started"], watcher)
    await bus.start()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        tap = await channel.declare_queue(exclusive=True)
        await tap.bind(bus.exchange_name, "job.requested.*")
        with request_id_bound("rq-over-rabbit-7"):
            await bus.publish(Envelope(type="JobRequested", correlation_id="c1",
                                       payload={"job_id": "j1", "kind": "refine", "owner": "o"}))
        wire = await tap.get(timeout=5)
        assert wire.headers[REQUEST_ID_HEADER] == "rq-over-rabbit-7"
    await asyncio.wait_for(done.wait(), 10)
    assert seen == [("worker", "rq-over-rabbit-7", "rq-over-rabbit-7"),
                    ("worker", "rq-over-rabbit-7", "rq-over-rabbit-7"),
                    ("watcher", "rq-over-rabbit-7", "rq-over-rabbit-7")]
