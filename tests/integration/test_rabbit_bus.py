"""Behaviours only a real broker has: raw malformed messages, a consumer dying mid-handler,
trace headers on the wire, competing processes, and a broker outage."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import pytest
from netproxy import TcpProxy
import structlog
from yarl import URL
from aio_pika.exceptions import ChannelPreconditionFailed
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from beacon_contracts.events import Envelope, JobCancelled, JobKind, JobStarted
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.bus.rabbit import (
    ATTEMPT_HEADER,
    CONSUMER_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    BusUnavailable,
    RabbitBus,
)


AMQP_URL = (
    os.environ.get("AMQP_URL")
    or os.environ.get("TEST_AMQP_URL")
    or "amqp://guest:guest@127.0.0.1:5672/"
)
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.2)


class Buses:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.created: list[RabbitBus] = []

    def new(self, url: str = AMQP_URL, **kwargs) -> RabbitBus:
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("stop_timeout_s", 1.0)
        bus = RabbitBus(url, namespace=self.namespace, **kwargs)
        self.created.append(bus)
        return bus


@pytest.fixture
async def buses() -> AsyncIterator[Buses]:
    b = Buses(f"test-{uuid.uuid4().hex[:12]}")
    try:
        yield b
    finally:
        for bus in b.created:
            await bus.stop()
        for bus in b.created:
            await bus.delete_topology()


@pytest.fixture
async def raw() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel()


async def eventually(probe: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def started(job_id: str = "j1") -> Envelope:
    payload = JobStarted(job_id=job_id, kind=JobKind.GENERATE, worker="w")
    return Envelope.wrap(payload, correlation_id=f"corr-{job_id}")


async def drain_raw(channel, queue_name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    queue = await channel.declare_queue(queue_name, passive=True)
    out = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        out.append(message)
    return out


async def test_malformed_message_is_dead_lettered_and_consumer_keeps_working(buses, raw):
    bus = buses.new()
    got: list[Envelope] = []
    arrived = asyncio.Event()

    async def handler(envelope: Envelope) -> None:
        got.append(envelope)
        arrived.set()

    bus.subscribe("c", ["job.*"], handler)
    await bus.start()

    exchange = await raw.get_exchange(bus.exchange_name)
    await exchange.publish(aio_pika.Message(b"not json at all"), "job.started")
    await exchange.publish(aio_pika.Message(b'{"type": "JobStarted"}'), "job.started")
    good = started()
    await bus.publish(good)

    await asyncio.wait_for(arrived.wait(), 5)
    assert got == [good]

    async def two_dead() -> bool:
        q = await raw.declare_queue(bus.dlq_name("c"), passive=True)
        return q.declaration_result.message_count == 2

    await eventually(two_dead)
    assert await bus.dead_letters("c") == []  # unreadable letters are not Envelopes
    dead = await drain_raw(raw, bus.dlq_name("c"))
    assert [m.body for m in dead] == [b"not json at all", b'{"type": "JobStarted"}']
    assert {m.headers[REASON_HEADER] for m in dead} == {"malformed"}
    assert {m.headers[CONSUMER_HEADER] for m in dead} == {"c"}


async def test_exhausted_dead_letter_carries_attempt_reason_and_error(buses, raw):
    bus = buses.new()

    async def broken(envelope: Envelope) -> None:
        raise ValueError("boom")

    bus.subscribe("c", ["job.started"], broken)
    await bus.start()
    await bus.publish(started())

    async def dead() -> bool:
        return bool(await bus.dead_letters("c"))

    await eventually(dead)
    [message] = await drain_raw(raw, bus.dlq_name("c"))
    assert message.headers[ATTEMPT_HEADER] == FAST_RETRY.max_attempts
    assert message.headers[REASON_HEADER] == "exhausted"
    assert "boom" in message.headers[ERROR_HEADER]
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT


async def test_consumer_queue_is_a_quorum_queue(buses, raw):
    bus = buses.new()
    bus.subscribe("c", ["job.started"], lambda e: asyncio.sleep(0))
    await bus.start()
    with pytest.raises(ChannelPreconditionFailed):
        await raw.declare_queue(
            bus.queue_name("c"), durable=True, arguments={"x-queue-type": "classic"}
        )


async def test_message_in_flight_when_consumer_dies_is_redelivered_to_a_new_instance(buses):
    first = buses.new()
    handler_started = asyncio.Event()

    async def hangs(envelope: Envelope) -> None:
        handler_started.set()
        await asyncio.Event().wait()  # never acks

    first.subscribe("c", ["job.started"], hangs)
    await first.start()
    envelope = started()
    await first.publish(envelope)
    await asyncio.wait_for(handler_started.wait(), 5)

    # The process "dies": its connection goes away without an ack.
    await first._connection.close()  # noqa: SLF001

    second = buses.new()
    redelivered: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()

    async def handles(envelope: Envelope) -> None:
        if not redelivered.done():
            redelivered.set_result(envelope)

    second.subscribe("c", ["job.started"], handles)
    await second.start()
    assert await asyncio.wait_for(redelivered, 5) == envelope
    assert await second.dead_letters("c") == []

    await first.stop()  # returns: the hung handler is cancelled after stop_timeout_s


async def test_two_instances_of_one_consumer_compete(buses):
    seen: dict[str, list[str]] = {"a": [], "b": []}
    done = asyncio.Event()
    total = 12

    both_busy = asyncio.Event()

    def make(name: str):
        async def handler(envelope: Envelope) -> None:
            seen[name].append(envelope.payload["job_id"])
            if seen["a"] and seen["b"]:
                both_busy.set()
            # Prefetch 1: while this delivery is unacknowledged, the broker can only hand the
            # next one to the other instance, so the first one waits here until it has.
            await asyncio.wait_for(both_busy.wait(), 10)
            if sum(map(len, seen.values())) >= total:
                done.set()

        return handler

    a, b = buses.new(prefetch=1), buses.new(prefetch=1)
    a.subscribe("workers", ["job.started"], make("a"))
    b.subscribe("workers", ["job.started"], make("b"))
    await a.start()
    await b.start()
    for i in range(total):
        await a.publish(started(f"j{i}"))

    await asyncio.wait_for(done.wait(), 15)
    assert sorted(seen["a"] + seen["b"]) == sorted(f"j{i}" for i in range(total))
    assert seen["a"] and seen["b"]


@pytest.fixture
def spans() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_trace_context_and_log_context_cross_the_broker(buses, raw, spans):
    bus = buses.new()
    inside: asyncio.Future[tuple[int, dict]] = asyncio.get_running_loop().create_future()

    async def handler(envelope: Envelope) -> None:
        trace_id = trace.get_current_span().get_span_context().trace_id
        inside.set_result((trace_id, structlog.contextvars.get_contextvars()))

    bus.subscribe("c", ["job.requested.*"], handler)
    await bus.start()
    tap = await raw.declare_queue(exclusive=True)
    await tap.bind(bus.exchange_name, "#")

    envelope = Envelope(type="JobRequested", correlation_id="corr-7",
                 payload={"job_id": "job-7", "kind": "refine", "owner": "o"})
    with trace.get_tracer("test").start_as_current_span("api request") as root:
        await bus.publish(envelope)
    trace_id = root.get_span_context().trace_id

    wire = await tap.get(timeout=5)
    traceparent = wire.headers["traceparent"]
    assert traceparent.startswith(f"00-{trace_id:032x}-")
    assert ATTEMPT_HEADER not in wire.headers  # a first attempt has none (it reads as 1)
    assert wire.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert wire.message_id == str(envelope.event_id)

    seen_trace_id, log_context = await asyncio.wait_for(inside, 5)
    assert seen_trace_id == trace_id
    assert log_context["event_id"] == str(envelope.event_id)
    assert log_context["event_type"] == "JobRequested"
    assert log_context["correlation_id"] == "corr-7"
    assert log_context["job_id"] == "job-7"
    consumer_spans = [s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.CONSUMER]
    assert any(s.context.trace_id == trace_id for s in consumer_spans)


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    url = URL(AMQP_URL)
    p = TcpProxy((url.host, url.port or 5672))
    await p.start()
    yield p
    await p.cut()


async def test_broker_outage_publish_fails_fast_then_bus_recovers(proxy, buses):
    url = URL(AMQP_URL)
    proxied = str(url.with_port(proxy.port).with_query(reconnect_interval=0.1))

    got: list[Envelope] = []
    arrived = asyncio.Event()

    async def handler(envelope: Envelope) -> None:
        got.append(envelope)
        arrived.set()

    # A publish timeout longer than the test's own: failing at all proves it did not wait.
    bus = buses.new(proxied, publish_timeout_s=3600)
    bus.subscribe("c", ["job.started"], handler)
    await bus.start()
    assert await bus.ping()

    await proxy.cut()

    async def down() -> bool:
        return not await bus.ping()

    await eventually(down)
    with pytest.raises(BusUnavailable):
        await bus.publish(started("lost"))

    await proxy.start()  # same port: the robust connection reconnects on its own
    await eventually(bus.ping, timeout=10)
    envelope = started("after")
    await bus.publish(envelope)
    await asyncio.wait_for(arrived.wait(), 5)
    assert got == [envelope]


async def test_unanswering_broker_publish_times_out_and_ping_reports_it(proxy, buses):
    """A broker that stops answering without closing the connection (a hung node, a
    network black hole): no confirm comes, so publish() gives up after its timeout and the
    round-trip ping fails; both recover once bytes flow again."""
    url = URL(AMQP_URL)
    proxied = str(url.with_port(proxy.port))
    got: list[Envelope] = []
    arrived = asyncio.Event()

    async def handler(envelope: Envelope) -> None:
        got.append(envelope)
        arrived.set()

    bus = buses.new(proxied, publish_timeout_s=0.3)
    bus.subscribe("c", ["job.started"], handler)
    await bus.start()
    assert await bus.ping()

    proxy.freeze()
    with pytest.raises(BusUnavailable):
        await bus.publish(started("unconfirmed"))
    assert not await bus.ping()

    proxy.thaw()
    await eventually(bus.ping, timeout=10)
    envelope = started("after")
    await bus.publish(envelope)

    async def delivered() -> bool:
        return envelope in got

    await eventually(delivered)
    # The unconfirmed message may still have reached the broker (its confirm was what got
    # lost): at-least-once, never anything else.
    assert {e.payload["job_id"] for e in got} <= {"unconfirmed", "after"}


async def test_transient_subscription_queue_disappears_with_its_consumer(unique_name):
    import aio_pika
    from aio_pika.exceptions import ChannelNotFoundEntity

    bus = RabbitBus(AMQP_URL, namespace=unique_name, retry=RetryPolicy(max_attempts=3, base_delay_s=0.05))
    got: list[Envelope] = []
    arrived = asyncio.Event()

    async def handler(envelope: Envelope) -> None:
        got.append(envelope)
        arrived.set()

    bus.subscribe("signals-1", ["job.cancelled"], handler, transient=True)
    await bus.start()
    publisher = RabbitBus(AMQP_URL, namespace=unique_name)
    await publisher.start()
    try:
        await publisher.publish(Envelope.wrap(JobCancelled(job_id="q1", kind="query", reason="left"), correlation_id="q1"))
        await asyncio.wait_for(arrived.wait(), 30)  # a deadlock guard, not a measurement
        assert [e.payload["job_id"] for e in got] == ["q1"]
    finally:
        await bus.stop()
        await publisher.stop()
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        with pytest.raises(ChannelNotFoundEntity):
            await channel.declare_queue(f"{unique_name}.signals-1", passive=True)
        await (await connection.channel()).exchange_delete(f"{unique_name}.events")


async def test_declared_command_queue_keeps_a_command_sent_before_its_consumer(unique_name):
    declared = {"late-worker": ("job.requested.generate",)}
    publisher = RabbitBus(AMQP_URL, namespace=unique_name, declare=declared)
    await publisher.start()
    worker = RabbitBus(AMQP_URL, namespace=unique_name, declare=declared)
    try:
        command = Envelope(type="JobRequested", correlation_id="j-early",
                 payload={"job_id": "j-early", "kind": "generate", "owner": "o"})
        await publisher.publish(command)
        got: list[Envelope] = []
        arrived = asyncio.Event()

        async def handler(envelope: Envelope) -> None:
            got.append(envelope)
            arrived.set()

        worker.subscribe("late-worker", ["job.requested.generate"], handler)
        await worker.start()
        await asyncio.wait_for(arrived.wait(), 30)  # a deadlock guard, not a measurement
        assert [e.payload["job_id"] for e in got] == ["j-early"]
        # A command that no queue takes is an error, never a silent drop.
        with pytest.raises(aio_pika.exceptions.PublishError):
            await publisher.publish(Envelope(type="JobRequested", correlation_id="j-lost",
                 payload={"job_id": "j-lost", "kind": "ingest", "owner": "o"}))
    finally:
        await worker.stop()
        await publisher.delete_topology()
        await publisher.stop()
