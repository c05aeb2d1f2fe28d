"""The job store port: the gateway's record of every asynchronous job."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from beacon_contracts.events import JobError
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_runtime.errors import DependencyUnavailable


class JobStoreUnavailable(DependencyUnavailable):
    """The job store's backend cannot be reached (connection refused, timeout, ...).

    Adapters raise this instead of their client library's errors; being a
    DependencyUnavailable, the gateway answers 503 without knowing the backend."""


class JobStore(ABC):
    """Jobs live `ttl_s` seconds (24 h by default) after their last change.

    Transitions are atomic and monotonic: pending -> processing -> completed | failed.
    A transition to a lower or equal rank is ignored, so a late or duplicated event can never
    move a job backwards or overwrite a terminal result.
    """

    @abstractmethod
    async def create(self, job: JobRecord) -> tuple[JobRecord, bool]:
        """Store a new job. If `job.fingerprint` matches a job that is not yet terminal,
        store nothing and return that job with False (an identical request in flight)."""

    @abstractmethod
    async def get(self, job_id: str) -> JobRecord | None: ...

    @abstractmethod
    async def transition(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: JobError | None = None,
    ) -> tuple[JobRecord | None, bool]:
        """Apply a transition. Returns (the job as stored afterwards, whether it changed);
        (None, False) for an unknown or expired job."""

    @abstractmethod
    async def heartbeat(self, job_id: str) -> None:
        """A started job showed a sign of life now (a worker announced it). Until it is
        terminal, `stalled()` reports it once that was longer ago than asked. Jobs that never
        had a heartbeat (still queued: waiting in line is not a stall) are never reported."""

    @abstractmethod
    async def stalled(self, idle_s: float, limit: int = 100) -> list[JobRecord]:
        """Unfinished jobs whose last heartbeat is more than `idle_s` old, oldest first."""

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
