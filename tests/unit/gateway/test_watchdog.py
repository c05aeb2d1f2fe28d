"""No job left behind, in the gateway: stalled jobs fail visibly and are cancelled for the
workers; queued ones are never touched; a lost confirm cancels the job it failed."""

from __future__ import annotations

import httpx

from beacon_contracts.events import Envelope, JobError, JobKind, JobStarted
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_gateway.bootstrap import build
from beacon_gateway.domain import status_envelope
from beacon_gateway.handlers import apply_job_event
from beacon_gateway.settings import GatewaySettings
from beacon_gateway.watchdog import JobCanceller, Watchdog
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import BusUnavailable
from beacon_runtime.jobs.memory import InMemoryJobStore

WATCHED = frozenset({JobKind.GENERATE, JobKind.REFINE})


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Envelope] = []

    async def __call__(self, envelope: Envelope) -> None:
        self.seen.append(envelope)


async def started(jobs, job_id: str, kind: JobKind = JobKind.GENERATE) -> None:
    event = JobStarted(job_id=job_id, kind=kind, worker="w")
    await apply_job_event(event, Envelope.wrap(event, correlation_id=job_id), jobs=jobs,
                          watched=WATCHED)


async def test_watchdog_fails_only_started_watched_jobs_without_life():
    clock, bus, cancels = Clock(), InMemoryBus(), Recorder()
    jobs = InMemoryJobStore(clock=clock)
    bus.subscribe("observer", ["job.cancelled"], cancels)
    await bus.start()
    canceller = JobCanceller(jobs, bus)
    watchdog = Watchdog(jobs, canceller, stall_timeout_s=60, interval_s=5, kinds=WATCHED)
    for job_id, kind in [("queued", JobKind.GENERATE), ("stuck", JobKind.GENERATE),
                         ("alive", JobKind.REFINE), ("held-query", JobKind.QUERY)]:
        await jobs.create(JobRecord(job_id=job_id, kind=kind, owner="o"))
    await started(jobs, "stuck")
    await started(jobs, "alive", JobKind.REFINE)
    await started(jobs, "held-query", JobKind.QUERY)
    clock.now += 40
    await started(jobs, "alive", JobKind.REFINE)  # a redelivery's JobStarted: still alive
    clock.now += 30
    try:
        assert await watchdog.sweep() == ["stuck"]
        assert await watchdog.sweep() == []  # once
        await canceller.drain()
        await bus.drain()
    finally:
        await bus.stop()
    stuck = await jobs.get("stuck")
    assert stuck.status is JobStatus.FAILED and stuck.error.error_code == "JOB_STALLED"
    assert status_envelope(stuck).data["error"]["error_code"] == "JOB_STALLED"
    assert (await jobs.get("queued")).status is JobStatus.PENDING  # waiting in line
    assert (await jobs.get("alive")).status is JobStatus.PROCESSING
    assert (await jobs.get("held-query")).status is JobStatus.PROCESSING
    assert [(e.type, e.payload["job_id"], e.payload["reason"]) for e in cancels.seen] == [
        ("JobCancelled", "stuck", "stalled")]


async def test_a_stuck_job_no_longer_deduplicates_identical_requests():
    clock = Clock()
    jobs = InMemoryJobStore(clock=clock)
    bus = InMemoryBus()
    await bus.start()
    watchdog = Watchdog(jobs, JobCanceller(jobs, bus), stall_timeout_s=60, interval_s=5,
                        kinds=WATCHED)
    first = JobRecord(job_id="first", kind=JobKind.GENERATE, owner="o", fingerprint="fp")
    await jobs.create(first)
    await started(jobs, "first")
    again = JobRecord(job_id="again", kind=JobKind.GENERATE, owner="o", fingerprint="fp")
    assert (await jobs.create(again))[1] is False  # in flight: deduplicated
    clock.now += 61
    await watchdog.sweep()
    await bus.stop()
    stored, created = await jobs.create(again)
    assert created and stored.job_id == "again"


class FlakyBus(InMemoryBus):
    """Refuses the first `failures` publishes, like a broker that stopped confirming."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, envelope: Envelope) -> None:
        if self.failures:
            self.failures -= 1
            raise BusUnavailable("no confirm")
        await super().publish(envelope)


async def test_the_cancellation_is_retried_until_the_broker_takes_it():
    bus, cancels, delays = FlakyBus(failures=3), Recorder(), []
    bus.subscribe("observer", ["job.cancelled"], cancels)
    await bus.start()
    jobs = InMemoryJobStore()
    await jobs.create(JobRecord(job_id="j", kind=JobKind.GENERATE, owner="o"))

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    canceller = JobCanceller(jobs, bus, retry_base_s=1, retry_max_s=3, sleep=sleep)
    error = JobError(error_code="SERVICE_UNAVAILABLE", message="m")
    assert await canceller.fail("j", JobKind.GENERATE, error, reason="publish not confirmed")
    await canceller.drain()
    await bus.drain()
    await bus.stop()
    assert delays == [1, 2, 3]
    assert [e.payload["job_id"] for e in cancels.seen] == ["j"]
    assert (await jobs.get("j")).status is JobStatus.FAILED


async def test_a_post_whose_publish_is_not_confirmed_fails_and_cancels_its_job():
    bus, jobs, cancels = FlakyBus(failures=1), InMemoryJobStore(), Recorder()
    bus.subscribe("observer", ["job.cancelled"], cancels)
    service = build(GatewaySettings(api_keys="k"), Adapters(bus=bus, jobs=jobs))
    await bus.start()
    transport = httpx.ASGITransport(app=service.http)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/generate", headers={"X-API-Key": "k", "Session-Id": "s"},
                                         json={"type": "Feasibility_report", "customer_id": "c",
                                               "opportunity_id": "o",
                                               "section_title": "Executive Summary"})
        assert response.status_code == 503
        [(_, job)] = jobs._jobs.values()
        assert job.status is JobStatus.FAILED
        await service.stop()  # lets the announcement under way go out first
        await bus.drain()
    finally:
        await bus.stop()
    assert [e.payload["job_id"] for e in cancels.seen] == [job.job_id]
