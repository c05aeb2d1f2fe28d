"""No job left behind: how the gateway gives up on an accepted job, and notices one to give
up on.

* :class:`JobCanceller` fails a job the gateway cannot see through (its request was never
  confirmed by the broker, or it stalled) and announces a durable ``JobCancelled`` that
  every worker kind hears (bus/once.py), so a request that did reach a queue is skipped,
  not run for a client who was told it failed. The announcement is retried in the
  background until the broker takes it: a lost confirm usually means the broker is in
  trouble right then.
* :class:`Watchdog` fails started jobs that showed no sign of life for
  ``JOB_STALL_TIMEOUT_S`` (job store heartbeats: each JobStarted, one per delivery, so a
  redelivery after a worker crash counts as life). Jobs still queued have no heartbeat and
  are never touched: waiting in line is not a stall. Every replica runs one; the store's
  atomic transition lets exactly one of them fail a job and announce it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from beacon_contracts.events import Envelope, JobCancelled, JobError, JobKind
from beacon_contracts.jobs import JobStatus
from beacon_runtime.bus.port import EventBus
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class JobCanceller:
    def __init__(
        self, jobs: JobStore, bus: EventBus, *, retry_base_s: float = 0.5,
        retry_max_s: float = 30.0, sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._jobs, self._bus = jobs, bus
        self._retry_base_s, self._retry_max_s = retry_base_s, retry_max_s
        self._sleep = sleep
        self._tasks: set[asyncio.Task] = set()

    async def fail(self, job_id: str, kind: JobKind, error: JobError, *, reason: str) -> bool:
        """Fail the job and tell the workers. Returns whether this call failed it. The
        cancellation goes out even when the store is down (the job then ends when a
        worker's CANCELLED failure reaches it)."""
        self.announce(job_id, kind, reason)
        job, changed = await self._jobs.transition(job_id, JobStatus.FAILED, error=error)
        log.warning("job.failed_by_gateway", job_id=job_id, reason=reason, applied=changed,
                    error_code=error.error_code)
        return changed

    def announce(self, job_id: str, kind: JobKind, reason: str) -> None:
        envelope = Envelope.wrap(JobCancelled(job_id=job_id, kind=kind, reason=reason),
                                 correlation_id=job_id)
        task = asyncio.create_task(self._publish(envelope), name=f"cancel:{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, envelope: Envelope) -> None:
        delay = self._retry_base_s
        while True:
            try:
                await self._bus.publish(envelope)
                log.info("job.cancel_announced", job_id=envelope.payload["job_id"])
                return
            except Exception as exc:  # noqa: BLE001 - keep trying while the process lives
                log.warning("job.cancel_publish_failed", job_id=envelope.payload["job_id"],
                            retry_in_s=delay, error=repr(exc))
            await self._sleep(delay)
            delay = min(self._retry_max_s, delay * 2)

    async def drain(self) -> None:
        """Wait for every announcement (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, timeout_s: float = 2.0) -> None:
        """Give announcements still under way a moment (shutdown right after a 503), then
        drop them: they were best effort past that point."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Watchdog:
    def __init__(
        self, jobs: JobStore, canceller: JobCanceller, *, stall_timeout_s: float,
        interval_s: float, kinds: Iterable[JobKind], sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._jobs, self._canceller = jobs, canceller
        self._stall_timeout_s, self._interval_s = stall_timeout_s, interval_s
        self.kinds = frozenset(kinds)
        self._sleep = sleep
        self._task: asyncio.Task | None = None

    async def sweep(self) -> list[str]:
        """Fail every stalled job of a watched kind; returns the ids this replica failed."""
        failed = []
        for job in await self._jobs.stalled(self._stall_timeout_s):
            if job.kind not in self.kinds:
                continue
            error = JobError(error_code="JOB_STALLED", message=(
                f"The job made no progress for {self._stall_timeout_s:g} s and was stopped"))
            if await self._canceller.fail(job.job_id, job.kind, error, reason="stalled"):
                failed.append(job.job_id)
        return failed

    async def _run(self) -> None:
        while True:
            await self._sleep(self._interval_s)
            try:
                await self.sweep()
            except Exception as exc:  # noqa: BLE001 - the store may be down; next round
                log.warning("job.watchdog_sweep_failed", error=repr(exc))

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="job-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
