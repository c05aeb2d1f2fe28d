"""In-memory job store for embedded mode and unit tests. State is lost on restart, which
the frontend contract allows for development."""

from __future__ import annotations

import time
from typing import Any

from beacon_contracts.events import JobError, utcnow
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_runtime.jobs.port import JobStore


class InMemoryJobStore(JobStore):
    def __init__(self, ttl_s: int = 24 * 3600, clock=time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._jobs: dict[str, tuple[float, JobRecord]] = {}
        self._by_fingerprint: dict[str, str] = {}
        self._heartbeats: dict[str, float] = {}

    def _live(self, job_id: str) -> JobRecord | None:
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        expires_at, job = entry
        if expires_at <= self._clock():
            del self._jobs[job_id]
            return None
        return job

    def _put(self, job: JobRecord) -> None:
        self._jobs[job.job_id] = (self._clock() + self._ttl_s, job)

    async def create(self, job: JobRecord) -> tuple[JobRecord, bool]:
        if job.fingerprint:
            existing_id = self._by_fingerprint.get(job.fingerprint)
            existing = self._live(existing_id) if existing_id else None
            if existing is not None and not existing.status.is_terminal:
                return existing.model_copy(deep=True), False
            self._by_fingerprint[job.fingerprint] = job.job_id
        self._put(job.model_copy(deep=True))
        return job, True

    async def get(self, job_id: str) -> JobRecord | None:
        job = self._live(job_id)
        return job.model_copy(deep=True) if job else None

    async def transition(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: JobError | None = None,
    ) -> tuple[JobRecord | None, bool]:
        job = self._live(job_id)
        if job is None:
            return None, False
        if status.rank <= job.status.rank:
            return job.model_copy(deep=True), False
        updated = job.model_copy(
            update={"status": status, "result": result, "error": error, "updated_at": utcnow()}
        )
        self._put(updated)
        if status.is_terminal:
            self._heartbeats.pop(job_id, None)
            if job.fingerprint:
                self._by_fingerprint.pop(job.fingerprint, None)
        return updated.model_copy(deep=True), True

    async def heartbeat(self, job_id: str) -> None:
        job = self._live(job_id)
        if job is not None and not job.status.is_terminal:
            self._heartbeats[job_id] = self._clock()

    async def stalled(self, idle_s: float, limit: int = 100) -> list[JobRecord]:
        cutoff = self._clock() - idle_s
        found = []
        for job_id, beat in sorted(self._heartbeats.items(), key=lambda item: item[1]):
            if beat > cutoff or len(found) >= limit:
                break
            job = self._live(job_id)
            if job is None or job.status.is_terminal:
                del self._heartbeats[job_id]
                continue
            found.append(job.model_copy(deep=True))
        return found
