"""Effectively once on the in-memory bus (bus/once.py): duplicates, retries, cancellations
and dead-lettered requests, counted in model calls of the real report writer."""

from __future__ import annotations

import pytest

from beacon_contracts.events import (
    Envelope,
    JobCancelled,
    JobCompleted,
    JobKind,

)
from beacon_report_writer.bootstrap import CONSUMER, build
from beacon_report_writer.drafter import OfflineDrafter
from beacon_report_writer.repository import InMemorySessionDrafts
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.once import InMemoryProcessedEvents, OncePolicy
from beacon_runtime.bus.port import Reject, RetryPolicy
from beacon_runtime.llm.port import ChatModel, Completion, Prompt

# A GenerateSection's fields (beacon_contracts.commands).
PARAMS = {"session_id": "s1", "request": {
    "type": "Technical_scope", "customer_id": "ACME", "opportunity_id": "OPP-1",
    "section_title": "technology stack"}}
RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, max_wait_delay_s=0.05)


class CountingModel(ChatModel):
    """The offline drafter, counting the calls a paid model would bill."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = OfflineDrafter()
        self.calls = 0

    async def complete(self, prompt: Prompt) -> Completion:
        self.calls += 1
        return await self.inner.complete(prompt)

    def stream(self, prompt: Prompt):
        self.calls += 1
        return self.inner.stream(prompt)


def request(job_id: str, **payload) -> Envelope:
    body = {"job_id": job_id, "kind": "generate", "owner": "o", **PARAMS, **payload}
    return Envelope(type="JobRequested", correlation_id=job_id,
                    payload={k: v for k, v in body.items() if v is not None})


class Stack:
    def __init__(self, concurrency: int = 2) -> None:
        self.bus = InMemoryBus(retry=RETRY, ledger=InMemoryProcessedEvents(),
                               once=OncePolicy(lease_s=5))
        self.model = CountingModel()
        self.service = build(ReportWriterSettings(openai_base_url=None, redis_url=None,
                                 worker_concurrency=concurrency),
                             Adapters(bus=self.bus, chat_model=self.model),
                             drafts=InMemorySessionDrafts())
        self.completed: list[JobCompleted] = []

        async def collect(envelope: Envelope) -> None:
            self.completed.append(envelope.parse())

        self.bus.subscribe("observer", ["job.completed"], collect, once=False)

    async def __aenter__(self) -> Stack:
        await self.service.start()
        await self.bus.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.bus.stop()
        await self.service.stop()

    async def publish(self, *envelopes: Envelope) -> None:
        for envelope in envelopes:
            await self.bus.publish(envelope)
        await self.bus.drain()

    def of(self, job_id: str) -> list[JobCompleted]:
        return [c for c in self.completed if c.job_id == job_id]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_the_same_event_published_three_times_is_drafted_once(concurrency):
    async with Stack(concurrency) as stack:
        await stack.publish(request("baseline"))
        per_draft = stack.model.calls
        assert per_draft >= 1

        duplicated = request("job-1")
        await stack.publish(duplicated, duplicated, duplicated)
        assert stack.model.calls == 2 * per_draft  # one more draft, not three
        assert [c.outcome for c in stack.of("job-1")] == ["completed"]
        assert await stack.bus.dead_letters(CONSUMER) == []


async def test_two_requests_for_different_events_both_run():
    async with Stack() as stack:
        await stack.publish(request("job-1"), request("job-1"))  # two event ids
        assert len(stack.of("job-1")) == 2


async def test_a_cancelled_job_is_never_drafted_and_ends_cancelled():
    async with Stack() as stack:
        cancel = Envelope.wrap(JobCancelled(job_id="job-2", kind=JobKind.GENERATE,
                                            reason="publish not confirmed"), correlation_id="job-2")
        await stack.publish(cancel, request("job-2"))
        assert stack.model.calls == 0
        [failed] = stack.of("job-2")
        assert failed.outcome == "failed" and failed.error.error_code == "CANCELLED"
        await stack.publish(request("job-3"))  # other jobs are untouched
        assert [c.outcome for c in stack.of("job-3")] == ["completed"]


async def test_a_request_the_worker_rejects_fails_its_job_visibly():
    async with Stack() as stack:
        await stack.publish(request("job-4", owner=None))  # no owner: unreadable
        unknown = Envelope(type="JobRequestedV9", correlation_id="job-7",
                           payload={"job_id": "job-7", "kind": "generate", "owner": "o"})
        stack.bus._route(unknown, "job.requested.generate")  # noqa: SLF001
        await stack.bus.drain()
        for job_id in ("job-4", "job-7"):
            [failed] = stack.of(job_id)
            assert failed.outcome == "failed" and failed.error.error_code == "INVALID_INPUT"
        assert len(await stack.bus.dead_letters(CONSUMER)) == 2
        assert stack.model.calls == 0


async def test_a_request_failing_every_attempt_fails_its_job_and_each_retry_runs():
    bus = InMemoryBus(retry=RETRY, ledger=InMemoryProcessedEvents())
    runs: list[str] = []
    completed: list[JobCompleted] = []

    async def broken(envelope: Envelope) -> None:
        runs.append(str(envelope.event_id))
        raise RuntimeError("bug")

    async def collect(envelope: Envelope) -> None:
        completed.append(envelope.parse())

    bus.subscribe("worker", ["job.requested.*"], broken)
    bus.subscribe("observer", ["job.completed"], collect, once=False)
    await bus.start()
    try:
        await bus.publish(request("job-5"))
        await bus.drain()
    finally:
        await bus.stop()
    assert len(runs) == RETRY.max_attempts  # a failed run releases its claim for the retry
    [failed] = completed
    assert failed.error.error_code == "INTERNAL_ERROR"


async def test_events_are_never_failed_on_dead_letter_and_unguarded_handlers_see_duplicates():
    bus = InMemoryBus(retry=RETRY, ledger=InMemoryProcessedEvents())
    seen: list[str] = []
    completed: list[Envelope] = []

    async def record(envelope: Envelope) -> None:
        seen.append(envelope.type)
        if envelope.type == "JobStarted":
            raise Reject("not mine")

    async def collect(envelope: Envelope) -> None:
        completed.append(envelope)

    bus.subscribe("plain", ["job.started", "job.cancelled"], record, once=False)
    bus.subscribe("observer", ["job.completed"], collect, once=False)
    await bus.start()
    try:
        started = Envelope(type="JobStarted", correlation_id="j", payload={
            "job_id": "j", "kind": "generate", "worker": "w"})
        cancel = Envelope.wrap(JobCancelled(job_id="j", kind=JobKind.QUERY, reason="r"),
                               correlation_id="j")
        for envelope in (started, cancel, cancel):
            await bus.publish(envelope)
        await bus.drain()
    finally:
        await bus.stop()
    assert sorted(seen) == ["JobCancelled", "JobCancelled", "JobStarted"]
    assert completed == []




async def test_a_cancel_heard_while_its_request_runs_stops_it_and_ends_the_job():
    import asyncio

    bus = InMemoryBus(retry=RETRY, ledger=InMemoryProcessedEvents())
    entered, interrupted, completed = asyncio.Event(), [], []

    async def slow(envelope: Envelope) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()  # a model call that never ends by itself
        except asyncio.CancelledError:
            interrupted.append(envelope.payload["job_id"])
            raise

    async def collect(envelope: Envelope) -> None:
        completed.append(envelope.parse())

    bus.subscribe("worker", ["job.requested.*"], slow, concurrency=2)
    bus.subscribe("observer", ["job.completed"], collect, once=False)
    await bus.start()
    try:
        await bus.publish(request("job-6"))
        await asyncio.wait_for(entered.wait(), 5)
        await bus.publish(Envelope.wrap(JobCancelled(
            job_id="job-6", kind=JobKind.GENERATE, reason="publish not confirmed"),
            correlation_id="job-6"))
        await bus.drain()
    finally:
        await bus.stop()
    assert interrupted == ["job-6"]
    [failed] = completed
    assert failed.error.error_code == "CANCELLED"
    assert await bus.dead_letters("worker") == []
