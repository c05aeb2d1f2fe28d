"""The runtime's handler table: one parse, typed calls, one place that turns messages away."""

from __future__ import annotations

from beacon_contracts.commands import AnswerQuestion, IngestDocument, RunBootstrap
from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobStarted, QueryFrame
from beacon_runtime.bus.dispatch import Dispatcher, patterns_for, subscribe
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import RetryPolicy


def _bus() -> InMemoryBus:
    return InMemoryBus(retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01))


def _observe(bus: InMemoryBus) -> list[Envelope]:
    seen: list[Envelope] = []

    async def observe(envelope: Envelope) -> None:
        seen.append(envelope)

    bus.subscribe("observer", ["job.completed", "query.frame"], observe)
    return seen


def test_the_table_decides_the_routing_patterns():
    assert patterns_for([IngestDocument, RunBootstrap]) == (
        "job.requested.ingest", "job.requested.bootstrap")
    assert patterns_for([JobStarted, JobCompleted, JobStarted]) == ("job.started", "job.completed")


async def test_each_message_reaches_its_handler_typed():
    bus, calls = _bus(), []

    async def ingest(command, envelope):
        calls.append(("ingest", command))

    async def bootstrap(command, envelope):
        calls.append(("bootstrap", command))

    subscribe(bus, "w", {IngestDocument: ingest, RunBootstrap: bootstrap})
    await bus.start()
    await bus.publish(Envelope.wrap(IngestDocument(job_id="doc-3", owner="o", document_id=3),
                                    correlation_id="c"))
    await bus.drain()
    await bus.stop()
    assert calls == [("ingest", IngestDocument(job_id="doc-3", owner="o", document_id=3))]


async def test_hooks_wrap_every_call_outermost_first_and_may_skip_it():
    bus, trail = _bus(), []

    async def handler(command, envelope):
        trail.append(f"handler {command.job_id}")

    async def outer(message, envelope, call):
        trail.append("outer in")
        await call()
        trail.append("outer out")

    async def skip_seen(message, envelope, call):
        if message.job_id == "doc-1" and "handler doc-1" in trail:
            trail.append("skipped")
            return
        await call()

    subscribe(bus, "w", {IngestDocument: handler}, hooks=[outer, skip_seen])
    await bus.start()
    envelope = Envelope.wrap(IngestDocument(job_id="doc-1", owner="o", document_id=1),
                             correlation_id="c")
    await bus.publish(envelope)
    await bus.drain()
    await bus.publish(envelope)  # a redelivery
    await bus.drain()
    await bus.stop()
    assert trail == ["outer in", "handler doc-1", "outer out", "outer in", "skipped", "outer out"]


async def test_an_invalid_question_ends_its_job_and_its_stream_once():
    bus, called = _bus(), []
    seen = _observe(bus)

    async def answer(command, envelope):
        called.append(command)

    subscribe(bus, "rag", {AnswerQuestion: answer})
    await bus.start()
    bad = Envelope(type="JobRequested", correlation_id="q-9", payload={
        "job_id": "q-9", "kind": "query", "owner": "7", "question": "", "stream": "maybe"})
    await bus.publish(bad)
    await bus.drain()
    await bus.stop()
    assert called == []
    frame, completed = (e.parse() for e in seen[:2])  # then the bus's own, for the DLQ
    assert isinstance(frame, QueryFrame) and (frame.seq, frame.event) == (0, "error")
    assert isinstance(completed, JobCompleted) and completed.kind is JobKind.QUERY
    assert completed.error.error_code == "INVALID_INPUT"
    assert "question" in completed.error.message and "stream" in completed.error.message
    assert all(e.causation_id == str(bad.event_id) for e in seen)
    assert await bus.dead_letters("rag") == [bad]


async def test_what_nobody_could_be_told_about_is_dead_lettered():
    bus = _bus()
    seen = _observe(bus)

    async def handler(message, envelope):
        raise AssertionError("never called")

    subscribe(bus, "w", {IngestDocument: handler, JobStarted: handler})
    await bus.start()
    no_job_id = Envelope(type="JobRequested", correlation_id="c",
                         payload={"kind": "ingest", "owner": "o", "document_id": 1})
    bad_event = Envelope(type="JobStarted", correlation_id="c", payload={"job_id": "j"})
    for envelope in (no_job_id, bad_event):
        await bus.publish(envelope)
    await bus.drain()
    await bus.stop()
    assert seen == []
    assert await bus.dead_letters("w") == [no_job_id, bad_event]


async def test_a_message_outside_the_table_is_dead_lettered():
    bus = _bus()

    async def handler(message, envelope):
        raise AssertionError("never called")

    # A binding the table does not ask for (a hand-written pattern list, say).
    bus.subscribe("w", ["job.started"], Dispatcher(bus, "w", {IngestDocument: handler}))
    await bus.start()
    stray = Envelope.wrap(JobStarted(job_id="j", kind=JobKind.INGEST, worker="x"),
                          correlation_id="c")
    await bus.publish(stray)
    await bus.drain()
    await bus.stop()
    assert await bus.dead_letters("w") == [stray]
