"""One contract for every EventBus adapter: the in-process twin and RabbitMQ.

Negative routing assertions avoid sleeps: a consumer's queue is FIFO, so a sentinel
published last arriving proves nothing unexpected was queued before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from beacon_contracts.events import (
    DocumentIngested,
    Envelope,
    JobCancelled,
    JobKind,
    JobStarted,
    ReviewRequired,
    ReviewResolved,
)
from beacon_runtime.bus.port import Reject, RetryLater
from structlog.testing import capture_logs


class Recorder:
    """A handler that records deliveries; `behaviour(envelope, n)` runs after recording."""

    def __init__(self, behaviour: Callable[[Envelope, int], Awaitable[None]] | None = None):
        self.seen: list[Envelope] = []
        self._behaviour = behaviour
        self._changed = asyncio.Event()

    async def __call__(self, envelope: Envelope) -> None:
        self.seen.append(envelope)
        self._changed.set()
        if self._behaviour is not None:
            await self._behaviour(envelope, len(self.seen))

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Envelope]:
        async def _wait() -> None:
            while len(self.seen) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), timeout)
        return self.seen


async def eventually(probe: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def backoffs(logs: list[dict], consumer: str) -> list[tuple]:
    """(event, attempt, waits, delay_s) of each redelivery the bus scheduled for `consumer`,
    from its bus.retry / bus.wait log events. The suite checks the back-off each adapter
    chose (the in-process timer, RabbitMQ's delay queue), not wall-clock gaps between
    deliveries, which would be a timing assertion."""
    return [(e["event"], e["attempt"], e.get("waits"), e["delay_s"]) for e in logs
            if e["event"] in ("bus.retry", "bus.wait") and e.get("consumer") == consumer]


def approx(delay_s: float):
    return pytest.approx(delay_s, abs=0.001)  # RabbitMQ's delay queues count whole ms


def job(kind: JobKind = JobKind.GENERATE, job_id: str = "j1") -> Envelope:
    """A command envelope: the bus routes it by kind and never reads its fields."""
    return Envelope(type="JobRequested", correlation_id=job_id,
                    payload={"job_id": job_id, "kind": kind.value, "owner": "o"})


def started(job_id: str = "j1") -> Envelope:
    payload = JobStarted(job_id=job_id, kind=JobKind.GENERATE, worker="w")
    return Envelope.wrap(payload, correlation_id=job_id)


def ingested() -> Envelope:
    payload = DocumentIngested(
        document_id=1,
        company_symbol="INFY",
        doc_type="annual_report",
        fiscal_period="FY24",
        chunk_count=3,
        page_count=2,
    )
    return Envelope.wrap(payload, correlation_id="d1")


def review_required() -> Envelope:
    payload = ReviewRequired(
        review_id="r1", query_id="q1", owner="o", question="?", generated_response="a", reason="low confidence"
    )
    return Envelope.wrap(payload, correlation_id="q1")


def review_resolved() -> Envelope:
    payload = ReviewResolved(
        review_id="r1", query_id="q1", decision="approved", final_response=None, reviewed_by="u"
    )
    return Envelope.wrap(payload, correlation_id="q1")


def cancelled(job_id: str) -> Envelope:
    payload = JobCancelled(job_id=job_id, kind=JobKind.QUERY, reason="client left")
    return Envelope.wrap(payload, correlation_id=job_id)


def ids(envelopes: list[Envelope]) -> list[str]:
    return [str(e.event_id) for e in envelopes]


async def test_topic_routing_star_hash_and_non_matching(harness):
    bus = harness.new()
    star, hash_, review = Recorder(), Recorder(), Recorder()
    bus.subscribe("star", ["job.requested.*"], star)
    bus.subscribe("hash", ["job.#"], hash_)
    bus.subscribe("review", ["review.*"], review)
    await bus.start()
    pub = await harness.publisher_for(bus)

    doc, st, gen, rr, qry, res = (
        ingested(),
        started(),
        job(JobKind.GENERATE),
        review_required(),
        job(JobKind.QUERY, "j2"),
        review_resolved(),
    )
    for envelope in (doc, st, gen, rr, qry, res):
        await pub.publish(envelope)

    assert ids(await star.wait_for(2)) == ids([gen, qry])
    assert ids(await hash_.wait_for(3)) == ids([st, gen, qry])
    assert ids(await review.wait_for(2)) == ids([rr, res])
    assert star.seen[0] == gen  # the envelope survives the round trip unchanged


async def test_every_consumer_gets_its_own_copy(harness):
    bus = harness.new()
    a, b = Recorder(), Recorder()
    bus.subscribe("svc-a", ["job.started"], a)
    bus.subscribe("svc-b", ["job.*"], b)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = started()
    await pub.publish(envelope)

    assert ids(await a.wait_for(1)) == ids([envelope])
    assert ids(await b.wait_for(1)) == ids([envelope])


async def test_competing_workers_of_one_consumer_share_the_queue(harness):
    """Workers of one consumer name take messages from one queue: each message is handled
    once, and up to `concurrency` at a time."""
    in_flight, peak = 0, 0
    both_busy = asyncio.Event()

    async def slow(envelope: Envelope, n: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= 2:
            both_busy.set()
        try:
            await asyncio.wait_for(both_busy.wait(), 2.0)
        finally:
            in_flight -= 1

    bus = harness.new()
    worker = Recorder(slow)
    bus.subscribe("workers", ["job.requested.*"], worker, concurrency=2)
    await bus.start()
    pub = await harness.publisher_for(bus)

    sent = [job(job_id=f"j{i}") for i in range(6)]
    for envelope in sent:
        await pub.publish(envelope)

    await worker.wait_for(6)
    assert sorted(ids(worker.seen)) == sorted(ids(sent))  # each exactly once
    assert peak == 2


async def test_handler_failing_twice_then_succeeding_is_retried_not_dead_lettered(harness):
    async def flaky(envelope: Envelope, n: int) -> None:
        if n <= 2:
            raise RuntimeError(f"transient failure {n}")

    bus = harness.new()
    handler = Recorder(flaky)
    bus.subscribe("flaky", ["job.started"], handler)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = started()
    await pub.publish(envelope)
    await handler.wait_for(3)
    # A sentinel queued after the success proves no fourth delivery was pending.
    sentinel = started("sentinel")
    await pub.publish(sentinel)
    await handler.wait_for(4)

    assert ids(handler.seen) == ids([envelope, envelope, envelope, sentinel])
    assert await bus.dead_letters("flaky") == []


async def test_always_failing_handler_is_dead_lettered_after_max_attempts_with_backoff(harness):
    async def broken(envelope: Envelope, n: int) -> None:
        raise RuntimeError("always fails")

    bus = harness.new()
    handler = Recorder(broken)
    bus.subscribe("broken", ["job.started"], handler)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = started()

    async def dead() -> bool:
        return bool(await bus.dead_letters("broken"))

    with capture_logs() as logs:
        await pub.publish(envelope)
        await eventually(dead)
    retry = harness.retry
    assert ids(handler.seen) == ids([envelope] * retry.max_attempts)
    assert ids(await bus.dead_letters("broken")) == ids([envelope])
    assert await bus.dead_letters("broken") == [envelope]  # peeking does not consume
    assert backoffs(logs, "broken") == [
        ("bus.retry", attempt, None, approx(retry.delay_before(attempt)))
        for attempt in range(2, retry.max_attempts + 1)]


async def test_reject_dead_letters_after_one_attempt(harness):
    async def rejecting(envelope: Envelope, n: int) -> None:
        raise Reject("can never succeed")

    bus = harness.new()
    handler = Recorder(rejecting)
    bus.subscribe("rejecting", ["job.started"], handler)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = started()
    await pub.publish(envelope)

    async def dead() -> bool:
        return bool(await bus.dead_letters("rejecting"))

    await eventually(dead)
    assert ids(handler.seen) == ids([envelope])
    assert ids(await bus.dead_letters("rejecting")) == ids([envelope])


async def test_message_published_while_consumer_is_down_is_delivered_after_start(harness):
    bus = harness.new()
    handler = Recorder()
    bus.subscribe("offline", ["job.requested.*"], handler)
    await bus.start()  # declares the consumer's queue
    await bus.stop()

    pub = await harness.publisher_for(bus)
    envelope = job()
    await pub.publish(envelope)
    assert handler.seen == []

    await bus.start()
    assert ids(await handler.wait_for(1)) == ids([envelope])


async def test_dead_letters_of_unknown_consumer_is_empty(harness):
    bus = harness.new()
    bus.subscribe("known", ["job.started"], Recorder())
    await bus.start()
    assert await bus.dead_letters("nobody") == []


async def test_retry_later_waits_without_using_up_attempts(harness):
    """A dependency outage (RetryLater) outlasting the retry budget: the message waits with
    back-off for as long as it takes, then is handled; it is never dead-lettered, and real
    failures after the outage still get every attempt."""
    retry = harness.retry
    waits = retry.max_attempts + 2  # more deliveries than the attempts a failure gets

    async def outage_then_fails(envelope: Envelope, n: int) -> None:
        if envelope.payload["job_id"] == "sentinel":
            return
        if n <= waits:
            raise RetryLater("store down")
        raise RuntimeError("a real failure")

    bus = harness.new()
    handler = Recorder(outage_then_fails)
    bus.subscribe("waiting", ["job.started"], handler)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = started()

    async def dead() -> bool:
        return bool(await bus.dead_letters("waiting"))

    with capture_logs() as logs:
        await pub.publish(envelope)
        await eventually(dead)
    assert ids(handler.seen) == ids([envelope] * (waits + retry.max_attempts))
    assert ids(await bus.dead_letters("waiting")) == ids([envelope])
    # The waits keep the first attempt and climb their own ladder; the failures then get
    # every attempt with the ordinary back-off.
    assert backoffs(logs, "waiting") == [
        ("bus.wait", 1, n, approx(retry.wait_delay(n))) for n in range(1, waits + 1)] + [
        ("bus.retry", attempt, None, approx(retry.delay_before(attempt)))
        for attempt in range(2, retry.max_attempts + 1)]


async def test_retry_later_then_success_is_handled_once_more_and_never_dead_lettered(harness):
    async def recovers(envelope: Envelope, n: int) -> None:
        if envelope.payload["job_id"] != "sentinel" and n <= harness.retry.max_attempts + 1:
            raise RetryLater("store down")

    bus = harness.new()
    handler = Recorder(recovers)
    bus.subscribe("recovering", ["job.started"], handler)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = started()
    await pub.publish(envelope)
    await handler.wait_for(harness.retry.max_attempts + 2)
    sentinel = started("sentinel")
    await pub.publish(sentinel)
    await handler.wait_for(harness.retry.max_attempts + 3)

    assert ids(handler.seen) == ids([envelope] * (harness.retry.max_attempts + 2) + [sentinel])
    assert await bus.dead_letters("recovering") == []


async def test_transient_subscription_gets_only_what_is_published_while_it_runs(harness):
    bus = harness.new()
    signals = Recorder()
    bus.subscribe("signals-a", ["job.cancelled"], signals, transient=True)
    await bus.start()
    pub = await harness.publisher_for(bus)

    first = cancelled("q1")
    await pub.publish(first)
    assert ids(await signals.wait_for(1)) == ids([first])

    await bus.stop()
    await pub.publish(cancelled("while-stopped"))  # nobody is listening: not kept
    await bus.start()
    last = cancelled("q2")
    await pub.publish(last)

    await signals.wait_for(2)
    assert ids(signals.seen) == ids([first, last])


async def test_transient_failures_are_neither_retried_nor_dead_lettered(harness):
    async def fails(envelope: Envelope, n: int) -> None:
        job_id = envelope.payload["job_id"]
        if job_id == "crash":
            raise RuntimeError("handler bug")
        if job_id == "wait":
            raise RetryLater("dependency down")
        if job_id == "reject":
            raise Reject("never")

    bus = harness.new()
    signals = Recorder(fails)
    bus.subscribe("signals-b", ["job.cancelled"], signals, transient=True)
    await bus.start()
    pub = await harness.publisher_for(bus)

    sent = [cancelled("crash"), cancelled("wait"), cancelled("reject"), cancelled("sentinel")]
    for envelope in sent:
        await pub.publish(envelope)

    await signals.wait_for(4)
    assert ids(signals.seen) == ids(sent)  # each once: the sentinel came last
    assert await bus.dead_letters("signals-b") == []


async def test_transient_and_durable_consumers_each_get_a_copy(harness):
    bus = harness.new()
    signals, durable = Recorder(), Recorder()
    bus.subscribe("signals-c", ["job.cancelled"], signals, transient=True)
    bus.subscribe("durable-c", ["job.*"], durable)
    await bus.start()
    pub = await harness.publisher_for(bus)

    envelope = cancelled("q1")
    await pub.publish(envelope)

    assert ids(await signals.wait_for(1)) == ids([envelope])
    assert ids(await durable.wait_for(1)) == ids([envelope])
