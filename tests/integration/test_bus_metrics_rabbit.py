"""Queue depth per queue comes from the real broker at scrape time (passive declares), for the
queues a process consumes and the command queues it only declares."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from beacon_contracts.events import Envelope
from beacon_runtime.bus.rabbit import RabbitBus
from beacon_runtime.metrics import metrics_endpoint


def command(job_id: str) -> Envelope:
    return Envelope(type="JobRequested", correlation_id=job_id,
                    payload={"job_id": job_id, "kind": "generate", "owner": "o"})


@pytest.fixture
async def bus(amqp_url) -> AsyncIterator[RabbitBus]:
    # Declares the worker's queue without consuming it, as the gateway does for commands.
    bus = RabbitBus(amqp_url, namespace=f"test-{uuid.uuid4().hex[:12]}",
                    declare={"worker": ["job.requested.*"]}, stop_timeout_s=1.0)
    try:
        yield bus
    finally:
        await bus.stop()
        await bus.delete_topology()


async def test_queue_depth_and_consumers_are_read_from_the_broker_at_scrape(bus):
    async def never(_envelope) -> None:
        raise AssertionError("nothing is published to this consumer")

    bus.subscribe("listener", ["job.cancelled"], never)
    await bus.start()
    for i in range(3):
        await bus.publish(command(f"j{i}"))
    worker, listener = bus.queue_name("worker"), bus.queue_name("listener")
    stats = await bus.queue_stats()
    assert stats[worker] == (3, 0)
    assert stats[listener] == (0, 1)
    assert stats[bus.dlq_name("worker")] == (0, 0)

    # /metrics refreshes the gauges itself before it answers.
    await bus.publish(command("j3"))
    body = (await metrics_endpoint(None)).body.decode()
    assert f'beacon_bus_queue_messages{{queue="{worker}"}} 4.0' in body
    assert REGISTRY.get_sample_value("beacon_bus_queue_consumers", {"queue": listener}) == 1


async def test_a_stopped_bus_no_longer_reports(bus):
    await bus.start()
    await bus.stop()
    assert await bus.queue_stats() == {}
